"""The one seam through which every contract run asks the gate for permission.

`expandcontract upgrade --phase contract` and the project's env.py (plain `alembic upgrade`) both
put the contract revisions about to run, in order, to the gate, and refuse to run any revision it
does not allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expandcontract.gate.decision import Verdict
from expandcontract.history import History
from expandcontract.model import RevisionInfo
from expandcontract.settings import Settings


def review_contract(
    settings: Settings, history: History, pending: Sequence[RevisionInfo], applied: set[str] | None = None
) -> list[Verdict]:
    """Decide, for each pending contract revision in the order it would run, whether it may run:
    each is read offline to know what it removes, and judged against the configured sources.
    `applied`: the revisions the database has (none: a new database no release has run against)."""
    applied = applied or set()
    from expandcontract.alembic_ext.capture import backfills_before, capture_only
    from expandcontract.alembic_ext.project import open_project, reading_session
    from expandcontract.gate.service import database, evaluate

    if not pending:
        return []
    ids = [r.revision for r in pending]
    with reading_session(settings):
        project = open_project(settings)
        captured = capture_only(project, ids)
        waits = backfills_before(project, ids, applied)
    with database(settings) as engine:
        report = evaluate(settings, history, captured, engine, fresh_database=not applied, backfills=waits)
        return list(report.verdicts)


def blocked_message(verdicts: Sequence[Verdict]) -> str:
    """One line naming every blocked revision and why."""
    blocked = [v for v in verdicts if not v.allowed]
    parts = [f"{v.revision} ({'; '.join(v.reasons) or 'blocked'})" for v in blocked]
    return (
        f"contract gate refused {len(blocked)} revision(s): {', '.join(parts)}; "
        "they may run once no live release uses what they remove"
    )
