"""What a lint rule is, and what it sees.

A rule is one code, one kebab-case name and one check. Change rules look at one `Change` in its
context (`Step`: the schema replayed so far, the transaction it runs in, the revision's phase);
unit rules look at a whole revision or SQL file; a few rules are computed by the engine from the
other findings (phase summaries, suppressions, layout). The rule's docstring is its doc page.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from expandcontract.model import Change, ChangeKind, DeclaredPhase, Location, Phase, ReadMode, Severity
from expandcontract.schema_state import ColumnState


class RuleKind(StrEnum):
    CHANGE = "change"  # called once per change
    UNIT = "unit"  # called once per revision or SQL file
    ENGINE = "engine"  # computed by the engine (summaries, suppressions, layout)


DML = frozenset({ChangeKind.INSERT, ChangeKind.UPDATE, ChangeKind.DELETE})
# what changes data, settings or nothing at all, not the schema
NOT_SCHEMA = DML | frozenset(
    {
        ChangeKind.QUERY,
        ChangeKind.SESSION_SETTING,
        ChangeKind.TRANSACTION_CONTROL,
        ChangeKind.COMMENT,
        ChangeKind.GRANT,
        ChangeKind.OPAQUE,
        ChangeKind.LOCK_TABLE,
        ChangeKind.TRUNCATE,
        ChangeKind.OTHER_DDL,
    }
)


@dataclass(frozen=True)
class Hit:
    """A rule's finding before the engine places it: the message, the fix, and where if not the change."""

    message: str
    fix: str = ""
    location: Location | None = None
    severity: Severity | None = None  # overrides the rule's default (version-dependent verdicts)


@dataclass(frozen=True)
class Unit:
    """What is linted as one piece: an Alembic revision or a SQL file (or stdin)."""

    key: str  # revision id, or the path of a SQL file
    path: str  # as shown to the user
    changes: tuple[Change, ...]
    phase: DeclaredPhase  # SQL files are UNPHASED: they run before the code deploy
    revision: str | None = None  # None for SQL files
    read_mode: ReadMode = ReadMode.OFFLINE
    unreadable_reason: str = ""
    source: str = ""  # the file's text (suppression comments, columns)

    @cached_property
    def lines(self) -> list[str]:
        return self.source.splitlines()

    @cached_property
    def first_schema_change(self) -> Change | None:
        """Its first DDL statement (EC004 asks for every data change in it)."""
        return next((c for c in self.changes if c.kind not in NOT_SCHEMA), None)

    @property
    def is_revision(self) -> bool:
        return self.revision is not None

    @property
    def runs_before_deploy(self) -> bool:
        return self.phase in (DeclaredPhase.EXPAND, DeclaredPhase.UNPHASED, DeclaredPhase.BASELINE)


@dataclass(frozen=True)
class Transaction:
    """What ran earlier in the transaction a change runs in (empty outside a transaction)."""

    exclusive: tuple[Change, ...] = ()  # statements holding ACCESS EXCLUSIVE on an existing table
    not_valid: frozenset[str] = frozenset()  # constraints added NOT VALID (lower-case names)
    later: tuple[Change, ...] = ()  # the statements after this one in the same transaction


@dataclass(frozen=True)
class Step:
    """One change, with everything a rule may ask about it."""

    change: Change
    unit: Unit
    phase: Phase  # what the change needs (classify.py)
    column: ColumnState | None  # the column before the change, when known
    new_table: bool  # created in this unit or an unreleased one: no release uses it, no lock matters
    new_column: bool  # the column (or constraint) it acts on was added in this or an unreleased unit
    proven_not_null: bool  # a validated constraint already proves the column NOT NULL
    lock_timeout: bool  # a lock_timeout is in effect when this statement runs
    transaction: Transaction
    postgresql_version: int
    statement_timeout: bool = False  # a statement_timeout is in effect
    session_timezone: str | None = None
    version_table: str = "alembic_version"  # Alembic's own bookkeeping: never a finding

    @property
    def outside_transaction(self) -> str:
        """Where a statement that must not run in a transaction goes: Alembic's way, or SQL's."""
        if self.unit.is_revision:
            return "inside `with op.get_context().autocommit_block():`"
        return "outside BEGIN ... COMMIT (as a statement of its own)"

    def line_of(self, other: Change) -> str:
        """Where another change is, for a message: `line 12`, or `r05_add.py line 12` in another file."""
        if other.location.path == self.change.location.path:
            return f"line {other.location.line}"
        return f"{Path(other.location.path).name} line {other.location.line}"

    def on_version_table(self) -> bool:
        return (self.change.table or "").lower() == self.version_table.lower()

    @property
    def existing_table(self) -> bool:
        return not self.new_table

    @property
    def in_transaction(self) -> bool:
        return self.change.in_transaction


ChangeCheck = Callable[[Step], Iterable[Hit]]
UnitCheck = Callable[[Unit], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    code: str  # EC101
    name: str  # drop-column
    summary: str  # one line, for `expandcontract rule` and the catalog
    severity: Severity
    doc: str  # the rule's docstring: its doc page
    kind: RuleKind
    opt_in: bool = False
    gated: bool = False  # a contract change: allowed (reported as gated) in contract revisions
    postgresql_only: bool = False  # lock and transaction semantics of PostgreSQL
    check: ChangeCheck | None = field(default=None, compare=False, repr=False)
    check_unit: UnitCheck | None = field(default=None, compare=False, repr=False)

    @property
    def family(self) -> str:
        return self.code[:3]

    @property
    def slug(self) -> str:
        """The doc page's name: EC101-drop-column."""
        return f"{self.code}-{self.name}"


def _doc(function: Callable[..., object]) -> str:
    return inspect.cleandoc(function.__doc__ or "")


def change_rule(
    code: str,
    name: str,
    summary: str,
    severity: Severity = Severity.ERROR,
    *,
    opt_in: bool = False,
    gated: bool = False,
    postgresql_only: bool = False,
) -> Callable[[ChangeCheck], Rule]:
    def register(check: ChangeCheck) -> Rule:
        return Rule(
            code,
            name,
            summary,
            severity,
            _doc(check),
            RuleKind.CHANGE,
            opt_in=opt_in,
            gated=gated,
            postgresql_only=postgresql_only,
            check=check,
        )

    return register


def unit_rule(
    code: str, name: str, summary: str, severity: Severity = Severity.ERROR, *, opt_in: bool = False
) -> Callable[[UnitCheck], Rule]:
    def register(check: UnitCheck) -> Rule:
        return Rule(
            code, name, summary, severity, _doc(check), RuleKind.UNIT, opt_in=opt_in, check_unit=check
        )

    return register


def engine_rule(
    code: str, name: str, summary: str, severity: Severity = Severity.ERROR
) -> Callable[[Callable[[], None]], Rule]:
    """A rule the engine computes; the decorated function only carries the doc."""

    def register(documented: Callable[[], None]) -> Rule:
        return Rule(code, name, summary, severity, _doc(documented), RuleKind.ENGINE)

    return register
