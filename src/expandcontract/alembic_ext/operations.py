"""expandcontract's own Alembic operations, the building blocks of the zero-downtime recipes:

    op.ec_sync_columns("users", "email", "email_address")   # keep two columns in step (a trigger)
    op.ec_drop_sync("users", "email", "email_address")
    op.ec_add_not_null_check("users", "name")                # CHECK (name IS NOT NULL) NOT VALID
    op.ec_validate_constraint("users", "ck_users_name_not_null")   # in its own transaction
    op.ec_fill_nulls("users", "name", "''")                   # NULL written as '' (a trigger)
    op.ec_drop_fill("users", "name")
    op.ec_swap_columns("orders", "amount", "amount__ec_new", new_type="BIGINT")  # drop + rename

They are registered with Alembic's documented extension API (`Operations.register_operation`) when
this module is imported: by the `alembic.plugins` entry point whenever Alembic loads, and by
expandcontract itself. Every identifier is quoted by the database's own preparer.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any

import sqlalchemy as sa
from alembic.operations import MigrateOperation, Operations

# PostgreSQL keeps 63 bytes of an identifier; longer generated names end in a hash instead
_MAX_NAME = 63


def generated_name(prefix: str, *parts: str) -> str:
    """`prefix_part_part`, cut to PostgreSQL's 63 bytes with a stable hash when longer."""
    name = "_".join((prefix, *parts))
    if len(name.encode()) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name.encode()[: _MAX_NAME - 11].decode(errors='ignore')}_{digest}"


def _q(operations: Operations, name: str) -> str:
    return str(operations.migration_context.dialect.identifier_preparer.quote(name))


def _table(operations: Operations, table: str, schema: str | None) -> str:
    return f"{_q(operations, schema)}.{_q(operations, table)}" if schema else _q(operations, table)


def _execute(operations: Operations, sql: str) -> None:
    operations.execute(sql)


def _dialect(operations: Operations) -> str:
    return str(operations.migration_context.dialect.name)


def _already_there(operations: Operations, catalog_query: str, name: str, table: str) -> bool:
    """Online on PostgreSQL: whether the trigger or constraint an operation creates exists already,
    left by an earlier run of the revision that failed after it committed that step (a validation
    that found NULLs, a backfill that was stopped): the run again goes on instead of failing."""
    context = operations.get_context()
    if context.as_sql or _dialect(operations) != "postgresql":
        return False
    found = operations.get_bind().execute(sa.text(catalog_query), {"name": name, "table": table}).first()
    return found is not None


_TRIGGER = "SELECT 1 FROM pg_trigger WHERE tgname = :name AND tgrelid = to_regclass(:table)"
_CONSTRAINT = "SELECT 1 FROM pg_constraint WHERE conname = :name AND conrelid = to_regclass(:table)"


# --- sync trigger ----------------------------------------------------------------------------------


def _apply(template: str, value: str) -> str:
    """A conversion expression with its `{}` replaced by the source value (`{}` alone: a copy)."""
    return template.replace("{}", value)


@Operations.register_operation("ec_sync_columns")
class SyncColumnsOp(MigrateOperation):
    """Keep `old` and `new` in step while two releases write one or the other.

    A row-level trigger copies the value the statement changed to the other column. It decides the
    direction by comparing values, not from a session setting, so it needs no `search_path` or
    application cooperation and works behind PgBouncer: on INSERT the new column wins when it is
    set (only the new release writes it; the old column may hold its default), else the old one
    fills it; on UPDATE it copies the column that changed when the other did not. So the new
    column must have no server default while the trigger runs (the recipes set it afterwards). `forward` and
    `backward` are SQL expressions with `{}` standing for the source value (for a type change:
    `forward="CAST({} AS bigint)"`); they default to a plain copy.
    """

    def __init__(
        self,
        table_name: str,
        old_column: str,
        new_column: str,
        *,
        schema: str | None = None,
        forward: str = "{}",
        backward: str = "{}",
    ) -> None:
        self.table_name, self.old_column, self.new_column = table_name, old_column, new_column
        self.schema, self.forward, self.backward = schema, forward, backward

    @classmethod
    def ec_sync_columns(
        cls,
        operations: Operations,
        table_name: str,
        old_column: str,
        new_column: str,
        *,
        schema: str | None = None,
        forward: str = "{}",
        backward: str = "{}",
    ) -> Any:
        """Install a trigger that keeps `old_column` and `new_column` of `table_name` in step."""
        return operations.invoke(
            cls(table_name, old_column, new_column, schema=schema, forward=forward, backward=backward)
        )

    def reverse(self) -> DropSyncOp:
        return DropSyncOp(self.table_name, self.old_column, self.new_column, schema=self.schema)

    @property
    def trigger_name(self) -> str:
        return generated_name("ec_sync", self.table_name, self.old_column, self.new_column)


@Operations.register_operation("ec_drop_sync")
class DropSyncOp(MigrateOperation):
    """Remove what `ec_sync_columns` installed (the contract half of a rename or type change)."""

    def __init__(
        self, table_name: str, old_column: str, new_column: str, *, schema: str | None = None
    ) -> None:
        self.table_name, self.old_column, self.new_column, self.schema = (
            table_name,
            old_column,
            new_column,
            schema,
        )

    @classmethod
    def ec_drop_sync(
        cls,
        operations: Operations,
        table_name: str,
        old_column: str,
        new_column: str,
        *,
        schema: str | None = None,
    ) -> Any:
        """Drop the trigger (and its function) that keeps the two columns in step."""
        return operations.invoke(cls(table_name, old_column, new_column, schema=schema))

    def reverse(self) -> SyncColumnsOp:
        return SyncColumnsOp(self.table_name, self.old_column, self.new_column, schema=self.schema)

    @property
    def trigger_name(self) -> str:
        return generated_name("ec_sync", self.table_name, self.old_column, self.new_column)


def _postgresql_sync(operations: Operations, op: SyncColumnsOp) -> list[str]:
    q = partial(_q, operations)
    old, new = q(op.old_column), q(op.new_column)
    to_new = _apply(op.forward, f"NEW.{old}")
    to_old = _apply(op.backward, f"NEW.{new}")
    body = f"""BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.{new} IS NOT NULL THEN
            NEW.{old} := {to_old};
        ELSIF NEW.{old} IS NOT NULL THEN
            NEW.{new} := {to_new};
        END IF;
    ELSIF NEW.{old} IS DISTINCT FROM OLD.{old} AND NEW.{new} IS NOT DISTINCT FROM OLD.{new} THEN
        NEW.{new} := {to_new};
    ELSIF NEW.{new} IS DISTINCT FROM OLD.{new} AND NEW.{old} IS NOT DISTINCT FROM OLD.{old} THEN
        NEW.{old} := {to_old};
    END IF;
    RETURN NEW;
END"""
    return _postgresql_trigger(operations, op.trigger_name, op.table_name, op.schema, body)


def _postgresql_trigger(
    operations: Operations, name: str, table: str, schema: str | None, body: str, when: str = ""
) -> list[str]:
    """A BEFORE INSERT OR UPDATE row trigger running `body` (plpgsql), its function named like it
    and kept in the table's schema (the trigger calls it by OID: no `search_path` needed)."""
    function = _table(operations, name, schema)
    condition = f"WHEN ({when}) " if when else ""
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
        f"$ec_trigger$\n{body}\n$ec_trigger$",
        f"CREATE TRIGGER {_q(operations, name)} BEFORE INSERT OR UPDATE ON "
        f"{_table(operations, table, schema)} FOR EACH ROW {condition}EXECUTE FUNCTION {function}()",
    ]


def _drop_postgresql_trigger(operations: Operations, name: str, table: str, schema: str | None) -> None:
    """What `_postgresql_trigger` created: the trigger, then its function."""
    _execute(
        operations, f"DROP TRIGGER IF EXISTS {_q(operations, name)} ON {_table(operations, table, schema)}"
    )
    _execute(operations, f"DROP FUNCTION IF EXISTS {_table(operations, name, schema)}()")


def _sqlite_sync(operations: Operations, op: SyncColumnsOp) -> list[str]:
    """SQLite has no BEFORE-row assignment: AFTER triggers update the row they fired for, by rowid
    (so not for WITHOUT ROWID tables). SQLite does not re-fire a trigger from itself by default."""
    q = partial(_q, operations)
    old, new = q(op.old_column), q(op.new_column)
    table = _table(operations, op.table_name, op.schema)
    to_new, to_old = _apply(op.forward, f"NEW.{old}"), _apply(op.backward, f"NEW.{new}")
    name = op.trigger_name
    create = "CREATE TRIGGER IF NOT EXISTS"  # a run again after a failure goes on
    return [
        f"{create} {q(generated_name(name, 'ins'))} AFTER INSERT ON {table} FOR EACH ROW BEGIN "
        f"UPDATE {table} SET {old} = {to_old} WHERE rowid = NEW.rowid AND NEW.{new} IS NOT NULL; "
        f"UPDATE {table} SET {new} = {to_new} WHERE rowid = NEW.rowid AND NEW.{new} IS NULL "
        f"AND NEW.{old} IS NOT NULL; END",
        f"{create} {q(generated_name(name, 'old'))} AFTER UPDATE OF {old} ON {table} FOR EACH ROW "
        f"WHEN NEW.{old} IS NOT OLD.{old} AND NEW.{new} IS OLD.{new} BEGIN "
        f"UPDATE {table} SET {new} = {to_new} WHERE rowid = NEW.rowid; END",
        f"{create} {q(generated_name(name, 'new'))} AFTER UPDATE OF {new} ON {table} FOR EACH ROW "
        f"WHEN NEW.{new} IS NOT OLD.{new} AND NEW.{old} IS OLD.{old} BEGIN "
        f"UPDATE {table} SET {old} = {to_old} WHERE rowid = NEW.rowid; END",
    ]


@Operations.implementation_for(SyncColumnsOp)
def _sync_columns(operations: Operations, op: SyncColumnsOp) -> None:
    dialect = _dialect(operations)
    if _already_there(operations, _TRIGGER, op.trigger_name, _table(operations, op.table_name, op.schema)):
        return
    if dialect == "postgresql":
        statements = _postgresql_sync(operations, op)
    elif dialect == "sqlite":
        statements = _sqlite_sync(operations, op)
    else:
        raise NotImplementedError(f"ec_sync_columns supports PostgreSQL and SQLite, not {dialect}")
    for statement in statements:
        _execute(operations, statement)


@Operations.implementation_for(DropSyncOp)
def _drop_sync(operations: Operations, op: DropSyncOp) -> None:
    dialect = _dialect(operations)
    if dialect == "postgresql":
        _drop_postgresql_trigger(operations, op.trigger_name, op.table_name, op.schema)
    elif dialect == "sqlite":
        for suffix in ("ins", "old", "new"):
            trigger = _table(operations, generated_name(op.trigger_name, suffix), op.schema)
            _execute(operations, f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        raise NotImplementedError(f"ec_drop_sync supports PostgreSQL and SQLite, not {dialect}")


@Operations.register_operation("ec_swap_columns")
class SwapColumnsOp(MigrateOperation):
    """Put `replacement` in the place of `column`: drop `column`, rename `replacement` to its name,
    in one transaction (catalog changes only: a brief ACCESS EXCLUSIVE lock, no rewrite). The
    contract half of a type change under the same name; `new_type` (the replacement's type, as
    `expandcontract.gate.manifest.type_name` spells it) tells the gate which releases expect it."""

    def __init__(
        self,
        table_name: str,
        column_name: str,
        replacement: str,
        *,
        new_type: str,
        schema: str | None = None,
    ) -> None:
        self.table_name, self.column_name, self.replacement = table_name, column_name, replacement
        self.new_type, self.schema = new_type, schema

    @classmethod
    def ec_swap_columns(
        cls,
        operations: Operations,
        table_name: str,
        column_name: str,
        replacement: str,
        *,
        new_type: str,
        schema: str | None = None,
    ) -> Any:
        """Drop `column_name` and rename `replacement` to it; `new_type` is the replacement's type
        as manifests spell it (`expandcontract.gate.manifest.type_name`: "BIGINT")."""
        return operations.invoke(cls(table_name, column_name, replacement, new_type=new_type, schema=schema))


@Operations.implementation_for(SwapColumnsOp)
def _swap_columns(operations: Operations, op: SwapColumnsOp) -> None:
    table = _table(operations, op.table_name, op.schema)
    column, replacement = _q(operations, op.column_name), _q(operations, op.replacement)
    # emitted as this operation's own SQL (not two op.execute() calls): read back, it is one swap,
    # not a drop the gate would hold against the release that expects the new column
    for statement in (
        f"ALTER TABLE {table} DROP COLUMN {column}",
        f"ALTER TABLE {table} RENAME COLUMN {replacement} TO {column}",
    ):
        operations.migration_context.impl.execute(statement)


# --- NOT NULL without a long lock ------------------------------------------------------------------


@Operations.register_operation("ec_fill_nulls")
class FillNullsOp(MigrateOperation):
    """A trigger that writes `value` (an SQL expression, usually the column's new default) wherever a
    row would be written with `column` NULL, on insert and on any update. It lets a release that
    still writes NULL run while a `CHECK (column IS NOT NULL) NOT VALID` already guards new rows:
    the trigger runs before the check. PostgreSQL only."""

    def __init__(self, table_name: str, column_name: str, value: str, *, schema: str | None = None):
        self.table_name, self.column_name, self.value, self.schema = table_name, column_name, value, schema

    @classmethod
    def ec_fill_nulls(
        cls,
        operations: Operations,
        table_name: str,
        column_name: str,
        value: str,
        *,
        schema: str | None = None,
    ) -> Any:
        """Install the trigger that replaces NULL in `column_name` by `value` on every write."""
        return operations.invoke(cls(table_name, column_name, value, schema=schema))

    def reverse(self) -> DropFillOp:
        return DropFillOp(self.table_name, self.column_name, schema=self.schema)

    @property
    def trigger_name(self) -> str:
        return generated_name("ec_fill", self.table_name, self.column_name)


@Operations.register_operation("ec_drop_fill")
class DropFillOp(MigrateOperation):
    """Remove what `ec_fill_nulls` installed, once no running release writes NULL."""

    def __init__(self, table_name: str, column_name: str, *, schema: str | None = None) -> None:
        self.table_name, self.column_name, self.schema = table_name, column_name, schema

    @classmethod
    def ec_drop_fill(
        cls, operations: Operations, table_name: str, column_name: str, *, schema: str | None = None
    ) -> Any:
        """Drop the NULL-filling trigger (and its function)."""
        return operations.invoke(cls(table_name, column_name, schema=schema))

    def reverse(self) -> MigrateOperation:
        raise NotImplementedError("the value the trigger filled in is not known here")

    @property
    def trigger_name(self) -> str:
        return generated_name("ec_fill", self.table_name, self.column_name)


def _needs_postgresql(operations: Operations, name: str) -> None:
    dialect = _dialect(operations)
    if dialect != "postgresql":
        raise NotImplementedError(f"{name} needs PostgreSQL, not {dialect}")


@Operations.implementation_for(FillNullsOp)
def _fill_nulls(operations: Operations, op: FillNullsOp) -> None:
    _needs_postgresql(operations, "ec_fill_nulls")
    column = _q(operations, op.column_name)
    if _already_there(operations, _TRIGGER, op.trigger_name, _table(operations, op.table_name, op.schema)):
        return
    body = f"BEGIN\n    NEW.{column} := {op.value};\n    RETURN NEW;\nEND"
    when = f"NEW.{column} IS NULL"
    for statement in _postgresql_trigger(operations, op.trigger_name, op.table_name, op.schema, body, when):
        _execute(operations, statement)


@Operations.implementation_for(DropFillOp)
def _drop_fill(operations: Operations, op: DropFillOp) -> None:
    _needs_postgresql(operations, "ec_drop_fill")
    _drop_postgresql_trigger(operations, op.trigger_name, op.table_name, op.schema)


@Operations.register_operation("ec_add_not_null_check")
class AddNotNullCheckOp(MigrateOperation):
    """`CHECK (column IS NOT NULL) NOT VALID`: new writes are checked at once, existing rows are
    not scanned (a brief lock). A later `ec_validate_constraint` scans without blocking writes, and
    PostgreSQL 12+ then sets NOT NULL without a scan of its own."""

    def __init__(
        self, table_name: str, column_name: str, *, name: str | None = None, schema: str | None = None
    ):
        self.table_name, self.column_name, self.schema = table_name, column_name, schema
        self.name = name or generated_name("ck", table_name, column_name, "not_null")

    @classmethod
    def ec_add_not_null_check(
        cls,
        operations: Operations,
        table_name: str,
        column_name: str,
        *,
        name: str | None = None,
        schema: str | None = None,
    ) -> Any:
        """Add `CHECK (column IS NOT NULL) NOT VALID` (PostgreSQL); returns nothing."""
        return operations.invoke(cls(table_name, column_name, name=name, schema=schema))

    def reverse(self) -> MigrateOperation:
        from alembic.operations import ops

        return ops.DropConstraintOp(self.name, self.table_name, type_="check", schema=self.schema)


@Operations.implementation_for(AddNotNullCheckOp)
def _add_not_null_check(operations: Operations, op: AddNotNullCheckOp) -> None:
    if _dialect(operations) != "postgresql":
        raise NotImplementedError("ec_add_not_null_check needs PostgreSQL (NOT VALID constraints)")
    table = _table(operations, op.table_name, op.schema)
    if _already_there(operations, _CONSTRAINT, op.name, table):
        return
    _execute(
        operations,
        f"ALTER TABLE {table} ADD CONSTRAINT {_q(operations, op.name)} "
        f"CHECK ({_q(operations, op.column_name)} IS NOT NULL) NOT VALID",
    )


@Operations.register_operation("ec_validate_constraint")
class ValidateConstraintOp(MigrateOperation):
    """`ALTER TABLE ... VALIDATE CONSTRAINT` in a transaction of its own (inside an
    `autocommit_block()`): the scan holds only a SHARE UPDATE EXCLUSIVE lock, and no lock the
    revision took before it is held for the length of the scan."""

    def __init__(self, table_name: str, constraint_name: str, *, schema: str | None = None) -> None:
        self.table_name, self.constraint_name, self.schema = table_name, constraint_name, schema

    @classmethod
    def ec_validate_constraint(
        cls, operations: Operations, table_name: str, constraint_name: str, *, schema: str | None = None
    ) -> Any:
        """Validate a NOT VALID constraint in its own transaction."""
        return operations.invoke(cls(table_name, constraint_name, schema=schema))


@Operations.implementation_for(ValidateConstraintOp)
def _validate_constraint(operations: Operations, op: ValidateConstraintOp) -> None:
    if _dialect(operations) != "postgresql":
        raise NotImplementedError("ec_validate_constraint needs PostgreSQL")
    table = _table(operations, op.table_name, op.schema)
    with operations.get_context().autocommit_block():
        _execute(operations, f"ALTER TABLE {table} VALIDATE CONSTRAINT {_q(operations, op.constraint_name)}")


# --- backfill --------------------------------------------------------------------------------------


@Operations.register_operation("ec_backfill")
class BackfillOp(MigrateOperation):
    """A keyset-batched backfill, outside the revision's DDL transaction (see
    `expandcontract.backfill`): `op.ec_backfill("users", {"email_address": "email"},
    where="email_address IS NULL")`. `run="later"` only records it, for `expandcontract backfill
    run` out of band; with `--sql` it is never run, and the SQL says how to run it."""

    def __init__(self, table_name: str, set_: dict[str, str], **options: Any) -> None:
        self.table_name, self.set_ = table_name, dict(set_)
        self.run = options.pop("run", "inline")
        if self.run not in ("inline", "later"):
            raise ValueError(f"ec_backfill run={self.run!r}: use 'inline' or 'later'")
        # the revision's later steps rely on it: paused (`backfill pause`) or stopped, it stops them
        self.must_finish = bool(options.pop("must_finish", False))
        self.options = options

    @classmethod
    def ec_backfill(cls, operations: Operations, table_name: str, set: dict[str, str], **options: Any) -> Any:
        """Fill `set` ({column: SQL expression}) in batches, outside the DDL transaction; options:
        where=, schema=, key=, batch_size=1000, target_seconds=0.05, sleep_seconds=0.05, name=,
        run="inline" | "later", must_finish=False (True: a pause stops the revision there)."""
        return operations.invoke(cls(table_name, set, **options))

    @property
    def spec(self) -> Any:
        from expandcontract.backfill import spec_from_arguments

        return spec_from_arguments(self.table_name, self.set_, **self.options)


@Operations.implementation_for(BackfillOp)
def _backfill(operations: Operations, op: BackfillOp) -> None:
    from expandcontract.backfill import Backfiller, Progress
    from expandcontract.errors import ExpandContractError

    spec = op.spec
    context = operations.get_context()
    if context.as_sql:  # nothing runs: say how to run it once the revision is applied
        context.impl.static_output(
            f"-- expandcontract: backfill {spec.backfill_name} runs in batches, out of band: "
            f"expandcontract backfill run '{spec.backfill_name}'\n"
        )
        return
    # the revision's DDL commits first: the batches never wait on its locks, nor hold them
    with context.autocommit_block():
        backfiller = Backfiller(operations.get_bind().engine, _registry(context), spec)
        if op.run == "later":
            backfiller.register()
            return
        state = backfiller.run(Progress())
        if op.must_finish and state.status != "done":
            raise ExpandContractError(
                f"backfill {spec.backfill_name} is {state.status} and the revision's next steps need it "
                f"done; it stopped before them: finish it (`expandcontract backfill run "
                f"'{spec.backfill_name}'`), then run what follows it in the revision (`alembic "
                "upgrade|downgrade --sql` prints it, with the alembic_version update)"
            )


def _registry(context: Any) -> Any:
    """The registry where the project's settings put it (the defaults without a project)."""
    from expandcontract.gate.registry import Registry
    from expandcontract.settings import load_settings

    engine = context.bind.engine
    config = getattr(getattr(context, "environment_context", None), "config", None)
    try:
        from pathlib import Path

        folder = (
            Path(config.config_file_name).resolve().parent if config and config.config_file_name else None
        )
        gate = load_settings(cwd=folder).gate
    except Exception:  # no project settings here: the defaults
        return Registry(engine)
    return Registry(engine, schema=gate.registry_schema, prefix=gate.registry_prefix)
