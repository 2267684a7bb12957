"""One lint run: which units to read, which to report on, with which rules and assumptions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from expandcontract.capture_cache import CaptureCache
from expandcontract.checks import check_layout
from expandcontract.env_facts import read_env
from expandcontract.errors import UsageError
from expandcontract.history import History
from expandcontract.lint import LintOptions, LintResult, lint_units
from expandcontract.lint_sources import STDIN, layout_findings, revision_units, sql_unit
from expandcontract.lint_targets import after_start, changed_since, revision_range
from expandcontract.model import DeclaredPhase, Finding
from expandcontract.rules.base import Unit
from expandcontract.rules.registry import select_rules
from expandcontract.settings import Settings

CACHE_FOLDER = ".expandcontract_cache"

if TYPE_CHECKING:
    from expandcontract.api import LintRequest


@dataclass(frozen=True)
class _Targets:
    ranges: tuple[str, ...]
    revision_files: tuple[Path, ...]
    sql: tuple[str, ...]  # paths, or "-" for stdin

    @property
    def project(self) -> bool:
        """Whether the Alembic project is linted (not only SQL files)."""
        return bool(self.ranges or self.revision_files) or not self.sql


def _targets(targets: tuple[str, ...], cwd: Path) -> _Targets:
    ranges: list[str] = []
    files: list[Path] = []
    sql: list[str] = []
    for target in targets:
        if target == STDIN or target.lower().endswith(".sql"):
            if target != STDIN and not (cwd / target).is_file():
                raise UsageError(f"{target}: SQL file not found")
            sql.append(target)
        elif target.endswith(".py"):
            path = (cwd / target).resolve()
            if not path.is_file():
                raise UsageError(f"{target}: revision file not found")
            files.append(path)
        elif ":" in target:
            ranges.append(target)
        else:
            raise UsageError(
                f"cannot lint {target!r}: give a revision range (abc123:head), a revision .py file, "
                "a .sql file, or - for SQL on stdin"
            )
    return _Targets(tuple(ranges), tuple(files), tuple(sql))


def _linted(
    history: History, request: LintRequest, targets: _Targets, settings: Settings
) -> tuple[set[str], bool]:
    """(revisions to report on, whether they were chosen explicitly: then they are unreleased together)."""
    chosen = set(history.by_id)
    explicit = False
    if settings.lint.start_after:
        chosen &= after_start(history, settings.lint.start_after)
    if not targets.ranges and not targets.revision_files and request.since is None:
        # released history before the branch point is not linted unless asked for
        chosen -= {r.revision for r in history.in_phase(DeclaredPhase.BASELINE)}
    for spec in targets.ranges:
        chosen &= revision_range(history, spec)
        explicit = True
    paths = {r.path: r.revision for r in history.revisions}  # revision paths are resolved already
    if targets.revision_files:
        named = {paths[str(p)] for p in targets.revision_files if str(p) in paths}
        chosen &= named
        explicit = True
    if request.since is not None:
        changed = changed_since(request.since, settings.project_dir)
        chosen &= {rev for path, rev in paths.items() if Path(path) in changed}
        explicit = True
    return chosen, explicit


def run_lint(settings: Settings, request: LintRequest) -> LintResult:
    cwd = Path.cwd()
    targets = _targets(request.targets, cwd)
    rules = select_rules(
        request.select or settings.lint.select,
        (*settings.lint.ignore, *request.ignore),
        (*settings.lint.extend_select, *request.extend_select),
    )
    units: list[Unit] = []
    linted: set[str] = set()
    fresh: set[str] = set()
    layout: dict[str, list[Finding]] = {}
    env = read_env(None)
    explicit = False
    if targets.project:
        from expandcontract.api import _read

        folder = settings.cache_dir or settings.project_dir / CACHE_FOLDER
        cache = CaptureCache(folder, settings.dialect) if request.cache else None
        script_dir, history, captured = _read(settings, cache, operations=False)
        env = read_env(script_dir / "env.py")
        units = revision_units(captured)  # history order: as a full upgrade runs them, expand first
        linted, explicit = _linted(history, request, targets, settings)
        # released history (before the branch point, or up to start-after) is never new
        released = {r.revision for r in history.in_phase(DeclaredPhase.BASELINE)}
        if settings.lint.start_after:
            released |= set(history.by_id) - after_start(history, settings.lint.start_after)
        fresh = set(linted) - released if explicit else set()
        if history.phased:
            layout = layout_findings(check_layout(history, captured, script_dir), history)
    for target in targets.sql:
        text = (
            request.stdin if target == STDIN else (cwd / target).read_text(encoding="utf-8", errors="replace")
        )
        unit = sql_unit(target, text, settings.dialect, settings.lint.sql_in_transaction)
        units.append(unit)
        linted.add(unit.key)
    options = LintOptions(
        rules=rules,
        postgresql_version=request.postgresql_version or settings.postgresql_version,
        dialect=settings.dialect,
        session_timezone=settings.lint.session_timezone,
        version_table=settings.version_table,
        env_lock_timeout=env.sets_lock_timeout or (env.calls_hook and settings.lock_timeout is not None),
        env_statement_timeout=env.sets_statement_timeout,
        per_revision_ignores=settings.lint.per_revision_ignores,
        project_dir=settings.project_dir,
        fresh=frozenset(fresh),
        shared_transaction=targets.project and not env.transaction_per_migration,
        whole_project=targets.project and not explicit,
        config_path=str(settings.config_file or ""),
    )
    return lint_units(units, linted, options, layout)
