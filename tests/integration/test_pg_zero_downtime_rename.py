"""The rename recipe under load, on PostgreSQL: the old release (writes and reads `users.name`) runs
while the expand revision and its backfill run, both releases run side by side after it, and the
new release alone (`users.full_name`) runs while the contract revision drops the old column. No
statement of either release fails at any point, and no write is lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from pg_flow_support import Database, enter_example
from zero_downtime_support import EXAMPLE_MODELS, Recipe, Turn, edit, run_recipe

FULL_NAME = edit(
    EXAMPLE_MODELS,
    (
        "    name: Mapped[str] = mapped_column(sa.String(100))",
        '    full_name: Mapped[str] = mapped_column(sa.String(100), info={"renamed_from": "name"})',
    ),
)


def old_release(turn: Turn) -> None:
    """Release 1.3.0: knows `users.name` only."""
    turn.insert("User", email_address=turn.value("email"), name=turn.value("name"))
    turn.update("User", name=turn.value("renamed"))


def new_release(turn: Turn) -> None:
    """The release after the rename: knows `users.full_name` only."""
    turn.insert("User", email_address=turn.value("email"), full_name=turn.value("name"))
    turn.update("User", full_name=turn.value("renamed"))


def in_step(db: Database) -> None:
    """Every row, seeded, backfilled or written by either release, has both columns alike."""
    assert db.rows("SELECT count(*) FROM users WHERE name IS DISTINCT FROM full_name") == [(0,)]


@pytest.fixture
def shop(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    enter_example(monkeypatch, example_project)
    return example_project


def test_the_rename_recipe_breaks_neither_release(shop: Path, pg_url: str) -> None:
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe(
            "full name",
            FULL_NAME,
            old_release,
            new_release,
            renamed={"users.name": "users.full_name"},  # every write of either release, under the new name
            before_contract=in_step,
        ),
    )

    assert "op.ec_sync_columns('users', 'name', 'full_name')" in outcome.expand
    assert "op.ec_drop_sync('users', 'name', 'full_name')" in outcome.contract
    assert outcome.db.columns("users") == {"id": False, "email_address": True, "full_name": False}
