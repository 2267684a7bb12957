"""The example shop (migrations_example/) rolled out phase by phase: PostgreSQL and its default SQLite.

Release 1.1.0 is live with two users when the 1.2/1.3 expand revisions add users.email_address and
backfill it; once release 1.3.0 alone runs (it registers with the gate's registry), the contract
revision drops users.email. Rows written before the rename survive it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from gate_support import shop_1_3_is_live
from pg_flow_support import Database, enter_example, pending, run_cli, status_json

URL_ENV = "EXPANDCONTRACT_DATABASE_URL"


@dataclass(frozen=True)
class Target:
    """How a test gives expandcontract the database: the URL and the extra CLI arguments."""

    url: str
    cli_args: tuple[str, ...]


@pytest.fixture(params=["url-flag", "environment", "sqlite-default"])
def target(request: pytest.FixtureRequest, example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Target:
    enter_example(monkeypatch, example_project)
    if request.param == "sqlite-default":
        # pyproject.toml's database-url = "sqlite:///shop.db", relative to the copy
        return Target(f"sqlite:///{example_project / 'shop.db'}", ())
    pg_url: str = request.getfixturevalue("pg_url")
    if request.param == "environment":
        monkeypatch.setenv(URL_ENV, pg_url)
        return Target(pg_url, ())
    return Target(pg_url, ("--url", pg_url))


def release_1_1_with_users(example_project: Path, url: str) -> Database:
    """Plain Alembic up to e1_1_order_note (release 1.1.0), then two users and an order written by it."""
    cfg = Config(str(example_project / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "e1_1_order_note")
    db = Database(url)
    assert db.version_heads() == {"e1_1_order_note"}
    assert set(db.columns("users")) == {"id", "email", "name"}
    db.execute(
        "INSERT INTO users (id, email, name)"
        " VALUES (1, 'ada@example.com', 'Ada'), (2, 'bob@example.com', 'Bob')"
    )
    db.execute("INSERT INTO orders (id, user_id, total, note) VALUES (10, 2, 12.50, 'gift wrap')")
    return db


def test_expand_then_contract(example_project: Path, target: Target) -> None:
    db = release_1_1_with_users(example_project, target.url)

    expand = run_cli("upgrade", "--phase", "expand", *target.cli_args)

    assert expand.exit_code == 0, expand.output
    assert expand.stdout.splitlines() == [
        "applied 2 revision(s) up to expand@head:",
        "  e1_2_email_address  expand    release 1.2.0: users.email_address, the new name of users.email "
        "(expand half of a rename)",
        "  e1_3_backfill_email  expand    release 1.3.0: copy email into email_address, and let writers "
        "leave email out",
    ]
    assert db.version_heads() == {"e1_3_backfill_email"}
    assert db.columns("users") == {"id": False, "email": True, "name": False, "email_address": True}
    assert db.indexes("users")["ix_users_email_address"] == ["email_address"]
    assert db.rows("SELECT id, email, email_address, name FROM users ORDER BY id") == [
        (1, "ada@example.com", "ada@example.com", "Ada"),
        (2, "bob@example.com", "bob@example.com", "Bob"),
    ]
    code, doc = status_json(*target.cli_args)
    assert code == 4
    assert pending(doc, "expand") == []
    assert pending(doc, "contract") == ["contract_root", "c1_3_drop_email"]

    shop_1_3_is_live(target.url)  # the rollout is done: only 1.3.0, which no longer maps users.email, runs
    contract = run_cli("upgrade", "--phase", "contract", *target.cli_args)

    assert contract.exit_code == 0, contract.output
    assert [line.split()[0] for line in contract.stdout.splitlines()[1:]] == [
        "contract_root",
        "c1_3_drop_email",
    ]
    assert [line for line in contract.stderr.splitlines() if line.startswith("gate:")] == [
        "gate: contract_root allowed (no live release uses what it removes)",
        "gate: c1_3_drop_email allowed (no live release uses what it removes)",
    ]
    assert db.columns("users") == {"id": False, "name": False, "email_address": True}
    assert db.indexes("users")["ix_users_email_address"] == ["email_address"]
    assert db.rows("SELECT id, email_address, name FROM users ORDER BY id") == [
        (1, "ada@example.com", "Ada"),
        (2, "bob@example.com", "Bob"),
    ]
    assert db.rows("SELECT id, user_id, note FROM orders") == [(10, 2, "gift wrap")]
    assert db.version_heads() == {"c1_3_drop_email"}
    code, doc = status_json(*target.cli_args)
    assert code == 0
    assert doc["current_heads"] == ["c1_3_drop_email"]
    # only the SQLite run may write the default database file beside pyproject.toml
    assert (example_project / "shop.db").exists() is target.url.startswith("sqlite")


@pytest.mark.parametrize("how", ["url-flag", "environment"])
def test_relative_sqlite_url_from_another_folder(
    example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    enter_example(monkeypatch, example_project)
    monkeypatch.chdir(elsewhere)
    url_args: tuple[str, ...] = ("--url", "sqlite:///rel.db")
    if how == "environment":
        monkeypatch.setenv(URL_ENV, "sqlite:///rel.db")
        url_args = ()
    config = ("--config", str(example_project / "pyproject.toml"))

    result = run_cli(*config, "upgrade", "--phase", "expand", *url_args)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "applied 5 revision(s) up to expand@head:"
    status = run_cli(*config, "status", *url_args)
    assert status.exit_code == 4, status.stdout
