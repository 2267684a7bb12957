"""Shared by the tests/integration modules: run the CLI in a project folder, look into a database."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from expandcontract.cli.main import cli


def run_cli(*args: str) -> Result:
    """`expandcontract ARGS` in the current working directory (tests monkeypatch.chdir first)."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def keep_imports_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo, after the test, what running a project's env.py does to the import system.

    Alembic puts the relative `prepend_sys_path = .` on sys.path for good, and the import system
    caches one finder per entry, bound to the folder `.` meant when it was first used.
    """
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "path_importer_cache", dict(sys.path_importer_cache))


def enter_example(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    """Work in an example copy; its env.py imports `shop` afresh from that copy, as in its own process."""
    keep_imports_local(monkeypatch)
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))
    for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delenv("EXPANDCONTRACT_DATABASE_URL", raising=False)


def status_json(*args: str) -> tuple[int, dict[str, Any]]:
    """`expandcontract status --json ARGS`: (exit code, parsed document)."""
    result = run_cli("status", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def pending(doc: dict[str, Any], branch: str) -> list[str]:
    return [r["revision"] for r in doc["branches"][branch]["pending"]]


def applied(doc: dict[str, Any], branch: str) -> list[str]:
    return [r["revision"] for r in doc["branches"][branch]["applied"]]


def written_revisions(result: Result, folder: Path) -> list[Path]:
    """Every file a `revision` command reports as `wrote PATH` (relative to `folder`), in order."""
    return [
        folder / line.removeprefix("wrote ")
        for line in result.stdout.splitlines()
        if line.startswith("wrote ")
    ]


def upgrade_body(source: str) -> str:
    """The `upgrade()` of a revision's source ('' for no revision)."""
    return source.split("def upgrade() -> None:", 1)[-1].split("def downgrade() -> None:", 1)[0]


def wrote(result: Result, folder: Path) -> Path:
    """The file a `revision` command reports as `wrote PATH` (relative to `folder`)."""
    line = result.stdout.strip()
    assert line.startswith("wrote "), result.output
    return folder / line.removeprefix("wrote ")


def fill_upgrade(path: Path, body: str) -> None:
    """Replace the generated `pass` body of upgrade() with `body` (already indented four spaces)."""
    text = path.read_text(encoding="utf-8")
    stub = "def upgrade() -> None:\n    pass\n"
    assert text.count(stub) == 1, text
    path.write_text(text.replace(stub, f"def upgrade() -> None:\n{body}\n"), encoding="utf-8")


def revision_id(path: Path) -> str:
    """The `revision = "..."` a revision file declares."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("revision = "):
            return line.split("=", 1)[1].strip().strip("'\"")
    raise AssertionError(f"{path}: no revision id")


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file below `folder` (caches left out): relative path -> (sha256, mtime in ns)."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".db"
    }


class Database:
    """A read-only look at the database behind `url`, one short connection per question."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _inspect(self) -> tuple[sa.Engine, sa.Inspector]:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        return engine, sa.inspect(engine)

    def tables(self) -> set[str]:
        engine, inspector = self._inspect()
        try:
            return set(inspector.get_table_names())
        finally:
            engine.dispose()

    def columns(self, table: str) -> dict[str, bool]:
        """Column name -> nullable."""
        engine, inspector = self._inspect()
        try:
            return {c["name"]: bool(c["nullable"]) for c in inspector.get_columns(table)}
        finally:
            engine.dispose()

    def indexes(self, table: str) -> dict[str, list[str]]:
        """Index name -> its columns."""
        engine, inspector = self._inspect()
        try:
            return {str(i["name"]): [str(c) for c in i["column_names"]] for i in inspector.get_indexes(table)}
        finally:
            engine.dispose()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql))]
        finally:
            engine.dispose()

    def execute(self, sql: str, **params: Any) -> None:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(sql), params)
        finally:
            engine.dispose()

    def version_heads(self) -> set[str]:
        """alembic_version's rows (empty when the table does not exist)."""
        if "alembic_version" not in self.tables():
            return set()
        return {r[0] for r in self.rows("SELECT version_num FROM alembic_version")}
