"""Settings: `[tool.expandcontract]` in the closest pyproject.toml, a `--config` file, flags and environment.

Precedence, highest first: command-line flags, `EXPANDCONTRACT_DATABASE_URL`, the config file, defaults.
Relative paths (and relative SQLite URLs) in a config file are relative to that file's folder.
"""

from __future__ import annotations

import configparser
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from expandcontract.errors import ConfigError

URL_ENV = "EXPANDCONTRACT_DATABASE_URL"
ALEMBIC_PLACEHOLDER_URL = "driver://user:pass@localhost/dbname"  # what `alembic init` writes
SUPPORTED_DIALECTS = ("postgresql", "sqlite", "mysql")
DEFAULT_POSTGRESQL_VERSION = 16
DEFAULT_LOCK_TIMEOUT = "2s"


@dataclass(frozen=True)
class LintSettings:
    """[tool.expandcontract.lint]: which rules run, and what the linter may assume."""

    select: tuple[str, ...] = ()  # codes, code prefixes or names; empty: every default rule
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()  # added to the selection (opt-in rules)
    per_revision_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (revision id or path glob, codes)
    start_after: str | None = None  # revisions up to and including this one are legacy history
    session_timezone: str | None = None  # "UTC": timestamp <-> timestamptz needs no rewrite (PG12+)
    sql_in_transaction: bool = False  # plain .sql files run inside one transaction (Flyway-style)


GATE_SOURCES = ("registry", "pg_stat_activity", "kubernetes", "attestation")
RELEASE_ORDERS = ("auto", "pep440", "semver", "registration")


@dataclass(frozen=True)
class KubernetesSettings:
    """[tool.expandcontract.gate.kubernetes]: which workloads the kubernetes source watches."""

    selector: str | None = None  # a label selector, e.g. "app=shop"
    namespace: str = "default"
    release_label: str | None = "app.kubernetes.io/version"  # else the image tag
    container: str | None = None  # whose image tag names the release (default: the first)


@dataclass(frozen=True)
class GateSettings:
    """[tool.expandcontract.gate]: where rollout evidence comes from and how it is judged."""

    sources: tuple[str, ...] = ("registry",)
    registry_schema: str = "expandcontract"  # PostgreSQL: the registry's own schema
    registry_prefix: str = "expandcontract_"  # SQLite (no schemas): the registry tables' prefix
    drain_seconds: float = 30.0  # a stopped process still serves in-flight requests this long
    min_soak_seconds: float = 0.0  # after the last older process is gone, wait this long too
    retention_seconds: float = 7 * 24 * 3600.0  # stopped or expired processes are pruned after this
    release_order: str = "auto"
    lock_wait_seconds: float = 60.0  # how long a second contract run waits for the first
    kubernetes: KubernetesSettings = KubernetesSettings()


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to find the Alembic project and talk to its database."""

    project_dir: Path  # the config file's folder, or the working directory
    config_file: Path | None = None  # the TOML file the settings came from
    alembic_config: Path | None = None  # alembic.ini; None when reading a bare script directory
    alembic_toml: Path | None = None  # a pyproject.toml with [tool.alembic] (Alembic 1.16+), beside it
    script_location: Path | None = None  # overrides alembic.ini's script_location
    version_locations: tuple[Path, ...] = ()  # overrides alembic.ini's version_locations
    recursive_version_locations: bool | None = None
    dialect: str = "postgresql"  # the dialect revisions are read (captured) for
    postgresql_version: int = DEFAULT_POSTGRESQL_VERSION
    database_url: str | None = None
    version_table: str = "alembic_version"
    version_table_schema: str | None = None
    lock_timeout: str | None = DEFAULT_LOCK_TIMEOUT  # what before_migrations() sets on PostgreSQL; None: off
    lock_retries: int = 5  # times a revision that timed out waiting for a lock is run again
    cache_dir: Path | None = None  # where lint keeps captured revisions (default: .expandcontract_cache)
    lint: LintSettings = LintSettings()
    gate: GateSettings = GateSettings()

    def require_url(self) -> str:
        if not self.database_url:
            raise ConfigError(
                "no database URL: pass --url, set EXPANDCONTRACT_DATABASE_URL, "
                'add database-url = "..." under [tool.expandcontract], or set sqlalchemy.url in alembic.ini'
            )
        return self.database_url

    @property
    def alembic_configured(self) -> bool:
        """Alembic's own configuration is available (alembic.ini and/or [tool.alembic])."""
        return self.alembic_config is not None or self.alembic_toml is not None

    @property
    def alembic_dir(self) -> Path:
        """The folder Alembic's configuration lives in (relative paths there are relative to it)."""
        config = self.alembic_config or self.alembic_toml
        return config.parent if config else self.project_dir

    def require_project(self) -> None:
        if not self.alembic_configured and self.script_location is None:
            raise ConfigError(
                f"no Alembic project found from {self.project_dir}: run in a folder with alembic.ini, "
                "pass --script-location DIR or --config FILE, or run `expandcontract init`"
            )


def _path(value: Any, key: str, base: Path, source: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: `{key}` must be a non-empty string path")
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def _str(value: Any, key: str, source: Path) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: `{key}` must be a non-empty string")
    return value


def _bool(value: Any, key: str, source: Path) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: `{key}` must be true or false")
    return value


def _dialect(value: Any, key: str, source: Path) -> str:
    name = _str(value, key, source)
    if name not in SUPPORTED_DIALECTS:
        raise ConfigError(f"{source}: `{key}` is {name!r}; use one of {', '.join(SUPPORTED_DIALECTS)}")
    return name


def _pg_version(value: Any, key: str, source: Path) -> int:
    try:
        version = int(str(value).split(".")[0])
    except ValueError:
        version = 0
    if not 9 <= version <= 99:
        raise ConfigError(f"{source}: `{key}` is {value!r}; give a major version such as 16")
    return version


def _lock_timeout(value: Any, key: str, source: Path) -> str | None:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if text in ("0", "off", "OFF"):
        return None
    number = text.rstrip("smin").strip()
    if not text or not number.replace(".", "", 1).isdigit():
        raise ConfigError(
            f'{source}: `{key}` is {value!r}; give a duration such as "2s" or "500ms", or "off"'
        )
    return text if not text.isdigit() else f"{text}ms"  # PostgreSQL reads a bare number as milliseconds


def _codes(value: Any, key: str, source: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f'{source}: `lint.{key}` must be a list of rule codes or names, e.g. ["EC1"]')
    return tuple(value)


def _lint_table(table: Mapping[str, Any], source: Path) -> LintSettings:
    lint = LintSettings()
    for key, value in table.items():
        if key in ("select", "ignore", "extend-select"):
            codes = _codes(value, key, source)
            if key == "select":
                lint = replace(lint, select=codes)
            elif key == "ignore":
                lint = replace(lint, ignore=codes)
            else:
                lint = replace(lint, extend_select=codes)
        elif key == "per-revision-ignores":
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"{source}: `lint.per-revision-ignores` must be a table of "
                    '"revision id or path glob" = ["codes"]'
                )
            pairs = tuple((str(k), _codes(v, f"per-revision-ignores.{k}", source)) for k, v in value.items())
            lint = replace(lint, per_revision_ignores=pairs)
        elif key == "start-after":
            lint = replace(lint, start_after=_str(value, f"lint.{key}", source))
        elif key == "session-timezone":
            lint = replace(lint, session_timezone=_str(value, f"lint.{key}", source))
        elif key == "sql-in-transaction":
            lint = replace(lint, sql_in_transaction=_bool(value, f"lint.{key}", source))
        else:
            raise _unknown(key, "tool.expandcontract.lint", source)
    return lint


def _unknown(key: str, table: str, source: Path) -> ConfigError:
    """A key the table does not have: an error, which catches typos."""
    return ConfigError(
        f"{source}: unknown key `{key}` in [{table}]; see docs/configuration.md for the keys it accepts"
    )


def _seconds(value: Any, key: str, source: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{source}: `gate.{key}` is {value!r}; give a number of seconds (0 or more)")
    return float(value)


def _kubernetes_table(table: Mapping[str, Any], source: Path) -> KubernetesSettings:
    k8s = KubernetesSettings()
    for key, value in table.items():
        if key == "selector":
            k8s = replace(k8s, selector=_str(value, f"gate.kubernetes.{key}", source))
        elif key == "namespace":
            k8s = replace(k8s, namespace=_str(value, f"gate.kubernetes.{key}", source))
        elif key == "release-label":
            k8s = replace(
                k8s, release_label=None if value == "" else _str(value, f"gate.kubernetes.{key}", source)
            )
        elif key == "container":
            k8s = replace(k8s, container=_str(value, f"gate.kubernetes.{key}", source))
        else:
            raise _unknown(key, "tool.expandcontract.gate.kubernetes", source)
    return k8s


def _gate_table(table: Mapping[str, Any], source: Path) -> GateSettings:
    gate = GateSettings()
    seconds = ("drain-seconds", "min-soak-seconds", "retention-seconds", "lock-wait-seconds")
    for key, value in table.items():
        if key == "sources":
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v in GATE_SOURCES for v in value)
            ):
                raise ConfigError(
                    f"{source}: `gate.sources` is {value!r}; give a non-empty list of "
                    f"{', '.join(repr(s) for s in GATE_SOURCES)}"
                )
            gate = replace(gate, sources=tuple(dict.fromkeys(value)))
        elif key == "registry-schema":
            gate = replace(gate, registry_schema=_str(value, f"gate.{key}", source))
        elif key == "registry-prefix":
            gate = replace(gate, registry_prefix=_str(value, f"gate.{key}", source))
        elif key in seconds:
            gate = replace(gate, **{key.replace("-", "_"): _seconds(value, key, source)})  # type: ignore[arg-type]
        elif key == "release-order":
            if value not in RELEASE_ORDERS:
                raise ConfigError(
                    f"{source}: `gate.release-order` is {value!r}; use one of {', '.join(RELEASE_ORDERS)}"
                )
            gate = replace(gate, release_order=value)
        elif key == "kubernetes":
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"{source}: `gate.kubernetes` must be a table ([tool.expandcontract.gate.kubernetes])"
                )
            gate = replace(gate, kubernetes=_kubernetes_table(value, source))
        else:
            raise _unknown(key, "tool.expandcontract.gate", source)
    if gate.retention_seconds < gate.drain_seconds + gate.min_soak_seconds:
        raise ConfigError(
            f"{source}: `gate.retention-seconds` ({gate.retention_seconds:g}) is shorter than drain-seconds "
            "plus min-soak-seconds: the gate would forget processes it still counts; raise it"
        )
    return gate


def absolute_sqlite_url(url: str, base: Path) -> str:
    """Make a relative `sqlite:///file.db` URL absolute against `base` (a config file's folder)."""
    prefix, sep, rest = url.partition(":///")
    if not sep or not prefix.startswith("sqlite") or not rest or rest.startswith("/") or rest == ":memory:":
        return url
    path, q, query = rest.partition("?")
    return f"{prefix}:///{(base / path).resolve()}{q}{query}"


def _apply_table(settings: Settings, table: Mapping[str, Any], source: Path) -> Settings:
    base = source.parent
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key == "alembic-config":
            changes["alembic_config"] = _path(value, key, base, source)
        elif key == "script-location":
            changes["script_location"] = _path(value, key, base, source)
        elif key == "version-locations":
            if not isinstance(value, list):
                raise ConfigError(f"{source}: `{key}` must be a list of folders")
            changes["version_locations"] = tuple(_path(v, key, base, source) for v in value)
        elif key == "recursive-version-locations":
            changes["recursive_version_locations"] = _bool(value, key, source)
        elif key == "dialect":
            changes["dialect"] = _dialect(value, key, source)
        elif key == "postgresql-version":
            changes["postgresql_version"] = _pg_version(value, key, source)
        elif key == "database-url":
            changes["database_url"] = absolute_sqlite_url(_str(value, key, source), base)
        elif key == "version-table":
            changes["version_table"] = _str(value, key, source)
        elif key == "version-table-schema":
            changes["version_table_schema"] = _str(value, key, source)
        elif key == "cache-dir":
            changes["cache_dir"] = _path(value, key, base, source)
        elif key == "lock-timeout":
            changes["lock_timeout"] = _lock_timeout(value, key, source)
        elif key == "lock-retries":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                raise ConfigError(f"{source}: `{key}` is {value!r}; give a whole number from 0 to 100")
            changes["lock_retries"] = value
        elif key == "gate":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: `gate` must be a table ([tool.expandcontract.gate])")
            changes["gate"] = _gate_table(value, source)
        elif key == "lint":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: `lint` must be a table ([tool.expandcontract.lint])")
            changes["lint"] = _lint_table(value, source)
        else:
            raise _unknown(key, "tool.expandcontract", source)
    return replace(settings, **changes)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from exc


def _tool_table(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    tool = doc.get("tool")
    if isinstance(tool, Mapping):
        table = tool.get("expandcontract")
        if isinstance(table, Mapping):
            return table
    return None


def _has_tool_alembic(doc: Mapping[str, Any]) -> bool:
    tool = doc.get("tool")
    return isinstance(tool, Mapping) and isinstance(tool.get("alembic"), Mapping)


def find_project(start: Path) -> tuple[Path | None, Path]:
    """(config file, project folder): the closest folder at or above `start` that has a
    pyproject.toml with [tool.expandcontract], or else Alembic's own configuration (alembic.ini,
    or a pyproject.toml with [tool.alembic]). The closest wins, so a service's own alembic.ini is
    not shadowed by a monorepo's pyproject.toml further up."""
    for folder in (start, *start.parents):
        pyproject = folder / "pyproject.toml"
        doc = _read_toml(pyproject) if pyproject.is_file() else {}
        if _tool_table(doc) is not None:
            return pyproject, folder
        if (folder / "alembic.ini").is_file() or _has_tool_alembic(doc):
            return _config_naming(folder / "alembic.ini", folder.parents), folder
    return None, start


def _config_naming(ini: Path, folders: Sequence[Path]) -> Path | None:
    """A pyproject.toml further up whose [tool.expandcontract] names this very alembic.ini."""
    for folder in folders:
        pyproject = folder / "pyproject.toml"
        try:
            table = _tool_table(_read_toml(pyproject)) if pyproject.is_file() else None
        except ConfigError:
            continue  # an unrelated, broken file above the project (a template, say) is not ours
        if table is not None:
            named = table.get("alembic-config")
            if isinstance(named, str) and (folder / named).resolve() == ini.resolve():
                return pyproject
            return None
    return None


def ini_database_url(ini: Path) -> str | None:
    """alembic.ini's sqlalchemy.url (relative SQLite paths made absolute against its folder)."""
    parser = configparser.ConfigParser(defaults={"here": str(ini.parent)})
    try:
        parser.read(ini, encoding="utf-8")
        url = parser.get("alembic", "sqlalchemy.url", fallback="").strip()
    except configparser.Error as exc:
        first = str(exc.message).strip().splitlines()[0]
        line = getattr(exc, "lineno", None)
        where = f"{ini}:{line}" if line else str(ini)
        raise ConfigError(f"{where}: cannot read alembic config ({first})") from exc
    if not url or url == ALEMBIC_PLACEHOLDER_URL:
        return None
    return absolute_sqlite_url(url, ini.parent)


def load_settings(
    *,
    config: Path | None = None,
    cwd: Path | None = None,
    script_location: Path | None = None,
    url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read settings the way every command does. `config` is a pyproject.toml or a plain TOML file."""
    cwd = (cwd or Path.cwd()).resolve()
    env = os.environ if environ is None else environ
    if config is not None:
        config = (cwd / config).resolve()
        if not config.is_file():
            raise ConfigError(f"{config}: config file not found; check the --config path")
        doc = _read_toml(config)
        table = _tool_table(doc)
        if table is None:
            if config.name == "pyproject.toml":
                raise ConfigError(f"{config}: no [tool.expandcontract] table; add one or drop --config")
            table = doc
        project_dir = config.parent
    else:
        config, project_dir = find_project(cwd)
        table = _tool_table(_read_toml(config)) if config else None
        if config is not None:
            project_dir = config.parent

    settings = Settings(project_dir=project_dir, config_file=config)
    if config is not None and table is not None:
        settings = _apply_table(settings, table, config)
    if settings.alembic_config is None and settings.script_location is None:
        ini = project_dir / "alembic.ini"
        if ini.is_file():
            settings = replace(settings, alembic_config=ini)
    if settings.alembic_config is not None and not settings.alembic_config.is_file():
        raise ConfigError(f"{settings.alembic_config}: alembic config file not found; fix `alembic-config`")
    if settings.database_url is None and settings.alembic_config is not None:
        settings = replace(settings, database_url=ini_database_url(settings.alembic_config))
    alembic_toml = settings.alembic_dir / "pyproject.toml"
    if alembic_toml.is_file() and _has_tool_alembic(_read_toml(alembic_toml)):
        settings = replace(settings, alembic_toml=alembic_toml)
    if script_location is not None:
        settings = replace(
            settings,
            script_location=(cwd / script_location).resolve(),
            alembic_config=None,
            alembic_toml=None,
        )
    # URLs given here are relative to where the command runs, as SQLAlchemy would read them
    if env.get(URL_ENV):
        settings = replace(settings, database_url=absolute_sqlite_url(env[URL_ENV], cwd))
    if url:
        settings = replace(settings, database_url=absolute_sqlite_url(url, cwd))
    return settings
