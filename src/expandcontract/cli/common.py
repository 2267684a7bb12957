"""What every command shares: the invocation's settings and the common options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from expandcontract.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Invocation:
    """What the group's options say; settings are read lazily, per command."""

    config: Path | None

    def settings(self, script_location: Path | None = None, url: str | None = None) -> Settings:
        return load_settings(config=self.config, script_location=script_location, url=url)


pass_invocation = click.make_pass_decorator(Invocation)


def script_location_option(fn: F) -> F:
    return click.option(
        "--script-location",
        type=click.Path(file_okay=False, path_type=Path),
        help="Read this Alembic script directory directly, without alembic.ini and without running env.py.",
    )(fn)


def url_option(fn: F) -> F:
    return click.option(
        "--url",
        metavar="URL",
        help="Database URL (wins over EXPANDCONTRACT_DATABASE_URL and the config file).",
    )(fn)


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (a versioned schema).")(fn)
