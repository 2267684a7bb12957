"""How paths are shown: relative to the working directory when below it."""

from __future__ import annotations

import os
from pathlib import Path


def shown(path: str | Path) -> str:
    if not str(path):
        return ""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith("..") else relative


def shown_location(path: str, line: int) -> str:
    return f"{shown(path)}:{line}" if line else shown(path)
