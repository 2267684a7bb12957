"""EC3xx: locking and rewrite hazards, in any phase. Safe twins: the concurrent / NOT VALID forms, objects
created in the same (unreleased) revision, non-volatile defaults, proofs of NOT NULL, version gates."""

from __future__ import annotations

from lint_corpus.case import alembic, contract, expand, sql_case, unphased

AUTOCOMMIT_INDEX = """
with op.get_context().autocommit_block():
    op.create_index("ix_orders_placed_at", "orders", ["placed_at"], postgresql_concurrently=True)
"""

CASES = [
    # --- EC301 index-not-concurrent ---------------------------------------------------------------------
    alembic("index_op", "EC301", expand('op.create_index("ix_orders_placed_at", "orders", ["placed_at"])')),
    alembic(
        "index_unique_op",
        "EC301",
        expand('op.create_index("uq_coupons_code", "coupons", ["code"], unique=True)'),
    ),
    alembic(
        "index_schema_qualified",
        "EC301",
        unphased('op.create_index("ix_invoices_amount", "invoices", ["amount"], schema="billing")'),
    ),
    alembic(
        "index_batch",
        "EC301",
        expand(
            """
            with op.batch_alter_table("orders") as batch_op:
                batch_op.create_index("ix_orders_state", ["state"])
            """
        ),
    ),
    alembic(
        "index_execute_lowercase",
        "EC301",
        expand(
            "op.execute(\"create index ix_orders_note on orders using gin (to_tsvector('simple', note))\")"
        ),
    ),
    alembic(
        "index_contract",
        "EC301 EC002",
        contract('op.create_index("ix_orders_placed_at", "orders", ["placed_at"])'),
    ),
    alembic(
        "index_via_add_column_index_true",
        "EC301 EC316",
        expand('op.add_column("orders", sa.Column("channel", sa.Text(), index=True))'),
        note="Alembic emits ADD COLUMN then CREATE INDEX: the build runs under ADD COLUMN's ACCESS EXCLUSIVE",
    ),
    alembic(
        "index_concurrently_flag_forgotten_in_autocommit",
        "EC301",
        expand(
            """
            with op.get_context().autocommit_block():
                op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
            """
        ),
    ),
    sql_case("index_sql", "EC301", "CREATE INDEX ix_orders_placed_at ON orders (placed_at);"),
    sql_case(
        "index_sql_unique_if_not_exists_quoted",
        "EC301",
        'CREATE UNIQUE INDEX IF NOT EXISTS "ix_profiles_name" ON "UserProfiles" ("displayName");',
    ),
    sql_case(
        "index_sql_partial_schema",
        "EC301",
        """
        -- only unpaid invoices are looked up by date
        create index ix_invoices_open on billing.invoices (issued_on) where amount > 0;
        """,
    ),
    alembic("safe_index_concurrently_autocommit", "", expand(AUTOCOMMIT_INDEX)),
    alembic(
        "safe_index_on_table_created_same_revision",
        "",
        expand(
            """
            op.create_table(
                "reviews",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("stars", sa.Integer()),
            )
            op.create_index("ix_reviews_stars", "reviews", ["stars"])
            """
        ),
    ),
    alembic(
        "safe_index_on_table_created_in_earlier_unreleased_revision",
        "",
        expand(
            'op.create_table("reviews", sa.Column("id", sa.BigInteger(), primary_key=True), '
            'sa.Column("stars", sa.Integer()))'
        ),
        expand('op.create_index("ix_reviews_stars", "reviews", ["stars"])'),
        note="both revisions are under test (unreleased together): no release has the table",
    ),
    sql_case(
        "safe_index_sql_concurrently",
        "",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_orders_placed_at ON orders (placed_at);",
    ),
    sql_case(
        "safe_index_sql_on_table_created_in_file",
        "",
        """
        CREATE TABLE wish_items (id bigint PRIMARY KEY, sku text);
        CREATE INDEX ix_wish_items_sku ON wish_items (sku);
        """,
    ),
    # --- EC302 drop-index-not-concurrent ----------------------------------------------------------------
    alembic(
        "drop_index_op",
        "EC302",
        expand('op.drop_index("ix_orders_account_id", table_name="orders")'),
        note="dropping an index is not an EC1xx contract change, so no EC001",
    ),
    alembic(
        "drop_index_schema_qualified",
        "EC302",
        unphased('op.drop_index("ix_invoices_issued_on", table_name="invoices", schema="billing")'),
    ),
    alembic(
        "drop_index_contract",
        "EC302",
        contract('op.drop_index("ix_orders_account_id", table_name="orders")'),
    ),
    sql_case("drop_index_sql", "EC302", "DROP INDEX ix_orders_account_id;"),
    sql_case(
        "drop_index_sql_if_exists_schema", "EC302", "drop index if exists billing.ix_invoices_issued_on;"
    ),
    alembic(
        "safe_drop_index_concurrently_autocommit",
        "",
        expand(
            """
            with op.get_context().autocommit_block():
                op.drop_index("ix_orders_account_id", table_name="orders", postgresql_concurrently=True)
            """
        ),
    ),
    sql_case(
        "safe_drop_index_sql_concurrently", "", "DROP INDEX CONCURRENTLY IF EXISTS ix_orders_account_id;"
    ),
    alembic(
        "safe_drop_index_created_same_revision",
        "",
        expand(
            """
            op.create_table(
                "carts",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("sku", sa.Text()),
            )
            op.create_index("ix_carts_sku", "carts", ["sku"])
            op.drop_index("ix_carts_sku", table_name="carts")
            """
        ),
    ),
    # --- EC303 foreign-key-validates --------------------------------------------------------------------
    alembic(
        "fk_op",
        "EC303",
        expand('op.create_foreign_key("fk_orders_coupon", "orders", "coupons", ["coupon_id"], ["id"])'),
    ),
    alembic(
        "fk_batch",
        "EC303",
        expand(
            """
            with op.batch_alter_table("orders") as batch_op:
                batch_op.create_foreign_key("fk_orders_coupon", "coupons", ["coupon_id"], ["id"])
            """
        ),
    ),
    alembic(
        "fk_via_add_column",
        "EC303 EC316",
        expand(
            'op.add_column("orders", sa.Column("voucher_id", sa.BigInteger(), '
            'sa.ForeignKey("coupons.id", name="fk_orders_voucher")))'
        ),
        note="Alembic emits ADD COLUMN, then ADD FOREIGN KEY: it scans, and locks coupons, "
        "under ADD COLUMN's ACCESS EXCLUSIVE lock",
    ),
    alembic(
        "fk_schema_qualified",
        "EC303",
        unphased(
            'op.create_foreign_key("fk_invoices_account", "invoices", "accounts", ["id"], ["id"], '
            'source_schema="billing", referent_schema="public")'
        ),
    ),
    sql_case(
        "fk_sql",
        "EC303",
        "ALTER TABLE orders ADD CONSTRAINT fk_orders_coupon FOREIGN KEY (coupon_id) REFERENCES coupons (id);",
    ),
    sql_case(
        "fk_sql_unnamed_lowercase",
        "EC303",
        "alter table orders add foreign key (coupon_id) references coupons (id) on delete set null;",
    ),
    alembic(
        "safe_fk_not_valid",
        "",
        expand(
            'op.create_foreign_key("fk_orders_coupon", "orders", "coupons", ["coupon_id"], ["id"], '
            "postgresql_not_valid=True)"
        ),
    ),
    sql_case(
        "safe_fk_sql_not_valid",
        "",
        "ALTER TABLE orders ADD CONSTRAINT fk_orders_coupon FOREIGN KEY (coupon_id) REFERENCES coupons (id) "
        "NOT VALID;",
    ),
    alembic(
        "safe_fk_not_valid_then_validate_autocommit",
        "",
        expand(
            """
            op.create_foreign_key(
                "fk_orders_coupon", "orders", "coupons", ["coupon_id"], ["id"], postgresql_not_valid=True
            )
            with op.get_context().autocommit_block():
                op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_coupon")
            """
        ),
    ),
    alembic(
        "safe_fk_not_valid_then_validate_later_revision",
        "",
        expand(
            'op.create_foreign_key("fk_orders_coupon", "orders", "coupons", ["coupon_id"], ["id"], '
            "postgresql_not_valid=True)"
        ),
        expand('op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_coupon")'),
    ),
    alembic(
        "safe_fk_on_new_table",
        "",
        expand(
            """
            op.create_table(
                "order_lines",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("order_id", sa.BigInteger(), sa.ForeignKey("orders.id")),
            )
            """
        ),
    ),
    # --- EC304 check-validates --------------------------------------------------------------------------
    alembic(
        "check_op",
        "EC304",
        expand('op.create_check_constraint("ck_orders_qty", "orders", "quantity > 0")'),
    ),
    alembic(
        "check_batch",
        "EC304",
        expand(
            """
            with op.batch_alter_table("accounts") as batch_op:
                batch_op.create_check_constraint("ck_accounts_score", "score BETWEEN 0 AND 100")
            """
        ),
    ),
    sql_case(
        "check_sql",
        "EC304",
        "ALTER TABLE orders ADD CONSTRAINT ck_orders_qty CHECK (quantity > 0);",
    ),
    sql_case("check_sql_unnamed", "EC304", "alter table accounts add check (char_length(name) > 0);"),
    sql_case(
        "check_sql_inline_on_added_column",
        "EC304",
        "ALTER TABLE orders ADD COLUMN discount integer CHECK (discount >= 0);",
        note="the inline CHECK is added (and validated) with the column",
    ),
    alembic(
        "check_unphased",
        "EC304",
        unphased('op.create_check_constraint("ck_orders_qty", "orders", "quantity > 0")'),
    ),
    alembic(
        "safe_check_not_valid",
        "",
        expand(
            'op.create_check_constraint("ck_orders_qty", "orders", "quantity > 0", postgresql_not_valid=True)'
        ),
    ),
    sql_case(
        "safe_check_sql_not_valid",
        "",
        "ALTER TABLE orders ADD CONSTRAINT ck_orders_qty CHECK (quantity > 0) NOT VALID;",
    ),
    alembic(
        "safe_check_on_new_table",
        "",
        expand(
            """
            op.create_table(
                "ratings",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("v", sa.Integer()),
            )
            op.create_check_constraint("ck_ratings_v", "ratings", "v BETWEEN 1 AND 5")
            """
        ),
    ),
    # --- EC305 unique-constraint-locks ------------------------------------------------------------------
    alembic(
        "unique_constraint_op",
        "EC305",
        expand('op.create_unique_constraint("uq_coupons_code", "coupons", ["code"])'),
    ),
    alembic(
        "unique_constraint_batch",
        "EC305",
        expand(
            """
            with op.batch_alter_table("accounts") as batch_op:
                batch_op.create_unique_constraint("uq_accounts_email", ["email"])
            """
        ),
    ),
    sql_case(
        "unique_constraint_sql",
        "EC305",
        "ALTER TABLE coupons ADD CONSTRAINT uq_coupons_code UNIQUE (code);",
    ),
    sql_case("unique_constraint_sql_unnamed", "EC305", "alter table accounts add unique (email);"),
    alembic(
        "unique_constraint_schema_qualified",
        "EC305",
        unphased('op.create_unique_constraint("uq_invoices_memo", "invoices", ["memo"], schema="billing")'),
    ),
    alembic(
        "safe_unique_using_index",
        "",
        expand(
            """
            with op.get_context().autocommit_block():
                op.create_index(
                    "uq_coupons_code", "coupons", ["code"], unique=True, postgresql_concurrently=True
                )
            op.execute(
                "ALTER TABLE coupons ADD CONSTRAINT uq_coupons_code UNIQUE USING INDEX uq_coupons_code"
            )
            """
        ),
    ),
    alembic(
        "safe_unique_constraint_on_new_table",
        "",
        expand(
            """
            op.create_table(
                "skus",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("code", sa.Text()),
            )
            op.create_unique_constraint("uq_skus_code", "skus", ["code"])
            """
        ),
    ),
    # --- EC306 primary-key-locks ------------------------------------------------------------------------
    alembic(
        "primary_key_op", "EC306", expand('op.create_primary_key("pk_events_raw", "events_raw", ["id"])')
    ),
    sql_case("primary_key_sql", "EC306", "ALTER TABLE events_raw ADD PRIMARY KEY (id);"),
    sql_case(
        "primary_key_sql_named",
        "EC306",
        "ALTER TABLE events_raw ADD CONSTRAINT events_raw_pkey PRIMARY KEY (id);",
    ),
    alembic(
        "primary_key_execute_only",
        "EC306",
        expand('op.execute("ALTER TABLE ONLY events_raw ADD CONSTRAINT events_raw_pkey PRIMARY KEY (id)")'),
    ),
    alembic(
        "safe_primary_key_using_index",
        "",
        expand(
            """
            with op.get_context().autocommit_block():
                op.create_index(
                    "events_raw_pkey", "events_raw", ["id"], unique=True, postgresql_concurrently=True
                )
            op.execute(
                "ALTER TABLE events_raw ADD CONSTRAINT events_raw_pkey "
                "PRIMARY KEY USING INDEX events_raw_pkey"
            )
            """
        ),
    ),
    alembic(
        "safe_primary_key_on_new_table",
        "",
        expand(
            """
            op.create_table("sessions", sa.Column("id", sa.BigInteger(), nullable=False))
            op.create_primary_key("pk_sessions", "sessions", ["id"])
            """
        ),
    ),
    # --- EC307 volatile-default -------------------------------------------------------------------------
    alembic(
        "volatile_default_gen_random_uuid",
        "EC307",
        expand(
            'op.add_column("accounts", sa.Column("token", sa.Uuid(), '
            'server_default=sa.text("gen_random_uuid()")))'
        ),
    ),
    alembic(
        "volatile_default_clock_timestamp",
        "EC307",
        expand(
            'op.add_column("orders", sa.Column("seen_at", sa.DateTime(timezone=True), '
            'server_default=sa.text("clock_timestamp()")))'
        ),
    ),
    alembic(
        "volatile_default_nextval",
        "EC307",
        expand(
            'op.add_column("invoices", sa.Column("number", sa.BigInteger(), '
            'server_default=sa.text("nextval(\'invoice_number_seq\')")), schema="billing")'
        ),
    ),
    sql_case(
        "volatile_default_random_sql",
        "EC307",
        "ALTER TABLE coupons ADD COLUMN salt double precision DEFAULT random();",
    ),
    sql_case(
        "volatile_default_uuid_v4_sql",
        "EC307",
        "alter table accounts add column public_id uuid not null default uuid_generate_v4();",
    ),
    sql_case(
        "volatile_default_in_expression_sql",
        "EC307",
        "ALTER TABLE orders ADD COLUMN ticket text DEFAULT md5(random()::text);",
    ),
    alembic(
        "any_default_pg10_rewrites",
        "EC307",
        expand('op.add_column("orders", sa.Column("priority", sa.Integer(), server_default="0"))'),
        postgresql_version=10,
        note="before PostgreSQL 11 every default is written into every row",
    ),
    alembic(
        "safe_default_now_pg16",
        "",
        expand(
            'op.add_column("orders", sa.Column("synced_at", sa.DateTime(timezone=True), '
            "server_default=sa.func.now()))"
        ),
    ),
    sql_case(
        "safe_default_current_timestamp_sql",
        "",
        "ALTER TABLE orders ADD COLUMN synced_at timestamptz DEFAULT CURRENT_TIMESTAMP;",
    ),
    alembic(
        "safe_default_constant_pg11",
        "",
        expand(
            'op.add_column("orders", sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))'
        ),
        postgresql_version=11,
    ),
    alembic(
        "safe_volatile_default_on_new_table",
        "",
        expand(
            """
            op.create_table(
                "api_keys",
                sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
            )
            """
        ),
    ),
    alembic(
        "safe_volatile_default_set_after_add",
        "",
        expand(
            """
            op.add_column("accounts", sa.Column("token", sa.Uuid(), nullable=True))
            op.alter_column("accounts", "token", server_default=sa.text("gen_random_uuid()"))
            """
        ),
        note="the recipe: SET DEFAULT applies to new rows only, no rewrite",
    ),
    # --- EC308 rewriting-column -------------------------------------------------------------------------
    alembic(
        "identity_column_op",
        "EC308",
        expand('op.add_column("events_raw", sa.Column("seq", sa.BigInteger(), sa.Identity()))'),
    ),
    alembic(
        "stored_generated_column_op",
        "EC308",
        expand(
            'op.add_column("orders", sa.Column("total_cents", sa.BigInteger(), sa.Computed("total * 100")))'
        ),
    ),
    sql_case("bigserial_column_sql", "EC308", "ALTER TABLE events_raw ADD COLUMN seq bigserial;"),
    sql_case(
        "stored_generated_column_sql",
        "EC308",
        "ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (total * 100) STORED;",
    ),
    sql_case(
        "identity_column_sql",
        "EC308",
        "alter table events_raw add column seq integer generated by default as identity;",
    ),
    sql_case(
        "safe_virtual_generated_column_pg18",
        "",
        "ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (total * 100) VIRTUAL;",
        postgresql_version=18,
        note="PostgreSQL 18 virtual generated columns are computed on read: no rewrite",
    ),
    alembic(
        "safe_identity_on_new_table",
        "",
        expand(
            'op.create_table("tickets", sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True))'
        ),
    ),
    # --- EC309 not-null-scans ---------------------------------------------------------------------------
    alembic(
        "not_null_check_never_validated",
        "EC106 EC309",
        expand(
            'op.create_check_constraint("ck_orders_note_nn", "orders", "note IS NOT NULL", '
            "postgresql_not_valid=True)"
        ),
        contract('op.alter_column("orders", "note", nullable=False)'),
        note="a NOT VALID check proves nothing until validated",
    ),
    alembic(
        "not_null_proof_pg11_still_scans",
        "EC106 EC309",
        contract('op.alter_column("accounts", "phone", nullable=False)'),
        postgresql_version=11,
        note="ck_accounts_phone_nn proves it, but only PostgreSQL 12+ uses the proof",
    ),
    alembic(
        "not_null_check_proves_other_column",
        "EC106 EC309",
        contract('op.alter_column("accounts", "email", nullable=False)'),
        note="ck_accounts_phone_nn proves phone, not email",
    ),
    alembic(
        "not_null_sql_contract",
        "EC106 EC309",
        contract('op.execute("ALTER TABLE orders ALTER COLUMN placed_at SET NOT NULL")'),
    ),
    alembic(
        "safe_not_null_proven_by_released_check_pg16",
        "EC106",
        contract('op.alter_column("accounts", "phone", nullable=False)'),
        note="gated EC106 only: the validated CHECK from the baseline lets PostgreSQL skip the scan",
    ),
    alembic(
        "safe_not_null_check_validated_in_later_revision",
        "EC106",
        expand(
            'op.create_check_constraint("ck_orders_note_nn", "orders", "note IS NOT NULL", '
            "postgresql_not_valid=True)"
        ),
        expand('op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_note_nn")', rev_id="e_validate"),
        contract(
            """
            op.alter_column("orders", "note", nullable=False)
            op.drop_constraint("ck_orders_note_nn", "orders", type_="check")
            """,
            depends_on=("e_validate",),
        ),
        note="the documented recipe: gated EC106, no scan; the helper CHECK came with these unreleased "
        "revisions, so dropping it is no contract change (no EC103)",
    ),
    alembic(
        "safe_not_null_validate_in_autocommit_then_set",
        "EC106",
        expand(
            'op.execute("ALTER TABLE orders ADD CONSTRAINT ck_orders_ref_nn '
            'CHECK (ref IS NOT NULL) NOT VALID")'
        ),
        contract(
            """
            with op.get_context().autocommit_block():
                op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_ref_nn")
            op.execute("ALTER TABLE orders ALTER COLUMN ref SET NOT NULL")
            """
        ),
        note="no depends_on: the expand branch still runs first (before the deploy), so the CHECK exists",
    ),
    alembic(
        "safe_not_null_pg18_not_valid_then_validate",
        "",
        expand('op.execute("ALTER TABLE orders ADD CONSTRAINT orders_note_nn NOT NULL note NOT VALID")'),
        contract('op.execute("ALTER TABLE orders VALIDATE CONSTRAINT orders_note_nn")'),
        postgresql_version=18,
    ),
    # --- EC310 type-change-rewrites ---------------------------------------------------------------------
    alembic(
        "int_to_bigint_op",
        "EC310",
        expand('op.alter_column("accounts", "score", type_=sa.BigInteger(), existing_type=sa.Integer())'),
        note="a widening old code accepts: a rewrite (EC310), not an incompatible change (EC204/EC003)",
    ),
    alembic(
        "int_to_bigint_sql_from_history",
        "EC310",
        expand('op.execute("ALTER TABLE accounts ALTER COLUMN score TYPE bigint")'),
    ),
    alembic(
        "smallint_to_integer",
        "EC310",
        expand('op.alter_column("orders", "quantity", type_=sa.Integer())'),
    ),
    alembic(
        "real_to_double",
        "EC310",
        expand('op.alter_column("accounts", "rating", type_=sa.Double(), existing_type=sa.REAL())'),
    ),
    alembic(
        "numeric_more_decimal_places",
        "EC310",
        unphased(
            'op.alter_column("accounts", "balance", type_=sa.Numeric(12, 4), existing_type=sa.Numeric(10, 2))'
        ),
    ),
    # --- EC311 table-rewrite ----------------------------------------------------------------------------
    alembic(
        "vacuum_full_autocommit",
        "EC311",
        expand(
            """
            with op.get_context().autocommit_block():
                op.execute("VACUUM FULL orders")
            """
        ),
    ),
    sql_case("vacuum_full_sql", "EC311", "VACUUM (FULL, ANALYZE) audit_log;"),
    sql_case("cluster_sql", "EC311", "CLUSTER orders USING ix_orders_account_id;"),
    alembic("reindex_table_execute", "EC311", expand('op.execute("REINDEX TABLE orders")')),
    sql_case("reindex_index_sql", "EC311", "reindex index ix_orders_account_id;"),
    sql_case("set_unlogged_sql", "EC311", "ALTER TABLE audit_log SET UNLOGGED;"),
    alembic("set_logged_execute", "EC311", expand('op.execute("ALTER TABLE audit_log SET LOGGED")')),
    sql_case("set_access_method_sql", "EC311", "ALTER TABLE audit_log SET ACCESS METHOD heap;"),
    alembic(
        "safe_reindex_concurrently_autocommit",
        "",
        expand(
            """
            with op.get_context().autocommit_block():
                op.execute("REINDEX INDEX CONCURRENTLY ix_orders_account_id")
            """
        ),
    ),
    sql_case("safe_plain_vacuum_analyze", "", "VACUUM orders;\nANALYZE orders;"),
    sql_case(
        "safe_set_unlogged_on_new_table",
        "",
        """
        CREATE TABLE import_buffer (id bigint, line text);
        ALTER TABLE import_buffer SET UNLOGGED;
        """,
    ),
    # --- EC312 exclusion-constraint ---------------------------------------------------------------------
    alembic(
        "exclude_op",
        "EC312",
        expand(
            'op.create_exclude_constraint("no_overlap", "bookings", ("room", "="), ("during", "&&"), '
            'using="gist")'
        ),
    ),
    sql_case(
        "exclude_sql",
        "EC312",
        "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
    ),
    alembic(
        "exclude_execute_partial",
        "EC312",
        expand(
            'op.execute("ALTER TABLE bookings ADD CONSTRAINT no_overlap_live '
            'EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (room > 0)")'
        ),
    ),
    alembic(
        "exclude_execute_unphased",
        "EC312",
        unphased('op.execute("ALTER TABLE bookings ADD EXCLUDE USING gist (room WITH =, during WITH &&)")'),
    ),
    sql_case(
        "safe_exclude_on_new_table",
        "",
        """
        CREATE TABLE desk_bookings (desk int, during tstzrange);
        ALTER TABLE desk_bookings
            ADD CONSTRAINT no_desk_overlap EXCLUDE USING gist (desk WITH =, during WITH &&);
        """,
    ),
    # --- EC313 detach-partition-locks -------------------------------------------------------------------
    alembic(
        "detach_partition_pg16",
        "EC313",
        expand('op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024")'),
        note="EC313 is a lock hazard, not an EC1xx contract change: no EC001",
    ),
    sql_case(
        "detach_partition_sql_pg14",
        "EC313",
        "alter table measurements detach partition measurements_2024;",
        postgresql_version=14,
    ),
    alembic(
        "detach_partition_unphased_pg15",
        "EC313",
        unphased('op.execute("ALTER TABLE public.measurements DETACH PARTITION public.measurements_2024")'),
        postgresql_version=15,
    ),
    alembic(
        "detach_partition_contract",
        "EC313",
        contract('op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024")'),
    ),
    sql_case(
        "safe_detach_partition_pg13",
        "",
        "ALTER TABLE measurements DETACH PARTITION measurements_2024;",
        postgresql_version=13,
        note="PostgreSQL 13 has no concurrent form to suggest",
    ),
    alembic(
        "safe_detach_partition_concurrently",
        "",
        contract(
            """
            with op.get_context().autocommit_block():
                op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY")
            """
        ),
    ),
    sql_case(
        "safe_detach_partition_finalize",
        "",
        "ALTER TABLE measurements DETACH PARTITION measurements_2024 FINALIZE;",
    ),
    # --- EC314 validate-in-same-transaction -------------------------------------------------------------
    alembic(
        "validate_same_transaction_fk",
        "EC314",
        expand(
            """
            op.create_foreign_key(
                "fk_orders_coupon", "orders", "coupons", ["coupon_id"], ["id"], postgresql_not_valid=True
            )
            op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_coupon")
            """
        ),
    ),
    alembic(
        "validate_same_transaction_check_sql",
        "EC314 EC316",
        expand(
            """
            op.execute("ALTER TABLE orders ADD CONSTRAINT ck_orders_qty CHECK (quantity > 0) NOT VALID")
            op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_qty")
            """
        ),
    ),
    sql_case(
        "validate_same_transaction_sql_file",
        "EC314 EC316",
        """
        BEGIN;
        ALTER TABLE orders ADD CONSTRAINT ck_orders_qty CHECK (quantity > 0) NOT VALID;
        ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_qty;
        COMMIT;
        """,
    ),
    sql_case(
        "validate_same_transaction_sql_in_transaction_setting",
        "EC314 EC316",
        """
        ALTER TABLE orders ADD CONSTRAINT ck_orders_qty CHECK (quantity > 0) NOT VALID;
        ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_qty;
        """,
        settings={"sql_in_transaction": True},
    ),
    alembic(
        "validate_next_revision_shared_transaction",
        "EC314",
        expand(
            'op.create_foreign_key("fk_orders_coupon", "orders", "coupons", ["coupon_id"], ["id"], '
            "postgresql_not_valid=True)"
        ),
        expand('op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_coupon")'),
        env="shared",
        note="without transaction_per_migration both revisions run in one transaction",
    ),
    alembic(
        "validate_after_access_exclusive",
        "EC314 EC316",
        expand(
            'op.create_check_constraint("ck_orders_qty", "orders", "quantity > 0", postgresql_not_valid=True)'
        ),
        expand(
            """
            op.add_column("accounts", sa.Column("verified", sa.Boolean()))
            op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_qty")
            """
        ),
    ),
    sql_case(
        "safe_validate_sql_file_autocommit",
        "",
        """
        ALTER TABLE orders ADD CONSTRAINT ck_orders_qty CHECK (quantity > 0) NOT VALID;
        ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_qty;
        """,
        note="plain SQL files run statement by statement (no sql-in-transaction)",
    ),
    # --- EC315 unbatched-backfill -----------------------------------------------------------------------
    alembic(
        "backfill_update_where",
        "EC315",
        expand("op.execute(\"UPDATE orders SET state = 'new' WHERE state IS NULL\")"),
    ),
    alembic("backfill_update_all_rows", "EC315", expand('op.execute("update accounts set score = 0")')),
    alembic(
        "backfill_delete_where",
        "EC315",
        unphased("op.execute(\"DELETE FROM audit_log WHERE at < '2020-01-01'\")"),
    ),
    alembic(
        "backfill_sa_update_construct",
        "EC315",
        expand(
            """
            orders = sa.table("orders", sa.column("state", sa.Text()))
            op.execute(orders.update().where(orders.c.state.is_(None)).values(state="new"))
            """
        ),
    ),
    sql_case(
        "backfill_sql_file",
        "EC315",
        "UPDATE billing.invoices SET memo = '' WHERE memo IS NULL;",
    ),
    sql_case(
        "backfill_sql_cte",
        "EC315",
        """
        WITH stale AS (SELECT id FROM orders WHERE placed_at < now() - interval '5 years')
        UPDATE orders SET state = 'archived' WHERE id IN (SELECT id FROM stale);
        """,
    ),
    alembic(
        "safe_update_table_created_same_revision",
        "",
        expand(
            """
            op.create_table(
                "flags",
                sa.Column("name", sa.Text(), primary_key=True),
                sa.Column("enabled", sa.Boolean()),
            )
            op.execute("UPDATE flags SET enabled = true")
            """
        ),
    ),
    # --- EC316 many-locks-one-transaction ---------------------------------------------------------------
    alembic(
        "two_tables_altered_one_transaction",
        "EC316",
        expand(
            """
            op.add_column("orders", sa.Column("gift", sa.Boolean()))
            op.add_column("accounts", sa.Column("verified", sa.Boolean()))
            """
        ),
    ),
    alembic(
        "rewrite_then_index_other_table",
        "EC310 EC301 EC316",
        expand(
            """
            op.alter_column("accounts", "score", type_=sa.BigInteger(), existing_type=sa.Integer())
            op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
            """
        ),
    ),
    alembic(
        "add_column_then_index_same_table",
        "EC301 EC316",
        expand(
            """
            op.add_column("orders", sa.Column("channel", sa.Text()))
            op.create_index("ix_orders_channel", "orders", ["channel"])
            """
        ),
    ),
    alembic(
        "contract_drops_two_tables",
        "EC101 EC316",
        contract(
            """
            op.drop_column("orders", "code")
            op.drop_column("accounts", "legacy_code")
            """
        ),
    ),
    alembic(
        "lock_table_then_update_other",
        "EC315 EC316",
        expand(
            """
            op.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
            op.execute("UPDATE orders SET state = 'new' WHERE state IS NULL")
            """
        ),
    ),
    alembic(
        "two_tables_two_revisions_shared_transaction",
        "EC316",
        expand('op.add_column("orders", sa.Column("gift", sa.Boolean()))'),
        expand('op.add_column("accounts", sa.Column("verified", sa.Boolean()))'),
        env="shared",
        note="env.py without transaction_per_migration: the upgrade is one transaction",
    ),
    sql_case(
        "two_tables_sql_transaction",
        "EC316",
        """
        BEGIN;
        ALTER TABLE orders ADD COLUMN gift boolean;
        ALTER TABLE accounts ADD COLUMN verified boolean;
        COMMIT;
        """,
    ),
    alembic(
        "safe_two_columns_same_table",
        "",
        expand(
            """
            op.add_column("orders", sa.Column("gift", sa.Boolean()))
            op.add_column("orders", sa.Column("gift_note", sa.Text()))
            """
        ),
        note="a second instant catalog change on the same table adds no lock time",
    ),
    alembic(
        "safe_two_tables_separate_revisions",
        "",
        expand('op.add_column("orders", sa.Column("gift", sa.Boolean()))'),
        expand('op.add_column("accounts", sa.Column("verified", sa.Boolean()))'),
    ),
    alembic(
        "safe_add_column_then_concurrent_index",
        "",
        expand(
            """
            op.add_column("orders", sa.Column("channel", sa.Text()))
            with op.get_context().autocommit_block():
                op.create_index("ix_orders_channel", "orders", ["channel"], postgresql_concurrently=True)
            """
        ),
    ),
    sql_case(
        "safe_two_tables_sql_autocommit",
        "",
        """
        ALTER TABLE orders ADD COLUMN gift boolean;
        ALTER TABLE accounts ADD COLUMN verified boolean;
        """,
    ),
]
