"""Fixtures of the gate's end-to-end tests: the example project to run commands in, and real
application processes that are always reaped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gate_flow import AppProcesses
from integration.pg_flow_support import enter_example


@pytest.fixture
def example(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example shop copied to tmp_path and made the working folder (shop importable)."""
    enter_example(monkeypatch, example_project)
    monkeypatch.delenv("EXPANDCONTRACT_ACTOR", raising=False)
    return example_project


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[AppProcesses]:
    """Starts application processes; any still running at the end of the test is killed."""
    processes = AppProcesses(tmp_path)
    try:
        yield processes
    finally:
        processes.close()
