"""EC0xx: whether each revision's changes fit the phase it runs in, and the layout (EC005, EC006)."""

from __future__ import annotations

from lint_corpus.case import alembic, contract, expand, sql_case, stray, unphased

BACKFILL_EMAIL = (
    'op.execute("UPDATE accounts SET email_address = email WHERE email_address IS NULL AND id < 100000")'
)
ADD_EMAIL_ADDRESS = 'op.add_column("accounts", sa.Column("email_address", sa.String(255), nullable=True))'

CASES = [
    # --- EC001 contract-in-expand (the per-revision summary of EC1xx) --------------------------------------
    alembic(
        "expand_additive_plus_drop",
        "EC101 EC001",
        expand(f'{ADD_EMAIL_ADDRESS}\nop.drop_column("accounts", "email")'),
    ),
    alembic(
        "unphased_three_contract_changes_one_table",
        "EC101 EC103 EC105 EC001",
        unphased(
            """
            op.drop_column("orders", "note")
            op.drop_constraint("ck_orders_total", "orders", type_="check")
            op.alter_column("orders", "state", server_default=None)
            """
        ),
    ),
    alembic(
        "expand_drop_whole_history_mode",
        "EC101 EC001",
        expand('op.drop_column("accounts", "nickname")'),
        whole_history=True,
    ),
    alembic(
        "safe_expand_drop_suppressed_with_reason",
        "",
        expand(
            """
            # expandcontract: ignore[EC101] -- nickname was never read by any release
            op.drop_column("accounts", "nickname")
            """
        ),
        note="the suppressed change drops out of the EC001 summary too",
    ),
    alembic(
        "safe_expand_drop_suppressed_by_name_same_line",
        "",
        expand(
            'op.drop_column("accounts", "nickname")  '
            "# expandcontract: ignore[drop-column] -- written by no release since 1.4"
        ),
    ),
    alembic(
        "safe_contract_drop_whole_history_mode",
        "EC101",
        contract('op.drop_column("accounts", "nickname")'),
        whole_history=True,
        note="gated, in a contract revision",
    ),
    # --- EC002 expand-in-contract -----------------------------------------------------------------------
    alembic(
        "contract_add_column",
        "EC002",
        contract('op.add_column("accounts", sa.Column("verified", sa.Boolean(), nullable=True))'),
    ),
    alembic(
        "contract_drop_and_add",
        "EC101 EC002",
        contract(
            """
            op.drop_column("accounts", "legacy_code")
            op.add_column("accounts", sa.Column("email_verified", sa.Boolean()))
            """
        ),
    ),
    alembic(
        "contract_create_table",
        "EC002",
        contract('op.create_table("wishlists", sa.Column("id", sa.BigInteger(), primary_key=True))'),
    ),
    alembic(
        "contract_create_index_concurrently",
        "EC002",
        contract(
            """
            with op.get_context().autocommit_block():
                op.create_index("ix_orders_placed_at", "orders", ["placed_at"], postgresql_concurrently=True)
            """
        ),
    ),
    alembic(
        "contract_create_view",
        "EC002",
        contract("op.execute(\"CREATE VIEW paid_orders AS SELECT * FROM orders WHERE state = 'paid'\")"),
    ),
    alembic(
        "contract_drop_not_null",
        "EC002",
        contract('op.alter_column("accounts", "name", nullable=True, existing_type=sa.Text())'),
    ),
    alembic(
        "contract_set_default",
        "EC002",
        contract("op.execute(\"ALTER TABLE orders ALTER COLUMN note SET DEFAULT ''\")"),
    ),
    alembic(
        "contract_add_enum_value_autocommit",
        "EC002",
        contract(
            """
            with op.get_context().autocommit_block():
                op.execute("ALTER TYPE order_state ADD VALUE 'cancelled'")
            """
        ),
    ),
    alembic(
        "safe_expand_add_column",
        "",
        expand('op.add_column("accounts", sa.Column("verified", sa.Boolean(), nullable=True))'),
    ),
    alembic(
        "safe_contract_validate_after_expand_not_valid",
        "",
        expand(
            'op.create_check_constraint("ck_orders_qty", "orders", "quantity > 0", postgresql_not_valid=True)'
        ),
        contract('op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_qty")'),
    ),
    alembic(
        "safe_contract_comment_and_grant",
        "",
        contract(
            """
            op.execute("COMMENT ON COLUMN accounts.legacy_code IS 'unused, dropped next release'")
            op.execute("GRANT SELECT ON accounts TO reporting")
            """
        ),
    ),
    # --- EC004 data-with-schema -------------------------------------------------------------------------
    alembic(
        "data_with_schema_update_same_table",
        "EC004 EC315 EC316",
        expand(f"{ADD_EMAIL_ADDRESS}\n{BACKFILL_EMAIL}"),
        note="the backfill runs while ADD COLUMN's ACCESS EXCLUSIVE lock is held",
    ),
    alembic(
        "data_with_schema_insert_other_table",
        "EC004 EC316",
        expand(
            """
            op.add_column("orders", sa.Column("gift", sa.Boolean(), nullable=True))
            op.execute("INSERT INTO coupons (id, code) VALUES (1, 'WELCOME')")
            """
        ),
    ),
    alembic(
        "data_with_schema_dml_first",
        "EC004 EC315",
        expand(
            """
            op.execute("UPDATE orders SET note = '' WHERE note IS NULL")
            op.add_column("orders", sa.Column("gift", sa.Boolean(), nullable=True))
            """
        ),
    ),
    alembic(
        "data_with_schema_delete_and_concurrent_index",
        "EC004 EC315",
        expand(
            """
            op.execute("DELETE FROM audit_log WHERE at < now() - interval '1 year'")
            with op.get_context().autocommit_block():
                op.create_index("ix_audit_log_at", "audit_log", ["at"], postgresql_concurrently=True)
            """
        ),
    ),
    alembic(
        "data_with_schema_bulk_insert_unphased",
        "EC004",
        unphased(
            """
            coupons = sa.table("coupons", sa.column("id", sa.BigInteger()), sa.column("code", sa.Text()))
            op.bulk_insert(coupons, [{"id": 7, "code": "SPRING"}])
            with op.get_context().autocommit_block():
                op.create_index("ix_coupons_code", "coupons", ["code"], postgresql_concurrently=True)
            """
        ),
    ),
    sql_case(
        "data_with_schema_sql_file",
        "EC004 EC315",
        """
        ALTER TABLE accounts ADD COLUMN email_address varchar(255);
        UPDATE accounts SET email_address = email WHERE email_address IS NULL;
        """,
    ),
    alembic(
        "safe_seed_table_created_same_revision",
        "",
        expand(
            """
            currencies = op.create_table(
                "currencies", sa.Column("code", sa.Text(), primary_key=True), sa.Column("name", sa.Text())
            )
            op.bulk_insert(currencies, [{"code": "EUR", "name": "Euro"}, {"code": "USD", "name": "Dollar"}])
            """
        ),
    ),
    alembic(
        "safe_insert_into_existing_table_alone",
        "",
        expand("op.execute(\"INSERT INTO coupons (id, code) VALUES (42, 'LAUNCH')\")"),
    ),
    sql_case(
        "safe_sql_create_and_fill_new_table",
        "",
        """
        CREATE TABLE regions (code text PRIMARY KEY, label text);
        INSERT INTO regions VALUES ('eu', 'Europe'), ('us', 'United States');
        """,
    ),
    # --- EC005 contract-without-expand ------------------------------------------------------------------
    alembic(
        "contract_without_expand_drop",
        "EC315 EC101 EC005",
        expand(ADD_EMAIL_ADDRESS),
        expand(BACKFILL_EMAIL),
        contract('op.drop_column("accounts", "email")'),
    ),
    alembic(
        "contract_without_expand_batch_drop",
        "EC315 EC101 EC005",
        expand(ADD_EMAIL_ADDRESS),
        expand(BACKFILL_EMAIL),
        contract(
            """
            with op.batch_alter_table("accounts") as batch_op:
                batch_op.drop_column("email")
            """
        ),
    ),
    alembic(
        "contract_without_expand_sql_drop",
        "EC315 EC101 EC005",
        expand(ADD_EMAIL_ADDRESS),
        expand(BACKFILL_EMAIL),
        contract('op.execute("ALTER TABLE accounts DROP COLUMN email")'),
    ),
    alembic(
        "contract_depends_on_wrong_expand",
        "EC315 EC101 EC005",
        expand(ADD_EMAIL_ADDRESS),
        expand(BACKFILL_EMAIL),
        contract('op.drop_column("accounts", "email")', depends_on=("e1",)),
        note="depends on the revision that adds the column, not on the one that copies into it",
    ),
    alembic(
        "safe_contract_depends_on_backfill",
        "EC315 EC101",
        expand(ADD_EMAIL_ADDRESS),
        expand(BACKFILL_EMAIL),
        contract('op.drop_column("accounts", "email")', depends_on=("e2",)),
    ),
    # --- EC006 unphased-revision ------------------------------------------------------------------------
    alembic("expand_revision_in_contract_folder", "EC006", expand("pass", folder="contract")),
    alembic(
        "contract_revision_in_expand_folder",
        "EC101 EC006",
        contract('op.drop_column("accounts", "legacy_code")', folder="expand"),
    ),
    alembic("expand_revision_outside_phase_folders", "EC006", expand("pass", folder="")),
    alembic(
        "stray_revision_on_neither_branch",
        "EC006",
        stray('op.add_column("orders", sa.Column("gift", sa.Boolean()))'),
    ),
    alembic(
        "stray_revision_with_drop",
        "EC101 EC001 EC006",
        stray('op.drop_column("orders", "note")'),
        note="on neither branch: treated as running before the deploy",
    ),
    alembic(
        "expand_depends_on_contract",
        "EC006",
        contract("pass", rev_id="c_ready"),
        expand('op.add_column("orders", sa.Column("gift", sa.Boolean()))', depends_on=("c_ready",)),
    ),
    alembic(
        "safe_layout_expand_and_contract",
        "EC101",
        expand('op.add_column("orders", sa.Column("gift", sa.Boolean()))', rev_id="e_gift"),
        contract('op.drop_column("orders", "note")', depends_on=("e_gift",)),
    ),
]
