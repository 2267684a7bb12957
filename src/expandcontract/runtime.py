"""What the application imports: register this process's release, keep a heartbeat, deregister.

    from expandcontract import runtime

    handle = runtime.register(engine, release="2.4.1", metadata=Base.metadata, app="shop")
    ...
    handle.stop()   # from the SIGTERM handler, at the start of a graceful shutdown (atexit does it too)

Registration never breaks the application: the database work happens in a daemon thread on its own
connection, and while the database is unreachable it logs a warning and retries.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from expandcontract.db_messages import one_line
from expandcontract.gate.manifest import Manifest, build_manifest
from expandcontract.gate.registry import Registry

log = logging.getLogger("expandcontract.runtime")

RETENTION_SECONDS = 7 * 24 * 3600.0  # stopped or expired processes are deleted after a week
APPLICATION_NAME_LIMIT = 63  # PostgreSQL truncates application_name beyond NAMEDATALEN - 1 bytes


def application_name(app: str, release: str) -> str:
    """`app@release`, the `application_name` to connect with so the `pg_stat_activity` source sees
    this release: `postgresql+psycopg://.../shop?application_name=shop@2.4.1`."""
    if not app or "@" in app or any(c.isspace() for c in app):
        raise ValueError(f"app {app!r}: give a non-empty name without '@' or spaces")
    if not release or any(c.isspace() for c in release):
        raise ValueError(f"release {release!r}: give a non-empty id without spaces")
    name = f"{app}@{release}"
    if len(name.encode()) > APPLICATION_NAME_LIMIT or not name.isascii():
        raise ValueError(
            f"{name!r} is not an ASCII application_name of at most {APPLICATION_NAME_LIMIT} bytes; "
            "PostgreSQL would mangle it, so the gate could not read it back: shorten the app or release id"
        )
    return name


# drivers of asyncio engines, and the blocking driver the heartbeat thread uses instead
_BLOCKING_DRIVERS = {
    "postgresql+asyncpg": "postgresql+psycopg",
    "postgresql+psycopg_async": "postgresql+psycopg",
    "sqlite+aiosqlite": "sqlite",
}


def _own_engine(engine_or_url: Any) -> Engine:
    """An engine of our own, so the heartbeat never takes a connection from the application's pool
    (same driver arguments: the pool is recreated from the application's). An asyncio engine's URL
    is reused with the blocking driver of the same database."""
    # an AsyncEngine (not imported: that needs greenlet, which blocking applications lack)
    engine_or_url = getattr(engine_or_url, "sync_engine", engine_or_url)
    if isinstance(engine_or_url, Engine):
        if not engine_or_url.dialect.is_async:
            return sa.create_engine(engine_or_url.url, pool=engine_or_url.pool.recreate())
        engine_or_url = engine_or_url.url
    url = sa.make_url(engine_or_url)
    blocking = _BLOCKING_DRIVERS.get(url.drivername)
    if blocking is not None:
        url = url.set(drivername=blocking)
    return sa.create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)


class Handle:
    """A registered process. `stop()` deregisters it; calling it twice is harmless."""

    def __init__(
        self,
        registry: Registry,
        manifest: Manifest | None,
        app: str,
        release: str,
        heartbeat_seconds: float,
        ttl_seconds: float,
        retention_seconds: float = RETENTION_SECONDS,
    ) -> None:
        self.process_id = str(uuid.uuid4())
        self.retention_seconds = retention_seconds
        self.app, self.release = app, release
        self.heartbeat_seconds, self.ttl_seconds = heartbeat_seconds, ttl_seconds
        self._registry, self._manifest = registry, manifest
        self._stopping = threading.Event()
        self._registered = threading.Event()
        self._thread = threading.Thread(target=self._run, name="expandcontract-heartbeat", daemon=True)

    def start(self) -> Handle:
        self._thread.start()
        atexit.register(self.stop)
        return self

    @property
    def registered(self) -> bool:
        return self._registered.is_set()

    def wait_registered(self, timeout: float | None = None) -> bool:
        """Block until the process is in the registry (for tests and health checks)."""
        return self._registered.wait(timeout)

    def _register(self) -> None:
        self._registry.ensure()
        self._registry.prune(self.retention_seconds)  # every start-up clears long-gone processes
        if self._manifest is not None:
            self._registry.publish(self._manifest)
        self._registry.register_process(
            self.process_id, self.app, self.release, socket.gethostname(), os.getpid(), self.ttl_seconds
        )
        self._registered.set()

    def _beat(self) -> None:
        if not self._registered.is_set():
            self._register()
        elif not self._registry.heartbeat(self.process_id):
            # pruned while the database was away (or a clock jumped): register again
            self._registered.clear()
            self._register()

    def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                self._beat()
                if failing:
                    log.warning("expandcontract: registry reachable again; heartbeats resumed")
                failing = False
            except Exception as exc:  # never let the registry break the application
                if not failing:
                    log.warning(
                        "expandcontract: cannot reach the registry (%s); retrying every %g s",
                        f"{type(exc).__name__}: {one_line(exc)}",
                        self.heartbeat_seconds,
                    )
                failing = True
            self._stopping.wait(self.heartbeat_seconds)

    def stop(self) -> None:
        """Deregister: the gate stops counting this process (after `drain-seconds`) right away."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        atexit.unregister(self.stop)
        self._thread.join(timeout=self.heartbeat_seconds + 5)
        try:
            if self._registered.is_set():
                self._registry.stop(self.process_id)
        except Exception as exc:  # the TTL expires it instead
            log.warning(
                "expandcontract: could not deregister (%s); it expires after its TTL",
                f"{type(exc).__name__}: {one_line(exc)}",
            )
        finally:
            self._registry.engine.dispose()


def register(
    engine_or_url: Engine | str | sa.URL | Any,  # an AsyncEngine too
    release: str,
    metadata: sa.MetaData | None = None,
    app: str = "",
    heartbeat_seconds: float = 15.0,
    ttl_seconds: float | None = None,
    extras: tuple[str, ...] = (),
    registry_schema: str = "expandcontract",
    registry_prefix: str = "expandcontract_",
    retention_seconds: float = RETENTION_SECONDS,
) -> Handle:
    """Register this process as running `release` (its manifest built from `metadata`), and keep
    it live with a heartbeat every `heartbeat_seconds`; the gate counts it live for `ttl_seconds`
    after the last one (default three intervals). Processes gone longer than `retention_seconds`
    (keep it at least the gate's) are pruned at start-up. Returns at once; the work happens in a
    thread."""
    if heartbeat_seconds <= 0:
        raise ValueError("heartbeat_seconds must be positive")
    ttl = ttl_seconds if ttl_seconds is not None else 3 * heartbeat_seconds
    if ttl < heartbeat_seconds:
        raise ValueError("ttl_seconds must be at least heartbeat_seconds")
    manifest = build_manifest(metadata, release, app=app, extras=extras) if metadata is not None else None
    registry = Registry(_own_engine(engine_or_url), schema=registry_schema, prefix=registry_prefix)
    return Handle(registry, manifest, app, release, heartbeat_seconds, ttl, retention_seconds).start()
