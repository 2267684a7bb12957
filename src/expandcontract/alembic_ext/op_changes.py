"""Alembic operation objects -> `Change` objects, dispatched on the operation class.

Operations carry more than their SQL (an `alter_column`'s `existing_type`, a constraint's
`postgresql_not_valid`), so they are read directly; `op.execute()` and operations this module does
not know go through the SQL adapter on the SQL they emitted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import singledispatch
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.schema import Computed, DefaultClause, FetchedValue, Identity

from expandcontract.alembic_ext.operations import BackfillOp, SwapColumnsOp
from expandcontract.alembic_ext.stubs import stand_in_name
from expandcontract.model import Change, ChangeKind, ColumnSpec, ConstraintType, Location
from expandcontract.sql import VIRTUAL_ON_18, changes_from_sql, check_proves_not_null, is_volatile_default


@dataclass(frozen=True)
class OpContext:
    """Where an operation was called and what it emitted."""

    location: Location
    sql: str
    in_transaction: bool
    dialect: Dialect
    transaction: int = 0  # see Change.transaction

    def change(self, kind: ChangeKind, operation: ops.MigrateOperation, **fields: Any) -> Change:
        for key in ("table", "schema", "column", "name", "new_name"):
            if fields.get(key) is not None and not isinstance(fields[key], str):
                fields[key] = _text(fields[key])
        if "columns" in fields:
            fields["columns"] = tuple(_text(c) for c in fields["columns"])
        return Change(
            kind=kind,
            location=self.location,
            in_transaction=self.in_transaction,
            transaction=self.transaction,
            operation=type(operation).__name__,
            sql=self.sql.strip(),
            **fields,
        )

    def from_sql(self, operation: ops.MigrateOperation) -> list[Change]:
        name = type(operation).__name__
        if not self.sql.strip():
            return [self.change(ChangeKind.OPAQUE, operation, detail=f"{name} emitted no SQL offline")]
        found = changes_from_sql(
            self.sql,
            dialect=self.dialect.name,
            location=self.location,
            in_transaction=self.in_transaction,
            transaction=self.transaction,
        )
        return [_with_operation(c, name) for c in found]


def _text(value: object) -> str:
    """A name as text; one read through a stand-in (an app constant) says so: <myapp.models.TABLE>."""
    if isinstance(value, str):
        return value
    stood_in = stand_in_name(value)
    return f"<{stood_in}>" if stood_in else str(value)


def _with_operation(change: Change, name: str) -> Change:
    return replace(change, operation=name if name != "ExecuteSQLOp" else "execute")


def _type_sql(type_: Any, dialect: Dialect) -> str | None:
    if type_ is None:
        return None
    stood_in = stand_in_name(type_)
    if stood_in is not None:  # the application's own type, not installed: known by its name only
        return stood_in.rsplit(".", 1)[-1]
    try:
        return str(sa.types.to_instance(type_).compile(dialect=dialect))
    except Exception:
        return repr(type_)


def _default_sql(default: Any, dialect: Dialect) -> str | None:
    """A server default as SQL; None when there is none."""
    if default is None or default is False:
        return None
    if isinstance(default, DefaultClause):
        default = default.arg
    if isinstance(default, FetchedValue | Computed | Identity):
        return None
    if isinstance(default, str):
        return f"'{default}'"
    if isinstance(default, sa.sql.ClauseElement):
        return str(default.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return str(default)


def _virtual_on_18(column: sa.Column[Any]) -> bool:
    """`sa.Computed(...)` without `persisted=`: PostgreSQL 18 makes it virtual."""
    return column.computed is not None and column.computed.persisted is None


def _generated(column: sa.Column[Any], ctx: OpContext) -> bool:
    """Filled by the database on write: stored generated, identity, or serial (an autoincrement
    integer primary key, which the dialect renders as SERIAL in the emitted SQL)."""
    computed = column.computed
    if computed is not None:
        return computed.persisted is not False
    if column.identity is not None:
        return True
    if "SERIAL" not in ctx.sql.upper():  # parsing the SQL is only worth it for a serial
        return False
    emitted = changes_from_sql(ctx.sql, dialect=ctx.dialect.name, location=ctx.location)
    return any(c.generated for c in emitted if c.kind is ChangeKind.ADD_COLUMN and c.column == column.name)


@singledispatch
def changes_of(operation: ops.MigrateOperation, ctx: OpContext) -> list[Change]:
    """Operations this module does not model (custom or plugin ops): read what they emitted."""
    return ctx.from_sql(operation)


@changes_of.register
def _(operation: ops.ExecuteSQLOp, ctx: OpContext) -> list[Change]:
    return ctx.from_sql(operation)


@changes_of.register
def _(operation: ops.BulkInsertOp, ctx: OpContext) -> list[Change]:
    table = operation.table
    return [ctx.change(ChangeKind.INSERT, operation, table=table.name, schema=table.schema)]


_SERIAL_COLUMN = re.compile(  # `(id SERIAL` or `, "Big Id" BIGSERIAL` in a CREATE TABLE
    r'(?:\(|,)\s*(?:"([^"]+)"|([^\s",()]+))\s+((?:BIG|SMALL)?SERIAL)\b', re.IGNORECASE
)


@changes_of.register
def _(operation: ops.CreateTableOp, ctx: OpContext) -> list[Change]:
    specs = tuple(
        ColumnSpec(
            name=_text(c.name),
            type=_type_sql(c.type, ctx.dialect),
            nullable=bool(c.nullable),
            default=_default_sql(c.server_default, ctx.dialect),
        )
        for c in operation.columns
        if isinstance(c, sa.Column)
    )
    # the emitted SQL says what the dialect made of an autoincrement key: SERIAL (a regex is enough
    # here, and far cheaper than parsing the statement)
    found = _SERIAL_COLUMN.finditer(ctx.sql)
    serials = {(m.group(1) or m.group(2)).lower(): m.group(3).upper() for m in found}
    if serials:
        specs = tuple(replace(s, type=serials.get(s.name.lower(), s.type)) for s in specs)
    return [
        ctx.change(
            ChangeKind.CREATE_TABLE,
            operation,
            table=operation.table_name,
            schema=operation.schema,
            columns=tuple(c.name for c in specs),
            column_specs=specs,
        )
    ]


@changes_of.register
def _(operation: ops.DropTableOp, ctx: OpContext) -> list[Change]:
    return [ctx.change(ChangeKind.DROP_TABLE, operation, table=operation.table_name, schema=operation.schema)]


@changes_of.register
def _(operation: ops.RenameTableOp, ctx: OpContext) -> list[Change]:
    return [
        ctx.change(
            ChangeKind.RENAME_TABLE,
            operation,
            table=operation.table_name,
            schema=operation.schema,
            new_name=operation.new_table_name,
        )
    ]


@changes_of.register
def _(operation: ops.AddColumnOp, ctx: OpContext) -> list[Change]:
    column = operation.column
    default = _default_sql(column.server_default, ctx.dialect)
    table = {"table": operation.table_name, "schema": operation.schema}
    out = [
        ctx.change(
            ChangeKind.ADD_COLUMN,
            operation,
            column=column.name,
            type=_type_sql(column.type, ctx.dialect),
            nullable=bool(column.nullable),
            default=default,
            volatile_default=bool(default) and is_volatile_default(default or "", ctx.dialect.name),
            generated=_generated(column, ctx),
            detail=VIRTUAL_ON_18 if _virtual_on_18(column) else "",
            **table,
        )
    ]
    # Alembic also emits the column's foreign keys and indexes; they lock like any other
    for fk in column.foreign_keys:
        out.append(
            ctx.change(
                ChangeKind.ADD_CONSTRAINT,
                operation,
                constraint_type=ConstraintType.FOREIGN_KEY,
                name=fk.name if isinstance(fk.name, str) else None,
                columns=(column.name,),
                **table,
            )
        )
    if column.index or column.unique:
        out.append(
            ctx.change(
                ChangeKind.CREATE_INDEX,
                operation,
                columns=(column.name,),
                unique=bool(column.unique),
                **table,
            )
        )
    return out


@changes_of.register
def _(operation: ops.DropColumnOp, ctx: OpContext) -> list[Change]:
    return [
        ctx.change(
            ChangeKind.DROP_COLUMN,
            operation,
            table=operation.table_name,
            schema=operation.schema,
            column=operation.column_name,
        )
    ]


@changes_of.register
def _(operation: ops.AlterColumnOp, ctx: OpContext) -> list[Change]:
    base = {"table": operation.table_name, "schema": operation.schema, "column": operation.column_name}
    out: list[Change] = []
    if operation.modify_type is not None:
        out.append(
            ctx.change(
                ChangeKind.ALTER_COLUMN_TYPE,
                operation,
                type=_type_sql(operation.modify_type, ctx.dialect),
                old_type=_type_sql(operation.existing_type, ctx.dialect),
                detail="USING " + str(operation.kw["postgresql_using"])
                if operation.kw.get("postgresql_using")
                else "",
                **base,
            )
        )
    if operation.modify_nullable is not None:
        kind = ChangeKind.DROP_NOT_NULL if operation.modify_nullable else ChangeKind.SET_NOT_NULL
        out.append(ctx.change(kind, operation, nullable=bool(operation.modify_nullable), **base))
    if operation.modify_server_default is not False:
        default = _default_sql(operation.modify_server_default, ctx.dialect)
        if default is None:
            out.append(ctx.change(ChangeKind.DROP_DEFAULT, operation, **base))
        else:
            out.append(
                ctx.change(
                    ChangeKind.SET_DEFAULT,
                    operation,
                    default=default,
                    volatile_default=is_volatile_default(default, ctx.dialect.name),
                    **base,
                )
            )
    if operation.modify_comment is not False:
        out.append(ctx.change(ChangeKind.COMMENT, operation, **base))
    if operation.modify_name is not None:
        # last: the other modifications still name the old column in Alembic's SQL
        out.append(ctx.change(ChangeKind.RENAME_COLUMN, operation, new_name=operation.modify_name, **base))
    return out


@changes_of.register
def _(operation: ops.CreateIndexOp, ctx: OpContext) -> list[Change]:
    columns = tuple(c if isinstance(c, str) else str(getattr(c, "text", c)) for c in operation.columns)
    return [
        ctx.change(
            ChangeKind.CREATE_INDEX,
            operation,
            table=operation.table_name,
            schema=operation.schema,
            name=operation.index_name,
            columns=columns,
            unique=bool(operation.unique),
            concurrently=bool(operation.kw.get("postgresql_concurrently")),
        )
    ]


@changes_of.register
def _(operation: ops.DropIndexOp, ctx: OpContext) -> list[Change]:
    return [
        ctx.change(
            ChangeKind.DROP_INDEX,
            operation,
            table=operation.table_name,
            schema=operation.schema,
            name=operation.index_name,
            concurrently=bool(operation.kw.get("postgresql_concurrently")),
        )
    ]


def _add_constraint(
    ctype: ConstraintType, columns_of: Callable[[Any], tuple[str, ...]]
) -> Callable[..., list[Change]]:
    def handler(operation: Any, ctx: OpContext) -> list[Change]:
        table = getattr(operation, "table_name", None) or getattr(operation, "source_table", None)
        schema = getattr(operation, "schema", None) or operation.kw.get("source_schema")
        return [
            ctx.change(
                ChangeKind.ADD_CONSTRAINT,
                operation,
                table=table,
                schema=schema,
                name=operation.constraint_name,
                constraint_type=ctype,
                columns=columns_of(operation),
                not_valid=bool(operation.kw.get("postgresql_not_valid")),
            )
        ]

    return handler


changes_of.register(
    ops.CreatePrimaryKeyOp, _add_constraint(ConstraintType.PRIMARY_KEY, lambda o: tuple(o.columns))
)
changes_of.register(
    ops.CreateUniqueConstraintOp, _add_constraint(ConstraintType.UNIQUE, lambda o: tuple(o.columns))
)
changes_of.register(
    ops.CreateForeignKeyOp, _add_constraint(ConstraintType.FOREIGN_KEY, lambda o: tuple(o.local_cols))
)


def _check_condition(operation: ops.CreateCheckConstraintOp, dialect: Dialect) -> tuple[str, ...]:
    condition = operation.condition
    if isinstance(condition, sa.sql.ClauseElement):
        try:
            condition = str(condition.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        except Exception:
            return ()
    return check_proves_not_null(str(condition), dialect.name) if condition is not None else ()


@changes_of.register
def _(operation: ops.CreateCheckConstraintOp, ctx: OpContext) -> list[Change]:
    change = _add_constraint(ConstraintType.CHECK, lambda o: ())(operation, ctx)[0]
    proof = _check_condition(operation, ctx.dialect)
    return [replace(change, proves_not_null=proof, columns=proof)]


_DROP_TYPES = {
    "foreignkey": ConstraintType.FOREIGN_KEY,
    "unique": ConstraintType.UNIQUE,
    "check": ConstraintType.CHECK,
    "primary": ConstraintType.PRIMARY_KEY,
}


@changes_of.register
def _(operation: ops.DropConstraintOp, ctx: OpContext) -> list[Change]:
    ctype = _DROP_TYPES.get(operation.constraint_type or "", ConstraintType.UNKNOWN)
    return [
        ctx.change(
            ChangeKind.DROP_CONSTRAINT,
            operation,
            table=operation.table_name,
            schema=operation.schema,
            name=operation.constraint_name,
            constraint_type=ctype,
        )
    ]


@changes_of.register
def _(operation: ops.CreateTableCommentOp, ctx: OpContext) -> list[Change]:
    return [ctx.change(ChangeKind.COMMENT, operation, table=operation.table_name, schema=operation.schema)]


@changes_of.register
def _(operation: ops.DropTableCommentOp, ctx: OpContext) -> list[Change]:
    return [ctx.change(ChangeKind.COMMENT, operation, table=operation.table_name, schema=operation.schema)]


@changes_of.register
def _(operation: BackfillOp, ctx: OpContext) -> list[Change]:
    """A batched backfill: the UPDATE it runs, batch by batch, each in a transaction of its own."""
    spec = operation.spec
    preparer = ctx.dialect.identifier_preparer
    table = (
        f"{preparer.quote(spec.schema)}.{preparer.quote(spec.table)}"
        if spec.schema
        else preparer.quote(spec.table)
    )
    assignments = ", ".join(f"{preparer.quote(column)} = {expression}" for column, expression in spec.set)
    statement = f"UPDATE {table} SET {assignments} WHERE {spec.where or 'TRUE'}"
    found = changes_from_sql(statement, dialect=ctx.dialect.name, location=ctx.location)
    return [
        replace(
            c,
            in_transaction=False,
            has_where=True,
            batched=True,
            transaction=ctx.transaction,
            operation=type(operation).__name__,
            sql=ctx.sql.strip() or statement,
            detail=f"batched backfill {spec.backfill_name}",
        )
        for c in found
    ]


@changes_of.register
def _(operation: SwapColumnsOp, ctx: OpContext) -> list[Change]:
    """One swap: the old column gone, the replacement (of `new_type`) under its name."""
    return [
        ctx.change(
            ChangeKind.SWAP_COLUMN,
            operation,
            table=operation.table_name,
            schema=operation.schema,
            column=operation.column_name,
            columns=(operation.replacement,),
            type=operation.new_type,
        )
    ]
