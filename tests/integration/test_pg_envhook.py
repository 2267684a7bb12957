"""The contract gate on PostgreSQL, through both doors: plain `alembic upgrade` (the example's env.py
calls `before_migrations`) and `expandcontract upgrade --phase contract`.

A stand-in gate records what it was asked about and blocks c1_3_drop_email, which drops users.email.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from pg_flow_support import Database, enter_example, run_cli

from expandcontract import api
from expandcontract.alembic_ext import envhook
from expandcontract.gate.hook import ContractVerdict, review_contract
from expandcontract.history import History
from expandcontract.model import RevisionInfo
from expandcontract.settings import Settings

BLOCKED = "c1_3_drop_email"
STILL_LIVE = "release 1.2.0 still reads users.email"


class RecordingGate:
    """A review_contract stand-in: records each call's pending revisions, blocks the ones it is given."""

    def __init__(self, *, block: frozenset[str] = frozenset()) -> None:
        self.block = block
        self.calls: list[list[str]] = []
        self.urls: list[str | None] = []

    def __call__(
        self, settings: Settings, history: History, pending: Sequence[RevisionInfo]
    ) -> list[ContractVerdict]:
        self.calls.append([r.revision for r in pending])
        self.urls.append(settings.database_url)
        return [
            ContractVerdict(r.revision, allowed=False, reasons=(STILL_LIVE,))
            if r.revision in self.block
            else ContractVerdict(r.revision, allowed=True, reasons=("nothing uses it",))
            for r in pending
        ]


@pytest.fixture
def alembic_cfg(example_project: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> Config:
    """Plain Alembic's Config for the example copy, pointed at PostgreSQL (its env.py imports shop/)."""
    enter_example(monkeypatch, example_project)
    cfg = Config(str(example_project / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", pg_url)
    return cfg


# --- plain `alembic upgrade` ----------------------------------------------------------------------


def test_plain_alembic_upgrade_asks_the_gate_and_stops(
    alembic_cfg: Config, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    gate = RecordingGate(block=frozenset({BLOCKED}))
    monkeypatch.setattr(envhook, "review_contract", gate)
    db = Database(pg_url)
    command.upgrade(alembic_cfg, "expand@head")
    assert gate.calls == []  # no contract revision in that run: the gate is not asked
    assert db.version_heads() == {"e1_3_backfill_email"}

    with pytest.raises(CommandError) as raised:
        command.upgrade(alembic_cfg, "heads")

    assert str(raised.value) == (
        f"contract gate refused 1 revision(s): {BLOCKED} ({STILL_LIVE}); "
        "they may run once no live release uses what they remove"
    )
    assert gate.calls == [["contract_root", BLOCKED]]
    # the run stopped before any revision: not even the harmless contract root is applied
    assert db.version_heads() == {"e1_3_backfill_email"}
    assert "email" in db.columns("users")


def test_plain_alembic_from_an_empty_database_applies_nothing_when_blocked(
    alembic_cfg: Config, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    gate = RecordingGate(block=frozenset({BLOCKED}))
    monkeypatch.setattr(envhook, "review_contract", gate)

    with pytest.raises(CommandError, match=f"refused 1 revision\\(s\\): {BLOCKED} "):
        command.upgrade(alembic_cfg, "heads")

    assert gate.calls == [["contract_root", BLOCKED]]
    assert Database(pg_url).tables() == set()


def test_plain_alembic_upgrade_runs_what_the_gate_allows(
    alembic_cfg: Config, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    gate = RecordingGate()
    monkeypatch.setattr(envhook, "review_contract", gate)

    command.upgrade(alembic_cfg, "heads")

    assert gate.calls == [["contract_root", BLOCKED]]
    db = Database(pg_url)
    assert db.version_heads() == {BLOCKED}
    assert set(db.columns("users")) == {"id", "name", "email_address"}


def test_plain_alembic_tells_the_gate_which_database_it_migrates(
    alembic_cfg: Config, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    gate = RecordingGate()
    monkeypatch.setattr(envhook, "review_contract", gate)

    command.upgrade(alembic_cfg, "heads")

    assert gate.calls == [["contract_root", BLOCKED]]
    assert gate.urls == [pg_url]


# --- `expandcontract upgrade --phase contract` ------------------------------------------------------


def test_cli_contract_phase_blocked_by_the_gate(
    example_project: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    enter_example(monkeypatch, example_project)
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    gate = RecordingGate(block=frozenset({BLOCKED}))
    monkeypatch.setattr(api, "review_contract", gate)

    result = run_cli("upgrade", "--phase", "contract", "--url", pg_url)

    assert result.exit_code == 1
    assert result.stdout == ""
    *verdicts, line = result.stderr.splitlines()
    assert verdicts == [
        "gate: contract_root allowed (nothing uses it)",
        f"gate: {BLOCKED} BLOCKED ({STILL_LIVE})",
    ]
    assert line.startswith("expandcontract: blocked: ")
    assert line == (
        f"expandcontract: blocked: contract gate refused 1 revision(s): {BLOCKED} ({STILL_LIVE}); "
        "they may run once no live release uses what they remove"
    )
    assert gate.calls == [["contract_root", BLOCKED]]
    assert gate.urls == [pg_url]
    db = Database(pg_url)
    assert db.version_heads() == {"e1_3_backfill_email"}
    assert "email" in db.columns("users")


def test_cli_contract_phase_with_the_placeholder_gate(
    example_project: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    enter_example(monkeypatch, example_project)
    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    # env.py's hook must not put the revisions the CLI already reviewed to the gate a second time
    second_review = RecordingGate()
    monkeypatch.setattr(envhook, "review_contract", second_review)
    assert api.review_contract is review_contract

    result = run_cli("upgrade", "--phase", "contract", "--url", pg_url)

    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("gate:")] == [
        "gate: contract_root allowed (the contract gate is not enabled yet: allowed)",
        f"gate: {BLOCKED} allowed (the contract gate is not enabled yet: allowed)",
    ]
    assert second_review.calls == []
    db = Database(pg_url)
    assert db.version_heads() == {BLOCKED}
    assert "email" not in db.columns("users")
