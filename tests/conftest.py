"""Shared fixtures: a fresh PostgreSQL database per test, and the example project.

The server comes from EXPANDCONTRACT_TEST_DATABASE_URL (a URL to any database on it, used to
create and drop test databases) or the local server on 127.0.0.1:5432. With CI=true a server
that does not answer fails the test; elsewhere it skips it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

ADMIN_URL = os.environ.get(
    "EXPANDCONTRACT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "migrations_example"


def _admin_engine() -> sa.Engine:
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        message = f"PostgreSQL at {engine.url.render_as_string()} does not answer: {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return engine


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a new, empty PostgreSQL database that is dropped after the test."""
    admin = _admin_engine()
    name = f"ec_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    """A copy of migrations_example/ (without any database file) to run commands in."""
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    return target


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database of each kind the tool supports: PostgreSQL (a fresh one), and a SQLite file."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    pg: str = request.getfixturevalue("pg_url")
    return pg
