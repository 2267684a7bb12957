"""The `alembic.plugins` entry point: Alembic calls `setup()` when it loads, so `op.ec_*` exist in
every revision of every project where expandcontract is installed, with or without its env.py."""

from __future__ import annotations

from typing import Any


def setup(plugin: Any) -> None:
    """Register expandcontract's operations (importing the module registers them)."""
    from expandcontract.alembic_ext import operations  # noqa: F401
