"""EC9xx, the tool's own honesty: what it could not read, and suppressions that do not hold up."""

from __future__ import annotations

from pathlib import Path

from lintkit import baseline, codes, expand, lint_history, lint_sql, only

from expandcontract import api
from expandcontract.model import Severity

# no env.py in these projects: keep EC403 missing-lock-timeout out of the way
QUIET = api.LintRequest(ignore=("EC403",))

DROP_EMAIL = 'op.drop_column("users", "email")'
ADD_COLUMN = 'op.add_column("users", sa.Column("nickname", sa.Text()))'
# an ORM session needs a live connection: offline, such a revision is read from its source
REFLECTS = (
    "session = sa.orm.Session(bind=op.get_bind())\n"
    'columns = [row[0] for row in session.execute(sa.text("SELECT name FROM user_columns"))]'
)


# EC901 opaque-statement


def test_sql_the_parser_does_not_know_is_an_opaque_statement(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand('op.execute("FROBNICATE users")'), request=QUIET)

    finding = only(result, "EC901")
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "cannot understand this statement (unsupported statement (FROBNICATE ...)): FROBNICATE users"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "suppress with the reason" in finding.fix


def test_sql_built_from_a_database_query_is_an_opaque_statement(tmp_path: Path) -> None:
    body = (
        "bind = op.get_bind()\n"
        "for t in sa.inspect(bind).get_table_names():\n"
        '    op.execute(f"ALTER TABLE {t} DROP COLUMN legacy")'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC901")
    assert "SQL built at run time" in finding.message
    assert (finding.location.line, finding.location.column) == (14, 9)


def test_sql_built_from_local_values_is_read_like_a_literal(tmp_path: Path) -> None:
    body = 'table = "users"\nop.execute(f"ALTER TABLE {table} DROP COLUMN email")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC901" not in codes(result)
    assert "users.email" in only(result, "EC101").message


def test_literal_sql_is_not_opaque(tmp_path: Path) -> None:
    body = 'op.execute("ALTER TABLE users ADD COLUMN nickname text")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_file_with_unknown_syntax_is_an_opaque_statement(tmp_path: Path) -> None:
    result = lint_sql(
        "ALTER TABLE users ADD COLUMN nickname text;\nFROBNICATE users;", tmp_path, request=QUIET
    )

    finding = only(result, "EC901")
    assert (finding.location.line, finding.location.column) == (2, 1)
    assert "FROBNICATE users" in finding.message


def test_sql_anonymous_code_block_is_an_opaque_statement(tmp_path: Path) -> None:
    result = lint_sql("DO $$ BEGIN PERFORM 1; END $$;", tmp_path, request=QUIET)

    assert "anonymous code block (DO)" in only(result, "EC901").message


def test_sql_file_the_parser_understands_has_no_opaque_statement(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users ADD COLUMN nickname text;", tmp_path, request=QUIET)

    assert codes(result) == []


# EC902 offline-unreadable


def test_revision_that_reflects_the_database_cannot_run_offline(tmp_path: Path) -> None:
    body = f'{REFLECTS}\nif "nickname" not in columns:\n    {ADD_COLUMN}'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC902")
    assert finding.severity is Severity.WARNING
    assert finding.revision == "r05_expand"
    assert finding.message.startswith("revision r05_expand could not run offline (needs a live database")
    assert "(line 13)" in finding.message
    assert finding.message.endswith("checked from its source only")
    assert (finding.location.line, finding.location.column) == (1, 1)
    assert "context.is_offline_mode()" in finding.fix


def test_revision_that_queries_with_an_orm_session_cannot_run_offline(tmp_path: Path) -> None:
    body = (
        "session = sa.orm.Session(bind=op.get_bind())\n"
        'session.execute(sa.text("SELECT id FROM users")).all()\n'
        f"{ADD_COLUMN}"
    )
    result = lint_history(tmp_path, baseline(), expand(body, module="import sqlalchemy.orm\n"), request=QUIET)

    assert "needs a live database" in only(result, "EC902").message


def test_operations_of_an_offline_unreadable_revision_are_still_checked_from_its_source(
    tmp_path: Path,
) -> None:
    body = f'{REFLECTS}\nif "email" in columns:\n    {DROP_EMAIL}'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == ["EC001", "EC101", "EC902"]
    assert (only(result, "EC101").location.line, only(result, "EC101").location.column) == (15, 9)


def test_query_guarded_by_offline_mode_keeps_the_revision_readable(tmp_path: Path) -> None:
    body = (
        "if not context.is_offline_mode():\n"
        "    bind = op.get_bind()\n"
        "    sa.inspect(bind).get_table_names()\n"
        f"{ADD_COLUMN}"
    )
    result = lint_history(
        tmp_path, baseline(), expand(body, module="from alembic import context\n"), request=QUIET
    )

    assert codes(result) == []


# EC903 unused-suppression


def test_suppression_that_suppresses_nothing_is_reported(tmp_path: Path) -> None:
    body = f"{ADD_COLUMN}  # expandcontract: ignore[EC101] -- unused since 2.3"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC903")
    assert finding.severity is Severity.WARNING
    assert finding.message == "suppression of EC101 suppresses nothing"
    assert finding.fix == "remove it"
    # the column where `expandcontract:` starts
    assert (finding.location.line, finding.location.column) == (12, 4 + len(ADD_COLUMN) + 5)


def test_suppression_naming_an_unknown_rule_is_reported_and_suppresses_nothing(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC110] -- unused since 2.3"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == ["EC001", "EC101", "EC903"]
    assert only(result, "EC903").message == "suppression names unknown rule(s): EC110"
    assert "drop-column" in only(result, "EC903").fix


def test_suppression_naming_no_rule_is_reported(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[] -- unused since 2.3"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert only(result, "EC903").message == "suppression names unknown rule(s): (none)"


def test_suppression_of_a_rule_not_selected_in_this_run_is_not_reported(tmp_path: Path) -> None:
    body = f"{ADD_COLUMN}  # expandcontract: ignore[EC107] -- writers validate since 2.4"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_suppression_of_a_selected_opt_in_rule_that_suppresses_nothing_is_reported(tmp_path: Path) -> None:
    body = f"{ADD_COLUMN}  # expandcontract: ignore[EC107] -- writers validate since 2.4"
    request = api.LintRequest(extend_select=("EC107",), ignore=("EC403",))
    result = lint_history(tmp_path, baseline(), expand(body), request=request)

    assert only(result, "EC903").message == "suppression of EC107 suppresses nothing"


def test_file_level_suppression_that_suppresses_nothing_is_reported(tmp_path: Path) -> None:
    module = "# expandcontract: ignore-file[EC101] -- legacy columns\n"
    result = lint_history(tmp_path, baseline(), expand(ADD_COLUMN, module=module), request=QUIET)

    assert (only(result, "EC903").location.line, only(result, "EC903").location.column) == (4, 3)


def test_used_suppression_is_not_reported(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101] -- unused since 2.3"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []
    assert result.suppressed == 1


def test_sql_suppression_that_suppresses_nothing_is_reported(tmp_path: Path) -> None:
    sql = "ALTER TABLE users ADD COLUMN nickname text; -- expandcontract: ignore[EC101] -- legacy"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert (only(result, "EC903").location.line, only(result, "EC903").location.column) == (1, 48)


def test_sql_suppression_that_suppresses_a_finding_is_not_reported(tmp_path: Path) -> None:
    sql = "ALTER TABLE users DROP COLUMN email; -- expandcontract: ignore[EC101] -- legacy"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


# EC904 suppression-without-reason


def test_suppression_without_a_reason_is_an_error(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101]"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC904")
    assert finding.severity is Severity.ERROR
    assert finding.message == "suppression of EC101 gives no reason"
    assert (finding.location.line, finding.location.column) == (12, 4 + len(DROP_EMAIL) + 5)
    assert "-- why it is safe" in finding.fix


def test_suppression_without_a_reason_still_suppresses(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101]"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == ["EC904"]


def test_suppression_with_an_empty_reason_has_no_reason(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101] --"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == ["EC904"]


def test_file_level_suppression_without_a_reason_is_an_error(tmp_path: Path) -> None:
    module = "# expandcontract: ignore-file[EC101]\n"
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL, module=module), request=QUIET)

    assert codes(result) == ["EC904"]


def test_suppression_with_a_reason_is_fine(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101] -- unused since release 2.3"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_suppression_without_a_reason_is_an_error(tmp_path: Path) -> None:
    sql = "ALTER TABLE users DROP COLUMN email; -- expandcontract: ignore[EC101]"
    result = lint_sql(sql, tmp_path, request=QUIET)

    finding = only(result, "EC904")
    assert (finding.location.line, finding.location.column) == (1, 41)


def test_sql_suppression_with_a_reason_is_fine(tmp_path: Path) -> None:
    sql = "ALTER TABLE users DROP COLUMN email; -- expandcontract: ignore[EC101] -- unused since 2.3"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


def test_sql_suppression_without_a_reason_suggests_a_sql_comment(tmp_path: Path) -> None:
    sql = "ALTER TABLE users DROP COLUMN email; -- expandcontract: ignore[EC101]"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert "-- expandcontract: ignore[EC101] --" in only(result, "EC904").fix
