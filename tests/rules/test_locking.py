"""EC3xx: locking and rewrite hazards, as Alembic operations and as raw SQL.

Each rule: a failing case, a passing case, and where it matters the message, the location and the
advice. EC403 (no lock_timeout) is ignored in tests not about it: there is no env.py here.
"""

from __future__ import annotations

from pathlib import Path

from lintkit import USERS, baseline, codes, contract, expand, lint_history, lint_sql, only

from expandcontract import api
from expandcontract.lint import LintResult
from expandcontract.model import Finding, Location, Severity

QUIET = api.LintRequest(ignore=("EC403",))

ORDERS = """op.create_table(
    "orders",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("user_id", sa.Integer()),
    sa.Column("price", sa.Numeric(10, 2)),
)
op.create_index("ix_orders_user_id", "orders", ["user_id"])"""

EVENTS = """op.create_table(
    "events", sa.Column("id", sa.Integer(), nullable=False), sa.Column("room", sa.Integer())
)"""

MEASUREMENTS = """op.execute(
    "CREATE TABLE measurements (at date NOT NULL, value int) PARTITION BY RANGE (at)"
)
op.execute(
    "CREATE TABLE measurements_2024 PARTITION OF measurements "
    "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
)"""

FIRST = 12  # the file line of the first line of upgrade()'s body
INDENT = 5  # the column where a revision's operation starts


def line(n: int) -> int:
    """The file line of the n-th line (1-based) of the revision's upgrade() body."""
    return FIRST + n - 1


def history(tmp_path: Path, body: str, **kw: object) -> LintResult:
    """Lint one expand revision acting on the released tables users, orders, events, measurements."""
    kw.setdefault("request", QUIET)
    return lint_history(
        tmp_path,
        baseline(USERS),
        baseline(ORDERS),
        baseline(EVENTS),
        baseline(MEASUREMENTS),
        expand(body),
        **kw,
    )


def sql(text: str, **kw: object) -> LintResult:
    kw.setdefault("request", QUIET)
    return lint_sql(text, **kw)  # type: ignore[arg-type]


def of(result: LintResult, code: str) -> list[Finding]:
    return [f for f in result.findings if f.code == code]


# EC301 index-not-concurrent


def test_create_index_on_existing_table_is_ec301(tmp_path: Path) -> None:
    finding = only(history(tmp_path, 'op.create_index("ix_users_name", "users", ["name"])'), "EC301")
    assert finding.severity is Severity.ERROR
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "ix_users_name" in finding.message and "users" in finding.message
    assert "postgresql_concurrently=True" in finding.fix and "autocommit_block()" in finding.fix


def test_index_true_column_added_to_existing_table_is_ec301(tmp_path: Path) -> None:
    result = history(tmp_path, 'op.add_column("users", sa.Column("age", sa.Integer(), index=True))')
    assert only(result, "EC301").location.line == line(1)


def test_create_index_concurrently_in_autocommit_block_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)""",
    )
    assert codes(result) == []


def test_sql_create_index_is_ec301(tmp_path: Path) -> None:
    finding = only(sql("SELECT 1;\nCREATE INDEX ix_users_name ON users (name);", tmp_path=tmp_path), "EC301")
    assert (finding.location.line, finding.location.column) == (2, 1)
    assert "ix_users_name" in finding.message


def test_sql_create_index_concurrently_passes(tmp_path: Path) -> None:
    assert codes(sql("CREATE INDEX CONCURRENTLY ix_users_name ON users (name);", tmp_path=tmp_path)) == []


# EC302 drop-index-not-concurrent


def test_drop_index_is_ec302(tmp_path: Path) -> None:
    finding = only(history(tmp_path, 'op.drop_index("ix_orders_user_id", table_name="orders")'), "EC302")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "ix_orders_user_id" in finding.message
    assert "postgresql_concurrently=True" in finding.fix


def test_drop_index_concurrently_in_autocommit_block_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.drop_index("ix_orders_user_id", table_name="orders", postgresql_concurrently=True)""",
    )
    assert of(result, "EC302") == [] and of(result, "EC401") == []


def test_sql_drop_index_is_ec302(tmp_path: Path) -> None:
    assert only(sql("DROP INDEX ix_orders_user_id;", tmp_path=tmp_path), "EC302").location.line == 1


def test_sql_drop_index_concurrently_passes(tmp_path: Path) -> None:
    assert of(sql("DROP INDEX CONCURRENTLY ix_orders_user_id;", tmp_path=tmp_path), "EC302") == []


# EC303 foreign-key-validates


def test_create_foreign_key_is_ec303(tmp_path: Path) -> None:
    result = history(
        tmp_path, 'op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])'
    )
    finding = only(result, "EC303")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "fk_orders_user" in finding.message and "orders" in finding.message
    assert "postgresql_not_valid=True" in finding.fix and "VALIDATE CONSTRAINT" in finding.fix


def test_create_foreign_key_not_valid_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"], '
        "postgresql_not_valid=True)",
    )
    assert of(result, "EC303") == []


def test_foreign_key_on_added_column_is_ec303(tmp_path: Path) -> None:
    result = history(
        tmp_path, 'op.add_column("orders", sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id")))'
    )
    assert only(result, "EC303").location.line == line(1)


def test_sql_add_foreign_key_is_ec303(tmp_path: Path) -> None:
    text = "ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id);"
    assert "fk_orders_user" in only(sql(text, tmp_path=tmp_path), "EC303").message


def test_sql_add_foreign_key_not_valid_passes(tmp_path: Path) -> None:
    text = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;"
    assert of(sql(text, tmp_path=tmp_path), "EC303") == []


# EC304 check-validates


def test_create_check_constraint_is_ec304(tmp_path: Path) -> None:
    finding = only(
        history(tmp_path, 'op.create_check_constraint("ck_price", "orders", "price >= 0")'), "EC304"
    )
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "ck_price" in finding.message and "orders" in finding.message
    assert "postgresql_not_valid=True" in finding.fix


def test_create_check_constraint_not_valid_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path, 'op.create_check_constraint("ck_price", "orders", "price >= 0", postgresql_not_valid=True)'
    )
    assert of(result, "EC304") == []


def test_sql_add_check_is_ec304(tmp_path: Path) -> None:
    text = "ALTER TABLE orders ADD CONSTRAINT ck_price CHECK (price >= 0);"
    assert "ck_price" in only(sql(text, tmp_path=tmp_path), "EC304").message


def test_sql_add_check_not_valid_passes(tmp_path: Path) -> None:
    text = "ALTER TABLE orders ADD CONSTRAINT ck_price CHECK (price >= 0) NOT VALID;"
    assert of(sql(text, tmp_path=tmp_path), "EC304") == []


# EC305 unique-constraint-locks


def test_create_unique_constraint_is_ec305_and_never_suggests_not_valid(tmp_path: Path) -> None:
    finding = only(
        history(tmp_path, 'op.create_unique_constraint("uq_users_email", "users", ["email"])'), "EC305"
    )
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "users" in finding.message
    assert "UNIQUE USING INDEX" in finding.fix and "postgresql_concurrently=True" in finding.fix
    assert "not_valid" not in finding.fix.lower() and "NOT VALID" not in finding.fix.upper()


def test_unique_using_index_after_concurrent_build_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.create_index("uq_users_email", "users", ["email"], unique=True, postgresql_concurrently=True)
op.execute("ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE USING INDEX uq_users_email")""",
    )
    assert of(result, "EC305") == [] and of(result, "EC301") == []


def test_sql_add_unique_is_ec305(tmp_path: Path) -> None:
    finding = only(sql("ALTER TABLE users ADD CONSTRAINT uq UNIQUE (email);", tmp_path=tmp_path), "EC305")
    assert "NOT VALID" not in finding.fix.upper()


def test_sql_add_unique_using_index_passes(tmp_path: Path) -> None:
    text = "ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE USING INDEX uq_users_email;"
    assert of(sql(text, tmp_path=tmp_path), "EC305") == []


# EC306 primary-key-locks


def test_create_primary_key_is_ec306_and_never_suggests_not_valid(tmp_path: Path) -> None:
    finding = only(history(tmp_path, 'op.create_primary_key("pk_events", "events", ["id"])'), "EC306")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "events" in finding.message
    assert "PRIMARY KEY USING INDEX" in finding.fix
    assert "not_valid" not in finding.fix.lower() and "NOT VALID" not in finding.fix.upper()


def test_primary_key_using_index_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.create_index("pk_events", "events", ["id"], unique=True, postgresql_concurrently=True)
op.execute("ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY USING INDEX pk_events")""",
    )
    assert of(result, "EC306") == []


def test_sql_add_primary_key_is_ec306(tmp_path: Path) -> None:
    result = sql("ALTER TABLE events ADD PRIMARY KEY (id);", tmp_path=tmp_path)
    assert "NOT VALID" not in only(result, "EC306").fix.upper()


def test_sql_add_primary_key_using_index_passes(tmp_path: Path) -> None:
    text = "ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY USING INDEX pk_events;"
    assert of(sql(text, tmp_path=tmp_path), "EC306") == []


# EC307 volatile-default


def test_add_column_with_gen_random_uuid_default_is_ec307(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.add_column("users", sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()")))',
    )
    finding = only(result, "EC307")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "users.token" in finding.message and "gen_random_uuid()" in finding.message
    assert "without a default" in finding.fix


def test_add_column_with_constant_default_passes(tmp_path: Path) -> None:
    result = history(tmp_path, 'op.add_column("users", sa.Column("plan", sa.Text(), server_default="free"))')
    assert codes(result) == []


def test_sql_add_column_with_random_default_is_ec307(tmp_path: Path) -> None:
    result = sql("ALTER TABLE users ADD COLUMN r float8 DEFAULT random();", tmp_path=tmp_path)
    assert "users.r" in only(result, "EC307").message


def test_sql_add_column_with_now_default_passes(tmp_path: Path) -> None:
    result = sql("ALTER TABLE users ADD COLUMN seen_at timestamptz DEFAULT now();", tmp_path=tmp_path)
    assert codes(result) == []


# EC308 rewriting-column


def test_add_identity_column_is_ec308(tmp_path: Path) -> None:
    result = history(tmp_path, 'op.add_column("users", sa.Column("seq", sa.BigInteger(), sa.Identity()))')
    finding = only(result, "EC308")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "users.seq" in finding.message


def test_add_stored_computed_column_is_ec308(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.add_column("orders", sa.Column("gross", sa.Numeric(), sa.Computed("price*2", persisted=True)))',
    )
    assert "orders.gross" in only(result, "EC308").message


def test_add_virtual_computed_column_passes_on_pg18(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.add_column("orders", sa.Column("gross", sa.Numeric(), sa.Computed("price*2", persisted=False)))',
        postgresql_version=18,
    )
    assert codes(result) == []


def test_add_computed_column_of_the_default_kind_passes_on_pg18(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.add_column("orders", sa.Column("gross", sa.Numeric(), sa.Computed("price*2")))',
        postgresql_version=18,
    )
    assert codes(result) == []


def test_add_plain_nullable_column_passes(tmp_path: Path) -> None:
    assert codes(history(tmp_path, 'op.add_column("users", sa.Column("seq", sa.BigInteger()))')) == []


def test_sql_add_bigserial_column_is_ec308(tmp_path: Path) -> None:
    assert (
        only(sql("ALTER TABLE users ADD COLUMN seq bigserial;", tmp_path=tmp_path), "EC308").location.line
        == 1
    )


def test_sql_add_stored_generated_column_is_ec308(tmp_path: Path) -> None:
    text = "ALTER TABLE users ADD COLUMN id2 int GENERATED ALWAYS AS (id * 2) STORED;"
    assert "users.id2" in only(sql(text, tmp_path=tmp_path), "EC308").message


def test_sql_add_plain_column_passes(tmp_path: Path) -> None:
    assert codes(sql("ALTER TABLE users ADD COLUMN id2 int;", tmp_path=tmp_path)) == []


def test_sql_add_virtual_generated_column_passes_on_pg18(tmp_path: Path) -> None:
    text = "ALTER TABLE users ADD COLUMN id2 int GENERATED ALWAYS AS (id * 2) VIRTUAL;"
    assert codes(sql(text, tmp_path=tmp_path, postgresql_version=18)) == []


# EC309 not-null-scans


def test_set_not_null_is_ec309(tmp_path: Path) -> None:
    finding = only(history(tmp_path, 'op.alter_column("users", "email", nullable=False)'), "EC309")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "users.email" in finding.message


def test_set_not_null_fix_on_pg16_is_the_check_recipe(tmp_path: Path) -> None:
    result = history(tmp_path, 'op.alter_column("users", "email", nullable=False)', postgresql_version=16)
    fix = only(result, "EC309").fix
    assert "IS NOT NULL" in fix and "postgresql_not_valid=True" in fix and "VALIDATE CONSTRAINT" in fix


def test_set_not_null_fix_on_pg18_is_not_null_not_valid(tmp_path: Path) -> None:
    result = history(tmp_path, 'op.alter_column("users", "email", nullable=False)', postgresql_version=18)
    assert "NOT NULL col NOT VALID" in only(result, "EC309").fix


def test_set_not_null_fix_on_pg11_does_not_offer_the_check_recipe(tmp_path: Path) -> None:
    result = history(tmp_path, 'op.alter_column("users", "email", nullable=False)', postgresql_version=11)
    fix = only(result, "EC309").fix
    assert "before 12" in fix and "VALIDATE" not in fix


def test_set_not_null_after_validated_check_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.create_check_constraint("ck_email_nn", "users", "email IS NOT NULL", postgresql_not_valid=True)
with op.get_context().autocommit_block():
    op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_email_nn")
op.alter_column("users", "email", nullable=False)""",
    )
    assert of(result, "EC309") == []


def test_sql_set_not_null_is_ec309(tmp_path: Path) -> None:
    result = sql("ALTER TABLE users ALTER COLUMN email SET NOT NULL;", tmp_path=tmp_path)
    assert "users.email" in only(result, "EC309").message


def test_sql_set_not_null_after_validated_check_passes(tmp_path: Path) -> None:
    text = """\
        ALTER TABLE users ADD CONSTRAINT ck_email_nn CHECK (email IS NOT NULL) NOT VALID;
        ALTER TABLE users VALIDATE CONSTRAINT ck_email_nn;
        ALTER TABLE users ALTER COLUMN email SET NOT NULL;
        """
    assert of(sql(text, tmp_path=tmp_path), "EC309") == []


# EC310 type-change-rewrites


def test_int_to_bigint_is_ec310(tmp_path: Path) -> None:
    result = history(
        tmp_path, 'op.alter_column("users", "id", type_=sa.BigInteger(), existing_type=sa.Integer())'
    )
    finding = only(result, "EC310")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "users.id" in finding.message
    assert "INT" in finding.message.upper() and "BIGINT" in finding.message.upper()
    assert of(result, "EC204") == []


def test_varchar_widening_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path, 'op.alter_column("users", "email", type_=sa.String(200), existing_type=sa.String(100))'
    )
    assert codes(result) == []


def test_sql_int_to_bigint_is_ec310_when_the_history_knows_the_old_type(tmp_path: Path) -> None:
    script = tmp_path / "widen.sql"
    script.write_text("ALTER TABLE orders ALTER COLUMN user_id TYPE bigint;\n")
    result = lint_history(
        tmp_path,
        baseline(USERS),
        baseline(ORDERS),
        request=api.LintRequest(targets=("root:heads", str(script)), ignore=("EC403",)),
    )
    finding = only(result, "EC310")
    assert finding.location == Location(str(script), 1, 1)
    assert "orders.user_id" in finding.message and "INT" in finding.message.upper()


def test_sql_type_change_from_an_unknown_type_is_ec204_not_ec310(tmp_path: Path) -> None:
    result = sql("ALTER TABLE orders ALTER COLUMN user_id TYPE bigint;", tmp_path=tmp_path)
    assert of(result, "EC310") == []
    assert "existing_type=" in only(result, "EC204").fix


def test_sql_varchar_widening_known_from_the_history_is_not_ec310(tmp_path: Path) -> None:
    script = tmp_path / "widen.sql"
    script.write_text("ALTER TABLE users ALTER COLUMN email TYPE varchar(200);\n")
    result = lint_history(
        tmp_path, baseline(USERS), request=api.LintRequest(targets=("root:heads", str(script)))
    )
    assert of(result, "EC310") == [] and of(result, "EC204") == []


# EC311 table-rewrite


def test_vacuum_full_is_ec311(tmp_path: Path) -> None:
    finding = only(history(tmp_path, 'op.execute("VACUUM FULL orders")'), "EC311")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "orders" in finding.message
    assert "pg_repack" in finding.fix


def test_reindex_is_ec311(tmp_path: Path) -> None:
    assert "REINDEX" in only(history(tmp_path, 'op.execute("REINDEX TABLE orders")'), "EC311").message


def test_cluster_is_ec311(tmp_path: Path) -> None:
    assert only(history(tmp_path, 'op.execute("CLUSTER orders USING ix_orders_user_id")'), "EC311")


def test_set_unlogged_is_ec311(tmp_path: Path) -> None:
    assert only(history(tmp_path, 'op.execute("ALTER TABLE orders SET UNLOGGED")'), "EC311")


def test_reindex_concurrently_in_autocommit_block_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.execute("REINDEX INDEX CONCURRENTLY ix_orders_user_id")""",
    )
    assert codes(result) == []


def test_sql_vacuum_full_is_ec311(tmp_path: Path) -> None:
    assert only(sql("VACUUM FULL orders;", tmp_path=tmp_path), "EC311").location.line == 1


def test_sql_set_access_method_is_ec311(tmp_path: Path) -> None:
    assert only(sql("ALTER TABLE orders SET ACCESS METHOD heap2;", tmp_path=tmp_path), "EC311")


def test_sql_reindex_concurrently_passes(tmp_path: Path) -> None:
    assert codes(sql("REINDEX TABLE CONCURRENTLY orders;", tmp_path=tmp_path)) == []


# EC312 exclusion-constraint


def test_create_exclude_constraint_is_ec312_and_never_suggests_not_valid(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.create_exclude_constraint("no_double_room", "events", ("room", "="), using="gist")',
    )
    finding = only(result, "EC312")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "events" in finding.message
    assert "not_valid" not in finding.fix.lower() and "NOT VALID" not in finding.fix.upper()


def test_exclude_constraint_on_table_created_in_the_revision_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.create_table("bookings", sa.Column("room", sa.Integer()))
op.create_exclude_constraint("no_double_room", "bookings", ("room", "="), using="gist")""",
    )
    assert codes(result) == []


def test_sql_add_exclude_is_ec312(tmp_path: Path) -> None:
    text = "ALTER TABLE events ADD CONSTRAINT no_double_room EXCLUDE USING gist (room WITH =);"
    assert "NOT VALID" not in only(sql(text, tmp_path=tmp_path), "EC312").fix.upper()


def test_sql_exclude_in_create_table_passes(tmp_path: Path) -> None:
    text = "CREATE TABLE bookings (room int, EXCLUDE USING gist (room WITH =));"
    assert codes(sql(text, tmp_path=tmp_path)) == []


# EC313 detach-partition-locks


def test_detach_partition_is_ec313_on_pg14(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024")',
        postgresql_version=14,
    )
    finding = only(result, "EC313")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "measurements_2024" in finding.message and "measurements" in finding.message
    assert "CONCURRENTLY" in finding.fix


def test_detach_partition_passes_on_pg13_which_has_no_concurrent_form(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024")',
        postgresql_version=13,
    )
    assert of(result, "EC313") == []


def test_detach_partition_concurrently_in_autocommit_block_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY")""",
    )
    assert of(result, "EC313") == [] and of(result, "EC401") == []


def test_sql_detach_partition_is_ec313(tmp_path: Path) -> None:
    result = sql("ALTER TABLE measurements DETACH PARTITION measurements_2024;", tmp_path=tmp_path)
    assert only(result, "EC313").location.line == 1


def test_sql_detach_partition_finalize_passes(tmp_path: Path) -> None:
    result = sql("ALTER TABLE measurements DETACH PARTITION measurements_2024 FINALIZE;", tmp_path=tmp_path)
    assert of(result, "EC313") == []


# EC314 validate-in-same-transaction


def test_validate_in_the_transaction_that_added_not_valid_is_ec314(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.create_foreign_key(
    "fk_orders_user", "orders", "users", ["user_id"], ["id"], postgresql_not_valid=True
)
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")""",
    )
    finding = only(result, "EC314")
    assert (finding.location.line, finding.location.column) == (line(4), INDENT)
    assert "fk_orders_user" in finding.message and "orders" in finding.message
    assert "autocommit_block()" in finding.fix


def test_validate_after_an_access_exclusive_statement_is_ec314(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.add_column("orders", sa.Column("note", sa.Text()))
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_old")""",
    )
    assert f"line {line(1)}" in only(result, "EC314").message


def test_validate_in_autocommit_block_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.create_check_constraint("ck_price", "orders", "price >= 0", postgresql_not_valid=True)
with op.get_context().autocommit_block():
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_price")""",
    )
    assert codes(result) == []


def test_validate_in_a_later_revision_passes(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline(USERS),
        baseline(ORDERS),
        expand('op.create_check_constraint("ck_price", "orders", "price >= 0", postgresql_not_valid=True)'),
        contract('op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_price")'),
        request=QUIET,
    )
    assert of(result, "EC314") == []


def test_sql_validate_in_the_same_transaction_is_ec314(tmp_path: Path) -> None:
    text = """\
        BEGIN;
        ALTER TABLE orders ADD CONSTRAINT ck_price CHECK (price >= 0) NOT VALID;
        ALTER TABLE orders VALIDATE CONSTRAINT ck_price;
        COMMIT;
        """
    assert only(sql(text, tmp_path=tmp_path), "EC314").location.line == 3


def test_sql_validate_in_its_own_transaction_passes(tmp_path: Path) -> None:
    text = """\
        BEGIN;
        ALTER TABLE orders ADD CONSTRAINT ck_price CHECK (price >= 0) NOT VALID;
        COMMIT;
        BEGIN;
        ALTER TABLE orders VALIDATE CONSTRAINT ck_price;
        COMMIT;
        """
    assert of(sql(text, tmp_path=tmp_path), "EC314") == []


# EC315 unbatched-backfill


def test_update_of_existing_table_is_ec315(tmp_path: Path) -> None:
    result = history(tmp_path, "op.execute(\"UPDATE users SET status = 'active' WHERE status IS NULL\")")
    finding = only(result, "EC315")
    assert finding.severity is Severity.WARNING
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "users" in finding.message and "batches" in finding.fix


def test_delete_with_where_is_ec315(tmp_path: Path) -> None:
    assert only(history(tmp_path, 'op.execute("DELETE FROM orders WHERE price < 0")'), "EC315")


def test_delete_without_where_is_ec108_not_ec315(tmp_path: Path) -> None:
    result = history(tmp_path, 'op.execute("DELETE FROM orders")')
    assert of(result, "EC315") == [] and of(result, "EC108")


def test_update_of_the_version_table_passes(tmp_path: Path) -> None:
    result = history(tmp_path, "op.execute(\"UPDATE alembic_version SET version_num = 'x'\")")
    assert of(result, "EC315") == []


def test_insert_into_a_table_created_in_the_revision_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.create_table("plans", sa.Column("name", sa.Text()))
op.execute("UPDATE plans SET name = 'free'")""",
    )
    assert of(result, "EC315") == []


def test_sql_update_is_ec315(tmp_path: Path) -> None:
    result = sql("UPDATE users SET status = 'active';", tmp_path=tmp_path)
    assert only(result, "EC315").location.line == 1


def test_sql_insert_passes(tmp_path: Path) -> None:
    assert of(sql("INSERT INTO users (id, name) VALUES (1, 'a');", tmp_path=tmp_path), "EC315") == []


# EC316 many-locks-one-transaction


def test_second_table_locked_after_access_exclusive_is_ec316(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.add_column("users", sa.Column("note", sa.Text()))
op.add_column("orders", sa.Column("note", sa.Text()))""",
    )
    finding = only(result, "EC316")
    assert finding.severity is Severity.WARNING
    assert (finding.location.line, finding.location.column) == (line(2), INDENT)
    assert "users" in finding.message and f"line {line(1)}" in finding.message


def test_slow_work_on_the_same_table_after_access_exclusive_is_ec316(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.add_column("users", sa.Column("note", sa.Text()))
op.execute("UPDATE users SET note = name WHERE note IS NULL")""",
    )
    assert only(result, "EC316").location.line == line(2)


def test_cheap_statements_on_the_same_table_pass(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.add_column("users", sa.Column("note", sa.Text()))
op.add_column("users", sa.Column("memo", sa.Text()))""",
    )
    assert of(result, "EC316") == []


def test_autocommit_block_between_tables_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.add_column("users", sa.Column("note", sa.Text()))
op.add_column("orders", sa.Column("note", sa.Text()))""",
    )
    assert of(result, "EC316") == []


def test_sql_second_table_in_one_transaction_is_ec316(tmp_path: Path) -> None:
    text = """\
        BEGIN;
        ALTER TABLE users ADD COLUMN note text;
        ALTER TABLE orders ADD COLUMN note text;
        COMMIT;
        """
    assert only(sql(text, tmp_path=tmp_path), "EC316").location.line == 3


def test_sql_statements_outside_a_transaction_pass(tmp_path: Path) -> None:
    text = """\
        ALTER TABLE users ADD COLUMN note text;
        ALTER TABLE orders ADD COLUMN note text;
        """
    assert of(sql(text, tmp_path=tmp_path), "EC316") == []
