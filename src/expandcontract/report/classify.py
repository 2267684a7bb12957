"""`expandcontract classify` output."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from expandcontract.model import ClassifiedChange, ReadMode, RevisionClassification, RevisionInfo
from expandcontract.report.paths import shown, shown_location

SCHEMA_VERSION = 1


def revision_json(info: RevisionInfo) -> dict[str, Any]:
    return {
        "revision": info.revision,
        "message": info.message,
        "path": info.path,
        "down_revisions": list(info.down_revisions),
        "depends_on": list(info.depends_on),
        "branch_labels": list(info.branch_labels),
        "declared_phase": info.declared_phase.value,
        "requires_release": info.requires_release,
    }


def _change_json(item: ClassifiedChange) -> dict[str, Any]:
    c = item.change
    return {
        "kind": c.kind.value,
        "target": c.target,
        "schema": c.schema,
        "table": c.table,
        "column": c.column,
        "name": c.name,
        "new_name": c.new_name,
        "phase": item.phase.value,
        "hazards": sorted(h.value for h in item.hazards),
        "fits_declared_phase": item.fits,
        "path": c.location.path,
        "line": c.location.line,
        "operation": c.operation,
        "in_transaction": c.in_transaction,
        "sql": c.sql,
        "detail": c.detail,
    }


def to_json(results: Sequence[RevisionClassification]) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "revisions": [
            {
                **revision_json(r.info),
                "inferred_phase": r.inferred_phase.value if r.inferred_phase else None,
                "mismatch": r.mismatch,
                "read_mode": r.read_mode.value,
                "unreadable_reason": r.unreadable_reason or None,
                "database_reads": [loc.line for loc in r.database_reads],
                "stand_ins": list(r.stand_ins),
                "changes": [_change_json(c) for c in r.changes],
            }
            for r in results
        ],
    }
    return json.dumps(doc, indent=2, default=str)  # default: never fail on an odd value from user code


def _change_line(item: ClassifiedChange, declared: str) -> str:
    c = item.change
    hazards = f" [{', '.join(sorted(h.value for h in item.hazards))}]" if item.hazards else ""
    misfit = f"  <- does not fit {declared}" if not item.fits else ""
    detail = f" ({c.detail})" if c.detail else ""
    what = " ".join(part for part in (c.kind.value, c.target) if part)
    where = shown_location(c.location.path, c.location.line)
    return f"    {where}: {what}{detail} -> {item.phase.value}{hazards}{misfit}"


def to_text(results: Sequence[RevisionClassification]) -> str:
    lines: list[str] = []
    for r in results:
        inferred = r.inferred_phase.value if r.inferred_phase else "empty"
        flag = "  MISMATCH" if r.mismatch else ""
        lines.append(f"{r.info.revision}  {r.info.message}")
        lines.append(f"  {shown(r.info.path)}")
        lines.append(f"  declared: {r.info.declared_phase.value}  inferred: {inferred}{flag}")
        if r.read_mode is ReadMode.AST:
            lines.append(f"  read from source only (cannot run offline: {r.unreadable_reason})")
        if r.stand_ins:
            lines.append(f"  imports what is not installed, read through stand-ins: {', '.join(r.stand_ins)}")
        if r.database_reads:
            at = ", ".join(str(loc.line) for loc in r.database_reads)
            lines.append(f"  queries the database (line {at}): read offline as if it returned no rows")
        lines.extend(_change_line(c, r.info.declared_phase.value) for c in r.changes)
        lines.append("")
    mismatched = sum(1 for r in results if r.mismatch)
    lines.append(f"{len(results)} revisions, {mismatched} with changes that do not fit their declared phase")
    return "\n".join(lines)
