"""The pg_stat_activity source: releases seen through the `application_name` of real sessions
(`shop@1.2.0`), matched to the manifests published in the registry; and the role it reads them as,
which must see other roles' sessions."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from gate_flow import configure, connection, eventually, gate_json, registry_at, shop_1_2_metadata, verdict
from integration.pg_flow_support import Database, run_cli

from expandcontract.gate.manifest import build_manifest
from expandcontract.runtime import application_name


@pytest.fixture
def shop(example: Path, pg_url: str) -> str:
    """The example with expand applied, gate.sources = ["pg_stat_activity"], and the manifests of
    releases 1.2.0 and 1.3.0 published (as CI does when it deploys them); the database URL."""
    configure(example, gate={"sources": ["pg_stat_activity"]})
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    models = importlib.import_module("shop.models")
    with registry_at(pg_url) as registry:
        registry.publish(build_manifest(shop_1_2_metadata(), "1.2.0", app="shop"))
        registry.publish(build_manifest(models.Base.metadata, "1.3.0", app="shop"))
    return pg_url


def session_of(url: str, release: str) -> AbstractContextManager[sa.Connection]:
    """A session of the shop's `release`, connected as its processes connect (`shop@<release>`)."""
    return connection(url, application_name("shop", release))


def releases_seen(doc: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(r["app"], r["release"], r["manifest"]) for r in doc["live_releases"]]


def test_a_live_session_of_an_older_release_blocks_until_it_closes(shop: str) -> None:
    with session_of(shop, "1.3.0"):
        with session_of(shop, "1.2.0") as old:
            old_pid = old.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            code, doc = gate_json("--url", shop)

            assert code == 1
            assert releases_seen(doc) == [("shop", "1.2.0", True), ("shop", "1.3.0", True)]
            blocked = verdict(doc, "c1_3_drop_email")
            assert blocked["allowed"] is False
            assert {(b["release"], b["source"], b["object"]) for b in blocked["blocking"]} == {
                ("1.2.0", "pg_stat_activity", None),  # older than requires_release
                ("1.2.0", "pg_stat_activity", "users.email"),  # its manifest maps the column
            }
            reason = blocked["blocking"][0]["reason"]
            assert reason.startswith(f"live release shop@1.2.0 (1 session(s): pid {old_pid} as postgres")

        def allowed() -> dict[str, Any] | None:
            code, doc = gate_json("--url", shop)
            return doc if code == 0 else None

        doc = eventually(allowed)  # the backend of a closed session leaves pg_stat_activity shortly
        assert releases_seen(doc) == [("shop", "1.3.0", True)]

        upgraded = run_cli("upgrade", "--phase", "contract", "--url", shop)
        assert upgraded.exit_code == 0, upgraded.output
    assert "email" not in Database(shop).columns("users")


def test_sessions_that_name_no_release_are_not_releases(shop: str) -> None:
    with connection(shop, "psql"), connection(shop), connection(shop, "shop@"):
        code, doc = gate_json("--url", shop)

    assert code == 0
    assert doc["live_releases"] == []
    assert doc["sources"] == [{"source": "pg_stat_activity", "problems": [], "sightings": []}]


def test_a_live_release_without_a_manifest_blocks(shop: str) -> None:
    with session_of(shop, "1.4.0"):
        code, doc = gate_json("--url", shop)
        text = run_cli("gate", "check", "--url", shop)

    assert code == 1
    assert releases_seen(doc) == [("shop", "1.4.0", False)]
    (blocker,) = verdict(doc, "c1_3_drop_email")["blocking"]
    assert blocker["release"] == "1.4.0"
    assert "has no manifest, so nothing shows it does not use what the revision removes" in blocker["reason"]
    assert "- live release shop@1.4.0 (1 session(s): pid " in text.stdout
    assert "has no manifest" in text.stdout


@pytest.fixture
def gate_role(shop: str) -> Iterator[str]:
    """A LOGIN role that may read the registry and the version table, but not other roles'
    sessions (no pg_read_all_stats); its name. Dropped after the test."""
    role = f"ec_gate_{uuid.uuid4().hex[:10]}"
    database = sa.engine.make_url(shop).database
    db = Database(shop)
    db.execute(f"CREATE ROLE {role} LOGIN")
    try:
        db.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
        db.execute(f"GRANT USAGE ON SCHEMA expandcontract TO {role}")
        db.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA expandcontract TO {role}")
        db.execute(f"GRANT SELECT ON alembic_version TO {role}")
        yield role
    finally:
        db.execute(f"DROP OWNED BY {role}")  # its grants, here and on the database
        db.execute(f"DROP ROLE {role}")


def test_a_role_that_cannot_see_other_sessions_blocks_until_granted(shop: str, gate_role: str) -> None:
    as_gate_role = sa.engine.make_url(shop).set(username=gate_role).render_as_string(hide_password=False)

    with session_of(shop, "1.2.0") as old:  # connected as postgres, another role
        old_pid = old.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        code, doc = gate_json("--url", as_gate_role)

        assert code == 1
        problem = (
            f"role {gate_role} cannot see other roles' sessions, so releases connected as them would "
            f"be missed; GRANT pg_read_all_stats TO {gate_role}"
        )
        assert doc["sources"] == [{"source": "pg_stat_activity", "problems": [problem], "sightings": []}]
        assert [b["reason"] for b in verdict(doc, "c1_3_drop_email")["blocking"]] == [
            f"pg_stat_activity: {problem}"
        ]
        text = run_cli("gate", "check", "--url", as_gate_role)
        assert text.exit_code == 1
        assert f"GRANT pg_read_all_stats TO {gate_role}" in text.stdout

        Database(shop).execute(f"GRANT pg_read_all_stats TO {gate_role}")

        code, doc = gate_json("--url", as_gate_role)
        assert code == 1  # now it sees the 1.2.0 session of the other role, and blocks for it
        assert doc["sources"][0]["problems"] == []
        (sighting,) = doc["sources"][0]["sightings"]
        assert (sighting["app"], sighting["release"]) == ("shop", "1.2.0")
        assert sighting["what"].startswith(f"1 session(s): pid {old_pid} as postgres")

    def allowed() -> bool:
        return gate_json("--url", as_gate_role)[0] == 0

    eventually(allowed)
