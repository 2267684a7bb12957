"""The revision graph as expandcontract sees it: order, ancestry, and each revision's declared phase."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

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
        position = {r.revision: i for i, r in enumerate(self.revisions)}
        parents = {
            r.revision: {p for p in r.down_revisions + r.depends_on if p in self.by_id}
            for r in self.revisions
        }
        waiting_on = {rev: len(ps) for rev, ps in parents.items()}
        dependents: dict[str, list[str]] = {}
        for rev, ps in parents.items():
            for parent in ps:
                dependents.setdefault(parent, []).append(rev)
        ready = [
            (rank[r.declared_phase], position[r.revision])
            for r in self.revisions
            if not waiting_on[r.revision]
        ]
        heapq.heapify(ready)
        order: list[RevisionInfo] = []
        while ready:
            _, at = heapq.heappop(ready)
            chosen = self.revisions[at]
            order.append(chosen)
            for child in dependents.get(chosen.revision, ()):
                waiting_on[child] -= 1
                if not waiting_on[child]:
                    heapq.heappush(ready, (rank[self.by_id[child].declared_phase], position[child]))
        if len(order) < len(self.revisions):  # a cycle Alembic would refuse anyway: keep the given order
            placed = {r.revision for r in order}
            order.extend(r for r in self.revisions if r.revision not in placed)
        return order

    def ordered(self, ids: Iterable[str]) -> list[RevisionInfo]:
        wanted = set(ids)
        return [r for r in self.revisions if r.revision in wanted]


def _phased(revisions: Sequence[RevisionInfo]) -> bool:
    """Whether any revision carries the `expand` or `contract` branch label."""
    return any(label in PHASE_LABELS for r in revisions for label in r.branch_labels)


def _topological(revisions: Sequence[RevisionInfo]) -> list[RevisionInfo]:
    by_id = {r.revision: r for r in revisions}
    position = {r.revision: i for i, r in enumerate(revisions)}
    placed: set[str] = set()
    order: list[RevisionInfo] = []
    pending = sorted(revisions, key=lambda r: position[r.revision])
    while pending:
        progressed = False
        rest: list[RevisionInfo] = []
        for rev in pending:
            parents = [p for p in rev.down_revisions + rev.depends_on if p in by_id]
            if all(p in placed for p in parents):
                order.append(rev)
                placed.add(rev.revision)
                progressed = True
            else:
                rest.append(rev)
        if not progressed:  # a cycle Alembic itself would reject; keep the given order
            order.extend(rest)
            break
        pending = rest
    return order


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
