"""Write small Alembic histories and SQL, lint them, and read the findings: the rule tests' toolkit.

result = lint_history(tmp_path, baseline('op.create_table("t", sa.Column("id", sa.Integer))'),
                      expand('op.drop_column("t", "a")'))
assert codes(result) == ["EC001", "EC101"]
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path

from expandcontract import api
from expandcontract.lint import LintResult
from expandcontract.model import Finding, Severity
from expandcontract.settings import LintSettings, Settings

HEADER = "from alembic import op\nimport sqlalchemy as sa\n"

# the table most tests act on: it exists before the revision under test (created in released history)
USERS = """op.create_table(
    "users",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("email", sa.String(100), nullable=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("status", sa.Text(), server_default="new"),
)"""


@dataclass(frozen=True)
class Rev:
    """One revision: its upgrade() body and where it sits."""

    body: str
    phase: str = "expand"  # expand | contract | baseline (before the branch point) | unphased
    module: str = ""  # extra module-level code (imports, depends_on, docstring is separate)
    docstring: str = ""
    depends_on: tuple[str, ...] = ()
    rev_id: str = ""
    downgrade: str = "pass"  # its downgrade() body


def baseline(body: str = USERS, **kw: object) -> Rev:
    return Rev(body=body, phase="baseline", **kw)  # type: ignore[arg-type]


def expand(body: str, **kw: object) -> Rev:
    return Rev(body=body, phase="expand", **kw)  # type: ignore[arg-type]


def contract(body: str, **kw: object) -> Rev:
    return Rev(body=body, phase="contract", **kw)  # type: ignore[arg-type]


def unphased(body: str, **kw: object) -> Rev:
    return Rev(body=body, phase="unphased", **kw)  # type: ignore[arg-type]


def _file(rev_id: str, down: str | None, rev: Rev, labels: tuple[str, ...] = ()) -> str:
    doc = rev.docstring or f"revision {rev_id}"
    body = textwrap.indent(textwrap.dedent(rev.body).strip() or "pass", "    ")
    down_body = textwrap.indent(textwrap.dedent(rev.downgrade).strip() or "pass", "    ")
    return (
        f'"""{doc}"""\n{HEADER}{textwrap.dedent(rev.module)}\n'
        f"revision = {rev_id!r}\ndown_revision = {down!r}\nbranch_labels = {labels or None!r}\n"
        f"depends_on = {rev.depends_on or None!r}\n\n\n"
        f"def upgrade():\n{body}\n\n\ndef downgrade():\n{down_body}\n"
    )


@dataclass
class History:
    """A project on disk; `paths[rev_id]` is each revision's file."""

    root: Path
    settings: Settings
    paths: dict[str, Path] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)  # the revisions under test, in the order given


def write_history(tmp_path: Path, *revisions: Rev, phased: bool = True, env_py: str | None = None) -> History:
    """Revisions in the order given; baselines first form the released history.

    Phased: baseline..., root, expand root + expand revisions, contract root + contract revisions
    (each contract revision also sits after the expand ones it depends on, via depends_on if given).
    Unphased: one chain in the order given.
    """
    script = tmp_path / "migrations"
    versions = script / "versions"
    for folder in (versions, versions / "expand", versions / "contract"):
        folder.mkdir(parents=True, exist_ok=True)
    if env_py is not None:
        (script / "env.py").write_text(env_py)
    history = History(
        root=tmp_path,
        settings=Settings(
            project_dir=tmp_path,
            script_location=script,
            version_locations=(versions, versions / "expand", versions / "contract"),
        ),
    )
    counter = 0

    def write(rev: Rev, down: str | None, folder: Path, labels: tuple[str, ...] = ()) -> str:
        nonlocal counter
        counter += 1
        rev_id = rev.rev_id or f"r{counter:02d}_{rev.phase}"
        path = folder / f"{rev_id}.py"
        path.write_text(_file(rev_id, down, rev, labels))
        history.paths[rev_id] = path
        return rev_id

    down: str | None = None
    for rev in revisions:
        if rev.phase == "baseline" or not phased:
            down = write(rev, down, versions)
            if rev.phase != "baseline":
                history.ids.append(down)
    if not phased:
        return history
    root = write(Rev(body="pass", phase="root", rev_id="root"), down, versions)
    heads = {
        "expand": write(
            Rev(body="pass", phase="expand", rev_id="expand_root"), root, versions / "expand", ("expand",)
        ),
        "contract": write(
            Rev(body="pass", phase="contract", rev_id="contract_root"),
            root,
            versions / "contract",
            ("contract",),
        ),
    }
    for rev in revisions:
        if rev.phase in ("expand", "contract"):
            rev_id = write(rev, heads[rev.phase], versions / rev.phase)
            heads[rev.phase] = rev_id
            history.ids.append(rev_id)
    return history


def lint_history(
    tmp_path: Path,
    *revisions: Rev,
    phased: bool = True,
    env_py: str | None = None,
    request: api.LintRequest | None = None,
    lint: LintSettings | None = None,
    **settings: object,
) -> LintResult:
    history = write_history(tmp_path, *revisions, phased=phased, env_py=env_py)
    chosen = replace(history.settings, **settings)  # type: ignore[arg-type]
    if lint is not None:
        chosen = replace(chosen, lint=lint)
    return api.lint(chosen, request or api.LintRequest())


def lint_sql(
    sql: str,
    tmp_path: Path | None = None,
    *,
    request: api.LintRequest | None = None,
    lint: LintSettings | None = None,
    **settings: object,
) -> LintResult:
    """Lint SQL as if piped to `expandcontract lint -` (no Alembic project)."""
    base = Settings(project_dir=tmp_path or Path.cwd(), **settings)  # type: ignore[arg-type]
    if lint is not None:
        base = replace(base, lint=lint)
    given = request or api.LintRequest()
    return api.lint(base, replace(given, targets=("-",), stdin=textwrap.dedent(sql)))


def codes(result: LintResult, severity: Severity | None = None) -> list[str]:
    """Sorted codes of the findings (of one severity if given)."""
    return sorted(f.code for f in result.findings if severity is None or f.severity is severity)


def only(result: LintResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, f"expected one {code}, got {[(f.code, f.message) for f in result.findings]}"
    return found[0]
