"""Phased autogenerate: what `alembic revision --autogenerate` found, written as an expand revision
and a contract revision (which depends on it), each change as the recipe that keeps both releases
working (docs/autogenerate.md has the table):

- new tables, nullable columns, columns with a default, relaxed NOT NULLs, new defaults: expand;
- new indexes: expand, `CONCURRENTLY` inside `autocommit_block()`; dropped indexes: contract, alike;
- new foreign keys and checks (PostgreSQL): expand `NOT VALID`, validated in contract; new unique
  constraints (PostgreSQL): expand, a unique index built `CONCURRENTLY`, then `USING INDEX`;
- dropped tables, defaults and constraints: contract; dropped columns: contract, relaxed to
  nullable in expand when NOT NULL without a default (the new release's inserts leave them out);
- NOT NULL (a new NOT NULL column without a default is added nullable in expand, with a review
  note to backfill it): contract runs a NOT VALID check, its validation, SET NOT NULL (no scan on
  PostgreSQL 12+), and drops the check; the running release may still write NULL before that;
- renames (`info={"renamed_from": "old"}` or a `--rename` hint): expand adds the new column, keeps
  both in step (`op.ec_sync_columns`) and backfills it (`op.ec_backfill`); contract drops the
  trigger and the old column;
- anything else (an in-place type change, a new unique constraint, ...) goes to expand as
  autogenerate wrote it, under an `# expandcontract: review` comment, where lint judges it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import renderers
from alembic.autogenerate.render import render_op
from alembic.operations import MigrateOperation, ops
from alembic.util import rev_id

from expandcontract.alembic_ext.operations import (
    AddNotNullCheckOp,
    BackfillOp,
    DropSyncOp,
    SyncColumnsOp,
    ValidateConstraintOp,
)

REVIEW = "# expandcontract: review"


class AutocommitBlockOp(MigrateOperation):
    """Operations written inside `with op.get_context().autocommit_block():` (CONCURRENTLY)."""

    def __init__(self, operations: Iterable[MigrateOperation]) -> None:
        self.ops = list(operations)

    def reverse(self) -> AutocommitBlockOp:
        return AutocommitBlockOp(o.reverse() for o in reversed(self.ops))


class NoteOp(MigrateOperation):
    """A comment line in the generated revision."""

    def __init__(self, text: str) -> None:
        self.text = text

    def reverse(self) -> NoteOp:
        return NoteOp("")  # the note explains the upgrade; the downgrade needs none


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


@renderers.dispatch_for(BackfillOp)
def _render_backfill(autogen_context: Any, op: BackfillOp) -> str:
    options = "".join(f", {key}={value!r}" for key, value in op.options.items())
    return f"op.ec_backfill({op.table_name!r}, {op.set_!r}{options})"


@cache
def _quoter(dialect: str) -> Callable[[str], str]:
    """The project's dialect quotes the names written into SQL expressions (one dialect per run)."""
    quote: Callable[[str], str] = sa.dialects.registry.load(dialect)().identifier_preparer.quote
    return quote


class _Split:
    """Sorts one table's (or the top level's) operations into expand and contract."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.expand: list[MigrateOperation] = []
        self.contract: list[MigrateOperation] = []
        self.quote = _quoter(dialect)

    def rename(self, add: ops.AddColumnOp, drop: ops.DropColumnOp) -> None:
        """A rename as expand/contract: the new column kept in step with the old one by a trigger
        and backfilled; the trigger and the old column dropped after the rollout."""
        column, old = add.column, drop.column_name
        table, schema = add.table_name, add.schema
        required = not column.nullable and column.server_default is None
        column.nullable = True  # the old release does not write it; the trigger fills it
        # a type change rides along: info={"convert_using": "CAST({} AS ...)", "convert_back": ...}
        forward = str(column.info.get("convert_using", "{}"))
        backward = str(column.info.get("convert_back", "{}"))
        changes = "renamed and converted" if forward != "{}" else "renamed"
        self.expand += [
            NoteOp(f"{table}.{old} {changes} to {column.name}: a new column kept in step, then backfilled"),
            add,
            SyncColumnsOp(table, old, column.name, schema=schema, forward=forward, backward=backward),
            BackfillOp(
                table,
                {column.name: forward.replace("{}", self.quote(old))},
                where=f"{self.quote(column.name)} IS NULL",
                **({"schema": schema} if schema else {}),
            ),
        ]
        self.contract += [DropSyncOp(table, old, column.name, schema=schema), drop]
        if required:
            alter = ops.AlterColumnOp(
                table,
                column.name,
                schema=schema,
                modify_nullable=False,
                existing_nullable=True,
                existing_type=column.type,
            )
            self.not_null(table, column.name, schema, alter)

    def concurrently(self, operation: ops.CreateIndexOp | ops.DropIndexOp) -> AutocommitBlockOp:
        if self.dialect == "postgresql":
            operation.kw["postgresql_concurrently"] = True
        return AutocommitBlockOp([operation])

    def not_null(self, table: str, column: str, schema: str | None, alter: ops.AlterColumnOp) -> None:
        check = AddNotNullCheckOp(table, column, schema=schema)
        self.contract += [
            # the check is the recipe's first step, after the rollout on purpose: lint would call it
            # additive (EC002), so the note suppresses that, with the reason
            NoteOp(
                f"# expandcontract: ignore[EC002] -- {column} NOT NULL without a long lock: a NOT VALID "
                "check, its validation, then SET NOT NULL skips the scan"
            ),
            check,
            ValidateConstraintOp(table, check.name, schema=schema),
            alter,
            ops.DropConstraintOp(check.name, table, type_="check", schema=schema),
        ]

    def add(self, operation: MigrateOperation) -> None:
        match operation:
            case ops.CreateTableOp() | ops.CreateTableCommentOp():
                self.expand.append(operation)
            case ops.DropTableOp() | ops.DropConstraintOp():
                self.contract.append(operation)
            case ops.CreateIndexOp():
                self.expand.append(self.concurrently(operation))
            case ops.DropIndexOp():
                self.contract.append(self.concurrently(operation))
            case ops.AddColumnOp():
                self._add_column(operation)
            case ops.DropColumnOp():
                self._drop_column(operation)
            case ops.AlterColumnOp():
                self._alter_column(operation)
            case ops.CreateForeignKeyOp() | ops.CreateCheckConstraintOp() if self.dialect == "postgresql":
                self._not_valid(operation)
            case ops.CreateUniqueConstraintOp() if self.dialect == "postgresql" and operation.constraint_name:
                self._unique(operation)
            case _:
                self.review(
                    operation,
                    "no zero-downtime recipe for this change: check what it does to the running release",
                )

    def review(self, operation: MigrateOperation, why: str) -> None:
        self.expand += [NoteOp(f"{REVIEW}: {why}"), operation]

    def _add_column(self, operation: ops.AddColumnOp) -> None:
        column = operation.column
        if column.nullable or column.server_default is not None or column.computed is not None:
            self.expand.append(operation)
            return
        column.nullable = True  # added nullable: the running release does not write it yet
        table, schema = operation.table_name, operation.schema
        self.expand += [
            NoteOp(
                f"{REVIEW}: {table}.{column.name} is NOT NULL without a default in the models; it is "
                "added nullable here; backfill existing rows (op.ec_backfill) before the contract step"
            ),
            operation,
        ]
        self.not_null(
            table,
            column.name,
            schema,
            ops.AlterColumnOp(
                table,
                column.name,
                schema=schema,
                modify_nullable=False,
                existing_nullable=True,
                existing_type=column.type,
            ),
        )

    def _drop_column(self, operation: ops.DropColumnOp) -> None:
        column = operation.to_column()
        table, schema = operation.table_name, operation.schema
        if not column.nullable and column.server_default is None:
            # the new release no longer writes it: its inserts must work while the column exists
            self.expand.append(
                ops.AlterColumnOp(
                    table, column.name, schema=schema, modify_nullable=True, existing_type=column.type
                )
            )
        self.contract.append(operation)

    def _alter_column(self, operation: ops.AlterColumnOp) -> None:
        if operation.modify_type is not None or operation.modify_name is not None:
            self.review(
                operation,
                "an in-place type change or rename breaks the running release; add a new column, keep "
                "both in step (op.ec_sync_columns), backfill (op.ec_backfill), drop the old one in contract",
            )
        elif operation.modify_nullable is False:
            self.not_null(operation.table_name, operation.column_name, operation.schema, operation)
        elif operation.modify_server_default is None:  # Alembic: None drops it, False leaves it
            self.contract.append(operation)
        else:
            self.expand.append(operation)

    def _unique(self, operation: ops.CreateUniqueConstraintOp) -> None:
        """A unique index built CONCURRENTLY, then the constraint on top of it (no scan, brief lock)."""
        name, table, schema = str(operation.constraint_name), operation.table_name, operation.schema
        index = ops.CreateIndexOp(name, table, list(operation.columns), schema=schema, unique=True)
        qualified = f"{self.quote(schema)}.{self.quote(table)}" if schema else self.quote(table)
        self.expand += [
            self.concurrently(index),
            ops.ExecuteSQLOp(
                f"ALTER TABLE {qualified} ADD CONSTRAINT {self.quote(name)} "
                f"UNIQUE USING INDEX {self.quote(name)}"
            ),
        ]

    def _not_valid(self, operation: ops.CreateForeignKeyOp | ops.CreateCheckConstraintOp) -> None:
        """Checked for new writes at once, the existing rows validated later without blocking."""
        operation.kw["postgresql_not_valid"] = True
        self.expand.append(operation)
        if isinstance(operation, ops.CreateForeignKeyOp):
            table, schema = operation.source_table, operation.kw.get("source_schema")
        else:
            table, schema = operation.table_name, operation.schema
        if operation.constraint_name:
            self.contract.append(ValidateConstraintOp(table, str(operation.constraint_name), schema=schema))


Renames = Mapping[tuple[str, str], str]  # (table, new column) -> old column


def _renamed(operation: ops.ModifyTableOps, hints: Renames) -> dict[str, ops.DropColumnOp]:
    """New column name -> the drop of the column it renames, for the renames the models say
    (`Column(..., info={"renamed_from": "old"})`) or `--rename table.old:new` hints."""
    dropped = {o.column_name: o for o in operation.ops if isinstance(o, ops.DropColumnOp)}
    out: dict[str, ops.DropColumnOp] = {}
    for added in (o for o in operation.ops if isinstance(o, ops.AddColumnOp)):
        old = added.column.info.get("renamed_from") or hints.get((operation.table_name, added.column.name))
        if isinstance(old, str) and old in dropped:
            out[added.column.name] = dropped[old]
    return out


def split_operations(
    upgrade: ops.UpgradeOps, dialect: str, registry_prefix: str = "", renames: Renames | None = None
) -> tuple[list[MigrateOperation], list[MigrateOperation]]:
    """(expand operations, contract operations) for what autogenerate found."""
    expand: list[MigrateOperation] = []
    contract: list[MigrateOperation] = []
    for operation in upgrade.ops:
        if _ours(operation, registry_prefix):
            continue
        if isinstance(operation, ops.ModifyTableOps):
            split = _Split(dialect)
            renamed = _renamed(operation, renames or {})
            handled = {id(drop) for drop in renamed.values()}
            for inner in operation.ops:
                if isinstance(inner, ops.AddColumnOp) and inner.column.name in renamed:
                    split.rename(inner, renamed[inner.column.name])
                elif id(inner) not in handled:
                    split.add(inner)
            for ops_list, target in ((split.expand, expand), (split.contract, contract)):
                if ops_list:
                    target.append(ops.ModifyTableOps(operation.table_name, ops_list, schema=operation.schema))
        else:
            split = _Split(dialect)
            split.add(operation)
            expand += split.expand
            contract += split.contract
    return expand, contract


def phased_directives(
    expand_folder: Path,
    contract_folder: Path,
    dialect: str,
    registry_prefix: str = "",
    renames: Renames | None = None,
) -> Callable[[Any, Any, list[ops.MigrationScript]], None]:
    """A `process_revision_directives` that writes one autogenerated revision as an expand revision
    and a contract revision (which depends on it); nothing when autogenerate found nothing."""

    def process(context: Any, revision: Any, directives: list[ops.MigrationScript]) -> None:
        options = getattr(getattr(context, "config", None), "cmd_opts", None)
        if not directives or (options is not None and not getattr(options, "autogenerate", False)):
            return  # `alembic revision` without --autogenerate: an empty revision, as asked
        if any(d.head in ("expand@head", "contract@head") for d in directives):
            return  # split already (env.py's hook ran before expandcontract's own command)
        script = directives[0]
        if script.upgrade_ops is None or script.upgrade_ops.is_empty():
            directives[:] = []
            return
        expand, contract = split_operations(script.upgrade_ops, dialect, registry_prefix, renames)
        if not expand and not contract:
            directives[:] = []
            return
        message = script.message or "autogenerated"
        written: list[ops.MigrationScript] = []
        expand_id = script.rev_id or rev_id()
        if expand:
            written.append(
                _script(expand_id, expand, f"{message} (expand)", "expand@head", expand_folder, script)
            )
        if contract:
            depends = [expand_id] if expand else None
            written.append(
                _script(
                    rev_id(),
                    contract,
                    f"{message} (contract)",
                    "contract@head",
                    contract_folder,
                    script,
                    depends,
                )
            )
        directives[:] = written

    return process


def _script(
    revision: str,
    operations: list[MigrateOperation],
    message: str,
    head: str,
    folder: Path,
    template: ops.MigrationScript,
    depends_on: list[str] | None = None,
) -> ops.MigrationScript:
    upgrade = ops.UpgradeOps(ops=operations)
    return ops.MigrationScript(
        revision,
        upgrade,
        ops.DowngradeOps(ops=[_reverse(o) for o in reversed(operations)]),
        message=message,
        imports=template.imports,
        head=head,
        version_path=str(folder),
        depends_on=depends_on,
    )


def _reverse(operation: MigrateOperation) -> MigrateOperation:
    """The operation's undo, or a review note where autogenerate kept too little to write one."""
    if isinstance(operation, ops.ModifyTableOps):
        return ops.ModifyTableOps(
            operation.table_name, [_reverse(o) for o in reversed(operation.ops)], schema=operation.schema
        )
    if isinstance(operation, ValidateConstraintOp | BackfillOp):
        return NoteOp("")  # nothing to undo: a validation, values the old column still has
    try:
        return operation.reverse()
    except (ValueError, NotImplementedError, AttributeError):
        return NoteOp(f"{REVIEW}: write the downgrade of {type(operation).__name__} by hand")


def _ours(operation: MigrateOperation, prefix: str) -> bool:
    """An operation on the gate's registry, which SQLite keeps beside the application's tables:
    never the application's models' business."""
    name = getattr(operation, "table_name", None) or getattr(operation, "source_table", None) or ""
    return bool(prefix) and str(name).startswith(prefix)
