"""`expandcontract status` output."""

from __future__ import annotations

import json
from typing import Any

from expandcontract.model import RevisionInfo
from expandcontract.report.paths import shown
from expandcontract.status import StatusReport

SCHEMA_VERSION = 1


def _rev(info: RevisionInfo) -> dict[str, Any]:
    return {"revision": info.revision, "message": info.message, "path": info.path}


def to_json(report: StatusReport) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "database": report.database,
        "current_heads": list(report.current_heads),
        "branches": {
            b.phase.value: {"applied": [_rev(r) for r in b.applied], "pending": [_rev(r) for r in b.pending]}
            for b in report.branches
        },
        "expand_pending": report.expand_pending,
        "contract_pending": report.contract_pending,
        "exit_code": report.exit_code,
    }
    return json.dumps(doc, indent=2)


def to_text(report: StatusReport) -> str:
    lines = [f"database: {report.database}", f"current heads: {', '.join(report.current_heads) or '(none)'}"]
    for branch in report.branches:
        lines.append(f"{branch.phase.value:<9} {len(branch.applied)} applied, {len(branch.pending)} pending")
        lines.extend(f"    pending {r.revision}  {r.message}  ({shown(r.path)})" for r in branch.pending)
    if report.expand_pending:
        lines.append("expand pending: run `expandcontract upgrade --phase expand` before deploying (exit 3)")
    elif report.contract_pending:
        lines.append(
            "contract pending: run `expandcontract upgrade --phase contract` after the rollout (exit 4)"
        )
    else:
        lines.append("up to date (exit 0)")
    return "\n".join(lines)
