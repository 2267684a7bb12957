"""Column type changes PostgreSQL makes without rewriting the table or breaking old readers."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from sqlglot import exp
from sqlglot.errors import ParseError

from expandcontract.sql.dialect import sqlglot_dialect

_STRINGS = {exp.DType.VARCHAR, exp.DType.TEXT}
_NUMERIC = {exp.DType.DECIMAL}


_SERIALS = {
    "SMALLSERIAL": "SMALLINT",
    "SERIAL2": "SMALLINT",
    "SERIAL": "INTEGER",
    "SERIAL4": "INTEGER",
    "BIGSERIAL": "BIGINT",
    "SERIAL8": "BIGINT",
}


def _build(type_sql: str, dialect: str) -> exp.DataType | None:
    type_sql = _SERIALS.get(
        type_sql.strip().upper(), type_sql
    )  # a serial column is an integer with a default
    try:
        return exp.DataType.build(type_sql, dialect=sqlglot_dialect(dialect), udt=True)
    except (ParseError, ValueError):
        return None


def _params(dtype: exp.DataType) -> list[int]:
    out: list[int] = []
    for param in dtype.expressions:
        try:
            out.append(int(param.name))
        except ValueError:
            return []
    return out


def is_compatible_type_change(old_type: str, new_type: str, dialect: str = "postgresql") -> bool:
    """True when old code keeps working and the table is not rewritten.

    Known safe: the same type; varchar widening or limit removal; varchar <-> text (unlimited);
    numeric precision up at the same scale, or the limit removed; cidr -> inet.
    """
    if (old_type.strip().lower(), new_type.strip().lower()) == ("cidr", "inet"):
        return True
    old, new = _build(old_type, dialect), _build(new_type, dialect)
    if old is None or new is None:
        return False
    if old == new:
        return True
    old_p, new_p = _params(old), _params(new)
    if old.this in _STRINGS and new.this in _STRINGS:
        if new.this is exp.DType.TEXT or not new_p:
            return True
        return bool(old.this is exp.DType.VARCHAR and old_p and new_p[0] >= old_p[0])
    if old.this in _NUMERIC and new.this in _NUMERIC:
        if not new_p:
            return True
        if len(old_p) >= 1 and len(new_p) >= 1:
            old_scale = old_p[1] if len(old_p) > 1 else 0
            new_scale = new_p[1] if len(new_p) > 1 else 0
            return new_p[0] >= old_p[0] and new_scale == old_scale
        return False
    return False


class TypeChange(StrEnum):
    """What an in-place column type change does on PostgreSQL."""

    SAFE = "safe"  # no rewrite, old code keeps working
    REWRITE = "rewrite"  # old code keeps working (a widening), but the table is rewritten
    INCOMPATIBLE = "incompatible"  # old readers or writers may break (and the table is rewritten)
    UNKNOWN = "unknown"  # the old type is not known


_WIDER = {  # each integer or float type, and the types it widens to without losing values
    exp.DType.SMALLINT: {exp.DType.INT, exp.DType.BIGINT, exp.DType.DECIMAL},
    exp.DType.INT: {exp.DType.BIGINT, exp.DType.DECIMAL},
    exp.DType.BIGINT: {exp.DType.DECIMAL},
    exp.DType.FLOAT: {exp.DType.DOUBLE},
}
_TIMESTAMPS = {exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ}


@lru_cache(maxsize=4096)  # a pure verdict; histories change the same types over and over
def type_change(
    old_type: str | None,
    new_type: str | None,
    dialect: str = "postgresql",
    postgresql_version: int = 16,
    session_timezone: str | None = None,
) -> TypeChange:
    """Classify `ALTER COLUMN ... TYPE` from `old_type` to `new_type`."""
    if not old_type or not new_type:
        return TypeChange.UNKNOWN
    if is_compatible_type_change(old_type, new_type, dialect):
        return TypeChange.SAFE
    old, new = _build(old_type, dialect), _build(new_type, dialect)
    if old is None or new is None:
        return TypeChange.INCOMPATIBLE
    if {old.this, new.this} == _TIMESTAMPS and old.this is not new.this:
        # PostgreSQL 12+ skips the rewrite when the session time zone is UTC
        utc = (session_timezone or "").upper() in ("UTC", "ETC/UTC", "Z")
        return TypeChange.SAFE if utc and postgresql_version >= 12 else TypeChange.INCOMPATIBLE
    if new.this in _WIDER.get(old.this, set()):
        if new.this is exp.DType.DECIMAL and _params(new):
            return TypeChange.INCOMPATIBLE  # numeric(p) may be too narrow for the old values
        return TypeChange.REWRITE
    if old.this is exp.DType.DECIMAL and new.this is exp.DType.DECIMAL:
        old_p, new_p = _params(old), _params(new)
        wider = len(old_p) == 2 and len(new_p) == 2 and new_p[1] > old_p[1]
        if wider and new_p[0] - new_p[1] >= old_p[0] - old_p[1]:
            return TypeChange.REWRITE  # more fractional digits, as many integer digits
    return TypeChange.INCOMPATIBLE
