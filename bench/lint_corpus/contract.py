"""EC1xx: contract changes. Outside a contract revision each comes with the revision-level EC001; inside one
it is reported as "gated" (still labelled). Safe twins: the same object created in the same revision."""

from __future__ import annotations

from lint_corpus.case import alembic, contract, expand, sql_case, unphased

CASES = [
    # --- EC101 drop-column ------------------------------------------------------------------------------
    alembic("drop_column_op_expand", "EC101 EC001", expand('op.drop_column("accounts", "legacy_code")')),
    alembic(
        "drop_column_batch_expand",
        "EC101 EC001",
        expand(
            """
            with op.batch_alter_table("accounts") as batch_op:
                batch_op.drop_column("legacy_code")
            """
        ),
    ),
    alembic(
        "drop_column_execute_expand",
        "EC101 EC001",
        expand('op.execute("ALTER TABLE accounts DROP COLUMN legacy_code")'),
    ),
    alembic(
        "drop_column_execute_text_lowercase",
        "EC101 EC001",
        expand('op.execute(sa.text("alter table accounts drop column if exists legacy_code"))'),
    ),
    alembic("drop_column_unphased", "EC101 EC001", unphased('op.drop_column("orders", "note")')),
    alembic(
        "drop_column_schema_qualified",
        "EC101 EC001",
        expand('op.drop_column("invoices", "memo", schema="billing")'),
    ),
    alembic("drop_column_contract_gated", "EC101", contract('op.drop_column("accounts", "legacy_code")')),
    alembic(
        "drop_column_contract_batch_gated",
        "EC101",
        contract(
            """
            with op.batch_alter_table("orders", schema=None) as batch_op:
                batch_op.drop_column("note")
                batch_op.drop_column("code")
            """
        ),
    ),
    alembic(
        "drop_column_contract_sql_gated",
        "EC101",
        contract('op.execute("ALTER TABLE billing.invoices DROP COLUMN memo")'),
    ),
    sql_case("drop_column_sql_file", "EC101 EC001", "ALTER TABLE accounts DROP COLUMN legacy_code;"),
    sql_case(
        "drop_column_sql_two_actions",
        "EC101 EC001",
        "alter table orders drop column note, drop column code;",
    ),
    sql_case(
        "drop_column_sql_quoted_identifiers",
        "EC101 EC001",
        """
        -- the profile's display name moved to accounts.name
        ALTER TABLE "UserProfiles" DROP COLUMN "displayName";
        """,
    ),
    sql_case(
        "drop_column_sql_block_comment",
        "EC101 EC001",
        "/* cleanup */ ALTER TABLE ONLY public.accounts /* old */ DROP COLUMN IF EXISTS nickname CASCADE;",
    ),
    alembic(
        "safe_drop_column_of_table_created_same_revision",
        "",
        expand(
            """
            op.create_table(
                "imports",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("raw", sa.Text()),
            )
            op.drop_column("imports", "raw")
            """
        ),
    ),
    sql_case(
        "safe_drop_column_sql_table_created_in_file",
        "",
        """
        CREATE TABLE staging_rows (id bigint PRIMARY KEY, raw text, parsed jsonb);
        ALTER TABLE staging_rows DROP COLUMN raw;
        """,
    ),
    alembic(
        "safe_drop_column_of_table_created_in_earlier_unreleased_revision",
        "",
        expand(
            'op.create_table("drafts", sa.Column("id", sa.BigInteger(), primary_key=True), '
            'sa.Column("body", sa.Text()))'
        ),
        expand('op.drop_column("drafts", "body")'),
        note="both revisions are under test (unreleased together): the table is new",
    ),
    # --- EC102 drop-table -------------------------------------------------------------------------------
    alembic("drop_table_op_expand", "EC102 EC001", expand('op.drop_table("audit_log")')),
    alembic("drop_table_unphased", "EC102 EC001", unphased('op.drop_table("coupons")')),
    alembic(
        "drop_table_schema_qualified", "EC102 EC001", expand('op.drop_table("invoices", schema="billing")')
    ),
    alembic(
        "drop_table_execute", "EC102 EC001", expand('op.execute("DROP TABLE IF EXISTS audit_log CASCADE")')
    ),
    alembic("drop_table_contract_gated", "EC102", contract('op.drop_table("audit_log")')),
    alembic(
        "drop_table_contract_two_tables_gated",
        "EC102 EC316",
        contract('op.drop_table("audit_log")\nop.drop_table("coupons")'),
        note="the first drop's ACCESS EXCLUSIVE lock is held while the second waits for another table",
    ),
    sql_case("drop_table_sql_file", "EC102 EC001", "DROP TABLE audit_log;"),
    sql_case("drop_table_sql_two_tables", "EC102 EC001", "drop table if exists audit_log, coupons;"),
    sql_case("drop_table_sql_quoted", "EC102 EC001", 'DROP TABLE "UserProfiles";'),
    alembic(
        "safe_drop_table_created_same_revision",
        "",
        expand(
            """
            op.create_table("tmp_export", sa.Column("id", sa.BigInteger(), primary_key=True))
            op.drop_table("tmp_export")
            """
        ),
    ),
    sql_case(
        "safe_drop_table_sql_created_in_file",
        "",
        """
        CREATE TABLE tmp_dedupe (id bigint);
        -- scratch table, gone before the file ends
        DROP TABLE tmp_dedupe;
        """,
    ),
    # --- EC103 drop-constraint --------------------------------------------------------------------------
    alembic(
        "drop_constraint_check_expand",
        "EC103 EC001",
        expand('op.drop_constraint("ck_orders_total", "orders", type_="check")'),
    ),
    alembic(
        "drop_constraint_fk_expand",
        "EC103 EC001",
        expand('op.drop_constraint("fk_orders_account", "orders", type_="foreignkey")'),
    ),
    alembic(
        "drop_constraint_unique_unphased",
        "EC103 EC001",
        unphased('op.drop_constraint("uq_orders_ref", "orders", type_="unique")'),
    ),
    alembic(
        "drop_constraint_batch",
        "EC103 EC001",
        expand(
            """
            with op.batch_alter_table("orders") as batch_op:
                batch_op.drop_constraint("uq_orders_ref", type_="unique")
            """
        ),
    ),
    alembic(
        "drop_constraint_execute",
        "EC103 EC001",
        expand('op.execute("ALTER TABLE orders DROP CONSTRAINT IF EXISTS fk_orders_account")'),
    ),
    alembic(
        "drop_constraint_contract_gated",
        "EC103",
        contract('op.drop_constraint("ck_orders_total", "orders", type_="check")'),
    ),
    sql_case("drop_constraint_sql_file", "EC103 EC001", "ALTER TABLE orders DROP CONSTRAINT uq_orders_ref;"),
    sql_case(
        "drop_constraint_sql_primary_key",
        "EC103 EC001",
        "ALTER TABLE public.coupons DROP CONSTRAINT coupons_pkey;",
    ),
    alembic(
        "safe_drop_constraint_on_table_created_same_revision",
        "",
        expand(
            """
            op.create_table(
                "vouchers",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("value", sa.Integer()),
                sa.CheckConstraint("value > 0", name="ck_vouchers_value"),
            )
            op.drop_constraint("ck_vouchers_value", "vouchers", type_="check")
            """
        ),
    ),
    # --- EC104 drop-object ------------------------------------------------------------------------------
    alembic("drop_view_expand", "EC104 EC001", expand('op.execute("DROP VIEW active_accounts")')),
    alembic(
        "drop_view_contract_gated", "EC104", contract('op.execute("DROP VIEW IF EXISTS active_accounts")')
    ),
    alembic("drop_function_expand", "EC104 EC001", expand('op.execute("DROP FUNCTION touch()")')),
    alembic("drop_type_unphased", "EC104 EC001", unphased('op.execute("DROP TYPE order_state")')),
    sql_case("drop_sequence_sql", "EC104 EC001", "DROP SEQUENCE invoice_number_seq;"),
    sql_case("drop_schema_sql", "EC104 EC001", "DROP SCHEMA billing CASCADE;"),
    sql_case("drop_trigger_sql", "EC104 EC001", "DROP TRIGGER orders_touch ON orders;"),
    sql_case("drop_extension_sql", "EC104 EC001", "drop extension if exists citext;"),
    sql_case("drop_materialized_view_sql", "EC104 EC001", "DROP MATERIALIZED VIEW IF EXISTS order_totals;"),
    alembic(
        "drop_function_contract_gated",
        "EC104",
        contract('op.execute("DROP FUNCTION IF EXISTS touch() CASCADE")'),
    ),
    alembic(
        "safe_replace_view_expand",
        "",
        expand(
            'op.execute("CREATE OR REPLACE VIEW active_accounts AS '
            "SELECT id, email, name FROM accounts WHERE status = 'active'\")"
        ),
    ),
    # --- EC105 drop-default -----------------------------------------------------------------------------
    alembic(
        "drop_default_op_expand",
        "EC105 EC001",
        expand('op.alter_column("accounts", "status", server_default=None)'),
    ),
    alembic(
        "drop_default_batch",
        "EC105 EC001",
        expand(
            """
            with op.batch_alter_table("orders") as batch_op:
                batch_op.alter_column("state", server_default=None)
            """
        ),
    ),
    alembic(
        "drop_default_contract_gated",
        "EC105",
        contract('op.alter_column("orders", "state", server_default=None, existing_type=sa.Text())'),
    ),
    sql_case("drop_default_sql", "EC105 EC001", "ALTER TABLE orders ALTER COLUMN state DROP DEFAULT;"),
    sql_case(
        "drop_identity_sql",
        "EC105 EC001",
        "ALTER TABLE accounts ALTER COLUMN id DROP IDENTITY IF EXISTS;",
    ),
    alembic(
        "drop_default_execute_unphased",
        "EC105 EC001",
        unphased('op.execute("ALTER TABLE accounts ALTER status DROP DEFAULT")'),
    ),
    alembic(
        "safe_drop_default_of_column_without_default",
        "",
        expand('op.alter_column("accounts", "nickname", server_default=None)'),
        note="accounts.nickname has no default in the history: nothing old writers rely on",
    ),
    alembic(
        "safe_set_default_expand",
        "",
        expand('op.alter_column("orders", "note", server_default="n/a")'),
    ),
    # --- EC106 set-not-null -----------------------------------------------------------------------------
    alembic(
        "set_not_null_op_expand",
        "EC106 EC309 EC001",
        expand('op.alter_column("accounts", "email", nullable=False)'),
    ),
    alembic(
        "set_not_null_batch_expand",
        "EC106 EC309 EC001",
        expand(
            """
            with op.batch_alter_table("orders") as batch_op:
                batch_op.alter_column("account_id", existing_type=sa.BigInteger(), nullable=False)
            """
        ),
    ),
    alembic(
        "set_not_null_unphased",
        "EC106 EC309 EC001",
        unphased('op.alter_column("orders", "placed_at", nullable=False)'),
    ),
    alembic(
        "set_not_null_contract",
        "EC106 EC309",
        contract('op.alter_column("accounts", "email", nullable=False)'),
        note="gated EC106, but the scan (EC309) is a lock hazard in any phase",
    ),
    sql_case("set_not_null_sql", "EC106 EC309 EC001", "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;"),
    sql_case(
        "set_not_null_pg18_constraint_sql",
        "EC106 EC309 EC001",
        "ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note;",
        postgresql_version=18,
    ),
    alembic(
        "safe_set_not_null_already_not_null",
        "",
        expand('op.alter_column("accounts", "name", nullable=False, existing_type=sa.Text())'),
        note="accounts.name is NOT NULL since the baseline: nothing changes",
    ),
    alembic(
        "safe_set_not_null_already_not_null_sql",
        "",
        expand('op.execute("ALTER TABLE orders ALTER COLUMN total SET NOT NULL")'),
    ),
    alembic(
        "safe_set_not_null_on_new_table",
        "",
        expand(
            """
            op.create_table(
                "tags",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("label", sa.Text()),
            )
            op.alter_column("tags", "label", nullable=False)
            """
        ),
    ),
    alembic(
        "safe_pg18_not_null_not_valid_expand",
        "",
        expand('op.execute("ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note NOT VALID")'),
        postgresql_version=18,
        note="NOT VALID: a new write restriction (EC107, opt-in), neither EC106 nor a scan",
    ),
    # --- EC107 new-write-restriction (opt-in) -----------------------------------------------------------
    alembic(
        "write_restriction_check_not_valid",
        "EC107",
        expand(
            'op.create_check_constraint("ck_orders_qty", "orders", "quantity > 0", postgresql_not_valid=True)'
        ),
        select=("EC107",),
    ),
    alembic(
        "write_restriction_fk_not_valid",
        "EC107",
        expand(
            'op.create_foreign_key("fk_orders_coupon", "orders", "coupons", ["coupon_id"], ["id"], '
            "postgresql_not_valid=True)"
        ),
        select=("new-write-restriction",),
    ),
    alembic(
        "write_restriction_unique_index_concurrently",
        "EC107",
        expand(
            """
            with op.get_context().autocommit_block():
                op.create_index(
                    "uq_orders_code", "orders", ["code"], unique=True, postgresql_concurrently=True
                )
            """
        ),
        select=("EC107",),
    ),
    alembic(
        "write_restriction_unique_constraint",
        "EC107 EC305",
        expand('op.create_unique_constraint("uq_coupons_code", "coupons", ["code"])'),
        select=("EC107",),
    ),
    sql_case(
        "write_restriction_check_sql",
        "EC107",
        "ALTER TABLE orders ADD CONSTRAINT ck_orders_note_len CHECK (length(note) < 500) NOT VALID;",
        select=("EC107",),
    ),
    sql_case(
        "write_restriction_pg18_not_null_not_valid",
        "EC107",
        "ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note NOT VALID;",
        postgresql_version=18,
        select=("EC107",),
    ),
    sql_case(
        "write_restriction_generated_always",
        "EC107 EC001",
        "ALTER TABLE coupons ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;",
        select=("EC107",),
        note="the column starts rejecting the ids old writers send: a contract change",
    ),
    alembic(
        "safe_write_restriction_on_new_table",
        "",
        expand(
            """
            op.create_table(
                "gift_cards",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("value", sa.Integer()),
            )
            op.create_check_constraint("ck_gift_cards_value", "gift_cards", "value > 0")
            """
        ),
        select=("EC107",),
    ),
    alembic(
        "safe_write_restriction_not_selected",
        "",
        expand(
            'op.create_check_constraint("ck_orders_qty", "orders", "quantity > 0", postgresql_not_valid=True)'
        ),
        note="EC107 is opt-in: not raised unless selected",
    ),
    # --- EC108 truncate ---------------------------------------------------------------------------------
    alembic("truncate_expand", "EC108 EC001", expand('op.execute("TRUNCATE audit_log")')),
    alembic(
        "truncate_two_tables_unphased",
        "EC108 EC001",
        unphased('op.execute("TRUNCATE TABLE audit_log, coupons")'),
    ),
    alembic("delete_without_where_expand", "EC108 EC001", expand('op.execute("delete from audit_log")')),
    alembic(
        "delete_without_where_sa_construct",
        "EC108 EC001",
        expand('op.execute(sa.table("coupons").delete())'),
    ),
    alembic(
        "truncate_contract_gated", "EC108", contract('op.execute("TRUNCATE audit_log RESTART IDENTITY")')
    ),
    sql_case("truncate_sql", "EC108 EC001", "TRUNCATE TABLE audit_log CASCADE;"),
    sql_case("delete_without_where_sql", "EC108 EC001", "DELETE FROM billing.invoices;"),
    alembic(
        "safe_truncate_table_created_same_revision",
        "",
        expand(
            """
            op.create_table("scratch", sa.Column("id", sa.BigInteger()))
            op.execute("TRUNCATE scratch")
            """
        ),
    ),
    # --- EC109 drop-enum-value --------------------------------------------------------------------------
    alembic(
        "rename_enum_value_expand",
        "EC109 EC003",
        expand("op.execute(\"ALTER TYPE order_state RENAME VALUE 'paid' TO 'settled'\")"),
        note="EC109 is 'never in one step' (X), so the revision-level EC003 comes with it",
    ),
    alembic(
        "rename_enum_value_contract",
        "EC109 EC003",
        contract("op.execute(\"ALTER TYPE order_state RENAME VALUE 'shipped' TO 'sent'\")"),
        note="not a contract change: renaming in place breaks the release that follows too",
    ),
    sql_case(
        "rename_enum_value_sql",
        "EC109 EC003",
        "alter type public.order_state rename value 'new' to 'created';",
    ),
    alembic(
        "rename_enum_value_unphased_schema_qualified",
        "EC109 EC003",
        unphased("op.execute(\"ALTER TYPE public.order_state RENAME VALUE 'shipped' TO 'dispatched'\")"),
    ),
    alembic(
        "safe_add_enum_value_autocommit",
        "",
        expand(
            """
            with op.get_context().autocommit_block():
                op.execute("ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'refunded'")
            """
        ),
    ),
]
