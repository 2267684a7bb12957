"""Which table lock a change takes on PostgreSQL (the strongest, on the table it names)."""

from __future__ import annotations

from enum import IntEnum

from expandcontract.model import Change, ChangeKind, ConstraintType


class Lock(IntEnum):
    """PostgreSQL's table lock modes that matter here, weakest first."""

    NONE = 0
    ROW_EXCLUSIVE = 3  # DML: conflicts with SHARE and stronger
    SHARE_UPDATE_EXCLUSIVE = 4  # VALIDATE, CONCURRENTLY: reads and writes go on
    SHARE = 5  # CREATE INDEX: blocks writes
    SHARE_ROW_EXCLUSIVE = 6  # ADD FOREIGN KEY: blocks writes
    ACCESS_EXCLUSIVE = 8  # most ALTER TABLE forms: blocks reads and writes

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def blocks_writes(self) -> bool:
        return self >= Lock.SHARE


_ACCESS_EXCLUSIVE_KINDS = frozenset(
    {
        ChangeKind.DROP_TABLE,
        ChangeKind.RENAME_TABLE,
        ChangeKind.ADD_COLUMN,
        ChangeKind.DROP_COLUMN,
        ChangeKind.RENAME_COLUMN,
        ChangeKind.ALTER_COLUMN_TYPE,
        ChangeKind.SWAP_COLUMN,
        ChangeKind.SET_NOT_NULL,
        ChangeKind.DROP_NOT_NULL,
        ChangeKind.SET_DEFAULT,
        ChangeKind.DROP_DEFAULT,
        ChangeKind.RESTRICT_WRITES,
        ChangeKind.DROP_CONSTRAINT,
        ChangeKind.TRUNCATE,
    }
)
# objects whose DROP locks a relation that queries use (functions, types, schemas lock no table)
_RELATION_OBJECTS = frozenset({"view", "materialized view", "trigger", "policy", "rule", "sequence"})
_DML = frozenset({ChangeKind.INSERT, ChangeKind.UPDATE, ChangeKind.DELETE})


def _concurrent_or(change: Change, otherwise: Lock) -> Lock:
    return Lock.SHARE_UPDATE_EXCLUSIVE if change.concurrently else otherwise


def lock_of(change: Change) -> Lock:
    kind = change.kind
    if kind in _ACCESS_EXCLUSIVE_KINDS:
        return Lock.ACCESS_EXCLUSIVE
    if kind is ChangeKind.DROP_OBJECT:
        return Lock.ACCESS_EXCLUSIVE if (change.object_type or "") in _RELATION_OBJECTS else Lock.NONE
    if kind in _DML:
        return Lock.ROW_EXCLUSIVE
    if kind is ChangeKind.CREATE_INDEX:
        return _concurrent_or(change, Lock.SHARE)
    if kind in (ChangeKind.DROP_INDEX, ChangeKind.DETACH_PARTITION):
        return _concurrent_or(change, Lock.ACCESS_EXCLUSIVE)
    if kind is ChangeKind.ADD_CONSTRAINT:
        if change.constraint_type is ConstraintType.FOREIGN_KEY:
            return Lock.SHARE_ROW_EXCLUSIVE
        return Lock.ACCESS_EXCLUSIVE
    if kind in (ChangeKind.VALIDATE_CONSTRAINT, ChangeKind.ATTACH_PARTITION):
        return Lock.SHARE_UPDATE_EXCLUSIVE
    if kind is ChangeKind.RENAME_OBJECT:
        # PostgreSQL 12+ renames an index under SHARE UPDATE EXCLUSIVE
        return Lock.SHARE_UPDATE_EXCLUSIVE if change.object_type == "index" else Lock.ACCESS_EXCLUSIVE
    if kind is ChangeKind.TABLE_MAINTENANCE:
        if change.detail == "REINDEX":
            return _concurrent_or(change, Lock.SHARE)
        return Lock.ACCESS_EXCLUSIVE
    if kind is ChangeKind.LOCK_TABLE:
        mode = change.detail.upper().replace(" MODE", "").strip()
        return _LOCK_TABLE_MODES.get(mode, Lock.ACCESS_EXCLUSIVE)
    if kind is ChangeKind.OTHER_DDL and change.table and not change.column:
        return Lock.ACCESS_EXCLUSIVE  # ALTER TABLE ... (OWNER, REPLICA IDENTITY, ...)
    return Lock.NONE


_LOCK_TABLE_MODES = {
    "ACCESS SHARE": Lock.NONE,
    "ROW SHARE": Lock.NONE,
    "ROW EXCLUSIVE": Lock.ROW_EXCLUSIVE,
    "SHARE UPDATE EXCLUSIVE": Lock.SHARE_UPDATE_EXCLUSIVE,
    "SHARE": Lock.SHARE,
    "SHARE ROW EXCLUSIVE": Lock.SHARE_ROW_EXCLUSIVE,
    "EXCLUSIVE": Lock.ACCESS_EXCLUSIVE,
    "ACCESS EXCLUSIVE": Lock.ACCESS_EXCLUSIVE,
}
