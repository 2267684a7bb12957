"""Where a database stands on each branch. Exit codes are part of the CLI's contract."""

from __future__ import annotations

from dataclasses import dataclass

from expandcontract.errors import DatabaseError
from expandcontract.history import History
from expandcontract.model import DeclaredPhase, RevisionInfo

EXIT_UP_TO_DATE = 0
EXIT_EXPAND_PENDING = 3
EXIT_CONTRACT_PENDING = 4

# branches whose revisions run before the code deploy
_BEFORE_DEPLOY = (DeclaredPhase.BASELINE, DeclaredPhase.UNPHASED, DeclaredPhase.EXPAND)


@dataclass(frozen=True)
class BranchStatus:
    phase: DeclaredPhase
    applied: tuple[RevisionInfo, ...]
    pending: tuple[RevisionInfo, ...]


@dataclass(frozen=True)
class StatusReport:
    database: str  # URL with the password hidden
    current_heads: tuple[str, ...]
    branches: tuple[BranchStatus, ...]  # only branches the project has

    @property
    def expand_pending(self) -> bool:
        return any(b.pending for b in self.branches if b.phase in _BEFORE_DEPLOY)

    @property
    def contract_pending(self) -> bool:
        return any(b.pending for b in self.branches if b.phase is DeclaredPhase.CONTRACT)

    @property
    def exit_code(self) -> int:
        if self.expand_pending:
            return EXIT_EXPAND_PENDING
        if self.contract_pending:
            return EXIT_CONTRACT_PENDING
        return EXIT_UP_TO_DATE


def require_known_heads(history: History, current_heads: tuple[str, ...], database: str) -> None:
    """The database's applied revisions all belong to this history (else: wrong URL or missing files)."""
    unknown = [h for h in current_heads if h not in history.by_id]
    if unknown:
        raise DatabaseError(
            f"{database} is at revision {', '.join(unknown)}, which is not in this project's history; "
            "check the URL and that every revision file is present"
        )


def compute_status(history: History, current_heads: tuple[str, ...], database: str) -> StatusReport:
    require_known_heads(history, current_heads, database)
    applied = history.ancestors(current_heads)
    branches: list[BranchStatus] = []
    for phase in (
        DeclaredPhase.BASELINE,
        DeclaredPhase.UNPHASED,
        DeclaredPhase.EXPAND,
        DeclaredPhase.CONTRACT,
    ):
        members = history.in_phase(phase)
        if not members:
            continue
        branches.append(
            BranchStatus(
                phase=phase,
                applied=tuple(r for r in members if r.revision in applied),
                pending=tuple(r for r in members if r.revision not in applied),
            )
        )
    return StatusReport(database=database, current_heads=current_heads, branches=tuple(branches))
