"""The public functions the CLI calls. Each takes `Settings` (or a folder) and returns data; none prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from expandcontract.capture_cache import CaptureCache
from expandcontract.checks import Violation, check_layout
from expandcontract.classify import classify_revision
from expandcontract.errors import ContractBlocked, LayoutError
from expandcontract.gate.hook import ContractVerdict, blocked_message, review_contract
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
    from expandcontract.alembic_ext.migrate import current_heads, safe_url

    graph = history(settings)
    return compute_status(graph, current_heads(settings), safe_url(settings.require_url()))


@dataclass(frozen=True)
class UpgradeResult:
    target: str
    applied: tuple[RevisionInfo, ...]  # empty for --sql
    verdicts: tuple[ContractVerdict, ...]  # the gate's answer for each contract revision in the run


def upgrade(
    settings: Settings,
    phase: UpgradePhase,
    sql: bool = False,
    on_verdict: Callable[[ContractVerdict], None] | None = None,
) -> UpgradeResult:
    """Run Alembic's upgrade to `expand@head`, `contract@head` or `heads`.

    Contract revisions in the run are first put to the contract gate (each verdict goes to
    `on_verdict` before anything runs); the run is refused if the gate blocks any of them.
    """
    from expandcontract.alembic_ext.migrate import current_heads, planned, run_upgrade, safe_url
    from expandcontract.alembic_ext.project import open_project, reading_session

    settings.require_project()
    target = UPGRADE_TARGETS[phase]
    before = () if sql else current_heads(settings)  # outside the reading session: real drivers only
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
        if phase == "expand":
            early = [r for r in order if graph.by_id[r].declared_phase is DeclaredPhase.CONTRACT]
            if early:
                raise LayoutError(
                    f"`upgrade --phase expand` would apply contract revision(s) {', '.join(early)}: an "
                    "expand revision depends on or merges the contract branch; see `expandcontract check`"
                )
    contract = [graph.by_id[r] for r in order if graph.by_id[r].declared_phase is DeclaredPhase.CONTRACT]
    verdicts = review_contract(settings, graph, contract)
    if on_verdict is not None:
        for verdict in verdicts:
            on_verdict(verdict)
    if not all(v.allowed for v in verdicts):
        raise ContractBlocked(blocked_message(verdicts))
    reviewed = {v.revision for v in verdicts if v.allowed}
    # Alembic may order independent branches contract-first; `all` runs the expand phase first
    steps = ["expand@head", target] if phase == "all" and graph.roots_labelled("expand") else [target]
    for index, step in enumerate(steps):
        # offline, the second step starts where the first ended instead of at the base
        run_upgrade(settings, f"{steps[0]}:{step}" if sql and index else step, sql=sql, reviewed=reviewed)
    if sql:
        return UpgradeResult(target=target, applied=(), verdicts=tuple(verdicts))
    after = current_heads(settings)
    newly = graph.ancestors(after) - graph.ancestors(before)
    return UpgradeResult(target=target, applied=tuple(graph.ordered(newly)), verdicts=tuple(verdicts))


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


def revision(settings: Settings, message: str, phase: str, completes: str | None = None) -> Path:
    """Write a new empty revision on a phase branch; returns its path."""
    from expandcontract.alembic_ext.layout import new_revision
    from expandcontract.alembic_ext.project import reading_session

    settings.require_project()
    with reading_session(settings):
        return new_revision(settings, message, phase, completes)
