"""What a contract revision takes away from the releases still running, derived from its changes:
dropped tables and columns, the old side of renames, retyped columns, and tightenings (SET NOT NULL,
DROP DEFAULT, new write restrictions) that the manifests can judge."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from expandcontract.model import CapturedRevision, Change, ChangeKind, ReadMode


class RemovalKind(StrEnum):
    SCHEMA = "schema"  # every table in the schema is gone
    TABLE = "table"  # the table is gone (dropped, renamed away, emptied)
    COLUMN = "column"  # the column is gone or changed type
    NOT_NULL = "not-null"  # NULL is no longer accepted
    DEFAULT = "default"  # the database no longer fills the value in
    WRITES = "writes"  # the column no longer accepts writes (GENERATED ALWAYS)
    UNJUDGED = "unjudged"  # a new write restriction no manifest can judge (needs requires_release)


@dataclass(frozen=True)
class Removal:
    kind: RemovalKind
    table: str
    column: str | None
    schema: str | None
    what: str  # "drops users.email"
    where: str  # path:line
    new_type: str | None = None  # a column swapped for one of this type: releases expecting it are fine

    @property
    def target(self) -> str:
        base = ".".join(p for p in (self.schema, self.table) if p)
        return f"{base}.{self.column}" if self.column else base


_VIEWS = ("view", "materialized view")


def _removal(change: Change) -> tuple[RemovalKind, str] | None:
    kind = change.kind
    if kind is ChangeKind.DROP_TABLE:
        return RemovalKind.TABLE, "drops"
    if kind is ChangeKind.RENAME_TABLE:
        return RemovalKind.TABLE, f"renames away (to {change.new_name})"
    if kind in (ChangeKind.TRUNCATE,) or (kind is ChangeKind.DELETE and not change.has_where):
        return RemovalKind.TABLE, "empties"
    if kind is ChangeKind.DROP_OBJECT and (change.object_type or "").lower() in _VIEWS:
        return RemovalKind.TABLE, f"drops the {change.object_type}"
    if kind is ChangeKind.DROP_OBJECT and (change.object_type or "").lower() == "schema":
        return RemovalKind.SCHEMA, "drops the schema"
    if kind is ChangeKind.DROP_COLUMN:
        return RemovalKind.COLUMN, "drops"
    if kind is ChangeKind.RENAME_COLUMN:
        return RemovalKind.COLUMN, f"renames away (to {change.new_name})"
    if kind is ChangeKind.ALTER_COLUMN_TYPE:
        return RemovalKind.COLUMN, f"changes the type of (to {change.type or 'a new type'})"
    if kind is ChangeKind.SWAP_COLUMN:
        return RemovalKind.COLUMN, f"swaps in a new column (type {change.type or 'unknown'}) for"
    if kind is ChangeKind.SET_NOT_NULL:
        return RemovalKind.NOT_NULL, "sets NOT NULL on"
    if kind is ChangeKind.DROP_DEFAULT:
        return RemovalKind.DEFAULT, "drops the default of"
    if kind is ChangeKind.RESTRICT_WRITES:
        return RemovalKind.WRITES, "stops accepting writes to"
    if kind is ChangeKind.ADD_CONSTRAINT and not change.not_valid:
        return RemovalKind.UNJUDGED, f"adds {change.constraint_type or 'a'} constraint {change.name or ''} on"
    return None


def removals_of(captured: CapturedRevision) -> tuple[list[Removal], list[str]]:
    """(what the revision removes, why what was read cannot be trusted to be complete)."""
    removals: list[Removal] = []
    untrusted: list[str] = []
    if captured.read_mode is ReadMode.AST:
        untrusted.append(
            f"{captured.info.path}: could not run offline ({captured.unreadable_reason}); "
            "what it removes may be incomplete"
        )
    for change in captured.changes:
        where = str(change.location)
        if change.kind is ChangeKind.OPAQUE:
            untrusted.append(f"{where}: a statement the gate cannot read ({change.detail or 'opaque'})")
            continue
        found = _removal(change)
        if found is None:
            continue
        kind, verb = found
        if kind is RemovalKind.SCHEMA:
            table, schema = "", change.name or change.schema
        else:  # views are named by `name`; what a manifest maps as a table
            table, schema = change.table or change.name or "", change.schema
        if not table and kind is not RemovalKind.SCHEMA:
            continue
        column = change.column if kind not in (RemovalKind.TABLE, RemovalKind.SCHEMA) else None
        target = ".".join(p for p in (schema, table, column) if p)
        new_type = change.type if change.kind is ChangeKind.SWAP_COLUMN else None
        what = " ".join(f"{verb} {target}".split())
        removals.append(Removal(kind, table, column, schema, what, where, new_type))
    return removals, untrusted
