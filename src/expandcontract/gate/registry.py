"""The registry, embedded in the application's own database: releases and their manifests, live
processes and their heartbeats, attestations, and the audit log of gate decisions and overrides.

PostgreSQL keeps it in a schema of its own (`expandcontract` unless configured); SQLite, which has
no schemas, in tables with a prefix. Every timestamp comes from the database's clock (seconds since
the epoch), so processes on hosts with skewed clocks still agree on who is live.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from expandcontract.gate.manifest import Manifest, manifest_from_json

# serialises creating the registry (PostgreSQL's IF NOT EXISTS is not safe under concurrency)
_CREATE_LOCK = int.from_bytes(
    hashlib.sha256(b"expandcontract registry create").digest()[:8], "big", signed=True
)
_NAME = 200  # release and app ids, host names


@dataclass(frozen=True)
class Process:
    id: str
    app: str
    release: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    ttl_seconds: float
    stopped_at: float | None

    def describe(self) -> str:
        return f"process {self.host}:{self.pid}"


@dataclass(frozen=True)
class Release:
    app: str
    release: str
    first_seen_at: float
    manifest: Manifest | None
    last_deployed_at: float | None = None


@dataclass(frozen=True)
class Attestation:
    app: str
    release: str
    state: str  # "retired"
    reason: str
    actor: str
    at: float


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    action: str  # "gate-decision", "override", "retire", "publish"
    revision: str | None
    allowed: bool | None
    reason: str
    details: Mapping[str, Any]


class RegistryTables:
    """The registry's tables for one dialect, schema and prefix."""

    def __init__(self, dialect: str, schema: str, prefix: str) -> None:
        self.schema = schema if dialect == "postgresql" else None
        prefix = "" if self.schema else prefix
        self.metadata = sa.MetaData(schema=self.schema)
        self.releases = sa.Table(
            f"{prefix}releases",
            self.metadata,
            sa.Column("app", sa.String(_NAME), primary_key=True),
            sa.Column("release", sa.String(_NAME), primary_key=True),
            sa.Column("first_seen_at", sa.Float, nullable=False),
            sa.Column("manifest", sa.Text, nullable=True),
            sa.Column("manifest_sha256", sa.String(64), nullable=True),
            sa.Column("published_at", sa.Float, nullable=True),
            # the last time it was deployed (published, or a process of it started): a release
            # retired before that is running again (a rollback), whatever the attestation said
            sa.Column("last_deployed_at", sa.Float, nullable=True),
        )
        self.processes = sa.Table(
            f"{prefix}processes",
            self.metadata,
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("app", sa.String(_NAME), nullable=False),
            sa.Column("release", sa.String(_NAME), nullable=False),
            sa.Column("host", sa.String(_NAME), nullable=False),
            sa.Column("pid", sa.Integer, nullable=False),
            sa.Column("started_at", sa.Float, nullable=False),
            sa.Column("heartbeat_at", sa.Float, nullable=False),
            sa.Column("ttl_seconds", sa.Float, nullable=False),
            sa.Column("stopped_at", sa.Float, nullable=True),
        )
        self.attestations = sa.Table(
            f"{prefix}attestations",
            self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("app", sa.String(_NAME), nullable=False),
            sa.Column("release", sa.String(_NAME), nullable=False),
            sa.Column("state", sa.String(20), nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("actor", sa.String(_NAME), nullable=False),
            sa.Column("at", sa.Float, nullable=False),
        )
        self.audit_log = sa.Table(
            f"{prefix}audit_log",
            self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.Float, nullable=False),
            sa.Column("actor", sa.String(_NAME), nullable=False),
            sa.Column("action", sa.String(40), nullable=False),
            sa.Column("revision", sa.String(_NAME), nullable=True),
            sa.Column("allowed", sa.Boolean, nullable=True),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("details", sa.Text, nullable=False),
        )
        self.backfills = sa.Table(  # each batched backfill's cursor: a killed run resumes from it
            f"{prefix}backfills",
            self.metadata,
            sa.Column("name", sa.String(_NAME), primary_key=True),
            sa.Column("spec", sa.Text, nullable=False),
            sa.Column("status", sa.String(20), nullable=False),  # pending, running, paused, done
            sa.Column("lower_key", sa.Text, nullable=True),  # JSON: the key range fixed at the start
            sa.Column("upper_key", sa.Text, nullable=True),
            sa.Column("last_key", sa.Text, nullable=True),  # JSON: the last key done
            sa.Column("rows_done", sa.BigInteger, nullable=False),
            sa.Column("batches", sa.Integer, nullable=False),
            sa.Column("batch_size", sa.Integer, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
            sa.Column("finished_at", sa.Float, nullable=True),
        )
        self.run_lock = sa.Table(  # SQLite has no advisory locks: one row per running contract
            f"{prefix}run_lock",
            self.metadata,
            sa.Column("name", sa.String(40), primary_key=True),
            sa.Column("holder", sa.String(36), nullable=False),
            sa.Column("host", sa.String(_NAME), nullable=False),
            sa.Column("pid", sa.Integer, nullable=False),
            sa.Column("acquired_at", sa.Float, nullable=False),
        )
        sa.Index(f"{prefix}processes_release", self.processes.c.app, self.processes.c.release)


def db_now(dialect: str) -> sa.ColumnElement[float]:
    """The database clock, in seconds since the epoch."""
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)
    if dialect == "sqlite":
        return sa.literal_column("((julianday('now') - 2440587.5) * 86400.0)", sa.Float)
    return sa.cast(sa.func.unix_timestamp(sa.func.now(6)), sa.Float)  # MySQL / MariaDB


class Registry:
    """Reads and writes the registry in the database behind `engine`."""

    def __init__(
        self, engine: Engine, schema: str = "expandcontract", prefix: str = "expandcontract_"
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.tables = RegistryTables(self.dialect, schema, prefix)

    # --- creation -------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create what is missing of the registry; safe when several processes do it at once.

        Only what is missing is created, so once the registry exists a role that may only read and
        write its tables (not create objects) can use it."""
        with self.engine.connect() as conn:
            if not any(self._missing(conn)):
                return
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATE_LOCK})
                if not sa.inspect(conn).has_schema(self.tables.schema or ""):
                    conn.execute(sa.schema.CreateSchema(self.tables.schema or "", if_not_exists=True))
            tables, columns = self._missing(conn)
            for table in tables:
                conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
                for index in table.indexes:
                    conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
            for column in columns:  # a registry an earlier version created: add what is new
                table_name = self.engine.dialect.identifier_preparer.format_table(column.table)
                spec = sa.schema.CreateColumn(column).compile(dialect=self.engine.dialect)
                conn.execute(sa.text(f"ALTER TABLE {table_name} ADD COLUMN {spec}"))

    def _missing(self, conn: Connection) -> tuple[list[sa.Table], list[sa.Column[Any]]]:
        """(tables that do not exist, nullable columns that existing tables lack)."""
        inspector = sa.inspect(conn)
        tables: list[sa.Table] = []
        columns: list[sa.Column[Any]] = []
        for table in self.tables.metadata.sorted_tables:
            if not inspector.has_table(table.name, schema=self.tables.schema):
                tables.append(table)
                continue
            present = {c["name"] for c in inspector.get_columns(table.name, schema=self.tables.schema)}
            columns += [c for c in table.columns if c.name not in present and c.nullable]
        return tables, columns

    def exists(self, conn: Connection | None = None, table: sa.Table | None = None) -> bool:
        """Whether the registry (or one of its tables, which an older version may lack) is there."""
        name = (table if table is not None else self.tables.processes).name
        if conn is None:
            with self.engine.connect() as own:
                return sa.inspect(own).has_table(name, schema=self.tables.schema)
        return sa.inspect(conn).has_table(name, schema=self.tables.schema)

    # --- writes ---------------------------------------------------------------------------------

    def now(self, conn: Connection) -> float:
        return float(conn.execute(sa.select(db_now(self.dialect))).scalar_one())

    def _insert(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        if self.dialect == "sqlite":
            return sqlite.insert(table)
        return sa.insert(table)

    def _see_release(self, conn: Connection, app: str, release: str, deployed: bool = False) -> None:
        """Record a release the first time it is seen (its first-seen time orders releases that
        are not versions); `deployed`: it is being deployed now."""
        t = self.tables.releases
        stmt = self._insert(t).values(app=app, release=release, first_seen_at=db_now(self.dialect))
        conn.execute(stmt.on_conflict_do_nothing(index_elements=[t.c.app, t.c.release]))
        if deployed:
            conn.execute(
                t.update()
                .where(t.c.app == app, t.c.release == release)
                .values(last_deployed_at=db_now(self.dialect))
            )

    def publish(self, manifest: Manifest, actor: str = "") -> bool:
        """Store a release's manifest; True when it is new or differs from the stored one."""
        t = self.tables.releases
        with self.engine.begin() as conn:
            self._see_release(conn, manifest.app, manifest.release, deployed=True)
            stored = conn.execute(
                sa.select(t.c.manifest_sha256).where(t.c.app == manifest.app, t.c.release == manifest.release)
            ).scalar_one()
            if stored == manifest.digest:
                return False
            conn.execute(
                t.update()
                .where(t.c.app == manifest.app, t.c.release == manifest.release)
                .values(
                    manifest=json.dumps(manifest.to_json(), sort_keys=True),
                    manifest_sha256=manifest.digest,
                    published_at=db_now(self.dialect),
                )
            )
            if stored is not None:  # a release's manifest changed: worth knowing afterwards
                self.audit(
                    actor or "runtime",
                    "publish",
                    reason=f"manifest of {manifest.app or '-'}@{manifest.release} replaced",
                    details={"old_sha256": stored, "new_sha256": manifest.digest},
                    conn=conn,
                )
            return True

    def register_process(
        self, process_id: str, app: str, release: str, host: str, pid: int, ttl_seconds: float
    ) -> None:
        with self.engine.begin() as conn:
            self._see_release(conn, app, release, deployed=True)
            now = db_now(self.dialect)
            stmt = self._insert(self.tables.processes).values(
                id=process_id,
                app=app,
                release=release,
                host=host[:_NAME],
                pid=pid,
                started_at=now,
                heartbeat_at=now,
                ttl_seconds=ttl_seconds,
                stopped_at=None,
            )
            conn.execute(stmt.on_conflict_do_nothing(index_elements=[self.tables.processes.c.id]))

    def heartbeat(self, process_id: str) -> bool:
        """Refresh a process's heartbeat; False when its row is gone (pruned) or it was stopped."""
        t = self.tables.processes
        with self.engine.begin() as conn:
            result = conn.execute(
                t.update()
                .where(t.c.id == process_id, t.c.stopped_at.is_(None))
                .values(heartbeat_at=db_now(self.dialect))
            )
            return bool(result.rowcount)

    def stop(self, process_id: str) -> None:
        t = self.tables.processes
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.id == process_id, t.c.stopped_at.is_(None))
                .values(stopped_at=db_now(self.dialect))
            )

    def retire(self, app: str, release: str, reason: str, actor: str) -> None:
        with self.engine.begin() as conn:
            if app:  # without an app it retires that release id of every app
                self._see_release(conn, app, release)
            conn.execute(
                self.tables.attestations.insert().values(
                    app=app,
                    release=release,
                    state="retired",
                    reason=reason,
                    actor=actor,
                    at=db_now(self.dialect),
                )
            )
            self.audit(actor, "retire", reason=reason, details={"app": app, "release": release}, conn=conn)

    def audit(
        self,
        actor: str,
        action: str,
        *,
        reason: str,
        revision: str | None = None,
        allowed: bool | None = None,
        details: Mapping[str, Any] | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Append to the audit log, in `conn`'s transaction when given (else in one of its own)."""
        if conn is None:
            with self.engine.begin() as own:
                self.audit(
                    actor,
                    action,
                    reason=reason,
                    revision=revision,
                    allowed=allowed,
                    details=details,
                    conn=own,
                )
            return
        conn.execute(
            self.tables.audit_log.insert().values(
                at=db_now(self.dialect),
                actor=actor[:_NAME],
                action=action,
                revision=revision,
                allowed=allowed,
                reason=reason,
                details=json.dumps(dict(details or {}), sort_keys=True),
            )
        )

    def prune(self, retention_seconds: float) -> int:
        """Delete processes stopped or expired longer ago than the retention; how many went."""
        t = self.tables.processes
        with self.engine.begin() as conn:
            now = self.now(conn)
            cutoff = now - retention_seconds
            gone = sa.or_(
                sa.and_(t.c.stopped_at.is_not(None), t.c.stopped_at < cutoff),
                t.c.heartbeat_at + t.c.ttl_seconds < cutoff,
            )
            return int(conn.execute(t.delete().where(gone)).rowcount or 0)

    # --- reads ----------------------------------------------------------------------------------

    def processes(self, conn: Connection) -> list[Process]:
        t = self.tables.processes
        rows = conn.execute(sa.select(t).order_by(t.c.started_at, t.c.id)).mappings()
        return [Process(**dict(row)) for row in rows]

    def releases(self, conn: Connection) -> list[Release]:
        t = self.tables.releases
        rows = conn.execute(sa.select(t).order_by(t.c.first_seen_at, t.c.app, t.c.release)).mappings()
        return [
            Release(
                app=row["app"],
                release=row["release"],
                first_seen_at=row["first_seen_at"],
                manifest=manifest_from_json(
                    json.loads(row["manifest"]), f"registry manifest of {row['release']}"
                )
                if row["manifest"]
                else None,
                last_deployed_at=row["last_deployed_at"],
            )
            for row in rows
        ]

    def attestations(self, conn: Connection) -> list[Attestation]:
        t = self.tables.attestations
        rows = conn.execute(sa.select(t).order_by(t.c.at, t.c.id)).mappings()
        return [
            Attestation(
                app=r["app"],
                release=r["release"],
                state=r["state"],
                reason=r["reason"],
                actor=r["actor"],
                at=r["at"],
            )
            for r in rows
        ]

    def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        t = self.tables.audit_log
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).order_by(t.c.id.desc()).limit(limit)).mappings()
            return [
                AuditEntry(
                    at=r["at"],
                    actor=r["actor"],
                    action=r["action"],
                    revision=r["revision"],
                    allowed=r["allowed"],
                    reason=r["reason"],
                    details=json.loads(r["details"]),
                )
                for r in rows
            ]

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """One connection (one consistent read on PostgreSQL) for a gate decision."""
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            yield conn
            conn.rollback()
