"""Malformed revision files and random SQL never crash the linter: it reports what it could not
read (EC901, EC902) or stops with a one-line error."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lintkit import USERS, baseline, expand, lint_sql, write_history

from expandcontract import api
from expandcontract.errors import ExpandContractError
from expandcontract.lint import LintResult

SQL_WORDS = [
    "ALTER",
    "TABLE",
    "users",
    "ADD",
    "DROP",
    "COLUMN",
    "CONSTRAINT",
    "INDEX",
    "CONCURRENTLY",
    "CREATE",
    "UNIQUE",
    "NOT",
    "NULL",
    "VALID",
    "VALIDATE",
    "SET",
    "DEFAULT",
    "TYPE",
    "text",
    "int",
    "varchar(10)",
    "RENAME",
    "TO",
    "ON",
    "(",
    ")",
    ",",
    ";",
    "'x'",
    "$$",
    "--",
    "/*",
    "*/",
    "BEGIN",
    "COMMIT",
    "UPDATE",
    "WHERE",
    "=",
    "1",
    "CHECK",
    "REFERENCES",
    "PRIMARY",
    "KEY",
    "USING",
    "gist",
    "EXCLUDE",
    "WITH",
    "&&",
    "REINDEX",
    "VACUUM",
    "FULL",
    "LOCK",
    "IN",
    "MODE",
    "DETACH",
    "PARTITION",
    '"Odd Name"',
    "e'\\n'",
    "now()",
    "gen_random_uuid()",
    "GENERATED",
    "ALWAYS",
    "AS",
    "STORED",
    "IF",
    "EXISTS",
    "SELECT",
]

VALID_BODY = """op.add_column("users", sa.Column("note", sa.Text()))
op.create_index("ix_users_note", "users", ["note"])
op.execute("UPDATE users SET note = 'x' WHERE id = 1")
op.alter_column("users", "email", new_column_name="mail")"""


def _one_line(exc: ExpandContractError) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text


def _accounted_for(result: LintResult) -> None:
    for finding in result.findings:
        assert finding.code.startswith("EC") and finding.message
        assert "\n" not in finding.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SQL_WORDS) | st.text(max_size=8), max_size=40))
def test_random_sql_is_understood_or_reported_opaque(words: list[str]) -> None:
    sql = " ".join(words)
    result = lint_sql(sql, request=api.LintRequest(select=("ALL",)))
    _accounted_for(result)


@st.composite
def damaged_revisions(draw: st.DrawFn) -> str:
    """A valid revision body, then cut, spliced or sprinkled with junk."""
    text = VALID_BODY
    how = draw(st.sampled_from(["cut", "insert", "delete-line", "swap-quotes"]))
    if how == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif how == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(min_size=1, max_size=10)) + text[at:]
    elif how == "delete-line":
        lines = text.splitlines()
        del lines[draw(st.integers(0, len(lines) - 1))]
        text = "\n".join(lines)
    else:
        text = text.replace('"', "'", draw(st.integers(1, 6)))
    return text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_revisions())
def test_damaged_revision_is_linted_or_refused_in_one_line(body: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        history = write_history(Path(folder), baseline(USERS), expand(body))
        try:
            result = api.lint(history.settings, api.LintRequest(select=("ALL",)))
        except ExpandContractError as exc:  # e.g. a syntax error: the CLI prints it on one line, exit 2
            _one_line(exc)
            return
        _accounted_for(result)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_a_revision_file_of_random_bytes_never_crashes(junk: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        history = write_history(Path(folder), baseline(USERS), expand("pass"))
        target = history.paths[history.ids[-1]]
        target.write_bytes(target.read_bytes() + b"\n" + junk)
        try:
            result = api.lint(history.settings, api.LintRequest())
        except ExpandContractError as exc:
            _one_line(exc)
            return
        _accounted_for(result)


def test_unreadable_offline_is_reported_not_skipped(tmp_path: Path) -> None:
    body = """bind = op.get_bind()
for (name,) in sa.orm.Session(bind=bind).execute(sa.text("SELECT name FROM tables")):
    op.drop_column(name, "legacy")"""
    history = write_history(tmp_path, baseline(USERS), expand(body))
    result = api.lint(history.settings, api.LintRequest())
    assert "EC902" in {f.code for f in result.findings}
