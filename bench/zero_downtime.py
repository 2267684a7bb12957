"""Zero downtime, measured: a large table under a steady read/write load while the rename recipe and
the NOT NULL recipe run (expand -> backfill -> contract), and, in the same run, the naive
single-step Alembic equivalents on a fresh copy of the table.

    python bench/zero_downtime.py [--rows 1000000] [--clients 4] [--idle-seconds 5] [--url URL]

It creates a scratch database on the server (the URL names any database on it; default the local
server), fills `users` with ROWS rows, and runs CLIENTS connections that each loop over a point
SELECT, an UPDATE and an INSERT through the column the running release uses. For each phase it
prints the statements, the errors, p50/p99/max latency against the idle baseline, the longest
time any session waited on a lock (sampled from pg_stat_activity), and the backfill's rows/s
against one bulk UPDATE of the same rows. Exit 1 when a goal is missed: zero errors, p99 in every
recipe phase at most 2x the idle p99, no lock wait over the lock_timeout (2 s).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from expandcontract.alembic_ext import operations as _ec_operations  # noqa: F401 - registers op.ec_*
from expandcontract.backfill import Backfiller, BackfillSpec
from expandcontract.gate.registry import Registry

LOCK_TIMEOUT = "2s"
LOCK_TIMEOUT_SECONDS = 2.0
FORK = mp.get_context("fork")  # the load process starts from this one's state, nothing pickled
GENTLE: dict[str, Any] = {"batch_size": 1000, "target_seconds": 0.05, "sleep_seconds": 0.05}  # the defaults


class Load:
    """CLIENTS connections hammering `users` through `column`, in a process of their own (as the
    application's are: the migration's Python work does not hold their interpreter lock);
    latencies and errors per phase come back when it finishes."""

    def __init__(self, url: str, clients: int, rows: int) -> None:
        self.url, self.clients, self.rows = url, clients, rows
        self._phase = FORK.Array("c", 64)
        self._column = FORK.Array("c", 64)
        self.phase, self.column = "idle", "name"
        self.stop = FORK.Event()
        self.results: Any = FORK.Queue()
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.process = FORK.Process(target=self._run, daemon=True)

    @property
    def phase(self) -> str:
        return self._phase.value.decode()

    @phase.setter
    def phase(self, value: str) -> None:
        self._phase.value = value.encode()[:63]

    @property
    def column(self) -> str:
        return self._column.value.decode()

    @column.setter
    def column(self, value: str) -> None:
        self._column.value = value.encode()[:63]

    def start(self) -> None:
        self.process.start()

    def _run(self) -> None:
        latencies: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, list[str]] = defaultdict(list)
        next_id = [self.rows + 1]
        lock = threading.Lock()

        def new_id() -> int:
            with lock:
                next_id[0] += 1
                return next_id[0]

        def client(n: int) -> None:
            engine = sa.create_engine(self.url, pool_size=1, max_overflow=0)
            rng = random.Random(n)
            with engine.connect() as conn:
                while not self.stop.is_set():
                    column, phase = self.column, self.phase
                    user = rng.randrange(1, self.rows)
                    for statement, params in (
                        (f"SELECT {column} FROM users WHERE id = :id", {"id": user}),
                        (
                            f"UPDATE users SET {column} = :v WHERE id = :id",
                            {"id": user, "v": f"u{rng.random()}"},
                        ),
                        (
                            f"INSERT INTO users (id, email, {column}, note) VALUES (:id, 'x@x', 'n', 'x')",
                            {"id": new_id()},
                        ),
                    ):
                        started = time.perf_counter()
                        try:
                            conn.execute(sa.text(statement), params)
                            conn.commit()
                        except sa.exc.SQLAlchemyError as exc:
                            conn.rollback()
                            errors[phase].append(str(getattr(exc, "orig", exc)).splitlines()[0])
                            continue
                        latencies[phase].append(time.perf_counter() - started)
                    time.sleep(0.001)
            engine.dispose()

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.results.put((dict(latencies), dict(errors)))

    def finish(self) -> None:
        self.stop.set()
        latencies, errors = self.results.get(timeout=60)
        self.process.join(timeout=30)
        self.latencies = defaultdict(list, latencies)
        self.errors = defaultdict(list, errors)


class LockWatch(threading.Thread):
    """Samples pg_stat_activity: the longest a session has waited on a lock, per phase."""

    def __init__(self, url: str, load: Load) -> None:
        super().__init__(daemon=True)
        self.url, self.load = url, load
        self.longest: dict[str, float] = defaultdict(float)
        self.stop = threading.Event()

    def run(self) -> None:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        query = sa.text(
            "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - state_change)), 0) "
            "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        with engine.connect() as conn:
            while not self.stop.is_set():
                waited = float(conn.execute(query).scalar_one())
                conn.rollback()
                phase = self.load.phase
                self.longest[phase] = max(self.longest[phase], waited)
                time.sleep(0.05)
        engine.dispose()


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"ec_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(engine: sa.Engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS users"))
        conn.execute(sa.text("CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, note text)"))
        conn.execute(
            sa.text(
                "INSERT INTO users (id, email, name, note) SELECT i, i || '@x', 'name ' || i, "
                "CASE WHEN i % 3 = 0 THEN NULL ELSE 'n' END FROM generate_series(1, :rows) AS i"
            ),
            {"rows": rows},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE users"))


def migrate(engine: sa.Engine, body: Callable[[Operations], None]) -> None:
    """One revision's worth of operations, in a transaction, with the lock timeout expandcontract sets."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        with context.begin_transaction():
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            body(Operations(context))


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


PHASE_WINDOW = 1.0  # a phase's latencies are counted for at least this long: a 20 ms ALTER's effect too


def run_phase(load: Load, name: str, action: Callable[[], object]) -> float:
    load.phase = name
    started = time.perf_counter()
    action()
    took = time.perf_counter() - started
    time.sleep(max(0.0, PHASE_WINDOW - took))
    return took


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--batch-size", type=int, default=GENTLE["batch_size"])
    parser.add_argument("--target-seconds", type=float, default=GENTLE["target_seconds"])
    parser.add_argument("--sleep-seconds", type=float, default=GENTLE["sleep_seconds"])
    args = parser.parse_args()
    gentle = {
        "batch_size": args.batch_size,
        "target_seconds": args.target_seconds,
        "sleep_seconds": args.sleep_seconds,
    }

    results: list[tuple[str, Load, LockWatch, dict[str, float]]] = []
    backfill_rate = bulk_rate = 0.0
    with scratch_database(args.url) as url:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

        # --- the recipes --------------------------------------------------------------------------
        fill(engine, args.rows)
        load = Load(url, args.clients, args.rows)
        watch = LockWatch(url, load)
        load.start()
        watch.start()
        timings: dict[str, float] = {}
        timings["idle"] = run_phase(load, "idle", lambda: time.sleep(args.idle_seconds))

        def rename_expand(op: Operations) -> None:
            op.add_column("users", sa.Column("full_name", sa.Text(), nullable=True))
            op.ec_sync_columns("users", "name", "full_name")  # type: ignore[attr-defined]

        timings["rename: expand"] = run_phase(load, "rename: expand", lambda: migrate(engine, rename_expand))
        registry = Registry(engine)
        # moderate batches and a short pause between them: a batch holds its rows' locks briefly
        spec = BackfillSpec(table="users", set=(("full_name", "name"),), where="full_name IS NULL", **gentle)
        timings["rename: backfill"] = run_phase(
            load, "rename: backfill", lambda: Backfiller(engine, registry, spec).run()
        )
        backfill_rate = args.rows / max(timings["rename: backfill"], 1e-9)
        load.column = "full_name"  # the deploy: the new release reads and writes the new column
        timings["rename: new release"] = run_phase(load, "rename: new release", lambda: time.sleep(2))

        def rename_contract(op: Operations) -> None:
            op.ec_drop_sync("users", "name", "full_name")  # type: ignore[attr-defined]
            op.drop_column("users", "name")

        timings["rename: contract"] = run_phase(
            load, "rename: contract", lambda: migrate(engine, rename_contract)
        )

        def not_null_expand(op: Operations) -> None:
            op.ec_fill_nulls("users", "note", "''")  # type: ignore[attr-defined]
            op.ec_add_not_null_check("users", "note")  # type: ignore[attr-defined]

        timings["not null: expand"] = run_phase(
            load, "not null: expand", lambda: migrate(engine, not_null_expand)
        )
        notes = BackfillSpec(
            table="users", set=(("note", "''"),), where="note IS NULL", name="notes", **gentle
        )
        timings["not null: backfill"] = run_phase(
            load, "not null: backfill", lambda: Backfiller(engine, registry, notes).run()
        )
        timings["not null: validate"] = run_phase(
            load,
            "not null: validate",
            lambda: migrate(
                engine,
                lambda op: op.ec_validate_constraint("users", "ck_users_note_not_null"),  # type: ignore[attr-defined]
            ),
        )

        def not_null_contract(op: Operations) -> None:
            op.alter_column("users", "note", nullable=False)
            op.drop_constraint("ck_users_note_not_null", "users", type_="check")
            op.ec_drop_fill("users", "note")  # type: ignore[attr-defined]

        timings["not null: contract"] = run_phase(
            load, "not null: contract", lambda: migrate(engine, not_null_contract)
        )
        timings["after"] = run_phase(load, "after", lambda: time.sleep(2))
        load.finish()
        watch.stop.set()
        watch.join()
        results.append(("recipes", load, watch, timings))

        # --- the naive equivalents, on a fresh table ----------------------------------------------
        fill(engine, args.rows)
        naive = Load(url, args.clients, args.rows)
        naive_watch = LockWatch(url, naive)
        naive.start()
        naive_watch.start()
        naive_timings: dict[str, float] = {}
        naive_timings["idle"] = run_phase(naive, "idle", lambda: time.sleep(args.idle_seconds))
        naive_timings["naive rename"] = run_phase(
            naive,
            "naive rename",
            lambda: migrate_unbounded(
                engine, lambda op: op.alter_column("users", "name", new_column_name="full_name")
            ),
        )
        time.sleep(1)  # the old release is still running: its statements now fail
        naive.column = "full_name"
        started = time.perf_counter()

        def naive_not_null(op: Operations) -> None:
            op.execute("UPDATE users SET note = '' WHERE note IS NULL")
            op.alter_column("users", "note", nullable=False)

        naive_timings["naive not null"] = run_phase(
            naive, "naive not null", lambda: migrate_unbounded(engine, naive_not_null)
        )
        bulk_rate = (args.rows / 3) / max(time.perf_counter() - started, 1e-9)
        naive.finish()
        naive_watch.stop.set()
        naive_watch.join()
        results.append(("naive", naive, naive_watch, naive_timings))
        engine.dispose()

    return report(results, args, backfill_rate, bulk_rate)


MIGRATION_FAILURES: list[str] = []


def migrate_unbounded(engine: sa.Engine, body: Callable[[Operations], None]) -> None:
    """What a plain Alembic run does: no lock_timeout, one transaction. It may fail (a deadlock
    with the load): that is a result, recorded, not a crash of the benchmark."""
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            with context.begin_transaction():
                body(Operations(context))
    except sa.exc.SQLAlchemyError as exc:
        MIGRATION_FAILURES.append(str(getattr(exc, "orig", exc)).splitlines()[0])


def report(
    results: list[tuple[str, Load, LockWatch, dict[str, float]]],
    args: argparse.Namespace,
    backfill: float,
    bulk: float,
) -> int:
    print(
        f"{args.rows:,} rows, {args.clients} client connections (one process), lock_timeout {LOCK_TIMEOUT}, "
        f"backfill batches of {args.batch_size} adapting to {args.target_seconds} s, "
        f"{args.sleep_seconds} s apart"
    )
    ok = True
    for title, load, watch, timings in results:
        idle = percentile(load.latencies["idle"], 0.99)
        print(f"\n{title}:")
        header = ("took", 8), ("stmts", 8), ("errors", 8), ("p50 ms", 9), ("p99 ms", 9), ("max ms", 9)
        columns = "".join(f"{name:>{width}}" for name, width in header)
        print(f"  {'phase':<24}{columns}{'p99/idle':>10}{'lock wait s':>12}")
        for phase, took in timings.items():
            values = load.latencies[phase]
            p99 = percentile(values, 0.99)
            ratio = p99 / idle if idle else 0.0
            errors = len(load.errors[phase])
            print(
                f"  {phase:<24}{took:>7.1f}s{len(values):>8}{errors:>8}"
                f"{statistics.median(values) * 1000 if values else 0:>9.2f}{p99 * 1000:>9.2f}"
                f"{max(values, default=0) * 1000:>9.1f}{ratio:>10.2f}{watch.longest[phase]:>12.2f}"
            )
            if title == "recipes":
                ok &= (
                    errors == 0
                    and (phase == "idle" or ratio <= 2.0)
                    and watch.longest[phase] <= LOCK_TIMEOUT_SECONDS
                )
        for phase, messages in load.errors.items():
            if messages:
                print(f"  errors in {phase}: {len(messages)}, e.g. {messages[0]}")
    for failure in MIGRATION_FAILURES:
        print(f"  a naive migration failed: {failure}")
    print(f"\nbackfill: {backfill:,.0f} rows/s in batches; one bulk UPDATE: {bulk:,.0f} rows/s")
    verdict = "met" if ok else "MISSED"
    print(f"goals (recipes: no error, p99 <= 2x idle, lock waits <= {LOCK_TIMEOUT}): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
