"""A bug of ours still ends in one line and exit code 2, unless EXPANDCONTRACT_DEBUG asks for more."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from expandcontract import api
from expandcontract.cli.main import cli


def broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("something we did not expect\nsecond line")


def test_an_unexpected_exception_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "classify", broken)
    monkeypatch.delenv("EXPANDCONTRACT_DEBUG", raising=False)

    result = CliRunner().invoke(cli, ["classify", "--script-location", str(tmp_path)])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "expandcontract: internal error: RuntimeError: something we did not expect "
        "(rerun with EXPANDCONTRACT_DEBUG=1 for the traceback, and please report it)"
    ]


def test_the_debug_switch_lets_the_traceback_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "classify", broken)
    monkeypatch.setenv("EXPANDCONTRACT_DEBUG", "1")

    result = CliRunner().invoke(cli, ["classify", "--script-location", str(tmp_path)])

    assert isinstance(result.exception, RuntimeError)
