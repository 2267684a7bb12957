"""How the phased autogenerate writes its operations into a revision, and their undoing into its
downgrade: Alembic renderers for expandcontract's operations, a comment line (`NoteOp`), an
`autocommit_block()` (`AutocommitBlockOp`), and `downgrade_of`, which reverses a revision's
operations, using the undo a recipe attached where the operation alone knows too little."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from alembic.autogenerate import renderers
from alembic.autogenerate.render import render_op
from alembic.operations import MigrateOperation, ops

from expandcontract.alembic_ext.operations import (
    AddNotNullCheckOp,
    BackfillOp,
    DropFillOp,
    DropSyncOp,
    FillNullsOp,
    SwapColumnsOp,
    SyncColumnsOp,
    ValidateConstraintOp,
)

REVIEW = "# expandcontract: review"


class AutocommitBlockOp(MigrateOperation):
    """Operations written inside `with op.get_context().autocommit_block():` (CONCURRENTLY)."""

    def __init__(self, operations: Iterable[MigrateOperation]) -> None:
        self.ops = list(operations)


class NoteOp(MigrateOperation):
    """A comment line in the generated revision."""

    def __init__(self, text: str) -> None:
        self.text = text


class PassOp(MigrateOperation):
    """`pass`: a body whose operations are all notes still needs a statement."""


@renderers.dispatch_for(PassOp)
def _render_pass(autogen_context: Any, op: PassOp) -> str:
    return "pass"


def _runs_something(operations: Sequence[MigrateOperation]) -> bool:
    for operation in operations:
        if isinstance(operation, ops.ModifyTableOps | AutocommitBlockOp):
            if _runs_something(operation.ops):
                return True
        elif not isinstance(operation, NoteOp):
            return True
    return False


def runnable(operations: Sequence[MigrateOperation]) -> list[MigrateOperation]:
    """`operations`, with a `pass` after them when they are only comments (or nothing)."""
    if not operations or _runs_something(operations):
        return list(operations)  # Alembic writes `pass` for an empty body itself
    return [*operations, PassOp()]


@renderers.dispatch_for(AutocommitBlockOp)
def _render_block(autogen_context: Any, op: AutocommitBlockOp) -> list[str]:
    lines = ["with op.get_context().autocommit_block():"]
    for inner in op.ops:
        lines += render_op(autogen_context, inner)
    return [*lines, ""]


@renderers.dispatch_for(NoteOp)
def _render_note(autogen_context: Any, op: NoteOp) -> list[str]:
    return [line if line.startswith("#") else f"# {line}" for line in op.text.splitlines()]


def _kw(schema: str | None) -> str:
    return f", schema={schema!r}" if schema else ""


@renderers.dispatch_for(AddNotNullCheckOp)
def _render_not_null_check(autogen_context: Any, op: AddNotNullCheckOp) -> str:
    return (
        f"op.ec_add_not_null_check({op.table_name!r}, {op.column_name!r}, name={op.name!r}{_kw(op.schema)})"
    )


@renderers.dispatch_for(ValidateConstraintOp)
def _render_validate(autogen_context: Any, op: ValidateConstraintOp) -> str:
    return f"op.ec_validate_constraint({op.table_name!r}, {op.constraint_name!r}{_kw(op.schema)})"


@renderers.dispatch_for(SyncColumnsOp)
def _render_sync(autogen_context: Any, op: SyncColumnsOp) -> str:
    conversions = "".join(
        f", {name}={value!r}"
        for name, value in (("forward", op.forward), ("backward", op.backward))
        if value != "{}"
    )
    columns = f"{op.table_name!r}, {op.old_column!r}, {op.new_column!r}"
    return f"op.ec_sync_columns({columns}{_kw(op.schema)}{conversions})"


@renderers.dispatch_for(DropSyncOp)
def _render_drop_sync(autogen_context: Any, op: DropSyncOp) -> str:
    return f"op.ec_drop_sync({op.table_name!r}, {op.old_column!r}, {op.new_column!r}{_kw(op.schema)})"


@renderers.dispatch_for(FillNullsOp)
def _render_fill(autogen_context: Any, op: FillNullsOp) -> str:
    return f"op.ec_fill_nulls({op.table_name!r}, {op.column_name!r}, {op.value!r}{_kw(op.schema)})"


@renderers.dispatch_for(DropFillOp)
def _render_drop_fill(autogen_context: Any, op: DropFillOp) -> str:
    return f"op.ec_drop_fill({op.table_name!r}, {op.column_name!r}{_kw(op.schema)})"


@renderers.dispatch_for(SwapColumnsOp)
def _render_swap(autogen_context: Any, op: SwapColumnsOp) -> str:
    return (
        f"op.ec_swap_columns({op.table_name!r}, {op.column_name!r}, {op.replacement!r}, "
        f"new_type={op.new_type!r}{_kw(op.schema)})"
    )


@renderers.dispatch_for(BackfillOp)
def _render_backfill(autogen_context: Any, op: BackfillOp) -> str:
    options = "".join(f", {key}={value!r}" for key, value in op.options.items())
    finish = ", must_finish=True" if op.must_finish else ""
    return f"op.ec_backfill({op.table_name!r}, {op.set_!r}{options}{finish})"


# --- downgrades ------------------------------------------------------------------------------------

Op = TypeVar("Op", bound=MigrateOperation)
_UNDO = "expandcontract_undo"


def with_undo(operation: Op, undo: Sequence[MigrateOperation]) -> Op:
    """`operation`, undone in the downgrade by `undo` (run in that order) instead of its own
    reverse: what a recipe knows and the operation does not (a conversion, a fill value, a
    constraint that owns an index)."""
    setattr(operation, _UNDO, list(undo))  # this operation object only, for this generation
    return operation


def downgrade_of(operations: Sequence[MigrateOperation]) -> list[MigrateOperation]:
    """The downgrade of a revision's operations: each undone, last first."""
    return [undo for operation in reversed(operations) for undo in _undo(operation)]


def _undo(operation: MigrateOperation) -> list[MigrateOperation]:
    """An operation's undo, or a review note where autogenerate kept too little to write one."""
    attached: list[MigrateOperation] | None = getattr(operation, _UNDO, None)
    if attached is not None:
        return attached
    if isinstance(operation, ops.ModifyTableOps):
        inner = downgrade_of(operation.ops)
        return [ops.ModifyTableOps(operation.table_name, inner, schema=operation.schema)] if inner else []
    if isinstance(operation, AutocommitBlockOp):
        inner = downgrade_of(operation.ops)
        return [AutocommitBlockOp(inner)] if inner else []
    if isinstance(operation, NoteOp | ValidateConstraintOp | BackfillOp):
        return []  # an explanation, a validation, values the old column still has
    if isinstance(operation, ops.DropTableOp) and operation._reverse is not None:
        return [
            NoteOp(f"{REVIEW}: {operation.table_name} comes back empty: its rows were dropped"),
            operation.reverse(),
        ]
    if isinstance(operation, ops.DropColumnOp):
        column = operation.to_column()
        column.nullable = True  # its values are gone: NOT NULL could not hold
        return [
            NoteOp(
                f"{REVIEW}: {operation.column_name} comes back nullable and empty: its values were dropped"
            ),
            ops.AddColumnOp(operation.table_name, column, schema=operation.schema),
        ]
    try:
        return [operation.reverse()]
    except (ValueError, NotImplementedError, AttributeError):
        return [NoteOp(f"{REVIEW}: write the downgrade of {type(operation).__name__} by hand")]
