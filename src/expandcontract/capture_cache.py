"""A cache of captured revisions, so linting one changed revision of a long history stays fast.

An entry is keyed by the revision file's bytes and everything else its capture depends on: the
dialect, the versions of Python, Alembic, SQLAlchemy and sqlglot, and the code of expandcontract's
readers. Revisions that import anything beyond the standard library, Alembic and SQLAlchemy (the
application's own modules, which may change without the file changing) are never cached. Entries
are JSON, never pickles: a cache folder is data, not code.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any

from expandcontract.model import (
    CapturedRevision,
    Change,
    ChangeKind,
    ColumnSpec,
    ConstraintType,
    Location,
    ReadMode,
    RevisionInfo,
)

FORMAT = 3
_PURE_MODULES = frozenset({"alembic", "sqlalchemy", "expandcontract", "__future__"})
_READERS = ("model.py", "alembic_ext", "sql")  # the code whose output is cached


def cacheable(source: str) -> bool:
    """Whether the file imports only what cannot change under it (stdlib, Alembic, SQLAlchemy)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                return False  # a relative import: project code
            names = [node.module or ""]
        for name in names:
            top = name.split(".")[0]
            if top not in _PURE_MODULES and top not in sys.stdlib_module_names:
                return False
    return True


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _readers_fingerprint() -> str:
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for entry in _READERS:
        paths = sorted((root / entry).rglob("*.py")) if (root / entry).is_dir() else [root / entry]
        for path in paths:
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _encode_change(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in fields(Change):
        value = getattr(change, item.name)
        if item.name == "location":
            out["location"] = [value.line, value.column]
        elif item.name == "column_specs":
            out[item.name] = [[s.name, s.type, s.nullable, s.default] for s in value]
        elif isinstance(value, tuple):
            out[item.name] = list(value)
        else:
            out[item.name] = value.value if hasattr(value, "value") else value
    return out


def _decode_change(data: dict[str, Any], path: str) -> Change:
    values: dict[str, Any] = {}
    for item in fields(Change):
        value = data[item.name]
        if item.name == "location":
            values["location"] = Location(path, value[0], value[1])
        elif item.name == "kind":
            values["kind"] = ChangeKind(value)
        elif item.name == "constraint_type":
            values[item.name] = ConstraintType(value) if value is not None else None
        elif item.name == "column_specs":
            values[item.name] = tuple(ColumnSpec(*spec) for spec in value)
        elif isinstance(value, list):
            values[item.name] = tuple(value)
        else:
            values[item.name] = value
    return Change(**values)


class CaptureCache:
    """Captured revisions on disk, under `folder` (created on first write, with a .gitignore)."""

    def __init__(self, folder: Path, dialect: str) -> None:
        self.folder = folder
        context = [
            str(FORMAT),
            dialect,
            sys.version.split()[0],
            _version("expandcontract"),
            _version("alembic"),
            _version("sqlalchemy"),
            _version("sqlglot"),
            _readers_fingerprint(),
        ]
        self._context = "|".join(context).encode()

    def _entry(self, source: bytes) -> Path:
        digest = hashlib.sha256(self._context + b"\0" + source).hexdigest()
        return self.folder / f"{digest}.json"

    def load(self, info: RevisionInfo, source: bytes) -> CapturedRevision | None:
        try:
            data = json.loads(self._entry(source).read_text(encoding="utf-8"))
            path = info.path  # already resolved, as capture records it
            return CapturedRevision(
                info=info,
                changes=tuple(_decode_change(c, path) for c in data["changes"]),
                read_mode=ReadMode(data["read_mode"]),
                unreadable_reason=data["unreadable_reason"],
                database_reads=tuple(Location(path, line) for line in data["database_reads"]),
                stand_ins=tuple(data["stand_ins"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, or written by another version: capture again

    def store(self, captured: CapturedRevision, source: bytes) -> None:
        data = {
            "changes": [_encode_change(c) for c in captured.changes],
            "read_mode": captured.read_mode.value,
            "unreadable_reason": captured.unreadable_reason,
            "database_reads": [loc.line for loc in captured.database_reads],
            "stand_ins": list(captured.stand_ins),
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# written by expandcontract: a cache, never commit it\n*\n")
            entry = self._entry(source)
            partial = entry.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(data), encoding="utf-8")
            partial.replace(entry)  # atomic: a concurrent reader sees the old entry or the new one
        except OSError:
            pass  # a read-only checkout lints just as well, only slower
