"""The one seam through which every contract run asks the gate for permission.

`expandcontract upgrade --phase contract` and the project's env.py (plain `alembic upgrade`) both
call `review_contract` with the contract revisions about to run, in order, and refuse to run any
revision it does not allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from expandcontract.history import History
from expandcontract.model import RevisionInfo
from expandcontract.settings import Settings


@dataclass(frozen=True)
class ContractVerdict:
    revision: str
    allowed: bool
    reasons: tuple[str, ...] = ()  # why it is blocked (or what allowed it), one line each


def review_contract(
    settings: Settings, history: History, pending: Sequence[RevisionInfo]
) -> list[ContractVerdict]:
    """Decide, for each pending contract revision in the order it would run, whether it may run.

    PLACEHOLDER: the evidence-based decision (manifests, live releases, rollout sources) is its own
    issue. Until it lands this allows every revision, and says so in each verdict's reason.
    """
    return [
        ContractVerdict(r.revision, allowed=True, reasons=("the contract gate is not enabled yet: allowed",))
        for r in pending
    ]


def blocked_message(verdicts: Sequence[ContractVerdict]) -> str:
    """One line naming every blocked revision and why."""
    blocked = [v for v in verdicts if not v.allowed]
    parts = [f"{v.revision} ({'; '.join(v.reasons) or 'blocked'})" for v in blocked]
    return (
        f"contract gate refused {len(blocked)} revision(s): {', '.join(parts)}; "
        "they may run once no live release uses what they remove"
    )
