"""Apply revisions with Alembic's own `upgrade`, and read where a database stands."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError

from expandcontract.alembic_ext.envhook import REVIEWED_KEY, pending_revisions
from expandcontract.alembic_ext.project import AlembicProject, alembic_config, frames_in, project_imports
from expandcontract.db_messages import one_line, safe_url
from expandcontract.errors import DatabaseError, ExpandContractError
from expandcontract.settings import Settings


@contextmanager
def _in_project_dir(settings: Settings) -> Iterator[None]:
    # Alembic resolves relative paths (prepend_sys_path, relative URLs) against the working directory
    folder = settings.alembic_dir
    saved = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved)


def current_heads(settings: Settings) -> tuple[str, ...]:
    """The revisions the database's version table says are applied (empty for a new database)."""
    url = settings.require_url()
    try:
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            if not Path(parsed.database).exists():
                return ()  # a database file not created yet has nothing applied; do not create it
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
        raise DatabaseError(f"invalid database URL {safe_url(url)}: {one_line(exc)}") from exc
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": settings.version_table,
                    "version_table_schema": settings.version_table_schema,
                },
            )
            return tuple(context.get_current_heads())
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read the version table at {safe_url(url)}: {one_line(exc)}") from exc
    finally:
        engine.dispose()


def planned(project: AlembicProject, target: str, current: tuple[str, ...]) -> list[str]:
    """Revisions `alembic upgrade target` would apply from `current`, in order."""
    try:
        return pending_revisions(project.script, target, current)
    except CommandError as exc:
        raise ExpandContractError(
            f"cannot plan `alembic upgrade {target}` from {', '.join(current) or 'base'}: {one_line(exc)}; "
            "`expandcontract check` shows what is wrong with the layout"
        ) from exc


def run_upgrade(settings: Settings, target: str, sql: bool, reviewed: set[str]) -> None:
    """`alembic upgrade target [--sql]` through the project's env.py."""
    if not settings.alembic_configured:
        raise ExpandContractError(
            "upgrade runs the project's env.py and needs its alembic.ini; set `alembic-config` "
            "under [tool.expandcontract] or run where alembic.ini is"
        )
    cfg = alembic_config(settings)
    cfg.attributes[REVIEWED_KEY] = reviewed
    try:
        with _in_project_dir(settings), project_imports(settings):
            command.upgrade(cfg, target, sql=sql)
    except CommandError as exc:
        raise ExpandContractError(f"alembic upgrade {target}: {one_line(exc)}") from exc
    except sa.exc.SQLAlchemyError as exc:
        where = safe_url(settings.database_url) if settings.database_url else "the database"
        raise DatabaseError(
            f"alembic upgrade {target} failed on {where}{_user_frame(exc, cfg)}: {one_line(exc)}"
        ) from exc
    except Exception as exc:  # env.py and revision files are user code
        raise ExpandContractError(
            f"alembic upgrade {target} failed{_user_frame(exc, cfg)}: {type(exc).__name__}: {one_line(exc)}"
        ) from exc


def _user_frame(exc: BaseException, cfg: Config) -> str:
    """` at <file>:<line>` of the innermost frame in the project's script directory, if any."""
    frames = frames_in(exc, [Path(cfg.get_alembic_option("script_location") or ".")])
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def autogenerate(
    settings: Settings, message: str, renames: dict[tuple[str, str], str] | None = None
) -> list[Path]:
    """`alembic revision --autogenerate` through the project's env.py, written as an expand and a
    contract revision (see autogen_split); the files written (none when nothing changed)."""
    from expandcontract.alembic_ext.autogen_split import phased_directives
    from expandcontract.alembic_ext.project import open_project, reading_session

    if not settings.alembic_configured:
        raise ExpandContractError(
            "revision --autogenerate runs the project's env.py and needs its alembic.ini; run where it is"
        )
    with reading_session(settings):
        project = open_project(settings, for_writing=True)
        folders = {}
        for phase in ("expand", "contract"):
            roots = project.history.roots_labelled(phase)
            if len(roots) != 1:
                raise ExpandContractError(
                    f"the project has no `{phase}` branch root; run `expandcontract adopt` (or `init`) first"
                )
            folders[phase] = Path(roots[0].path).parent
    cfg = alembic_config(settings)
    prefix = settings.gate.registry_prefix if "sqlite" in (settings.database_url or "") else ""
    process = phased_directives(folders["expand"], folders["contract"], settings.dialect, prefix, renames)
    try:
        with _in_project_dir(settings), project_imports(settings):
            written = command.revision(
                cfg, message=message, autogenerate=True, process_revision_directives=process
            )
    except CommandError as exc:
        raise ExpandContractError(f"alembic revision --autogenerate: {one_line(exc)}") from exc
    except sa.exc.SQLAlchemyError as exc:
        where = safe_url(settings.database_url) if settings.database_url else "the database"
        raise DatabaseError(
            f"alembic revision --autogenerate cannot compare with {where}: {one_line(exc)}"
        ) from exc
    scripts = written if isinstance(written, list) else [written] if written is not None else []
    return [Path(s.path) for s in scripts if s is not None]
