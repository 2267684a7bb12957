"""The contract gate on PostgreSQL, through both doors: plain `alembic upgrade` (the example's env.py
calls `before_migrations`) and `expandcontract upgrade --phase contract`.

The evidence is real: processes registered in the gate's registry in the migrated database. While
release 1.2.0 (whose models still map users.email) is live, c1_3_drop_email, which drops users.email
and requires 1.3.0, is blocked; once the rollout has replaced it with 1.3.0, both doors apply it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from gate_support import live_release, shop_1_3_is_live
from pg_flow_support import Database, enter_example, run_cli

from expandcontract.alembic_ext import envhook
from expandcontract.gate.decision import Verdict
from expandcontract.gate.hook import review_contract
from expandcontract.gate.registry import Registry
from expandcontract.history import History
from expandcontract.model import RevisionInfo
from expandcontract.settings import Settings

BLOCKED = "c1_3_drop_email"
EXPANDED = "e1_3_backfill_email"
REFUSED = f"contract gate refused 1 revision(s): {BLOCKED} ("
MAY_RUN_LATER = "; they may run once no live release uses what they remove"


def release_1_2_models() -> sa.MetaData:
    """What release 1.2.0 maps: users.email_address beside users.email, which it still reads."""
    models = sa.MetaData()
    sa.Table(
        "users",
        models,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("email_address", sa.String(255), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    return models


def release_1_2_is_live(url: str) -> str:
    """One process of release 1.2.0 runs against `url`; its process id."""
    return live_release(url, "1.2.0", release_1_2_models(), host="web-0", pid=1200)


def roll_out_1_3(url: str, process_1_2: str) -> None:
    """The deploy: a 1.3.0 process starts, the 1.2.0 one shuts down gracefully (and, with the
    project's drain-seconds = 0, stops counting at once)."""
    shop_1_3_is_live(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        Registry(engine).stop(process_1_2)
    finally:
        engine.dispose()


def assert_1_2_blocks(reasons: str) -> None:
    """The gate names release 1.2.0 twice: too old for requires_release, and mapping users.email."""
    assert "live release shop@1.2.0 (process web-0:1200 (heartbeat " in reasons
    assert "is older than 1.3.0, which the revision requires" in reasons
    assert "maps users.email; the revision drops users.email (" in reasons


class RecordingReview:
    """Wraps the real review_contract: records which revisions each call put to the gate."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.urls: list[str | None] = []

    def __call__(
        self,
        settings: Settings,
        history: History,
        pending: Sequence[RevisionInfo],
        applied: set[str] | None = None,
    ) -> list[Verdict]:
        self.calls.append([r.revision for r in pending])
        self.urls.append(settings.database_url)
        return review_contract(settings, history, pending, applied)


@pytest.fixture
def example(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example copy (its env.py imports shop/), where a stopped process stops counting at once
    (no in-flight requests to drain in these tests)."""
    enter_example(monkeypatch, example_project)
    pyproject = example_project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8") + "\n[tool.expandcontract.gate]\ndrain-seconds = 0\n",
        encoding="utf-8",
    )
    return example_project


@pytest.fixture
def alembic_cfg(example: Path, pg_url: str) -> Config:
    """Plain Alembic's Config for the example copy, pointed at PostgreSQL."""
    cfg = Config(str(example / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", pg_url)
    return cfg


# --- plain `alembic upgrade` ----------------------------------------------------------------------


def test_plain_alembic_upgrade_is_refused_while_1_2_is_live_and_runs_after_the_rollout(
    alembic_cfg: Config, pg_url: str
) -> None:
    db = Database(pg_url)
    command.upgrade(alembic_cfg, "expand@head")
    assert db.version_heads() == {EXPANDED}
    process_1_2 = release_1_2_is_live(pg_url)

    with pytest.raises(CommandError) as raised:
        command.upgrade(alembic_cfg, "heads")

    message = str(raised.value)
    assert message.startswith(REFUSED) and message.endswith(MAY_RUN_LATER)
    assert_1_2_blocks(message)
    # the run stopped before any revision: not even the harmless contract root is applied
    assert db.version_heads() == {EXPANDED}
    assert "email" in db.columns("users")

    roll_out_1_3(pg_url, process_1_2)
    command.upgrade(alembic_cfg, "heads")

    assert db.version_heads() == {BLOCKED}
    assert set(db.columns("users")) == {"id", "name", "email_address"}


def test_plain_alembic_from_an_empty_database_applies_nothing_when_blocked(
    alembic_cfg: Config, pg_url: str
) -> None:
    release_1_2_is_live(pg_url)

    with pytest.raises(CommandError, match=re.escape(REFUSED)) as raised:
        command.upgrade(alembic_cfg, "heads")

    assert "is older than 1.3.0, which the revision requires" in str(raised.value)
    assert Database(pg_url).tables() == set()  # the registry lives in its own schema


def test_plain_alembic_builds_a_new_database_no_release_has_run_against(
    alembic_cfg: Config, pg_url: str
) -> None:
    # nothing applied and no process ever registered: no release can use what contract removes
    command.upgrade(alembic_cfg, "heads")

    db = Database(pg_url)
    assert db.version_heads() == {BLOCKED}
    assert "email" not in db.columns("users")


def test_plain_alembic_tells_the_gate_which_database_it_migrates(
    alembic_cfg: Config, example: Path, pg_url: str
) -> None:
    # the project's own database-url (sqlite:///shop.db) shows 1.2.0 live; the migrated one only 1.3.0
    release_1_2_is_live(f"sqlite:///{example / 'shop.db'}")
    shop_1_3_is_live(pg_url)

    command.upgrade(alembic_cfg, "heads")

    db = Database(pg_url)
    assert db.version_heads() == {BLOCKED}
    assert "email" not in db.columns("users")


# --- `expandcontract upgrade --phase contract` ------------------------------------------------------


def test_cli_contract_phase_stops_before_the_blocked_revision_until_the_rollout(
    example: Path, pg_url: str
) -> None:
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    process_1_2 = release_1_2_is_live(pg_url)

    result = run_cli("upgrade", "--phase", "contract", "--url", pg_url)

    assert result.exit_code == 1, result.output
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["applied", "contract_root"]
    gate_lines = [line for line in result.stderr.splitlines() if line.startswith("gate:")]
    assert gate_lines[0] == "gate: contract_root allowed (no live release uses what it removes)"
    assert gate_lines[1].startswith(f"gate: {BLOCKED} BLOCKED (")
    assert_1_2_blocks(gate_lines[1])
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"expandcontract: blocked: stopped before {BLOCKED}: {REFUSED}")
    assert last.endswith(MAY_RUN_LATER)
    db = Database(pg_url)
    assert db.version_heads() == {EXPANDED, "contract_root"}
    assert "email" in db.columns("users")

    roll_out_1_3(pg_url, process_1_2)
    result = run_cli("upgrade", "--phase", "contract", "--url", pg_url)

    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["applied", BLOCKED]
    assert [line for line in result.stderr.splitlines() if line.startswith("gate:")] == [
        f"gate: {BLOCKED} allowed (no live release uses what it removes)"
    ]
    assert db.version_heads() == {BLOCKED}
    assert "email" not in db.columns("users")


def test_the_hook_does_not_review_again_what_the_cli_reviewed(
    alembic_cfg: Config, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    review = RecordingReview()
    monkeypatch.setattr(envhook, "review_contract", review)
    command.upgrade(alembic_cfg, "expand@head")
    process_1_2 = release_1_2_is_live(pg_url)
    with pytest.raises(CommandError, match=re.escape(REFUSED)):
        command.upgrade(alembic_cfg, "heads")
    assert review.calls == [["contract_root", BLOCKED]]  # plain alembic asks through the hook
    assert review.urls == [pg_url]
    roll_out_1_3(pg_url, process_1_2)

    result = run_cli("upgrade", "--phase", "contract", "--url", pg_url)

    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("gate:")] == [
        "gate: contract_root allowed (no live release uses what it removes)",
        f"gate: {BLOCKED} allowed (no live release uses what it removes)",
    ]
    assert review.calls == [["contract_root", BLOCKED]]  # env.py's hook did not ask a second time
    assert Database(pg_url).version_heads() == {BLOCKED}
