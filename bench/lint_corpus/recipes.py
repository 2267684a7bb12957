"""EC2xx: changes no single phase can hold. Each comes with the revision-level EC003, in any phase.
Safe twins: the type changes PostgreSQL makes in place, required columns with a default, the recipe."""

from __future__ import annotations

from lint_corpus.case import alembic, contract, expand, sql_case, unphased

CASES = [
    # --- EC201 rename-column ----------------------------------------------------------------------------
    alembic(
        "rename_column_op",
        "EC201 EC003",
        expand('op.alter_column("accounts", "nickname", new_column_name="handle")'),
    ),
    alembic(
        "rename_column_batch",
        "EC201 EC003",
        expand(
            """
            with op.batch_alter_table("accounts") as batch_op:
                batch_op.alter_column("nickname", new_column_name="handle", existing_type=sa.String(50))
            """
        ),
    ),
    alembic(
        "rename_column_alembic_rendering",
        "EC201 EC003",
        expand('op.execute("ALTER TABLE accounts RENAME nickname TO handle")'),
        note="how Alembic itself renders a column rename (no COLUMN keyword)",
    ),
    alembic(
        "rename_column_contract",
        "EC201 EC003",
        contract('op.alter_column("orders", "note", new_column_name="comment")'),
    ),
    alembic(
        "rename_column_schema_qualified",
        "EC201 EC003",
        unphased('op.alter_column("invoices", "memo", new_column_name="description", schema="billing")'),
    ),
    sql_case("rename_column_sql", "EC201 EC003", "ALTER TABLE orders RENAME COLUMN note TO comment;"),
    sql_case(
        "rename_column_sql_quoted",
        "EC201 EC003",
        'alter table "UserProfiles" rename column "Bio" to "biography";',
    ),
    alembic(
        "safe_rename_column_of_new_table",
        "",
        expand(
            """
            op.create_table(
                "labels",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("txt", sa.Text()),
            )
            op.alter_column("labels", "txt", new_column_name="text")
            """
        ),
    ),
    alembic(
        "safe_rename_column_as_recipe",
        "EC101",
        expand(
            """
            op.add_column("accounts", sa.Column("handle", sa.String(50), nullable=True))
            """,
            rev_id="e_handle",
        ),
        contract('op.drop_column("accounts", "nickname")', depends_on=("e_handle",)),
        note="the recipe: add in expand, drop (gated) in contract",
    ),
    alembic(
        "safe_rename_column_suppressed",
        "",
        expand(
            """
            # expandcontract: ignore[EC201] -- the column is read through a view that maps both names
            op.alter_column("accounts", "nickname", new_column_name="handle")
            """
        ),
    ),
    # --- EC202 rename-table -----------------------------------------------------------------------------
    alembic("rename_table_op", "EC202 EC003", expand('op.rename_table("coupons", "vouchers")')),
    alembic(
        "rename_table_schema_qualified",
        "EC202 EC003",
        expand('op.rename_table("invoices", "bills", schema="billing")'),
    ),
    alembic(
        "rename_table_contract", "EC202 EC003", contract('op.rename_table("audit_log", "audit_entries")')
    ),
    alembic(
        "rename_table_execute",
        "EC202 EC003",
        unphased('op.execute("ALTER TABLE coupons RENAME TO vouchers")'),
    ),
    sql_case("rename_table_sql", "EC202 EC003", "ALTER TABLE IF EXISTS audit_log RENAME TO audit_entries;"),
    sql_case("rename_table_sql_quoted", "EC202 EC003", 'ALTER TABLE "UserProfiles" RENAME TO user_profiles;'),
    alembic(
        "safe_rename_new_table",
        "",
        expand(
            """
            op.create_table("tmp_carts", sa.Column("id", sa.BigInteger(), primary_key=True))
            op.rename_table("tmp_carts", "carts")
            """
        ),
    ),
    alembic(
        "safe_rename_table_with_view_suppressed",
        "",
        expand(
            """
            # expandcontract: ignore[EC202] -- the view below keeps the old name working
            op.rename_table("coupons", "vouchers")
            op.execute("CREATE VIEW coupons AS SELECT * FROM vouchers")
            """
        ),
    ),
    # --- EC203 rename-object ----------------------------------------------------------------------------
    alembic(
        "rename_index_execute",
        "EC203 EC003",
        expand('op.execute("ALTER INDEX ix_orders_account_id RENAME TO ix_orders_account")'),
    ),
    alembic(
        "rename_constraint_execute",
        "EC203 EC003",
        expand('op.execute("ALTER TABLE orders RENAME CONSTRAINT uq_orders_ref TO orders_ref_key")'),
    ),
    sql_case(
        "rename_sequence_sql", "EC203 EC003", "ALTER SEQUENCE invoice_number_seq RENAME TO invoice_no_seq;"
    ),
    sql_case("rename_schema_sql", "EC203 EC003", "ALTER SCHEMA billing RENAME TO finance;"),
    sql_case("set_schema_table_sql", "EC203 EC003", "ALTER TABLE audit_log SET SCHEMA archive;"),
    sql_case("rename_type_sql", "EC203 EC003", "ALTER TYPE order_state RENAME TO order_status;"),
    alembic(
        "rename_view_contract",
        "EC203 EC003",
        contract('op.execute("ALTER VIEW active_accounts RENAME TO live_accounts")'),
    ),
    sql_case(
        "set_schema_sequence_sql", "EC203 EC003", "alter sequence invoice_number_seq set schema billing;"
    ),
    sql_case("safe_create_schema_sql", "", "CREATE SCHEMA IF NOT EXISTS archive;"),
    # --- EC204 change-column-type -----------------------------------------------------------------------
    alembic(
        "type_change_text_to_integer",
        "EC204 EC003",
        expand(
            'op.alter_column("accounts", "legacy_code", type_=sa.Integer(), existing_type=sa.Text(), '
            'postgresql_using="legacy_code::integer")'
        ),
    ),
    alembic(
        "type_change_varchar_shrink_from_history",
        "EC204 EC003",
        expand('op.alter_column("accounts", "email", type_=sa.String(60))'),
        note="no existing_type: the replayed history knows varchar(120)",
    ),
    alembic(
        "type_change_batch",
        "EC204 EC003",
        expand(
            """
            with op.batch_alter_table("orders") as batch_op:
                batch_op.alter_column("ref", type_=sa.Integer(), existing_type=sa.String(40))
            """
        ),
    ),
    alembic(
        "type_change_contract",
        "EC204 EC003",
        contract('op.alter_column("orders", "total", type_=sa.Integer(), existing_type=sa.Numeric(12, 2))'),
    ),
    alembic(
        "type_change_numeric_scale_down",
        "EC204 EC003",
        expand('op.alter_column("accounts", "balance", type_=sa.Numeric(10, 0))'),
    ),
    alembic(
        "type_change_timestamp_to_timestamptz_no_utc",
        "EC204 EC003",
        expand('op.alter_column("accounts", "created_at", type_=sa.DateTime(timezone=True))'),
        note="without session-timezone = UTC the conversion rewrites and reinterprets values",
    ),
    alembic(
        "type_change_timestamp_utc_pg11",
        "EC204 EC003",
        expand('op.alter_column("accounts", "created_at", type_=sa.DateTime(timezone=True))'),
        postgresql_version=11,
        settings={"session_timezone": "UTC"},
        note="the no-rewrite conversion needs PostgreSQL 12",
    ),
    alembic(
        "type_change_execute_using",
        "EC204 EC003",
        expand(
            'op.execute("ALTER TABLE orders ALTER COLUMN state TYPE order_state USING state::order_state")'
        ),
    ),
    sql_case(
        "type_change_sql_unknown_old_type",
        "EC204 EC003",
        "ALTER TABLE orders ALTER COLUMN total TYPE integer;",
        note="a SQL file alone does not show the old type: it cannot be judged safe",
    ),
    sql_case(
        "type_change_sql_set_data_type",
        "EC204 EC003",
        "alter table accounts alter column score set data type text;",
    ),
    alembic(
        "safe_type_varchar_widening_op",
        "",
        expand('op.alter_column("accounts", "email", type_=sa.String(255), existing_type=sa.String(120))'),
    ),
    alembic(
        "safe_type_varchar_widening_from_history",
        "",
        expand('op.alter_column("accounts", "nickname", type_=sa.String(80))'),
    ),
    alembic(
        "safe_type_varchar_widening_sql_from_history",
        "",
        expand('op.execute("ALTER TABLE accounts ALTER COLUMN email TYPE varchar(255)")'),
        note="raw SQL: the old type comes from the replayed history",
    ),
    alembic(
        "safe_type_varchar_to_text",
        "",
        expand('op.alter_column("orders", "ref", type_=sa.Text(), existing_type=sa.String(40))'),
    ),
    alembic(
        "safe_type_varchar_limit_removed",
        "",
        expand('op.alter_column("accounts", "nickname", type_=sa.String(), existing_type=sa.String(50))'),
    ),
    alembic(
        "safe_type_numeric_precision_up",
        "",
        expand(
            'op.alter_column("accounts", "balance", type_=sa.Numeric(14, 2), existing_type=sa.Numeric(10, 2))'
        ),
    ),
    alembic(
        "safe_type_cidr_to_inet",
        "",
        expand(
            'op.alter_column("accounts", "signup_ip", type_=postgresql.INET(), '
            "existing_type=postgresql.CIDR())"
        ),
    ),
    alembic(
        "safe_type_timestamp_utc_pg16",
        "",
        expand('op.alter_column("accounts", "created_at", type_=sa.DateTime(timezone=True))'),
        settings={"session_timezone": "UTC"},
    ),
    alembic(
        "safe_type_change_on_new_table",
        "",
        expand(
            """
            op.create_table(
                "drafts",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("n", sa.Text()),
            )
            op.alter_column("drafts", "n", type_=sa.Integer(), existing_type=sa.Text())
            """
        ),
    ),
    # --- EC205 add-required-column ----------------------------------------------------------------------
    alembic(
        "add_required_column_op",
        "EC205 EC003",
        expand('op.add_column("accounts", sa.Column("tenant_id", sa.BigInteger(), nullable=False))'),
    ),
    alembic(
        "add_required_column_batch",
        "EC205 EC003",
        expand(
            """
            with op.batch_alter_table("orders") as batch_op:
                batch_op.add_column(sa.Column("currency", sa.Text(), nullable=False))
            """
        ),
    ),
    alembic(
        "add_required_column_contract",
        "EC205 EC003",
        contract('op.add_column("orders", sa.Column("channel", sa.Text(), nullable=False))'),
    ),
    alembic(
        "add_required_column_schema_qualified",
        "EC205 EC003",
        expand(
            'op.add_column("invoices", sa.Column("currency", sa.Text(), nullable=False), schema="billing")'
        ),
    ),
    sql_case(
        "add_required_column_sql",
        "EC205 EC003",
        "ALTER TABLE orders ADD COLUMN currency char(3) NOT NULL;",
    ),
    sql_case(
        "add_required_column_sql_lowercase_if_not_exists",
        "EC205 EC003",
        "alter table accounts add column if not exists tenant_id bigint not null;",
    ),
    alembic(
        "safe_add_column_not_null_constant_default",
        "",
        expand(
            'op.add_column("orders", sa.Column("currency", sa.Text(), nullable=False, server_default="EUR"))'
        ),
    ),
    alembic(
        "safe_add_column_not_null_now_default",
        "",
        expand(
            'op.add_column("orders", sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, '
            'server_default=sa.text("now()")))'
        ),
    ),
    alembic(
        "safe_add_column_nullable",
        "",
        expand('op.add_column("accounts", sa.Column("tenant_id", sa.BigInteger(), nullable=True))'),
    ),
    sql_case(
        "safe_add_column_not_null_default_sql",
        "",
        "ALTER TABLE orders ADD COLUMN priority integer NOT NULL DEFAULT 0;",
    ),
    alembic(
        "safe_create_table_not_null_columns",
        "",
        expand(
            """
            op.create_table(
                "shipments",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("order_id", sa.BigInteger(), nullable=False),
                sa.Column("carrier", sa.Text(), nullable=False),
            )
            """
        ),
    ),
    alembic(
        "safe_add_required_column_to_new_table",
        "",
        expand(
            """
            op.create_table("parcels", sa.Column("id", sa.BigInteger(), primary_key=True))
            op.add_column("parcels", sa.Column("weight", sa.Integer(), nullable=False))
            """
        ),
    ),
]
