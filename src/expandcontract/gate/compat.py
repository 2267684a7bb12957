"""Can a release run against the schema as it is now? Its manifest against the live database: every
table and column it maps must exist, and the tightenings it cannot live with must not be there."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from expandcontract.gate.manifest import Manifest


def _keeps_default(column: dict[str, Any]) -> bool:
    return bool(
        column.get("default") is not None
        or column.get("identity")
        or column.get("computed")
        or column.get("autoincrement") is True
    )


def incompatibilities(manifest: Manifest, conn: Connection) -> list[str]:
    """What the release needs that the database no longer has, one line each (empty: it can run)."""
    inspector = sa.inspect(conn)
    out: list[str] = []
    for key, use in sorted(manifest.tables.items()):
        schema, _, name = key.rpartition(".")
        if not inspector.has_table(name, schema=schema or None) and name not in inspector.get_view_names(
            schema=schema or None
        ):
            out.append(f"table {key} is gone")
            continue
        columns = {c["name"].lower(): dict(c) for c in inspector.get_columns(name, schema=schema or None)}
        primary = inspector.get_pk_constraint(name, schema=schema or None).get("constrained_columns") or []
        if conn.dialect.name == "sqlite" and len(primary) == 1 and primary[0].lower() in columns:
            rowid = columns[primary[0].lower()]
            if str(rowid["type"]).upper() == "INTEGER":  # SQLite's rowid: it numbers new rows itself
                rowid["autoincrement"] = True
        for column, needs in sorted(use.columns.items()):
            found = columns.get(column.lower())
            if found is None:
                out.append(f"column {key}.{column} is gone")
            elif needs.nullable and not found["nullable"]:
                out.append(f"column {key}.{column} is NOT NULL now, and the release may write NULL to it")
            elif needs.server_default and not _keeps_default(found) and not found["nullable"]:
                out.append(f"column {key}.{column} has no default now, and the release relies on one")
    return out
