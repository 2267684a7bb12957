"""expandcontract: zero-downtime expand/contract migrations for Alembic."""

from __future__ import annotations

__version__ = "0.1.0"
