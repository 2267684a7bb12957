"""How databases appear in messages: URLs without their password, driver errors on one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from expandcontract.errors import DatabaseError


def safe_url(url: str) -> str:
    """The URL with its password shown as `***` (never print or log a URL any other way)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):  # a bad port, say: show no part of it
        return "<unparsable URL>"


def one_line(exc: BaseException) -> str:
    """The first line of a (driver) error: what the database said, without its context dump."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def database_errors(url: str, doing: str) -> Iterator[None]:
    """Driver and URL errors inside the block become one-line `DatabaseError`s: `cannot <doing> at
    <url without password>: <what the database said>`."""
    try:
        yield
    except (sa.exc.SQLAlchemyError, ValueError) as exc:  # make_url raises ValueError on a bad port
        raise DatabaseError(f"cannot {doing} at {safe_url(url)}: {one_line(exc)}") from exc
