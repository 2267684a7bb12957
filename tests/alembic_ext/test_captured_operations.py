"""Each captured revision keeps the operation objects it ran, where, and the SQL they emitted."""

from __future__ import annotations

from pathlib import Path

from alembic.operations import ops

from expandcontract import api
from expandcontract.model import ReadMode
from expandcontract.settings import load_settings

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "all_ops"


def test_batch_operations_are_kept_with_their_own_lines_and_sql(tmp_path: Path) -> None:
    _, captured = api.capture(load_settings(script_location=FIXTURE, cwd=tmp_path))
    batch = next(c for c in captured if c.info.revision == "c3")
    assert [(o.name, o.location.line, o.sql) for o in batch.operations] == [
        ("AddColumnOp", 15, "ALTER TABLE orders ADD COLUMN flag BOOLEAN;"),
        ("DropColumnOp", 16, "ALTER TABLE orders DROP COLUMN obsolete;"),
        ("AlterColumnOp", 17, "ALTER TABLE orders RENAME flag TO is_flagged;"),
        ("CreateTableCommentOp", 18, "COMMENT ON TABLE orders IS 'customer orders';"),
    ]
    assert isinstance(batch.operations[0].operation, ops.AddColumnOp)
    assert batch.operations[0].operation.table_name == "orders"


def test_a_revision_read_from_its_ast_has_no_operation_objects(tmp_path: Path) -> None:
    _, captured = api.capture(load_settings(script_location=FIXTURE, cwd=tmp_path))
    reflects = next(c for c in captured if c.info.revision == "f6")
    assert reflects.read_mode is ReadMode.AST
    assert reflects.operations == () and reflects.changes
