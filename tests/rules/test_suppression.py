"""Suppressions: `# expandcontract: ignore[EC101] -- reason` on a line or the line above, file-level
`ignore-file[...]`, SQL comments, and `per-revision-ignores` in config."""

from __future__ import annotations

from pathlib import Path

from lintkit import baseline, codes, contract, expand, lint_history, lint_sql, only

from expandcontract import api
from expandcontract.settings import LintSettings

# no env.py in these projects: keep EC403 missing-lock-timeout out of the way
QUIET = api.LintRequest(ignore=("EC403",))

DROP_EMAIL = 'op.drop_column("users", "email")'
DROP_NAME = 'op.drop_column("users", "name")'
ADD_COLUMN = 'op.add_column("users", sa.Column("nickname", sa.Text()))'
REASON = "-- unused since release 2.3"


# on the operation's line, or alone on the line above


def test_suppression_on_the_operations_line(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []
    assert result.suppressed == 1


def test_suppression_alone_on_the_line_above(tmp_path: Path) -> None:
    body = f"# expandcontract: ignore[EC101] {REASON}\n{DROP_EMAIL}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_trailing_suppression_on_the_line_above_does_not_cover_the_next_line(tmp_path: Path) -> None:
    body = f"{ADD_COLUMN}  # expandcontract: ignore[EC101] {REASON}\n{DROP_EMAIL}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == ["EC001", "EC101", "EC903"]
    assert only(result, "EC101").location.line == 13


def test_suppression_two_lines_above_does_not_cover_the_operation(tmp_path: Path) -> None:
    body = f"# expandcontract: ignore[EC101] {REASON}\n\n{DROP_EMAIL}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == ["EC001", "EC101", "EC903"]


def test_suppression_covers_only_its_own_line(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101] {REASON}\n{DROP_NAME}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "users.name" in only(result, "EC101").message


def test_suppression_covers_only_the_rules_it_names(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(body))

    assert codes(result) == ["EC403"]


def test_suppression_of_several_codes(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101, EC403] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(body))

    assert codes(result) == []
    assert result.suppressed == 2


def test_suppression_by_rule_name(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[drop-column] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_suppression_naming_a_rule_by_code_and_by_name(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101, drop-column] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_suppression_mixing_codes_and_names(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101, missing-lock-timeout] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(body))

    assert codes(result) == []


def test_suppression_code_is_case_insensitive(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[ec101] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_suppressed_gated_finding_in_contract_revision(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101] {REASON}"
    result = lint_history(tmp_path, baseline(), contract(body), request=QUIET)

    assert codes(result) == []


def test_suppression_after_a_multi_line_operation(tmp_path: Path) -> None:
    body = f'op.drop_column(\n    "users",\n    "email",\n)  # expandcontract: ignore[EC101] {REASON}'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


# the EC001 / EC003 summaries follow the suppressions


def test_suppressing_the_drop_removes_it_from_the_contract_in_expand_summary(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101] {REASON}\n{DROP_NAME}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert only(result, "EC001").message == (
        "contract changes in expand revision r05_expand: line 13 drop-column users.name"
    )


def test_suppressing_every_contract_change_removes_the_contract_in_expand_summary(tmp_path: Path) -> None:
    body = f"{DROP_EMAIL}  # expandcontract: ignore[EC101] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC001" not in codes(result)


def test_suppressing_the_rename_removes_it_from_the_unsplit_change_summary(tmp_path: Path) -> None:
    body = (
        'op.rename_table("users", "accounts")  # expandcontract: ignore[EC202] -- a view keeps the old name'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_suppressing_an_enum_value_rename_removes_it_from_the_unsplit_change_summary(tmp_path: Path) -> None:
    rename = "op.execute(\"ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'\")"
    body = f"{rename}  # expandcontract: ignore[EC109] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


# file level


def test_file_level_suppression_in_the_module_docstring(tmp_path: Path) -> None:
    docstring = f"drop legacy columns\n\nexpandcontract: ignore-file[EC101] {REASON}\n"
    result = lint_history(
        tmp_path, baseline(), expand(f"{DROP_EMAIL}\n{DROP_NAME}", docstring=docstring), request=QUIET
    )

    assert codes(result) == []
    assert result.suppressed == 2


def test_file_level_suppression_as_a_comment(tmp_path: Path) -> None:
    module = f"# expandcontract: ignore-file[EC101] {REASON}\n"
    result = lint_history(
        tmp_path, baseline(), expand(f"{DROP_EMAIL}\n{DROP_NAME}", module=module), request=QUIET
    )

    assert codes(result) == []


def test_file_level_suppression_covers_only_the_rules_it_names(tmp_path: Path) -> None:
    module = f"# expandcontract: ignore-file[EC101] {REASON}\n"
    body = f'{DROP_EMAIL}\nop.drop_table("users")'
    result = lint_history(tmp_path, baseline(), expand(body, module=module), request=QUIET)

    assert codes(result) == ["EC001", "EC102"]
    assert "drop-table users" in only(result, "EC001").message
    assert "drop-column" not in only(result, "EC001").message


def test_line_suppression_in_the_docstring_is_not_a_suppression(tmp_path: Path) -> None:
    docstring = f"expandcontract: ignore[EC101] {REASON}"
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL, docstring=docstring), request=QUIET)

    assert codes(result) == ["EC001", "EC101"]


# SQL


def test_sql_suppression_on_the_statements_line(tmp_path: Path) -> None:
    result = lint_sql(
        f"CREATE INDEX ix_users_email ON users (email); -- expandcontract: ignore[EC301] {REASON}",
        tmp_path,
        request=QUIET,
    )

    assert codes(result) == []


def test_sql_suppression_alone_on_the_line_above(tmp_path: Path) -> None:
    sql = "-- expandcontract: ignore[EC301] -- small table\nCREATE INDEX ix_users_email ON users (email);"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


def test_sql_trailing_suppression_on_the_line_above_does_not_cover_the_next_line(tmp_path: Path) -> None:
    sql = (
        "ALTER TABLE users ADD COLUMN nickname text; -- expandcontract: ignore[EC301] -- small table\n"
        "CREATE INDEX ix_users_email ON users (email);"
    )
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == ["EC301", "EC903"]


def test_sql_file_level_suppression(tmp_path: Path) -> None:
    sql = (
        "-- expandcontract: ignore-file[EC301] -- small tables\n"
        "CREATE INDEX ix_users_email ON users (email);\n"
        "CREATE INDEX ix_users_name ON users (name);"
    )
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []
    assert result.suppressed == 2


def test_sql_suppression_by_name(tmp_path: Path) -> None:
    sql = "ALTER TABLE users DROP COLUMN email; -- expandcontract: ignore[drop-column] -- unused since 2.3"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


def test_sql_suppression_after_a_multi_line_statement(tmp_path: Path) -> None:
    sql = "ALTER TABLE users\n    DROP COLUMN email; -- expandcontract: ignore[EC101] -- unused since 2.3"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


# per-revision-ignores in config


def test_per_revision_ignores_by_revision_id(tmp_path: Path) -> None:
    lint = LintSettings(per_revision_ignores=(("r05_expand", ("EC101",)),))
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL), lint=lint, request=QUIET)

    assert codes(result) == []
    assert result.suppressed == 1


def test_per_revision_ignores_by_rule_name(tmp_path: Path) -> None:
    lint = LintSettings(per_revision_ignores=(("r05_expand", ("drop-column",)),))
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL), lint=lint, request=QUIET)

    assert codes(result) == []


def test_per_revision_ignores_by_path_glob_relative_to_the_project(tmp_path: Path) -> None:
    lint = LintSettings(per_revision_ignores=(("migrations/versions/expand/*.py", ("EC101",)),))
    result = lint_history(
        tmp_path, baseline(), expand(DROP_EMAIL), contract(DROP_NAME), lint=lint, request=QUIET
    )

    assert [(f.code, f.revision) for f in result.findings] == [("EC101", "r06_contract")]


def test_per_revision_ignores_apply_only_to_the_revision_named(tmp_path: Path) -> None:
    lint = LintSettings(per_revision_ignores=(("r05_expand", ("EC101",)),))
    result = lint_history(
        tmp_path, baseline(), expand(ADD_COLUMN), expand(DROP_EMAIL), lint=lint, request=QUIET
    )

    assert only(result, "EC101").revision == "r06_expand"


def test_unused_per_revision_ignores_entry_is_reported(tmp_path: Path) -> None:
    lint = LintSettings(per_revision_ignores=(("r05_expand", ("EC101",)),))
    result = lint_history(tmp_path, baseline(), expand(ADD_COLUMN), lint=lint, request=QUIET)

    finding = only(result, "EC903")
    assert finding.message == "per-revision-ignores entry 'r05_expand' suppresses nothing"
    assert finding in result.extra


def test_per_revision_ignores_glob_matching_only_unaffected_revisions_is_reported(tmp_path: Path) -> None:
    lint = LintSettings(per_revision_ignores=(("migrations/versions/contract/*.py", ("EC101",)),))
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL), lint=lint, request=QUIET)

    assert codes(result) == ["EC001", "EC101", "EC903"]


def test_per_revision_ignores_entry_for_a_missing_revision_is_reported(tmp_path: Path) -> None:
    lint = LintSettings(per_revision_ignores=(("r99_gone", ("EC101",)),))
    result = lint_history(tmp_path, baseline(), expand(ADD_COLUMN), lint=lint, request=QUIET)

    assert codes(result) == ["EC903"]


def test_per_revision_ignores_entry_naming_an_unknown_rule_says_so(tmp_path: Path) -> None:
    lint = LintSettings(per_revision_ignores=(("r05_expand", ("EC999",)),))
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL), lint=lint, request=QUIET)

    assert "unknown" in only(result, "EC903").message


def test_per_revision_ignores_of_ec101_removes_the_drop_from_the_contract_in_expand_summary(
    tmp_path: Path,
) -> None:
    lint = LintSettings(per_revision_ignores=(("r05_expand", ("EC101",)),))
    result = lint_history(
        tmp_path, baseline(), expand(f"{DROP_EMAIL}\n{DROP_NAME}"), lint=lint, request=QUIET
    )

    assert codes(result) == []
