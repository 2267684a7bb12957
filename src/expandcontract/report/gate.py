"""`expandcontract gate check` and `release can-deploy` output: text for people, JSON for pipelines."""

from __future__ import annotations

import json
from typing import Any

from expandcontract.gate.decision import Blocker, Verdict, live_releases
from expandcontract.gate.removals import Removal
from expandcontract.gate.service import GateReport
from expandcontract.report.paths import shown

SCHEMA_VERSION = 1
_VERDICT_WORDS = {0: "every pending contract revision may run", 1: "blocked", 3: "nothing pending"}


def _removal(removal: Removal) -> dict[str, Any]:
    return {
        "kind": removal.kind.value,
        "target": removal.target,
        "what": removal.what,
        "where": removal.where,
    }


def _blocker(blocker: Blocker) -> dict[str, Any]:
    return {
        "reason": blocker.reason,
        "app": blocker.app,
        "release": blocker.release,
        "source": blocker.source,
        "evidence": list(blocker.evidence),
        "object": blocker.object,
    }


def to_json(report: GateReport) -> str:
    by_id = {p.revision: p for p in report.pending}
    manifests = report.evidence.manifests
    doc = {
        "schema_version": SCHEMA_VERSION,
        "database": report.database,
        "exit_code": report.exit_code,
        "sources": [
            {
                "source": r.source,
                "problems": list(r.problems),
                "sightings": [{"app": s.app, "release": s.release, "what": s.what} for s in r.sightings],
            }
            for r in report.evidence.reports
        ],
        "live_releases": [
            {
                "app": live.app,
                "release": live.release,
                "evidence": list(live.evidence),
                "manifest": manifests.get((live.app, live.release)) is not None
                or any(r == live.release and m is not None for (_, r), m in manifests.items()),
            }
            for live in live_releases(report.evidence.reports)
        ],
        "revisions": [
            {
                "revision": v.revision,
                "path": by_id[v.revision].path,
                "allowed": v.allowed,
                "requires_release": by_id[v.revision].requires_release,
                "removes": [_removal(r) for r in v.removes],
                "blocking": [_blocker(b) for b in v.blockers],
            }
            for v in report.verdicts
        ],
    }
    return json.dumps(doc, indent=2)


def verdict_lines(verdict: Verdict, path: str | None = None) -> list[str]:
    state = "allowed" if verdict.allowed else "BLOCKED"
    lines = [f"{verdict.revision}  {state}" + (f"  ({shown(path)})" if path else "")]
    lines += [f"    removes: {r.what} ({shown(r.where)})" for r in verdict.removes]
    lines += [f"    - {b.reason}" for b in verdict.blockers]
    return lines


def to_text(report: GateReport) -> str:
    sources = ", ".join(r.source for r in report.evidence.reports) or "(not asked: nothing pending)"
    lines = [f"database: {report.database}", f"sources: {sources}"]
    for live in live_releases(report.evidence.reports):
        lines.append(f"live: {live.name} ({live.shown_by()})")
    by_id = {p.revision: p for p in report.pending}
    for verdict in report.verdicts:
        lines += verdict_lines(verdict, by_id[verdict.revision].path)
    words = _VERDICT_WORDS[report.exit_code]
    lines.append(f"{words} (exit {report.exit_code})")
    return "\n".join(lines)


def can_deploy_json(release: str, missing: list[str]) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "release": release,
        "can_deploy": not missing,
        "missing": missing,
    }
    return json.dumps(doc, indent=2)
