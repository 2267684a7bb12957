"""`upgrade --phase expand` on PostgreSQL refuses a plan that would reach the contract branch.

An expand revision that merges the contract branch (down_revision naming a contract revision), or
depends on a contract revision, makes `expand@head` need the contract revisions: Alembic would
drop users.email before the deploy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pg_flow_support import Database, enter_example, run_cli, snapshot

REACHES_CONTRACT = '''"""an expand revision that reaches the contract branch

Revision ID: e1_4_gift
"""
import sqlalchemy as sa
from alembic import op

revision = "e1_4_gift"
down_revision = {down_revision!r}
branch_labels = None
depends_on = {depends_on!r}


def upgrade() -> None:
    op.add_column("orders", sa.Column("gift", sa.Boolean, nullable=True))
'''
NEW_REVISION = "migrations/versions/expand/e1_4_gift.py"

MERGES = {"down_revision": ("e1_3_backfill_email", "c1_3_drop_email"), "depends_on": None}
DEPENDS = {"down_revision": "e1_3_backfill_email", "depends_on": ("c1_3_drop_email",)}


def add_expand_revision(project: Path, **identifiers: object) -> None:
    (project / NEW_REVISION).write_text(REACHES_CONTRACT.format(**identifiers), encoding="utf-8")


@pytest.fixture
def example(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    enter_example(monkeypatch, example_project)
    return example_project


@pytest.mark.parametrize("identifiers", [MERGES, DEPENDS], ids=["merges", "depends_on"])
@pytest.mark.parametrize("sql", [False, True], ids=["online", "sql"])
def test_expand_phase_refuses_to_apply_contract_revisions(
    example: Path, pg_url: str, identifiers: dict[str, object], sql: bool
) -> None:
    add_expand_revision(example, **identifiers)
    before = snapshot(example)

    result = run_cli("upgrade", "--phase", "expand", "--url", pg_url, *(["--sql"] if sql else []))

    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # not a line of SQL either
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "expandcontract: error: `upgrade --phase expand` would apply contract revision(s) "
    )
    assert "c1_3_drop_email" in line
    # nothing was applied, not even the revisions before the merge
    db = Database(pg_url)
    assert db.version_heads() == set()
    assert db.tables() == set()
    assert snapshot(example) == before


def test_check_reports_the_merge(example: Path) -> None:
    add_expand_revision(example, **MERGES)

    result = run_cli("check")

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        f"{NEW_REVISION}: EC006 e1_4_gift merges the expand and contract branches; "
        "the branches must stay apart (use depends_on to order them)",
        "1 layout problem(s)",
    ]


def test_check_reports_the_dependency(example: Path) -> None:
    add_expand_revision(example, **DEPENDS)

    result = run_cli("check")

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        f"{NEW_REVISION}: EC006 expand revision e1_4_gift depends on contract revision c1_3_drop_email: "
        "expand would wait for the rollout",
        "1 layout problem(s)",
    ]


def test_an_expand_revision_on_the_expand_branch_alone_runs(example: Path, pg_url: str) -> None:
    add_expand_revision(example, down_revision="e1_3_backfill_email", depends_on=None)

    result = run_cli("upgrade", "--phase", "expand", "--url", pg_url)

    assert result.exit_code == 0, result.output
    db = Database(pg_url)
    assert db.version_heads() == {"e1_4_gift"}
    assert {"email", "email_address"} <= set(db.columns("users"))
    assert "gift" in db.columns("orders")
