"""What the linter reads, as units: each revision of an Alembic project, each SQL file, stdin."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from expandcontract.checks import Violation
from expandcontract.history import History
from expandcontract.model import CapturedRevision, DeclaredPhase, Finding, Location
from expandcontract.rules.base import Unit
from expandcontract.rules.registry import BY_CODE
from expandcontract.sql import changes_from_sql

STDIN = "-"


def _source(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def revision_units(captured: Sequence[CapturedRevision]) -> list[Unit]:
    """One unit per revision, in history order."""
    return [
        Unit(
            key=c.info.revision,
            path=c.info.path,
            changes=c.changes,
            phase=c.info.declared_phase,
            revision=c.info.revision,
            read_mode=c.read_mode,
            unreadable_reason=c.unreadable_reason,
            source=_source(c.info.path),
        )
        for c in captured
    ]


def _without_psql_commands(text: str) -> str:
    """psql's own commands (`\\timing`, `\\set ON_ERROR_STOP on`) are not SQL: read them as comments,
    so they do not swallow the statement after them. Line numbers stay as they are."""
    lines = text.split("\n")
    return "\n".join("--" + line if line.lstrip().startswith("\\") else line for line in lines)


def sql_unit(path: str, text: str, dialect: str, in_transaction: bool) -> Unit:
    """A SQL file (or stdin, path "-"): its statements run before the deploy, like an unphased revision."""
    text = _without_psql_commands(text.removeprefix("\ufeff"))  # a byte-order mark is not SQL either
    changes = changes_from_sql(
        text, dialect=dialect, location=Location(path, 1), in_transaction=in_transaction, statement_lines=True
    )
    return Unit(key=path, path=path, changes=tuple(changes), phase=DeclaredPhase.UNPHASED, source=text)


def layout_findings(violations: Sequence[Violation], history: History) -> dict[str, list[Finding]]:
    """EC005/EC006 from the layout check, keyed by the revision they are about."""
    by_path = {r.path: r.revision for r in history.revisions}  # resolved already, as violations' paths
    out: dict[str, list[Finding]] = {}
    for violation in violations:
        rule = BY_CODE.get(violation.code)
        revision = by_path.get(violation.path) if violation.path else None
        if rule is None or revision is None:
            continue
        finding = Finding(
            code=rule.code,
            name=rule.name,
            severity=rule.severity,
            location=Location(violation.path, violation.line or 1, 1),
            message=violation.message,
            fix="see `expandcontract check` and docs/phase-model.md",
            revision=revision,
        )
        out.setdefault(revision, []).append(finding)
    return out
