"""Change -> phase and hazards; revision -> inferred phase, and whether it fits its declared phase."""

from __future__ import annotations

from collections.abc import Callable

from expandcontract.model import (
    CapturedRevision,
    Change,
    ChangeKind,
    ClassifiedChange,
    ConstraintType,
    DeclaredPhase,
    Hazard,
    Phase,
    RevisionClassification,
)
from expandcontract.sql import TypeChange, type_change

Verdict = tuple[Phase, frozenset[Hazard]]
NONE: frozenset[Hazard] = frozenset()
LOCKING = frozenset({Hazard.LOCKING})
REWRITE = frozenset({Hazard.REWRITE, Hazard.LOCKING})
TRANSACTION = frozenset({Hazard.TRANSACTION})


def _concurrent(change: Change) -> frozenset[Hazard]:
    """Hazards of a statement that has a CONCURRENTLY form."""
    if not change.concurrently:
        return LOCKING
    return TRANSACTION if change.in_transaction else NONE


def _add_column(change: Change, dialect: str) -> Verdict:
    hazards = REWRITE if change.volatile_default or change.generated else NONE
    required = change.nullable is False and change.default is None and not change.generated
    return (Phase.RECIPE if required else Phase.EXPAND), hazards


def type_change_verdict(
    change: Change, dialect: str, postgresql_version: int = 16, session_timezone: str | None = None
) -> Verdict:
    """A type change old code accepts is expand (a rewrite if PostgreSQL must copy the table);
    any other needs the new-column recipe."""
    verdict = type_change(change.old_type, change.type, dialect, postgresql_version, session_timezone)
    if verdict is TypeChange.SAFE:
        return Phase.EXPAND, NONE
    if verdict is TypeChange.REWRITE:
        return Phase.EXPAND, REWRITE
    return Phase.RECIPE, REWRITE


def _alter_type(change: Change, dialect: str) -> Verdict:
    return type_change_verdict(change, dialect)


def _add_constraint(change: Change, dialect: str) -> Verdict:
    if change.using_index:
        return Phase.EXPAND, NONE
    validates = (
        change.constraint_type in (ConstraintType.FOREIGN_KEY, ConstraintType.CHECK) and not change.not_valid
    )
    builds_index = change.constraint_type in (
        ConstraintType.UNIQUE,
        ConstraintType.PRIMARY_KEY,
        ConstraintType.EXCLUDE,
        ConstraintType.UNKNOWN,
    )
    return Phase.EXPAND, (LOCKING if validates or builds_index else NONE)


def _maintenance(change: Change, dialect: str) -> Verdict:
    if change.detail == "REINDEX":
        return Phase.ANY, _concurrent(change) if change.concurrently else REWRITE
    return Phase.ANY, REWRITE


def _fixed(phase: Phase, hazards: frozenset[Hazard] = NONE) -> Callable[[Change, str], Verdict]:
    return lambda change, dialect: (phase, hazards)


_VERDICTS: dict[ChangeKind, Callable[[Change, str], Verdict]] = {
    ChangeKind.CREATE_TABLE: _fixed(Phase.EXPAND),
    ChangeKind.DROP_TABLE: _fixed(Phase.CONTRACT),
    ChangeKind.RENAME_TABLE: _fixed(Phase.RECIPE),
    ChangeKind.ADD_COLUMN: _add_column,
    ChangeKind.DROP_COLUMN: _fixed(Phase.CONTRACT),
    ChangeKind.RENAME_COLUMN: _fixed(Phase.RECIPE),
    ChangeKind.ALTER_COLUMN_TYPE: _alter_type,
    ChangeKind.SWAP_COLUMN: _fixed(Phase.CONTRACT),  # catalog only: a brief ACCESS EXCLUSIVE lock
    ChangeKind.SET_NOT_NULL: _fixed(Phase.CONTRACT, LOCKING),  # scans the table under ACCESS EXCLUSIVE
    ChangeKind.DROP_NOT_NULL: _fixed(Phase.EXPAND),
    ChangeKind.SET_DEFAULT: _fixed(Phase.EXPAND),
    ChangeKind.DROP_DEFAULT: _fixed(Phase.CONTRACT),
    ChangeKind.RESTRICT_WRITES: _fixed(Phase.CONTRACT),
    ChangeKind.CREATE_INDEX: lambda c, d: (Phase.EXPAND, _concurrent(c)),
    ChangeKind.DROP_INDEX: lambda c, d: (Phase.CONTRACT, _concurrent(c)),
    ChangeKind.ADD_CONSTRAINT: _add_constraint,
    ChangeKind.DROP_CONSTRAINT: _fixed(Phase.CONTRACT),
    ChangeKind.VALIDATE_CONSTRAINT: _fixed(Phase.ANY),  # new writes were already checked since NOT VALID
    ChangeKind.RENAME_OBJECT: _fixed(Phase.RECIPE),
    ChangeKind.CREATE_OBJECT: _fixed(Phase.EXPAND),
    ChangeKind.DROP_OBJECT: _fixed(Phase.CONTRACT),
    ChangeKind.ADD_ENUM_VALUE: lambda c, d: (Phase.EXPAND, TRANSACTION if c.in_transaction else NONE),
    ChangeKind.RENAME_ENUM_VALUE: _fixed(Phase.RECIPE),
    ChangeKind.INSERT: _fixed(Phase.DATA),
    ChangeKind.UPDATE: _fixed(Phase.DATA),
    ChangeKind.DELETE: lambda c, d: (Phase.DATA if c.has_where else Phase.CONTRACT, NONE),
    ChangeKind.TRUNCATE: _fixed(Phase.CONTRACT, LOCKING),
    ChangeKind.TABLE_MAINTENANCE: _maintenance,
    ChangeKind.ATTACH_PARTITION: _fixed(Phase.EXPAND, LOCKING),
    ChangeKind.DETACH_PARTITION: lambda c, d: (Phase.CONTRACT, _concurrent(c)),
    ChangeKind.LOCK_TABLE: _fixed(Phase.ANY, LOCKING),
    ChangeKind.QUERY: _fixed(Phase.ANY),
    ChangeKind.SESSION_SETTING: _fixed(Phase.ANY),
    ChangeKind.TRANSACTION_CONTROL: _fixed(Phase.ANY),
    ChangeKind.COMMENT: _fixed(Phase.ANY),
    ChangeKind.GRANT: _fixed(Phase.ANY),
    ChangeKind.OTHER_DDL: _fixed(Phase.ANY),
    ChangeKind.OPAQUE: _fixed(Phase.UNKNOWN),
}


def classify_change(change: Change, dialect: str = "postgresql") -> Verdict:
    """The phase a change is compatible with, and its locking/rewrite/transaction hazards."""
    return _VERDICTS[change.kind](change, dialect)


def fits(phase: Phase, declared: DeclaredPhase) -> bool:
    """Whether a change of `phase` may run where a revision of `declared` phase runs.

    Baseline revisions (at or before the branch point) are released history and always fit.
    """
    if declared is DeclaredPhase.BASELINE or phase in (Phase.ANY, Phase.DATA):
        return True
    if phase is Phase.EXPAND:
        return declared is not DeclaredPhase.CONTRACT
    if phase is Phase.CONTRACT:
        return declared is DeclaredPhase.CONTRACT
    return False  # RECIPE and UNKNOWN fit no single phase


_PRECEDENCE = (Phase.RECIPE, Phase.CONTRACT, Phase.UNKNOWN, Phase.EXPAND, Phase.DATA, Phase.ANY)


def inferred_phase(phases: list[Phase]) -> Phase | None:
    """The phase a whole revision needs: the strictest of its changes."""
    for phase in _PRECEDENCE:
        if phase in phases:
            return phase
    return None


def _table_key(change: Change) -> tuple[str, str] | None:
    if not change.table:
        return None
    return ((change.schema or "").lower(), change.table.lower())


def classify_revision(captured: CapturedRevision, dialect: str = "postgresql") -> RevisionClassification:
    declared = captured.info.declared_phase
    created: set[tuple[str, str]] = set()
    out: list[ClassifiedChange] = []
    for change in captured.changes:
        phase, hazards = classify_change(change, dialect)
        key = _table_key(change)
        if key in created:
            # no release has seen this table yet: nothing to lock out, nothing to keep compatible
            hazards = hazards & TRANSACTION
            if phase in (Phase.RECIPE, Phase.CONTRACT):
                phase = Phase.EXPAND
        if change.kind is ChangeKind.CREATE_TABLE and key is not None:
            created.add(key)
        out.append(ClassifiedChange(change=change, phase=phase, hazards=hazards, fits=fits(phase, declared)))
    return RevisionClassification(
        info=captured.info,
        read_mode=captured.read_mode,
        unreadable_reason=captured.unreadable_reason,
        inferred_phase=inferred_phase([c.phase for c in out]),
        changes=tuple(out),
        database_reads=captured.database_reads,
        stand_ins=captured.stand_ins,
    )
