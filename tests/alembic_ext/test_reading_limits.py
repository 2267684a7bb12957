"""Revisions that would never finish offline, and names that come from code that is not installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from expandcontract.alembic_ext import capture
from expandcontract.cli.main import cli

LOOPS_ON_A_STAND_IN = '''
from alembic import op
from myapp.queues import redis_connection

revision = "r1"
down_revision = None


def upgrade():
    removed = 1000
    while removed > 0:
        count = redis_connection.zcard("done")
        removed = min(100, count - 0)
    op.drop_column("users", "legacy")
'''

TABLE_FROM_THE_APP = '''
import sqlalchemy as sa
from alembic import op
from myapp.models import Metric

revision = "r1"
down_revision = None


def upgrade():
    op.add_column(Metric.__tablename__, sa.Column("step", sa.Integer, nullable=True))
'''


def classify_json(scripts: Path) -> list[dict[str, object]]:
    result = CliRunner().invoke(cli, ["classify", "--json", "--script-location", str(scripts)])
    assert result.exit_code == 0, result.output
    revisions: list[dict[str, object]] = json.loads(result.stdout)["revisions"]
    return revisions


def write_revision(tmp_path: Path, source: str) -> Path:
    versions = tmp_path / "scripts" / "versions"
    versions.mkdir(parents=True)
    (versions / "r1.py").write_text(source, encoding="utf-8")
    return tmp_path / "scripts"


def test_a_revision_looping_on_a_stand_in_is_stopped_and_read_from_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "REVISION_SECONDS", 0.5)

    (revision,) = classify_json(write_revision(tmp_path, LOOPS_ON_A_STAND_IN))

    assert revision["read_mode"] == "ast"
    reason = str(revision["unreadable_reason"])
    assert reason.startswith("did not finish within 0.5 s offline; it may be looping on ")
    assert "myapp.queues.redis_connection" in reason
    changes = revision["changes"]
    assert isinstance(changes, list)
    # the call into the uninstalled module only computes a value (`count = ...`): not a change
    assert [(c["kind"], c["target"]) for c in changes] == [("drop-column", "users.legacy")]


def test_a_call_into_an_uninstalled_module_made_for_its_effect_is_opaque(tmp_path: Path) -> None:
    source = LOOPS_ON_A_STAND_IN.replace("        count = redis_connection.zcard(\"done\")\n", "").replace(
        "        removed = min(100, count - 0)", "        removed = 0\n    redis_connection.migrate(op)"
    )
    (revision,) = classify_json(write_revision(tmp_path, source))

    changes = revision["changes"]
    assert isinstance(changes, list)
    assert ("opaque", "") in [(c["kind"], c["target"]) for c in changes]


def test_a_table_named_by_the_application_is_shown_as_what_it_stands_for(tmp_path: Path) -> None:
    (revision,) = classify_json(write_revision(tmp_path, TABLE_FROM_THE_APP))

    assert revision["read_mode"] == "offline"
    changes = revision["changes"]
    assert isinstance(changes, list)
    assert [(c["kind"], c["table"], c["column"]) for c in changes] == [
        ("add-column", "<myapp.models.Metric.__tablename__>", "step")
    ]
