"""`expandcontract adopt` on plain Alembic projects (made by `alembic init`) already applied to PostgreSQL.

Adopting must leave every existing revision byte for byte as it was, so nothing already applied runs
again: the revisions here create tables, and a second CREATE TABLE would fail.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from pg_flow_support import Database, applied, keep_imports_local, pending, run_cli, snapshot, status_json

ENV_HOOK_MESSAGE = (
    "env-hook env.py does not call expandcontract's before_migrations(context); "
    "plain `alembic upgrade` would bypass the contract gate (see docs/adopt.md)"
)


@dataclass(frozen=True)
class Rev:
    revision: str
    down_revision: str | tuple[str, ...] | None
    upgrade: str  # body of upgrade(), unindented
    branch_labels: tuple[str, ...] | None = None


LINEAR = (
    Rev(
        "a1_customers",
        None,
        'op.create_table("customers", sa.Column("id", sa.Integer, primary_key=True),'
        ' sa.Column("name", sa.String(50), nullable=False))',
    ),
    Rev(
        "a2_customer_email", "a1_customers", 'op.add_column("customers", sa.Column("email", sa.String(100)))'
    ),
    Rev(
        "a3_first_customer",
        "a2_customer_email",
        "op.execute(\"INSERT INTO customers (id, name, email) VALUES (1, 'Ada', 'ada@example.com')\")",
    ),
)

TWO_HEADS = (
    LINEAR[0],
    Rev(
        "b2_left",
        "a1_customers",
        'op.create_table("invoices", sa.Column("id", sa.Integer, primary_key=True))',
    ),
    Rev(
        "b2_right",
        "a1_customers",
        'op.create_table("refunds", sa.Column("id", sa.Integer, primary_key=True))',
    ),
)

EXPAND_LABEL_ONLY = (
    LINEAR[0],
    Rev(
        "a2_labelled",
        "a1_customers",
        'op.add_column("customers", sa.Column("email", sa.String(100)))',
        branch_labels=("expand",),
    ),
)


@dataclass(frozen=True)
class PlainProject:
    folder: Path
    ini: Path
    versions: Path
    env_py: Path

    def config(self) -> Config:
        return Config(str(self.ini))


def _revision_source(rev: Rev) -> str:
    return textwrap.dedent(
        f'''\
        """{rev.revision.replace("_", " ")}

        Revision ID: {rev.revision}
        """

        import sqlalchemy as sa
        from alembic import op

        revision = {rev.revision!r}
        down_revision = {rev.down_revision!r}
        branch_labels = {rev.branch_labels!r}
        depends_on = None


        def upgrade() -> None:
            {rev.upgrade}


        def downgrade() -> None:
            pass
        '''
    )


def plain_project(folder: Path, url: str, revisions: tuple[Rev, ...], *, apply: bool = True) -> PlainProject:
    """`alembic init alembic` in `folder`, sqlalchemy.url set to `url`, `revisions` written (and applied)."""
    ini = folder / "alembic.ini"
    cfg = Config(str(ini))
    command.init(cfg, str(folder / "alembic"))
    text = ini.read_text(encoding="utf-8")
    assert "sqlalchemy.url = driver://user:pass@localhost/dbname\n" in text
    ini.write_text(
        text.replace("sqlalchemy.url = driver://user:pass@localhost/dbname", f"sqlalchemy.url = {url}"),
        encoding="utf-8",
    )
    versions = folder / "alembic" / "versions"
    for rev in revisions:
        (versions / f"{rev.revision}.py").write_text(_revision_source(rev), encoding="utf-8")
    project = PlainProject(folder=folder, ini=ini, versions=versions, env_py=folder / "alembic" / "env.py")
    if apply:
        command.upgrade(project.config(), "heads")
    return project


def add_env_hook(env_py: Path) -> None:
    """What adopt's todo says: import before_migrations and call it before each context.run_migrations()."""
    lines: list[str] = []
    for line in env_py.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.strip() == "context.run_migrations()":
            lines.append(line.replace("context.run_migrations()", "before_migrations(context)"))
        lines.append(line)
        if line == "from alembic import context\n":
            lines.append("from expandcontract.alembic_ext.envhook import before_migrations\n")
    text = "".join(lines)
    assert text.count("before_migrations(context)\n") == 2, text
    assert text.count("import before_migrations\n") == 1, text
    env_py.write_text(text, encoding="utf-8")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_imports_local(monkeypatch)
    monkeypatch.delenv("EXPANDCONTRACT_DATABASE_URL", raising=False)


# --- a linear history ------------------------------------------------------------------------------


def test_adopt_linear_history_applied_to_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    project = plain_project(tmp_path, pg_url, LINEAR)
    db = Database(pg_url)
    assert db.version_heads() == {"a3_first_customer"}
    old_revisions = snapshot(project.versions)
    monkeypatch.chdir(tmp_path)

    result = run_cli("adopt")

    assert result.exit_code == 0, result.output
    (expand_file,) = (project.versions / "expand").glob("*.py")
    (contract_file,) = (project.versions / "contract").glob("*.py")
    expand_root, contract_root = expand_file.stem.split("_", 1)[0], contract_file.stem.split("_", 1)[0]
    assert result.stdout.splitlines() == [
        "  wrote alembic.ini",
        f"  wrote alembic/versions/expand/{expand_file.name}",
        f"  wrote alembic/versions/contract/{contract_file.name}",
        f"common root a3_first_customer; expand branch root {expand_root}; "
        f"contract branch root {contract_root}",
        f"todo: {project.env_py}: call the gate before running migrations, so plain `alembic upgrade` "
        "honours it: `from expandcontract.alembic_ext.envhook import before_migrations` and "
        "`before_migrations(context)` right before `context.run_migrations()`",
    ]
    # the old revisions: the same bytes, not even rewritten
    assert {k: v for k, v in snapshot(project.versions).items() if "/" not in k} == old_revisions
    # plain Alembic finds the branch roots through the version_locations adopt wrote
    ini_lines = project.ini.read_text(encoding="utf-8").splitlines()
    assert (
        "version_locations = %(here)s/alembic/versions:%(here)s/alembic/versions/expand"
        ":%(here)s/alembic/versions/contract"
    ) in ini_lines
    script = ScriptDirectory.from_config(project.config())
    assert set(script.get_heads()) == {expand_root, contract_root}
    for root, label in ((expand_root, "expand"), (contract_root, "contract")):
        found = script.get_revision(root)
        assert found is not None
        assert found.down_revision == "a3_first_customer"
        assert found.branch_labels == {label}

    code, doc = status_json()
    assert code == 3
    assert doc["current_heads"] == ["a3_first_customer"]
    assert applied(doc, "baseline") == ["a1_customers", "a2_customer_email", "a3_first_customer"]
    assert pending(doc, "baseline") == []
    assert pending(doc, "expand") == [expand_root]
    assert pending(doc, "contract") == [contract_root]
    assert set(doc["branches"]) == {"baseline", "expand", "contract"}

    upgrade = run_cli("upgrade", "--phase", "all")

    assert upgrade.exit_code == 0, upgrade.output
    assert upgrade.stdout.splitlines()[0] == "applied 2 revision(s) up to heads:"
    assert sorted(line.split()[0] for line in upgrade.stdout.splitlines()[1:]) == sorted(
        [expand_root, contract_root]
    )
    assert db.version_heads() == {expand_root, contract_root}
    assert db.rows("SELECT id, name, email FROM customers") == [(1, "Ada", "ada@example.com")]
    code, doc = status_json()
    assert code == 0
    assert sorted(doc["current_heads"]) == sorted([expand_root, contract_root])

    before_second = snapshot(tmp_path)
    second = run_cli("adopt")

    assert second.exit_code == 0, second.output
    assert second.stdout.strip() == "already adopted: the project has its expand and contract branches"
    assert snapshot(tmp_path) == before_second


def test_adopted_project_passes_check_once_env_py_calls_the_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    project = plain_project(tmp_path, pg_url, LINEAR)
    monkeypatch.chdir(tmp_path)
    assert run_cli("adopt").exit_code == 0

    before = run_cli("check")
    assert before.exit_code == 1
    assert before.stdout.splitlines() == [f"alembic/env.py: {ENV_HOOK_MESSAGE}", "1 layout problem(s)"]

    add_env_hook(project.env_py)
    after = run_cli("check")

    assert after.exit_code == 0, after.output
    assert after.stdout.strip() == "layout ok"
    # plain Alembic now runs through the hook; the gate allows the empty contract root, which removes
    # nothing, even though no release has ever registered
    command.upgrade(project.config(), "heads")
    code, _ = status_json()
    assert code == 0
    assert Database(pg_url).rows("SELECT count(*) FROM customers") == [(1,)]


# --- histories adopt refuses, or merges ---------------------------------------------------------


def test_two_heads_are_refused_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    plain_project(tmp_path, pg_url, TWO_HEADS)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)

    result = run_cli("adopt")

    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("expandcontract: error: the history has 2 heads: ")
    assert "b2_left (b2 left; " in line and "b2_right (b2 right; " in line
    assert line.endswith("or rerun with --merge to write that merge revision as the common root")
    assert snapshot(tmp_path) == before


def test_merge_writes_the_common_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    project = plain_project(tmp_path, pg_url, TWO_HEADS)
    old_revisions = snapshot(project.versions)
    monkeypatch.chdir(tmp_path)

    result = run_cli("adopt", "--merge")

    assert result.exit_code == 0, result.output
    new_files = sorted(set(snapshot(project.versions)) - set(old_revisions))
    (merge_name,) = [n for n in new_files if "/" not in n]
    merge_id = merge_name.split("_", 1)[0]
    assert f"common root {merge_id}; " in result.stdout
    script = ScriptDirectory.from_config(project.config())
    merge = script.get_revision(merge_id)
    assert merge is not None and set(merge.down_revision) == {"b2_left", "b2_right"}  # type: ignore[arg-type]
    heads = set(script.get_heads())
    assert len(heads) == 2
    for head in heads:
        found = script.get_revision(head)
        assert found is not None and found.down_revision == merge_id
    assert {k: v for k, v in snapshot(project.versions).items() if k in old_revisions} == old_revisions

    check = run_cli("check")
    assert check.exit_code == 1
    assert check.stdout.splitlines() == [f"alembic/env.py: {ENV_HOOK_MESSAGE}", "1 layout problem(s)"]

    code, doc = status_json()
    assert code == 3
    assert pending(doc, "baseline") == [merge_id]
    baseline = applied(doc, "baseline")
    assert baseline[0] == "a1_customers" and sorted(baseline[1:]) == ["b2_left", "b2_right"]
    upgrade = run_cli("upgrade", "--phase", "all")
    assert upgrade.exit_code == 0, upgrade.output
    assert upgrade.stdout.splitlines()[0] == "applied 3 revision(s) up to heads:"
    assert Database(pg_url).version_heads() == heads

    add_env_hook(project.env_py)
    ok = run_cli("check")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == "layout ok"


@pytest.mark.parametrize("merge", [False, True], ids=["plain", "with-merge"])
def test_a_lone_expand_label_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str, merge: bool
) -> None:
    plain_project(tmp_path, pg_url, EXPAND_LABEL_ONLY)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)

    result = run_cli("adopt", *(["--merge"] if merge else []))

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "expandcontract: error: the history already uses the `expand`/`contract` branch labels "
        "but not as two branch roots on one common root"
    )
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "alembic" / "versions" / "expand").exists()


def test_adopt_a_project_configured_in_pyproject_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    ini, toml = tmp_path / "alembic.ini", tmp_path / "pyproject.toml"
    command.init(Config(str(ini), toml_file=str(toml)), str(tmp_path / "alembic"), template="pyproject")
    assert "[tool.alembic]" in toml.read_text(encoding="utf-8")
    ini.write_text(
        ini.read_text(encoding="utf-8").replace("driver://user:pass@localhost/dbname", pg_url),
        encoding="utf-8",
    )
    for rev in LINEAR:
        (tmp_path / "alembic" / "versions" / f"{rev.revision}.py").write_text(
            _revision_source(rev), encoding="utf-8"
        )
    command.upgrade(Config(str(ini), toml_file=str(toml)), "heads")
    assert Database(pg_url).version_heads() == {"a3_first_customer"}
    monkeypatch.chdir(tmp_path)

    result = run_cli("adopt")

    assert result.exit_code == 0, result.output
    # plain Alembic (which reads pyproject.toml) finds both branch roots on the old head
    script = ScriptDirectory.from_config(Config(str(ini), toml_file=str(toml)))
    heads = [script.get_revision(h) for h in script.get_heads()]
    assert sorted(next(iter(h.branch_labels)) for h in heads if h) == ["contract", "expand"]
    assert all(h is not None and h.down_revision == "a3_first_customer" for h in heads)
    code, _ = status_json()
    assert code == 3
