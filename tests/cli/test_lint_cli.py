"""`expandcontract lint` and `expandcontract rule` as a user runs them: targets, exit codes, formats,
rule selection, `--since` in real git repositories (shallow clones too), and one-line errors."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from rules.lintkit import History, Rev, baseline, contract, expand, write_history

from expandcontract import api
from expandcontract.cli.main import cli
from expandcontract.report.rule_docs import rule_page
from expandcontract.rules.registry import ALL_RULES, BY_CODE
from expandcontract.settings import URL_ENV

REPO = Path(__file__).resolve().parents[2]
DROP_EMAIL = 'op.drop_column("users", "email")'
DROP_NAME = 'op.drop_column("users", "name")'
ADD_NOTE = 'op.add_column("users", sa.Column("note", sa.Text()))'
# env.py is read, never run: a string that sets lock_timeout is enough to quiet EC403
ENV_PY = "LOCK_TIMEOUT = \"SET lock_timeout = '2s'\"\n"


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No database URL, not in GitHub Actions, and git without the user's or the system's config."""
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def lint(*args: str, input: str | None = None) -> Result:
    """`expandcontract lint` on the project lintkit writes in the working directory."""
    return run("lint", "--script-location", "migrations", *args, input=input)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("expandcontract: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def report(result: Result) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def linted(result: Result) -> list[str]:
    """The revisions (or SQL paths) a `--format json` run reported on."""
    return [f["revision"] or f["path"] for f in report(result)["files"]]


def codes(result: Result) -> set[str]:
    doc = report(result)
    findings = [f for file in doc["files"] for f in file["findings"]] + doc["other_findings"]
    return {f["code"] for f in findings}


Project = Callable[..., History]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Write a lintkit history in tmp_path and work there."""
    monkeypatch.chdir(tmp_path)

    def write(*revisions: Rev, env_py: str | None = ENV_PY) -> History:
        return write_history(tmp_path, baseline(), *revisions, env_py=env_py)

    return write


# --- exit codes -------------------------------------------------------------------------------


def test_a_clean_project_exits_0(project: Project) -> None:
    project(expand(ADD_NOTE))

    result = lint()

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(
        "0 error(s), 0 warning(s), 0 gated contract change(s), 0 suppressed"
    )


def test_an_error_exits_1(project: Project) -> None:
    project(expand(DROP_EMAIL))

    result = lint()

    assert result.exit_code == 1
    assert "EC101 drop-column [error] drops column users.email" in result.stdout
    assert result.stderr == ""


def test_warnings_exit_1_only_with_strict(project: Project) -> None:
    project(expand(ADD_NOTE), env_py=None)  # no lock_timeout anywhere: EC403 warns

    assert lint().exit_code == 0
    strict = lint("--strict")
    assert strict.exit_code == 1
    assert "EC403 missing-lock-timeout [warning]" in strict.stdout


def test_gated_findings_never_fail(project: Project) -> None:
    project(contract(DROP_NAME))

    for args in ((), ("--strict",)):
        result = lint(*args)
        assert result.exit_code == 0, result.output
        assert "EC101 drop-column [gated] drops column users.name" in result.stdout
        assert "1 gated contract change(s)" in result.stdout


def test_no_project_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert_one_line_error(run("lint"), "no Alembic project found")


def test_an_internal_error_is_one_line(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project(expand(ADD_NOTE))

    def broken(*args: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(api, "lint", broken)
    monkeypatch.delenv("EXPANDCONTRACT_DEBUG", raising=False)

    line = assert_one_line_error(lint(), "internal error: RuntimeError: boom")
    assert "second line" not in line


# --- targets ----------------------------------------------------------------------------------


def test_sql_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no Alembic project needed

    result = run("lint", "-", input="SET lock_timeout = '2s';\nALTER TABLE users DROP COLUMN email;\n")

    assert result.exit_code == 1, result.output
    assert "-:2:1: EC101 drop-column [error] drops column users.email" in result.stdout


def test_a_sql_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "0002_index.sql").write_text(
        "SET lock_timeout = '2s';\n\nCREATE INDEX users_name ON users (name);\n", encoding="utf-8"
    )

    result = run("lint", "sql/0002_index.sql", "--format", "json")

    assert result.exit_code == 1, result.output
    assert linted(result) == ["sql/0002_index.sql"]
    [finding] = report(result)["files"][0]["findings"]
    assert (finding["code"], finding["line"], finding["column"]) == ("EC301", 3, 1)


def test_a_missing_sql_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert_one_line_error(run("lint", "nope.sql"), "nope.sql: SQL file not found")


def test_a_missing_revision_file_is_one_line(project: Project) -> None:
    project(expand(ADD_NOTE))

    assert_one_line_error(lint("migrations/versions/expand/gone.py"), "gone.py: revision file not found")


def test_a_target_of_no_known_kind_is_one_line(project: Project) -> None:
    project(expand(ADD_NOTE))

    assert_one_line_error(lint("users"), "cannot lint 'users'", "revision range", ".sql")


def test_revision_files_as_pre_commit_passes_them(project: Project) -> None:
    history = project(expand(DROP_EMAIL), contract(DROP_NAME))
    expand_file, contract_file = (str(history.paths[r].relative_to(Path.cwd())) for r in history.ids)

    only_contract = lint(contract_file, "--format", "json")
    both = lint(contract_file, expand_file, "--format", "json")

    assert only_contract.exit_code == 0, only_contract.output  # the gated drop alone does not fail
    assert linted(only_contract) == ["r06_contract"]
    assert both.exit_code == 1
    assert sorted(linted(both)) == ["r05_expand", "r06_contract"]


def test_a_python_file_that_is_no_revision_is_passed_over(project: Project) -> None:
    project(expand(DROP_EMAIL))
    Path("conftest.py").write_text("x = 1\n", encoding="utf-8")

    result = lint("conftest.py", "--format", "json")

    assert result.exit_code == 0, result.output
    assert linted(result) == []


def test_a_revision_range(project: Project) -> None:
    project(expand(DROP_EMAIL), expand(ADD_NOTE, rev_id="e2_note"), contract(DROP_NAME))

    result = lint("r05_expand:e2_note", "--format", "json")

    assert linted(result) == ["e2_note"]
    assert result.exit_code == 0, result.output


def test_a_revision_range_from_base(project: Project) -> None:
    project(expand(DROP_EMAIL), contract(DROP_NAME))

    result = lint("base:r05_expand", "--format", "json")

    assert sorted(linted(result)) == ["expand_root", "r01_baseline", "r05_expand", "root"]


def test_a_branch_head_range_holds_only_that_branch(project: Project) -> None:
    project(expand(DROP_EMAIL), contract(DROP_NAME))

    assert linted(lint("expand_root:expand@head", "--format", "json")) == ["r05_expand"]
    assert linted(lint("contract_root:contract@head", "--format", "json")) == ["r06_contract"]


def test_a_revision_range_naming_no_revision_is_one_line(project: Project) -> None:
    project(expand(ADD_NOTE))

    assert_one_line_error(lint("zzz:head"), "revision 'zzz'", "matches no revision")
    assert_one_line_error(lint("root:"), "revision range 'root:' must look like")


# --- rule selection ---------------------------------------------------------------------------


def test_select_takes_comma_lists_codes_and_names(project: Project) -> None:
    project(expand(DROP_EMAIL), env_py=None)

    result = lint("--select", "EC101,missing-lock-timeout", "--format", "json")

    assert report(result)["rules"] == ["EC101", "EC403"]
    assert codes(result) == {"EC101", "EC403"}


def test_ignore_takes_comma_lists_and_prefixes(project: Project) -> None:
    project(expand(DROP_EMAIL), env_py=None)

    result = lint("--ignore", "EC0,drop-column", "--ignore", "EC403", "--format", "json")

    assert result.exit_code == 0, result.output
    assert codes(result) == set()
    assert not {"EC001", "EC101", "EC403"} & set(report(result)["rules"])


def test_extend_select_adds_an_opt_in_rule(project: Project) -> None:
    project(expand(ADD_NOTE))
    opt_in = next(r for r in ALL_RULES if r.opt_in)

    result = lint("--extend-select", opt_in.code, "--format", "json")

    assert opt_in.code in report(result)["rules"]
    assert opt_in.code not in report(lint("--format", "json"))["rules"]


@pytest.mark.parametrize(
    ("option", "value", "unknown"),
    [("--select", "EC101,nope", "nope"), ("--ignore", "EC999", "EC999"), ("--extend-select", "EC9,x", "x")],
)
def test_unknown_rules_are_one_line(project: Project, option: str, value: str, unknown: str) -> None:
    project(expand(ADD_NOTE))

    assert_one_line_error(lint(option, value), f"unknown rule {unknown!r}", "expandcontract rule")


def test_postgresql_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sql = "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN points int DEFAULT 0;\n"

    modern = run("lint", "-", input=sql)
    old = run("lint", "-", "--postgresql-version", "10", input=sql)

    assert modern.exit_code == 0, modern.output
    assert old.exit_code == 1
    assert "EC307 volatile-default [error]" in old.stdout
    assert "PostgreSQL 10 stores every default by rewriting" in old.stdout
    assert "Invalid value for '--postgresql-version'" in run("lint", "--postgresql-version", "8").stderr


# --- formats ----------------------------------------------------------------------------------


def test_github_format_is_automatic_in_github_actions(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(expand(DROP_EMAIL))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    automatic = lint()
    asked = lint("--format", "text")

    assert automatic.exit_code == 1
    assert automatic.stdout.startswith("::error file=migrations/versions/expand/r05_expand.py,line=")
    assert automatic.stdout.splitlines()[-1] == "expandcontract: 2 error(s), 0 warning(s), 0 gated"
    assert asked.stdout.startswith("r05_expand  migrations/versions/expand/r05_expand.py\n")


def test_text_is_the_default_outside_github_actions(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(expand(DROP_EMAIL))
    monkeypatch.setenv("GITHUB_ACTIONS", "false")

    assert lint().stdout.startswith("r05_expand  migrations/versions/expand/r05_expand.py\n")


def test_json_and_sarif_formats(project: Project) -> None:
    project(expand(DROP_EMAIL))

    doc = report(lint("--format", "json"))
    sarif = json.loads(lint("--format", "sarif").stdout)

    assert doc["schema_version"] == 1
    assert sarif["version"] == "2.1.0"
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["EC001", "EC101"]


def test_text_has_no_colour_when_piped(project: Project) -> None:
    project(expand(DROP_EMAIL))

    assert "\x1b[" not in lint().stdout


def in_a_terminal(*args: str) -> str:
    """Run the real command with a pseudo-terminal as stdout; what the terminal shows."""
    main, terminal = pty.openpty()
    command = [sys.executable, "-c", "from expandcontract.cli.main import main; main()", *args]
    process = subprocess.Popen(command, stdout=terminal, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the command closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    process.wait(timeout=60)
    return shown.decode()


def test_text_is_in_colour_on_a_terminal(project: Project) -> None:
    project(expand(DROP_EMAIL))

    shown = in_a_terminal("lint", "--script-location", "migrations")

    assert "\x1b[31m\x1b[1mEC101\x1b[0m drop-column [error]" in shown
    assert "\x1b[1mr05_expand  migrations/versions/expand/r05_expand.py\x1b[0m" in shown


def test_a_finding_about_the_config_file(project: Project) -> None:
    project(expand(ADD_NOTE, rev_id="e1_note"))
    Path("pyproject.toml").write_text(
        '[tool.expandcontract]\nscript-location = "migrations"\n\n'
        '[tool.expandcontract.lint.per-revision-ignores]\ne1_note = ["drop-table"]\n',
        encoding="utf-8",
    )

    result = run("lint", "--format", "json")

    assert result.exit_code == 0, result.output  # EC903 is a warning
    [other] = report(result)["other_findings"]
    assert (other["code"], other["path"], other["line"]) == ("EC903", str(Path.cwd() / "pyproject.toml"), 0)
    assert run("lint", "--strict").exit_code == 1
    assert "pyproject.toml: EC903 unused-suppression [warning]" in run("lint").stdout


# --- rule -------------------------------------------------------------------------------------


def test_rule_lists_every_rule() -> None:
    result = run("rule")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [r.code for r in ALL_RULES]
    drop = next(line for line in lines if line.startswith("EC101 "))
    assert re.fullmatch(r"EC101\s+drop-column\s+error\s+.+", drop)
    assert all(line.endswith("(opt-in)") is r.opt_in for line, r in zip(lines, ALL_RULES, strict=True))


@pytest.mark.parametrize("name", ["EC101", "ec101", "drop-column"])
def test_rule_explains_one_rule_as_its_doc_page(name: str) -> None:
    result = run("rule", name)

    assert result.exit_code == 0
    page = (REPO / "docs" / "rules" / "EC101-drop-column.md").read_text(encoding="utf-8")
    assert result.stdout.rstrip("\n") == page.rstrip("\n") == rule_page(BY_CODE["EC101"]).rstrip("\n")
    assert result.stdout.startswith("# EC101 drop-column\n")


def test_an_unknown_rule_is_one_line() -> None:
    assert_one_line_error(run("rule", "EC999"), "no rule 'EC999'", "`expandcontract rule` lists them")


def test_a_reader_that_stops_early_is_no_internal_error() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "from expandcontract.cli.main import main; main()", "rule"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `head -1` after its line: the command's next write finds no reader
    errors = process.stderr.read().decode()
    process.wait(timeout=60)

    assert "internal error" not in errors


# --- --since GIT_REF --------------------------------------------------------------------------


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def git_repo(folder: Path) -> None:
    git("init", "-q", "-b", "main", cwd=folder)
    git("config", "user.name", "Test", cwd=folder)
    git("config", "user.email", "test@example.com", cwd=folder)


def commit_all(folder: Path, message: str) -> None:
    git("add", "-A", cwd=folder)
    git("commit", "-q", "-m", message, cwd=folder)


RELEASED = (expand(ADD_NOTE, rev_id="e1_note"),)
NEW = expand(DROP_EMAIL, rev_id="e2_drop_email")


def test_since_lints_only_the_revisions_added_since_the_ref(project: Project, tmp_path: Path) -> None:
    project(*RELEASED)
    git_repo(tmp_path)
    commit_all(tmp_path, "released")
    project(*RELEASED, NEW)  # writes the same files again, and one more (not committed yet)

    result = lint("--since", "main", "--format", "json")

    assert result.exit_code == 1, result.output
    assert linted(result) == ["e2_drop_email"]


def test_since_counts_committed_and_modified_revisions(project: Project, tmp_path: Path) -> None:
    history = project(*RELEASED)
    git_repo(tmp_path)
    commit_all(tmp_path, "released")
    git("checkout", "-q", "-b", "feature", cwd=tmp_path)
    project(*RELEASED, NEW)
    edited = history.paths["e1_note"]
    edited.write_text(edited.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    commit_all(tmp_path, "drop email")

    assert sorted(linted(lint("--since", "main", "--format", "json"))) == ["e1_note", "e2_drop_email"]
    assert linted(lint("--since", "HEAD", "--format", "json")) == []


def test_since_a_ref_that_does_not_exist_says_to_fetch_it(project: Project, tmp_path: Path) -> None:
    project(*RELEASED)
    git_repo(tmp_path)
    commit_all(tmp_path, "released")

    assert_one_line_error(lint("--since", "origin/main"), "--since origin/main", "no such git ref", "fetch")


def test_since_outside_a_git_repository(project: Project) -> None:
    project(*RELEASED)

    assert_one_line_error(lint("--since", "main"), "not inside a git repository")


@pytest.fixture
def shallow_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pull request as CI checks it out: `main` released, the `feature` branch adds a revision, and
    the clone has only the feature branch's last commit (`git clone --depth 1`)."""
    origin = tmp_path / "origin"
    origin.mkdir()
    write_history(origin, baseline(), *RELEASED, env_py=ENV_PY)
    git_repo(origin)
    commit_all(origin, "released")
    git("checkout", "-q", "-b", "feature", cwd=origin)
    write_history(origin, baseline(), *RELEASED, NEW, env_py=ENV_PY)
    commit_all(origin, "drop email")
    clone = tmp_path / "clone"
    git("clone", "-q", "--depth", "1", "--branch", "feature", origin.as_uri(), str(clone))
    monkeypatch.chdir(clone)
    return clone


def test_since_in_a_shallow_clone_without_the_base_ref(shallow_clone: Path) -> None:
    assert git("rev-parse", "--is-shallow-repository", cwd=shallow_clone) == "true"

    line = assert_one_line_error(lint("--since", "origin/main"), "--since origin/main", "shallow", "fetch")
    assert "git fetch" in line


def test_since_in_a_shallow_clone_once_the_base_is_fetched(shallow_clone: Path) -> None:
    git("fetch", "-q", "--depth=1", "origin", "+main:refs/remotes/origin/main", cwd=shallow_clone)

    result = lint("--since", "origin/main", "--format", "json")

    assert result.exit_code == 1, result.output
    assert linted(result) == ["e2_drop_email"]


def test_since_the_fetch_the_message_suggests_is_enough(shallow_clone: Path) -> None:
    line = assert_one_line_error(lint("--since", "origin/main"))
    suggested = re.search(r"\((git fetch [^,]+)", line)
    assert suggested is not None, line
    git(*suggested.group(1).split()[1:], cwd=shallow_clone)

    result = lint("--since", "origin/main", "--format", "json")

    assert result.exit_code == 1, result.output
    assert linted(result) == ["e2_drop_email"]


# --- what a careful user tried ----------------------------------------------------------------


@pytest.mark.parametrize("args", [["--format", "xml"], ["--bogus"], ["--postgresql-version", "8"]])
def test_a_bad_option_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run("lint", *args), "lint --help`")


def test_a_reversed_revision_range_is_an_error_not_a_silent_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = write_history(tmp_path, baseline(), expand(ADD_NOTE), expand(DROP_EMAIL))
    monkeypatch.chdir(tmp_path)
    newer, older = history.ids[-1], history.ids[-2]
    assert_one_line_error(lint(f"{newer}:{older}"), "selects no revision")


def test_a_psql_meta_command_does_not_hide_the_next_statement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "drop.sql").write_text("\\timing\n\\set ON_ERROR_STOP on\nDROP TABLE users;\n")
    monkeypatch.chdir(tmp_path)
    result = run("lint", "drop.sql", "--format", "json")

    assert result.exit_code == 1
    finding = next(f for f in report(result)["files"][0]["findings"] if f["code"] == "EC102")
    assert finding["line"] == 3


def test_a_byte_order_mark_does_not_hide_the_first_statement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bom.sql").write_bytes(b"\xef\xbb\xbfALTER TABLE users DROP COLUMN email;\n")
    monkeypatch.chdir(tmp_path)
    result = run("lint", "bom.sql", "--format", "json")

    assert result.exit_code == 1
    assert codes(result) >= {"EC101", "EC001"} and "EC901" not in codes(result)
