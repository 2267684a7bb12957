"""Shared by tests that run contract revisions: put a live release in the gate's registry."""

from __future__ import annotations

import importlib
import uuid

import sqlalchemy as sa

from expandcontract.gate.manifest import build_manifest
from expandcontract.gate.registry import Registry


def live_release(
    url: str,
    release: str,
    metadata: sa.MetaData | None = None,
    app: str = "shop",
    ttl_seconds: float = 3600.0,
    host: str = "web-1",
    pid: int = 4242,
) -> str:
    """Register one process of `release` (with its manifest when `metadata` is given), as
    `runtime.register` would; its id."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        registry = Registry(engine)
        registry.ensure()
        if metadata is not None:
            registry.publish(build_manifest(metadata, release, app=app))
        process_id = str(uuid.uuid4())
        registry.register_process(process_id, app, release, host, pid, ttl_seconds)
        return process_id
    finally:
        engine.dispose()


def shop_1_3_is_live(url: str) -> str:
    """The example shop's release 1.3.0 (its models no longer map users.email) runs, alone."""
    models = importlib.import_module("shop.models")
    return live_release(url, "1.3.0", models.Base.metadata)
