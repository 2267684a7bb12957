"""The one seam through which every contract run asks the gate for permission.

`expandcontract upgrade --phase contract` and the project's env.py (plain `alembic upgrade`) both
put the contract revisions about to run, in order, to the gate, and refuse to run any revision it
does not allow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from expandcontract.errors import ContractBlocked

if TYPE_CHECKING:
    from expandcontract.alembic_ext.project import AlembicProject
    from expandcontract.gate.decision import Verdict
    from expandcontract.gate.service import GateReport
from expandcontract.history import History
from expandcontract.model import RevisionInfo
from expandcontract.settings import Settings


def judge(
    settings: Settings,
    project: AlembicProject,
    revisions: Sequence[str],
    applied: set[str],
    kubernetes_document: Mapping[str, Any] | None = None,
) -> GateReport:
    """Read the pending contract `revisions` offline (call inside `reading_session`) to know what
    they remove and which backfills they wait for, and judge them against the configured sources.
    `applied`: the revisions the database has (none: a new database no release has run against)."""
    from expandcontract.alembic_ext.capture import backfills_before, capture_only
    from expandcontract.gate.service import database, evaluate

    if revisions and not settings.database_url:
        raise ContractBlocked(
            "the contract gate reads its evidence from the database: give --url (or "
            "EXPANDCONTRACT_DATABASE_URL) even with --sql"
        )
    captured = capture_only(project, revisions) if revisions else []
    waits = backfills_before(project, revisions, applied) if revisions else {}
    with database(settings) as engine:
        return evaluate(settings, project.history, captured, engine, kubernetes_document, not applied, waits)


def review_contract(
    settings: Settings, history: History, pending: Sequence[RevisionInfo], applied: set[str] | None = None
) -> list[Verdict]:
    """The env.py door: a verdict for each pending contract revision, in the order it would run."""
    from expandcontract.alembic_ext.project import open_project, reading_session

    if not pending:
        return []
    with reading_session(settings):
        project = open_project(settings)
        return list(judge(settings, project, [r.revision for r in pending], applied or set()).verdicts)


def blocked_message(verdicts: Sequence[Verdict]) -> str:
    """One line naming every blocked revision and why."""
    blocked = [v for v in verdicts if not v.allowed]
    parts = [f"{v.revision} ({'; '.join(v.reasons) or 'blocked'})" for v in blocked]
    return (
        f"contract gate refused {len(blocked)} revision(s): {', '.join(parts)}; "
        "they may run once no live release uses what they remove"
    )
