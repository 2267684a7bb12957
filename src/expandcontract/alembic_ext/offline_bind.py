"""What `op.get_bind()` returns while a revision is read offline.

Many revisions fetch the connection to run SQL themselves (`op.get_bind().execute(text(...))`) or to
look at existing rows before deciding what to do. Offline there is no database: this stand-in
executes nothing, hands every statement to the recorder (so it becomes changes at its line), and
answers every query with no rows, as an empty database would; reflection (`sa.inspect(bind)`,
`autoload_with=bind`) likewise sees an empty database. An ORM session is not offered, so such a
revision falls back to its AST and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.inspection import _inspects  # registers an inspector for our own class only


class NoRows:
    """The result of every statement: an empty result set."""

    rowcount = 0

    def fetchall(self) -> list[Any]:
        return []

    def fetchmany(self, size: int | None = None) -> list[Any]:
        return []

    def fetchone(self) -> None:
        return None

    def first(self) -> None:
        return None

    def one_or_none(self) -> None:
        return None

    def scalar(self) -> None:
        return None

    def scalar_one_or_none(self) -> None:
        return None

    def one(self) -> Any:
        raise sa.exc.NoResultFound("no rows offline: the database is read as empty")

    scalar_one = one

    def all(self) -> list[Any]:
        return []

    def scalars(self) -> NoRows:
        return self

    def mappings(self) -> NoRows:
        return self

    def keys(self) -> list[str]:
        return []

    def close(self) -> None:
        return None

    def __iter__(self) -> Iterator[Any]:
        return iter(())


class _NoTransaction:
    def __enter__(self) -> _NoTransaction:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        return None


def compile_statement(statement: Any, parameters: Any, dialect: Dialect) -> str:
    """SQL text of a statement as a revision passed it, with its parameters inlined where possible."""
    if isinstance(statement, str):
        statement = sa.text(statement)
    if isinstance(parameters, Sequence) and parameters and isinstance(parameters[0], Mapping):
        parameters = parameters[0]  # executemany: the first row shows the statement's shape
    if isinstance(parameters, Mapping) and parameters and isinstance(statement, sa.TextClause):
        statement = statement.bindparams(**parameters)
    try:
        return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # a value with no literal form: keep the placeholders
        return str(statement.compile(dialect=dialect))


class OfflineBind:
    """A connection-shaped stand-in: records statements, executes nothing, returns no rows."""

    def __init__(self, record: Callable[[str], None]) -> None:
        self._record = record
        self.dialect: Dialect | None = None

    def execute(self, statement: Any, parameters: Any = None, *args: Any, **kwargs: Any) -> NoRows:
        assert self.dialect is not None
        self._record(compile_statement(statement, parameters, self.dialect))
        return NoRows()

    def exec_driver_sql(self, statement: str, parameters: Any = None, *args: Any, **kwargs: Any) -> NoRows:
        return self.execute(statement, parameters)

    def begin(self) -> _NoTransaction:
        return _NoTransaction()

    begin_nested = begin

    def in_transaction(self) -> bool:
        return True

    def commit(self) -> None:
        return None

    def _run_ddl_visitor(self, visitorcallable: Any, element: Any, **kwargs: Any) -> None:
        """`sa.Enum(...).create(bind)` / `.drop(bind)`: emit the DDL without asking whether the type
        exists first (offline nothing exists), as `alembic upgrade --sql` does."""
        kwargs["checkfirst"] = False
        visitorcallable(self.dialect, self, **kwargs).traverse_single(element)

    @property
    def engine(self) -> OfflineBind:
        """`op.get_bind().engine.name` / `.dialect.name`: revisions that branch on the database."""
        return self

    @property
    def name(self) -> str:
        return self.dialect.name if self.dialect is not None else ""

    def __enter__(self) -> OfflineBind:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class OfflineInspector:
    """What `sa.inspect(op.get_bind())` gives offline: an empty database, like the queries' no rows.

    Every question is recorded as a database read, so the code it guards that did not run is still
    read from the revision's source (and marked as not reached offline)."""

    def __init__(self, bind: OfflineBind) -> None:
        self.bind = bind
        self.dialect = bind.dialect
        self.default_schema_name = "public" if bind.name == "postgresql" else None

    def _asked(self, question: str, *args: Any) -> None:
        text = f"inspector.{question}({', '.join(a for a in args if isinstance(a, str))})"
        self.bind._record("SELECT '" + text.replace("'", "''") + "'")

    def _empty_list(self, question: str) -> Callable[..., list[Any]]:
        def answer(*args: Any, **kwargs: Any) -> list[Any]:
            self._asked(question, *args)
            return []

        return answer

    def __getattr__(self, name: str) -> Any:
        if name.startswith("get_") and name.endswith("s"):
            return self._empty_list(name)  # get_table_names, get_columns, get_indexes, get_enums, ...
        if name.startswith("has_"):

            def no(*args: Any, **kwargs: Any) -> bool:
                self._asked(name, *args)
                return False

            return no
        raise AttributeError(name)

    def get_pk_constraint(self, table_name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._asked("get_pk_constraint", table_name)
        return {"constrained_columns": [], "name": None}

    def get_table_comment(self, table_name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._asked("get_table_comment", table_name)
        return {"text": None}

    def reflect_table(self, table: Any, *args: Any, **kwargs: Any) -> None:
        """`sa.Table(..., autoload_with=bind)` / `MetaData.reflect(bind)`: no columns offline."""
        self._asked("reflect_table", getattr(table, "name", ""))

    @contextmanager
    def _inspection_context(self) -> Iterator[OfflineInspector]:
        yield self


# `sa.inspect(bind)` looks the inspector up by the object's class: register ours for the offline bind
_inspects(OfflineBind)(OfflineInspector)
