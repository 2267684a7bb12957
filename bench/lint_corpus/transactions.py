"""EC4xx: statements that fail or misbehave in the transaction Alembic wraps a revision in, and lock waits
nothing bounds. EC403 cases set `timeouts=True` (elsewhere it is ignored) and choose their env.py."""

from __future__ import annotations

from lint_corpus.case import alembic, contract, expand, sql_case, unphased

ADD_GIFT = 'op.add_column("orders", sa.Column("gift", sa.Boolean(), nullable=True))'

CASES = [
    # --- EC401 concurrently-in-transaction --------------------------------------------------------------
    alembic(
        "concurrent_index_in_transaction",
        "EC401",
        expand(
            'op.create_index("ix_orders_placed_at", "orders", ["placed_at"], postgresql_concurrently=True)'
        ),
    ),
    alembic(
        "concurrent_drop_index_in_transaction",
        "EC401",
        expand('op.drop_index("ix_orders_account_id", table_name="orders", postgresql_concurrently=True)'),
    ),
    alembic(
        "concurrent_index_execute_in_transaction",
        "EC401",
        expand('op.execute("CREATE INDEX CONCURRENTLY ix_orders_placed_at ON orders (placed_at)")'),
    ),
    alembic(
        "concurrent_reindex_in_transaction",
        "EC401",
        unphased('op.execute("REINDEX INDEX CONCURRENTLY ix_orders_account_id")'),
    ),
    alembic(
        "concurrent_detach_in_transaction",
        "EC401",
        contract('op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY")'),
    ),
    alembic(
        "concurrent_index_after_autocommit_block",
        "EC401",
        expand(
            """
            with op.get_context().autocommit_block():
                op.create_index("ix_orders_placed_at", "orders", ["placed_at"], postgresql_concurrently=True)
            op.create_index("ix_orders_code", "orders", ["code"], postgresql_concurrently=True)
            """
        ),
        note="the second index runs after the block, back inside the transaction",
    ),
    sql_case(
        "concurrent_index_sql_between_begin_commit",
        "EC401",
        """
        BEGIN;
        CREATE INDEX CONCURRENTLY ix_orders_placed_at ON orders (placed_at);
        COMMIT;
        """,
    ),
    sql_case(
        "concurrent_index_sql_in_transaction_setting",
        "EC401",
        "CREATE UNIQUE INDEX CONCURRENTLY uq_coupons_code ON coupons (code);",
        settings={"sql_in_transaction": True},
    ),
    alembic(
        "safe_concurrent_drop_index_autocommit",
        "",
        expand(
            """
            with op.get_context().autocommit_block():
                op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_orders_account_id")
            """
        ),
    ),
    sql_case(
        "safe_concurrent_index_sql_after_commit",
        "",
        """
        BEGIN;
        ALTER TABLE orders ADD COLUMN channel text;
        COMMIT;
        CREATE INDEX CONCURRENTLY ix_orders_channel ON orders (channel);
        """,
    ),
    # --- EC402 enum-value-in-transaction ----------------------------------------------------------------
    alembic(
        "enum_add_value_pg11",
        "EC402",
        expand("op.execute(\"ALTER TYPE order_state ADD VALUE 'refunded'\")"),
        postgresql_version=11,
    ),
    alembic(
        "enum_add_value_used_same_transaction_pg16",
        "EC402 EC004 EC315",
        expand(
            """
            op.execute("ALTER TYPE order_state ADD VALUE 'refunded'")
            op.execute("UPDATE orders SET state = 'refunded' WHERE note = 'refund'")
            """
        ),
    ),
    alembic(
        "enum_add_value_used_in_insert_pg16",
        "EC402 EC004",
        expand(
            """
            op.execute("ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'cancelled' AFTER 'paid'")
            op.execute("INSERT INTO orders (id, total, state) VALUES (0, 0, 'cancelled')")
            """
        ),
    ),
    sql_case(
        "enum_add_value_sql_transaction_pg10",
        "EC402",
        """
        BEGIN;
        ALTER TYPE order_state ADD VALUE 'refunded' BEFORE 'shipped';
        COMMIT;
        """,
        postgresql_version=10,
    ),
    alembic(
        "enum_add_value_unphased_pg9",
        "EC402",
        unphased("op.execute(\"alter type order_state add value if not exists 'held'\")"),
        postgresql_version=9,
    ),
    alembic(
        "safe_enum_add_value_in_transaction_pg16_unused",
        "",
        expand("op.execute(\"ALTER TYPE order_state ADD VALUE 'refunded'\")"),
        note="PostgreSQL 12+ allows it in a transaction; nothing uses the value before commit",
    ),
    alembic(
        "safe_enum_add_value_autocommit_pg11",
        "",
        expand(
            """
            with op.get_context().autocommit_block():
                op.execute("ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'refunded'")
            """
        ),
        postgresql_version=11,
    ),
    alembic(
        "safe_enum_value_used_in_later_revision",
        "EC315",
        expand(
            """
            with op.get_context().autocommit_block():
                op.execute("ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'refunded'")
            """
        ),
        expand("op.execute(\"UPDATE orders SET state = 'refunded' WHERE note = 'refund'\")"),
    ),
    # --- EC403 missing-lock-timeout (timeouts=True) -----------------------------------------------------
    alembic("lock_timeout_missing_no_env", "EC403", expand(ADD_GIFT), env="none", timeouts=True),
    alembic("lock_timeout_missing_plain_env", "EC403", expand(ADD_GIFT), env="plain", timeouts=True),
    alembic(
        "lock_timeout_missing_hook_turned_off",
        "EC403",
        expand(ADD_GIFT),
        env="hook",
        timeouts=True,
        settings={"lock_timeout": None},
        note="env.py calls before_migrations(), but `lock-timeout` is off",
    ),
    alembic(
        "lock_timeout_reset_before_ddl",
        "EC403",
        expand(
            f"""
            op.execute("SET LOCAL lock_timeout = '2s'")
            op.execute("RESET lock_timeout")
            {ADD_GIFT}
            """
        ),
        env="plain",
        timeouts=True,
    ),
    alembic(
        "lock_timeout_set_local_ends_with_transaction",
        "EC403",
        expand(
            """
            op.execute("SET LOCAL lock_timeout = '2s'")
            with op.get_context().autocommit_block():
                op.execute("ALTER TABLE orders ADD COLUMN gift boolean")
            """
        ),
        env="plain",
        timeouts=True,
        note="SET LOCAL ends with the transaction autocommit_block() commits",
    ),
    alembic(
        "lock_timeout_zero_is_off",
        "EC403",
        expand(f'op.execute("SET lock_timeout = 0")\n{ADD_GIFT}'),
        env="plain",
        timeouts=True,
    ),
    alembic(
        "lock_timeout_missing_index",
        "EC403 EC301",
        expand('op.create_index("ix_orders_placed_at", "orders", ["placed_at"])'),
        env="none",
        timeouts=True,
    ),
    sql_case(
        "lock_timeout_missing_sql",
        "EC403",
        "ALTER TABLE orders ADD COLUMN gift boolean;",
        timeouts=True,
    ),
    sql_case(
        "lock_timeout_missing_sql_drop",
        "EC403 EC101 EC001",
        "ALTER TABLE orders DROP COLUMN note;",
        timeouts=True,
    ),
    alembic("safe_lock_timeout_env_hook", "", expand(ADD_GIFT), env="hook", timeouts=True),
    alembic("safe_lock_timeout_env_connect_args", "", expand(ADD_GIFT), env="lock_timeout", timeouts=True),
    alembic(
        "safe_lock_timeout_set_local_in_revision",
        "",
        expand(f"op.execute(\"SET LOCAL lock_timeout = '3s'\")\n{ADD_GIFT}"),
        env="plain",
        timeouts=True,
    ),
    alembic(
        "safe_lock_timeout_set_config",
        "",
        expand(f"op.execute(\"SELECT set_config('lock_timeout', '2s', true)\")\n{ADD_GIFT}"),
        env="plain",
        timeouts=True,
    ),
    sql_case(
        "safe_lock_timeout_sql_set",
        "",
        """
        SET lock_timeout = '2s';
        ALTER TABLE orders ADD COLUMN gift boolean;
        """,
        timeouts=True,
    ),
    alembic(
        "safe_lock_timeout_weak_locks_only",
        "",
        expand(
            """
            with op.get_context().autocommit_block():
                op.create_index("ix_orders_placed_at", "orders", ["placed_at"], postgresql_concurrently=True)
            """
        ),
        env="plain",
        timeouts=True,
        note="CREATE INDEX CONCURRENTLY's SHARE UPDATE EXCLUSIVE lock blocks no reads or writes",
    ),
    alembic(
        "safe_lock_timeout_new_table",
        "",
        expand('op.create_table("badges", sa.Column("id", sa.BigInteger(), primary_key=True))'),
        env="none",
        timeouts=True,
    ),
    # --- EC404 missing-statement-timeout (opt-in) -------------------------------------------------------
    alembic("statement_timeout_missing", "EC404", expand(ADD_GIFT), select=("EC404",)),
    alembic(
        "statement_timeout_missing_not_null",
        "EC404 EC106 EC309",
        contract('op.alter_column("orders", "note", nullable=False)'),
        select=("missing-statement-timeout",),
    ),
    sql_case(
        "statement_timeout_missing_sql",
        "EC404 EC301",
        "CREATE INDEX ix_orders_placed_at ON orders (placed_at);",
        select=("EC404",),
    ),
    alembic(
        "statement_timeout_missing_rewrite_unphased",
        "EC404 EC310",
        unphased('op.alter_column("accounts", "score", type_=sa.BigInteger(), existing_type=sa.Integer())'),
        select=("EC404",),
    ),
    alembic(
        "safe_statement_timeout_set_local",
        "",
        expand(f"op.execute(\"SET LOCAL statement_timeout = '30s'\")\n{ADD_GIFT}"),
        select=("EC404",),
    ),
    alembic(
        "safe_statement_timeout_env",
        "",
        expand(ADD_GIFT),
        env="statement_timeout",
        select=("EC404",),
    ),
    sql_case(
        "safe_statement_timeout_sql",
        "",
        """
        SET statement_timeout = '60s';
        ALTER TABLE orders ADD COLUMN gift boolean;
        """,
        select=("EC404",),
    ),
    # --- EC405 explicit-transaction-control -------------------------------------------------------------
    alembic(
        "commit_before_concurrent_index",
        "EC405",
        expand(
            """
            op.execute("COMMIT")
            op.execute("CREATE INDEX CONCURRENTLY ix_orders_placed_at ON orders (placed_at)")
            """
        ),
    ),
    alembic("begin_in_revision", "EC405", expand(f'op.execute("BEGIN")\n{ADD_GIFT}')),
    alembic(
        "rollback_in_revision",
        "EC405",
        unphased('op.execute("ROLLBACK")'),
    ),
    alembic(
        "commit_lowercase_with_semicolon",
        "EC405",
        contract('op.execute("commit;")'),
    ),
    alembic(
        "commit_via_connection",
        "EC405",
        expand('op.get_bind().execute(sa.text("COMMIT"))'),
    ),
    sql_case(
        "safe_sql_file_owns_its_transaction",
        "",
        """
        BEGIN;
        ALTER TABLE orders ADD COLUMN gift boolean;
        COMMIT;
        """,
    ),
    alembic(
        "safe_autocommit_block_instead_of_commit",
        "",
        expand(
            """
            with op.get_context().autocommit_block():
                op.execute("CREATE INDEX CONCURRENTLY ix_orders_placed_at ON orders (placed_at)")
            """
        ),
    ),
]
