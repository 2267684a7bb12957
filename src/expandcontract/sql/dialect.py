"""sqlglot dialects as this project reads migration SQL."""

from __future__ import annotations

from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.postgres import Postgres
from sqlglot.parsers.postgres import PostgresParser


class AlembicPostgres(Postgres):
    """PostgreSQL as Alembic writes it.

    Alembic renders a column rename as `ALTER TABLE t RENAME a TO b` (COLUMN omitted, which
    PostgreSQL accepts); stock sqlglot reads that as a table rename.
    """

    class Parser(PostgresParser):
        ALTER_RENAME_REQUIRES_COLUMN = False


_DIALECTS: dict[str, type[Dialect] | str] = {
    "postgresql": AlembicPostgres,
    "sqlite": "sqlite",
    "mysql": "mysql",
}


def sqlglot_dialect(name: str) -> Dialect:
    """The sqlglot dialect for a SQLAlchemy dialect name (`postgresql`, `sqlite`, `mysql`)."""
    chosen = _DIALECTS.get(name, AlembicPostgres)
    return Dialect.get_or_raise(chosen if isinstance(chosen, str) else chosen())
