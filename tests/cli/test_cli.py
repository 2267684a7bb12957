"""The `expandcontract` command as a user meets it: help, exit codes, one-line errors, and output."""

from __future__ import annotations

import ast
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from gate_support import shop_1_3_is_live

from expandcontract import __version__
from expandcontract.cli.main import cli
from expandcontract.settings import URL_ENV

DROP_EMAIL = "migrations/versions/contract/c1_3_drop_email.py"


@pytest.fixture(autouse=True)
def no_url_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """The example's env.py runs logging.fileConfig, which replaces handlers and disables loggers
    for the rest of the process; put them back so later tests see logging as it was."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {
        name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for name, logger in logging.Logger.manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        level, handlers, propagate, disabled = saved.get(name, (logging.NOTSET, [], True, False))
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.disabled = disabled


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Exit 2, exactly one line on stderr starting `expandcontract: error:`, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("expandcontract: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def module_constants(path: Path) -> dict[str, Any]:
    """The literal module-level assignments of a revision file (revision, down_revision, depends_on...)."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def written_path(result: Result) -> Path:
    """The file a `revision` run reports as `wrote PATH` (relative to the working directory)."""
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("wrote "), result.stdout
    return Path.cwd() / line.removeprefix("wrote ")


USERS_REVISION = '''"""users"""
import sqlalchemy as sa
from alembic import op

revision = "a1_users"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))
'''


def bare_project(folder: Path) -> Path:
    """An unphased Alembic project: alembic.ini without a URL, and one revision."""
    (folder / "migrations" / "versions").mkdir(parents=True)
    (folder / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\n", encoding="utf-8"
    )
    (folder / "migrations" / "versions" / "a1_users.py").write_text(USERS_REVISION, encoding="utf-8")
    return folder


# --- help and version -------------------------------------------------------------------------

# the example project's revisions, in history order
EXAMPLE_REVISIONS = [
    "baseline_1_0",
    "expand_root",
    "e1_1_order_note",
    "e1_2_email_address",
    "e1_3_backfill_email",
    "contract_root",
    "c1_3_drop_email",
]

COMMAND_OPTIONS = {
    "init": ["--url"],
    "adopt": ["--merge"],
    "revision": ["--message", "--phase", "--completes", "--autogenerate", "--rename", "--url"],
    "classify": ["--script-location", "--json"],
    "check": ["--script-location"],
    "upgrade": ["--phase", "--sql", "--url", "--force", "--reason", "--kubernetes-json"],
    "status": ["--url", "--json"],
    "lint": [
        "--since",
        "--select",
        "--ignore",
        "--extend-select",
        "--format",
        "--strict",
        "--postgresql-version",
    ],
    "rule": [],
    "manifest": ["build", "publish"],
    "registry": ["init", "audit"],
    "gate": ["check"],
    "release": ["retire", "can-deploy"],
    "backfill": ["run", "status", "pause"],
}

SUBCOMMAND_OPTIONS = {
    ("manifest", "build"): ["--metadata", "--release", "--app", "--extra", "--output"],
    ("manifest", "publish"): ["--url"],
    ("registry", "init"): ["--url"],
    ("registry", "audit"): ["--limit", "--json", "--url"],
    ("gate", "check"): ["--json", "--kubernetes-json", "--url"],
    ("release", "retire"): ["--reason", "--app", "--url"],
    ("release", "can-deploy"): ["--app", "--manifest", "--json", "--url"],
    ("backfill", "run"): ["--url"],
    ("backfill", "status"): ["--json", "--url"],
    ("backfill", "pause"): ["--url"],
}


def test_group_help_lists_every_command_and_the_group_options() -> None:
    result = run("--help")

    assert result.exit_code == 0
    for text in ("--config", "--version", *COMMAND_OPTIONS):
        assert text in result.stdout
    assert set(cli.commands) == set(COMMAND_OPTIONS)  # a new command needs its help test here


@pytest.mark.parametrize(("command", "options"), COMMAND_OPTIONS.items(), ids=list(COMMAND_OPTIONS))
def test_command_help_mentions_its_options(command: str, options: list[str]) -> None:
    result = run(command, "--help")

    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.stdout


@pytest.mark.parametrize(
    ("command", "options"), SUBCOMMAND_OPTIONS.items(), ids=[" ".join(c) for c in SUBCOMMAND_OPTIONS]
)
def test_subcommand_help_mentions_its_options(command: tuple[str, str], options: list[str]) -> None:
    result = run(*command, "--help")

    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.stdout


def test_short_help_option() -> None:
    assert run("status", "-h").exit_code == 0


def test_version() -> None:
    result = run("--version")

    assert result.exit_code == 0
    assert result.stdout.strip() == f"expandcontract, version {__version__}"


# --- usage and configuration errors: exit 2, one line ------------------------------------------


def test_missing_required_option_is_a_usage_error() -> None:
    result = run("revision", "-m", "x")

    assert result.exit_code == 2
    assert result.stderr == "expandcontract: error: give --phase expand|contract (or --autogenerate)\n"


def test_bad_phase_choice_is_a_usage_error() -> None:
    result = run("upgrade", "--phase", "sideways")

    assert result.exit_code == 2
    assert "Invalid value for '--phase'" in result.stderr


def test_no_project_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = run("classify")

    assert_one_line_error(result, "no Alembic project found", str(tmp_path.resolve()), "--script-location")
    assert result.stdout == ""


def test_a_revision_file_with_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "scripts" / "versions" / "a1_broken.py"
    broken.parent.mkdir(parents=True)
    broken.write_text('revision = "a1"\ndown_revision = None\n\ndef upgrade(:\n    pass\n', encoding="utf-8")

    assert_one_line_error(
        run("classify", "--script-location", str(tmp_path / "scripts")),
        f"{broken.resolve()}:4",
        "syntax error",
    )


def test_a_revision_file_that_fails_when_imported_is_read_from_its_source(tmp_path: Path) -> None:
    failing = tmp_path / "scripts" / "versions" / "a1_fails.py"
    failing.parent.mkdir(parents=True)
    failing.write_text(
        'revision = "a1"\ndown_revision = None\nraise RuntimeError("settings not loaded")\n\n\n'
        "def upgrade():\n    op.drop_table('orders')\n",
        encoding="utf-8",
    )

    result = run("classify", "--json", "--script-location", str(tmp_path / "scripts"))

    assert result.exit_code == 0, result.output
    (revision,) = json.loads(result.stdout)["revisions"]
    assert revision["path"] == str(failing.resolve())
    assert revision["read_mode"] == "ast"
    assert revision["unreadable_reason"] == (
        "fails when imported (RuntimeError: settings not loaded) at line 3"
    )
    assert [(c["kind"], c["target"], c["line"]) for c in revision["changes"]] == [("drop-table", "orders", 7)]


def test_a_failing_import_is_an_error_for_commands_that_write_revisions(tmp_path: Path) -> None:
    failing = tmp_path / "scripts" / "versions" / "a1_fails.py"
    failing.parent.mkdir(parents=True)
    failing.write_text(
        'revision = "a1"\ndown_revision = None\nraise RuntimeError("settings not loaded")\n', encoding="utf-8"
    )
    config = tmp_path / "settings.toml"
    config.write_text(f'script-location = "{tmp_path / "scripts"}"\n', encoding="utf-8")

    assert_one_line_error(
        run("--config", str(config), "adopt"),
        f"{failing.resolve()}:3",
        "RuntimeError: settings not loaded",
    )


@pytest.mark.filterwarnings("ignore::UserWarning")  # Alembic warns about the dangling reference first
def test_a_down_revision_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "versions" / "a1.py").write_text(
        'revision = "a1"\ndown_revision = "gone"\n\n\ndef upgrade() -> None:\n    pass\n', encoding="utf-8"
    )

    assert_one_line_error(
        run("classify", "--script-location", str(scripts)),
        "cannot read the revision history",
        "down_revision",
    )


def test_a_script_location_that_does_not_exist(tmp_path: Path) -> None:
    assert_one_line_error(
        run("check", "--script-location", str(tmp_path / "nowhere")),
        str(tmp_path / "nowhere"),
        "script directory not found",
    )


def test_config_naming_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path), "check")

    assert result.exit_code == 2
    assert "is a directory" in result.stderr


def test_an_unknown_key_in_pyproject_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.expandcontract]\nversion_table = "v"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert_one_line_error(run("classify"), "unknown key `version_table`", str(tmp_path / "pyproject.toml"))


def test_config_pointing_at_a_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert_one_line_error(run("--config", "nowhere.toml", "check"), "nowhere.toml", "config file not found")


def test_status_without_any_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(bare_project(tmp_path))

    assert_one_line_error(run("status"), "no database URL", "--url", URL_ENV)


def test_revision_on_a_project_without_branches_says_adopt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(bare_project(tmp_path))

    assert_one_line_error(
        run("revision", "-m", "add email", "--phase", "expand"), "no `expand` branch", "adopt"
    )
    assert list((tmp_path / "migrations" / "versions").iterdir()) == [
        tmp_path / "migrations" / "versions" / "a1_users.py"
    ]


@pytest.mark.parametrize(
    "ini",
    [
        "garbage line\n[alembic]\nscript_location = migrations\n",
        "[alembic]\nscript_location = migrations\nfoo\n",
    ],
    ids=["no-section-header", "parsing-error"],
)
def test_an_unreadable_alembic_ini_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ini: str
) -> None:
    (tmp_path / "alembic.ini").write_text(ini, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert_one_line_error(run("classify"), "alembic.ini", "cannot read alembic config")


# --- classify and check on the example ----------------------------------------------------------


def test_classify_json(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_project)

    result = run("classify", "--json")

    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1
    revisions = {r["revision"]: r for r in doc["revisions"]}
    assert list(revisions) == EXAMPLE_REVISIONS
    drop = revisions["c1_3_drop_email"]
    assert drop["declared_phase"] == "contract"
    assert drop["depends_on"] == ["e1_3_backfill_email"]
    assert drop["requires_release"] == "1.3.0"
    source = (example_project / DROP_EMAIL).read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(source, 1) if 'drop_column("email")' in text)
    [change] = [c for c in drop["changes"] if c["kind"] == "drop-column"]
    assert change["phase"] == "contract"
    assert change["table"] == "users"
    assert change["column"] == "email"
    assert change["path"].endswith("c1_3_drop_email.py")
    assert Path(change["path"]) == (example_project / DROP_EMAIL).resolve()
    assert change["line"] == line


def test_classify_text_names_each_change_as_path_and_line(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(example_project)

    text = run("classify").stdout
    changes = [c for r in json.loads(run("classify", "--json").stdout)["revisions"] for c in r["changes"]]

    assert changes
    for change in changes:
        assert f"{os.path.relpath(change['path'])}:{change['line']}: {change['kind']}" in text
    drop_line = next(
        number
        for number, line in enumerate((example_project / DROP_EMAIL).read_text().splitlines(), 1)
        if "drop_column" in line
    )
    assert f"{DROP_EMAIL}:{drop_line}: drop-column users.email -> contract" in text
    assert text.rstrip().endswith("7 revisions, 0 with changes that do not fit their declared phase")


def test_check_on_the_example(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_project)

    result = run("check")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "layout ok"


def test_check_reports_problems_with_exit_1(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_py = example_project / "migrations" / "env.py"
    env_py.write_text(
        env_py.read_text(encoding="utf-8").replace("before_migrations(context)", "pass"), encoding="utf-8"
    )
    env_py.write_text(env_py.read_text(encoding="utf-8").replace("before_migrations, ", ""), encoding="utf-8")
    monkeypatch.chdir(example_project)

    result = run("check")

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "migrations/env.py: env-hook env.py does not call expandcontract's before_migrations(context); "
        "plain `alembic upgrade` would bypass the contract gate (see docs/adopt.md)",
        "1 layout problem(s)",
    ]


def test_check_does_not_care_where_the_project_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "contract" / "shop"
    shutil.copytree(
        Path(__file__).resolve().parents[2] / "migrations_example",
        project,
        ignore=shutil.ignore_patterns("*.db", "__pycache__"),
    )
    monkeypatch.chdir(project)

    result = run("check")

    assert (result.exit_code, result.stdout.strip()) == (0, "layout ok")


# --- upgrade and status -----------------------------------------------------------------------


@pytest.mark.usefixtures("keep_logging")
def test_status_exit_codes_follow_the_rollout(
    example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    monkeypatch.chdir(example_project)
    monkeypatch.syspath_prepend(str(example_project))  # its `shop` package, for release 1.3.0's models
    for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
        monkeypatch.delitem(sys.modules, name)

    before = run("status", "--url", url)
    assert before.exit_code == 3, before.output
    assert "expand pending" in before.stdout

    expand = run("upgrade", "--phase", "expand", "--url", url)
    assert expand.exit_code == 0, expand.output
    assert "applied 5 revision(s) up to expand@head" in expand.stdout
    after_expand = run("status", "--url", url)
    assert after_expand.exit_code == 4, after_expand.output
    assert "contract pending" in after_expand.stdout

    unproven = run("upgrade", "--phase", "contract", "--url", url)  # no release has registered yet
    assert unproven.exit_code == 1, unproven.output
    assert "applied 1 revision(s) up to contract_root" in unproven.stdout  # the empty root only
    assert "expandcontract: blocked: stopped before c1_3_drop_email" in unproven.stderr
    still_pending = run("status", "--url", url)
    assert still_pending.exit_code == 4, still_pending.output

    shop_1_3_is_live(url)  # the rollout: only release 1.3.0, which no longer maps users.email, runs
    contract = run("upgrade", "--phase", "contract", "--url", url)
    assert contract.exit_code == 0, contract.output
    assert "applied 1 revision(s) up to contract@head" in contract.stdout
    done = run("status", "--url", url)
    assert done.exit_code == 0, done.output
    assert "up to date (exit 0)" in done.stdout
    assert not (example_project / "shop.db").exists()  # --url won over the project's database-url


def test_status_json(example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_project)

    result = run("status", "--json", "--url", f"sqlite:///{tmp_path}/x.db")

    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1
    assert doc["exit_code"] == result.exit_code == 3
    assert doc["current_heads"] == []
    assert list(doc["branches"]) == ["baseline", "expand", "contract"]
    assert [r["revision"] for r in doc["branches"]["contract"]["pending"]] == [
        "contract_root",
        "c1_3_drop_email",
    ]
    assert doc["expand_pending"] is True


def test_status_uses_the_environment_url(
    example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(example_project)
    monkeypatch.setenv(URL_ENV, f"sqlite:///{tmp_path}/env.db")

    doc = json.loads(run("status", "--json").stdout)

    assert doc["database"] == f"sqlite:///{tmp_path}/env.db"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not a url", "invalid database URL"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/nothing", "cannot read the version table"),
    ],
    ids=["unparsable", "unreachable"],
)
def test_status_with_a_bad_database_is_one_line(
    example_project: Path, monkeypatch: pytest.MonkeyPatch, url: str, fragment: str
) -> None:
    monkeypatch.chdir(example_project)

    assert_one_line_error(run("status", "--url", url), fragment)


# --- revision ---------------------------------------------------------------------------------


def test_contract_revision_without_a_tty_lists_candidates(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(example_project)

    result = run("revision", "-m", "drop orders.note", "--phase", "contract", input="")

    assert result.exit_code == 0, result.output
    note = result.stderr.strip()
    assert note.startswith("note: if this revision completes an expand revision, pass --completes REV")
    assert "e1_2_email_address" in note
    assert "e1_1_order_note" in note
    assert "e1_3_backfill_email" not in note  # c1_3_drop_email already completes it
    assert "expand_root" not in note
    path = written_path(result)
    assert path.parent == example_project / "migrations" / "versions" / "contract"
    constants = module_constants(path)
    assert constants["down_revision"] == "c1_3_drop_email"
    assert as_tuple(constants["depends_on"]) == ()


@pytest.mark.parametrize("completed", ["e1_3_backfill_email", "e1_1_order_note"])
def test_contract_revision_completes_an_expand_revision(
    example_project: Path, monkeypatch: pytest.MonkeyPatch, completed: str
) -> None:
    monkeypatch.chdir(example_project)

    result = run("revision", "-m", "drop orders.note", "--phase", "contract", "--completes", completed)

    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no note: the user already said what it completes
    path = written_path(result)
    assert path.parent == example_project / "migrations" / "versions" / "contract"
    constants = module_constants(path)
    assert completed in as_tuple(constants["depends_on"])
    assert constants["down_revision"] == "c1_3_drop_email"  # the contract head


def test_expand_revision_goes_to_the_expand_folder(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(example_project)

    result = run("revision", "-m", "add orders.status", "--phase", "expand")

    assert result.exit_code == 0, result.output
    path = written_path(result)
    assert path.parent == example_project / "migrations" / "versions" / "expand"
    assert module_constants(path)["down_revision"] == "e1_3_backfill_email"
    assert run("check").exit_code == 0


@pytest.mark.parametrize("other", ["c1_3_drop_email", "baseline_1_0"])
def test_completes_must_name_an_expand_revision(
    example_project: Path, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    monkeypatch.chdir(example_project)
    before = sorted(example_project.rglob("*.py"))

    result = run("revision", "-m", "x", "--phase", "contract", "--completes", other)

    assert_one_line_error(result, f"--completes {other}", "not a revision on the expand branch")
    assert sorted(example_project.rglob("*.py")) == before


def test_completes_an_unknown_revision(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_project)

    assert_one_line_error(run("revision", "-m", "x", "--phase", "contract", "--completes", "nope"), "nope")


def test_completes_is_for_contract_revisions(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_project)

    result = run("revision", "-m", "x", "--phase", "expand", "--completes", "e1_1_order_note")

    assert_one_line_error(result, "--completes is for contract revisions")


def test_completes_refuses_the_empty_expand_branch_root(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(example_project)
    result = CliRunner().invoke(
        cli, ["revision", "-m", "x", "--phase", "contract", "--completes", "expand_root"]
    )
    assert result.exit_code == 2
    assert "empty expand branch root" in result.output


def test_script_location_reads_the_branch_folders_of_a_phased_layout(example_project: Path) -> None:
    result = CliRunner().invoke(
        cli, ["classify", "--json", "--script-location", str(example_project / "migrations")]
    )
    assert result.exit_code == 0, result.output
    revisions = [r["revision"] for r in json.loads(result.output)["revisions"]]
    assert revisions == EXAMPLE_REVISIONS
