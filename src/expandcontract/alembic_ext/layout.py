"""Write the phased layout: `init` a new project, `adopt` an existing one, add a phased `revision`."""

from __future__ import annotations

import configparser
import os
import re
import string
import warnings
from importlib import resources
from pathlib import Path

from alembic.config import MessagingOptions
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError, rev_id

from expandcontract.alembic_ext.project import AlembicProject, alembic_config, open_project, resolve_path
from expandcontract.checks import calls_gate_hook
from expandcontract.errors import LayoutError
from expandcontract.history import CONTRACT_LABEL, EXPAND_LABEL, PHASE_LABELS, History
from expandcontract.model import DeclaredPhase, RevisionInfo, WrittenLayout
from expandcontract.settings import Settings

QUIET: MessagingOptions = {"quiet": True}  # we report what we wrote ourselves
_TEMPLATES = resources.files("expandcontract.alembic_ext") / "templates"


def _template(name: str) -> str:
    return (_TEMPLATES / name).read_text(encoding="utf-8")


def _writable(script: ScriptDirectory, *folders: Path) -> ScriptDirectory:
    """The script directory with `folders` added to its version locations (Alembic writes only there)."""
    locations = list(script.version_locations or [str(Path(script.dir) / "versions")])
    known = {Path(p).resolve() for p in locations}
    locations += [str(f) for f in folders if f.resolve() not in known]
    return ScriptDirectory(
        str(script.dir),
        version_locations=locations,
        recursive_version_locations=script.recursive_version_locations,
        messaging_opts=QUIET,
    )


def _generate(script: ScriptDirectory, message: str, **kw: object) -> Script:
    try:
        with warnings.catch_warnings():
            # a recursive version location also lists the folders added by _writable
            warnings.simplefilter("ignore")
            written = script.generate_revision(rev_id(), message, **kw)  # type: ignore[arg-type]
    except Exception as exc:  # CommandError, RevisionError: Alembic's refusals, one line each
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LayoutError(f"{script.dir}: Alembic refused to write the revision ({detail})") from exc
    assert written is not None
    return written


_BRANCH_MESSAGES = {
    EXPAND_LABEL: "expand branch: revisions that run before the code deploy",
    CONTRACT_LABEL: "contract branch: revisions that run after the rollout, behind the gate",
}


def _branch_roots(
    script: ScriptDirectory, root: str | tuple[str, ...], versions: Path
) -> tuple[Script, Script]:
    """The expand and contract branch roots on `root`, each in its own folder under `versions`."""
    written: list[Script] = []
    for label, message in _BRANCH_MESSAGES.items():
        (versions / label).mkdir(exist_ok=True)
        written.append(
            _generate(
                script,
                message,
                head=root,
                splice=True,
                branch_labels=[label],
                version_path=str(versions / label),
            )
        )
    return written[0], written[1]


def _pyproject_section(project_dir: Path, script_dir: Path) -> Path | None:
    """Append [tool.expandcontract] to an existing pyproject.toml that has none."""
    pyproject = project_dir / "pyproject.toml"
    if not pyproject.is_file() or "[tool.expandcontract]" in pyproject.read_text(encoding="utf-8"):
        return None
    with pyproject.open("a", encoding="utf-8") as fh:
        fh.write(
            "\n[tool.expandcontract]\n"
            'alembic-config = "alembic.ini"\n'
            'dialect = "postgresql"\n'
            "postgresql-version = 16\n"
        )
    return pyproject


def init_project(project_dir: Path, script_dir: str = "migrations", url: str = "") -> WrittenLayout:
    """Create alembic.ini and a phased script directory with the common root and both branch roots."""
    project_dir = project_dir.resolve()
    target = (project_dir / script_dir).resolve()
    ini = project_dir / "alembic.ini"
    if ini.exists():
        raise LayoutError(f"{ini}: already exists; to phase an existing project run `expandcontract adopt`")
    if target.exists() and not target.is_dir():
        raise LayoutError(f"{target}: exists and is not a folder; choose another DIR")
    if target.exists() and any(target.iterdir()):
        raise LayoutError(f"{target}: folder exists and is not empty; choose another DIR or empty it")
    versions = target / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(target, project_dir)
    ini.write_text(
        string.Template(_template("alembic.ini.tmpl")).substitute(
            script_dir=rel.replace("%", "%%"), url=url.replace("%", "%%")
        ),
        encoding="utf-8",
    )
    (target / "env.py").write_text(_template("env.py.tmpl"), encoding="utf-8")
    (target / "script.py.mako").write_text(_template("script.py.mako"), encoding="utf-8")
    (target / "README").write_text(_template("README.tmpl"), encoding="utf-8")
    script = ScriptDirectory(str(target), version_locations=[str(versions)], messaging_opts=QUIET)
    root = _generate(
        script, "common root of the expand and contract branches", head="base", version_path=str(versions)
    )
    script = ScriptDirectory(
        str(target),
        version_locations=[str(versions), str(versions / EXPAND_LABEL), str(versions / CONTRACT_LABEL)],
        messaging_opts=QUIET,
    )
    expand, contract = _branch_roots(script, root.revision, versions)
    created = [
        ini,
        target / "env.py",
        target / "README",
        target / "script.py.mako",
        Path(root.path),
        Path(expand.path),
        Path(contract.path),
    ]
    pyproject = _pyproject_section(project_dir, target)
    if pyproject:
        created.append(pyproject)
    return WrittenLayout(
        created=tuple(created),
        root=root.revision,
        expand_root=expand.revision,
        contract_root=contract.revision,
    )


# --- adopt ------------------------------------------------------------------------------------


def _describe(info: RevisionInfo) -> str:
    return f"{info.revision} ({info.message or 'no message'}; {info.path})"


def adoption_root(history: History) -> str | None:
    """The revision that becomes the common root, or None if the project is already phased.

    Raises LayoutError on histories that cannot be adopted safely.
    """
    expand_roots = history.roots_labelled(EXPAND_LABEL)
    contract_roots = history.roots_labelled(CONTRACT_LABEL)
    if expand_roots or contract_roots:
        if (
            len(expand_roots) == 1
            and len(contract_roots) == 1
            and expand_roots[0].down_revisions == contract_roots[0].down_revisions
        ):
            return None
        raise LayoutError(
            "the history already uses the `expand`/`contract` branch labels but not as two branch roots "
            "on one common root; fix the labels by hand (see docs/adopt.md) and run `expandcontract check`"
        )
    if not history.revisions:
        raise LayoutError("the history has no revisions; start with `expandcontract init` instead")
    heads = history.heads
    if len(heads) > 1:
        described = "; ".join(_describe(history.by_id[h]) for h in heads)
        raise LayoutError(
            f"the history has {len(heads)} heads: {described}; merge them first (`alembic merge heads`) "
            "or rerun with --merge to write that merge revision as the common root"
        )
    return heads[0]


def _refuse_unlisted_branch_files(versions: Path) -> None:
    """Branch folders that hold revisions the configured locations do not read: an earlier adopt
    whose folders were never added. Writing new roots would give the history two of each."""
    for label in (EXPAND_LABEL, CONTRACT_LABEL):
        found = sorted((versions / label).glob("*.py"))
        if found:
            raise LayoutError(
                f"{versions / label}: holds revision files ({found[0].name}, ...) that the configured "
                "version locations do not read; add the folder to `version-locations` (or alembic.ini's "
                "version_locations) and run `expandcontract check`"
            )


def _ini_separator(parser: configparser.ConfigParser, section: str) -> str:
    """How Alembic splits version_locations here: path_separator, its older name, or legacy spaces."""
    value = parser.get(section, "path_separator", fallback=None) or parser.get(
        section, "version_path_separator", fallback=None
    )
    return {"space": " ", "newline": "\n    ", "os": os.pathsep, ":": ":", ";": ";"}.get(
        (value or "space").strip(), " "
    )


def _set_key(path: Path, section: str, key_pattern: str, line: str) -> None:
    """Replace (or add) one key of one section of a config file, leaving every other line as it was."""
    text = path.read_text(encoding="utf-8")
    start = re.search(rf"^\[{re.escape(section)}\][^\n]*\n", text, re.MULTILINE)
    if start is None:
        raise LayoutError(f"{path}: no [{section}] section; is this Alembic's configuration?")
    following = text[start.end() :]
    next_section = re.search(r"^\[", following, re.MULTILINE)
    body_end = start.end() + (next_section.start() if next_section else len(following))
    body = text[start.end() : body_end]
    key = re.compile(key_pattern, re.MULTILINE)
    body = key.sub(lambda _: line, body, count=1) if key.search(body) else line + body
    path.write_text(text[: start.end()] + body + text[body_end:], encoding="utf-8")


def _ini_has(ini: Path, section: str, option: str) -> bool:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini, encoding="utf-8")
    return parser.has_option(section, option)


def _version_locations(settings: Settings) -> list[Path]:
    cfg = alembic_config(settings)
    return [resolve_path(p, settings.alembic_dir).resolve() for p in cfg.get_version_locations_list() or []]


def _add_version_locations(settings: Settings, versions: Path) -> Path | None:
    """Make versions/expand and versions/contract version locations, in alembic.ini or in
    pyproject.toml's [tool.alembic], wherever the project keeps its script_location. Returns the
    file changed, if any. The file is read back through Alembic; if Alembic would not see every
    folder, it is restored and the user is told what to add by hand."""
    cfg = alembic_config(settings)
    if cfg.get_alembic_boolean_option("recursive_version_locations"):
        return None
    current = _version_locations(settings) or [versions.resolve()]
    wanted = [p.resolve() for p in (versions / EXPAND_LABEL, versions / CONTRACT_LABEL)]
    wanted = [p for p in wanted if p not in current]
    if not wanted:
        return None
    here = settings.alembic_dir.resolve()
    entries = [f"%(here)s/{os.path.relpath(p, here)}" for p in [*current, *wanted]]
    ini = settings.alembic_config
    target = ini
    if settings.alembic_toml is not None and not (
        ini and _ini_has(ini, cfg.config_ini_section, "script_location")
    ):
        target = settings.alembic_toml
    assert target is not None
    original = target.read_text(encoding="utf-8")
    if target == settings.alembic_toml:
        listing = "".join(f'    "{entry}",\n' for entry in entries)
        _set_key(
            target,
            "tool.alembic",
            r"^version_locations\s*=\s*\[[^\]]*\][^\n]*\n?",
            f"version_locations = [\n{listing}]\n",
        )
    else:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(original)
        sep = _ini_separator(parser, cfg.config_ini_section)
        value = sep.join(entries) if "\n" not in sep else sep + sep.join(entries)
        _set_key(
            target,
            cfg.config_ini_section,
            r"^version_locations\s*[=:].*(\n[ \t]+.*)*\n?",
            f"version_locations = {value}\n",
        )
    if not set(current + wanted) <= set(_version_locations(settings)):
        target.write_text(original, encoding="utf-8")
        raise LayoutError(
            f"{target}: could not add the branch folders to version_locations safely; add "
            f"{', '.join(str(p) for p in wanted)} to it by hand, then run `expandcontract adopt` again"
        )
    return target


def adopt_project(settings: Settings, merge: bool = False) -> WrittenLayout | None:
    """Phase an existing history: its head becomes the common root. None when already adopted."""
    project = open_project(settings, for_writing=True)
    history = project.history
    template = Path(project.script.dir) / "script.py.mako"
    if not template.is_file():
        raise LayoutError(
            f"{template}: not found; Alembic writes new revisions from it (copy one from `alembic init`)"
        )
    created: list[Path] = []
    try:
        root = adoption_root(history)
    except LayoutError:
        if not (
            merge
            and len(history.heads) > 1
            and not history.roots_labelled(EXPAND_LABEL)
            and not history.roots_labelled(CONTRACT_LABEL)
        ):
            raise
        merged = _generate(
            project.script,
            "merge heads: common root of the expand and contract branches",
            head=tuple(history.heads),
            version_path=str(Path(history.by_id[history.heads[0]].path).parent),
        )
        root = merged.revision
        created.append(Path(merged.path))
    if root is None:
        return None
    # the branch folders go beside the file of the revision that becomes the common root
    versions = Path(created[0] if created else history.by_id[root].path).parent
    _refuse_unlisted_branch_files(versions)
    notes: list[str] = []
    if settings.alembic_configured:
        changed = _add_version_locations(settings, versions)
        if changed:
            created.append(changed)
    elif settings.version_locations:  # a bare script directory without them reads the branch folders itself
        notes.append(
            "add the new folders to `version-locations` under [tool.expandcontract] (or set "
            "`recursive-version-locations = true`)"
        )
    script = _writable(project.script, versions / EXPAND_LABEL, versions / CONTRACT_LABEL)
    expand, contract = _branch_roots(script, root, versions)
    created += [Path(expand.path), Path(contract.path)]
    if not _env_calls_hook(project):
        notes.append(
            f"{project.env_py}: call the gate before running migrations, so plain `alembic upgrade` honours "
            "it: `from expandcontract.alembic_ext.envhook import before_migrations` and "
            "`before_migrations(context)` right before `context.run_migrations()`"
        )
    return WrittenLayout(
        created=tuple(created),
        root=root,
        expand_root=expand.revision,
        contract_root=contract.revision,
        notes=tuple(notes),
    )


def _env_calls_hook(project: AlembicProject) -> bool:
    return project.env_py.is_file() and calls_gate_hook(project.env_py)


# --- revision ---------------------------------------------------------------------------------


def completion_candidates(history: History) -> list[RevisionInfo]:
    """Expand revisions no contract revision depends on yet, newest first."""
    claimed = {d for r in history.in_phase(DeclaredPhase.CONTRACT) for d in r.depends_on}
    candidates = [
        r
        for r in history.in_phase(DeclaredPhase.EXPAND)
        if r.revision not in claimed and EXPAND_LABEL not in r.branch_labels
    ]
    return list(reversed(candidates))


def new_revision(settings: Settings, message: str, phase: str, completes: str | None = None) -> Path:
    """Write an empty revision at the head of a phase branch, in that branch's folder."""
    if phase not in PHASE_LABELS:
        raise LayoutError(f"unknown phase {phase!r}; use expand or contract")
    project = open_project(settings, for_writing=True)
    roots = project.history.roots_labelled(phase)
    if len(roots) != 1:
        raise LayoutError(
            f"the project has no `{phase}` branch root; run `expandcontract adopt` (or `init`) first"
        )
    depends_on: list[str] | None = None
    if completes:
        if phase != CONTRACT_LABEL:
            raise LayoutError(
                "--completes is for contract revisions: it names the expand revision they finish"
            )
        try:
            found = project.script.get_revision(completes)
        except CommandError as exc:
            raise LayoutError(f"--completes {completes}: {exc}") from exc
        info = project.history.by_id.get(found.revision) if found else None
        if info is None or info.declared_phase is not DeclaredPhase.EXPAND:
            raise LayoutError(f"--completes {completes}: not a revision on the expand branch")
        if EXPAND_LABEL in info.branch_labels:
            raise LayoutError(
                f"--completes {completes}: that is the empty expand branch root; name the expand "
                "revision whose change this contract revision finishes"
            )
        depends_on = [info.revision]
    folder = Path(roots[0].path).parent
    written = _generate(
        _writable(project.script, folder),
        message,
        head=f"{phase}@head",
        version_path=str(folder),
        depends_on=depends_on,
    )
    return Path(written.path)
