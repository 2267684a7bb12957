"""Revisions read in one process share one offline Alembic environment: what one revision does to
it (fails half-way, leaves an autocommit block) must not leak into the next one's reading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rules.lintkit import baseline, expand, write_history

from expandcontract import api
from expandcontract.model import ChangeKind

BREAKS_INSIDE_AUTOCOMMIT = """
with op.get_context().autocommit_block():
    op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
    raise RuntimeError("needs a live database")
"""

PLAIN = """op.add_column("users", sa.Column("nickname", sa.Text(), nullable=True))
op.drop_constraint("users_email_key", "users")"""


def test_a_revision_failing_inside_autocommit_block_does_not_change_the_next_ones_transactions(
    tmp_path: Path,
) -> None:
    history = write_history(tmp_path, baseline(), expand(BREAKS_INSIDE_AUTOCOMMIT), expand(PLAIN))
    _, captured = api.capture(history.settings)
    by_id = {c.info.revision: c for c in captured}
    broken, plain = (by_id[rev_id] for rev_id in history.ids)

    assert broken.read_mode.value == "ast"
    assert "needs a live database" in (broken.unreadable_reason or "")
    assert [c.kind for c in plain.changes] == [ChangeKind.ADD_COLUMN, ChangeKind.DROP_CONSTRAINT]
    assert all(c.in_transaction for c in plain.changes)
    assert {c.transaction for c in plain.changes} == {0}
    assert all(c.location.path == str(history.paths[plain.info.revision].resolve()) for c in plain.changes)


def test_sql_of_one_revision_never_appears_in_the_next(tmp_path: Path) -> None:
    first = expand('op.execute("UPDATE users SET name = \'x\' WHERE id < 10")')
    history = write_history(tmp_path, baseline(), first, expand(PLAIN))
    _, captured = api.capture(history.settings)
    plain = next(c for c in captured if c.info.revision == history.ids[1])
    assert all("UPDATE" not in c.sql for c in plain.changes)


USES_ORM_WITHOUT_IMPORTING_IT = '''
import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None

Base = sa.orm.declarative_base()  # the application imported sqlalchemy.orm; the revision never does


def upgrade():
    op.add_column("users", sa.Column("nickname", sa.Text(), nullable=True))
'''


def test_a_revision_using_sa_orm_without_importing_it_is_read_offline(tmp_path: Path) -> None:
    # in a fresh process: the test runner has long imported sqlalchemy.orm
    versions = tmp_path / "scripts" / "versions"
    versions.mkdir(parents=True)
    (versions / "r1.py").write_text(USES_ORM_WITHOUT_IMPORTING_IT, encoding="utf-8")
    script = Path(sys.executable).with_name("expandcontract")
    result = subprocess.run(
        [str(script), "classify", "--json", "--script-location", str(tmp_path / "scripts")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (revision,) = json.loads(result.stdout)["revisions"]
    assert revision["read_mode"] == "offline"
    assert [c["kind"] for c in revision["changes"]] == ["add-column"]


def test_a_revision_with_bytes_that_are_not_utf8_is_read_without_an_internal_error(tmp_path: Path) -> None:
    versions = tmp_path / "scripts" / "versions"
    versions.mkdir(parents=True)
    source = USES_ORM_WITHOUT_IMPORTING_IT.replace("Base = sa.orm.declarative_base()", "Base = None").encode()
    (versions / "r1.py").write_bytes(source + b"\nQ#B\xac8\xacG\xad\x7f$\n")
    script = Path(sys.executable).with_name("expandcontract")
    result = subprocess.run(
        [str(script), "classify", "--json", "--script-location", str(tmp_path / "scripts")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (revision,) = json.loads(result.stdout)["revisions"]
    # Python imports it up to the stray name; the rest is read from the source, bytes and all
    assert revision["read_mode"] == "ast"
    assert "NameError" in revision["unreadable_reason"]
    assert [c["kind"] for c in revision["changes"]] == ["add-column"]
