"""The public functions the CLI calls. Each takes `Settings` (or a folder) and returns data; none prints."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from expandcontract.capture_cache import CaptureCache
from expandcontract.checks import Violation, check_layout
from expandcontract.classify import classify_revision
from expandcontract.errors import ContractBlocked, LayoutError
from expandcontract.gate.hook import blocked_message, judge
from expandcontract.history import History
from expandcontract.lint import LintResult
from expandcontract.model import (
    CapturedRevision,
    DeclaredPhase,
    RevisionClassification,
    RevisionInfo,
    WrittenLayout,
)
from expandcontract.settings import Settings
from expandcontract.status import StatusReport, compute_status, require_known_heads

if TYPE_CHECKING:  # the gate's modules import SQLAlchemy: only the commands that need them load them
    from expandcontract.backfill import BackfillState
    from expandcontract.gate.decision import Verdict
    from expandcontract.gate.manifest import Manifest
    from expandcontract.gate.registry import Registry
    from expandcontract.gate.service import GateReport

UpgradePhase = Literal["expand", "contract", "all"]
UPGRADE_TARGETS: dict[str, str] = {"expand": "expand@head", "contract": "contract@head", "all": "heads"}


def _read(
    settings: Settings, cache: CaptureCache | None = None, operations: bool = True
) -> tuple[Path, History, list[CapturedRevision]]:
    """(script directory, history, captured revisions): every revision read offline, bases first.

    Without `operations` (Alembic's operation objects), revisions are read on every core."""
    from expandcontract.alembic_ext.capture import capture_project
    from expandcontract.alembic_ext.project import open_project, reading_session

    settings.require_project()
    with reading_session(settings):
        project = open_project(settings)
        captured = capture_project(project, cache, operations)
        return Path(project.script.dir).resolve(), project.history, captured


def capture(settings: Settings) -> tuple[History, list[CapturedRevision]]:
    """Read every revision offline (never running env.py), bases first."""
    _, graph, captured = _read(settings)
    return graph, captured


def classify(settings: Settings) -> list[RevisionClassification]:
    """Every revision's declared phase, inferred phase and classified changes, bases first."""
    _, captured = capture(settings)
    return [classify_revision(c, settings.dialect) for c in captured]


def check(settings: Settings) -> list[Violation]:
    """Layout invariants the project breaks (empty when sound)."""
    script_dir, graph, captured = _read(settings)
    return check_layout(graph, captured, script_dir)


def history(settings: Settings) -> History:
    from expandcontract.alembic_ext.project import open_project, reading_session

    settings.require_project()
    with reading_session(settings):
        return open_project(settings).history


def status(settings: Settings) -> StatusReport:
    """Applied and pending revisions per branch for the configured database."""
    from expandcontract.alembic_ext.migrate import current_heads
    from expandcontract.db_messages import safe_url

    graph = history(settings)
    return compute_status(graph, current_heads(settings), safe_url(settings.require_url()))


@dataclass(frozen=True)
class UpgradeResult:
    target: str
    applied: tuple[RevisionInfo, ...]  # empty for --sql
    verdicts: tuple[Verdict, ...]  # the gate's answer for each contract revision in the run
    stopped_before: str | None = None  # the first blocked contract revision; it and what follows wait
    forced: bool = False  # blocked revisions ran anyway (--force), recorded in the audit log

    @property
    def blocked(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if not v.allowed)


def actor() -> str:
    """Who runs the command, for the audit log: EXPANDCONTRACT_ACTOR, the CI's user, else user@host."""
    import getpass
    import os
    import socket

    for variable in ("EXPANDCONTRACT_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _eligible_heads(graph: History, order: list[str], stop: str) -> list[str]:
    """The revisions to `alembic upgrade` to so that everything in `order` before `stop` runs (and
    what it needs), but not `stop` or anything after it."""
    before = order[: order.index(stop)]
    needed = {r for r in before if stop not in graph.ancestors([r])}
    covered: set[str] = set()
    heads: list[str] = []
    for revision in reversed(before):
        if revision in needed and revision not in covered:
            heads.append(revision)
            covered |= graph.ancestors([revision])
    return list(reversed(heads))


def upgrade(
    settings: Settings,
    phase: UpgradePhase,
    sql: bool = False,
    on_verdict: Callable[[Verdict], None] | None = None,
    force_reason: str | None = None,
    kubernetes_document: Mapping[str, Any] | None = None,
) -> UpgradeResult:
    """Run Alembic's upgrade to `expand@head`, `contract@head` or `heads`.

    Contract revisions in the run are put to the contract gate first (each verdict goes to
    `on_verdict` before anything runs). The revisions before the first blocked one run; it and
    what follows wait. `force_reason` runs them anyway and records the override in the audit log.
    One contract run at a time: a second one waits for the first (gate.lock-wait-seconds).
    """
    from expandcontract.alembic_ext.migrate import current_heads

    settings.require_project()
    if phase == "expand" or sql:
        before = () if sql else current_heads(settings)
        return _upgrade(settings, phase, sql, before, on_verdict, force_reason, kubernetes_document)
    from expandcontract.gate.run_lock import contract_run_lock
    from expandcontract.gate.service import database, registry_of

    with (
        database(settings) as engine,
        contract_run_lock(registry_of(settings, engine), settings.gate.lock_wait_seconds),
    ):
        # read where the database stands only once the lock is ours: a run before us may have moved it
        before = current_heads(settings)
        return _upgrade(settings, phase, sql, before, on_verdict, force_reason, kubernetes_document)


def _upgrade(
    settings: Settings,
    phase: UpgradePhase,
    sql: bool,
    before: tuple[str, ...],
    on_verdict: Callable[[Verdict], None] | None,
    force_reason: str | None,
    kubernetes_document: Mapping[str, Any] | None,
) -> UpgradeResult:
    from expandcontract.alembic_ext.migrate import current_heads, planned, run_upgrade
    from expandcontract.alembic_ext.project import open_project, reading_session
    from expandcontract.db_messages import safe_url

    target = UPGRADE_TARGETS[phase]
    with reading_session(settings):
        project = open_project(settings)
        graph = project.history
        if settings.database_url and not sql:
            require_known_heads(graph, before, safe_url(settings.database_url))
        if phase != "all" and not graph.roots_labelled(phase):
            raise LayoutError(
                f"the project has no `{phase}` branch; run `expandcontract adopt` or use --phase all"
            )
        order = planned(project, target, before)
        contract = [r for r in order if graph.by_id[r].declared_phase is DeclaredPhase.CONTRACT]
        if phase == "expand" and contract:
            raise LayoutError(
                f"`upgrade --phase expand` would apply contract revision(s) {', '.join(contract)}: an "
                "expand revision depends on or merges the contract branch; see `expandcontract check`"
            )
        # --sql renders from the base: what the database already has is not put to the gate again
        in_database = current_heads(settings) if sql and contract and settings.database_url else before
        done = graph.ancestors(in_database)
        judged = [r for r in contract if r not in done]
        verdicts = (
            list(judge(settings, project, judged, done, kubernetes_document).verdicts) if judged else []
        )
    for verdict in verdicts:
        if on_verdict is not None:
            on_verdict(verdict)
    blocked = [v.revision for v in verdicts if not v.allowed]
    stop = blocked[0] if blocked and force_reason is None else None
    if not sql:
        _audit(settings, verdicts, force_reason)
    # Alembic may order independent branches contract-first; `all` runs the expand phase first
    first = ["expand@head"] if phase == "all" and graph.roots_labelled("expand") else []
    if stop is None:
        steps = [*first, target] if first else [target]
    else:
        steps = [*first, *_eligible_heads(graph, order, stop)]
        if not steps:
            raise ContractBlocked(blocked_message(verdicts))
    reviewed = {v.revision for v in verdicts if v.allowed or force_reason is not None} | (
        done & set(contract)
    )
    for index, step in enumerate(steps):
        # offline, each step starts where the one before ended instead of at the base
        run_upgrade(
            settings, f"{steps[index - 1]}:{step}" if sql and index else step, sql=sql, reviewed=reviewed
        )
    result = UpgradeResult(
        target=target,
        applied=(),
        verdicts=tuple(verdicts),
        stopped_before=stop,
        forced=bool(blocked) and stop is None,
    )
    if sql:
        return result
    after = current_heads(settings)
    newly = graph.ancestors(after) - graph.ancestors(before)
    return replace(result, applied=tuple(graph.ordered(newly)))


def _audit(settings: Settings, verdicts: list[Verdict], force_reason: str | None) -> None:
    """Every decision of an enforcing run, and every override with its reason, in the audit log."""
    if not verdicts:
        return
    from expandcontract.db_messages import database_errors
    from expandcontract.gate.service import database, registry_of

    who = actor()
    with database(settings) as engine, database_errors(settings.require_url(), "write the audit log"):
        registry = registry_of(settings, engine)
        registry.ensure()
        registry.prune(settings.gate.retention_seconds)  # each contract run clears long-gone processes
        for verdict in verdicts:
            details = {
                "removes": [r.what for r in verdict.removes],
                "blockers": [b.reason for b in verdict.blockers],
            }
            if not verdict.allowed and force_reason is not None:
                registry.audit(
                    who,
                    "override",
                    reason=force_reason,
                    revision=verdict.revision,
                    allowed=True,
                    details=details,
                )
            else:
                registry.audit(
                    who,
                    "gate-decision",
                    reason="; ".join(verdict.reasons) or "no live release uses what it removes",
                    revision=verdict.revision,
                    allowed=verdict.allowed,
                    details=details,
                )


@dataclass(frozen=True)
class LintRequest:
    """What `expandcontract lint` was asked to look at, and how."""

    targets: tuple[str, ...] = ()  # revision ranges, revision .py files, .sql files, "-" (stdin)
    since: str | None = None  # a git ref: only revision files added or modified since
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    postgresql_version: int | None = None
    stdin: str = ""  # the SQL read from stdin when a target is "-"
    cache: bool = True  # reuse revisions captured by earlier runs (settings.cache_dir)


def lint(settings: Settings, request: LintRequest) -> LintResult:
    """Lint the project's revisions (all, a range, or those changed since a git ref) and SQL files."""
    from expandcontract.lint_run import run_lint

    return run_lint(settings, request)


def init(project_dir: Path, script_dir: str = "migrations", url: str = "") -> WrittenLayout:
    """Create a phased Alembic environment in `project_dir/script_dir` and `project_dir/alembic.ini`."""
    from expandcontract.alembic_ext.layout import init_project

    return init_project(project_dir, script_dir, url)


def adopt(settings: Settings, merge: bool = False) -> WrittenLayout | None:
    """Phase an existing Alembic project; None when it is already phased."""
    from expandcontract.alembic_ext.layout import adopt_project
    from expandcontract.alembic_ext.project import reading_session

    settings.require_project()
    with reading_session(settings):
        return adopt_project(settings, merge=merge)


def completion_candidates(settings: Settings) -> list[RevisionInfo]:
    """Expand revisions a new contract revision may complete (no contract revision depends on them yet)."""
    from expandcontract.alembic_ext.layout import completion_candidates as candidates

    return candidates(history(settings))


def autogenerate(settings: Settings, message: str, renames: tuple[str, ...] = ()) -> list[Path]:
    """Compare the models with the database and write the expand and the contract revision;
    `renames` are `table.old:new` hints (a model cannot say a column was renamed)."""
    from expandcontract.alembic_ext.migrate import autogenerate as run
    from expandcontract.errors import UsageError

    hints: dict[tuple[str, str], str] = {}
    for hint in renames:
        table, _, columns = hint.rpartition(".")
        old, _, new = columns.partition(":")
        if not table or not old or not new:
            raise UsageError(f"--rename {hint!r}: give table.old_column:new_column")
        hints[(table, new)] = old
    settings.require_project()
    return run(settings, message, hints)


def revision(settings: Settings, message: str, phase: str, completes: str | None = None) -> Path:
    """Write a new empty revision on a phase branch; returns its path."""
    from expandcontract.alembic_ext.layout import new_revision
    from expandcontract.alembic_ext.project import reading_session

    settings.require_project()
    with reading_session(settings):
        return new_revision(settings, message, phase, completes)


# --- the contract gate -----------------------------------------------------------------------------


def build_manifest(
    metadata_spec: str,
    release: str,
    app: str = "",
    extras: tuple[str, ...] = (),
    search: tuple[Path, ...] = (),
) -> Manifest:
    """The manifest of the release whose models `module:attr` names."""
    from expandcontract.gate.manifest import build_manifest as build
    from expandcontract.gate.manifest import load_metadata

    return build(load_metadata(metadata_spec, search), release, app=app, extras=extras)


def publish_manifest(settings: Settings, manifest: Manifest) -> bool:
    """Store a release's manifest in the registry (created if missing); True if it was new or changed."""
    from expandcontract.gate.service import database, registry_of

    with database(settings) as engine:
        registry = registry_of(settings, engine)
        changed: list[bool] = []
        _write_registry(registry, lambda: changed.append(registry.publish(manifest, actor())))
        return changed[0]


def registry_init(settings: Settings) -> str:
    """Create the registry's tables (idempotent); where they are."""
    from expandcontract.db_messages import safe_url
    from expandcontract.gate.service import database, registry_of

    with database(settings) as engine:
        registry = registry_of(settings, engine)
        _write_registry(registry, lambda: None)
        schema = registry.tables.schema
        where = f"schema {schema}" if schema else f"tables prefixed {settings.gate.registry_prefix!r}"
        return f"{where} in {safe_url(settings.require_url())}"


def _write_registry(registry: Registry, then: Callable[[], object]) -> None:
    """Create what is missing of the registry, then write to it; driver errors are one line."""
    from expandcontract.db_messages import database_errors

    with database_errors(str(registry.engine.url), "write the gate's registry"):
        registry.ensure()
        then()


def retire_release(settings: Settings, release: str, reason: str, app: str = "") -> None:
    """Record, with a reason, that a release no longer runs anywhere (the attestation source)."""
    from expandcontract.errors import UsageError
    from expandcontract.gate.service import database, registry_of

    if not reason.strip():
        raise UsageError("release retire needs --reason: say how you know the release is gone")
    with database(settings) as engine:
        registry = registry_of(settings, engine)
        _write_registry(registry, lambda: registry.retire(app, release, reason.strip(), actor()))


def gate_check(settings: Settings, kubernetes_document: Mapping[str, Any] | None = None) -> GateReport:
    """The gate's verdict on every pending contract revision, in the order they would run."""
    from expandcontract.alembic_ext.migrate import current_heads, planned
    from expandcontract.alembic_ext.project import open_project, reading_session
    from expandcontract.db_messages import safe_url

    settings.require_project()
    before = current_heads(settings)
    with reading_session(settings):
        project = open_project(settings)
        graph = project.history
        require_known_heads(graph, before, safe_url(settings.require_url()))
        contract: list[str] = []
        if graph.roots_labelled("contract"):
            order = planned(project, "contract@head", before)
            contract = [r for r in order if graph.by_id[r].declared_phase is DeclaredPhase.CONTRACT]
        return judge(settings, project, contract, graph.ancestors(before), kubernetes_document)


def can_deploy(
    settings: Settings, release: str, app: str = "", manifest: Manifest | None = None
) -> list[str]:
    """What `release` needs that the database no longer has (empty: it can be deployed)."""
    from expandcontract.db_messages import database_errors
    from expandcontract.errors import UsageError
    from expandcontract.gate.compat import incompatibilities
    from expandcontract.gate.decision import manifest_lookup
    from expandcontract.gate.service import database, registry_of

    with database(settings) as engine, database_errors(settings.require_url(), "read"):
        manifests = [manifest] if manifest is not None else []
        if manifest is None:
            registry = registry_of(settings, engine)
            known = {}
            if registry.exists():
                with registry.snapshot() as conn:
                    known = {(r.app, r.release): r.manifest for r in registry.releases(conn)}
            manifests = list(manifest_lookup(known)(app, release))
            if not manifests:
                raise UsageError(
                    f"the registry has no manifest for release {release}: publish one "
                    "(expandcontract manifest publish) or pass --manifest FILE"
                )
        with engine.connect() as conn:
            return sorted({line for m in manifests for line in incompatibilities(m, conn)})


def audit_log(settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    """The newest audit log entries, newest first (empty when there is no registry yet)."""
    from dataclasses import asdict

    from expandcontract.db_messages import database_errors
    from expandcontract.gate.service import database, registry_of

    with database(settings) as engine, database_errors(settings.require_url(), "read the audit log"):
        registry = registry_of(settings, engine)
        if not registry.exists():
            return []
        return [asdict(entry) for entry in registry.audit_entries(limit)]


# --- backfills -------------------------------------------------------------------------------------


def backfills(settings: Settings) -> list[BackfillState]:
    """Every backfill the registry knows, oldest first."""
    from expandcontract.backfill import all_states
    from expandcontract.db_messages import database_errors
    from expandcontract.gate.service import database, registry_of

    with database(settings) as engine, database_errors(settings.require_url(), "read the backfills"):
        return all_states(registry_of(settings, engine))


def run_backfills(
    settings: Settings, names: tuple[str, ...], progress: Callable[..., None] | None = None
) -> list[BackfillState]:
    """Run (or resume) the named backfills, or every unfinished one when `names` is empty."""
    from expandcontract.backfill import Backfiller, all_states
    from expandcontract.db_messages import database_errors
    from expandcontract.errors import UsageError
    from expandcontract.gate.service import database, registry_of

    with database(settings) as engine, database_errors(settings.require_url(), "run the backfill"):
        registry = registry_of(settings, engine)
        known = {s.name: s for s in all_states(registry)}
        missing = [n for n in names if n not in known]
        if missing:
            raise UsageError(
                f"no backfill named {', '.join(map(repr, missing))}; "
                "`expandcontract backfill status` lists them"
            )
        chosen = [known[n] for n in names] if names else [s for s in known.values() if s.status != "done"]
        return [Backfiller(engine, registry, state.spec).run(progress) for state in chosen]


def pause_backfill(settings: Settings, name: str) -> BackfillState:
    """Stop a running backfill at its next batch (it resumes with `backfill run`)."""
    from expandcontract.backfill import pause
    from expandcontract.db_messages import database_errors
    from expandcontract.gate.service import database, registry_of

    with database(settings) as engine, database_errors(settings.require_url(), "pause the backfill"):
        registry = registry_of(settings, engine)
        registry.ensure()
        return pause(registry, name)
