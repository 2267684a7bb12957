"""The contract gate against a model of the fleet, on a simulated clock (no database).

Random sequences of process starts, heartbeats, graceful stops, crashes, small and large clock
jumps (some straight to the instant a process stops counting) and manifest publications, with a gate
check after every action. At every check the gate's verdict on each pending contract revision must
be the model's: blocked while a process the model counts live runs a release
that still uses what the revision removes, has no manifest, or is older than its `requires_release`
(safety), or while the registry cannot vouch (no process ever registered); allowed otherwise
(liveness). It must also block for exactly the releases the model names.

The model is its own: it keeps a record of every process and counts it with the rules of
docs/gate.md, never with `process_state`:

- a running process is live (it heartbeats every `interval`, within its TTL);
- a crashed one until its last heartbeat + its TTL;
- a stopped one until it stopped + `drain-seconds`;
- and either still counts for `min-soak-seconds` after that.

Every window is half-open, like the code's strict `<`: at the instant a window ends the process no
longer counts. The example-based tests at the end pin those instants.

`GATE_PROPERTY_EXAMPLES=2000 pytest tests/gate/test_gate_property.py` runs more sequences than CI;
`bench/gate_property.py` runs 10,000 and counts the verdicts.
"""

from __future__ import annotations

import math
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from expandcontract.gate.decision import PendingContract, Verdict, decide, manifest_lookup
from expandcontract.gate.manifest import Manifest, build_manifest
from expandcontract.gate.registry import Process
from expandcontract.gate.release_order import ReleaseOrder
from expandcontract.gate.removals import Removal, RemovalKind
from expandcontract.gate.source_registry import process_state, registry_report

EXAMPLES_VARIABLE = "GATE_PROPERTY_EXAMPLES"
CI_EXAMPLES = 200  # sequences per run of the test: a few seconds
STEPS = 50  # actions per sequence
EPOCH = 1_700_000_000.0  # the simulated database clock starts here; whole seconds are exact floats


# --- what each release's code does with users.email: the model's truth -----------------------------


@dataclass(frozen=True)
class Code:
    """What a release's code does with the table `users`, as the model knows it, and the models its
    manifest is built from: `(schema, table, ((column, nullable), ...))` plus raw-SQL extras."""

    name: str
    uses_users: bool  # reads or writes the table at all
    uses_email: bool  # reads or writes users.email
    may_write_null_email: bool  # writes NULL to users.email, or inserts rows without it
    tables: tuple[tuple[str | None, str, tuple[tuple[str, bool], ...]], ...]
    extras: tuple[str, ...] = ()

    def manifest(self, app: str, release: str) -> Manifest:
        metadata = sa.MetaData()
        for schema, table, columns in self.tables:
            sa.Table(
                table,
                metadata,
                sa.Column("id", sa.Integer, primary_key=True),
                *(sa.Column(name, sa.String(200), nullable=nullable) for name, nullable in columns),
                schema=schema,
            )
        return build_manifest(metadata, release, app=app, extras=self.extras)


CODES = (
    Code("email-nullable", True, True, True, ((None, "users", (("email", True),)),)),
    Code("email-required", True, True, False, ((None, "users", (("email", False),)),)),
    Code("email-in-public-schema", True, True, False, (("public", "users", (("email", False),)),)),
    Code("email-by-raw-sql", True, True, True, ((None, "users", (("name", True),)),), ("users.email",)),
    Code("users-by-raw-sql", True, True, True, ((None, "orders", ()),), ("users.*",)),
    Code("users-without-email", True, False, True, ((None, "users", (("name", True),)),)),
    Code("no-users", False, False, False, ((None, "orders", (("total", False),)),)),
)

APPS = ("shop", "admin")
RELEASES = ("1.0", "1.1", "2.0", "9f3c2a1")  # the last is a commit id: ordered by when it was first seen
REQUIRED = "2.0"
VERSIONS = {"1.0": (1, 0), "1.1": (1, 1), "2.0": (2, 0)}  # the model's own ordering of version ids
DEPLOYABLE = tuple((app, release) for app in APPS for release in RELEASES)
INTERVALS = st.integers(1, 30)  # heartbeat every this many seconds
SLACKS = st.integers(0, 60)  # ttl = interval + slack (runtime.register wants ttl >= interval)
PICKS = st.integers(0, 63)  # which of the candidates an action picks (modulo their number)


def provably_not_older(release: str, first_seen: dict[str, float]) -> bool:
    """Whether `release` is known to be REQUIRED or later: by its version, or, for a commit id, by
    being first seen strictly after REQUIRED was (at the same instant nothing tells them apart)."""
    if release in VERSIONS:
        return VERSIONS[release] >= VERSIONS[REQUIRED]
    return REQUIRED in first_seen and first_seen[release] > first_seen[REQUIRED]


# --- the pending contract revisions checked at every gate check ------------------------------------


@dataclass(frozen=True)
class Variant:
    revision: PendingContract
    still_used_by: Callable[[Code], bool]  # whether a release with that code uses what it removes

    @property
    def name(self) -> str:
        return self.revision.revision

    @property
    def harmless(self) -> bool:
        return not self.revision.removals and self.revision.requires_release is None


def _contract(
    revision: str, kind: RemovalKind | None, column: str | None, what: str, requires: str | None = None
) -> PendingContract:
    where = f"migrations/versions/contract/{revision}.py:14"
    removals = () if kind is None else (Removal(kind, "users", column, None, what, where),)
    return PendingContract(revision, where.rpartition(":")[0], removals, requires_release=requires)


VARIANTS = (
    Variant(
        _contract("drop_email", RemovalKind.COLUMN, "email", "drops users.email"),
        lambda code: code.uses_email,
    ),
    Variant(_contract("drop_users", RemovalKind.TABLE, None, "drops users"), lambda code: code.uses_users),
    Variant(
        _contract("email_not_null", RemovalKind.NOT_NULL, "email", "sets NOT NULL on users.email"),
        lambda code: code.may_write_null_email,
    ),
    Variant(
        _contract("drop_email_after_2_0", RemovalKind.COLUMN, "email", "drops users.email", REQUIRED),
        lambda code: code.uses_email,
    ),
    Variant(  # a restriction no manifest can judge: only requires_release says who respects it
        _contract(
            "check_email_after_2_0",
            RemovalKind.UNJUDGED,
            "email",
            "adds CHECK constraint ck_users_email on users.email",
            REQUIRED,
        ),
        lambda code: False,
    ),
    Variant(_contract("drop_index", None, None, ""), lambda code: False),  # removes nothing
)
PENDING = tuple(v.revision for v in VARIANTS)


# --- the implementation's side: the registry's rows and the gate's decision on them ---------------


class RegistryRows:
    """The registry's rows, written the way `Registry`'s methods write them, at the simulated clock."""

    def __init__(self) -> None:
        self.processes: dict[str, Process] = {}
        self.releases: dict[tuple[str, str], tuple[float, Manifest | None]] = {}  # -> first seen, manifest

    def _see(self, app: str, release: str, now: float) -> None:
        self.releases.setdefault((app, release), (now, None))

    def publish(self, manifest: Manifest, now: float) -> None:
        self._see(manifest.app, manifest.release, now)
        first_seen, _ = self.releases[(manifest.app, manifest.release)]
        self.releases[(manifest.app, manifest.release)] = (first_seen, manifest)

    def register(self, process_id: str, app: str, release: str, pid: int, ttl: float, now: float) -> None:
        self._see(app, release, now)
        self.processes.setdefault(
            process_id, Process(process_id, app, release, f"web-{pid % 3}", pid, now, now, ttl, None)
        )

    def heartbeat(self, process_id: str, now: float) -> bool:
        process = self.processes.get(process_id)
        if process is None or process.stopped_at is not None:
            return False
        self.processes[process_id] = replace(process, heartbeat_at=now)
        return True

    def stop(self, process_id: str, now: float) -> None:
        process = self.processes[process_id]
        if process.stopped_at is None:
            self.processes[process_id] = replace(process, stopped_at=now)

    def verdicts(
        self, pending: Sequence[PendingContract], now: float, drain: float, soak: float
    ) -> list[Verdict]:
        """The gate's verdicts on these rows, read as `gate.service` reads the registry."""
        processes = sorted(self.processes.values(), key=lambda p: (p.started_at, p.id))
        report = registry_report(processes, now, drain, soak, bool(processes))
        releases = sorted(self.releases.items(), key=lambda item: (item[1][0], item[0]))
        manifests = {key: manifest for key, (_, manifest) in releases}
        first_seen = {release: at for (_, release), (at, _) in reversed(releases)}
        return decide(pending, [report], manifest_lookup(manifests), ReleaseOrder("auto", first_seen))


# --- the model -------------------------------------------------------------------------------------


@dataclass
class ModelProcess:
    """The model's record of one process; the simulation moves it along."""

    id: str
    app: str
    release: str
    interval: float  # it heartbeats this long after its last heartbeat
    ttl: float
    last_beat: float
    crashed: bool = False
    stopped_at: float | None = None

    @property
    def running(self) -> bool:
        return not self.crashed and self.stopped_at is None

    def counted_until(self, drain: float, soak: float) -> float:
        """The instant the gate may stop counting it: never while it runs."""
        if self.stopped_at is not None:
            return self.stopped_at + drain + soak
        if self.crashed:
            return self.last_beat + self.ttl + soak
        return math.inf

    def instants(self, drain: float, soak: float) -> tuple[float, ...]:
        """Where its state changes: its next heartbeat and TTL, or where drain and soak end."""
        if self.stopped_at is not None:
            return (self.stopped_at + drain, self.stopped_at + drain + soak)
        if self.crashed:
            return (self.last_beat + self.ttl, self.last_beat + self.ttl + soak)
        return (self.last_beat + self.interval, self.last_beat + self.ttl)


@dataclass
class Tally:
    """What the bench counts across sequences; the test leaves the machine's tally None and fails
    at the first disagreement instead."""

    sequences: int = 0  # run to the end
    abandoned: int = 0  # cut short by Hypothesis itself (a replayed prefix that ran out); checked too
    checks: int = 0
    at_an_instant: int = 0  # checks exactly where some process's window ends (or its heartbeat falls)
    verdicts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (revision, outcome) -> checks
    violations: list[str] = field(default_factory=list)


class GateMachine(RuleBasedStateMachine):
    """A fleet of processes on a simulated clock, the registry's rows they leave, and gate checks."""

    tally: ClassVar[Tally | None] = None
    # two release ids first seen at one instant cannot be ordered (they block): the test lets that
    # happen; the bench spaces first sightings a second apart unless given --first-seen-ties
    first_sightings_apart: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.now = EPOCH
        self.drain = 0.0
        self.soak = 0.0
        self.rows = RegistryRows()
        self.codes: dict[tuple[str, str], Code | None] = {}  # None: the release never has a manifest
        self.runtime_publishes: dict[tuple[str, str], bool] = {}  # else only `manifest publish` does
        self.fleet: list[ModelProcess] = []
        self.published: set[tuple[str, str]] = set()
        self.first_seen: dict[str, float] = {}  # release id -> when the registry first saw it
        self.steps: list[str] = []

    def teardown(self) -> None:
        if self.tally is not None:
            # Hypothesis calls teardown from a `finally`: an exception in flight means it cut the run short
            if sys.exc_info()[0] is None:
                self.tally.sequences += 1
            else:
                self.tally.abandoned += 1

    # --- set-up and actions ---------------------------------------------------------------------

    @initialize(
        drain=st.integers(0, 120),
        soak=st.one_of(st.just(0), st.integers(1, 900)),
        catalog=st.fixed_dictionaries(
            {key: st.tuples(st.none() | st.sampled_from(CODES), st.booleans()) for key in DEPLOYABLE}
        ),
        fleet=st.lists(st.tuples(st.sampled_from(DEPLOYABLE), INTERVALS, SLACKS), max_size=4),
    )
    def configure(
        self,
        drain: int,
        soak: int,
        catalog: dict[tuple[str, str], tuple[Code | None, bool]],
        fleet: list[tuple[tuple[str, str], int, int]],
    ) -> None:
        """The gate's settings, what each release's code does and how its manifest gets published,
        and the processes already running when the sequence begins."""
        self.drain, self.soak = float(drain), float(soak)
        for key, (code, at_start) in catalog.items():
            self.codes[key] = code
            self.runtime_publishes[key] = at_start
        described = ", ".join(
            f"{app}@{release}={code.name if code else 'no manifest'}{' (runtime)' if at_start else ''}"
            for (app, release), (code, at_start) in catalog.items()
        )
        self._note(f"drain {drain} s, soak {soak} s; {described}")
        for key, interval, slack in fleet:
            self.start(key, interval, slack)

    @rule(key=st.sampled_from(DEPLOYABLE), interval=INTERVALS, slack=SLACKS)
    def start(self, key: tuple[str, str], interval: int, slack: int) -> None:
        app, release = key
        self._before_first_sighting(release)
        if self.codes[key] is not None and self.runtime_publishes[key]:
            self._publish(key)  # runtime.register publishes before it registers
        process = ModelProcess(
            f"p{len(self.fleet)}", app, release, float(interval), float(interval + slack), self.now
        )
        self.rows.register(process.id, app, release, 1000 + len(self.fleet), process.ttl, self.now)
        self.first_seen.setdefault(release, self.now)
        self.fleet.append(process)
        self._note(
            f"start {process.id} {app}@{release}, heartbeat every {interval} s, ttl {process.ttl:.0f} s"
        )

    # no preconditions: an action with nothing to act on does nothing, so that Hypothesis's swarm
    # testing (a random subset of rules per sequence) never leaves a sequence without a rule to run

    @rule(pick=PICKS)
    def heartbeat(self, pick: int) -> None:
        process = self._running(pick)
        if process is not None:
            process.last_beat = self.now
            self.rows.heartbeat(process.id, self.now)
            self._note(f"heartbeat {process.id}")

    @rule(pick=PICKS)
    def stop(self, pick: int) -> None:
        process = self._running(pick)
        if process is not None:
            process.stopped_at = self.now
            self.rows.stop(process.id, self.now)
            self._note(f"stop {process.id}")

    @rule(pick=PICKS)
    def crash(self, pick: int) -> None:
        process = self._running(pick)
        if process is not None:
            process.crashed = True  # its row stays as it was: no more heartbeats, no stop
            self._note(f"crash {process.id}")

    @rule(pick=PICKS)
    def publish(self, pick: int) -> None:
        """`manifest publish` of a release that has one (before or after its processes start)."""
        unpublished = [key for key in DEPLOYABLE if self.codes[key] is not None and key not in self.published]
        if unpublished:
            self._publish(unpublished[pick % len(unpublished)])

    @rule(seconds=st.integers(0, 5))
    def tick(self, seconds: int) -> None:
        self._advance(float(seconds))

    @rule(seconds=st.integers(6, 7200))
    def jump(self, seconds: int) -> None:
        self._advance(float(seconds))

    @rule(pick=PICKS, just_before=st.booleans())
    def to_an_instant(self, pick: int, just_before: bool) -> None:
        """Straight to where some process's state changes (or one second before it)."""
        ahead = sorted({t for p in self.fleet for t in p.instants(self.drain, self.soak) if t > self.now})
        if ahead:
            target = ahead[pick % len(ahead)] - (1.0 if just_before else 0.0)
            self._advance(max(0.0, target - self.now))

    @invariant()
    def check(self) -> None:
        """The gate, asked after every action (and on the way through a clock jump): its verdicts
        against the model's."""
        verdicts = {v.revision: v for v in self.rows.verdicts(PENDING, self.now, self.drain, self.soak)}
        counted = [p for p in self.fleet if self.now < p.counted_until(self.drain, self.soak)]
        no_source = not self.fleet  # the registry cannot vouch until a process has registered
        problems: list[str] = []
        for variant in VARIANTS:
            verdict = verdicts[variant.name]
            needing = sorted({(p.app, p.release) for p in counted if self._still_needs(variant, p)})
            blocked_for = sorted({(b.app or "", b.release) for b in verdict.blockers if b.release})
            missed = [key for key in needing if key not in blocked_for]
            extra = [key for key in blocked_for if key not in needing]
            vouched = variant.harmless or not no_source
            if verdict.allowed and (needing or not vouched):
                why = f"it is still needed by {_names(needing)}" if needing else "no process ever registered"
                problems.append(f"SAFETY: {variant.name} allowed, but {why}")
            elif missed:  # blocked, but not for everything that should block it
                problems.append(
                    f"SAFETY: {variant.name} does not wait for {_names(missed)} (still needed by them)"
                )
            elif not verdict.allowed and not needing and vouched:
                problems.append(f"LIVENESS: {variant.name} blocked: {'; '.join(verdict.reasons)}")
            elif extra:
                problems.append(
                    f"LIVENESS: {variant.name} also waits for {_names(extra)} (no longer needed by "
                    f"them): {'; '.join(verdict.reasons)}"
                )
            outcome = "allowed" if verdict.allowed else "blocked: no source" if not blocked_for else "blocked"
            if self.tally is not None:
                self.tally.verdicts[(variant.name, outcome)] += 1
        if self.tally is not None:
            self.tally.checks += 1
            if any(self.now in p.instants(self.drain, self.soak) for p in self.fleet):
                self.tally.at_an_instant += 1
        if problems:
            self._disagree(problems, counted)

    # --- helpers --------------------------------------------------------------------------------

    def _note(self, step: str) -> None:
        self.steps.append(f"t+{self.now - EPOCH:g}: {step}")

    def _running(self, pick: int) -> ModelProcess | None:
        running = [p for p in self.fleet if p.running]
        return running[pick % len(running)] if running else None

    def _publish(self, key: tuple[str, str]) -> None:
        code = self.codes[key]
        assert code is not None
        if key in self.published:
            return  # the same manifest again: Registry.publish changes nothing
        self._before_first_sighting(key[1])
        self.rows.publish(code.manifest(*key), self.now)
        self.published.add(key)
        self.first_seen.setdefault(key[1], self.now)
        self._note(f"publish the manifest of {key[0]}@{key[1]} ({code.name})")

    def _before_first_sighting(self, release: str) -> None:
        if (
            self.first_sightings_apart
            and release not in self.first_seen
            and self.now in self.first_seen.values()
        ):
            self._advance(1.0)

    def _advance(self, seconds: float) -> None:
        """Move the clock on; on the way, check the gate half a second before and at every instant a
        gone process's TTL, drain or soak ends (a jump must not step over an off-by-one)."""
        target = self.now + seconds
        ends = {t for p in self.fleet if not p.running for t in p.instants(self.drain, self.soak)}
        for end in sorted(t for t in ends if self.now < t < target):
            for at in (end - 0.5, end):
                if at > self.now:
                    self._move_to(at)
                    self.check()
        self._move_to(target)
        self._note(f"clock +{seconds:.0f} s")

    def _move_to(self, at: float) -> None:
        self.now = at
        for process in self.fleet:
            if process.running and self.now >= process.last_beat + process.interval:
                beats = math.floor((self.now - process.last_beat) / process.interval)
                process.last_beat += beats * process.interval
                self.rows.heartbeat(process.id, process.last_beat)

    def _still_needs(self, variant: Variant, process: ModelProcess) -> bool:
        """Whether the revision must wait for this (counted) process's release."""
        if variant.harmless:
            return False
        key = (process.app, process.release)
        code = self.codes[key]
        if code is None or key not in self.published:
            return True  # nothing shows the release does not use it
        if variant.revision.requires_release and not provably_not_older(process.release, self.first_seen):
            return True
        return variant.still_used_by(code)

    def _disagree(self, problems: list[str], counted: list[ModelProcess]) -> None:
        live = ", ".join(f"{p.id} {p.app}@{p.release}" for p in counted) or "none"
        message = "\n".join(
            [
                f"the gate disagrees with the model at t+{self.now - EPOCH:g} (counted live: {live})",
                *(f"  {p}" for p in problems),
                "steps:",
                *(f"  {s}" for s in self.steps),
            ]
        )
        if self.tally is None:
            raise AssertionError(message)
        self.tally.violations.append(message)


def _names(keys: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{app}@{release}" for app, release in keys)


def gate_settings(examples: int, steps: int = STEPS) -> settings:
    """The settings both the test and the bench run the machine with."""
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


TestGateAgainstModel = GateMachine.TestCase
TestGateAgainstModel.settings = gate_settings(int(os.environ.get(EXAMPLES_VARIABLE, CI_EXAMPLES)))


# --- the boundaries, pinned: a window [start, end) counts up to, not at, its end ----------------

T = EPOCH


def process(heartbeat_at: float = T, ttl: float = 30.0, stopped_at: float | None = None) -> Process:
    return Process("p1", "shop", "1.0", "web-1", 4242, T - 600.0, heartbeat_at, ttl, stopped_at)


@pytest.mark.parametrize(
    ("now", "counted_as"),
    [
        (T + 29.0, "heartbeat"),
        (T + 29.999, "heartbeat"),
        (T + 30.0, None),  # heartbeat_at + ttl: no longer live
        (T + 31.0, None),
    ],
)
def test_a_process_is_live_until_its_heartbeat_is_exactly_ttl_old(now: float, counted_as: str | None) -> None:
    state = process_state(process(ttl=30.0), now, drain_seconds=10.0, soak_seconds=0.0)
    assert (state.split(" ")[0] if state else None) == counted_as


@pytest.mark.parametrize(
    ("now", "counted_as"),
    [
        (T + 9.999, "stopped"),
        (T + 10.0, None),  # stopped_at + drain: drained
    ],
)
def test_a_stopped_process_counts_until_exactly_drain_seconds_after_it_stopped(
    now: float, counted_as: str | None
) -> None:
    # its heartbeat (ttl 3600 s) would keep it live far longer: a stop ends the TTL, the drain counts
    stopped = process(heartbeat_at=T, ttl=3600.0, stopped_at=T)
    state = process_state(stopped, now, drain_seconds=10.0, soak_seconds=0.0)
    assert (state.split(" ")[0] if state else None) == counted_as


def test_with_no_drain_a_stopped_process_is_gone_the_instant_it_stops() -> None:
    assert process_state(process(stopped_at=T), T, drain_seconds=0.0, soak_seconds=0.0) is None


@pytest.mark.parametrize(
    ("stopped_at", "now", "counted_as"),
    [
        (None, T + 30.0, "heartbeats stopped, gone 0 s ago; min-soak-seconds is 60"),
        (None, T + 89.999, "heartbeats stopped, gone 60 s ago; min-soak-seconds is 60"),
        (None, T + 90.0, None),  # heartbeat_at + ttl + soak
        (T, T + 10.0, "stopped, gone 0 s ago; min-soak-seconds is 60"),
        (T, T + 69.999, "stopped, gone 60 s ago; min-soak-seconds is 60"),
        (T, T + 70.0, None),  # stopped_at + drain + soak
    ],
)
def test_soak_counts_a_gone_process_until_exactly_soak_seconds_after_it_went(
    stopped_at: float | None, now: float, counted_as: str | None
) -> None:
    gone = process(heartbeat_at=T, ttl=30.0, stopped_at=stopped_at)
    assert process_state(gone, now, drain_seconds=10.0, soak_seconds=60.0) == counted_as


def _drop_email_at(now: float, processes: Sequence[Process], soak: float = 0.0) -> Verdict:
    rows = RegistryRows()
    for p in processes:
        rows.publish(CODES[0].manifest(p.app, p.release), T - 600.0)  # it maps users.email
    rows.processes = {p.id: p for p in processes}
    (verdict, *_) = rows.verdicts(PENDING, now, drain=10.0, soak=soak)
    assert verdict.revision == "drop_email"
    return verdict


def test_the_gate_allows_a_drop_at_the_instant_the_last_user_of_the_column_stops_counting() -> None:
    crashed = process(heartbeat_at=T, ttl=30.0)
    assert not _drop_email_at(T + 29.999, [crashed]).allowed
    assert _drop_email_at(T + 30.0, [crashed]).allowed
    stopped = process(heartbeat_at=T, ttl=3600.0, stopped_at=T + 5.0)
    assert not _drop_email_at(T + 14.999, [stopped]).allowed
    assert _drop_email_at(T + 15.0, [stopped]).allowed
    assert not _drop_email_at(T + 74.999, [stopped], soak=60.0).allowed
    assert _drop_email_at(T + 75.0, [stopped], soak=60.0).allowed


def test_a_commit_first_seen_with_the_required_release_is_not_ordered_after_it() -> None:
    # neither release touches users, so only the order matters; the registry saw both at one
    # instant, so nothing shows 9f3c2a1 is 2.0 or later: the revision must wait (fail safe)
    rows = RegistryRows()
    for release in ("2.0", "9f3c2a1"):
        rows.publish(CODES[-1].manifest("shop", release), T)
        rows.register(f"p-{release}", "shop", release, 4242, 30.0, T)
    verdicts = {v.revision: v for v in rows.verdicts(PENDING, T + 1.0, drain=10.0, soak=0.0)}
    assert not verdicts["check_email_after_2_0"].allowed
