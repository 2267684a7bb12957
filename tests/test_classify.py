"""Changes -> phase and hazards; revisions -> inferred phase and whether they fit where they sit."""

from __future__ import annotations

from typing import Any

import pytest

from expandcontract.classify import classify_change, classify_revision, fits, inferred_phase
from expandcontract.model import (
    CapturedRevision,
    Change,
    ChangeKind,
    ConstraintType,
    DeclaredPhase,
    Hazard,
    Location,
    Phase,
    ReadMode,
    RevisionInfo,
)

K = ChangeKind
NONE: frozenset[Hazard] = frozenset()
LOCKING = frozenset({Hazard.LOCKING})
REWRITE = frozenset({Hazard.REWRITE, Hazard.LOCKING})
TRANSACTION = frozenset({Hazard.TRANSACTION})


def change(kind: ChangeKind, **fields: Any) -> Change:
    return Change(kind=kind, location=Location("r.py", 1), **fields)


def info(declared: DeclaredPhase = DeclaredPhase.UNPHASED) -> RevisionInfo:
    return RevisionInfo(revision="r1", path="r.py", message="m", down_revisions=(), depends_on=(),
                        branch_labels=(), declared_phase=declared)


def revision(*changes: Change, declared: DeclaredPhase = DeclaredPhase.UNPHASED) -> CapturedRevision:
    return CapturedRevision(info=info(declared), changes=changes, read_mode=ReadMode.OFFLINE)


# The verdict for a plain example of every kind (in a transaction, not concurrent, no extras).
VERDICTS: dict[ChangeKind, tuple[dict[str, Any], Phase, frozenset[Hazard]]] = {
    K.CREATE_TABLE: ({}, Phase.EXPAND, NONE),
    K.DROP_TABLE: ({}, Phase.CONTRACT, NONE),
    K.RENAME_TABLE: ({}, Phase.RECIPE, NONE),
    K.ADD_COLUMN: ({"nullable": True}, Phase.EXPAND, NONE),
    K.DROP_COLUMN: ({}, Phase.CONTRACT, NONE),
    K.RENAME_COLUMN: ({}, Phase.RECIPE, NONE),
    K.ALTER_COLUMN_TYPE: ({"type": "BIGINT"}, Phase.RECIPE, REWRITE),
    K.SWAP_COLUMN: ({"type": "BIGINT", "columns": ("qty__ec_new",)}, Phase.CONTRACT, NONE),
    K.SET_NOT_NULL: ({}, Phase.CONTRACT, LOCKING),
    K.DROP_NOT_NULL: ({}, Phase.EXPAND, NONE),
    K.SET_DEFAULT: ({"default": "0"}, Phase.EXPAND, NONE),
    K.DROP_DEFAULT: ({}, Phase.CONTRACT, NONE),
    K.RESTRICT_WRITES: ({}, Phase.CONTRACT, NONE),
    K.CREATE_INDEX: ({}, Phase.EXPAND, LOCKING),
    K.DROP_INDEX: ({}, Phase.CONTRACT, LOCKING),
    K.ADD_CONSTRAINT: ({"constraint_type": ConstraintType.UNKNOWN}, Phase.EXPAND, LOCKING),
    K.DROP_CONSTRAINT: ({}, Phase.CONTRACT, NONE),
    K.VALIDATE_CONSTRAINT: ({}, Phase.ANY, NONE),
    K.RENAME_OBJECT: ({}, Phase.RECIPE, NONE),
    K.CREATE_OBJECT: ({}, Phase.EXPAND, NONE),
    K.DROP_OBJECT: ({}, Phase.CONTRACT, NONE),
    K.ADD_ENUM_VALUE: ({}, Phase.EXPAND, TRANSACTION),
    K.RENAME_ENUM_VALUE: ({}, Phase.RECIPE, NONE),
    K.INSERT: ({}, Phase.DATA, NONE),
    K.UPDATE: ({}, Phase.DATA, NONE),
    K.DELETE: ({"has_where": True}, Phase.DATA, NONE),
    K.TRUNCATE: ({}, Phase.CONTRACT, LOCKING),
    K.TABLE_MAINTENANCE: ({"detail": "VACUUM FULL"}, Phase.ANY, REWRITE),
    K.ATTACH_PARTITION: ({}, Phase.EXPAND, LOCKING),
    K.DETACH_PARTITION: ({}, Phase.CONTRACT, LOCKING),
    K.LOCK_TABLE: ({}, Phase.ANY, LOCKING),
    K.QUERY: ({}, Phase.ANY, NONE),
    K.SESSION_SETTING: ({}, Phase.ANY, NONE),
    K.TRANSACTION_CONTROL: ({}, Phase.ANY, NONE),
    K.COMMENT: ({}, Phase.ANY, NONE),
    K.GRANT: ({}, Phase.ANY, NONE),
    K.OTHER_DDL: ({}, Phase.ANY, NONE),
    K.OPAQUE: ({"detail": "cannot parse"}, Phase.UNKNOWN, NONE),
}


@pytest.mark.parametrize("kind", list(ChangeKind))
def test_every_kind_has_a_verdict(kind: ChangeKind) -> None:
    fields, phase, hazards = VERDICTS[kind]  # a new kind must be added here, and to classify._VERDICTS
    assert classify_change(change(kind, **fields)) == (phase, hazards)


# --- verdicts that depend on the change's fields -------------------------------------------------


@pytest.mark.parametrize("kind", [K.CREATE_INDEX, K.DROP_INDEX, K.DETACH_PARTITION])
def test_concurrently_trades_locking_for_a_transaction_hazard(kind: ChangeKind) -> None:
    plain = classify_change(change(kind))[1]
    inside = classify_change(change(kind, concurrently=True, in_transaction=True))[1]
    outside = classify_change(change(kind, concurrently=True, in_transaction=False))[1]
    assert (plain, inside, outside) == (LOCKING, TRANSACTION, NONE)


def test_reindex_concurrently_only_outside_a_transaction_is_hazard_free() -> None:
    def reindex(**fields: Any) -> frozenset[Hazard]:
        return classify_change(change(K.TABLE_MAINTENANCE, detail="REINDEX", **fields))[1]

    assert reindex() == REWRITE
    assert reindex(concurrently=True, in_transaction=True) == TRANSACTION
    assert reindex(concurrently=True, in_transaction=False) == NONE


def test_add_enum_value_outside_a_transaction_is_hazard_free() -> None:
    assert classify_change(change(K.ADD_ENUM_VALUE, in_transaction=False)) == (Phase.EXPAND, NONE)


@pytest.mark.parametrize(
    ("constraint_type", "not_valid", "hazards"),
    [
        (ConstraintType.FOREIGN_KEY, False, LOCKING),  # validates: scans under a lock
        (ConstraintType.FOREIGN_KEY, True, NONE),
        (ConstraintType.CHECK, False, LOCKING),
        (ConstraintType.CHECK, True, NONE),
        # these build an index whatever NOT VALID says (PostgreSQL rejects NOT VALID on them anyway)
        (ConstraintType.UNIQUE, False, LOCKING),
        (ConstraintType.UNIQUE, True, LOCKING),
        (ConstraintType.PRIMARY_KEY, False, LOCKING),
        (ConstraintType.EXCLUDE, False, LOCKING),
        (ConstraintType.UNKNOWN, False, LOCKING),
    ],
)
def test_add_constraint_hazards(
    constraint_type: ConstraintType, not_valid: bool, hazards: frozenset[Hazard]
) -> None:
    verdict = classify_change(change(K.ADD_CONSTRAINT, constraint_type=constraint_type, not_valid=not_valid))
    assert verdict == (Phase.EXPAND, hazards)


@pytest.mark.parametrize("constraint_type", [ConstraintType.UNIQUE, ConstraintType.PRIMARY_KEY])
def test_constraint_using_an_existing_index_is_hazard_free(constraint_type: ConstraintType) -> None:
    verdict = classify_change(change(K.ADD_CONSTRAINT, constraint_type=constraint_type, using_index="ix"))
    assert verdict == (Phase.EXPAND, NONE)


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ({"nullable": True}, (Phase.EXPAND, NONE)),
        ({"nullable": None}, (Phase.EXPAND, NONE)),
        ({"nullable": False}, (Phase.RECIPE, NONE)),  # old writers do not fill it in
        ({"nullable": False, "default": "'new'"}, (Phase.EXPAND, NONE)),
        ({"default": "gen_random_uuid()", "volatile_default": True}, (Phase.EXPAND, REWRITE)),
        ({"nullable": False, "generated": True}, (Phase.EXPAND, REWRITE)),  # identity / serial / stored
        ({"nullable": True, "generated": True}, (Phase.EXPAND, REWRITE)),
    ],
)
def test_add_column(fields: dict[str, Any], verdict: tuple[Phase, frozenset[Hazard]]) -> None:
    assert classify_change(change(K.ADD_COLUMN, table="t", column="c", **fields)) == verdict


@pytest.mark.parametrize(
    ("old_type", "new_type", "verdict"),
    [
        ("VARCHAR(50)", "VARCHAR(100)", (Phase.EXPAND, NONE)),
        ("VARCHAR(50)", "TEXT", (Phase.EXPAND, NONE)),
        ("INTEGER", "BIGINT", (Phase.EXPAND, REWRITE)),  # widening: old code fine, rewrite
        (None, "VARCHAR(100)", (Phase.RECIPE, REWRITE)),  # unknown old type: assume the worst
    ],
)
def test_alter_column_type(
    old_type: str | None, new_type: str, verdict: tuple[Phase, frozenset[Hazard]]
) -> None:
    assert classify_change(change(K.ALTER_COLUMN_TYPE, old_type=old_type, type=new_type)) == verdict


def test_delete_without_where_is_contract() -> None:
    assert classify_change(change(K.DELETE, table="sessions")) == (Phase.CONTRACT, NONE)
    assert classify_change(change(K.DELETE, table="sessions", has_where=True)) == (Phase.DATA, NONE)


@pytest.mark.parametrize("detail", ["VACUUM FULL", "CLUSTER", "SET LOGGED"])
def test_other_maintenance_rewrites(detail: str) -> None:
    assert classify_change(change(K.TABLE_MAINTENANCE, detail=detail)) == (Phase.ANY, REWRITE)


# --- where a phase may run -----------------------------------------------------------------------

E, C, B, U = DeclaredPhase.EXPAND, DeclaredPhase.CONTRACT, DeclaredPhase.BASELINE, DeclaredPhase.UNPHASED
FITS: dict[Phase, dict[DeclaredPhase, bool]] = {
    Phase.EXPAND: {E: True, C: False, B: True, U: True},
    Phase.CONTRACT: {E: False, C: True, B: True, U: False},
    Phase.DATA: {E: True, C: True, B: True, U: True},
    Phase.ANY: {E: True, C: True, B: True, U: True},
    Phase.RECIPE: {E: False, C: False, B: True, U: False},
    Phase.UNKNOWN: {E: False, C: False, B: True, U: False},
}


@pytest.mark.parametrize("declared", list(DeclaredPhase))
@pytest.mark.parametrize("phase", list(Phase))
def test_fits(phase: Phase, declared: DeclaredPhase) -> None:
    assert fits(phase, declared) is FITS[phase][declared]


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        ([], None),
        ([Phase.ANY], Phase.ANY),
        ([Phase.ANY, Phase.DATA], Phase.DATA),
        ([Phase.DATA, Phase.EXPAND, Phase.ANY], Phase.EXPAND),
        ([Phase.EXPAND, Phase.UNKNOWN], Phase.UNKNOWN),
        ([Phase.UNKNOWN, Phase.CONTRACT, Phase.EXPAND], Phase.CONTRACT),
        ([Phase.CONTRACT, Phase.RECIPE], Phase.RECIPE),
        ([Phase.EXPAND, Phase.EXPAND], Phase.EXPAND),
    ],
)
def test_inferred_phase_is_the_strictest(phases: list[Phase], expected: Phase | None) -> None:
    assert inferred_phase(phases) is expected


# --- whole revisions -----------------------------------------------------------------------------


def test_classify_revision_keeps_the_order_and_says_what_fits() -> None:
    changes = (
        change(K.ADD_COLUMN, table="orders", column="note", nullable=True),
        change(K.DROP_COLUMN, table="orders", column="legacy"),
        change(K.UPDATE, table="orders", columns=("note",)),
    )
    result = classify_revision(revision(*changes, declared=DeclaredPhase.EXPAND))
    assert [(c.change, c.phase, c.fits) for c in result.changes] == [
        (changes[0], Phase.EXPAND, True),
        (changes[1], Phase.CONTRACT, False),
        (changes[2], Phase.DATA, True),
    ]
    assert result.inferred_phase is Phase.CONTRACT
    assert result.mismatch
    assert result.info == info(DeclaredPhase.EXPAND)
    assert (result.read_mode, result.unreadable_reason) == (ReadMode.OFFLINE, "")


def test_ast_read_revision_carries_its_reason() -> None:
    captured = CapturedRevision(
        info=info(),
        changes=(change(K.OPAQUE, detail="dynamic"),),
        read_mode=ReadMode.AST,
        unreadable_reason="reads from the database",
    )
    result = classify_revision(captured)
    assert (result.read_mode, result.unreadable_reason) == (ReadMode.AST, "reads from the database")
    assert result.inferred_phase is Phase.UNKNOWN


def test_a_table_created_in_the_same_revision_has_no_locking_hazards_and_nothing_to_keep_compatible() -> None:
    changes = (
        change(K.DROP_TABLE, table="users"),  # before the CREATE: the old table, which releases use
        change(K.CREATE_TABLE, table="users", columns=("id",)),
        change(K.CREATE_INDEX, table="users", name="ix_users_email"),
        change(K.CREATE_INDEX, table="Users", name="ix_users_name", concurrently=True),
        change(K.ADD_COLUMN, table="users", column="email", nullable=False),
        change(K.SET_NOT_NULL, table="users", column="id"),
        change(K.ALTER_COLUMN_TYPE, table="users", column="id", type="BIGINT"),
        change(K.RENAME_COLUMN, table="users", column="id", new_name="user_id"),
        change(K.ADD_CONSTRAINT, table="users", constraint_type=ConstraintType.UNIQUE, columns=("email",)),
        change(K.CREATE_INDEX, table="orders", name="ix_orders_user"),  # another table: unchanged
        change(K.CREATE_INDEX, schema="audit", table="users", name="ix_audit_users"),  # another schema
    )
    result = classify_revision(revision(*changes, declared=DeclaredPhase.EXPAND))
    assert [(c.change.kind, c.phase, c.hazards) for c in result.changes] == [
        (K.DROP_TABLE, Phase.CONTRACT, NONE),
        (K.CREATE_TABLE, Phase.EXPAND, NONE),
        (K.CREATE_INDEX, Phase.EXPAND, NONE),
        (K.CREATE_INDEX, Phase.EXPAND, TRANSACTION),  # CONCURRENTLY still cannot run in a transaction
        (K.ADD_COLUMN, Phase.EXPAND, NONE),
        (K.SET_NOT_NULL, Phase.EXPAND, NONE),
        (K.ALTER_COLUMN_TYPE, Phase.EXPAND, NONE),
        (K.RENAME_COLUMN, Phase.EXPAND, NONE),
        (K.ADD_CONSTRAINT, Phase.EXPAND, NONE),
        (K.CREATE_INDEX, Phase.EXPAND, LOCKING),
        (K.CREATE_INDEX, Phase.EXPAND, LOCKING),
    ]
    assert [c.fits for c in result.changes] == [False] + [True] * 10


def test_a_created_table_in_a_schema_is_matched_with_its_schema() -> None:
    result = classify_revision(revision(
        change(K.CREATE_TABLE, schema="Audit", table="events"),
        change(K.DROP_COLUMN, schema="audit", table="events", column="x"),
        change(K.DROP_COLUMN, table="events", column="x"),
    ))
    assert [c.phase for c in result.changes] == [Phase.EXPAND, Phase.EXPAND, Phase.CONTRACT]


def test_opaque_changes_are_not_excused_by_a_created_table() -> None:
    result = classify_revision(revision(
        change(K.CREATE_TABLE, table="users"),
        change(K.OPAQUE, table="users", detail="cannot parse"),
    ))
    assert result.changes[1].phase is Phase.UNKNOWN
    assert not result.changes[1].fits


@pytest.mark.parametrize(
    ("declared", "mismatch"),
    [(DeclaredPhase.CONTRACT, False), (DeclaredPhase.EXPAND, True), (DeclaredPhase.UNPHASED, True),
     (DeclaredPhase.BASELINE, False)],
)
def test_mismatch_when_any_change_does_not_fit(declared: DeclaredPhase, mismatch: bool) -> None:
    result = classify_revision(revision(
        change(K.VALIDATE_CONSTRAINT, table="t", name="fk"),  # fits anywhere
        change(K.DROP_COLUMN, table="t", column="old"),  # fits the contract branch only
        declared=declared,
    ))
    assert result.mismatch is mismatch


def test_empty_revision_has_no_phase_and_no_mismatch() -> None:
    result = classify_revision(revision(declared=DeclaredPhase.CONTRACT))
    assert result.inferred_phase is None
    assert result.changes == ()
    assert not result.mismatch
