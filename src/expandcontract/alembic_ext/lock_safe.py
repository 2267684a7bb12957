"""Lock-safe execution on PostgreSQL: every DDL statement waits for its lock at most `lock-timeout`,
and a revision that times out is retried after a jittered pause instead of failing the deploy.

- Before each DDL statement the migration's own executor sends `SET LOCAL lock_timeout = '<t>'`
  (a plain `SET`, undone right after, inside `autocommit_block()`, where there is no transaction);
  before DML that follows, `RESET lock_timeout`: a backfill waiting on row locks is not a DDL
  queue. `CONCURRENTLY` statements are exempt (they wait without blocking anyone). With `--sql`
  the same lines are written, so a reviewer sees what will run.
- Each revision about to run (online, in a transaction, without `autocommit_block()` or
  expandcontract's batched operations) runs inside a SAVEPOINT: on a lock timeout (SQLSTATE
  55P03), or a deadlock with the application's transactions (40P01), it rolls back to it, which
  releases every lock the revision took, sleeps a random time up to an exponentially growing
  cap, and runs the revision again, up to `lock-retries` times.
- A DDL statement outside any transaction (inside `autocommit_block()`, such as
  `op.ec_validate_constraint`'s VALIDATE) is a transaction of its own: on a lock timeout that
  statement alone is run again, with the same pauses. The transactional parts of a revision that
  also commits on its own are not retried: what it committed before cannot be rolled back.

Both are per-instance hooks on this run's MigrationContext and the revisions' loaded modules;
Alembic's classes are untouched.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import Script
from sqlalchemy.sql import dml

log = logging.getLogger("expandcontract.lock_safe")

LOCK_NOT_AVAILABLE = "55P03"
# PostgreSQL picks the migration as the deadlock victim when it waited first (deadlock_timeout, 1 s,
# is shorter than the default lock-timeout): rolled back to the savepoint, it runs again like a
# timed-out one, and the application's transaction goes on
DEADLOCK_DETECTED = "40P01"
MAX_PAUSE_SECONDS = 10.0
_DDL = re.compile(r"^\s*(ALTER|CREATE|DROP|TRUNCATE|LOCK|COMMENT|REINDEX|CLUSTER|REFRESH)\b", re.IGNORECASE)
_DML = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|WITH|COPY)\b", re.IGNORECASE)
# revisions that commit on their own: a savepoint cannot span them
_COMMITS_ITSELF = ("autocommit_block", "ec_backfill", "ec_validate_constraint", "COMMIT")


def _text(construct: Any) -> str | None:
    if isinstance(construct, str):
        return construct
    if isinstance(construct, sa.TextClause):
        return construct.text
    return None


def statement_kind(construct: Any, version_table: str) -> str:
    """ "ddl" (gets the timeout), "dml" (runs without it), or "other" (left alone)."""
    if isinstance(construct, sa.schema.CreateIndex | sa.schema.DropIndex):
        options = construct.element.dialect_options.get("postgresql")
        if options is not None and options.get("concurrently"):
            return "other"
    if isinstance(construct, sa.schema.ExecutableDDLElement):
        return "ddl"
    if isinstance(construct, dml.UpdateBase):
        table = getattr(construct, "table", None)
        return "other" if getattr(table, "name", None) == version_table else "dml"
    text = _text(construct)
    if text is None or "CONCURRENTLY" in text.upper():
        return "other"
    if _DDL.match(text):
        return "ddl"
    return "dml" if _DML.match(text) else "other"


def install_statement_timeouts(
    migration: MigrationContext, timeout: str, version_table: str, retries: int = 0
) -> None:
    """Wrap this run's executor: DDL with the lock timeout, DML without; DDL outside a transaction
    retried `retries` times when its lock times out."""
    impl = migration.impl
    plain = impl._exec
    armed = False

    def alone(construct: Any, *args: Any, **kw: Any) -> Any:
        """A statement that is its own transaction, with the timeout set around it and undone."""
        for attempt in range(retries + 1):
            plain(f"SET lock_timeout = '{timeout}'")
            try:
                return plain(construct, *args, **kw)
            except sa.exc.OperationalError as exc:
                if not _lock_timed_out(exc) or attempt == retries:
                    raise
                _pause("a statement", attempt, retries, exc)
            finally:
                plain("RESET lock_timeout")
        return None

    def in_autocommit() -> bool:
        if migration.as_sql:  # --sql: autocommit_block() writes COMMIT/BEGIN; SET LOCAL reads right
            return False
        connection = impl.connection
        return (
            connection is not None
            and connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        )

    def execute(construct: Any, *args: Any, **kw: Any) -> Any:
        nonlocal armed
        kind = statement_kind(construct, version_table)
        if kind == "ddl":
            if in_autocommit():  # no transaction for SET LOCAL to last in: set it, then undo it
                return alone(construct, *args, **kw)
            plain(f"SET LOCAL lock_timeout = '{timeout}'")
            armed = True
        elif kind == "dml" and armed:
            plain("RESET lock_timeout")
            armed = False
        return plain(construct, *args, **kw)

    setattr(impl, "_exec", execute)  # noqa: B010 - this run's instance only


def _lock_timed_out(exc: BaseException) -> bool:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in (LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED)


def _pause(what: str, attempt: int, retries: int, exc: BaseException) -> None:
    """A random pause up to an exponentially growing cap: retries of several runners spread out."""
    pause = random.uniform(0, min(MAX_PAUSE_SECONDS, 0.5 * 2**attempt))
    deadlock = getattr(getattr(exc, "orig", None), "sqlstate", None) == DEADLOCK_DETECTED
    log.warning(
        "expandcontract: %s %s (attempt %d of %d); retrying in %.1f s",
        what,
        "lost a deadlock with another transaction" if deadlock else "timed out waiting for a lock",
        attempt + 1,
        retries + 1,
        pause,
    )
    time.sleep(pause)


def _retrying(
    upgrade: Callable[[], Any], migration: MigrationContext, retries: int, revision: str
) -> Callable[[], Any]:
    def run() -> Any:
        connection = migration.connection
        for attempt in range(retries + 1):
            if connection is None or not connection.in_transaction():
                return upgrade()
            savepoint = connection.begin_nested()
            try:
                result = upgrade()
            except sa.exc.OperationalError as exc:
                savepoint.rollback()  # releases every lock the revision took
                if not _lock_timed_out(exc) or attempt == retries:
                    raise
                _pause(revision, attempt, retries, exc)
                continue
            savepoint.commit()
            return result
        return None

    return run


def install_retries(migration: MigrationContext, scripts: Iterable[Script], retries: int) -> list[str]:
    """Make each revision that runs in one transaction retry on lock timeouts; the ids wrapped."""
    # env.py's fileConfig() disables loggers its file does not name, ours included: a retry must
    # still be heard (WARNING reaches stderr even without a handler of ours)
    log.disabled = False
    wrapped = []
    for script in scripts:
        module = script.module
        upgrade = getattr(module, "upgrade", None)
        if upgrade is None or getattr(upgrade, "__expandcontract_retrying__", False):
            continue
        try:
            with open(script.path, encoding="utf-8", errors="replace") as fh:
                source = fh.read()
        except OSError:
            continue
        if any(marker in source for marker in _COMMITS_ITSELF):
            continue
        run = _retrying(upgrade, migration, retries, script.revision)
        setattr(run, "__expandcontract_retrying__", True)  # noqa: B010
        setattr(module, "upgrade", run)  # noqa: B010 - this run's loaded module only
        wrapped.append(script.revision)
    return wrapped
