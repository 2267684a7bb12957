"""The AST reader over-approximates: operations in nested functions, lambdas and aliases of `op`
are read, and a call named like an operation on an unknown object is opaque, never dropped."""

from __future__ import annotations

from expandcontract.alembic_ext.ast_reader import read_revision_ast
from expandcontract.model import ChangeKind

SOURCE = '''
from alembic import op


def upgrade():
    def drop(column):
        op.drop_column("users", column)

    ops = op
    ops.add_column("users", sa.Column("nick", sa.Text(), nullable=True))
    cleanup = lambda: op.drop_table("tmp_users")
    table = get_table()
    table.drop_column("legacy")
'''


def test_nested_definitions_aliases_and_unknown_receivers() -> None:
    changes = read_revision_ast(SOURCE, "r.py", "postgresql")

    assert [(c.location.line, c.kind, c.table, c.column) for c in changes] == [
        (7, ChangeKind.DROP_COLUMN, "users", None),
        (10, ChangeKind.ADD_COLUMN, "users", "nick"),
        (11, ChangeKind.DROP_TABLE, "tmp_users", None),
        (13, ChangeKind.OPAQUE, None, None),
    ]
    assert changes[3].detail == (
        "calls table.drop_column() on an object not known to be `op`: not read from source"
    )
