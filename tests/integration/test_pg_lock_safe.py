"""Lock-safe execution on PostgreSQL: DDL waits for its lock at most `lock-timeout` (DML and
CONCURRENTLY exempt), the same lines are in `--sql` output, and a revision that times out is
retried after a pause, releasing its locks in between."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from pg_flow_support import Database, enter_example, fill_upgrade, run_cli, wrote


@pytest.fixture
def example(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    enter_example(monkeypatch, example_project)
    return example_project


def configure(project: Path, **keys: object) -> None:
    pyproject = project / "pyproject.toml"
    lines = pyproject.read_text(encoding="utf-8").splitlines()
    at = lines.index("[tool.expandcontract]") + 1
    lines[at:at] = [f"{key} = {value!r}".replace("'", '"') for key, value in keys.items()]
    pyproject.write_text("\n".join(lines) + "\n", encoding="utf-8")


def statements(sql: str) -> list[str]:
    """The statements of `--sql` output, without Alembic's `-- Running upgrade` comment lines."""
    chunks = (
        "\n".join(line for line in chunk.splitlines() if not line.startswith("--"))
        for chunk in sql.split(";")
    )
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def test_sql_output_shows_the_timeout_before_each_ddl_statement_and_none_before_dml(
    example: Path, pg_url: str
) -> None:
    result = run_cli("upgrade", "--phase", "expand", "--sql", "--url", pg_url)
    assert result.exit_code == 0, result.output

    run = statements(result.stdout)
    for index, statement in enumerate(run):
        if statement.startswith(("ALTER TABLE", "CREATE TABLE")):
            assert run[index - 1] == "SET LOCAL lock_timeout = '2s'", statement
        if statement.startswith("CREATE INDEX CONCURRENTLY"):
            assert "lock_timeout" not in run[index - 1]  # waits without blocking anyone
    backfill = next(i for i, s in enumerate(run) if s.startswith("UPDATE users SET email_address"))
    assert run[backfill - 1] == "RESET lock_timeout"  # the DML after DDL in one transaction runs without it


def hold_lock(url: str, table: str, seconds: float) -> threading.Thread:
    """Another session keeps a lock on `table` (a long SELECT's ACCESS SHARE) for `seconds`."""
    taken = threading.Event()

    def hold() -> None:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text(f"LOCK TABLE {table} IN ACCESS SHARE MODE"))
            taken.set()
            time.sleep(seconds)
            conn.rollback()
        engine.dispose()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    return thread


def up_to_1_2(project: Path, url: str) -> None:
    """The next revision, e1_3_backfill_email, alters users in one transaction (no autocommit_block)."""
    config = Config(str(project / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "e1_2_email_address")


def test_a_revision_that_times_out_on_its_lock_is_retried_until_it_gets_it(
    example: Path, pg_url: str
) -> None:
    configure(example, **{"lock-timeout": "100ms", "lock-retries": 20})
    up_to_1_2(example, pg_url)
    holder = hold_lock(pg_url, "users", seconds=1.5)

    result = run_cli("upgrade", "--phase", "expand", "--url", pg_url)
    holder.join()

    assert result.exit_code == 0, result.output
    # env.py's logging configuration writes it to stderr, next to Alembic's own lines
    retries = [line for line in result.stderr.splitlines() if "timed out waiting for a lock" in line]
    assert retries, result.stderr
    assert "expandcontract: e1_3_backfill_email timed out waiting for a lock (attempt 1 of 21)" in retries[0]
    db = Database(pg_url)
    assert db.version_heads() == {"e1_3_backfill_email"}
    assert db.columns("users")["email"] is True  # the revision's ALTER ran, once it got the lock


def test_when_the_retries_run_out_the_upgrade_fails_and_leaves_the_revision_unapplied(
    example: Path, pg_url: str
) -> None:
    configure(example, **{"lock-timeout": "100ms", "lock-retries": 1})
    up_to_1_2(example, pg_url)
    holder = hold_lock(pg_url, "users", seconds=4)

    result = run_cli("upgrade", "--phase", "expand", "--url", pg_url)
    holder.join()

    assert result.exit_code == 2
    assert "lock timeout" in result.stderr.lower() or "canceling statement" in result.stderr
    db = Database(pg_url)
    assert db.version_heads() == {"e1_2_email_address"}
    assert db.columns("users")["email"] is False  # still NOT NULL: nothing of the revision stayed


def test_a_statement_outside_a_transaction_is_retried_alone(example: Path, pg_url: str) -> None:
    """Inside autocommit_block() each statement is its own transaction: a lock timeout retries it,
    not the revision (whose earlier statements have committed)."""
    configure(example, **{"lock-timeout": "100ms", "lock-retries": 20})
    assert (
        run_cli(
            "upgrade", "--phase", "all", "--force", "--reason", "a new test database", "--url", pg_url
        ).exit_code
        == 0
    )
    written = run_cli("revision", "--phase", "expand", "-m", "nickname")
    assert written.exit_code == 0, written.output
    fill_upgrade(
        wrote(written, example),
        '    op.execute("CREATE TABLE coupons (id integer PRIMARY KEY)")\n'
        "    with op.get_context().autocommit_block():\n"
        '        op.add_column("users", sa.Column("nickname", sa.Text()))',
    )
    holder = hold_lock(pg_url, "users", seconds=1.5)

    result = run_cli("upgrade", "--phase", "expand", "--url", pg_url)
    holder.join()

    assert result.exit_code == 0, result.output
    assert "a statement timed out waiting for a lock (attempt 1 of 21)" in result.stderr
    db = Database(pg_url)
    assert "nickname" in db.columns("users") and "coupons" in db.tables()
