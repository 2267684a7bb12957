"""op.ec_backfill and `expandcontract backfill` on real databases: batches, the cursor, kill -9 and
resume (every row converted exactly once), a steady insert load, the adaptive batch size, pause,
the CLI, `--sql`, and the gate waiting for an unfinished backfill."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from gate_support import shop_1_3_is_live
from integration.pg_flow_support import enter_example, run_cli

from expandcontract.backfill import Backfiller, BackfillSpec, all_states, pause
from expandcontract.errors import ExpandContractError, UsageError
from expandcontract.gate.registry import Registry

ROWS = 2000


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=_wait(url))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, email_address TEXT, hits INTEGER)"
            )
        )
        conn.execute(
            sa.text("INSERT INTO users (id, email, hits) VALUES (:id, :email, 0)"),
            [{"id": i, "email": f"u{i}@x"} for i in range(1, ROWS + 1)],
        )
    yield engine
    engine.dispose()


def _wait(url: str) -> dict[str, object]:
    return {"timeout": 30} if url.startswith("sqlite") else {}


def copy_spec(**kw: object) -> BackfillSpec:
    # hits counts how often a row was converted: exactly once, whatever happens to the run
    options: dict[str, object] = {"batch_size": 100, "target_seconds": 0.0, "sleep_seconds": 0.0, **kw}
    return BackfillSpec(table="users", set=(("email_address", "email"), ("hits", "hits + 1")), **options)  # type: ignore[arg-type]


def pause_midway(registry: Registry, name: str, thread: threading.Thread) -> None:
    """Pause the backfill `thread` runs once its first batch committed, and wait for it to stop."""
    deadline = time.monotonic() + 20
    while not registry.exists() or not all_states(registry) or all_states(registry)[0].rows_done == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pause(registry, name)
    thread.join(timeout=30)


def converted(engine: sa.Engine) -> list[tuple[int, int]]:
    """(hits, count) of every row."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(sa.text("SELECT hits, count(*) FROM users GROUP BY hits ORDER BY hits"))
        ]  # type: ignore[misc]


def test_an_inline_backfill_converts_every_row_once_in_committed_batches(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        with context.begin_transaction():  # as env.py runs a revision
            Operations(context).ec_backfill(  # type: ignore[attr-defined]
                "users", {"email_address": "email", "hits": "hits + 1"}, batch_size=150, target_seconds=0
            )

    assert converted(engine) == [(1, ROWS)]
    (state,) = all_states(Registry(engine))
    assert (state.name, state.status, state.rows_done) == ("users:email_address,hits", "done", ROWS)
    assert state.batches == -(-ROWS // 150) and state.fraction == 1.0


def test_a_killed_run_resumes_and_converts_every_row_exactly_once(
    url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sqlalchemy as sa
            from expandcontract.backfill import Backfiller, BackfillSpec
            from expandcontract.gate.registry import Registry
            engine = sa.create_engine({url!r}, poolclass=sa.pool.NullPool, connect_args={_wait(url)!r})
            spec = BackfillSpec(table="users", set=(("email_address", "email"), ("hits", "hits + 1")),
                                batch_size=25, target_seconds=0.0, sleep_seconds=0.05)
            Backfiller(engine, Registry(engine), spec).run()
            """
        ),
        encoding="utf-8",
    )
    randomly = random.Random(4)
    kills = 0
    for _ in range(4):  # kill -9 at random points
        child = subprocess.Popen([sys.executable, str(script)])
        time.sleep(randomly.uniform(0.6, 1.5))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        child.wait()
    assert kills >= 2  # the run really was interrupted
    (state,) = all_states(Registry(engine))
    assert state.status != "done" or state.rows_done == ROWS

    finished = Backfiller(engine, Registry(engine), copy_spec(batch_size=25)).run()

    assert finished.status == "done" and finished.rows_done == ROWS
    assert converted(engine) == [(1, ROWS)]


def test_a_steady_insert_load_does_not_keep_it_from_ending(engine: sa.Engine) -> None:
    stop = threading.Event()
    inserted: list[int] = []

    def writer() -> None:
        next_id = ROWS + 1
        while not stop.is_set():
            with engine.begin() as conn:
                conn.execute(
                    sa.text("INSERT INTO users (id, email, hits) VALUES (:id, 'late@x', 0)"), {"id": next_id}
                )
            inserted.append(next_id)
            next_id += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        state = Backfiller(engine, Registry(engine), copy_spec(batch_size=50)).run()
    finally:
        stop.set()
        thread.join()

    assert state.status == "done"
    assert len(inserted) > 0  # rows kept arriving while it ran
    with engine.connect() as conn:
        old_rows = conn.execute(
            sa.text("SELECT count(*) FROM users WHERE id <= :n AND hits = 1"), {"n": ROWS}
        ).scalar()
    assert old_rows == ROWS  # every row that existed at the start was converted


def test_the_batch_size_adapts_to_the_target_batch_time(engine: sa.Engine) -> None:
    slow = Backfiller(
        engine, Registry(engine), copy_spec(batch_size=1000, target_seconds=0.000001, name="shrinks")
    )
    assert slow.run().batch_size < 1000
    fast = Backfiller(
        engine, Registry(engine), copy_spec(batch_size=10, target_seconds=5.0, name="grows", where="hits < 2")
    )
    assert fast.run().batch_size > 10


def test_pause_stops_it_at_the_next_batch_and_run_resumes(engine: sa.Engine) -> None:
    registry = Registry(engine)
    backfiller = Backfiller(engine, registry, copy_spec(batch_size=10, sleep_seconds=0.02))
    results = []
    thread = threading.Thread(target=lambda: results.append(backfiller.run()))
    thread.start()
    pause_midway(registry, backfiller.spec.backfill_name, thread)

    (paused,) = results
    assert paused.status == "paused" and 0 < paused.rows_done < ROWS
    resumed = backfiller.run()
    assert resumed.status == "done" and resumed.rows_done == ROWS
    assert converted(engine) == [(1, ROWS)]


def test_what_it_cannot_walk_is_a_one_line_error(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE pairs (a INTEGER, b INTEGER, v TEXT, PRIMARY KEY (a, b))"))
    with pytest.raises(UsageError, match="the primary key has 2 columns; pass key="):
        Backfiller(engine, Registry(engine), BackfillSpec(table="pairs", set=(("v", "'x'"),)))
    with pytest.raises(UsageError, match="no column 'nickname' to fill"):
        Backfiller(engine, Registry(engine), BackfillSpec(table="users", set=(("nickname", "email"),)))
    with pytest.raises(UsageError, match="table nowhere does not exist"):
        Backfiller(engine, Registry(engine), BackfillSpec(table="nowhere", set=(("v", "'x'"),)))


def test_with_sql_it_says_how_to_run_it_instead_of_running() -> None:
    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name="postgresql", opts={"as_sql": True, "output_buffer": buffer}
    )
    Operations(context).ec_backfill("users", {"email_address": "email"}, where="email_address IS NULL")  # type: ignore[attr-defined]
    assert buffer.getvalue().strip() == (
        "-- expandcontract: backfill users:email_address runs in batches, out of band: "
        "expandcontract backfill run 'users:email_address'"
    )


# --- the CLI and the gate --------------------------------------------------------------------------

LATER = 'op.ec_backfill("users", {"email_address": "email"}, where="email_address IS NULL", run="later")'


@pytest.fixture
def later_backfill(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example shop, its 1.3 backfill left to `expandcontract backfill run`."""
    enter_example(monkeypatch, example_project)
    revision = example_project / "migrations/versions/expand/e1_3_backfill_email.py"
    text = revision.read_text(encoding="utf-8")
    old = 'op.execute("UPDATE users SET email_address = email WHERE email_address IS NULL")'
    revision.write_text(text.replace(old, LATER), encoding="utf-8")
    return example_project


def users_before_1_3(project: Path, url: str) -> None:
    """Plain Alembic up to release 1.2.0's schema, and users written by it."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(project / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "e1_2_email_address")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO users (id, email, name) VALUES (:id, :email, 'n')"),
            [{"id": i, "email": f"u{i}@x"} for i in range(1, 301)],
        )
    engine.dispose()


def test_the_gate_waits_for_a_backfill_left_for_later_and_the_cli_finishes_it(
    later_backfill: Path, pg_url: str
) -> None:
    users_before_1_3(later_backfill, pg_url)
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    shop_1_3_is_live(pg_url)

    status = run_cli("backfill", "status", "--json", "--url", pg_url)
    assert status.exit_code == 1  # not done
    (row,) = json.loads(status.stdout)["backfills"]
    assert (row["name"], row["status"], row["rows_done"]) == ("users:email_address", "pending", 0)

    blocked = run_cli("gate", "check", "--json", "--url", pg_url)
    assert blocked.exit_code == 1
    (revision,) = [r for r in json.loads(blocked.stdout)["revisions"] if r["revision"] == "c1_3_drop_email"]
    assert [b["reason"] for b in revision["blocking"]] == [
        "backfill users:email_address of revision e1_3_backfill_email is not finished "
        "(pending, 0 rows so far); run `expandcontract backfill run 'users:email_address'`"
    ]

    done = run_cli("backfill", "run", "--url", pg_url)
    assert done.exit_code == 0, done.output
    assert "users:email_address: done, 300 rows in 1 batch" in done.stdout
    assert run_cli("backfill", "status", "--url", pg_url).exit_code == 0
    assert run_cli("gate", "check", "--url", pg_url).exit_code == 0
    assert run_cli("upgrade", "--phase", "contract", "--url", pg_url).exit_code == 0


def test_the_backfill_cli_errors_are_one_line(later_backfill: Path, pg_url: str) -> None:
    result = run_cli("backfill", "pause", "nope", "--url", pg_url)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "expandcontract: error: no backfill named 'nope'; `expandcontract backfill status` lists them"
    )


def test_a_backfill_the_next_steps_need_stops_its_revision_when_paused(engine: sa.Engine) -> None:
    """must_finish=True (what the generated downgrades use before their renames): paused midway,
    the operation raises instead of letting the revision's next steps run on half the rows."""
    name = "users:email_address,hits"
    errors: list[str] = []

    def migrate() -> None:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            try:
                with context.begin_transaction():
                    Operations(context).ec_backfill(  # type: ignore[attr-defined]
                        "users",
                        {"email_address": "email", "hits": "hits + 1"},
                        batch_size=10,
                        target_seconds=0,
                        sleep_seconds=0.02,
                        must_finish=True,
                    )
            except ExpandContractError as exc:
                errors.append(str(exc))

    thread = threading.Thread(target=migrate)
    thread.start()
    registry = Registry(engine)
    pause_midway(registry, name, thread)

    assert len(errors) == 1 and errors[0].startswith(f"backfill {name} is paused")
    assert f"expandcontract backfill run '{name}'" in errors[0]


def test_a_walk_undone_before_it_finished_starts_over(engine: sa.Engine) -> None:
    """Paused midway, then its revision undone (the filled column emptied) and applied again: the
    rows the cursor had passed match the `where` again, so the walk starts from the first key."""
    registry = Registry(engine)
    spec = copy_spec(batch_size=10, sleep_seconds=0.02, where="email_address IS NULL")
    backfiller = Backfiller(engine, registry, spec)
    results = []
    thread = threading.Thread(target=lambda: results.append(backfiller.run()))
    thread.start()
    pause_midway(registry, spec.backfill_name, thread)
    assert results[0].status == "paused"
    with engine.begin() as conn:  # the downgrade dropped the column; the upgrade added it back
        conn.execute(sa.text("UPDATE users SET email_address = NULL"))

    again = Backfiller(engine, registry, copy_spec(batch_size=500, where="email_address IS NULL")).run()

    assert again.status == "done" and again.rows_done == ROWS
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users WHERE email_address IS NULL")).scalar() == 0
