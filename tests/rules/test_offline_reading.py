"""Revisions that ask the database about itself, or use the application's own column types, are still
read offline: reflection sees an empty database (like queries see no rows), and a type that is not
installed is known by its name."""

from __future__ import annotations

from pathlib import Path

import pytest
from lintkit import baseline, expand, write_history

from expandcontract import api
from expandcontract.alembic_ext import capture
from expandcontract.model import CapturedRevision, ChangeKind, ReadMode


def _captured(tmp_path: Path, body: str, module: str = "") -> CapturedRevision:
    history = write_history(tmp_path, baseline(), expand(body, module=module))
    _, captured = api.capture(history.settings)
    return next(c for c in captured if c.info.revision == history.ids[-1])


def test_a_reflection_guard_is_read_offline_and_the_guarded_operation_from_source(tmp_path: Path) -> None:
    body = """insp = sa.inspect(op.get_bind())
if "email" in [c["name"] for c in insp.get_columns("users")]:
    op.drop_column("users", "email")
op.add_column("users", sa.Column("nickname", sa.Text()))"""
    captured = _captured(tmp_path, body)

    assert captured.read_mode is ReadMode.OFFLINE
    assert [loc.line for loc in captured.database_reads] == [13]  # the question asked of the database
    drop = next(c for c in captured.changes if c.kind is ChangeKind.DROP_COLUMN)
    assert drop.location.line == 14 and "not reached offline" in drop.detail
    assert any(c.kind is ChangeKind.ADD_COLUMN and c.column == "nickname" for c in captured.changes)


def test_autoload_with_the_offline_bind_reflects_an_empty_table(tmp_path: Path) -> None:
    body = """users = sa.Table("users", sa.MetaData(), autoload_with=op.get_bind())
op.bulk_insert(users, [])"""
    captured = _captured(tmp_path, body)

    assert captured.read_mode is ReadMode.OFFLINE
    assert [c.kind for c in captured.changes if c.kind is not ChangeKind.QUERY] == [ChangeKind.INSERT]


def test_a_branch_on_the_engine_name_is_read_offline(tmp_path: Path) -> None:
    body = """if op.get_bind().engine.name == "postgresql":
    op.add_column("users", sa.Column("tags", sa.Text()))"""
    captured = _captured(tmp_path, body)

    assert captured.read_mode is ReadMode.OFFLINE
    assert [(c.kind, c.column) for c in captured.changes] == [(ChangeKind.ADD_COLUMN, "tags")]


def test_a_column_type_from_an_uninstalled_application_is_known_by_its_name(tmp_path: Path) -> None:
    body = 'op.add_column("users", sa.Column("public_id", StringID(), nullable=True))'
    captured = _captured(tmp_path, body, module="from shopapp.types import StringID\n")

    assert captured.read_mode is ReadMode.OFFLINE
    (added,) = captured.changes
    assert (added.kind, added.column, added.type) == (ChangeKind.ADD_COLUMN, "public_id", "StringID")
    assert "ADD COLUMN public_id StringID" in added.sql


def test_a_long_history_read_on_every_core_gives_the_same_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    columns = [f"c{n}" for n in range(45)]
    create = (
        "op.create_table('wide', sa.Column('id', sa.Integer, primary_key=True), "
        + ", ".join(f"sa.Column('{c}', sa.Text)" for c in columns)
        + ")"
    )
    revisions = [
        expand(f"op.drop_column('wide', '{c}')\nop.create_index('ix_{c}', 'users', ['name'])")
        for c in columns
    ]
    history = write_history(tmp_path, baseline(create), *revisions)
    request = api.LintRequest(cache=False)

    _, _, read = api._read(history.settings, operations=False)
    parallel = api.lint(history.settings, request)
    monkeypatch.setattr(capture, "PARALLEL_FROM", 10**9)
    sequential = api.lint(history.settings, request)

    # revisions read in another process come back without Alembic's operation objects
    assert any(c.changes and not c.operations for c in read)
    assert len(parallel.findings) == len(sequential.findings) > 3 * len(columns)
    assert parallel.findings == sequential.findings


def test_an_enum_dropped_through_the_bind_is_read_as_drop_type(tmp_path: Path) -> None:
    body = 'postgresql.ENUM(name="mood").drop(op.get_bind())'
    captured = _captured(tmp_path, body, module="from sqlalchemy.dialects import postgresql\n")

    assert captured.read_mode is ReadMode.OFFLINE
    (dropped,) = [c for c in captured.changes if c.kind is ChangeKind.DROP_OBJECT]
    assert (dropped.object_type, dropped.name) == ("type", "mood")
