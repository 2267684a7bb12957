"""expandcontract's Alembic operations on real databases, with hostile names: the sync trigger
(PostgreSQL and SQLite), NOT NULL through a NOT VALID check, validation in its own transaction."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from expandcontract.alembic_ext.operations import generated_name

SCHEMA = "Shop Data"
TABLE = 'user "accounts"'
OLD = "E-mail"
NEW = "select"  # a reserved word


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ops.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def schema_of(engine: sa.Engine) -> str | None:
    return SCHEMA if engine.dialect.name == "postgresql" else None


def accounts(engine: sa.Engine, new_type: sa.types.TypeEngine[object] | None = None) -> sa.Table:
    schema = schema_of(engine)
    with engine.begin() as conn:
        if schema:
            conn.execute(sa.schema.CreateSchema(schema))
    table = sa.Table(
        TABLE,
        sa.MetaData(schema=schema),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(OLD, sa.Text),
        sa.Column(NEW, new_type if new_type is not None else sa.Text),
    )
    table.create(engine)
    return table


def run(engine: sa.Engine, name: str, *args: object, **kw: object) -> None:
    """`op.<name>(*args, **kw)` in a migration transaction, as a revision would call it."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        with context.begin_transaction():  # what env.py's run does
            getattr(Operations(context), name)(*args, **kw)


def rows(engine: sa.Engine, table: sa.Table) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]


def test_the_sync_trigger_keeps_both_columns_in_step_whichever_release_writes(engine: sa.Engine) -> None:
    table = accounts(engine)
    with engine.begin() as conn:
        conn.execute(table.insert().values(id=1, **{OLD: "before@x"}))  # a row from before the trigger

    run(engine, "ec_sync_columns", TABLE, OLD, NEW, schema=schema_of(engine))

    with engine.begin() as conn:
        conn.execute(table.insert().values(id=2, **{OLD: "old@x"}))  # the old release writes the old column
        conn.execute(table.insert().values(id=3, **{NEW: "new@x"}))  # the new release, the new one
        # both given: only the new release writes the new column (the old one may hold its default)
        conn.execute(table.insert().values(id=4, **{OLD: "a@x", NEW: "b@x"}))
        conn.execute(table.update().where(table.c.id == 2).values(**{OLD: "old2@x"}))
        conn.execute(table.update().where(table.c.id == 3).values(**{NEW: "new2@x"}))
        conn.execute(table.update().where(table.c.id == 1).values(**{NEW: "backfilled@x"}))  # a backfill
    assert rows(engine, table) == [
        (1, "backfilled@x", "backfilled@x"),
        (2, "old2@x", "old2@x"),
        (3, "new2@x", "new2@x"),
        (4, "b@x", "b@x"),
    ]

    run(engine, "ec_drop_sync", TABLE, OLD, NEW, schema=schema_of(engine))
    with engine.begin() as conn:
        conn.execute(table.insert().values(id=5, **{OLD: "alone@x"}))
    assert rows(engine, table)[-1] == (5, "alone@x", None)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            left = conn.execute(
                sa.text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'ec_sync%'")
            ).scalar()
        assert left == 0


def test_a_type_change_syncs_through_the_conversions(engine: sa.Engine) -> None:
    table = accounts(engine, new_type=sa.Integer())
    run(
        engine,
        "ec_sync_columns",
        TABLE,
        OLD,
        NEW,
        schema=schema_of(engine),
        forward="CAST({} AS integer)",
        backward="CAST({} AS text)",
    )
    with engine.begin() as conn:
        conn.execute(table.insert().values(id=1, **{OLD: "42"}))
        conn.execute(table.insert().values(id=2, **{NEW: 7}))
        conn.execute(table.update().where(table.c.id == 2).values(**{NEW: 8}))
    assert rows(engine, table) == [(1, "42", 42), (2, "8", 8)]


def test_not_null_through_a_not_valid_check_then_validation_in_its_own_transaction(pg_url: str) -> None:
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    table = accounts(engine)
    with engine.begin() as conn:
        conn.execute(table.insert().values(id=1, **{OLD: None}))

    run(engine, "ec_add_not_null_check", TABLE, OLD, schema=SCHEMA)  # existing NULLs are not scanned
    name = generated_name("ck", TABLE, OLD, "not_null")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(table.insert().values(id=2, **{OLD: None}))  # new writes are checked at once
    with pytest.raises(sa.exc.IntegrityError):
        run(engine, "ec_validate_constraint", TABLE, name, schema=SCHEMA)  # the old NULL is still there

    with engine.begin() as conn:
        conn.execute(table.update().values(**{OLD: "filled@x"}))
    run(engine, "ec_validate_constraint", TABLE, name, schema=SCHEMA)
    with engine.connect() as conn:
        validated = conn.execute(
            sa.text("SELECT convalidated FROM pg_constraint WHERE conname = :name"), {"name": name}
        ).scalar()
    assert validated is True
    engine.dispose()


def test_the_operations_render_for_review_with_sql() -> None:
    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name="postgresql", opts={"as_sql": True, "output_buffer": buffer, "transactional_ddl": True}
    )
    operations = Operations(context)
    operations.ec_sync_columns(TABLE, OLD, NEW, schema=SCHEMA)  # type: ignore[attr-defined]
    operations.ec_validate_constraint(TABLE, "ck", schema=SCHEMA)  # type: ignore[attr-defined]
    sql = buffer.getvalue()

    assert "CREATE TRIGGER ec_sync_user_accounts_E" not in sql  # names are quoted, never pasted
    assert '"Shop Data"."user ""accounts"""' in sql
    assert 'NEW."E-mail"' in sql and 'NEW."select"' in sql
    validate = sql.index("VALIDATE CONSTRAINT ck")
    assert sql.rindex("COMMIT", 0, validate) > sql.index("CREATE TRIGGER")  # its own transaction


def test_generated_names_fit_postgresql_and_stay_stable() -> None:
    long = generated_name("ec_sync", "t" * 40, "old_column_name", "new_column_name")
    assert len(long.encode()) <= 63
    assert long == generated_name("ec_sync", "t" * 40, "old_column_name", "new_column_name")
    assert long != generated_name("ec_sync", "t" * 40, "old_column_name", "new_column_nam2")
    assert generated_name("ec_sync", "users", "email", "email_address") == "ec_sync_users_email_email_address"


def test_plain_alembic_finds_the_operations_through_its_plugin_entry_point(tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    # a fresh interpreter that never imports expandcontract itself: only Alembic's plugin loading
    script = textwrap.dedent(
        """
        import sqlalchemy as sa
        from alembic.migration import MigrationContext
        from alembic.operations import Operations
        engine = sa.create_engine("sqlite://")
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)"))
            context = MigrationContext.configure(conn)
            with context.begin_transaction():
                Operations(context).ec_sync_columns("t", "a", "b")
            conn.execute(sa.text("INSERT INTO t (id, a) VALUES (1, 'x')"))
            print(conn.execute(sa.text("SELECT b FROM t")).scalar())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "x"


def test_the_fill_trigger_writes_the_value_where_a_row_would_hold_null(pg_url: str) -> None:
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    table = accounts(engine)
    with engine.begin() as conn:
        conn.execute(table.insert().values(id=1, **{OLD: None, NEW: "x"}))

    run(engine, "ec_fill_nulls", TABLE, OLD, "'none'", schema=SCHEMA)
    run(engine, "ec_add_not_null_check", TABLE, OLD, schema=SCHEMA)
    with engine.begin() as conn:  # a release that writes NULL, or touches an unfilled row, still works
        conn.execute(table.insert().values(id=2, **{OLD: None}))
        conn.execute(table.update().where(table.c.id == 1).values(**{NEW: "y"}))
    assert rows(engine, table) == [(1, "none", "y"), (2, "none", None)]

    run(engine, "ec_drop_fill", TABLE, OLD, schema=SCHEMA)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(table.insert().values(id=3, **{OLD: None}))  # the check alone now
    engine.dispose()


def test_a_swap_puts_the_replacement_under_the_old_name(engine: sa.Engine) -> None:
    table = accounts(engine, new_type=sa.Integer())
    with engine.begin() as conn:
        conn.execute(table.insert().values(id=1, **{OLD: "7", NEW: 7}))

    run(engine, "ec_swap_columns", TABLE, OLD, NEW, new_type="INTEGER", schema=schema_of(engine))

    columns = {c["name"]: c for c in sa.inspect(engine).get_columns(TABLE, schema=schema_of(engine))}
    assert set(columns) == {"id", OLD} and isinstance(columns[OLD]["type"], sa.Integer)
    with engine.connect() as conn:
        swapped = sa.Table(TABLE, sa.MetaData(), schema=schema_of(engine), autoload_with=conn)
        assert [tuple(r) for r in conn.execute(sa.select(swapped))] == [(1, 7)]


def test_a_swap_reads_back_as_one_change_the_gate_judges_by_type() -> None:
    from expandcontract.alembic_ext.op_changes import OpContext, changes_of
    from expandcontract.alembic_ext.operations import SwapColumnsOp
    from expandcontract.gate.decision import uses
    from expandcontract.gate.manifest import ColumnUse, Manifest, TableUse
    from expandcontract.gate.removals import Removal, RemovalKind
    from expandcontract.model import ChangeKind, Location

    dialect = sa.dialects.registry.load("postgresql")()
    context = OpContext(Location("c.py", 3), "ALTER TABLE ...", True, dialect)
    (change,) = changes_of(SwapColumnsOp("orders", "qty", "qty__ec_new", new_type="BIGINT"), context)
    assert (change.kind, change.column, change.columns, change.type) == (
        ChangeKind.SWAP_COLUMN,
        "qty",
        ("qty__ec_new",),
        "BIGINT",
    )

    swap = Removal(RemovalKind.COLUMN, "orders", "qty", None, "swaps ...", "c.py:3", new_type="BIGINT")

    def release(type_: str | None) -> Manifest:
        return Manifest("r", {"orders": TableUse(columns={"qty": ColumnUse(type=type_)})})

    assert uses(release("BIGINT"), swap) is None  # expects the new type already
    assert uses(release("bigint "), swap) is None
    assert uses(release("INTEGER"), swap) == "maps orders.qty as INTEGER"
    assert uses(release(None), swap) == "maps orders.qty as a type its manifest does not record"
