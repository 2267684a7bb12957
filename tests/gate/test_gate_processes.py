"""The registry source with real application processes: each registers its release through
`expandcontract.runtime` and heartbeats; a graceful stop (SIGTERM) deregisters at once, a crash
(SIGKILL) is noticed when the process's TTL runs out. On PostgreSQL and on the SQLite default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gate_flow import AppProcesses, configure, eventually, gate_json, listed_processes, sqlite_url, verdict
from integration.pg_flow_support import Database, run_cli


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, example: Path) -> tuple[str, tuple[str, ...]]:
    """(URL the processes connect to, the CLI's --url arguments): a PostgreSQL test database, or
    the example project's own SQLite file, which the CLI finds in its pyproject.toml."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        return url, ("--url", url)
    return sqlite_url(example), ()


def test_processes_block_the_contract_until_they_are_gone(
    example: Path, database: tuple[str, tuple[str, ...]], apps: AppProcesses
) -> None:
    url, url_args = database
    configure(example, gate={"drain-seconds": 0})
    assert run_cli("upgrade", "--phase", "expand", *url_args).exit_code == 0

    graceful = apps.start(url, "1.0")
    crashing = apps.start(url, "1.0")

    # both 1.0 processes map users.email, which c1_3_drop_email drops: blocked, naming each
    checked = run_cli("gate", "check", *url_args)
    assert checked.exit_code == 1, checked.output
    assert f"live: shop@1.0 (process {graceful.name} (heartbeat" in checked.stdout
    assert f"process {crashing.name} (heartbeat" in checked.stdout
    assert "c1_3_drop_email  BLOCKED" in checked.stdout
    assert "maps users.email; the revision drops users.email" in checked.stdout

    assert graceful.terminate() == 0  # its SIGTERM handler deregistered it, then it exited
    crashing.kill()

    code, doc = gate_json(*url_args)
    assert code == 1
    # deregistered (drain-seconds = 0): gone at once; killed: still live until its TTL (1.5 s)
    assert listed_processes(doc) == {crashing.name}
    blockers = verdict(doc, "c1_3_drop_email")["blocking"]
    assert {b["release"] for b in blockers} == {"1.0"}

    def crash_noticed() -> dict[str, Any] | None:
        doc = gate_json(*url_args)[1]
        return doc if not listed_processes(doc) else None

    doc = eventually(crash_noticed, timeout=15)
    assert doc["exit_code"] == 0  # nothing live: nothing blocks

    current = apps.start(url, "1.3.0", email_column="email_address")
    code, doc = gate_json(*url_args)
    assert code == 0
    assert listed_processes(doc) == {current.name}
    assert [(r["release"], r["manifest"]) for r in doc["live_releases"]] == [("1.3.0", True)]
    assert verdict(doc, "c1_3_drop_email")["allowed"] is True

    upgraded = run_cli("upgrade", "--phase", "contract", *url_args)

    assert upgraded.exit_code == 0, upgraded.output
    assert "  c1_3_drop_email  contract" in upgraded.stdout
    assert "gate: c1_3_drop_email allowed" in upgraded.stderr
    db = Database(url)
    assert "email" not in db.columns("users")
    assert "email_address" in db.columns("users")
    assert db.version_heads() == {"c1_3_drop_email"}  # it depends on e1_3_backfill_email
    # the 1.3.0 process ran on through the migration, and still stops cleanly
    assert current.popen.poll() is None
    assert current.terminate() == 0


def test_a_stopped_process_drains_before_it_stops_counting(
    example: Path, pg_url: str, apps: AppProcesses
) -> None:
    configure(example, gate={"drain-seconds": 600})
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    old = apps.start(pg_url, "1.0")

    assert old.terminate() == 0

    code, doc = gate_json("--url", pg_url)
    assert code == 1
    assert listed_processes(doc) == {old.name}
    (sighting,) = doc["sources"][0]["sightings"]
    assert "draining for 600 s" in sighting["what"]
