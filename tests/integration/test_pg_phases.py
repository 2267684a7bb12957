"""A new project on PostgreSQL, end to end: init, an expand and a contract revision, each phase applied.

The expand revision creates `accounts`, adds a nullable column and builds an index CONCURRENTLY in an
autocommit block; the contract revision completes it by dropping `accounts.legacy_code`, once the
release that no longer maps that column is the only one registered with the contract gate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from gate_support import live_release
from pg_flow_support import (
    Database,
    applied,
    fill_upgrade,
    keep_imports_local,
    pending,
    revision_id,
    run_cli,
    status_json,
    wrote,
)

from expandcontract.gate.registry import Registry

EXPAND_BODY = """\
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("legacy_code", sa.String(20), nullable=True),
    )
    op.add_column("accounts", sa.Column("nickname", sa.String(50), nullable=True))
    with op.get_context().autocommit_block():
        op.create_index("ix_accounts_nickname", "accounts", ["nickname"], postgresql_concurrently=True)"""

CONTRACT_BODY = """\
    op.drop_column("accounts", "legacy_code")"""


def release_without_legacy_code_is_live(url: str) -> None:
    """Release 1.1.0 of the accounts app, whose models map accounts(id, nickname), runs alone."""
    models = sa.MetaData()
    sa.Table(
        "accounts",
        models,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("nickname", sa.String(50), nullable=True),
    )
    live_release(url, "1.1.0", models, app="accounts")


@dataclass(frozen=True)
class NewProject:
    folder: Path
    root: str
    expand_root: str
    contract_root: str
    add_accounts: str  # the expand revision
    drop_legacy_code: str  # the contract revision completing it


def _layout_ids(output: str) -> tuple[str, str, str]:
    found = re.search(
        r"^common root (\w+); expand branch root (\w+); contract branch root (\w+)$", output, re.MULTILINE
    )
    assert found, output
    return found.group(1), found.group(2), found.group(3)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> NewProject:
    """`init --url pg_url` in tmp_path, then one expand revision and one contract revision completing it."""
    keep_imports_local(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EXPANDCONTRACT_DATABASE_URL", raising=False)
    init = run_cli("init", "--url", pg_url)
    assert init.exit_code == 0, init.output
    root, expand_root, contract_root = _layout_ids(init.stdout)

    expand = run_cli("revision", "-m", "add accounts", "--phase", "expand")
    assert expand.exit_code == 0, expand.output
    expand_path = wrote(expand, tmp_path)
    assert expand_path.parent == tmp_path / "migrations" / "versions" / "expand"
    fill_upgrade(expand_path, EXPAND_BODY)
    add_accounts = revision_id(expand_path)

    contract = run_cli(
        "revision", "-m", "drop legacy code", "--phase", "contract", "--completes", add_accounts
    )
    assert contract.exit_code == 0, contract.output
    contract_path = wrote(contract, tmp_path)
    assert contract_path.parent == tmp_path / "migrations" / "versions" / "contract"
    fill_upgrade(contract_path, CONTRACT_BODY)
    text = contract_path.read_text(encoding="utf-8")
    assert f"depends_on = '{add_accounts}'" in text.splitlines(), text

    return NewProject(
        folder=tmp_path,
        root=root,
        expand_root=expand_root,
        contract_root=contract_root,
        add_accounts=add_accounts,
        drop_legacy_code=revision_id(contract_path),
    )


def test_init_layout_passes_check(project: NewProject) -> None:
    result = run_cli("check")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "layout ok"


def test_status_of_a_new_database_lists_everything_pending(project: NewProject, pg_url: str) -> None:
    code, doc = status_json()

    assert code == 3
    assert doc["current_heads"] == []
    assert pending(doc, "baseline") == [project.root]
    assert pending(doc, "expand") == [project.expand_root, project.add_accounts]
    assert pending(doc, "contract") == [project.contract_root, project.drop_legacy_code]
    assert doc["database"] == sa.make_url(pg_url).render_as_string(hide_password=True)


def test_expand_then_contract(project: NewProject, pg_url: str) -> None:
    db = Database(pg_url)

    expand = run_cli("upgrade", "--phase", "expand")

    assert expand.exit_code == 0, expand.output
    assert expand.stdout.splitlines()[0] == "applied 3 revision(s) up to expand@head:"
    assert [line.split()[0] for line in expand.stdout.splitlines()[1:]] == [
        project.root,
        project.expand_root,
        project.add_accounts,
    ]
    assert "gate:" not in expand.stderr  # no contract revision ran, so none was put to the gate
    assert db.columns("accounts") == {"id": False, "legacy_code": True, "nickname": True}
    assert db.indexes("accounts") == {"ix_accounts_nickname": ["nickname"]}
    assert db.version_heads() == {project.add_accounts}

    code, doc = status_json()
    assert code == 4
    assert doc["current_heads"] == [project.add_accounts]
    assert doc["expand_pending"] is False and doc["contract_pending"] is True
    assert applied(doc, "baseline") == [project.root]
    assert applied(doc, "expand") == [project.expand_root, project.add_accounts]
    assert pending(doc, "expand") == []
    assert pending(doc, "contract") == [project.contract_root, project.drop_legacy_code]
    text = run_cli("status")
    assert text.exit_code == 4
    assert text.stdout.splitlines()[-1] == (
        "contract pending: run `expandcontract upgrade --phase contract` after the rollout (exit 4)"
    )

    release_without_legacy_code_is_live(pg_url)
    contract = run_cli("upgrade", "--phase", "contract")

    assert contract.exit_code == 0, contract.output
    assert [line.split()[:2] for line in contract.stdout.splitlines()[1:]] == [
        [project.contract_root, "contract"],
        [project.drop_legacy_code, "contract"],
    ]
    assert [line for line in contract.stderr.splitlines() if line.startswith("gate:")] == [
        f"gate: {project.contract_root} allowed (no live release uses what it removes)",
        f"gate: {project.drop_legacy_code} allowed (no live release uses what it removes)",
    ]
    assert db.columns("accounts") == {"id": False, "nickname": True}
    assert db.indexes("accounts") == {"ix_accounts_nickname": ["nickname"]}
    # Alembic stores one head: the contract revision depends on the expand head, so it covers it
    assert db.version_heads() == {project.drop_legacy_code}

    code, doc = status_json()
    assert code == 0
    assert doc["current_heads"] == [project.drop_legacy_code]
    assert all(not b["pending"] for b in doc["branches"].values())
    again = run_cli("upgrade", "--phase", "all")
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "nothing to apply: already at heads"


def _statements(sql: str) -> list[str]:
    return [chunk.strip() for chunk in sql.split("\n\n") if chunk.strip()]


def test_sql_prints_the_whole_run_offline_and_leaves_the_database_alone(
    project: NewProject, pg_url: str
) -> None:
    # the gate reads its evidence from the configured database even offline
    release_without_legacy_code_is_live(pg_url)

    result = run_cli("upgrade", "--phase", "all", "--sql")

    assert result.exit_code == 0, result.output
    statements = _statements(result.stdout)
    assert statements[0] == "BEGIN;" and statements[-1] == "COMMIT;"
    (index,) = [i for i, s in enumerate(statements) if "CONCURRENTLY" in s]
    assert statements[index] == "CREATE INDEX CONCURRENTLY ix_accounts_nickname ON accounts (nickname);"
    # the autocommit block ends the migration's transaction before the index and opens a new one after
    assert statements[index - 1] == "COMMIT;"
    assert statements[index + 1] == "BEGIN;"
    assert statements[index - 2] == "ALTER TABLE accounts ADD COLUMN nickname VARCHAR(50);"
    (drop,) = [i for i, s in enumerate(statements) if "DROP COLUMN" in s]
    assert statements[drop] == "ALTER TABLE accounts DROP COLUMN legacy_code;"
    assert drop > index  # depends_on (--completes) puts the contract revision after the expand one
    assert [line for line in result.stderr.splitlines() if line.startswith("gate:")] == [
        f"gate: {project.contract_root} allowed (no live release uses what it removes)",
        f"gate: {project.drop_legacy_code} allowed (no live release uses what it removes)",
    ]

    assert Database(pg_url).tables() == set()
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    assert Registry(engine).audit_entries() == []  # an offline run records no gate decision either
    engine.dispose()


def test_sql_with_contract_revisions_needs_a_database_url_for_the_gate(
    project: NewProject, pg_url: str
) -> None:
    ini = project.folder / "alembic.ini"  # init wrote the URL there: take it out
    ini.write_text(ini.read_text(encoding="utf-8").replace(pg_url, ""), encoding="utf-8")

    result = run_cli("upgrade", "--phase", "all", "--sql")

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "expandcontract: blocked: the contract gate reads its evidence from the database: "
        "give --url (or EXPANDCONTRACT_DATABASE_URL) even with --sql"
    ]


def test_init_with_a_percent_encoded_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    # the server trusts local connections, so the password is sent (if at all) and ignored
    url = sa.make_url(pg_url).set(password="p@ss").render_as_string(hide_password=False)
    assert ":p%40ss@" in url
    keep_imports_local(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EXPANDCONTRACT_DATABASE_URL", raising=False)
    assert run_cli("init", "--url", url).exit_code == 0

    result = run_cli("status")

    assert result.exit_code == 3, result.stderr
    assert Config(str(tmp_path / "alembic.ini")).get_main_option("sqlalchemy.url") == url
