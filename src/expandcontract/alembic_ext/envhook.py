"""What a project's env.py calls, so plain `alembic upgrade` honours the contract gate.

from expandcontract.alembic_ext.envhook import before_migrations, database_url
...
with context.begin_transaction():
    before_migrations(context)
    context.run_migrations()
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from expandcontract.alembic_ext.lock_safe import install_retries, install_statement_timeouts
from expandcontract.alembic_ext.project import as_str_tuple, history_of
from expandcontract.errors import ExpandContractError
from expandcontract.gate.hook import blocked_message, review_contract
from expandcontract.gate.run_lock import lock_session
from expandcontract.history import History
from expandcontract.model import DeclaredPhase, RevisionInfo
from expandcontract.settings import (
    ALEMBIC_PLACEHOLDER_URL,
    URL_ENV,
    Settings,
    absolute_sqlite_url,
    ini_database_url,
    load_settings,
)

SETTINGS_KEY = "expandcontract.settings"
REVIEWED_KEY = "expandcontract.reviewed"  # contract revisions our own CLI already had the gate review


def _settings(config: Config) -> Settings:
    given = config.attributes.get(SETTINGS_KEY)
    if isinstance(given, Settings):
        return given
    folder = Path(config.config_file_name).resolve().parent if config.config_file_name else Path.cwd()
    try:
        return load_settings(cwd=folder)
    except ExpandContractError as exc:
        raise CommandError(str(exc)) from exc


def _migrated_url(context: EnvironmentContext) -> str | None:
    """The database this run migrates, whatever the settings say (env.py may choose another)."""
    connection = context.get_context().connection
    if not context.is_offline_mode() and connection is not None:
        return connection.engine.url.render_as_string(hide_password=False)
    try:
        return database_url(context.config)
    except CommandError:
        return None


def version_table_options(config: Config) -> dict[str, str | None]:
    """`version_table` / `version_table_schema` for `context.configure()`, from [tool.expandcontract],
    so `status` and the migrations agree on where the applied revisions are recorded."""
    settings = _settings(config)
    return {"version_table": settings.version_table, "version_table_schema": settings.version_table_schema}


def revision_directives(context: Any, revision: Any, directives: list[Any]) -> None:
    """`process_revision_directives` for env.py: plain `alembic revision --autogenerate` writes the
    expand revision and the contract revision (see docs/autogenerate.md). A project without both
    branches gets Alembic's single revision."""
    from expandcontract.alembic_ext.autogen_split import phased_directives

    # Alembic hands the MigrationContext here, not the EnvironmentContext env.py holds
    settings = _settings(context.config)
    history = history_of(context.script)
    roots = [history.roots_labelled(phase) for phase in ("expand", "contract")]
    if any(len(found) != 1 for found in roots):
        return
    url = str(context.connection.engine.url) if context.connection is not None else ""
    prefix = settings.gate.registry_prefix if url.startswith("sqlite") else ""
    folders = [Path(found[0].path).parent for found in roots]
    phased_directives(folders[0], folders[1], settings.dialect, prefix)(context, revision, directives)


def expandcontract_options(config: Config) -> dict[str, Any]:
    """Everything env.py passes to `context.configure()` for expandcontract: where the version
    table is, and the phased autogenerate."""
    return {**version_table_options(config), "process_revision_directives": revision_directives}


def database_url(config: Config) -> str:
    """The URL to migrate, as every expandcontract command would pick it.

    expandcontract's own --url (when it runs Alembic), then EXPANDCONTRACT_DATABASE_URL, then a URL
    set on the Config in code (it differs from the file's), then `database-url` under
    [tool.expandcontract], then alembic.ini's sqlalchemy.url.
    """
    given = config.attributes.get(SETTINGS_KEY)
    if isinstance(given, Settings) and given.database_url:
        return given.database_url
    if os.environ.get(URL_ENV):
        return os.environ[URL_ENV]
    settings = _settings(config)
    in_config = config.get_main_option("sqlalchemy.url")
    in_file = ini_database_url(settings.alembic_config) if settings.alembic_config else None
    if (
        in_config
        and in_config != ALEMBIC_PLACEHOLDER_URL
        and (in_file is None or absolute_sqlite_url(in_config, settings.alembic_dir) != in_file)
    ):
        return in_config
    if not settings.database_url:
        raise CommandError(
            f"no database URL: set sqlalchemy.url in {config.config_file_name or 'alembic.ini'}, "
            f"database-url under [tool.expandcontract], or {URL_ENV}"
        )
    return settings.database_url


def pending_revisions(script: ScriptDirectory, destination: str, current: tuple[str, ...]) -> list[str]:
    """Revisions an upgrade from `current` to `destination` applies, in order.

    Raises Alembic's CommandError when `destination` is no upgrade target from `current`.
    """
    # the same step computation `alembic upgrade` runs
    steps = script._upgrade_revs(destination, current)  # type: ignore[arg-type]  # Alembic passes heads too
    return [step.revision.revision for step in steps if step.is_upgrade]


def _lock_safety(context: EnvironmentContext, destination: Any) -> None:
    """On PostgreSQL: each DDL statement waits for its lock at most `lock-timeout` (also in `--sql`
    output), and online each revision that times out is retried `lock-retries` times."""
    migration = context.get_context()
    settings = _settings(context.config)
    if settings.lock_timeout is None or migration.dialect.name != "postgresql":
        return
    online_retries = 0 if context.is_offline_mode() else settings.lock_retries
    install_statement_timeouts(migration, settings.lock_timeout, settings.version_table, online_retries)
    if not online_retries:
        return
    ordered, _ = _planned(context, destination)
    install_retries(migration, [context.script.get_revision(r) for r in ordered], settings.lock_retries)


def before_migrations(context: EnvironmentContext) -> None:
    """Refuse the run if it would apply a contract revision the gate does not allow, and set the
    project's `lock-timeout` (PostgreSQL).

    Call it in env.py right before `context.run_migrations()`, online and offline.
    """
    try:
        destination = context.get_revision_argument()
    except KeyError:  # `alembic current`, `check`, autogenerate: commands that apply nothing
        return
    if destination is None:
        return
    _lock_safety(context, destination)
    history = history_of(context.script)
    pending, current = _pending_contract(context, destination, history)
    if not pending:
        return
    settings = replace(_settings(context.config), database_url=_migrated_url(context))
    migration = context.get_context()
    if not context.is_offline_mode() and migration.dialect.name == "postgresql" and migration.connection:
        # one contract run at a time; once the lock is ours, a run before us may have moved the heads
        try:
            lock_session(migration.connection, settings.gate.lock_wait_seconds)
        except ExpandContractError as exc:
            raise CommandError(str(exc)) from exc
        pending, current = _pending_contract(context, destination, history)
        if not pending:
            return
    try:
        verdicts = review_contract(settings, history, pending, history.ancestors(current))
    except ExpandContractError as exc:
        raise CommandError(f"the contract gate cannot decide: {exc}") from exc
    if not all(v.allowed for v in verdicts):
        raise CommandError(blocked_message(verdicts))


def _pending_contract(
    context: EnvironmentContext, destination: Any, history: History
) -> tuple[list[RevisionInfo], tuple[str, ...]]:
    """(the contract revisions this run applies, in order, that expandcontract's own CLI did not
    already put to the gate; the heads the run starts from)."""
    ordered, current = _planned(context, destination)
    reviewed = context.config.attributes.get(REVIEWED_KEY, set())
    pending = [
        history.by_id[r]
        for r in ordered
        if history.by_id[r].declared_phase is DeclaredPhase.CONTRACT and r not in reviewed
    ]
    return pending, current


def _planned(context: EnvironmentContext, destination: Any) -> tuple[list[str], tuple[str, ...]]:
    """(the revisions this run applies, in order; the heads it starts from)."""
    if context.is_offline_mode():
        start = context.get_starting_revision_argument()
        current: tuple[str, ...] = () if start in (None, "base") else as_str_tuple(start)
    else:
        current = tuple(context.get_context().get_current_heads())
    target = destination if isinstance(destination, str) else tuple(destination)
    try:
        return pending_revisions(context.script, target, current), current  # type: ignore[arg-type]
    except CommandError:
        return [], current  # a downgrade, or a target Alembic itself will refuse with its own message
