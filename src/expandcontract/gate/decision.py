"""The gate's decision, as a pure function of what the sources saw and what each revision removes.

A pending contract revision may run only when no live release still uses anything it removes. It
fails safe: a source that cannot vouch, a live release with no manifest, a revision the gate could not
read completely, a release it cannot order against `requires_release`, and a revision that runs after
a blocked one all block, each with a line that names the release, the evidence and the object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from expandcontract.gate.evidence import Sighting, SourceReport
from expandcontract.gate.manifest import Manifest, same_type
from expandcontract.gate.release_order import ReleaseOrder
from expandcontract.gate.removals import Removal, RemovalKind


@dataclass(frozen=True)
class PendingContract:
    revision: str
    path: str
    removals: tuple[Removal, ...]
    requires_release: str | None = None
    untrusted: tuple[str, ...] = ()  # why what was read of it may be incomplete
    needs: frozenset[str] = frozenset()  # pending revisions that must run before it
    backfills: tuple[tuple[str, str], ...] = ()  # (op.ec_backfill name, its revision) to wait for


@dataclass(frozen=True)
class Blocker:
    reason: str  # one line
    release: str | None = None
    app: str | None = None
    source: str | None = None
    evidence: tuple[str, ...] = ()
    object: str | None = None


@dataclass(frozen=True)
class Verdict:
    revision: str
    allowed: bool
    removes: tuple[Removal, ...]
    blockers: tuple[Blocker, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(b.reason for b in self.blockers)


@dataclass(frozen=True)
class LiveRelease:
    """One release at least one source sees live, with everything that shows it."""

    app: str
    release: str
    sightings: tuple[Sighting, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return f"{self.app}@{self.release}" if self.app else self.release

    @property
    def evidence(self) -> tuple[str, ...]:
        return tuple(f"{s.source}: {s.what}" for s in self.sightings)

    def shown_by(self) -> str:
        shown = [s.what for s in self.sightings[:3]]
        more = len(self.sightings) - len(shown)
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


ManifestLookup = Callable[[str, str], Sequence[Manifest]]


def live_releases(reports: Iterable[SourceReport]) -> list[LiveRelease]:
    grouped: dict[tuple[str, str], list[Sighting]] = {}
    for report in reports:
        for sighting in report.sightings:
            grouped.setdefault((sighting.app, sighting.release), []).append(sighting)
    return [LiveRelease(app, release, tuple(s)) for (app, release), s in sorted(grouped.items())]


def uses(manifest: Manifest, removal: Removal) -> str | None:
    """How `manifest`'s release still depends on what `removal` takes away (None: it does not)."""
    kind = removal.kind
    if kind is RemovalKind.SCHEMA:
        schema = (removal.schema or "").lower()
        mapped = [t for t in manifest.tables if t.lower().rpartition(".")[0] == schema]
        return f"maps {', '.join(sorted(mapped))}" if mapped else None
    table = manifest.table(removal.table, removal.schema)
    if table is None:
        return None
    if kind in (RemovalKind.TABLE, RemovalKind.UNJUDGED):
        return f"maps {removal.target if kind is RemovalKind.TABLE else removal.table}"
    assert removal.column is not None
    column = manifest.column(removal.table, removal.column, removal.schema)
    if kind is RemovalKind.COLUMN:
        if column is None or (removal.new_type and same_type(column.type, removal.new_type)):
            return None  # not mapped, or mapped with the type the swap brings in
        if removal.new_type:
            return f"maps {removal.target} as {column.type or 'a type its manifest does not record'}"
        return f"maps {removal.target}"
    if kind is RemovalKind.WRITES:
        return f"writes {removal.target}" if column is not None and not column.server_default else None
    if kind is RemovalKind.NOT_NULL:
        if column is None:
            return f"inserts into {removal.table} without {removal.column} (NULL unless it has a default)"
        return f"may write NULL to {removal.target} (nullable in its models)" if column.nullable else None
    if column is None:  # DEFAULT
        return f"inserts into {removal.table} without {removal.column}, relying on its default"
    return f"relies on the server default of {removal.target}" if column.server_default else None


def _release_blockers(
    revision: PendingContract, live: LiveRelease, manifests: Sequence[Manifest], order: ReleaseOrder
) -> list[Blocker]:
    out: list[Blocker] = []

    def block(reason: str, obj: str | None = None) -> None:
        out.append(
            Blocker(
                reason=f"live release {live.name} ({live.shown_by()}) {reason}",
                release=live.release,
                app=live.app,
                source=", ".join(sorted({s.source for s in live.sightings})),
                evidence=live.evidence,
                object=obj,
            )
        )

    if revision.requires_release is not None:
        compared = order.compare(live.release, revision.requires_release)
        if compared is None:
            block(
                f"cannot be ordered against requires_release = {revision.requires_release!r}; "
                "set gate.release-order or use version ids"
            )
        elif compared < 0:
            block(f"is older than {revision.requires_release}, which the revision requires")
    if not manifests:
        if revision.removals:
            block("has no manifest, so nothing shows it does not use what the revision removes; publish one")
        return out
    for removal in revision.removals:
        if removal.kind is RemovalKind.UNJUDGED and revision.requires_release is not None:
            continue  # the revision said which releases respect the restriction
        for manifest in manifests:
            how = uses(manifest, removal)
            if how is None:
                continue
            if removal.kind is RemovalKind.UNJUDGED:
                block(
                    f"{how}, and the revision {removal.what} ({removal.where}), a restriction its "
                    'manifest cannot judge; add requires_release = "<first release that respects it>"',
                    removal.target,
                )
            else:
                block(f"{how}; the revision {removal.what} ({removal.where})", removal.target)
            break
    return out


def decide(
    pending: Sequence[PendingContract],
    reports: Sequence[SourceReport],
    manifests: ManifestLookup,
    order: ReleaseOrder,
    backfills: Mapping[str, tuple[str, int]] | None = None,
) -> list[Verdict]:
    """A verdict for every pending contract revision, in the order given (the order they run).
    `backfills`: each known backfill's (status, rows done)."""
    live = live_releases(reports)
    problems = [
        Blocker(reason=f"{report.source}: {problem}", source=report.source)
        for report in reports
        for problem in report.problems
    ]
    blocked: set[str] = set()
    verdicts: list[Verdict] = []
    for revision in pending:
        # a revision that removes nothing, asks for no release and was read in full breaks no one,
        # whatever the sources can or cannot see (the branch roots, a dropped index)
        harmless = not revision.removals and revision.requires_release is None and not revision.untrusted
        blockers = [] if harmless else list(problems)
        blockers += [Blocker(reason=f"cannot be judged: {why}") for why in revision.untrusted]
        blockers += _backfill_blockers(revision, backfills or {})
        waiting = sorted(revision.needs & blocked)
        if waiting:
            blockers.append(Blocker(reason=f"runs after {', '.join(waiting)}, which the gate blocks"))
        for release in live:
            blockers += _release_blockers(revision, release, manifests(release.app, release.release), order)
        if blockers:
            blocked.add(revision.revision)
        verdicts.append(Verdict(revision.revision, not blockers, revision.removals, tuple(blockers)))
    return verdicts


def _backfill_blockers(revision: PendingContract, states: Mapping[str, tuple[str, int]]) -> list[Blocker]:
    """A backfill the revision relies on (it copies what the contract then removes) must be done."""
    out = []
    for name, source in revision.backfills:
        status, rows = states.get(name, ("not started", 0))
        if status != "done":
            out.append(
                Blocker(
                    reason=f"backfill {name} of revision {source} is not finished ({status}, {rows:,} rows "
                    f"so far); run `expandcontract backfill run '{name}'`",
                    object=name,
                )
            )
    return out


def manifest_lookup(manifests: Mapping[tuple[str, str], Manifest | None]) -> ManifestLookup:
    """Find a release's manifests: its own app's, or, when the source could not tell the app as
    the registry knows it (a Kubernetes Deployment name), every app's manifest for that release."""

    def lookup(app: str, release: str) -> Sequence[Manifest]:
        own = manifests.get((app, release))
        if own is not None:
            return [own]
        if (app, release) in manifests:
            return []  # the registry knows it, without a manifest
        return [m for (_, r), m in sorted(manifests.items()) if r == release and m is not None]

    return lookup
