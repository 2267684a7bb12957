"""Edges of the gate found in review: roles that may not create objects, registries made by an
earlier version, SQLite's rowid keys, `--sql` over a database that already has revisions, new
databases, and options that would be silently ignored."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
from gate_flow import configure, single_error_line
from gate_support import live_release, shop_1_3_is_live
from integration.pg_flow_support import run_cli

from expandcontract import runtime
from expandcontract.gate.registry import Registry
from expandcontract.runtime import _own_engine


def test_an_application_role_that_may_not_create_objects_registers_once_the_registry_exists(
    pg_url: str,
) -> None:
    owner = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    Registry(owner).ensure()  # `expandcontract registry init`, run as the owner
    role = f"ec_app_{uuid.uuid4().hex[:8]}"
    database = sa.make_url(pg_url).database
    with owner.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO {role}'))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA expandcontract TO {role}"))
        conn.execute(
            sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA expandcontract TO {role}")
        )
        conn.execute(sa.text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA expandcontract TO {role}"))
    app_url = sa.make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    try:
        handle = runtime.register(app_url, release="1.0", app="shop", heartbeat_seconds=0.2)
        try:
            assert handle.wait_registered(15)
        finally:
            handle.stop()
        with Registry(owner).snapshot() as conn:
            (process,) = Registry(owner).processes(conn)
        assert process.release == "1.0" and process.stopped_at is not None
    finally:
        with owner.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
        owner.dispose()


def test_a_registry_an_earlier_version_made_gets_the_new_columns(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}", poolclass=sa.pool.NullPool)
    registry = Registry(engine)
    registry.ensure()
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE expandcontract_releases DROP COLUMN last_deployed_at"))

    registry.ensure()
    registry.register_process("p1", "shop", "1.0", "web-1", 1, ttl_seconds=30)

    with registry.snapshot() as conn:
        (release,) = registry.releases(conn)
    assert release.last_deployed_at is not None
    engine.dispose()


def test_can_deploy_knows_sqlite_numbers_its_rowid_keys(example: Path) -> None:
    url = f"sqlite:///{example / 'shop.db'}"
    assert run_cli("upgrade", "--phase", "expand").exit_code == 0
    shop_1_3_is_live(url)

    result = run_cli("release", "can-deploy", "1.3.0")

    assert result.exit_code == 0, result.output
    assert result.stdout == "release 1.3.0 can be deployed: everything it uses is in the schema\n"


def test_a_new_database_takes_every_phase_before_any_process_registered(example: Path, pg_url: str) -> None:
    result = run_cli("upgrade", "--phase", "all", "--url", pg_url)

    assert result.exit_code == 0, result.output
    assert "gate: c1_3_drop_email allowed (no live release uses what it removes)" in result.stderr


def test_a_database_with_revisions_and_no_registered_process_still_blocks(example: Path, pg_url: str) -> None:
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0

    result = run_cli("upgrade", "--phase", "contract", "--url", pg_url)

    assert result.exit_code == 1
    assert "no process has ever registered" in result.stderr


def test_sql_does_not_put_what_the_database_has_to_the_gate_again(example: Path, pg_url: str) -> None:
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    shop_1_3_is_live(pg_url)
    assert run_cli("upgrade", "--phase", "contract", "--url", pg_url).exit_code == 0
    live_release(pg_url, "1.2.0", host="web-old")  # an old release is back: no manifest, it would block

    result = run_cli("upgrade", "--phase", "all", "--sql", "--url", pg_url)

    assert result.exit_code == 0, result.output
    assert "gate:" not in result.stderr  # every contract revision is applied already: nothing to judge
    assert "DROP COLUMN email" in result.stdout


def test_kubernetes_json_without_the_kubernetes_source_is_refused(example: Path, tmp_path: Path) -> None:
    (tmp_path / "rollout.json").write_text('{"kind": "List", "items": []}', encoding="utf-8")
    assert run_cli("upgrade", "--phase", "expand").exit_code == 0
    configure(example, gate={"sources": ["registry"]})

    result = run_cli("gate", "check", "--kubernetes-json", str(tmp_path / "rollout.json"))

    assert 'gate.sources does not include "kubernetes"' in single_error_line(result)


def test_asyncio_engines_heartbeat_through_the_blocking_driver_of_the_same_database() -> None:
    assert _own_engine("postgresql+asyncpg://app:pw@db/shop").url.drivername == "postgresql+psycopg"
    assert _own_engine("postgresql+psycopg_async://app:pw@db/shop").url.drivername == "postgresql+psycopg"
    assert _own_engine("sqlite+aiosqlite:///shop.db").url.drivername == "sqlite"
    own = _own_engine("postgresql+asyncpg://app:pw@db/shop")
    assert own.url.password == "pw" and own.url.host == "db"
