"""The rename recipe under load, on PostgreSQL: the old release (writes and reads `users.name`) runs
while the expand revision and its backfill run, both releases run side by side after it, and the
new release alone (`users.full_name`) runs while the contract revision drops the old column. No
statement of either release fails at any point, and no write is lost."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from pg_flow_support import Database, enter_example, run_cli

ROWS = 3000


class Release(threading.Thread):
    """A release's code in a loop: insert, update and read users through its own column, on the ids
    it owns (odd for the old release, even for the new one), remembering what it last wrote."""

    def __init__(self, url: str, column: str, ids: Callable[[int], int], seed: int) -> None:
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, pool_size=1, max_overflow=0)
        self.column, self.ids, self.random = column, ids, random.Random(seed)
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.written: dict[int, str] = {}
        self.statements = 0

    def run(self) -> None:
        column = self.column
        step = 0
        while not self.stop.is_set():
            step += 1
            try:
                with self.engine.begin() as conn:
                    new_id = self.ids(ROWS + step)
                    value = f"{column}-{new_id}-{step}"
                    conn.execute(
                        sa.text(
                            f"INSERT INTO users (id, email_address, {column}) VALUES (:id, :email, :value)"
                        ),
                        {"id": new_id, "email": f"{new_id}@x", "value": value},
                    )
                    self.written[new_id] = value
                    old_id = self.ids(self.random.randrange(1, ROWS // 2))
                    value = f"{column}-{old_id}-{step}"
                    conn.execute(
                        sa.text(f"UPDATE users SET {column} = :value WHERE id = :id"),
                        {"id": old_id, "value": value},
                    )
                    self.written[old_id] = value
                    read = conn.execute(
                        sa.text(f"SELECT {column} FROM users WHERE id = :id"), {"id": old_id}
                    ).scalar()
                    if read != value:
                        self.errors.append(f"read {read!r} back for {old_id}, wrote {value!r}")
                self.statements += 3
            except sa.exc.SQLAlchemyError as exc:
                self.errors.append(str(getattr(exc, "orig", exc)).splitlines()[0])
            time.sleep(0.002)

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=30)
        self.engine.dispose()


def odd(n: int) -> int:
    return 2 * n + 1


def even(n: int) -> int:
    return 2 * n + 2


@pytest.fixture
def shop(example_project: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> Path:
    enter_example(monkeypatch, example_project)
    assert (
        run_cli(
            "upgrade", "--phase", "all", "--force", "--reason", "a new test database", "--url", pg_url
        ).exit_code
        == 0
    )
    db = Database(pg_url)
    db.execute(
        "INSERT INTO users (id, email_address, name) "
        f"SELECT i, i || '@x', 'seed-' || i FROM generate_series(1, {2 * ROWS}) AS i"
    )
    models = example_project / "shop" / "models.py"
    models.write_text(
        models.read_text(encoding="utf-8").replace(
            "    name: Mapped[str] = mapped_column(sa.String(100))",
            '    full_name: Mapped[str] = mapped_column(sa.String(100), info={"renamed_from": "name"})',
        ),
        encoding="utf-8",
    )
    return example_project


def test_the_rename_recipe_breaks_neither_release(shop: Path, pg_url: str) -> None:
    url = ("--url", pg_url)
    written = run_cli("revision", "--autogenerate", "-m", "full name", *url)
    assert written.exit_code == 0, written.output

    old = Release(pg_url, "name", odd, seed=1)
    old.start()
    time.sleep(0.3)
    expand = run_cli("upgrade", "--phase", "expand", *url)  # the new column, the trigger, the backfill
    assert expand.exit_code == 0, expand.output

    new = Release(pg_url, "full_name", even, seed=2)  # the deploy: both releases run
    new.start()
    time.sleep(1.0)
    old.finish()  # the rollout is over
    time.sleep(0.3)

    db = Database(pg_url)
    unsynced = db.rows("SELECT count(*) FROM users WHERE name IS DISTINCT FROM full_name")
    assert unsynced == [(0,)]  # every row, old, backfilled or written by either release, in step

    contract = run_cli("upgrade", "--phase", "contract", "--force", "--reason", "old release stopped", *url)
    assert contract.exit_code == 0, contract.output
    time.sleep(0.5)
    new.finish()

    assert old.errors == [] and new.errors == []
    assert old.statements > 30 and new.statements > 30  # both really ran
    final = dict(db.rows("SELECT id, full_name FROM users"))
    assert len(final) == 2 * ROWS + len([i for i in old.written if i > 2 * ROWS]) + len(
        [i for i in new.written if i > 2 * ROWS]
    )
    for release in (old, new):  # every write of either release survived, under the new name
        assert {i: final[i] for i in release.written} == release.written
    assert "name" not in db.columns("users")
