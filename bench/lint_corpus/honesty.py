"""EC9xx: what the tool could not read, and suppressions that do not hold up. Safe twins: statements it
does understand, and suppressions that suppress something and say why."""

from __future__ import annotations

from lint_corpus.case import alembic, contract, expand, sql_case, unphased

CASES = [
    # --- EC901 opaque-statement -------------------------------------------------------------------------
    alembic(
        "opaque_do_block",
        "EC901",
        expand(
            '''
            op.execute("""
                DO $$
                BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reporting') THEN
                        CREATE ROLE reporting;
                    END IF;
                END
                $$;
            """)
            '''
        ),
    ),
    sql_case(
        "opaque_do_block_sql",
        "EC901",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE orders DROP COLUMN note'; END $$;",
    ),
    alembic("opaque_call_procedure", "EC901", contract('op.execute("CALL archive_old_orders(365)")')),
    sql_case(
        "opaque_among_understood_statements",
        "EC901 EC301",
        """
        CREATE INDEX ix_orders_code ON orders (code);
        SECURITY LABEL FOR selinux ON TABLE orders IS 'system_u:object_r:sepgsql_table_t:s0';
        """,
    ),
    alembic(
        "opaque_statement_in_unphased",
        "EC901",
        unphased('op.execute("IMPORT FOREIGN SCHEMA legacy FROM SERVER old_db INTO staging")'),
    ),
    alembic(
        "safe_opaque_suppressed_with_reason",
        "",
        expand(
            """
            # expandcontract: ignore[EC901] -- creates the reporting role only, no schema change
            op.execute("DO $$ BEGIN CREATE ROLE reporting; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
            """
        ),
    ),
    sql_case(
        "safe_understood_harmless_statements",
        "",
        """
        COMMENT ON TABLE orders IS 'one row per checkout';
        GRANT SELECT ON orders TO reporting;
        SELECT count(*) FROM orders;
        ANALYZE orders;
        """,
    ),
    # --- EC902 offline-unreadable -----------------------------------------------------------------------
    alembic(
        "reflection_is_read_offline",
        "",
        expand(
            """
            inspector = sa.inspect(op.get_bind())
            if "gift" not in [c["name"] for c in inspector.get_columns("orders")]:
                op.add_column("orders", sa.Column("gift", sa.Boolean()))
            """
        ),
        note="reflection sees an empty database offline: read offline, no EC902",
    ),
    alembic(
        "reflection_guard_still_shows_the_drop",
        "EC101 EC001",
        expand(
            """
            tables = sa.inspect(op.get_bind()).get_table_names()
            if "legacy_sessions" in tables:
                op.drop_column("accounts", "legacy_code")
            """
        ),
        note="the guarded drop is not reached offline; it is read from the source",
    ),
    alembic(
        "offline_unreadable_session_with_drop",
        "EC902 EC101 EC001",
        expand(
            """
            session = sa.orm.Session(bind=op.get_bind())
            if session.connection().dialect.name == "postgresql":
                op.drop_column("accounts", "legacy_code")
            """
        ),
        note="an ORM session needs a live connection; the AST still shows the drop",
    ),
    alembic(
        "offline_unreadable_orm_session",
        "EC902",
        unphased(
            """
            session = sa.orm.Session(bind=op.get_bind())
            for (name,) in session.execute(sa.text("SELECT name FROM accounts")).all():
                pass
            op.add_column("accounts", sa.Column("slug", sa.Text()))
            """
        ),
    ),
    alembic(
        "offline_unreadable_fails_in_upgrade",
        "EC902 EC101 EC001",
        expand(
            """
            raise RuntimeError("run scripts/migrate_legacy.py first")
            op.drop_column("accounts", "legacy_code")
            """
        ),
        note="upgrade() fails offline; the AST shows the drop after it",
    ),
    alembic(
        "safe_guarded_by_offline_mode",
        "",
        expand(
            """
            from alembic import context

            op.add_column("orders", sa.Column("gift", sa.Boolean()))
            if not context.is_offline_mode():
                inspector = sa.inspect(op.get_bind())
                print(inspector.get_table_names())
            """
        ),
    ),
    # --- EC903 unused-suppression -----------------------------------------------------------------------
    alembic(
        "unused_suppression_wrong_rule",
        "EC903 EC101 EC001",
        expand(
            """
            # expandcontract: ignore[EC102] -- the table is not dropped, only a column
            op.drop_column("accounts", "legacy_code")
            """
        ),
    ),
    alembic(
        "unused_suppression_nothing_to_suppress",
        "EC903",
        expand(
            """
            # expandcontract: ignore[EC101] -- column unused since 2.3
            op.add_column("accounts", sa.Column("verified", sa.Boolean()))
            """
        ),
    ),
    alembic(
        "unused_suppression_unknown_code",
        "EC903",
        expand(
            """
            op.add_column("accounts", sa.Column("ok", sa.Boolean()))  # expandcontract: ignore[EC999] -- typo
            """
        ),
    ),
    alembic(
        "unused_file_level_suppression",
        "EC903",
        expand(
            'op.add_column("accounts", sa.Column("verified", sa.Boolean()))',
            docstring="add accounts.verified\n\nexpandcontract: ignore-file[EC301] -- built off-hours",
        ),
    ),
    sql_case(
        "unused_suppression_sql",
        "EC903",
        """
        -- expandcontract: ignore[EC102] -- staging table, never read
        ALTER TABLE orders ADD COLUMN gift boolean;
        """,
    ),
    alembic(
        "unused_per_revision_ignore",
        "EC903",
        expand('op.add_column("accounts", sa.Column("verified", sa.Boolean()))', rev_id="e_verified"),
        settings={"per_revision_ignores": (("e_verified", ("EC101",)),)},
    ),
    alembic(
        "safe_used_file_level_suppression",
        "",
        expand(
            'op.create_index("ix_orders_placed_at", "orders", ["placed_at"])',
            docstring="index orders.placed_at\n\nexpandcontract: ignore-file[EC301] -- orders has 200 rows",
        ),
    ),
    alembic(
        "safe_used_per_revision_ignore",
        "",
        expand('op.create_index("ix_orders_placed_at", "orders", ["placed_at"])', rev_id="e_index"),
        settings={"per_revision_ignores": (("e_index", ("index-not-concurrent",)),)},
    ),
    sql_case(
        "safe_used_suppression_sql",
        "",
        """
        -- expandcontract: ignore[EC301] -- coupons has a dozen rows
        CREATE INDEX ix_coupons_code ON coupons (code);
        """,
    ),
    # --- EC904 suppression-without-reason ---------------------------------------------------------------
    alembic(
        "suppression_without_reason_same_line",
        "EC904",
        expand('op.drop_column("accounts", "legacy_code")  # expandcontract: ignore[EC101]'),
        note="the suppression still works (EC101 and EC001 are gone); it only lacks a reason",
    ),
    alembic(
        "suppression_without_reason_empty_after_dashes",
        "EC904",
        expand(
            """
            # expandcontract: ignore[EC301] --
            op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
            """
        ),
    ),
    sql_case(
        "suppression_without_reason_sql",
        "EC904",
        """
        -- expandcontract: ignore[index-not-concurrent]
        CREATE INDEX ix_orders_placed_at ON orders (placed_at);
        """,
    ),
    alembic(
        "suppression_without_reason_and_unused",
        "EC903 EC904",
        expand(
            """
            # expandcontract: ignore[EC101]
            op.add_column("accounts", sa.Column("verified", sa.Boolean()))
            """
        ),
    ),
    alembic(
        "safe_suppression_with_reason",
        "",
        expand(
            """
            # expandcontract: ignore[EC301] -- coupons has a dozen rows
            op.create_index("ix_coupons_code", "coupons", ["code"])
            """
        ),
    ),
]
