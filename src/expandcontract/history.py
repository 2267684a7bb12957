"""The revision graph as expandcontract sees it: order, ancestry, and each revision's declared phase."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from expandcontract.model import DeclaredPhase, RevisionInfo

EXPAND_LABEL = "expand"
CONTRACT_LABEL = "contract"
PHASE_LABELS = (EXPAND_LABEL, CONTRACT_LABEL)


@dataclass(frozen=True)
class History:
    """All revisions of a project, bases first (a topological order of down_revision and depends_on)."""

    revisions: tuple[RevisionInfo, ...]
    by_id: Mapping[str, RevisionInfo]
    children: Mapping[str, tuple[str, ...]]  # by down_revision only, as Alembic's branches are

    @property
    def phased(self) -> bool:
        return _phased(self.revisions)

    def roots_labelled(self, label: str) -> list[RevisionInfo]:
        return [r for r in self.revisions if label in r.branch_labels]

    @property
    def heads(self) -> list[str]:
        return [r.revision for r in self.revisions if not self.children.get(r.revision)]

    @property
    def bases(self) -> list[str]:
        return [r.revision for r in self.revisions if not r.down_revisions]

    def ancestors(self, ids: Iterable[str], *, follow_depends_on: bool = True) -> set[str]:
        """`ids` and every revision they need applied first."""
        seen: set[str] = set()
        stack = [i for i in ids if i in self.by_id]
        while stack:
            rev = stack.pop()
            if rev in seen:
                continue
            seen.add(rev)
            info = self.by_id[rev]
            parents = info.down_revisions + (info.depends_on if follow_depends_on else ())
            stack.extend(p for p in parents if p in self.by_id and p not in seen)
        return seen

    def in_phase(self, phase: DeclaredPhase) -> list[RevisionInfo]:
        return [r for r in self.revisions if r.declared_phase is phase]

    def run_order(self) -> list[RevisionInfo]:
        """Every revision in the order a full upgrade applies them: released history, then the expand
        branch, then the contract branch (as `upgrade --phase all` does); parents always first."""
        rank = {
            DeclaredPhase.BASELINE: 0,
            DeclaredPhase.EXPAND: 1,
            DeclaredPhase.UNPHASED: 2,
            DeclaredPhase.CONTRACT: 3,
        }
        return _ordered(self.revisions, key=lambda r: rank[r.declared_phase])

    def ordered(self, ids: Iterable[str]) -> list[RevisionInfo]:
        wanted = set(ids)
        return [r for r in self.revisions if r.revision in wanted]


def _phased(revisions: Sequence[RevisionInfo]) -> bool:
    """Whether any revision carries the `expand` or `contract` branch label."""
    return any(label in PHASE_LABELS for r in revisions for label in r.branch_labels)


def _ordered(revisions: Sequence[RevisionInfo], key: Callable[[RevisionInfo], Any]) -> list[RevisionInfo]:
    """Parents first (down_revision and depends_on); among revisions that are ready, the smallest
    `key` first. A cycle (Alembic rejects those) keeps the rest in the given order."""
    by_id = {r.revision: r for r in revisions}
    parents = {r.revision: {p for p in r.down_revisions + r.depends_on if p in by_id} for r in revisions}
    waiting_on = {rev: len(ps) for rev, ps in parents.items()}
    dependents: dict[str, list[str]] = {}
    for rev, ps in parents.items():
        for parent in ps:
            dependents.setdefault(parent, []).append(rev)
    position = {r.revision: i for i, r in enumerate(revisions)}
    ready = [(key(r), position[r.revision]) for r in revisions if not waiting_on[r.revision]]
    heapq.heapify(ready)
    order: list[RevisionInfo] = []
    while ready:
        _, at = heapq.heappop(ready)
        chosen = revisions[at]
        order.append(chosen)
        for child in dependents.get(chosen.revision, ()):
            waiting_on[child] -= 1
            if not waiting_on[child]:
                heapq.heappush(ready, (key(by_id[child]), position[child]))
    if len(order) < len(revisions):
        placed = {r.revision for r in order}
        order.extend(r for r in revisions if r.revision not in placed)
    return order


def _topological(revisions: Sequence[RevisionInfo]) -> list[RevisionInfo]:
    return _ordered(revisions, key=lambda r: 0)


def build_history(revisions: Sequence[RevisionInfo]) -> History:
    """Order revisions and set each one's declared phase from the branch it grows on."""
    ordered = _topological(revisions)
    by_id = {r.revision: r for r in ordered}
    children: dict[str, list[str]] = {}
    for rev in ordered:
        for parent in rev.down_revisions:
            children.setdefault(parent, []).append(rev.revision)
    phased = _phased(ordered)

    branch: dict[str, frozenset[str]] = {}
    for rev in ordered:
        own = frozenset(label for label in rev.branch_labels if label in PHASE_LABELS)
        inherited: frozenset[str] = frozenset()
        for parent in rev.down_revisions:
            inherited |= branch.get(parent, frozenset())
        branch[rev.revision] = own or inherited

    baseline: set[str] = set()
    roots = [r for r in ordered if any(label in PHASE_LABELS for label in r.branch_labels)]
    stack = [p for r in roots for p in r.down_revisions]
    while stack:
        rev_id = stack.pop()
        if rev_id in baseline or rev_id not in by_id:
            continue
        baseline.add(rev_id)
        stack.extend(by_id[rev_id].down_revisions)

    final: list[RevisionInfo] = []
    for rev in ordered:
        labels = branch[rev.revision]
        if not phased:
            phase = DeclaredPhase.UNPHASED
        elif labels == {EXPAND_LABEL}:
            phase = DeclaredPhase.EXPAND
        elif labels == {CONTRACT_LABEL}:
            phase = DeclaredPhase.CONTRACT
        elif rev.revision in baseline:
            phase = DeclaredPhase.BASELINE
        else:
            phase = DeclaredPhase.UNPHASED
        final.append(replace(rev, declared_phase=phase))
    history = History(
        revisions=tuple(final),
        by_id={r.revision: r for r in final},
        children={k: tuple(v) for k, v in children.items()},
    )
    # listed in the order a full upgrade applies them: released history, expand, contract
    return replace(history, revisions=tuple(history.run_order()))
