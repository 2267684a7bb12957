"""A release's manifest: the tables and columns its code uses, built from its SQLAlchemy MetaData.

Per column it records what the release relies on: whether it may write NULL there (the model's
`nullable`) and whether it leaves the value to the database on insert (a server default, an identity
or serial, a computed column, and no client-side default). Raw-SQL uses are added as extras; the
manifest then assumes the worst for them (may write NULL, relies on the default).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from expandcontract.errors import UsageError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ColumnUse:
    nullable: bool = True  # the release may write NULL (or omit the column on insert)
    server_default: bool = False  # the release leaves the value to the database on insert
    type: str | None = None  # the column's type as the release's models declare it (type_name())


@dataclass(frozen=True)
class TableUse:
    columns: Mapping[str, ColumnUse] = field(default_factory=dict)
    any_column: bool = False  # used as a whole (`--extra table.*`): every column counts as used


@dataclass(frozen=True)
class Manifest:
    release: str
    tables: Mapping[str, TableUse]  # "schema.table" or "table", as the models name them
    app: str = ""
    built_at: str = ""
    extras: tuple[str, ...] = ()  # what was added by hand for raw SQL, as given

    def table(self, name: str, schema: str | None = None) -> TableUse | None:
        """The use of a table, matched case-insensitively; a schema-less name on either side matches
        any schema (the default search_path), which errs on the side of blocking."""
        wanted_schema, wanted = (schema or "").lower(), name.lower()
        for key, use in self.tables.items():
            own_schema, _, own = key.lower().rpartition(".")
            if own == wanted and (not own_schema or not wanted_schema or own_schema == wanted_schema):
                return use
        return None

    def column(self, table: str, column: str, schema: str | None = None) -> ColumnUse | None:
        use = self.table(table, schema)
        if use is None:
            return None
        if use.any_column:
            return ColumnUse()
        return next((u for name, u in use.columns.items() if name.lower() == column.lower()), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "app": self.app,
            "release": self.release,
            "built_at": self.built_at,
            "extras": list(self.extras),
            "tables": {
                name: {
                    "any_column": use.any_column,
                    "columns": {
                        col: {"nullable": c.nullable, "server_default": c.server_default}
                        | ({"type": c.type} if c.type else {})
                        for col, c in sorted(use.columns.items())
                    },
                }
                for name, use in sorted(self.tables.items())
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"

    @property
    def digest(self) -> str:
        """What the manifest says, without when it was built: equal digests, equal manifests."""
        body = self.to_json()
        body.pop("built_at")
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@cache
def _postgresql() -> sa.Dialect:
    dialect: sa.Dialect = sa.dialects.registry.load("postgresql")()
    return dialect


def type_name(type_: sa.types.TypeEngine[Any]) -> str:
    """A column type as PostgreSQL spells it (`BIGINT`, `TIMESTAMP WITH TIME ZONE`), the form
    manifests record and `op.ec_swap_columns` names, so the gate can compare them."""
    try:
        text = str(type_.compile(dialect=_postgresql()))
    except Exception:  # a type PostgreSQL cannot compile (another dialect's): its generic form
        text = str(type_)
    return _spelled(text)


def _spelled(type_text: str) -> str:
    return " ".join(type_text.upper().split())


def same_type(recorded: str | None, wanted: str) -> bool:
    return recorded is not None and _spelled(recorded) == _spelled(wanted)


def _relies_on_server_default(column: sa.Column[Any]) -> bool:
    if column.computed is not None or column.identity is not None:
        return True
    if column.default is not None:  # the client supplies the value
        return False
    return column.server_default is not None or column.table.autoincrement_column is column


def build_manifest(
    metadata: sa.MetaData, release: str, app: str = "", extras: Iterable[str] = ()
) -> Manifest:
    """The manifest of a release whose models are `metadata`, plus `extras` for raw SQL:
    `table.column`, `schema.table.column` or `table.*` (the whole table)."""
    if not release.strip():
        raise UsageError("a manifest needs a release id: pass --release (a version, git SHA or image tag)")
    tables: dict[str, TableUse] = {}
    for table in metadata.sorted_tables:
        tables[table.fullname] = TableUse(
            columns={
                c.name: ColumnUse(
                    nullable=bool(c.nullable),
                    server_default=_relies_on_server_default(c),
                    type=type_name(c.type),
                )
                for c in table.columns
            }
        )
    given = tuple(extras)
    for extra in given:
        _add_extra(tables, extra)
    built = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    return Manifest(release=release.strip(), tables=tables, app=app, built_at=built, extras=given)


def _add_extra(tables: dict[str, TableUse], extra: str) -> None:
    parts = extra.strip().split(".")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(
            f"--extra {extra!r}: give table.column, schema.table.column or table.* "
            "(a column or table your raw SQL uses)"
        )
    *table_parts, column = parts
    name = ".".join(table_parts)
    existing = tables.get(name, TableUse())
    if column == "*":
        tables[name] = TableUse(columns=existing.columns, any_column=True)
    else:  # unknown use from raw SQL: assume it may write NULL and rely on the default
        tables[name] = TableUse(
            columns={**existing.columns, column: ColumnUse(nullable=True, server_default=True)},
            any_column=existing.any_column,
        )


def manifest_from_json(data: Any, where: str) -> Manifest:
    """A manifest from its JSON form; one-line UsageError naming `where` when it is not one."""

    def bad(what: str) -> UsageError:
        return UsageError(
            f"{where}: not an expandcontract manifest ({what}); build one with `manifest build`"
        )

    if not isinstance(data, Mapping):
        raise bad("not a JSON object")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise bad(f"schema_version is {data.get('schema_version')!r}, this version reads {SCHEMA_VERSION}")
    release, app, tables = data.get("release"), data.get("app", ""), data.get("tables")
    if not isinstance(release, str) or not release or not isinstance(app, str):
        raise bad("`release` must be a non-empty string and `app` a string")
    if not isinstance(tables, Mapping):
        raise bad("`tables` must be an object")
    parsed: dict[str, TableUse] = {}
    for name, body in tables.items():
        columns = body.get("columns", {}) if isinstance(body, Mapping) else None
        if not isinstance(columns, Mapping) or not all(isinstance(c, Mapping) for c in columns.values()):
            raise bad(f"table {name!r} needs a `columns` object of objects")
        parsed[str(name)] = TableUse(
            columns={
                str(col): ColumnUse(
                    nullable=bool(c.get("nullable", True)),
                    server_default=bool(c.get("server_default", False)),
                    type=str(c["type"]) if isinstance(c.get("type"), str) else None,
                )
                for col, c in columns.items()
            },
            any_column=bool(body.get("any_column", False)),
        )
    extras = data.get("extras", [])
    return Manifest(
        release=release,
        tables=parsed,
        app=app,
        built_at=str(data.get("built_at", "")),
        extras=tuple(str(e) for e in extras) if isinstance(extras, list) else (),
    )


def read_manifest(path: Path) -> Manifest:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the manifest ({exc.strerror})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: the manifest is not valid JSON ({exc.msg})") from exc
    return manifest_from_json(data, str(path))


def load_metadata(spec: str, search: Iterable[Path] = ()) -> sa.MetaData:
    """`module:attr` (attr may be dotted) to the MetaData it names: a MetaData, or anything with a
    `.metadata` (a declarative base, a registry). `search` folders are tried first for the module."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--metadata {spec!r}: give module:attribute, e.g. myapp.models:Base.metadata")
    added = [str(p) for p in search if str(p) not in sys.path]
    sys.path[:0] = added
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # the application's own import-time code
        raise UsageError(
            f"--metadata {spec!r}: cannot import {module_name} ({type(exc).__name__}: {exc}); "
            "run where the application's package is importable"
        ) from exc
    finally:
        for entry in added:
            sys.path.remove(entry)
    for part in attr.split("."):
        if not hasattr(target, part):
            raise UsageError(f"--metadata {spec!r}: {module_name} has no attribute {attr}")
        target = getattr(target, part)
    if not isinstance(target, sa.MetaData):
        target = getattr(target, "metadata", None)
    if not isinstance(target, sa.MetaData):
        raise UsageError(f"--metadata {spec!r} is not a SQLAlchemy MetaData (nor has a .metadata)")
    return target
