"""The SQL adapter: the only place that imports sqlglot."""

from __future__ import annotations

from expandcontract.sql.changes import (
    changes_from_sql,
    check_proves_not_null,
    is_volatile_default,
    transaction_after,
)
from expandcontract.sql.types import TypeChange, is_compatible_type_change, type_change

__all__ = [
    "TypeChange",
    "changes_from_sql",
    "check_proves_not_null",
    "is_compatible_type_change",
    "is_volatile_default",
    "transaction_after",
    "type_change",
]
