"""The gate's commands as a pipeline sees them: `gate check --json` against its published schema in
every state, the exit codes, `manifest build` against the manifest schema, `release can-deploy`
after a contract, and `registry init` however often and from however many places it runs."""

from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa
from gate_flow import (
    CONSOLE_SCRIPT,
    closed_port,
    configure,
    gate_json,
    registry_at,
    single_error_line,
    sqlite_url,
    verdict,
)
from gate_support import live_release, shop_1_3_is_live
from integration.pg_flow_support import Database, run_cli

from expandcontract import api
from expandcontract.settings import load_settings

SHOP_1_0_MODELS = '''\
"""The shop's models as release 1.0.0 mapped them."""

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
'''

MODELS = '''\
"""A release's models."""

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_address: Mapped[str | None] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=sa.func.now())


class Event(Base):
    __tablename__ = "events"
    __table_args__ = {"schema": "audit"}

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="note")
'''


def schema(name: str) -> dict[str, Any]:
    """A JSON schema as the installed package ships it."""
    resource = importlib.resources.files("expandcontract.report") / "schemas" / name
    loaded: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return loaded


def validate(document: Any, name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(name))
    jsonschema.Draft202012Validator(schema(name)).validate(document)


def checked(*args: str) -> tuple[int, dict[str, Any]]:
    """`gate check --json`, validated against gate-check.schema.json; the text form agrees on the
    exit code."""
    code, doc = gate_json(*args)
    validate(doc, "gate-check.schema.json")
    assert doc["exit_code"] == code
    assert run_cli("gate", "check", *args).exit_code == code
    return code, doc


@pytest.fixture
def shop(example: Path, pg_url: str) -> str:
    """The example on PostgreSQL with expand applied; the database URL."""
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    return pg_url


# --- gate check --json and its exit codes ------------------------------------------------------------


def test_gate_check_json_follows_its_schema_blocked_allowed_and_nothing_pending(
    example: Path, shop: str
) -> None:
    code, doc = checked("--url", shop)  # no process ever registered: the registry cannot vouch
    assert code == 1
    assert doc["sources"][0]["problems"] and doc["live_releases"] == []

    old = live_release(shop, "1.0", host="web-1", pid=7)
    code, doc = checked("--url", shop)
    assert code == 1
    assert doc["database"] == shop
    (live,) = doc["live_releases"]
    assert (live["app"], live["release"], live["manifest"]) == ("shop", "1.0", False)
    assert [e.split(" (")[0] for e in live["evidence"]] == ["registry: process web-1:7"]
    blocked = verdict(doc, "c1_3_drop_email")
    assert (blocked["allowed"], blocked["requires_release"]) == (False, "1.3.0")
    assert [(r["kind"], r["target"], r["what"]) for r in blocked["removes"]] == [
        ("column", "users.email", "drops users.email")
    ]
    assert blocked["removes"][0]["where"].endswith("migrations/versions/contract/c1_3_drop_email.py:26")
    assert {b["reason"].split(") ", 1)[1] for b in blocked["blocking"]} == {
        "is older than 1.3.0, which the revision requires",
        "has no manifest, so nothing shows it does not use what the revision removes; publish one",
    }
    assert verdict(doc, "contract_root") == {
        "revision": "contract_root",
        "path": verdict(doc, "contract_root")["path"],
        "allowed": True,
        "requires_release": None,
        "removes": [],
        "blocking": [],
    }

    with registry_at(shop) as registry:
        registry.stop(old)
    shop_1_3_is_live(shop)
    configure(example, gate={"drain-seconds": 0})
    code, doc = checked("--url", shop)
    assert code == 0
    assert [(r["release"], r["manifest"]) for r in doc["live_releases"]] == [("1.3.0", True)]
    assert all(v["allowed"] and not v["blocking"] for v in doc["revisions"])

    assert run_cli("upgrade", "--phase", "contract", "--url", shop).exit_code == 0
    code, doc = checked("--url", shop)
    assert code == 3
    assert (doc["revisions"], doc["sources"], doc["live_releases"]) == ([], [], [])
    assert run_cli("gate", "check", "--url", shop).stdout.endswith("nothing pending (exit 3)\n")


@pytest.mark.parametrize(
    "args",
    [
        ["gate", "check"],
        ["gate", "check", "--json"],
        ["registry", "init"],
        ["release", "retire", "1.0", "--reason", "gone"],
        ["release", "can-deploy", "1.0"],
        ["upgrade", "--phase", "contract"],
        ["registry", "audit"],
    ],
    ids="_".join,
)
def test_an_unreachable_database_is_one_line_and_exit_2(example: Path, args: list[str]) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/shop"

    result = run_cli(*args, "--url", url)

    line = single_error_line(result)
    assert result.stdout == ""
    assert url in line  # which database: the one given
    assert "Connection refused" in line


@pytest.mark.parametrize(
    "args", [["gate", "check"], ["upgrade", "--phase", "contract"], ["registry", "init"]], ids="_".join
)
def test_a_url_with_a_bad_port_is_one_line_and_exit_2(example: Path, args: list[str]) -> None:
    result = run_cli(*args, "--url", "postgresql+psycopg://postgres:s3cr3t-pw@127.0.0.1:notaport/shop")

    line = single_error_line(result)
    assert "internal error" not in line and "s3cr3t-pw" not in result.output
    assert "notaport" in line


@pytest.mark.parametrize(
    ("gate", "complaint"),
    [
        ({"sources": ["nope"]}, "`gate.sources` is ['nope']; give a non-empty list of"),
        ({"sources": []}, "`gate.sources` is []"),
        ({"drain-seconds": -1}, "`gate.drain-seconds` is -1; give a number of seconds (0 or more)"),
        ({"lock-wait-seconds": "soon"}, "`gate.lock-wait-seconds` is 'soon'"),
        ({"release-order": "alphabetical"}, "`gate.release-order` is 'alphabetical'; use one of"),
        ({"sauces": ["registry"]}, "unknown key `sauces` in [tool.expandcontract.gate]"),
    ],
)
def test_a_bad_gate_setting_is_one_line_and_exit_2(
    example: Path, gate: dict[str, Any], complaint: str
) -> None:
    configure(example, gate=gate)

    result = run_cli("gate", "check", "--json")

    line = single_error_line(result)
    assert line.startswith(f"expandcontract: error: {example / 'pyproject.toml'}: ")
    assert complaint in line


# --- manifest build ----------------------------------------------------------------------------------


@pytest.fixture
def release_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder with a release's `models` module, as the working folder of `manifest build`."""
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "models.py").write_text(MODELS, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.delenv("EXPANDCONTRACT_DATABASE_URL", raising=False)
    sys.modules.pop("models", None)
    try:
        yield folder
    finally:
        sys.modules.pop("models", None)  # the next test's `models` is another module


def built(*args: str) -> dict[str, Any]:
    result = run_cli("manifest", "build", "--metadata", "models:Base", "--release", "2.0.0", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    validate(document, "manifest.schema.json")
    return document


def test_manifest_build_follows_its_schema(release_folder: Path) -> None:
    doc = built("--app", "shop")

    assert (doc["schema_version"], doc["app"], doc["release"], doc["extras"]) == (1, "shop", "2.0.0", [])
    assert doc["tables"] == {
        "audit.events": {
            "any_column": False,
            "columns": {
                "id": {"nullable": False, "server_default": True, "type": "INTEGER"},
                # a client-side default
                "kind": {"nullable": False, "server_default": False, "type": "VARCHAR(20)"},
            },
        },
        "users": {
            "any_column": False,
            "columns": {
                "created_at": {
                    "nullable": False,
                    "server_default": True,
                    "type": "TIMESTAMP WITHOUT TIME ZONE",
                },
                "email_address": {"nullable": True, "server_default": False, "type": "VARCHAR(255)"},
                "id": {"nullable": False, "server_default": True, "type": "INTEGER"},
                "name": {"nullable": False, "server_default": False, "type": "VARCHAR(100)"},
            },
        },
    }


def test_manifest_build_writes_a_file(release_folder: Path) -> None:
    result = run_cli(
        "manifest", "build", "--metadata", "models:Base.metadata", "--release", "2.0.0", "-o", "m.json"
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "wrote m.json: release 2.0.0, 2 tables, 6 columns\n"
    validate(json.loads((release_folder / "m.json").read_text(encoding="utf-8")), "manifest.schema.json")


def test_manifest_build_adds_the_extras_raw_sql_uses(release_folder: Path) -> None:
    extras = ["users.legacy_code", "audit.events.payload", "reports.*", "users.name"]

    doc = built(*[arg for extra in extras for arg in ("--extra", extra)])

    assert doc["extras"] == extras
    worst = {"nullable": True, "server_default": True}  # what it cannot see, it assumes the worst of
    assert doc["tables"]["users"]["columns"]["legacy_code"] == worst
    assert doc["tables"]["users"]["columns"]["name"] == worst
    assert doc["tables"]["audit.events"]["columns"]["payload"] == worst
    assert doc["tables"]["reports"] == {"any_column": True, "columns": {}}


@pytest.mark.parametrize("extra", ["users", "users.", ".email", "a.b.c.d", "users..email"])
def test_a_bad_extra_is_one_line_and_exit_2(release_folder: Path, extra: str) -> None:
    result = run_cli("manifest", "build", "--metadata", "models:Base", "--release", "2.0.0", "--extra", extra)

    line = single_error_line(result)
    assert line == (
        f"expandcontract: error: --extra {extra!r}: give table.column, schema.table.column or table.* "
        "(a column or table your raw SQL uses)"
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("models", "give module:attribute"),
        ("no_such_module:Base", "cannot import no_such_module"),
        ("models:Nope", "models has no attribute Nope"),
        ("models:User.__tablename__", "is not a SQLAlchemy MetaData"),
    ],
)
def test_a_bad_metadata_is_one_line_and_exit_2(release_folder: Path, spec: str, complaint: str) -> None:
    result = run_cli("manifest", "build", "--metadata", spec, "--release", "2.0.0")

    assert complaint in single_error_line(result)


# --- release can-deploy ------------------------------------------------------------------------------


def test_can_deploy_draws_the_rollback_horizon_once_the_contract_ran(example: Path, shop: str) -> None:
    (example / "shop_1_0_models.py").write_text(SHOP_1_0_MODELS, encoding="utf-8")
    for spec, release in (("shop_1_0_models:Base", "1.0"), ("shop.models:Base", "1.3.0")):
        out = example / f"manifest-{release}.json"
        made = run_cli(
            "manifest", "build", "--metadata", spec, "--release", release, "--app", "shop", "-o", str(out)
        )
        assert made.exit_code == 0, made.output
        published = run_cli("manifest", "publish", str(out), "--url", shop)
        assert published.stdout == f"published the manifest of shop@{release}\n"
    again = run_cli("manifest", "publish", str(example / "manifest-1.3.0.json"), "--url", shop)
    assert again.stdout == "the registry already has this manifest of shop@1.3.0\n"

    before = run_cli("release", "can-deploy", "1.0", "--url", shop)
    assert before.exit_code == 0, before.output
    assert before.stdout == "release 1.0 can be deployed: everything it uses is in the schema\n"

    shop_1_3_is_live(shop)
    assert run_cli("upgrade", "--phase", "contract", "--url", shop).exit_code == 0

    old = run_cli("release", "can-deploy", "1.0", "--url", shop)
    assert old.exit_code == 1
    assert old.stdout.splitlines() == [
        "release 1.0 cannot be deployed: the schema no longer has what it uses:",
        "  - column users.email is gone",
    ]
    as_json = run_cli("release", "can-deploy", "1.0", "--json", "--url", shop)
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == {
        "schema_version": 1,
        "release": "1.0",
        "can_deploy": False,
        "missing": ["column users.email is gone"],
    }
    current = run_cli("release", "can-deploy", "1.3.0", "--json", "--url", shop)
    assert current.exit_code == 0
    assert json.loads(current.stdout) == {
        "schema_version": 1,
        "release": "1.3.0",
        "can_deploy": True,
        "missing": [],
    }
    from_file = run_cli(
        "release", "can-deploy", "1.0", "--manifest", str(example / "manifest-1.0.json"), "--url", shop
    )
    assert from_file.exit_code == 1
    assert "  - column users.email is gone" in from_file.stdout


def test_can_deploy_a_release_without_a_manifest_is_an_error(shop: str) -> None:
    result = run_cli("release", "can-deploy", "9.9", "--url", shop)

    assert "the registry has no manifest for release 9.9" in single_error_line(result)


# --- registry init -----------------------------------------------------------------------------------


def registry_tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        if engine.dialect.name == "postgresql":
            return set(inspector.get_table_names(schema="expandcontract"))
        return {t for t in inspector.get_table_names() if t.startswith("expandcontract_")}
    finally:
        engine.dispose()


def test_registry_init_twice_is_idempotent_on_postgresql(example: Path, pg_url: str) -> None:
    first = run_cli("registry", "init", "--url", pg_url)
    with registry_at(pg_url) as registry:
        registry.retire("shop", "0.9", "decommissioned", "ops")
    second = run_cli("registry", "init", "--url", pg_url)

    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout == f"registry ready: schema expandcontract in {pg_url}\n"
    assert registry_tables(pg_url) == {
        "releases",
        "processes",
        "attestations",
        "audit_log",
        "run_lock",
        "backfills",
    }
    assert Database(pg_url).rows("SELECT release, reason FROM expandcontract.attestations") == [
        ("0.9", "decommissioned")
    ]


def test_registry_init_twice_is_idempotent_on_sqlite(example: Path) -> None:
    url = sqlite_url(example)
    outputs = [run_cli("registry", "init") for _ in range(2)]

    assert [r.exit_code for r in outputs] == [0, 0]
    assert {r.stdout for r in outputs} == {f"registry ready: tables prefixed 'expandcontract_' in {url}\n"}
    assert registry_tables(url) == {
        f"expandcontract_{t}"
        for t in ("releases", "processes", "attestations", "audit_log", "run_lock", "backfills")
    }


def test_registry_init_from_many_threads_at_once(tmp_path: Path, pg_url: str) -> None:
    settings = load_settings(cwd=tmp_path, url=pg_url, environ={})
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def init() -> None:
        start.wait()
        try:
            api.registry_init(settings)
        except BaseException as exc:  # reported below, with every other thread's
            failures.append(exc)

    threads = [threading.Thread(target=init) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(registry_tables(pg_url)) == 6


def test_registry_init_from_many_processes_at_once(tmp_path: Path, pg_url: str) -> None:
    runs = [
        subprocess.Popen(
            [str(CONSOLE_SCRIPT), "registry", "init", "--url", pg_url],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [(run.communicate(timeout=60), run.returncode) for run in runs]

    assert [(code, err) for (_, err), code in results] == [(0, "")] * 6
    assert len(registry_tables(pg_url)) == 6
