"""Raw SQL that once slipped through: ALTER TABLE with several actions sqlglot leaves opaque,
statements cut short, DML inside WITH, and the transaction state around savepoints and chained commits.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from expandcontract.classify import classify_change
from expandcontract.model import Change, ChangeKind, Hazard, Location
from expandcontract.sql import changes_from_sql, transaction_after

K = ChangeKind


def read(sql: str, *, in_transaction: bool = True) -> list[Change]:
    return changes_from_sql(
        sql, dialect="postgresql", location=Location("x.sql", 1), in_transaction=in_transaction
    )


def kinds(changes: list[Change]) -> list[ChangeKind]:
    return [c.kind for c in changes]


# --- 11. ALTER TABLE actions read one by one ----------------------------------------------------


def test_an_owner_change_does_not_hide_a_dropped_column() -> None:
    owner, drop = read("ALTER TABLE t OWNER TO bob, DROP COLUMN b")

    assert (owner.kind, owner.table) == (K.OTHER_DDL, "t")
    assert (drop.kind, drop.table, drop.column) == (K.DROP_COLUMN, "t", "b")


def test_a_trigger_switch_does_not_hide_set_not_null_on_a_qualified_table() -> None:
    changes = read("ALTER TABLE s.t ENABLE TRIGGER x, ALTER COLUMN c SET NOT NULL")

    assert kinds(changes) == [K.OTHER_DDL, K.SET_NOT_NULL]
    not_null = changes[1]
    assert (not_null.schema, not_null.table, not_null.column, not_null.target) == ("s", "t", "c", "s.t.c")


def test_an_unknown_action_next_to_a_known_one_is_opaque() -> None:
    changes = read("ALTER TABLE t REPLICA IDENTITY FULL, FROBNICATE x")

    opaque = [c for c in changes if c.kind is K.OPAQUE]
    assert len(opaque) == 1, changes
    assert "FROBNICATE" in opaque[0].detail
    assert opaque[0].sql == "ALTER TABLE t REPLICA IDENTITY FULL, FROBNICATE x"


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE t RENAME CONSTRAINT",
        "ALTER TABLE t VALIDATE CONSTRAINT",
        "CREATE INDEX",
        "ALTER TYPE x ADD VALUE",
    ],
)
def test_a_statement_cut_short_is_opaque_not_an_exception(sql: str) -> None:
    (change,) = read(sql)

    assert change.kind is K.OPAQUE
    assert change.sql == sql
    assert change.detail


# --- 12. data changes inside WITH ---------------------------------------------------------------


def test_a_delete_inside_with_is_a_delete() -> None:
    changes = read("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x")

    deletes = [c for c in changes if c.kind is K.DELETE]
    assert [(c.table, c.has_where) for c in deletes] == [("t", False)]


def test_an_update_inside_with_and_the_insert_around_it() -> None:
    changes = read("WITH d AS (UPDATE t SET a = 1 RETURNING *) INSERT INTO log SELECT * FROM d")

    assert sorted((c.kind.value, c.table) for c in changes) == [("insert", "log"), ("update", "t")]
    (update,) = [c for c in changes if c.kind is K.UPDATE]
    assert update.columns == ("a",)


# --- 13. the transaction state --------------------------------------------------------------------

CONCURRENT_INDEX = "CREATE INDEX CONCURRENTLY ix ON t (a)"


# (statements, whether a transaction is open before them, whether one is open after them)
TRANSACTION_STATES = [
    pytest.param(
        "BEGIN; SAVEPOINT a; ROLLBACK TO SAVEPOINT a; RELEASE SAVEPOINT a", False, True, id="savepoints"
    ),
    pytest.param("BEGIN; SAVEPOINT a; ROLLBACK TO a; RELEASE a", False, True, id="savepoints-short"),
    pytest.param("COMMIT AND CHAIN", True, True, id="commit-and-chain"),
    pytest.param("COMMIT", True, False, id="commit"),
    pytest.param("END", True, False, id="end"),
    pytest.param("ABORT", True, False, id="abort"),
    pytest.param("BEGIN; ABORT", False, False, id="begin-abort"),
    pytest.param("START TRANSACTION", False, True, id="start-transaction"),
    pytest.param("ROLLBACK AND CHAIN", True, True, id="rollback-and-chain"),
    pytest.param("ABORT AND CHAIN", True, True, id="abort-and-chain"),
]


@pytest.mark.parametrize(("sql", "before", "after"), TRANSACTION_STATES)
def test_the_transaction_state_a_concurrent_index_sees(sql: str, before: bool, after: bool) -> None:
    *control, index = read(f"{sql}; {CONCURRENT_INDEX}", in_transaction=before)

    assert (index.kind, index.concurrently) == (K.CREATE_INDEX, True)
    assert {c.kind for c in control} == {K.TRANSACTION_CONTROL}
    assert transaction_after(control, before) is after
    assert index.in_transaction is after
    # CONCURRENTLY inside a transaction block fails: that is the hazard
    assert classify_change(index)[1] == (frozenset({Hazard.TRANSACTION}) if after else frozenset())


@pytest.mark.parametrize(
    ("sql", "before", "after"), [pytest.param(*p.values, id=p.id) for p in TRANSACTION_STATES]
)
def test_postgresql_agrees_with_the_expected_transaction_state(
    sql: str, before: bool, after: bool, pg_url: str
) -> None:
    """The table above is what PostgreSQL does: CONCURRENTLY fails exactly where a transaction is open."""
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (a integer)")
            for statement in ["BEGIN"] * before + sql.split(";"):
                conn.exec_driver_sql(statement)
            try:
                conn.exec_driver_sql(CONCURRENT_INDEX)
                open_after = False
            except sa.exc.InternalError as exc:
                assert "cannot run inside a transaction block" in str(exc.orig)
                open_after = True
                conn.exec_driver_sql("ROLLBACK")
    finally:
        engine.dispose()

    assert open_after is after
