"""The `pg_stat_activity` source: releases with live sessions in the database, read from the
`application_name` they connect with (`<app>@<release>`, see `runtime.application_name`). It also sees
workers, cron jobs and consoles no orchestrator lists.

PostgreSQL shows other roles' sessions in full only to superusers and members of
`pg_read_all_stats`; without that the source reports a problem (which blocks) instead of passing on
a partial view.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from expandcontract.gate.evidence import Sighting, SourceReport

SOURCE = "pg_stat_activity"
_APPLICATION_NAME = re.compile(r"^([^@\s]+)@(\S+)$")

_CAN_SEE_ALL = sa.text(
    "SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') "
    "OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
)
_SESSIONS = sa.text(
    "SELECT pid, application_name, usename, client_addr::text AS client FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
    "ORDER BY pid"
)


def pg_activity_report(conn: Connection) -> SourceReport:
    if conn.dialect.name != "postgresql":
        return SourceReport(SOURCE, problems=(f"needs PostgreSQL; this database is {conn.dialect.name}",))
    role = conn.execute(sa.text("SELECT current_user")).scalar_one()
    if not conn.execute(_CAN_SEE_ALL).scalar_one():
        return SourceReport(
            SOURCE,
            problems=(
                f"role {role} cannot see other roles' sessions, so releases connected as them would be "
                f"missed; GRANT pg_read_all_stats TO {role}",
            ),
        )
    sessions: dict[tuple[str, str], list[str]] = {}
    for row in conn.execute(_SESSIONS).mappings():
        match = _APPLICATION_NAME.match(row["application_name"] or "")
        if match is None:
            continue  # psql, the gate itself, tools: not a release
        where = f"pid {row['pid']} as {row['usename']}" + (f" from {row['client']}" if row["client"] else "")
        sessions.setdefault((match.group(1), match.group(2)), []).append(where)
    sightings = tuple(
        Sighting(SOURCE, app, release, f"{len(seen)} session(s): {', '.join(seen[:3])}")
        for (app, release), seen in sorted(sessions.items())
    )
    return SourceReport(SOURCE, sightings)
