"""The registry and the runtime on real databases: PostgreSQL (its own schema) and SQLite (prefixed
tables)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from expandcontract import runtime
from expandcontract.gate.manifest import build_manifest
from expandcontract.gate.registry import Registry
from expandcontract.gate.source_registry import process_state, registry_report


@pytest.fixture
def registry(url: str) -> Iterator[Registry]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    reg = Registry(engine)
    reg.ensure()
    yield reg
    engine.dispose()


def users(*, email: bool) -> sa.MetaData:
    metadata = sa.MetaData()
    extra = [sa.Column("email", sa.String(255))] if email else []
    sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True), *extra)
    return metadata


def test_the_registry_lives_in_its_own_schema_or_behind_a_prefix(registry: Registry) -> None:
    inspector = sa.inspect(registry.engine)
    if registry.dialect == "postgresql":
        assert set(inspector.get_table_names(schema="expandcontract")) == {
            "releases",
            "processes",
            "attestations",
            "audit_log",
            "run_lock",
            "backfills",
        }
        assert inspector.get_table_names() == []  # nothing in the application's own schema
    else:
        assert {t for t in inspector.get_table_names() if t.startswith("expandcontract_")} == {
            "expandcontract_releases",
            "expandcontract_processes",
            "expandcontract_attestations",
            "expandcontract_audit_log",
            "expandcontract_run_lock",
            "expandcontract_backfills",
        }
    registry.ensure()  # idempotent


def test_creating_the_registry_from_many_threads_at_once(url: str) -> None:
    errors: list[BaseException] = []

    def create() -> None:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=_busy_timeout(url))
        try:
            Registry(engine).ensure()
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def _busy_timeout(url: str) -> dict[str, object]:
    return {"timeout": 30} if url.startswith("sqlite") else {}


def test_processes_heartbeat_stop_and_are_pruned(registry: Registry) -> None:
    registry.register_process("p1", "shop", "1.0", "web-1", 11, ttl_seconds=30)
    registry.register_process("p2", "shop", "1.0", "web-2", 12, ttl_seconds=30)
    registry.register_process("p1", "shop", "1.0", "web-1", 11, ttl_seconds=30)  # twice: still one row
    assert registry.heartbeat("p1")
    registry.stop("p2")
    assert not registry.heartbeat("p2")  # a stopped process does not come back by heartbeating
    assert not registry.heartbeat("nobody")

    with registry.snapshot() as conn:
        now = registry.now(conn)
        processes = {p.id: p for p in registry.processes(conn)}
    assert set(processes) == {"p1", "p2"}
    assert processes["p2"].stopped_at is not None and abs(processes["p2"].stopped_at - now) < 5
    assert process_state(processes["p1"], now, drain_seconds=0, soak_seconds=0) is not None
    assert process_state(processes["p2"], now + 1, drain_seconds=0, soak_seconds=0) is None
    assert "draining" in (process_state(processes["p2"], now, drain_seconds=30, soak_seconds=0) or "")

    assert registry.prune(retention_seconds=3600) == 0  # nothing is old enough
    with registry.engine.begin() as conn:  # age p2's stop by two hours
        table = registry.tables.processes
        conn.execute(table.update().where(table.c.id == "p2").values(stopped_at=table.c.stopped_at - 7200))
    assert registry.prune(retention_seconds=3600) == 1
    with registry.snapshot() as conn:
        assert [p.id for p in registry.processes(conn)] == ["p1"]


def test_a_replaced_manifest_is_audited_and_an_unchanged_one_is_not_stored_again(registry: Registry) -> None:
    first = build_manifest(users(email=True), "1.0", app="shop")
    assert registry.publish(first)
    assert not registry.publish(build_manifest(users(email=True), "1.0", app="shop"))
    assert registry.publish(build_manifest(users(email=False), "1.0", app="shop"), actor="ci")

    with registry.snapshot() as conn:
        (release,) = registry.releases(conn)
    assert release.manifest is not None and release.manifest.column("users", "email") is None
    (entry,) = registry.audit_entries()
    assert (entry.action, entry.actor) == ("publish", "ci")
    assert entry.reason == "manifest of shop@1.0 replaced"


def test_the_registry_source_sees_live_processes_and_says_when_none_ever_registered(
    registry: Registry,
) -> None:
    with registry.snapshot() as conn:
        report = registry_report(registry.processes(conn), registry.now(conn), 30, 0, ever_registered=False)
    assert report.problems and "no process has ever registered" in report.problems[0]

    registry.register_process("p1", "shop", "1.0", "web-1", 11, ttl_seconds=30)
    with registry.snapshot() as conn:
        processes = registry.processes(conn)
        report = registry_report(processes, registry.now(conn), 30, 0, ever_registered=True)
    (sighting,) = report.sightings
    assert (sighting.app, sighting.release) == ("shop", "1.0")
    assert sighting.what.startswith("process web-1:11 (heartbeat ")


def test_the_runtime_registers_heartbeats_and_deregisters(url: str) -> None:
    handle = runtime.register(
        url, release="2.0", metadata=users(email=False), app="shop", heartbeat_seconds=0.2
    )
    try:
        assert handle.wait_registered(15)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        registry = Registry(engine)
        with registry.snapshot() as conn:
            (process,) = registry.processes(conn)
            (release,) = registry.releases(conn)
        first_beat = process.heartbeat_at
        assert (process.release, process.app, process.ttl_seconds) == ("2.0", "shop", pytest.approx(0.6))
        assert release.manifest is not None and release.manifest.column("users", "id") is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the heartbeat moves on
            with registry.snapshot() as conn:
                (process,) = registry.processes(conn)
            if process.heartbeat_at > first_beat:
                break
            time.sleep(0.1)
        assert process.heartbeat_at > first_beat
    finally:
        handle.stop()
        handle.stop()  # twice is harmless
    with registry.snapshot() as conn:
        (process,) = registry.processes(conn)
    assert process.stopped_at is not None
    engine.dispose()


def test_application_name_is_what_postgresql_keeps() -> None:
    assert runtime.application_name("shop", "2.4.1") == "shop@2.4.1"
    for app, release in (
        ("", "1"),
        ("a@b", "1"),
        ("shop", ""),
        ("shop", "1 2"),
        ("shop", "x" * 70),
        ("shøp", "1"),
    ):
        with pytest.raises(ValueError):
            runtime.application_name(app, release)


def test_runtime_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="heartbeat_seconds must be positive"):
        runtime.register("sqlite://", release="1", heartbeat_seconds=0)
    with pytest.raises(ValueError, match="ttl_seconds must be at least heartbeat_seconds"):
        runtime.register("sqlite://", release="1", heartbeat_seconds=10, ttl_seconds=5)
