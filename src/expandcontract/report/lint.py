"""`expandcontract lint` output: text (grouped by file), json, GitHub annotations and SARIF 2.1.0."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from expandcontract import __version__
from expandcontract.lint import LintResult
from expandcontract.model import Finding, Severity
from expandcontract.report.paths import shown
from expandcontract.rules.base import Rule
from expandcontract.rules.registry import ALL_RULES, BY_CODE

SCHEMA_VERSION = 1
DOCS_URL = "https://github.com/expandcontract/expandcontract/blob/main/docs/rules/{slug}.md"
FORMATS = ("text", "json", "github", "sarif")

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.GATED: "cyan"}


def help_uri(rule: Rule) -> str:
    return DOCS_URL.format(slug=rule.slug)


def _where(finding: Finding) -> str:
    loc = finding.location
    path = shown(loc.path) if loc.path and loc.path != "-" else (loc.path or "<config>")
    if not loc.line:
        return path
    return f"{path}:{loc.line}:{loc.column or 1}"


def counts(result: LintResult) -> dict[str, int]:
    out = {s.value: 0 for s in Severity}
    for finding in result.findings:
        out[finding.severity.value] += 1
    return out


def to_text(result: LintResult, colour: bool = False) -> str:
    import click

    def paint(text: str, severity: Severity) -> str:
        return click.style(text, fg=_COLOURS[severity], bold=severity is Severity.ERROR) if colour else text

    def line(f: Finding) -> str:
        return f"{_where(f)}: {paint(f.code, f.severity)} {f.name} [{f.severity.value}] {f.message}"

    lines: list[str] = []
    for report in result.reports:
        if not report.findings:
            continue
        unit = report.unit
        title = f"{unit.revision}  {shown(unit.path)}" if unit.revision else shown(unit.path)
        lines.append(click.style(title, bold=True) if colour else title)
        for f in report.findings:
            lines.append(f"  {line(f)}")
            if f.fix:
                lines.append(f"      fix: {f.fix}")
        lines.append("")
    for f in result.extra:
        lines.append(line(f))
    n = counts(result)
    checked = len(result.reports)
    lines.append(
        f"{checked} file(s) checked: {n['error']} error(s), {n['warning']} warning(s), "
        f"{n['gated']} gated contract change(s), {result.suppressed} suppressed"
    )
    return "\n".join(lines)


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "severity": f.severity.value,
        "gated": f.severity is Severity.GATED,
        "path": f.location.path,
        "line": f.location.line,
        "column": f.location.column,
        "message": f.message,
        "fix": f.fix,
        "revision": f.revision,
        "target": f.target,
        "help_uri": help_uri(BY_CODE[f.code]),
    }


def to_json(result: LintResult) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "expandcontract", "version": __version__},
        "rules": list(result.rules),
        "summary": {**counts(result), "suppressed": result.suppressed, "files": len(result.reports)},
        "files": [
            {
                "path": r.unit.path,
                "revision": r.unit.revision,
                "phase": r.unit.phase.value,
                "read_mode": r.unit.read_mode.value,
                "unreadable_reason": r.unit.unreadable_reason or None,
                "suppressed": r.suppressed,
                "findings": [_finding_json(f) for f in r.findings],
            }
            for r in result.reports
        ],
        "other_findings": [_finding_json(f) for f in result.extra],
    }
    return json.dumps(doc, indent=2)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.GATED: "notice"}


def _workspace_relative(path: str) -> str:
    """Annotations name files relative to the repository (GITHUB_WORKSPACE), wherever lint ran."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        try:
            return Path(path).resolve().relative_to(Path(workspace).resolve()).as_posix()
        except ValueError:
            pass
    return shown(path)


def to_github(result: LintResult) -> str:
    """GitHub Actions workflow commands: one annotation per finding on the PR's diff."""
    lines: list[str] = []
    for f in result.findings:
        props = []
        if f.location.path and f.location.path != "-":
            props.append(f"file={_escape_property(_workspace_relative(f.location.path))}")
        if f.location.line:
            props.append(f"line={f.location.line}")
            props.append(f"col={f.location.column or 1}")
        props.append(f"title={_escape_property(f'{f.code} {f.name}')}")
        message = f.message + (f"\nfix: {f.fix}" if f.fix else "")
        lines.append(f"::{_GITHUB_LEVELS[f.severity]} {','.join(props)}::{_escape_data(message)}")
    n = counts(result)
    lines.append(f"expandcontract: {n['error']} error(s), {n['warning']} warning(s), {n['gated']} gated")
    return "\n".join(lines)


_SARIF_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.GATED: "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.summary},
        "helpUri": help_uri(rule),
        "help": {"text": rule.doc or rule.summary, "markdown": rule.doc or rule.summary},
        "defaultConfiguration": {"level": _SARIF_LEVELS[rule.severity], "enabled": not rule.opt_in},
        "properties": {"tags": [rule.family]},
    }


def _uri(path: str) -> str:
    """A relative URI reference (percent-encoded) below the repository (GITHUB_WORKSPACE) or the
    working directory, else a file: URI."""
    if not path or path == "-":
        return "stdin"
    shown_path = Path(_workspace_relative(path))
    return shown_path.as_uri() if shown_path.is_absolute() else quote(shown_path.as_posix())


def to_sarif(result: LintResult) -> str:
    rules: Sequence[Rule] = ALL_RULES
    index = {r.code: i for i, r in enumerate(rules)}
    results = []
    for f in result.findings:
        # GitHub code scanning needs a region with startLine on every result: a finding about the
        # whole file (line 0) points at its first line
        region = {"startLine": f.location.line or 1}
        if f.location.line:
            region["startColumn"] = f.location.column or 1
        location: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.location.path)}, "region": region}
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": _SARIF_LEVELS[f.severity],
                "message": {"text": f.message + (f" Fix: {f.fix}" if f.fix else "")},
                "locations": [{"physicalLocation": location}],
                "properties": {"gated": f.severity is Severity.GATED, "revision": f.revision},
            }
        )
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "expandcontract",
                        "version": __version__,
                        "informationUri": "https://github.com/expandcontract/expandcontract",
                        "rules": [_sarif_rule(r) for r in rules],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2)
