"""Overrides and retirements go to the audit log with who and why; and no output, audit row or log
line ever shows a database password."""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from gate_flow import (
    PASSWORD,
    Outage,
    closed_port,
    configure,
    eventually,
    gate_json,
    registry_at,
    shop_1_2_metadata,
    single_error_line,
    verdict,
    with_password,
)
from gate_support import live_release
from integration.pg_flow_support import Database, run_cli

from expandcontract import runtime
from expandcontract.gate.manifest import build_manifest

ACTOR = "alice@release-train"


def audit(*args: str) -> list[dict[str, Any]]:
    """The audit log's entries, newest first (`registry audit --json`)."""
    result = run_cli("registry", "audit", "--json", *args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1
    return list(doc["entries"])


@pytest.fixture
def blocked(example: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Expand applied, a process of release 1.0 (older than c1_3_drop_email requires) live, and
    EXPANDCONTRACT_ACTOR set; the database URL."""
    monkeypatch.setenv("EXPANDCONTRACT_ACTOR", ACTOR)
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    live_release(pg_url, "1.0", shop_1_2_metadata(), host="web-1", pid=101)
    return pg_url


def test_force_with_a_reason_runs_a_blocked_revision_and_records_the_override(blocked: str) -> None:
    refused = run_cli("upgrade", "--phase", "contract", "--url", blocked)
    assert refused.exit_code == 1, refused.output
    assert "email" in Database(blocked).columns("users")

    reason = "web-1 was drained by hand, see OPS-1234"
    forced = run_cli("upgrade", "--phase", "contract", "--url", blocked, "--force", "--reason", reason)

    assert forced.exit_code == 0, forced.output
    assert "  c1_3_drop_email  contract" in forced.stdout
    assert "forced past the gate (1 blocked revision(s)); recorded in the audit log" in forced.stdout
    assert "gate: c1_3_drop_email BLOCKED" in forced.stderr  # it says what it overrides
    assert "email" not in Database(blocked).columns("users")

    entries = audit("--url", blocked)
    (override,) = [e for e in entries if e["action"] == "override"]
    assert override["reason"] == reason
    assert override["actor"] == ACTOR
    assert override["revision"] == "c1_3_drop_email"
    assert override["allowed"] is True
    assert "live release shop@1.0" in override["details"]["blockers"][0]
    assert override["details"]["removes"] == ["drops users.email"]
    # the refused run before it is on record too, as a decision that blocked
    refusals = [e for e in entries if e["action"] == "gate-decision" and e["allowed"] is False]
    assert [(e["revision"], e["actor"]) for e in refusals] == [("c1_3_drop_email", ACTOR)]
    text = run_cli("registry", "audit", "--url", blocked)
    assert f"override c1_3_drop_email allowed  by {ACTOR}: {reason}" in text.stdout


@pytest.mark.parametrize(
    "flags",
    [["--force"], ["--force", "--reason", "   "], ["--reason", "because"]],
    ids=["force-alone", "blank-reason", "reason-alone"],
)
def test_force_needs_a_reason(blocked: str, flags: list[str]) -> None:
    result = run_cli("upgrade", "--phase", "contract", "--url", blocked, *flags)

    line = single_error_line(result)
    assert "--force" in line and "--reason" in line
    assert "email" in Database(blocked).columns("users")
    assert [e for e in audit("--url", blocked) if e["action"] in ("override", "gate-decision")] == []


def test_retiring_a_release_is_audited_and_the_attestation_source_stops_counting_it(
    example: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPANDCONTRACT_ACTOR", ACTOR)
    configure(example, gate={"sources": ["attestation"]})
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    models = importlib.import_module("shop.models")
    with registry_at(pg_url) as registry:  # what CI publishes when it deploys each release
        registry.publish(build_manifest(shop_1_2_metadata(), "1.2.0", app="shop"))
        registry.publish(build_manifest(models.Base.metadata, "1.3.0", app="shop"))

    code, doc = gate_json("--url", pg_url)
    assert code == 1
    assert {b["release"] for b in verdict(doc, "c1_3_drop_email")["blocking"]} == {"1.2.0"}

    reason = "the last 1.2.0 VM was shut down (CHG-77)"
    retired = run_cli("release", "retire", "1.2.0", "--reason", reason, "--url", pg_url)

    assert retired.exit_code == 0, retired.output
    assert retired.stdout == f"recorded: release 1.2.0 retired ({reason})\n"
    code, doc = gate_json("--url", pg_url)
    assert code == 0
    assert [(r["release"], r["evidence"]) for r in doc["live_releases"]] == [
        ("1.3.0", ["attestation: known to the registry and not retired"])
    ]
    (entry,) = [e for e in audit("--url", pg_url) if e["action"] == "retire"]
    assert (entry["reason"], entry["actor"], entry["revision"]) == (reason, ACTOR, None)
    assert entry["details"] == {"app": "", "release": "1.2.0"}


def test_retiring_without_a_reason_is_refused(example: Path, pg_url: str) -> None:
    result = run_cli("release", "retire", "1.2.0", "--reason", "  ", "--url", pg_url)

    assert "needs --reason" in single_error_line(result)
    assert audit("--url", pg_url) == []


# --- passwords ---------------------------------------------------------------------------------------


def assert_no_password(result: Result) -> None:
    assert PASSWORD not in result.stdout, result.stdout
    assert PASSWORD not in result.stderr, result.stderr


def test_no_command_shows_the_password(
    example: Path, pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = with_password(pg_url)
    models = example / "release_1_2_models.py"  # importable from the working folder
    models.write_text(
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n"
        'sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True), '
        'sa.Column("email", sa.String(255)))\n',
        encoding="utf-8",
    )
    manifest = tmp_path / "manifest-1.2.0.json"
    commands: list[tuple[list[str], int]] = [
        (["registry", "init"], 0),
        (["upgrade", "--phase", "expand"], 0),
        (["manifest", "publish", str(manifest)], 0),
        (["gate", "check"], 1),  # no process ever registered
        (["gate", "check", "--json"], 1),
        (["upgrade", "--phase", "contract"], 1),
        (["release", "retire", "1.0", "--reason", "gone"], 0),
        (["release", "can-deploy", "1.2.0"], 0),
        (["upgrade", "--phase", "contract", "--force", "--reason", "tested"], 0),
        (["release", "can-deploy", "1.2.0"], 1),
        (["release", "can-deploy", "1.2.0", "--json"], 1),
        (["gate", "check"], 3),
        (["gate", "check", "--json"], 3),
        (["registry", "audit"], 0),
        (["registry", "audit", "--json"], 0),
        (["status"], 0),
    ]
    built = run_cli(
        "manifest",
        "build",
        "--metadata",
        f"{models.stem}:metadata",
        "--release",
        "1.2.0",
        "-o",
        str(manifest),
    )
    assert built.exit_code == 0, built.output

    for args, code in commands:
        result = run_cli(*args, "--url", url)
        assert result.exit_code == code, (args, result.output)
        assert_no_password(result)

    # the password was used (trust authentication ignores it), and shown masked
    assert "postgresql+psycopg://postgres:***@" in run_cli("gate", "check", "--url", url).stdout
    # nor is it stored: not in the audit log, not in any registry table
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = ["audit_log", "releases", "processes", "attestations"]
            rows = [row for t in tables for row in conn.execute(sa.text(f"SELECT * FROM expandcontract.{t}"))]
    finally:
        engine.dispose()
    assert any(row for row in rows)
    assert PASSWORD not in repr(rows)
    assert PASSWORD not in caplog.text


UNREACHABLE_COMMANDS = [
    ["gate", "check"],
    ["gate", "check", "--json"],
    ["upgrade", "--phase", "expand"],
    ["upgrade", "--phase", "contract"],
    ["upgrade", "--phase", "contract", "--force", "--reason", "tested"],
    ["registry", "init"],
    ["registry", "audit"],
    ["release", "retire", "1.2.0", "--reason", "gone"],
    ["release", "can-deploy", "1.2.0"],
    ["status"],
]


@pytest.mark.parametrize("args", UNREACHABLE_COMMANDS, ids="_".join)
def test_an_unreachable_database_is_reported_without_the_password(
    example: Path, args: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{closed_port()}/shop"

    result = run_cli(*args, "--url", url)

    assert result.exit_code == 2, result.output
    assert_no_password(result)
    assert PASSWORD not in caplog.text


# --- the runtime's log -------------------------------------------------------------------------------


@pytest.fixture
def runtime_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The runtime's log records. (An env.py run in this process by another test calls
    logging.config.fileConfig, which disables loggers that existed then: enable it again.)"""
    logger = logging.getLogger("expandcontract.runtime")
    disabled = logger.disabled
    logger.disabled = False
    caplog.set_level(logging.DEBUG, logger="expandcontract.runtime")
    try:
        yield caplog
    finally:
        logger.disabled = disabled


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "expandcontract.runtime" and r.levelno == logging.WARNING
    ]


def test_the_runtime_survives_an_unreachable_database_and_never_logs_the_password(
    runtime_log: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql+psycopg://shop:{PASSWORD}@127.0.0.1:{closed_port()}/shop"

    handle = runtime.register(
        url, release="1.3.0", metadata=shop_1_2_metadata(), app="shop", heartbeat_seconds=0.1
    )
    try:
        eventually(lambda: warnings_of(runtime_log), timeout=10)
        assert handle.wait_registered(timeout=0.5) is False  # five more intervals, still failing
    finally:
        handle.stop()  # nothing to deregister, and nothing raised

    (warning,) = warnings_of(runtime_log)  # one for the outage, not one per retry
    assert warning.startswith("expandcontract: cannot reach the registry (OperationalError: ")
    assert "Connection refused" in warning
    assert PASSWORD not in runtime_log.text
    assert all(PASSWORD not in repr(r.args) for r in runtime_log.records)


@pytest.fixture
def outage(pg_url: str) -> Iterator[Outage]:
    server = sa.engine.make_url(pg_url)
    proxy = Outage(server.host or "127.0.0.1", server.port or 5432)
    try:
        yield proxy
    finally:
        proxy.close()


def test_the_runtime_keeps_retrying_and_registers_once_the_database_is_back(
    pg_url: str, outage: Outage, runtime_log: pytest.LogCaptureFixture
) -> None:
    url = outage.url(with_password(pg_url))

    handle = runtime.register(
        url, release="1.3.0", metadata=shop_1_2_metadata(), app="shop", heartbeat_seconds=0.1
    )
    try:
        eventually(lambda: outage.attempts >= 3, timeout=10)  # it retries, every heartbeat
        assert handle.wait_registered(timeout=0) is False
        outage.end()
        assert handle.wait_registered(timeout=10) is True
    finally:
        handle.stop()

    messages = warnings_of(runtime_log)
    assert messages[0].startswith("expandcontract: cannot reach the registry (OperationalError: ")
    assert messages[1:] == ["expandcontract: registry reachable again; heartbeats resumed"]
    assert PASSWORD not in runtime_log.text
    with registry_at(pg_url) as registry, registry.snapshot() as conn:
        (process,) = registry.processes(conn)
    assert (process.app, process.release) == ("shop", "1.3.0")
    assert process.stopped_at is not None  # stop() deregistered it
