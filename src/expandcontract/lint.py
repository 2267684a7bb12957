"""The lint engine: replays the history, runs the selected rules on every change in its context,
applies suppressions, and adds the findings the engine itself computes (phase summaries, EC9xx)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from expandcontract.classify import classify_change, type_change_verdict
from expandcontract.model import Change, ChangeKind, DeclaredPhase, Finding, Location, Phase, Severity
from expandcontract.rules.base import Hit, Rule, RuleKind, Step, Transaction, Unit
from expandcontract.rules.locks import Lock, lock_of
from expandcontract.rules.registry import ALL_RULES, BY_CODE, matching
from expandcontract.rules.suppression import (
    Suppression,
    python_statement_lines,
    review_markers_in,
    suppressions_in,
)
from expandcontract.schema_state import SchemaReplay
from expandcontract.sql import statement_lines

_BOUNDARIES = frozenset({"begin", "commit", "rollback"})
_OFF = re.compile(r"(=|\bto)\s*('?\s*0\s*(ms|s)?\s*'?|default)\s*;?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class LintOptions:
    rules: frozenset[Rule]
    postgresql_version: int = 16
    dialect: str = "postgresql"
    session_timezone: str | None = None
    version_table: str = "alembic_version"
    env_lock_timeout: bool = False  # env.py (or the extension's hook) sets lock_timeout for every run
    env_statement_timeout: bool = False
    per_revision_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    project_dir: Path | None = None  # per-revision-ignores path globs are relative to it
    fresh: frozenset[str] = frozenset()  # units that are unreleased together (e.g. changed since a git ref)
    # env.py runs all revisions of an upgrade in one transaction (Alembic's default, without
    # transaction_per_migration=True): unreleased revisions that run together share it
    shared_transaction: bool = False
    whole_project: bool = False  # every revision is linted (no range, files or --since)
    config_path: str = ""  # where per-revision-ignores come from (for EC903)


@dataclass(frozen=True)
class UnitReport:
    unit: Unit
    findings: tuple[Finding, ...]
    suppressed: int


@dataclass(frozen=True)
class LintResult:
    reports: tuple[UnitReport, ...]
    rules: tuple[str, ...]  # the codes that ran
    extra: tuple[Finding, ...] = ()  # not tied to one unit (config, layout)

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.reports for f in r.findings] + list(self.extra)

    @property
    def suppressed(self) -> int:
        return sum(r.suppressed for r in self.reports)


@dataclass
class _TransactionState:
    exclusive: list[Change] = field(default_factory=list)  # ACCESS EXCLUSIVE locks on existing tables
    not_valid: set[str] = field(default_factory=set)  # constraints added NOT VALID (lower-case names)
    lock_timeout: bool = False  # SET LOCAL lock_timeout
    statement_timeout: bool = False

    def add(self, change: Change, existing_table: bool) -> None:
        if existing_table and lock_of(change) is Lock.ACCESS_EXCLUSIVE:
            self.exclusive.append(change)
        if change.kind is ChangeKind.ADD_CONSTRAINT and change.not_valid:
            self.not_valid.add((change.name or "").lower())


def _groups(changes: Sequence[Change]) -> list[int]:
    """A transaction number per change: changes outside a transaction are alone in theirs."""
    out: list[int] = []
    current = 0
    previous: Change | None = None
    for change in changes:
        if previous is not None and (
            not change.in_transaction
            or not previous.in_transaction
            or change.transaction != previous.transaction
            or (previous.kind is ChangeKind.TRANSACTION_CONTROL and previous.detail in _BOUNDARIES)
        ):
            current += 1
        out.append(current)
        previous = change
    return out


def _setting(change: Change) -> tuple[str, bool] | None:
    """(setting, now on) for `SET [LOCAL] lock_timeout = ...` / `RESET ...`."""
    if change.kind is not ChangeKind.SESSION_SETTING or not change.name:
        return None
    name = change.name.strip().lower()
    if name not in ("lock_timeout", "statement_timeout"):
        return None
    on = change.detail.upper() != "RESET" and not _OFF.search(change.sql)
    return name, on


class _Walker:
    """Walks the units in history order, keeping the replayed schema between them."""

    def __init__(self, options: LintOptions) -> None:
        self.options = options
        self.replay = SchemaReplay()
        running = set(options.rules) | _summarised(options.rules)
        self.change_rules = sorted(
            (r for r in running if r.kind is RuleKind.CHANGE and self._applies(r)), key=lambda r: r.code
        )
        self.unit_rules = sorted((r for r in options.rules if r.kind is RuleKind.UNIT), key=lambda r: r.code)
        self._open: tuple[str, _TransactionState] | None = None  # the transaction the last unit left open

    def _applies(self, rule: Rule) -> bool:
        return not rule.postgresql_only or self.options.dialect == "postgresql"

    def _fresh(self, unit: Unit) -> frozenset[str]:
        return self.options.fresh | {unit.key} if unit.key in self.options.fresh else frozenset({unit.key})

    def _with_known_type(self, change: Change) -> Change:
        """A type change without `existing_type=` learns the old type from the replayed history."""
        if change.kind is ChangeKind.ALTER_COLUMN_TYPE and not change.old_type:
            column = self.replay.column(change)
            if column is not None and column.type:
                return replace(change, old_type=column.type)
        return change

    def _new_column(self, change: Change, fresh: frozenset[str]) -> bool:
        """The column, or the named constraint, the change acts on came with an unreleased unit."""
        if change.kind is ChangeKind.DROP_CONSTRAINT:
            return self.replay.constraint_created_by(change) in fresh
        column = self.replay.column(change)
        return column is not None and column.created_by in fresh

    def _new_table(self, change: Change, fresh: frozenset[str]) -> bool:
        table = self.replay.table(change)
        if table is not None:
            return table.created_by in fresh
        if change.kind is ChangeKind.DROP_INDEX:
            return self.replay.index_created_by(change.name) in fresh
        if change.kind in (ChangeKind.DROP_OBJECT, ChangeKind.RENAME_OBJECT):
            return self.replay.object_created_by(change.object_type, change.name) in fresh
        return False

    def _shares(self, earlier: str, later: Unit) -> bool:
        """Whether `later` starts inside the transaction `earlier` left open: both run in one upgrade
        (unreleased together) and env.py runs the whole upgrade in one transaction."""
        fresh = self.options.fresh
        return (
            self.options.shared_transaction
            and earlier in fresh
            and later.key in fresh
            and bool(later.changes)
            and later.changes[0].in_transaction
        )

    def _carried(self, unit: Unit) -> _TransactionState:
        """The transaction this unit starts in: the previous unit's, or a new one."""
        if self._open is not None and self._shares(self._open[0], unit):
            carried = self._open[1]
            return _TransactionState(
                exclusive=list(carried.exclusive),
                not_valid=set(carried.not_valid),
                lock_timeout=carried.lock_timeout,
                statement_timeout=carried.statement_timeout,
            )
        return _TransactionState()

    def walk(self, unit: Unit, report: bool, following: Unit | None = None) -> list[Finding]:
        """Apply the unit to the replay; when `report`, the findings before suppressions.

        `following` is the next unit in history order: its first statements run in this unit's last
        transaction when the two share one.
        """
        out: list[Finding] = []
        fresh = self._fresh(unit)
        groups = _groups(unit.changes)
        spill: tuple[Change, ...] = ()
        if (
            following is not None
            and unit.changes
            and unit.changes[-1].in_transaction
            and self._shares(unit.key, following)
        ):
            next_groups = _groups(following.changes)
            spill = tuple(c for c, g in zip(following.changes, next_groups, strict=True) if g == 0)
        # env.py's settings apply to revisions only: a SQL file runs however its tool runs it
        session = {
            "lock_timeout": unit.is_revision and self.options.env_lock_timeout,
            "statement_timeout": unit.is_revision and self.options.env_statement_timeout,
        }
        txn = self._carried(unit)
        for index, change in enumerate(unit.changes):
            if index and groups[index] != groups[index - 1]:
                txn = _TransactionState()
            new_table = self._new_table(change, fresh)
            change = self._with_known_type(change)
            if report:
                out.extend(self._check(unit, change, index, groups, txn, session, new_table, fresh, spill))
            setting = _setting(change)
            if setting is not None:
                name, on = setting
                if change.detail.upper() == "RESET":
                    session[name] = False
                    setattr(txn, name, False)  # RESET also overrides an earlier SET LOCAL
                elif change.detail.upper() != "LOCAL":
                    session[name] = on
                    setattr(txn, name, on)  # a plain SET also replaces an earlier SET LOCAL
                elif change.in_transaction:
                    setattr(txn, name, on)
                # SET LOCAL outside a transaction block: PostgreSQL warns and ignores it
            txn.add(change, not new_table)
            self.replay.apply(change, unit.key)
        last_open = bool(unit.changes) and unit.changes[-1].in_transaction
        self._open = (unit.key, txn) if last_open else None
        if report:
            for rule in self.unit_rules:
                assert rule.check_unit is not None
                for hit in rule.check_unit(unit):
                    out.append(self._finding(rule, hit, unit, Location(unit.path, 1, 1)))
        return out

    def _check(
        self,
        unit: Unit,
        change: Change,
        index: int,
        groups: list[int],
        txn: _TransactionState,
        session: dict[str, bool],
        new_table: bool,
        fresh: frozenset[str],
        spill: tuple[Change, ...] = (),
    ) -> list[Finding]:
        if change.kind is ChangeKind.ALTER_COLUMN_TYPE:  # judged for the configured server and time zone
            phase, _ = type_change_verdict(
                change, self.options.dialect, self.options.postgresql_version, self.options.session_timezone
            )
        else:
            phase, _ = classify_change(change, self.options.dialect)
        if new_table and phase in (Phase.RECIPE, Phase.CONTRACT):
            phase = Phase.EXPAND  # no release has seen the table yet
        in_txn = change.in_transaction
        later = (
            tuple(c for i, c in enumerate(unit.changes) if i > index and groups[i] == groups[index])
            + (spill if groups[index] == groups[-1] else ())
            if in_txn
            else ()
        )
        exclusive = tuple(txn.exclusive) if in_txn else ()
        not_valid = frozenset(txn.not_valid) if in_txn else frozenset()
        step = Step(
            change=change,
            unit=unit,
            phase=phase,
            column=self.replay.column(change),
            new_table=new_table,
            new_column=self._new_column(change, fresh),
            proven_not_null=self.replay.proven_not_null(change),
            lock_timeout=session["lock_timeout"] or (in_txn and txn.lock_timeout),
            statement_timeout=session["statement_timeout"] or (in_txn and txn.statement_timeout),
            transaction=Transaction(exclusive=exclusive, not_valid=not_valid, later=later),
            postgresql_version=self.options.postgresql_version,
            session_timezone=self.options.session_timezone,
            version_table=self.options.version_table,
        )
        out: list[Finding] = []
        for rule in self.change_rules:
            assert rule.check is not None
            for hit in rule.check(step):
                out.append(replace(self._finding(rule, hit, unit, change.location), target=change.target))
        return out

    def _finding(self, rule: Rule, hit: Hit, unit: Unit, where: Location) -> Finding:
        severity = hit.severity or rule.severity
        fix = hit.fix
        if rule.gated and unit.phase is DeclaredPhase.CONTRACT:
            severity = Severity.GATED
            fix = "nothing to change: contract revisions run after the rollout, when the gate allows them"
        return Finding(
            code=rule.code,
            name=rule.name,
            severity=severity,
            location=_with_column(hit.location or where, unit),
            message=hit.message,
            fix=fix,
            revision=unit.revision,
        )


def _with_column(location: Location, unit: Unit) -> Location:
    """The operation's column: where its line's code starts (revision lines are 1-based too)."""
    if location.column or not location.line or not unit.source:
        return location
    lines = unit.lines
    if location.line > len(lines):
        return location
    text = lines[location.line - 1]
    return replace(location, column=len(text) - len(text.lstrip()) + 1)


def _summarised(rules: frozenset[Rule]) -> set[Rule]:
    """The rules EC001 and EC003 summarise: they run for the summaries even when not selected."""
    codes = {r.code for r in rules}
    out: set[Rule] = set()
    if "EC001" in codes:
        out |= {r for r in ALL_RULES if r.gated and not r.opt_in}
    if "EC003" in codes:
        out |= {r for r in ALL_RULES if r.code.startswith("EC2") or r.code == "EC109"}
    return out


def _summary(rule: Rule | None, unit: Unit, found: list[Finding], what: str, fix: str) -> Finding | None:
    if rule is None or not found:
        return None
    lines = sorted({(f.location.line, f.name, f.target) for f in found})
    listed = "; ".join(f"line {line} {name} {target}".rstrip() for line, name, target in lines[:5])
    more = f" (+{len(lines) - 5} more)" if len(lines) > 5 else ""
    first = min(found, key=lambda f: (f.location.line, f.location.column))
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        location=first.location,
        message=f"{what}: {listed}{more}",
        fix=fix,
        revision=unit.revision,
    )


def _phase_summaries(unit: Unit, kept: list[Finding], rules: frozenset[Rule]) -> list[Finding]:
    """EC001 and EC003, once per unit: the contract changes (EC1xx errors) of a unit that runs before
    the deploy, and the changes that need a recipe (EC2xx, EC109), whose findings were not suppressed."""
    selected = {r.code: r for r in rules}
    contract = [
        f for f in kept if f.severity is Severity.ERROR and BY_CODE[f.code].gated and unit.runs_before_deploy
    ]
    recipe = [f for f in kept if f.code.startswith("EC2") or f.code == "EC109"]
    where = "SQL that runs before the deploy"
    if unit.is_revision:
        where = "a revision that runs before the deploy"
    if unit.phase is DeclaredPhase.EXPAND:
        where = f"expand revision {unit.revision}"
    out = [
        _summary(
            selected.get("EC001"),
            unit,
            contract,
            f"contract changes in {where}",
            "move them to a contract revision (expandcontract revision --phase contract --completes REV)",
        ),
        _summary(
            selected.get("EC003"),
            unit,
            recipe,
            "changes no single phase can hold",
            "write each as its expand/contract recipe (see the finding for each)",
        ),
    ]
    return [f for f in out if f is not None]


def _ignored_by_config(unit: Unit, options: LintOptions) -> list[tuple[str, set[str]]]:
    """(pattern, codes) of per-revision-ignores entries that match this unit."""
    out: list[tuple[str, set[str]]] = []
    if not options.per_revision_ignores:
        return out
    relative = unit.path
    if options.project_dir is not None:
        try:
            relative = str(Path(unit.path).resolve().relative_to(options.project_dir.resolve()))
        except ValueError:
            pass
    for pattern, selectors in options.per_revision_ignores:
        if pattern == unit.key or pattern == unit.revision or fnmatch.fnmatch(relative, pattern):
            out.append((pattern, {r.code for s in selectors for r in matching(s)}))
    return out


@dataclass
class _Suppressed:
    kept: list[Finding]
    count: int
    used: set[int]  # indexes of the suppression comments that suppressed something
    patterns: set[str]  # per-revision-ignores entries that suppressed something


def _suppress(
    findings: list[Finding],
    suppressions: list[Suppression],
    config: list[tuple[str, set[str]]],
    spans: Mapping[int, int],
) -> _Suppressed:
    out = _Suppressed(kept=[], count=0, used=set(), patterns=set())
    for finding in findings:
        line = finding.location.line
        hit = next(
            (i for i, s in enumerate(suppressions) if s.covers(finding.code, line, spans.get(line, line))),
            None,
        )
        by_config = next((p for p, codes in config if finding.code in codes), None)
        if hit is None and by_config is None:
            out.kept.append(finding)
            continue
        out.count += 1
        if hit is not None:
            out.used.add(hit)
        if by_config is not None:
            out.patterns.add(by_config)
    return out


def _statement_spans(unit: Unit, dialect: str) -> dict[int, int]:
    if unit.is_revision:
        return python_statement_lines(unit.source)
    return statement_lines(unit.source, dialect)


def _suppression_findings(
    unit: Unit, suppressions: list[Suppression], used: set[int], options: LintOptions
) -> list[Finding]:
    selected = {r.code for r in options.rules}
    out: list[Finding] = []
    for index, suppression in enumerate(suppressions):
        where = Location(unit.path, suppression.line, suppression.column)
        if "EC904" in selected and not suppression.reason:
            out.append(
                _engine_finding(
                    "EC904",
                    where,
                    unit,
                    f"suppression of {', '.join(suppression.selectors) or 'nothing'} gives no reason",
                    f"add the reason after `--`: {'#' if unit.is_revision else '--'} expandcontract: "
                    f"ignore[{', '.join(suppression.selectors) or 'EC101'}] -- why it is safe",
                )
            )
        if "EC903" not in selected:
            continue
        unknown = [
            s for s, rule in zip(suppression.selectors, suppression.rules, strict=True) if rule is None
        ]
        if unknown or not suppression.selectors:
            out.append(
                _engine_finding(
                    "EC903",
                    where,
                    unit,
                    f"suppression names unknown rule(s): {', '.join(unknown) or '(none)'}",
                    "use a code such as EC101 or a name such as drop-column (`expandcontract rule`)",
                )
            )
        elif index not in used and any(r is not None and r.code in selected for r in suppression.rules):
            out.append(
                _engine_finding(
                    "EC903",
                    where,
                    unit,
                    f"suppression of {', '.join(suppression.selectors)} suppresses nothing",
                    "remove it",
                )
            )
    return out


def _review_findings(unit: Unit, selected: set[str]) -> list[Finding]:
    """EC007 for each step the phased autogenerate left for a person to review."""
    if "EC007" not in selected or not unit.is_revision or not unit.source:
        return []
    return [
        _engine_finding(
            "EC007",
            Location(unit.path, line, column),
            unit,
            f"autogenerated step left for review: {why or 'no recipe'}",
            "rewrite the step below as the line says (or confirm it is safe), then delete the line",
        )
        for line, column, why in review_markers_in(unit.source)
    ]


def _engine_finding(code: str, where: Location, unit: Unit, message: str, fix: str) -> Finding:
    rule = BY_CODE[code]
    return Finding(code, rule.name, rule.severity, where, message, fix, unit.revision)


def lint_units(
    units: Sequence[Unit],
    linted: Iterable[str],
    options: LintOptions,
    extra: Mapping[str, Sequence[Finding]] | None = None,
) -> LintResult:
    """Lint `linted` (unit keys) of `units` (every unit, history order: the replay needs them all).

    `extra` adds findings computed elsewhere (the layout check's EC005/EC006) to a unit's, before
    suppressions apply.
    """
    wanted = set(linted)
    selected = {r.code for r in options.rules}
    walker = _Walker(options)
    reports: list[UnitReport] = []
    patterns_used: set[str] = set()
    for position, unit in enumerate(units):
        report = unit.key in wanted
        following = units[position + 1] if position + 1 < len(units) else None
        raw = walker.walk(unit, report, following)
        if not report:
            continue
        findings = [f for f in raw if f.code in selected]
        findings += [f for f in (extra or {}).get(unit.key, ()) if f.code in selected]
        findings += _review_findings(unit, selected)  # suppressible like any rule's
        suppressions = suppressions_in(unit.source, python=unit.is_revision) if unit.source else []
        config = _ignored_by_config(unit, options)
        spans = _statement_spans(unit, options.dialect) if suppressions else {}
        first = _suppress(list(raw), suppressions, config, spans)  # with the summarised rules' findings
        summaries = _phase_summaries(unit, first.kept, options.rules)
        final = _suppress(findings + summaries, suppressions, config, spans)
        patterns_used |= final.patterns
        own = _suppression_findings(unit, suppressions, final.used, options)
        ordered = sorted(final.kept + own, key=lambda f: (f.location.line, f.location.column, f.code))
        reports.append(UnitReport(unit=unit, findings=tuple(ordered), suppressed=final.count))
    unused = _unused_config_ignores(options, patterns_used, units, wanted)
    return LintResult(
        reports=tuple(reports), rules=tuple(sorted(r.code for r in options.rules)), extra=tuple(unused)
    )


def _config_line(config_path: str, pattern: str) -> Location:
    """Where a per-revision-ignores entry is written (its config file's line)."""
    try:
        lines = Path(config_path).read_text(encoding="utf-8").splitlines() if config_path else []
    except OSError:
        lines = []
    line = next((n for n, text in enumerate(lines, 1) if f'"{pattern}"' in text or f"'{pattern}'" in text), 0)
    return Location(config_path, line, 1 if line else 0)


def _unused_config_ignores(
    options: LintOptions, used: set[str], units: Sequence[Unit], linted: set[str]
) -> list[Finding]:
    """EC903 for per-revision-ignores entries that name unknown rules, match nothing in the project,
    or suppressed nothing in the revisions linted."""
    if "EC903" not in {r.code for r in options.rules} or not units:
        return []
    rule = BY_CODE["EC903"]
    out: list[Finding] = []
    for pattern, selectors in options.per_revision_ignores:
        unknown = [s for s in selectors if not matching(s)]
        matched = {u.key for u in units if any(p == pattern for p, _ in _ignored_by_config(u, options))}
        if unknown:
            problem = f"names unknown rule(s) {', '.join(unknown)}"
        elif not matched and options.whole_project and not pattern.lower().endswith(".sql"):
            problem = "matches no revision of the project"
        elif matched & linted and pattern not in used:
            problem = "suppresses nothing"
        else:
            continue
        out.append(
            Finding(
                rule.code,
                rule.name,
                rule.severity,
                _config_line(options.config_path, pattern),
                f"per-revision-ignores entry {pattern!r} {problem}",
                "fix or remove the entry",
            )
        )
    return out
