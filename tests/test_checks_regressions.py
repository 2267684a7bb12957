"""`expandcontract check` on the example project after the edits it once let through: a phase branch
with two heads, and an env.py that calls the gate hook on one path only."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from expandcontract.checks import calls_gate_hook
from expandcontract.cli.main import cli
from expandcontract.settings import URL_ENV

SECOND_CONTRACT = '''"""a second revision on the contract root

Revision ID: c1_4_drop_note
Revises: contract_root
"""
from alembic import op

revision = "c1_4_drop_note"
down_revision = "contract_root"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("orders", "note")
'''

ENV_PY = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

from expandcontract.alembic_ext.envhook import before_migrations, database_url

config = context.config


def run_migrations_offline() -> None:
    context.configure(url=database_url(config), literal_binds=True)
    with context.begin_transaction():
        {offline}
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        {{"sqlalchemy.url": database_url(config)}}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            {online}
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"""
HOOK = "before_migrations(context)"
NO_HOOK = "pass"


@pytest.fixture(autouse=True)
def in_example(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.chdir(example_project)
    return example_project


def check() -> Result:
    return CliRunner().invoke(cli, ["check"])


def write_env_py(project: Path, *, offline: str, online: str) -> Path:
    env_py = project / "migrations" / "env.py"
    env_py.write_text(ENV_PY.format(offline=offline, online=online), encoding="utf-8")
    return env_py


# --- 16. one head per phase branch ------------------------------------------------------------------


def test_two_heads_on_the_contract_branch_are_named(example_project: Path) -> None:
    (example_project / "migrations" / "versions" / "contract" / "c1_4_drop_note.py").write_text(
        SECOND_CONTRACT, encoding="utf-8"
    )

    result = check()

    assert result.exit_code == 1, result.output
    *problems, summary = result.stdout.splitlines()
    assert summary == "1 layout problem(s)"
    (problem,) = problems
    assert " branch-heads " in problem
    assert "the contract branch has 2 heads" in problem
    assert "c1_3_drop_email" in problem and "c1_4_drop_note" in problem


# --- 16. the gate hook before every run_migrations() ------------------------------------------------


def test_a_hook_called_only_offline_is_an_env_hook_violation(example_project: Path) -> None:
    env_py = write_env_py(example_project, offline=HOOK, online=NO_HOOK)

    result = check()

    assert calls_gate_hook(env_py) is False
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "migrations/env.py: env-hook env.py does not call expandcontract's before_migrations(context); "
        "plain `alembic upgrade` would bypass the contract gate (see docs/adopt.md)",
        "1 layout problem(s)",
    ]


def test_a_hook_called_only_online_is_an_env_hook_violation(example_project: Path) -> None:
    env_py = write_env_py(example_project, offline=NO_HOOK, online=HOOK)

    assert calls_gate_hook(env_py) is False
    assert check().exit_code == 1


def test_a_hook_called_on_both_paths_passes(example_project: Path) -> None:
    env_py = write_env_py(example_project, offline=HOOK, online=HOOK)

    result = check()

    assert calls_gate_hook(env_py) is True
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "layout ok"


def test_a_hook_called_after_run_migrations_does_not_count(tmp_path: Path) -> None:
    env_py = tmp_path / "env.py"
    env_py.write_text(
        textwrap.dedent(
            """\
            from alembic import context
            from expandcontract.alembic_ext.envhook import before_migrations


            def run_migrations_online():
                with context.begin_transaction():
                    context.run_migrations()
                    before_migrations(context)
            """
        ),
        encoding="utf-8",
    )

    assert calls_gate_hook(env_py) is False


# --- env.py files Python reads: a byte order mark, a coding line ------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
        lambda text: f"# -*- coding: latin-1 -*-\n# Umgebung für Alembic\n{text}".encode("latin-1"),
    ],
    ids=["utf-8-with-bom", "latin-1-with-coding-line"],
)
def test_an_env_py_python_can_read_is_checked_for_the_hook(
    example_project: Path, encode: Callable[[str], bytes]
) -> None:
    env_py = example_project / "migrations" / "env.py"
    env_py.write_bytes(encode(env_py.read_text(encoding="utf-8")))
    compile(env_py.read_bytes(), str(env_py), "exec")  # Python (and so Alembic) reads it as it is

    result = check()

    assert calls_gate_hook(env_py) is True
    assert result.exit_code == 0, result.output


HOOKED_AT_MODULE_LEVEL = """
from alembic import context
from expandcontract.alembic_ext.envhook import before_migrations


def include_object(obj, name, type_, reflected, compare_to):
    return True


context.configure(url="sqlite://", include_object=include_object)
with context.begin_transaction():
    before_migrations(context)
    context.run_migrations()
"""

HOOK_ON_ANOTHER_BRANCH = """
from alembic import context
from expandcontract.alembic_ext.envhook import before_migrations


def run(flag):
    if flag:
        before_migrations(context)
    else:
        context.run_migrations()
"""

HOOK_REDEFINED = """
from alembic import context
from expandcontract.alembic_ext.envhook import before_migrations


def before_migrations(context):
    pass


def run():
    before_migrations(context)
    context.run_migrations()
"""


@pytest.mark.parametrize(
    ("source", "hooked"),
    [(HOOKED_AT_MODULE_LEVEL, True), (HOOK_ON_ANOTHER_BRANCH, False), (HOOK_REDEFINED, False)],
    ids=["module-level-env-with-a-callback", "hook-on-another-branch", "hook-redefined-locally"],
)
def test_the_hook_must_guard_every_run(tmp_path: Path, source: str, hooked: bool) -> None:
    env_py = tmp_path / "env.py"
    env_py.write_text(source, encoding="utf-8")

    assert calls_gate_hook(env_py) is hooked
