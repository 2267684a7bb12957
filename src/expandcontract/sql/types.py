"""Column type changes PostgreSQL makes without rewriting the table or breaking old readers."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError

from expandcontract.sql.dialect import sqlglot_dialect

_STRINGS = {exp.DType.VARCHAR, exp.DType.TEXT}
_NUMERIC = {exp.DType.DECIMAL}


def _build(type_sql: str, dialect: str) -> exp.DataType | None:
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
