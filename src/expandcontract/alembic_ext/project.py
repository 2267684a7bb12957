"""Open an Alembic project from settings: its Config, its script directory, its history.

Reading never runs the project's env.py: a bare script directory (`--script-location`) works too.
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import importlib
import io
import os
import site
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError

from expandcontract.alembic_ext.stubs import mentions_stand_in, phase_label, stand_in_name
from expandcontract.errors import ConfigError, RevisionLoadError
from expandcontract.history import PHASE_LABELS, History, build_history
from expandcontract.model import DeclaredPhase, RevisionInfo
from expandcontract.settings import Settings


@dataclass(frozen=True)
class AlembicProject:
    settings: Settings
    config: Config  # Alembic's Config for the project, paths made absolute
    script: ScriptDirectory
    history: History
    env_py: Path  # where the project's env.py is (it may not exist for a bare script directory)
    shadow: Any = field(default=None, compare=False, repr=False)  # keeps a stand-in copy alive

    def scripts(self) -> list[Script]:
        """Alembic's Script objects in history order (bases first)."""
        scripts: list[Script] = []
        for info in self.history.revisions:
            found = self.script.get_revision(info.revision)
            assert found is not None
            scripts.append(found)
        return scripts


def resolve_path(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p)


def _check_readable(cfg: Config, source: Path | None) -> None:
    """Every value of alembic.ini's [alembic] section interpolates, so later reads cannot fail half-way."""
    try:
        parser = cfg.file_config
        if parser.has_section(cfg.config_ini_section):
            for option in parser.options(cfg.config_ini_section):
                parser.get(cfg.config_ini_section, option)
    except (configparser.Error, ValueError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"{source}: cannot read Alembic's configuration ({first})") from exc


def alembic_config(settings: Settings) -> Config:
    """An Alembic Config for the project, with every path made absolute."""
    settings.require_project()
    if settings.alembic_configured:
        cfg = Config(
            str(settings.alembic_config) if settings.alembic_config else None,
            toml_file=str(settings.alembic_toml) if settings.alembic_toml else None,
        )
        _check_readable(cfg, settings.alembic_config or settings.alembic_toml)
        base = settings.alembic_dir
        location = settings.script_location or cfg.get_alembic_option("script_location")
        if not location:
            raise ConfigError(
                f"{settings.alembic_config or settings.alembic_toml}: no script_location in [alembic] "
                "(alembic.ini) or [tool.alembic] (pyproject.toml); add one"
            )
        cfg.set_main_option("script_location", str(resolve_path(str(location), base)).replace("%", "%%"))
    else:
        cfg = Config()
        assert settings.script_location is not None
        cfg.set_main_option("script_location", str(settings.script_location).replace("%", "%%"))
    if settings.database_url:
        cfg.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    cfg.attributes["expandcontract.settings"] = settings
    return cfg


def _script_directory(settings: Settings, cfg: Config) -> ScriptDirectory:
    location = Path(cfg.get_alembic_option("script_location") or "")
    if not location.is_dir():
        raise ConfigError(f"{location}: Alembic script directory not found; check script_location")
    base = settings.alembic_dir
    if settings.version_locations:
        versions: list[str] | None = [str(p) for p in settings.version_locations]
    elif not settings.alembic_configured and settings.recursive_version_locations is None:
        versions = _phase_folders(location)
    else:
        listed = cfg.get_version_locations_list() if settings.alembic_configured else None
        versions = [str(resolve_path(v, base)) for v in listed] if listed else None
    recursive = settings.recursive_version_locations
    if recursive is None:
        recursive = settings.alembic_configured and cfg.get_alembic_boolean_option(
            "recursive_version_locations"
        )
    return ScriptDirectory(
        str(location),
        version_locations=versions,
        recursive_version_locations=recursive,
        messaging_opts={"quiet": True},
    )


def _phase_folders(location: Path) -> list[str] | None:
    """A bare script directory laid out for phases reads its branch folders too."""
    root = location / "versions"
    branches = [root / label for label in PHASE_LABELS if (root / label).is_dir()]
    return [str(root), *map(str, branches)] if branches else None


def _depends_on(script: ScriptDirectory, rev: Script) -> tuple[str, ...]:
    raw = rev.dependencies
    if not raw:
        return ()
    names = (raw,) if isinstance(raw, str) else tuple(raw)
    out: list[str] = []
    for name in names:
        for dep in script.revision_map.get_revisions(name):
            dep_id = getattr(dep, "revision", None)
            if dep_id and dep_id not in out:
                out.append(dep_id)
    return tuple(out)


def as_str_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(str(v) for v in value)
    return ()


def _labels(value: object) -> tuple[str, ...]:
    """Declared branch labels. A label taken from a module that is not installed (Neutron's
    `cli.EXPAND_BRANCH`) is read from its name: `expand` or `contract` when the name says so."""
    labels: list[str] = []
    if value is None:
        return ()
    items = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
    for item in items:
        name = stand_in_name(item)
        labels.append(str(item) if name is None else phase_label(name) or name)
    return tuple(labels)


def _revision_info(
    script: ScriptDirectory, rev: Script, original: Callable[[str], str] = str
) -> RevisionInfo:
    module = rev.module
    requires = getattr(module, "requires_release", None)
    return RevisionInfo(
        revision=rev.revision,
        path=original(str(Path(rev.path).resolve())),
        message=(rev.doc or "").strip().splitlines()[0] if rev.doc else "",
        down_revisions=as_str_tuple(rev.down_revision),
        depends_on=_depends_on(script, rev),
        branch_labels=_labels(getattr(module, "branch_labels", None)),
        declared_phase=DeclaredPhase.UNPHASED,
        requires_release=requires if isinstance(requires, str) else None,
    )


FAILS_AT_IMPORT = "fails when imported"


def _locations(script: ScriptDirectory) -> list[Path]:
    return [Path(p).resolve() for p in (script.version_locations or [str(Path(script.dir) / "versions")])]


def frames_in(exc: BaseException, roots: Iterable[Path]) -> list[traceback.FrameSummary]:
    """The frames of an exception's traceback in files at or below `roots` (user code), outermost first."""
    resolved = [Path(root).resolve() for root in roots]
    return [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if any(Path(frame.filename).resolve().is_relative_to(root) for root in resolved)
    ]


def _load_error(exc: BaseException, script: ScriptDirectory, also: Iterable[Path] = ()) -> RevisionLoadError:
    roots = [Path(script.dir).resolve(), *_locations(script), *also]
    if isinstance(exc, SyntaxError):
        where = f"{exc.filename}:{exc.lineno}" if exc.filename else str(roots[0])
        return RevisionLoadError(f"{where}: syntax error in revision file ({exc.msg}); fix the file")
    frames = frames_in(exc, roots)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, CommandError) or not frames:
        # raised by Alembic's graph code, not by a revision file
        return RevisionLoadError(
            f"{roots[0]}: Alembic cannot read the revision history ({type(exc).__name__}: {detail}); "
            "check down_revision, depends_on and branch_labels"
        )
    where = f"{frames[-1].filename}:{frames[-1].lineno}"
    message = f"{where}: revision file fails to import ({type(exc).__name__}: {detail})"
    return RevisionLoadError(
        message,
        failing_import=str(Path(frames[0].filename).resolve()),
        cause=f"{type(exc).__name__}: {detail}",
        line=frames[-1].lineno or 0,
    )


def _import_orm_if_used(script: ScriptDirectory) -> None:
    """Revisions reach `sa.orm` without importing it when their application did; import it for
    them, but only then (it is a fifth of a lint's start-up time)."""
    if "sqlalchemy.orm" in sys.modules:
        return
    pattern = "**/*.py" if script.recursive_version_locations else "*.py"
    for location in _locations(script):
        for path in location.glob(pattern):
            with contextlib.suppress(OSError):
                if b".orm" in path.read_bytes():
                    importlib.import_module("sqlalchemy.orm")
                    return


def _all_revisions(script: ScriptDirectory) -> list[Script]:
    """Every revision, in file-name order (build_history orders them by the graph).

    Alembic's walk_revisions() would also sort them, which costs more than the rest of reading a
    long history; its map already validates the graph (missing parents, duplicate ids)."""
    revision_map = script.revision_map
    revision_map.heads  # noqa: B018 - builds and validates the map
    unique = {id(rev): rev for rev in revision_map._revision_map.values() if isinstance(rev, Script)}
    return sorted(unique.values(), key=lambda rev: (rev.path, rev.revision))


def history_of(
    script: ScriptDirectory, original: Callable[[str], str] = str, also_user_code: Iterable[Path] = ()
) -> History:
    """Load every revision of a script directory and build the history; one-line errors.

    `original` maps a loaded file's path to the path to report, and `also_user_code` names more
    folders of revision files (both for a stand-in mirror)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Alembic warns before raising on a broken graph; we say it once
            revisions = _all_revisions(script)
        infos = [_revision_info(script, rev, original) for rev in revisions]
    except Exception as exc:
        raise _load_error(exc, script, also_user_code) from exc
    return build_history(infos)


_IDENTIFIERS = ("revision", "down_revision", "branch_labels", "depends_on")
_STAND_IN_REVISION = """{doc!r}
# written by expandcontract: the revision file fails when imported, so it is read from its source

__expandcontract_stand_ins__ = {stand_ins!r}

revision = {revision}
down_revision = {down_revision}
branch_labels = {branch_labels}
depends_on = {depends_on}


def upgrade():
    raise RuntimeError({reason!r})
"""


def _static_value(node: ast.expr, known: dict[str, object]) -> object:
    """A value computed from literals and names bound to literals earlier in the file ("a" + B,
    ("x",) + EXTRA); ValueError for anything else."""
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_static_value(e, known) for e in node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _static_value(node.left, known), _static_value(node.right, known)
        if isinstance(left, str | tuple) and type(left) is type(right):
            return left + right  # type: ignore[operator]
        raise ValueError("not a literal sum")
    return ast.literal_eval(node)


def _module_assignments(body: list[ast.stmt]) -> Iterator[tuple[str, ast.expr]]:
    """(name, value) of simple module-level assignments, in order, also inside if/try blocks."""
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            yield node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            yield node.target.id, node.value
        elif isinstance(node, ast.If | ast.Try):
            for block in (node.body, node.orelse, getattr(node, "finalbody", [])):
                yield from _module_assignments(block)


def _identity(path: Path, tree: ast.Module, cause: str, line: int) -> dict[str, str]:
    """The revision identifiers of a file that cannot be imported, as Python source; RevisionLoadError
    when one of them cannot be read statically (guessing would change the graph)."""
    known: dict[str, object] = {}
    values = {name: "None" for name in _IDENTIFIERS}
    for name, node in _module_assignments(tree.body):
        try:
            known[name] = _static_value(node, known)
        except ValueError:
            if name not in _IDENTIFIERS:
                continue  # some other module constant: only the identifiers matter
            label = phase_label(ast.unparse(node)) if name == "branch_labels" else None
            if label is None:
                raise RevisionLoadError(
                    f"{path}:{line}: {FAILS_AT_IMPORT} ({cause}), and its `{name}` cannot be read without "
                    "running it; make the file importable"
                ) from None
            known[name] = (label,)
        if name in _IDENTIFIERS:
            values[name] = repr(known[name])
    if values["revision"] == "None":
        raise RevisionLoadError(f"{path}:{line}: {FAILS_AT_IMPORT} ({cause}) and it names no revision id")
    return values


def _stand_in_revision(path: Path, cause: str, line: int) -> str:
    """A revision with the same identity as `path` whose upgrade() says why it cannot run."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    values = _identity(path, tree, cause, line)
    doc = (ast.get_docstring(tree) or "").splitlines()[0:1]
    missing = _uninstalled_imports(tree)
    reason = f"{FAILS_AT_IMPORT} ({cause}) at line {line}"
    if missing and mentions_stand_in(cause):
        # the error names our stand-in class; say what is missing instead
        error_type = cause.split(":", 1)[0]
        reason = (
            f"{FAILS_AT_IMPORT}: it needs {', '.join(missing)}, not installed ({error_type}) at line {line}"
        )
    return _STAND_IN_REVISION.format(
        doc=doc[0] if doc else "", reason=reason, stand_ins=tuple(missing), **values
    )


def _uninstalled_imports(tree: ast.Module) -> list[str]:
    """The modules a revision imports that were served as stand-ins (it imported them before failing)."""
    names = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module and not n.level]
    return sorted({name for name in names if stand_in_name(sys.modules.get(name)) is not None})


def _mirror(source: Path, target: Path) -> None:
    """`target` mirrors the folder tree `source`, every file a symlink to the original (so healthy
    revisions load from where they are, and `__file__` next to them still works)."""
    target.mkdir(parents=True)
    if not source.is_dir():
        return
    for folder, subfolders, files in os.walk(source):
        subfolders[:] = [d for d in subfolders if d != "__pycache__"]
        here = target / Path(folder).relative_to(source)
        here.mkdir(exist_ok=True)
        for name in files:
            (here / name).symlink_to(Path(folder) / name)


def _with_stand_ins(
    script: ScriptDirectory, error: RevisionLoadError
) -> tuple[ScriptDirectory, History, Any]:
    """Load the history from a mirror of the version folders in which every file that fails when
    imported is replaced by a stand-in revision with the same identity; reported paths stay the
    originals."""
    shadow = tempfile.TemporaryDirectory(prefix="expandcontract-")
    locations = _locations(script)
    # only the outermost folders are mirrored; nested locations (versions/expand) point inside them
    outer = [loc for loc in locations if not any(loc != o and loc.is_relative_to(o) for o in locations)]
    mirrors = {location: Path(shadow.name) / str(index) for index, location in enumerate(outer)}
    for location, mirror in mirrors.items():
        _mirror(location, mirror)

    def mirrored(path: Path) -> Path:
        location = next(loc for loc in mirrors if path.is_relative_to(loc))
        return mirrors[location] / path.relative_to(location)

    def original(path: str) -> str:
        for location, mirror in mirrors.items():
            if Path(path).is_relative_to(mirror):
                return str(location / Path(path).relative_to(mirror))
        return path

    stand_in_script = ScriptDirectory(
        str(script.dir),
        version_locations=[str(mirrored(loc)) for loc in locations],
        recursive_version_locations=script.recursive_version_locations,
        messaging_opts={"quiet": True},
    )
    replaced: set[str] = set()
    while error.failing_import is not None and original(error.failing_import) not in replaced:
        failing = original(error.failing_import)
        replaced.add(failing)
        target = mirrored(Path(failing))
        target.unlink(missing_ok=True)
        target.write_text(_stand_in_revision(Path(failing), error.cause, error.line), encoding="utf-8")
        attempt = ScriptDirectory(
            str(script.dir),
            version_locations=stand_in_script.version_locations,
            recursive_version_locations=script.recursive_version_locations,
            messaging_opts={"quiet": True},
        )
        try:
            return attempt, history_of(attempt, original, also_user_code=outer), shadow
        except RevisionLoadError as again:
            error = again
    raise error


def _refuse_hidden_revisions(script: ScriptDirectory) -> None:
    """No revisions, but Python files in subfolders: a missing recursive setting, not an empty history."""
    for location in _locations(script):
        nested = sorted(p for p in location.glob("*/**/*.py") if "__pycache__" not in p.parts)
        if nested:
            raise ConfigError(
                f"{location}: no revision files directly here, but {len(nested)} in subfolders "
                f"(e.g. {nested[0]}); set recursive-version-locations = true or list the folders "
                "in version-locations"
            )


def open_project(settings: Settings, *, for_writing: bool = False) -> AlembicProject:
    """The project's script directory and history (call inside `reading_session` to read offline).

    A revision file whose module-level code fails when imported does not stop a reading: it is
    replaced by a stand-in of the same identity (and read from its source when captured). Commands
    that write revisions (`for_writing`) need the real directory, so for them it is an error.
    """
    config = alembic_config(settings)
    script = _script_directory(settings, config)
    shadow = None
    _import_orm_if_used(script)
    try:
        history = history_of(script)
    except RevisionLoadError as error:
        if for_writing or error.failing_import is None:
            raise
        script, history, shadow = _with_stand_ins(script, error)
    if not history.revisions and not script.recursive_version_locations:
        _refuse_hidden_revisions(script)
    return AlembicProject(
        settings=settings,
        config=config,
        script=script,
        history=history,
        env_py=Path(script.dir).resolve() / "env.py",
        shadow=shadow,
    )


@contextmanager
def reading_session(settings: Settings) -> Iterator[None]:
    """Where revisions are imported and run offline: stand-ins for missing imports, the project's
    `prepend_sys_path`, and a scratch working directory (revision code may write files)."""
    from expandcontract.alembic_ext.stubs import stand_in_missing_imports

    saved_cwd = os.getcwd()
    with project_imports(settings):
        if settings.alembic_configured:
            cfg = alembic_config(settings)
            for entry in reversed(cfg.get_prepend_sys_paths_list() or []):
                sys.path.insert(0, str(resolve_path(entry, settings.alembic_dir)))
        else:
            sys.path.insert(0, str(settings.project_dir))
        # what revisions print() must not mix with the command's own output (--json)
        with (
            tempfile.TemporaryDirectory(prefix="expandcontract-") as scratch,
            stand_in_missing_imports(),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            os.chdir(scratch)
            try:
                yield
            finally:
                os.chdir(saved_cwd)


@contextmanager
def project_imports(settings: Settings) -> Iterator[None]:
    """Leave the process as it was: `sys.path` restored, and the project's own modules (its app,
    its env.py helpers) forgotten, so another project read in the same process imports its own."""
    folder = settings.alembic_dir.resolve()
    installed = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, *site.getsitepackages()}]
    saved_path = list(sys.path)
    before = set(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None)
            if not origin:
                continue
            where = Path(origin).resolve()
            # the project's own code, not what is installed (a .venv may live inside the project)
            if where.is_relative_to(folder) and not any(where.is_relative_to(p) for p in installed):
                del sys.modules[name]
        for entry in [k for k in sys.path_importer_cache if not os.path.isabs(k)]:
            del sys.path_importer_cache[entry]  # finders cached for "." belong to the old working folder
