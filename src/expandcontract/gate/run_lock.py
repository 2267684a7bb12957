"""One contract run at a time: a PostgreSQL advisory lock held on a connection of its own (a row in
the registry's lock table on SQLite). A second runner waits up to `gate.lock-wait-seconds`, then
gives up with a message naming the holder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from expandcontract.db_messages import database_errors
from expandcontract.errors import ExpandContractError
from expandcontract.gate.registry import Registry, db_now

LOCK_KEY = int.from_bytes(hashlib.sha256(b"expandcontract contract run").digest()[:8], "big", signed=True)
_POLL_SECONDS = 0.2


class RunLockTimeout(ExpandContractError):
    """Another contract run held the lock for longer than the wait allowed."""


def _pg_holder(engine: Engine) -> str:
    query = sa.text(
        "SELECT a.pid, a.application_name, a.usename, a.backend_start FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = :key "
        "LIMIT 1"
    )
    try:
        with engine.connect() as conn:
            row = conn.execute(query, {"key": LOCK_KEY}).mappings().first()
    except sa.exc.SQLAlchemyError:
        row = None
    if row is None:
        return "another session"
    name = f" ({row['application_name']})" if row["application_name"] else ""
    return f"pid {row['pid']}{name} as {row['usename']}"


def lock_session(conn: Connection, wait_seconds: float) -> None:
    """Take the lock for the rest of `conn`'s session (plain `alembic upgrade`: the migration's own
    connection holds it until it closes). Works inside the migration's transaction."""
    deadline = time.monotonic() + wait_seconds
    while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar_one():
        if time.monotonic() >= deadline:
            raise RunLockTimeout(_timeout_message(_pg_holder(conn.engine), wait_seconds))
        time.sleep(_POLL_SECONDS)


@contextmanager
def _postgresql(engine: Engine, wait_seconds: float) -> Iterator[None]:
    with database_errors(str(engine.url), "take the contract-run lock"):
        conn = engine.connect()
        try:
            lock_session(conn, wait_seconds)
            conn.commit()
        except BaseException:
            conn.close()
            raise
    try:
        yield
    finally:
        # if the connection is gone, so is the lock: the session that held it ended
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            conn.commit()
        conn.close()


def _timeout_message(holder: str, wait_seconds: float) -> str:
    return (
        f"another contract run ({holder}) still holds the lock after {wait_seconds:.0f} s; let it "
        "finish, then run again (gate.lock-wait-seconds sets the wait)"
    )


def _alive(host: str, pid: int) -> bool:
    if host != socket.gethostname():
        return True  # cannot tell from here: assume the holder is still running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _try_insert(registry: Registry, row: dict[str, object]) -> bool:
    """Insert the lock row; False when someone holds it (or SQLite's write lock is busy)."""
    table = registry.tables.run_lock
    try:
        with registry.engine.begin() as conn:
            conn.execute(table.insert().values(**row, acquired_at=db_now(registry.dialect)))
        return True
    except sa.exc.IntegrityError:
        return False
    except sa.exc.OperationalError as exc:
        if "locked" in str(exc.orig).lower():  # another writer holds the file: wait, as for the row
            return False
        raise


def _holder(registry: Registry) -> sa.RowMapping | None:
    """The lock row, after clearing it if its runner died without releasing it."""
    table = registry.tables.run_lock
    with registry.engine.begin() as conn:
        held = conn.execute(sa.select(table).where(table.c.name == "contract")).mappings().first()
        if held is not None and not _alive(held["host"], held["pid"]):
            conn.execute(table.delete().where(table.c.holder == held["holder"]))
            return None
        return held


@contextmanager
def _lock_table(registry: Registry, wait_seconds: float) -> Iterator[None]:
    holder = str(uuid.uuid4())
    row = {"name": "contract", "holder": holder, "host": socket.gethostname(), "pid": os.getpid()}
    deadline = time.monotonic() + wait_seconds
    with database_errors(str(registry.engine.url), "take the contract-run lock"):
        registry.ensure()
        while not _try_insert(registry, row):
            held = _holder(registry)
            if held is None:
                continue  # it was a dead runner's: try again at once
            if time.monotonic() >= deadline:
                raise RunLockTimeout(_timeout_message(f"pid {held['pid']} on {held['host']}", wait_seconds))
            time.sleep(_POLL_SECONDS)
    try:
        yield
    finally:
        table = registry.tables.run_lock
        with database_errors(str(registry.engine.url), "release the contract-run lock"):
            with registry.engine.begin() as conn:
                conn.execute(table.delete().where(table.c.holder == holder))


@contextmanager
def contract_run_lock(registry: Registry, wait_seconds: float) -> Iterator[None]:
    """Hold the contract-run lock for the block."""
    if registry.dialect == "postgresql":
        with _postgresql(registry.engine, wait_seconds):
            yield
    else:
        with _lock_table(registry, wait_seconds):
            yield
