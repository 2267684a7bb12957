"""One contract run at a time: two `expandcontract upgrade --phase contract` processes at once apply
each revision once; a runner that waits too long gives up naming the holder. PostgreSQL holds an
advisory lock; SQLite a row in the registry's lock table, taken over when its runner died."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from gate_flow import CONSOLE_SCRIPT, configure, connection, eventually, registry_at, single_error_line
from gate_support import shop_1_3_is_live
from integration.pg_flow_support import Database, run_cli

from expandcontract.gate.run_lock import LOCK_KEY

PAUSE_KEY = 4_242_001  # the advisory lock the pausing revision waits for while the test holds it
PAUSE_REVISION = f'''"""pause: waits while the test holds advisory lock {PAUSE_KEY} (runs overlap)

Revision ID: c1_4_pause
Revises: c1_3_drop_email
"""

from __future__ import annotations

from alembic import op

revision = "c1_4_pause"
down_revision = "c1_3_drop_email"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SELECT pg_advisory_lock({PAUSE_KEY})")
    op.execute("SELECT pg_advisory_unlock({PAUSE_KEY})")
'''
APPLY_DROP = "Running upgrade contract_root -> c1_3_drop_email"


def lock_timeout_message(holder: str) -> str:
    return (
        f"expandcontract: error: another contract run ({holder}) still holds the lock after 1 s; let it "
        "finish, then run again (gate.lock-wait-seconds sets the wait)"
    )


def contract_run(folder: Path, url: str) -> subprocess.Popen[str]:
    """`expandcontract upgrade --phase contract` as a process of its own, as a deploy job runs it."""
    return subprocess.Popen(
        [str(CONSOLE_SCRIPT), "upgrade", "--phase", "contract", "--url", url],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def backends(conn: sa.Connection) -> dict[int, str]:
    """pid -> last statement of every other client session in the database."""
    rows = conn.execute(
        sa.text(
            "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
    )
    return {int(pid): str(query) for pid, query in rows}


def waiting_for_pause(conn: sa.Connection) -> bool:
    return bool(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key "
                "AND objsubid = 1 AND NOT granted"
            ),
            {"key": PAUSE_KEY},
        ).scalar_one()
    )


@pytest.fixture
def shop(example: Path, pg_url: str) -> str:
    """The example on PostgreSQL: expand applied, release 1.3.0 live; the database URL."""
    configure(example, lock_timeout="off")  # the pausing revision waits for its lock unbounded
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    shop_1_3_is_live(pg_url)
    return pg_url


def test_two_contract_runs_at_once_apply_each_revision_once(example: Path, shop: str) -> None:
    (example / "migrations/versions/contract/c1_4_pause.py").write_text(PAUSE_REVISION, encoding="utf-8")
    with connection(shop, "test-pause") as pause:
        pause.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": PAUSE_KEY})
        first = contract_run(example, shop)
        try:
            # the first run holds the contract lock and sits inside c1_4_pause, after c1_3_drop_email
            eventually(lambda: waiting_for_pause(pause), timeout=30)
            before = backends(pause)
            second = contract_run(example, shop)
            # the second run's first session is the one that asks for the contract lock, and keeps asking
            asking = eventually(lambda: set(backends(pause)) - set(before), timeout=30)
            assert first.poll() is None and second.poll() is None
        finally:
            pause.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": PAUSE_KEY})
        first_out, first_err = first.communicate(timeout=60)
        second_out, second_err = second.communicate(timeout=60)

    assert len(asking) == 1
    assert first.returncode == 0, first_err
    assert [line.split()[0] for line in first_out.splitlines()] == [
        "applied",
        "contract_root",
        "c1_3_drop_email",
        "c1_4_pause",
    ]
    # the second waited for the lock, then found the database already at contract@head
    assert second.returncode == 0, second_err
    assert second_out == "nothing to apply: already at contract@head\n"
    assert "error" not in second_err and "gate:" not in second_err
    assert (first_err + second_err).count(APPLY_DROP) == 1
    db = Database(shop)
    assert db.version_heads() == {"c1_4_pause"}
    assert "email" not in db.columns("users")
    with registry_at(shop) as registry:
        judged = [e.revision for e in registry.audit_entries() if e.action == "gate-decision"]
    assert sorted(judged, key=str) == ["c1_3_drop_email", "c1_4_pause", "contract_root"]  # once each


def test_a_run_that_waits_too_long_gives_up_naming_the_holder(example: Path, shop: str) -> None:
    configure(example, gate={"lock-wait-seconds": 1})
    with connection(shop, "deploy-42") as holder:
        holder_pid = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        holder.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        started = time.monotonic()
        result = run_cli("upgrade", "--phase", "contract", "--url", shop)
        waited = time.monotonic() - started

    assert single_error_line(result) == lock_timeout_message(f"pid {holder_pid} (deploy-42) as postgres")
    assert result.stdout == ""
    assert waited >= 1.0
    db = Database(shop)
    assert db.version_heads() == {"e1_3_backfill_email"}
    assert "email" in db.columns("users")


def test_plain_alembic_upgrade_waits_for_the_same_lock(example: Path, shop: str) -> None:
    configure(example, gate={"lock-wait-seconds": 1})
    with connection(shop, "deploy-42") as holder:
        holder_pid = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        holder.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        done = subprocess.run(
            [str(CONSOLE_SCRIPT.with_name("alembic")), "upgrade", "contract@head"],
            cwd=example,
            env={**os.environ, "EXPANDCONTRACT_DATABASE_URL": shop},
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode != 0, done.stderr
    holder_named = lock_timeout_message(f"pid {holder_pid} (deploy-42) as postgres")
    assert holder_named.removeprefix("expandcontract: error: ") in done.stderr
    assert Database(shop).version_heads() == {"e1_3_backfill_email"}


# --- SQLite: a row in the registry's lock table ----------------------------------------------------


@pytest.fixture
def sqlite_shop(example: Path) -> str:
    """The example on its own SQLite file: expand applied, release 1.3.0 live, a 1 s lock wait."""
    configure(example, gate={"lock-wait-seconds": 1})
    assert run_cli("upgrade", "--phase", "expand").exit_code == 0
    url = f"sqlite:///{example / 'shop.db'}"
    shop_1_3_is_live(url)
    return url


@pytest.fixture
def live_runner() -> Iterator[subprocess.Popen[bytes]]:
    """A running process on this host, standing in for a contract run that holds the lock."""
    process = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=15)


def dead_pid() -> int:
    """The pid of a process of this host that has exited."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def hold_lock_row(url: str, pid: int) -> None:
    """The row a contract run on this host with `pid` leaves in the lock table while it runs."""
    with registry_at(url) as registry, registry.engine.begin() as conn:
        conn.execute(
            registry.tables.run_lock.insert().values(
                name="contract", holder=str(uuid.uuid4()), host=socket.gethostname(), pid=pid, acquired_at=0.0
            )
        )


def lock_rows(url: str) -> list[tuple[str, int]]:
    with registry_at(url) as registry, registry.engine.connect() as conn:
        table = registry.tables.run_lock
        return [(r.host, r.pid) for r in conn.execute(sa.select(table.c.host, table.c.pid))]


def test_a_lock_row_left_by_a_dead_runner_is_taken_over(sqlite_shop: str) -> None:
    hold_lock_row(sqlite_shop, dead_pid())

    result = run_cli("upgrade", "--phase", "contract")

    assert result.exit_code == 0, result.output
    assert "  c1_3_drop_email  contract" in result.stdout
    assert "email" not in Database(sqlite_shop).columns("users")
    assert lock_rows(sqlite_shop) == []  # released when the run ended


def test_a_live_holder_makes_the_next_run_wait_then_give_up(
    sqlite_shop: str, live_runner: subprocess.Popen[bytes]
) -> None:
    hold_lock_row(sqlite_shop, live_runner.pid)

    started = time.monotonic()
    result = run_cli("upgrade", "--phase", "contract")
    waited = time.monotonic() - started

    host = socket.gethostname()
    assert single_error_line(result) == lock_timeout_message(f"pid {live_runner.pid} on {host}")
    assert waited >= 1.0
    assert lock_rows(sqlite_shop) == [(host, live_runner.pid)]  # not taken from a live runner
    assert "email" in Database(sqlite_shop).columns("users")

    live_runner.kill()
    live_runner.wait(timeout=15)
    retried = run_cli("upgrade", "--phase", "contract")

    assert retried.exit_code == 0, retried.output
    assert "email" not in Database(sqlite_shop).columns("users")
    assert lock_rows(sqlite_shop) == []
