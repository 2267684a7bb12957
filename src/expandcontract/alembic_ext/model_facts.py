"""What a recipe needs to know that autogenerate's operations do not say, read from the models
(`target_metadata`) and the operations: a column's default as SQL, what ties a column to other
objects, the foreign key a drop removes, the renames the models hint at, and an alter_column that
changes several things as one per thing."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, cast

import sqlalchemy as sa
from alembic.operations import ops

Models = Mapping[str, sa.Table]  # "schema.table" or "table" -> the models' table
Renames = Mapping[tuple[str, str], str]  # (table, new column) -> old column


@cache
def dialect_named(name: str) -> sa.Dialect:
    """The project's dialect: it quotes the names and renders the defaults written into SQL
    expressions (one dialect per run)."""
    dialect: sa.Dialect = sa.dialects.registry.load(name)()
    return dialect


def default_sql(column: sa.Column[Any], dialect: sa.Dialect) -> str | None:
    """The model's default for `column` as an SQL expression: its server default, or a constant
    client-side default; None when there is none (or only a Python callable)."""
    if column.server_default is not None and isinstance(column.server_default, sa.DefaultClause):
        compiler = dialect.ddl_compiler(dialect, cast(Any, None))  # only its default rendering is used
        rendered = compiler.get_column_default_string(column)
        return str(rendered) if rendered is not None else None
    default = column.default
    if isinstance(default, sa.ColumnDefault) and default.is_scalar:
        literal = sa.literal(default.arg, column.type)
        try:
            return str(literal.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        except sa.exc.CompileError:  # a value SQLAlchemy cannot write as SQL (a JSON document)
            return None
    return None


def models_of(metadata: Any) -> dict[str, sa.Table]:
    """The tables of `target_metadata` (one MetaData or a sequence of them)."""
    found: dict[str, sa.Table] = {}
    for each in metadata if isinstance(metadata, list | tuple) else [metadata]:
        if isinstance(each, sa.MetaData):
            found.update(each.tables)
    return found


def one_change_each(operation: ops.AlterColumnOp) -> list[ops.AlterColumnOp]:
    """An alter_column that changes several things, as one alter_column per thing: each takes its
    own recipe (a type change and a NOT NULL do not share a phase)."""
    fields = {  # in this order: a swap sees its type first, a NOT NULL sees its new default
        "modify_type": None,
        "modify_server_default": False,
        "modify_nullable": None,
        "modify_comment": False,
        "modify_name": None,
    }
    changed = [name for name, unchanged in fields.items() if getattr(operation, name) is not unchanged]
    if len(changed) <= 1:
        return [operation]
    parts = []
    for name in changed:
        part = ops.AlterColumnOp(
            operation.table_name,
            operation.column_name,
            schema=operation.schema,
            existing_type=operation.existing_type,
            existing_server_default=operation.existing_server_default,
            existing_nullable=operation.existing_nullable,
            existing_comment=operation.existing_comment,
            **{name: getattr(operation, name)},
        )
        parts.append(part)
    return parts


def foreign_key_of(operation: ops.DropConstraintOp) -> sa.ForeignKeyConstraint | None:
    """The foreign key a drop_constraint autogenerate wrote removes (None: not one, or not known)."""
    if operation.constraint_type != "foreignkey":
        return None
    try:
        constraint = operation.to_constraint()
    except ValueError:  # written without the constraint it drops
        return None
    return constraint if isinstance(constraint, sa.ForeignKeyConstraint) else None


def swap_blockers(column: sa.Column[Any]) -> str | None:
    """What ties `column` to other objects the swap would lose with the old column, if anything:
    keys, constraints, and indexes that are not plain named column lists."""
    table = column.table
    if column.primary_key:
        return "is in the primary key"
    if column.foreign_keys or any(
        fk.column is column for other in table.metadata.tables.values() for fk in other.foreign_keys
    ):
        return "is in a foreign key"
    if column.computed is not None or column.identity is not None:
        return "is generated"
    for constraint in table.constraints:
        if (isinstance(constraint, sa.UniqueConstraint) and column.name in constraint.columns) or (
            isinstance(constraint, sa.CheckConstraint) and column.name in str(constraint.sqltext)
        ):
            return f"is under the constraint {constraint.name or '(unnamed)'}"
    for index in table.indexes:
        if column.name in index.columns and (
            index.name is None
            or len(index.expressions) != len(index.columns)
            or any(index.dialect_kwargs.values())
        ):
            return f"has the index {index.name or '(unnamed)'}, with expressions or options"
    return None


def renamed_columns(operation: ops.ModifyTableOps, hints: Renames) -> dict[str, ops.DropColumnOp]:
    """New column name -> the drop of the column it renames, for the renames the models say
    (`Column(..., info={"renamed_from": "old"})`) or `--rename table.old:new` hints."""
    dropped = {o.column_name: o for o in operation.ops if isinstance(o, ops.DropColumnOp)}
    out: dict[str, ops.DropColumnOp] = {}
    for added in (o for o in operation.ops if isinstance(o, ops.AddColumnOp)):
        old = added.column.info.get("renamed_from") or hints.get((operation.table_name, added.column.name))
        if isinstance(old, str) and old in dropped:
            out[added.column.name] = dropped[old]
    return out
