"""Write a case to a temporary folder and lint it through the public API.

Phased histories: base revisions (versions/), the common root (versions/), the expand and contract branch
roots, then the expand revisions (versions/expand/) and the contract revisions (versions/contract/), each
branch in the order given. A stray revision grows from the common root in versions/. Unphased histories are
one chain in versions/.

Unless the case asks for the whole history, the lint targets the range after the released history
(`<last base revision>:heads`): exactly the revisions under test, unreleased together.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from expandcontract import api
from expandcontract.lint import LintResult
from expandcontract.settings import LintSettings, Settings
from lint_corpus.case import Case, EnvKind, Rev
from lint_corpus.schema import HEADER

_ENV_HEAD = (
    '"""env.py of a benchmark project (never run: the linter reads it)."""\n'
    "from alembic import context\nfrom sqlalchemy import create_engine\n"
)
_HOOK_IMPORT = "from expandcontract.alembic_ext.envhook import before_migrations\n"
_ENV_BODY = """

def run_migrations_online():
    engine = create_engine("postgresql+psycopg://bench@localhost/bench"{connect})
    with engine.connect() as connection:
        context.configure(connection=connection{per_migration})
        with context.begin_transaction():
            {call}context.run_migrations()


run_migrations_online()
"""


def _env(connect: str = "", hook: bool = True, per_migration: bool = True) -> str:
    body = _ENV_BODY.format(
        connect=connect,
        per_migration=", transaction_per_migration=True" if per_migration else "",
        call="before_migrations(context)\n            " if hook else "",
    )
    return _ENV_HEAD + (_HOOK_IMPORT if hook else "") + body


ENV_PY: dict[EnvKind, str | None] = {
    "none": None,
    # as `expandcontract init` writes it: one transaction per revision, and before_migrations(), which
    # sets `lock-timeout` (2s by default)
    "hook": _env(),
    "plain": _env(hook=False),  # no hook: nothing sets lock_timeout
    "shared": _env(per_migration=False),  # Alembic's default: one transaction for the whole upgrade
    "lock_timeout": _env(', connect_args={"options": "-c lock_timeout=2s"}', hook=False),
    "statement_timeout": _env(', connect_args={"options": "-c statement_timeout=60s"}'),
}


def _revision_file(rev: Rev, rev_id: str, down: str | None, labels: tuple[str, ...] = ()) -> str:
    doc = rev.docstring or f"revision {rev_id}"
    body = textwrap.indent(textwrap.dedent(rev.body).strip() or "pass", "    ")
    return (
        f'"""{doc}"""\n{HEADER}{textwrap.dedent(rev.module)}\n'
        f"revision = {rev_id!r}\ndown_revision = {down!r}\nbranch_labels = {labels or None!r}\n"
        f"depends_on = {rev.depends_on or None!r}\n\n\n"
        f"def upgrade():\n{body}\n\n\ndef downgrade():\n    pass\n"
    )


def write_history(case: Case, root: Path) -> tuple[Settings, str]:
    """The project's settings and the id of the last released (base) revision."""
    script = root / "migrations"
    versions = script / "versions"
    for folder in (versions, versions / "expand", versions / "contract"):
        folder.mkdir(parents=True, exist_ok=True)
    env_py = ENV_PY[case.env]
    if env_py is not None:
        (script / "env.py").write_text(env_py, encoding="utf-8")
    counters: dict[str, int] = {}

    def write(rev: Rev, down: str | None, folder: str, labels: tuple[str, ...] = ()) -> str:
        rev_id = rev.rev_id
        if rev_id is None:
            prefix = {"base": "b", "expand": "e", "contract": "c", "unphased": "u", "stray": "s"}[rev.phase]
            counters[prefix] = counters.get(prefix, 0) + 1
            rev_id = f"{prefix}{counters[prefix]}"
        where = versions / (rev.folder if rev.folder is not None else folder)
        (where / f"{rev_id}.py").write_text(_revision_file(rev, rev_id, down, labels), encoding="utf-8")
        return rev_id

    phased = not any(r.phase == "unphased" for r in case.revisions)
    if not phased and any(r.phase in ("expand", "contract", "stray") for r in case.revisions):
        raise ValueError(f"{case.name}: unphased revisions cannot share a history with phased ones")
    down: str | None = None
    for rev in case.revisions:
        if rev.phase == "base":
            down = write(rev, down, "")
    released = down
    if not phased:
        for rev in case.revisions:
            if rev.phase == "unphased":
                down = write(rev, down, "")
    else:
        released = write(Rev(body="pass", phase="base", rev_id="root"), down, "")
        heads = {
            "expand": write(Rev("pass", "expand", rev_id="expand_root"), released, "expand", ("expand",)),
            "contract": write(
                Rev("pass", "contract", rev_id="contract_root"), released, "contract", ("contract",)
            ),
        }
        for rev in case.revisions:
            if rev.phase in ("expand", "contract"):
                heads[rev.phase] = write(rev, heads[rev.phase], rev.phase)
            elif rev.phase == "stray":
                write(rev, released, "")
    if released is None:
        raise ValueError(f"{case.name}: an Alembic case needs at least one base revision")
    settings = Settings(
        project_dir=root,
        script_location=script,
        version_locations=(versions, versions / "expand", versions / "contract"),
        postgresql_version=case.postgresql_version,
    )
    return settings, released


def _with_overrides(settings: Settings, case: Case) -> Settings:
    lint_fields = {f.name for f in dataclasses.fields(LintSettings)}
    lint = {k: v for k, v in case.settings.items() if k in lint_fields}
    top = {k: v for k, v in case.settings.items() if k not in lint_fields}
    settings = dataclasses.replace(settings, postgresql_version=case.postgresql_version, **top)  # type: ignore[arg-type]
    return dataclasses.replace(settings, lint=dataclasses.replace(settings.lint, **lint))  # type: ignore[arg-type]


def run_case(case: Case, root: Path, cache_dir: Path | None = None) -> LintResult:
    """Lint `case` in `root` (an empty temporary folder). `cache_dir`: a capture cache the cases share
    (the baseline revision is the same file in most of them); None keeps each case's cache to itself."""
    ignore = () if case.timeouts else ("EC403",)
    if case.sql is not None:
        path = root / "case.sql"
        path.write_text(textwrap.dedent(case.sql).strip() + "\n", encoding="utf-8")
        settings = _with_overrides(Settings(project_dir=root), case)
        request = api.LintRequest(targets=(str(path),), ignore=ignore, extend_select=case.select)
        return api.lint(settings, request)
    settings, released = write_history(case, root)
    settings = _with_overrides(dataclasses.replace(settings, cache_dir=cache_dir), case)
    targets = () if case.whole_history else (f"{released}:heads",)
    request = api.LintRequest(targets=targets, ignore=ignore, extend_select=case.select)
    return api.lint(settings, request)
