"""The SQL adapter: the only place that imports sqlglot."""

from __future__ import annotations

from expandcontract.sql.changes import (
    VIRTUAL_ON_18,
    changes_from_sql,
    check_proves_not_null,
    is_volatile_default,
    next_transaction,
    transaction_after,
)
from expandcontract.sql.statements import statement_lines
from expandcontract.sql.types import TypeChange, is_compatible_type_change, type_change

__all__ = [
    "VIRTUAL_ON_18",
    "TypeChange",
    "changes_from_sql",
    "check_proves_not_null",
    "is_compatible_type_change",
    "is_volatile_default",
    "next_transaction",
    "statement_lines",
    "transaction_after",
    "type_change",
]
