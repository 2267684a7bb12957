"""Reading revisions: run upgrade() offline, record each operation where it is called, fall back to the AST.

The fixture project `tests/fixtures/all_ops` is a bare script directory (no alembic.ini, no env.py):
a1 tables and columns, b2 indexes/constraints/op.execute, c3 batch mode, d4 reads the database
(cannot run offline), e5 imports an application that is not installed.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.operations import Operations

from expandcontract.api import classify
from expandcontract.errors import RevisionLoadError
from expandcontract.model import (
    ChangeKind,
    ClassifiedChange,
    ConstraintType,
    DeclaredPhase,
    Hazard,
    Phase,
    ReadMode,
    RevisionClassification,
)
from expandcontract.settings import load_settings

ALL_OPS = Path(__file__).resolve().parent.parent / "fixtures" / "all_ops"

K = ChangeKind
NONE: frozenset[Hazard] = frozenset()
LOCKING = frozenset({Hazard.LOCKING})
REWRITE = frozenset({Hazard.REWRITE, Hazard.LOCKING})
TRANSACTION = frozenset({Hazard.TRANSACTION})

Row = tuple[int, ChangeKind, str, Phase, frozenset[Hazard], bool, str]


def classify_project(script_location: Path, cwd: Path) -> list[RevisionClassification]:
    return classify(load_settings(script_location=script_location, cwd=cwd))


def row(c: ClassifiedChange) -> Row:
    """(line, kind, target, phase, hazards, in_transaction, operation)"""
    ch = c.change
    return (ch.location.line, ch.kind, ch.target, c.phase, c.hazards, ch.in_transaction, ch.operation)


@pytest.fixture(scope="module")
def all_ops(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RevisionClassification]:
    revisions = classify_project(ALL_OPS, tmp_path_factory.mktemp("cwd"))
    return {r.info.revision: r for r in revisions}


def changes_at(revision: RevisionClassification, line: int) -> list[ClassifiedChange]:
    return [c for c in revision.changes if c.change.location.line == line]


def at(revision: RevisionClassification, line: int) -> ClassifiedChange:
    (found,) = changes_at(revision, line)
    return found


# --- the fixture project ---------------------------------------------------------------------------


def test_revisions_bases_first_and_how_each_was_read(all_ops: dict[str, RevisionClassification]) -> None:
    assert [(r.info.revision, r.read_mode, r.info.declared_phase) for r in all_ops.values()] == [
        ("a1", ReadMode.OFFLINE, DeclaredPhase.UNPHASED),
        ("b2", ReadMode.OFFLINE, DeclaredPhase.UNPHASED),
        ("c3", ReadMode.OFFLINE, DeclaredPhase.UNPHASED),
        ("d4", ReadMode.OFFLINE, DeclaredPhase.UNPHASED),
        ("e5", ReadMode.OFFLINE, DeclaredPhase.UNPHASED),
        ("f6", ReadMode.AST, DeclaredPhase.UNPHASED),
    ]
    offline = [r for r in all_ops.values() if r.read_mode is ReadMode.OFFLINE]
    assert {r.info.revision: r.unreadable_reason for r in offline} == {
        "a1": "", "b2": "", "c3": "", "d4": "", "e5": ""}
    assert {r.info.revision: r.inferred_phase for r in all_ops.values()} == {
        "a1": Phase.RECIPE, "b2": Phase.RECIPE, "c3": Phase.RECIPE, "d4": Phase.CONTRACT, "e5": Phase.EXPAND,
        "f6": Phase.EXPAND}


def test_every_change_is_located_in_its_revision_file(all_ops: dict[str, RevisionClassification]) -> None:
    for revision in all_ops.values():
        assert {c.change.location.path for c in revision.changes} == {revision.info.path}
        assert Path(revision.info.path).parent == ALL_OPS / "versions"


def test_a1_tables_and_columns(all_ops: dict[str, RevisionClassification]) -> None:
    a1 = all_ops["a1"]
    assert [row(c) for c in a1.changes] == [
        (16, K.CREATE_TABLE, "users", Phase.EXPAND, NONE, True, "CreateTableOp"),
        # the index is on a table no release has seen yet: nothing to lock out
        (21, K.CREATE_INDEX, "ix_users_email_new on users", Phase.EXPAND, NONE, True, "CreateIndexOp"),
        (22, K.ADD_COLUMN, "orders.note", Phase.EXPAND, NONE, True, "AddColumnOp"),
        (23, K.ADD_COLUMN, "orders.status", Phase.EXPAND, NONE, True, "AddColumnOp"),
        (24, K.ADD_COLUMN, "orders.code", Phase.RECIPE, NONE, True, "AddColumnOp"),
        (25, K.DROP_COLUMN, "orders.legacy", Phase.CONTRACT, NONE, True, "DropColumnOp"),
        (26, K.DROP_TABLE, "audit", Phase.CONTRACT, NONE, True, "DropTableOp"),
        (27, K.RENAME_TABLE, "carts", Phase.RECIPE, NONE, True, "RenameTableOp"),
        (28, K.RENAME_COLUMN, "orders.total", Phase.RECIPE, NONE, True, "AlterColumnOp"),
        (29, K.ALTER_COLUMN_TYPE, "orders.name", Phase.EXPAND, NONE, True, "AlterColumnOp"),
        (30, K.ALTER_COLUMN_TYPE, "orders.qty", Phase.EXPAND, REWRITE, True, "AlterColumnOp"),
        (31, K.SET_NOT_NULL, "orders.note", Phase.CONTRACT, LOCKING, True, "AlterColumnOp"),
        (32, K.DROP_NOT_NULL, "orders.status", Phase.EXPAND, NONE, True, "AlterColumnOp"),
        (33, K.DROP_DEFAULT, "orders.status", Phase.CONTRACT, NONE, True, "AlterColumnOp"),
        (34, K.SET_DEFAULT, "orders.status", Phase.EXPAND, NONE, True, "AlterColumnOp"),
    ]


def test_a1_fields_read_from_the_operations(all_ops: dict[str, RevisionClassification]) -> None:
    a1 = all_ops["a1"]
    assert at(a1, 16).change.columns == ("id", "email")
    assert at(a1, 21).change.columns == ("email",)
    note, status, code = at(a1, 22).change, at(a1, 23).change, at(a1, 24).change
    assert (note.type, note.nullable, note.default) == ("TEXT", True, None)
    assert (status.type, status.nullable, status.default) == ("VARCHAR(20)", False, "'new'")
    assert (code.type, code.nullable, code.default) == ("VARCHAR(20)", False, None)
    assert at(a1, 27).change.new_name == "baskets"
    assert at(a1, 28).change.new_name == "amount"
    assert (at(a1, 29).change.old_type, at(a1, 29).change.type) == ("VARCHAR(50)", "VARCHAR(100)")
    assert (at(a1, 30).change.old_type, at(a1, 30).change.type) == ("INTEGER", "BIGINT")
    assert at(a1, 31).change.nullable is False
    assert at(a1, 32).change.nullable is True
    assert at(a1, 34).change.default == "'open'"


def test_a1_captured_sql(all_ops: dict[str, RevisionClassification]) -> None:
    a1 = all_ops["a1"]
    assert at(a1, 23).change.sql == "ALTER TABLE orders ADD COLUMN status VARCHAR(20) DEFAULT 'new' NOT NULL;"
    assert at(a1, 27).change.sql == "ALTER TABLE carts RENAME TO baskets;"
    assert at(a1, 28).change.sql == "ALTER TABLE orders RENAME total TO amount;"
    assert at(a1, 31).change.sql == "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;"


def test_b2_indexes_constraints_and_execute(all_ops: dict[str, RevisionClassification]) -> None:
    b2 = all_ops["b2"]
    ADD = K.ADD_CONSTRAINT
    assert [row(c) for c in b2.changes] == [
        (14, K.CREATE_INDEX, "ix_orders_created on orders", Phase.EXPAND, LOCKING, True, "CreateIndexOp"),
        # inside autocommit_block(): CONCURRENTLY is hazard-free there
        (16, K.CREATE_INDEX, "ix_orders_user on orders", Phase.EXPAND, NONE, False, "CreateIndexOp"),
        (17, K.DROP_INDEX, "ix_orders_old on orders", Phase.CONTRACT, NONE, False, "DropIndexOp"),
        # after the block the transaction is open again: CONCURRENTLY fails in it
        (18, K.CREATE_INDEX, "ix_orders_bad on orders", Phase.EXPAND, TRANSACTION, True, "CreateIndexOp"),
        (19, K.DROP_INDEX, "ix_orders_gone on orders", Phase.CONTRACT, LOCKING, True, "DropIndexOp"),
        (20, ADD, "fk_orders_user on orders", Phase.EXPAND, NONE, True, "CreateForeignKeyOp"),
        (21, ADD, "fk_orders_shop on orders", Phase.EXPAND, LOCKING, True, "CreateForeignKeyOp"),
        (22, ADD, "ck_orders_qty on orders", Phase.EXPAND, NONE, True, "CreateCheckConstraintOp"),
        (23, ADD, "uq_orders_code on orders", Phase.EXPAND, LOCKING, True, "CreateUniqueConstraintOp"),
        (24, ADD, "pk_items on items", Phase.EXPAND, LOCKING, True, "CreatePrimaryKeyOp"),
        (25, K.DROP_CONSTRAINT, "fk_orders_old on orders", Phase.CONTRACT, NONE, True, "DropConstraintOp"),
        # op.execute() SQL goes through the SQL adapter
        (26, K.VALIDATE_CONSTRAINT, "fk_orders_user on orders", Phase.ANY, NONE, True, "execute"),
        (27, K.UPDATE, "orders", Phase.DATA, NONE, True, "execute"),
        (28, K.DELETE, "sessions", Phase.CONTRACT, NONE, True, "execute"),
        (29, K.RENAME_COLUMN, "orders.shipped", Phase.RECIPE, NONE, True, "execute"),
        (30, K.OPAQUE, "", Phase.UNKNOWN, NONE, True, "execute"),
    ]


def test_b2_fields(all_ops: dict[str, RevisionClassification]) -> None:
    b2 = all_ops["b2"]
    concurrently = [at(b2, line).change.concurrently for line in (14, 16, 17, 18, 19)]
    assert concurrently == [False, True, True, True, False]
    fk_user, fk_shop, ck = at(b2, 20).change, at(b2, 21).change, at(b2, 22).change
    FK = ConstraintType.FOREIGN_KEY
    assert (fk_user.constraint_type, fk_user.columns, fk_user.not_valid) == (FK, ("user_id",), True)
    assert (fk_shop.constraint_type, fk_shop.columns, fk_shop.not_valid) == (FK, ("shop_id",), False)
    assert (ck.constraint_type, ck.not_valid) == (ConstraintType.CHECK, True)
    assert at(b2, 23).change.columns == ("code",)
    assert at(b2, 25).change.constraint_type is ConstraintType.FOREIGN_KEY
    update = at(b2, 27).change
    assert (update.columns, update.reads, update.has_where) == (("status",), ("status",), True)
    assert at(b2, 28).change.has_where is False
    rename = at(b2, 29).change  # Alembic-style RENAME without COLUMN: a column rename, not a table rename
    assert (rename.table, rename.column, rename.new_name) == ("orders", "shipped", "shipped_at")
    opaque = at(b2, 30).change
    assert opaque.detail == "unsupported statement (FROBNICATE ...)"
    assert opaque.sql == "FROBNICATE orders"


def test_b2_captured_sql(all_ops: dict[str, RevisionClassification]) -> None:
    b2 = all_ops["b2"]
    assert at(b2, 16).change.sql == "CREATE INDEX CONCURRENTLY ix_orders_user ON orders (user_id);"
    assert at(b2, 17).change.sql == "DROP INDEX CONCURRENTLY ix_orders_old;"
    assert at(b2, 20).change.sql == (
        "ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY(user_id) REFERENCES users (id) "
        "NOT VALID;"
    )
    assert at(b2, 26).change.sql == "ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user"
    assert at(b2, 27).change.sql == "UPDATE orders SET status = 'new' WHERE status IS NULL"


def test_c3_batch_operations_are_located_where_batch_op_is_called(
    all_ops: dict[str, RevisionClassification],
) -> None:
    c3 = all_ops["c3"]
    assert [row(c) for c in c3.changes] == [
        (15, K.ADD_COLUMN, "orders.flag", Phase.EXPAND, NONE, True, "AddColumnOp"),
        (16, K.DROP_COLUMN, "orders.obsolete", Phase.CONTRACT, NONE, True, "DropColumnOp"),
        (17, K.RENAME_COLUMN, "orders.flag", Phase.RECIPE, NONE, True, "AlterColumnOp"),
        (18, K.COMMENT, "orders", Phase.ANY, NONE, True, "CreateTableCommentOp"),
    ]
    assert at(c3, 17).change.new_name == "is_flagged"
    # each batch operation carries the SQL it stands for, rendered on its own
    assert [c.change.sql for c in c3.changes] == [
        "ALTER TABLE orders ADD COLUMN flag BOOLEAN;",
        "ALTER TABLE orders DROP COLUMN obsolete;",
        "ALTER TABLE orders RENAME flag TO is_flagged;",
        "COMMENT ON TABLE orders IS 'customer orders';",
    ]


def test_d4_queries_the_database_and_is_read_offline_as_if_it_were_empty(
    all_ops: dict[str, RevisionClassification],
) -> None:
    d4 = all_ops["d4"]
    assert d4.read_mode is ReadMode.OFFLINE
    assert [loc.line for loc in d4.database_reads] == [15]
    assert [row(c) for c in d4.changes] == [
        (15, K.QUERY, "", Phase.ANY, NONE, True, "get_bind().execute"),  # through op.get_bind(), recorded
        (16, K.DROP_COLUMN, "orders.tmp", Phase.CONTRACT, NONE, True, "DropColumnOp"),
        (17, K.UPDATE, "orders", Phase.DATA, NONE, True, "execute"),
        # the loop over the (empty) query result never ran; the AST still shows its dynamic SQL
        (19, K.OPAQUE, "", Phase.UNKNOWN, NONE, True, "execute"),
    ]
    assert at(d4, 15).change.sql == "SELECT id FROM orders"
    assert at(d4, 17).change.columns == ("flag",)
    assert at(d4, 19).change.detail == (
        "execute() with SQL built at run time; "
        "not reached offline: it depends on rows a database query returned"
    )


def test_f6_reflects_the_database_so_it_is_read_from_its_ast(
    all_ops: dict[str, RevisionClassification],
) -> None:
    f6 = all_ops["f6"]
    assert f6.read_mode is ReadMode.AST
    assert f6.unreadable_reason == (
        "needs a live database (an ORM session or a connection call on op.get_bind()) (line 15)"
    )
    assert [row(c) for c in f6.changes] == [
        (16, K.ADD_COLUMN, "orders.gift", Phase.EXPAND, NONE, True, "add_column"),
    ]


def test_e5_imports_an_uninstalled_application_and_still_runs_offline(
    all_ops: dict[str, RevisionClassification],
) -> None:
    e5 = all_ops["e5"]
    assert (e5.read_mode, e5.unreadable_reason) == (ReadMode.OFFLINE, "")
    assert [row(c) for c in e5.changes] == [
        (15, K.ADD_COLUMN, "orders.gift", Phase.EXPAND, NONE, True, "AddColumnOp"),
    ]
    assert "shop_app_not_installed" not in sys.modules  # the stand-in is gone after reading


# --- revisions written for one test ----------------------------------------------------------------

HEADER = '''\
"""{message}

Revision ID: r1
"""
'''


def write_revision(project: Path, body: str, message: str = "test revision") -> Path:
    """A bare script directory with one revision r1; `body` is everything after the docstring."""
    versions = project / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    path = versions / "r1_test.py"
    path.write_text(HEADER.format(message=message) + textwrap.dedent(body), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    (number,) = [i for i, line in enumerate(lines, start=1) if text in line]
    return number


def read_one(project: Path, cwd: Path) -> RevisionClassification:
    (revision,) = classify_project(project, cwd)
    return revision


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path / "migrations"


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_upgrade_that_raises_is_read_from_its_ast(project: Path, cwd: Path) -> None:
    path = write_revision(project, '''
        from alembic import op

        revision = "r1"
        down_revision = None


        def upgrade():
            op.drop_column("orders", "legacy")
            raise ValueError("boom")
    ''')
    revision = read_one(project, cwd)
    assert revision.read_mode is ReadMode.AST
    assert revision.unreadable_reason == f"ValueError: boom (line {line_of(path, 'raise ValueError')})"
    line = line_of(path, "op.drop_column")
    assert [row(c) for c in revision.changes] == [
        (line, K.DROP_COLUMN, "orders.legacy", Phase.CONTRACT, NONE, True, "drop_column"),
    ]


def test_syntax_error_is_a_one_line_load_error_naming_file_and_line(project: Path, cwd: Path) -> None:
    path = write_revision(project, '''
        from alembic import op

        revision = "r1"
        down_revision = None


        def upgrade(:
            op.drop_column("orders", "legacy")
    ''')
    with pytest.raises(RevisionLoadError) as raised:
        classify_project(project, cwd)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line_of(path, 'def upgrade(:')}: ")
    assert "syntax error" in message
    assert "\n" not in message
    assert "Traceback" not in message


def test_is_offline_mode_from_alembic_context_still_runs_offline(project: Path, cwd: Path) -> None:
    path = write_revision(project, '''
        from alembic import context, op

        revision = "r1"
        down_revision = None


        def upgrade():
            if context.is_offline_mode():
                op.execute("SET lock_timeout = '5s'")
            op.drop_column("orders", "legacy")
    ''')
    revision = read_one(project, cwd)
    assert (revision.read_mode, revision.unreadable_reason) == (ReadMode.OFFLINE, "")
    assert [row(c) for c in revision.changes] == [
        (line_of(path, "op.execute"), K.SESSION_SETTING, "lock_timeout", Phase.ANY, NONE, True, "execute"),
        (line_of(path, "op.drop_column"), K.DROP_COLUMN, "orders.legacy", Phase.CONTRACT, NONE, True,
         "DropColumnOp"),
    ]


def test_operations_in_a_helper_function_are_located_at_the_call_inside_it(project: Path, cwd: Path) -> None:
    path = write_revision(project, '''
        import sqlalchemy as sa
        from alembic import op

        revision = "r1"
        down_revision = None


        def _add(table):
            op.add_column(table, sa.Column("note", sa.Text()))


        def upgrade():
            for table in ("orders", "carts"):
                _add(table)
    ''')
    revision = read_one(project, cwd)
    assert [(c.change.location.line, c.change.target) for c in revision.changes] == [
        (line_of(path, "op.add_column"), "orders.note"),
        (line_of(path, "op.add_column"), "carts.note"),
    ]


UNKNOWN_OP = '''
    from alembic import op
    from alembic.operations import MigrateOperation

    revision = "r1"
    down_revision = None


    class FrobnicateOp(MigrateOperation):
        """A custom operation nobody registered an implementation for."""

        def __init__(self, table_name):
            self.table_name = table_name


    def upgrade():
        op.invoke(FrobnicateOp("orders"))
'''


def test_unknown_custom_operation_cannot_run_offline(project: Path, cwd: Path) -> None:
    path = write_revision(project, UNKNOWN_OP)
    revision = read_one(project, cwd)
    assert revision.read_mode is ReadMode.AST
    assert "FrobnicateOp" in revision.unreadable_reason
    assert revision.unreadable_reason.endswith(f"(line {line_of(path, 'op.invoke')})")


def test_unknown_custom_operation_is_not_silently_skipped(project: Path, cwd: Path) -> None:
    path = write_revision(project, UNKNOWN_OP)
    revision = read_one(project, cwd)
    assert [(c.change.location.line, c.change.kind, c.phase) for c in revision.changes] == [
        (line_of(path, "op.invoke"), K.OPAQUE, Phase.UNKNOWN),
    ]
    assert revision.inferred_phase is Phase.UNKNOWN


def test_custom_operation_that_emits_nothing_offline_is_opaque(project: Path, cwd: Path) -> None:
    path = write_revision(project, '''
        from alembic import op
        from alembic.operations import MigrateOperation, Operations

        revision = "r1"
        down_revision = None


        class WarmCacheOp(MigrateOperation):
            pass


        @Operations.implementation_for(WarmCacheOp)
        def warm_cache(operations, operation):
            pass


        def upgrade():
            op.invoke(WarmCacheOp())
    ''')
    revision = read_one(project, cwd)
    assert revision.read_mode is ReadMode.OFFLINE
    (opaque,) = revision.changes
    assert (opaque.change.location.line, opaque.change.kind, opaque.phase) == (
        line_of(path, "op.invoke"), K.OPAQUE, Phase.UNKNOWN)
    assert opaque.change.operation == "WarmCacheOp"
    assert opaque.change.detail == "WarmCacheOp emitted no SQL offline"


SEQUENCE_OPS = '''\
"""Alembic's cookbook custom operation: an implementation that runs another operation."""
from alembic.operations import MigrateOperation, Operations


@Operations.register_operation("create_sequence")
class CreateSequenceOp(MigrateOperation):
    def __init__(self, sequence_name):
        self.sequence_name = sequence_name

    @classmethod
    def create_sequence(cls, operations, sequence_name):
        return operations.invoke(cls(sequence_name))


@Operations.implementation_for(CreateSequenceOp)
def create_sequence(operations, operation):
    operations.execute("CREATE SEQUENCE %s" % operation.sequence_name)
'''


@pytest.fixture
def sequence_ops(cwd: Path) -> Iterator[str]:
    """A module of custom operations next to the project, as an application would ship them."""
    module = "ec_test_sequence_ops"
    (cwd / f"{module}.py").write_text(SEQUENCE_OPS, encoding="utf-8")
    before = set(vars(Operations))
    yield module
    for name in set(vars(Operations)) - before:
        delattr(Operations, name)
    sys.modules.pop(module, None)


def test_custom_operation_running_another_operation_reads_as_what_it_runs(
    project: Path, cwd: Path, sequence_ops: str
) -> None:
    path = write_revision(project, f'''
        from alembic import op
        import {sequence_ops}  # noqa: F401

        revision = "r1"
        down_revision = None


        def upgrade():
            op.create_sequence("order_numbers")
    ''')
    revision = read_one(project, cwd)
    assert revision.read_mode is ReadMode.OFFLINE
    found: list[tuple[Any, ...]] = [
        (c.change.location.line, c.change.kind, c.change.name) for c in revision.changes
    ]
    assert found == [(line_of(path, "op.create_sequence"), K.CREATE_OBJECT, "order_numbers")]
    assert revision.inferred_phase is Phase.EXPAND
