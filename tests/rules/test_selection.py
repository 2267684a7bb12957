"""Which rules run (select / ignore / extend-select) and which revisions are linted (start-after, revision
ranges, released history before the branch point)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lintkit import baseline, codes, contract, expand, lint_history, only

from expandcontract import api
from expandcontract.errors import ConfigError, UsageError
from expandcontract.lint import LintResult
from expandcontract.settings import LintSettings

DROP_EMAIL = 'op.drop_column("users", "email")'
DROP_NAME = 'op.drop_column("users", "name")'
CHECK_NOT_VALID = (
    'op.create_check_constraint("ck_name", "users", "length(name) > 0", postgresql_not_valid=True)'
)
OPT_IN = {"EC107", "EC404", "EC501", "EC502", "EC503", "EC504", "EC505", "EC506", "EC507"}


def ran(tmp_path: Path, request: api.LintRequest, lint: LintSettings | None = None) -> set[str]:
    """The codes of the rules a lint run used."""
    return set(lint_history(tmp_path, baseline(), expand(DROP_EMAIL), request=request, lint=lint).rules)


# select / ignore / extend-select


def test_default_selection_is_every_rule_that_is_not_opt_in(tmp_path: Path) -> None:
    rules = ran(tmp_path, api.LintRequest())

    assert {"EC001", "EC101", "EC201", "EC301", "EC403", "EC901", "EC904"} <= rules
    assert rules.isdisjoint(OPT_IN)


def test_select_by_code_runs_only_that_rule(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), expand(DROP_EMAIL), request=api.LintRequest(select=("EC101",))
    )

    assert result.rules == ("EC101",)
    assert codes(result) == ["EC101"]


def test_select_by_name(tmp_path: Path) -> None:
    assert ran(tmp_path, api.LintRequest(select=("drop-column",))) == {"EC101"}


def test_select_by_prefix_leaves_out_the_opt_in_rules_of_the_family(tmp_path: Path) -> None:
    rules = ran(tmp_path, api.LintRequest(select=("EC1",)))

    assert rules == {"EC101", "EC102", "EC103", "EC104", "EC105", "EC106", "EC108", "EC109"}


def test_select_by_a_longer_prefix(tmp_path: Path) -> None:
    assert ran(tmp_path, api.LintRequest(select=("EC40",))) == {"EC401", "EC402", "EC403", "EC405"}


def test_select_opt_in_rule_by_its_code(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), expand(CHECK_NOT_VALID), request=api.LintRequest(select=("EC107",))
    )

    assert codes(result) == ["EC107"]


def test_select_opt_in_rule_by_its_name(tmp_path: Path) -> None:
    assert ran(tmp_path, api.LintRequest(select=("new-write-restriction",))) == {"EC107"}


def test_select_all_brings_the_opt_in_rules(tmp_path: Path) -> None:
    assert OPT_IN <= ran(tmp_path, api.LintRequest(select=("ALL",)))


def test_select_prefix_naming_only_opt_in_rules_brings_them(tmp_path: Path) -> None:
    rules = ran(tmp_path, api.LintRequest(select=("EC5",)))

    assert rules == {"EC501", "EC502", "EC503", "EC504", "EC505", "EC506", "EC507"}


def test_extend_select_adds_an_opt_in_rule_to_the_default(tmp_path: Path) -> None:
    rules = ran(tmp_path, api.LintRequest(extend_select=("EC107",)))

    assert "EC107" in rules
    assert "EC101" in rules
    assert "EC404" not in rules


def test_extend_select_by_a_mixed_prefix_adds_no_opt_in_rule(tmp_path: Path) -> None:
    assert "EC107" not in ran(tmp_path, api.LintRequest(extend_select=("EC1",)))


def test_ignore_by_code(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), expand(DROP_EMAIL), request=api.LintRequest(ignore=("EC403",))
    )

    assert codes(result) == ["EC001", "EC101"]


def test_ignore_by_name(tmp_path: Path) -> None:
    request = api.LintRequest(ignore=("missing-lock-timeout", "drop-column"))
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL), request=request)

    assert codes(result) == ["EC001"]


def test_ignore_by_prefix_removes_the_whole_family(tmp_path: Path) -> None:
    rules = ran(tmp_path, api.LintRequest(ignore=("EC1",)))

    assert not any(code.startswith("EC1") for code in rules)
    assert "EC001" in rules


def test_ignore_wins_over_select(tmp_path: Path) -> None:
    rules = ran(tmp_path, api.LintRequest(select=("EC1",), ignore=("EC101",)))

    assert "EC101" not in rules
    assert "EC102" in rules


def test_ignore_wins_over_extend_select(tmp_path: Path) -> None:
    assert "EC107" not in ran(tmp_path, api.LintRequest(extend_select=("EC107",), ignore=("EC1",)))


def test_select_from_config(tmp_path: Path) -> None:
    assert ran(tmp_path, api.LintRequest(), LintSettings(select=("EC101",))) == {"EC101"}


def test_select_on_the_command_line_replaces_the_configured_select(tmp_path: Path) -> None:
    assert ran(tmp_path, api.LintRequest(select=("EC102",)), LintSettings(select=("EC101",))) == {"EC102"}


def test_ignores_from_config_and_command_line_both_apply(tmp_path: Path) -> None:
    rules = ran(tmp_path, api.LintRequest(ignore=("EC102",)), LintSettings(ignore=("EC101",)))

    assert not {"EC101", "EC102"} & rules


def test_extend_select_from_config(tmp_path: Path) -> None:
    assert "EC107" in ran(tmp_path, api.LintRequest(), LintSettings(extend_select=("EC107",)))


@pytest.mark.parametrize(
    "request_",
    [
        api.LintRequest(select=("EC999",)),
        api.LintRequest(select=("drop-colum",)),
        api.LintRequest(ignore=("EC999",)),
        api.LintRequest(extend_select=("EC999",)),
    ],
    ids=["select-code", "select-name", "ignore", "extend-select"],
)
def test_unknown_rule_is_a_config_error(tmp_path: Path, request_: api.LintRequest) -> None:
    with pytest.raises(ConfigError, match="unknown rule"):
        lint_history(tmp_path, baseline(), expand(DROP_EMAIL), request=request_)


def test_unknown_rule_in_config_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown rule 'EC999' in select"):
        lint_history(tmp_path, baseline(), expand(DROP_EMAIL), lint=LintSettings(select=("EC999",)))


def test_contract_in_expand_summary_runs_without_the_specific_rule(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), expand(DROP_EMAIL), request=api.LintRequest(select=("EC001",))
    )

    assert codes(result) == ["EC001"]


# which revisions are linted

QUIET = api.LintRequest(ignore=("EC403",))


def linted(result: LintResult) -> list[str]:
    return [report.unit.key for report in result.reports]


def test_released_history_before_the_branch_point_is_not_linted(tmp_path: Path) -> None:
    released = baseline('op.create_table("legacy", sa.Column("id", sa.Integer))\nop.drop_table("accounts")')
    result = lint_history(tmp_path, baseline(), released, expand(DROP_EMAIL), request=QUIET)

    assert "r02_baseline" not in linted(result)
    assert {f.revision for f in result.findings} == {"r06_expand"}


def test_start_after_skips_that_revision_and_its_ancestors(tmp_path: Path) -> None:
    lint = LintSettings(start_after="r05_expand")
    result = lint_history(
        tmp_path, baseline(), expand(DROP_EMAIL), expand(DROP_NAME), lint=lint, request=QUIET
    )

    assert "r05_expand" not in linted(result)
    assert "users.name" in only(result, "EC101").message


def test_start_after_accepts_a_unique_prefix(tmp_path: Path) -> None:
    lint = LintSettings(start_after="r05")
    result = lint_history(
        tmp_path, baseline(), expand(DROP_EMAIL), expand(DROP_NAME), lint=lint, request=QUIET
    )

    assert only(result, "EC101").revision == "r06_expand"


def test_start_after_an_unknown_revision_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="start-after = 'r99' matches no revision"):
        lint_history(tmp_path, baseline(), expand(DROP_EMAIL), lint=LintSettings(start_after="r99"))


def test_revision_range_lints_what_upgrading_over_it_applies(tmp_path: Path) -> None:
    request = api.LintRequest(targets=("r05_expand:head",), ignore=("EC403",))
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL), expand(DROP_NAME), request=request)

    assert "r05_expand" not in linted(result)
    assert only(result, "EC101").revision == "r06_expand"


def test_revision_range_up_to_a_branch_head(tmp_path: Path) -> None:
    request = api.LintRequest(targets=("r05_expand:expand@head",), ignore=("EC403",))
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL), expand(DROP_NAME), request=request)

    assert "r06_expand" in linted(result)
    assert "r05_expand" not in linted(result)


def test_revision_range_up_to_the_expand_head_leaves_out_the_contract_branch(tmp_path: Path) -> None:
    add = 'op.add_column("users", sa.Column("nickname", sa.Text()))'
    request = api.LintRequest(targets=("root:expand@head",), ignore=("EC403",))
    result = lint_history(tmp_path, baseline(), expand(add), contract(DROP_EMAIL), request=request)

    assert sorted(linted(result)) == ["expand_root", "r05_expand"]


def test_tables_created_inside_the_revision_range_are_new(tmp_path: Path) -> None:
    create = 'op.create_table("t", sa.Column("id", sa.Integer), sa.Column("a", sa.Text))'
    request = api.LintRequest(targets=("root:expand@head",), ignore=("EC403",))
    result = lint_history(
        tmp_path, baseline(), expand(create), expand('op.drop_column("t", "a")'), request=request
    )

    assert codes(result) == []


def test_tables_created_in_an_earlier_revision_are_existing_when_linting_everything(tmp_path: Path) -> None:
    create = 'op.create_table("t", sa.Column("id", sa.Integer), sa.Column("a", sa.Text))'
    result = lint_history(
        tmp_path, baseline(), expand(create), expand('op.drop_column("t", "a")'), request=QUIET
    )

    assert only(result, "EC101").revision == "r06_expand"


def test_revision_range_reaching_back_to_base_lints_released_history_too(tmp_path: Path) -> None:
    released = baseline('op.create_table("legacy", sa.Column("id", sa.Integer))')
    request = api.LintRequest(targets=("base:heads",), ignore=("EC403",))
    result = lint_history(tmp_path, released, expand(DROP_EMAIL), request=request)

    assert "r01_baseline" in linted(result)


def test_target_without_a_colon_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="give a revision range"):
        lint_history(
            tmp_path, baseline(), expand(DROP_EMAIL), request=api.LintRequest(targets=("r05_expand",))
        )


def test_revision_range_naming_an_unknown_revision_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="revision 'r99' in the lower end of the revision range matches no"):
        lint_history(tmp_path, baseline(), expand(DROP_EMAIL), request=api.LintRequest(targets=("r99:head",)))
