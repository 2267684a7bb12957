"""EC0xx, phases: whether each revision's changes fit the phase it runs in.

The expand branch (and an unphased project, and plain SQL) runs before the code deploy; the contract
branch runs after it, behind the gate.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lintkit import (
    USERS,
    baseline,
    codes,
    contract,
    expand,
    lint_history,
    lint_sql,
    only,
    unphased,
    write_history,
)

from expandcontract import api
from expandcontract.model import Severity
from expandcontract.settings import LintSettings

# no env.py in these projects: keep EC403 missing-lock-timeout out of the way
QUIET = api.LintRequest(ignore=("EC403",))

DROP_EMAIL = 'op.drop_column("users", "email")'
ADD_EMAIL_ADDRESS = 'op.add_column("users", sa.Column("email_address", sa.String(255)))'
BACKFILL = 'op.execute("UPDATE users SET email_address = email")'


# EC001 contract-in-expand


def test_drop_column_in_expand_revision_is_a_contract_change_before_the_deploy(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL), request=QUIET)

    finding = only(result, "EC001")
    assert finding.severity is Severity.ERROR
    assert finding.revision == "r05_expand"
    assert finding.message == (
        "contract changes in expand revision r05_expand: line 12 drop-column users.email"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "--phase contract" in finding.fix


def test_contract_in_expand_comes_with_the_specific_contract_finding(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand(DROP_EMAIL), request=QUIET)

    assert codes(result, Severity.ERROR) == ["EC001", "EC101"]


def test_contract_in_expand_is_reported_once_and_lists_every_contract_change(tmp_path: Path) -> None:
    body = f'{ADD_EMAIL_ADDRESS}\n{DROP_EMAIL}\nop.drop_column("users", "name")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    message = only(result, "EC001").message
    assert "line 13 drop-column users.email; line 14 drop-column users.name" in message
    assert "add-column" not in message
    assert only(result, "EC001").location.line == 13  # the first contract change


def test_contract_in_expand_lists_five_changes_and_counts_the_rest(tmp_path: Path) -> None:
    body = "\n".join(f'op.drop_column("users", "c{i}")' for i in range(7))
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    message = only(result, "EC001").message
    assert "drop-column users.c4" in message
    assert "users.c5" not in message
    assert message.endswith("(+2 more)")


def test_revision_of_an_unphased_project_runs_before_the_deploy(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), unphased(DROP_EMAIL), phased=False, request=QUIET)

    finding = only(result, "EC001")
    assert finding.message == (
        "contract changes in a revision that runs before the deploy: line 12 drop-column users.email"
    )


def test_sql_drop_column_is_a_contract_change_before_the_deploy(tmp_path: Path) -> None:
    result = lint_sql(
        "ALTER TABLE users ADD COLUMN x text;\nALTER TABLE users DROP COLUMN email;", tmp_path, request=QUIET
    )

    finding = only(result, "EC001")
    assert finding.severity is Severity.ERROR
    assert (
        finding.message
        == "contract changes in SQL that runs before the deploy: line 2 drop-column users.email"
    )
    assert (finding.location.line, finding.location.column) == (2, 1)


def test_drop_column_in_contract_revision_is_not_contract_in_expand(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), contract(DROP_EMAIL), request=QUIET)

    assert codes(result) == ["EC101"]
    assert only(result, "EC101").severity is Severity.GATED


def test_dropping_from_a_table_created_in_the_same_revision_is_not_contract_in_expand(tmp_path: Path) -> None:
    body = (
        'op.create_table("t", sa.Column("id", sa.Integer), sa.Column("a", sa.Text))\nop.drop_column("t", "a")'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_dropping_from_a_table_it_creates_is_not_contract_in_expand(tmp_path: Path) -> None:
    result = lint_sql(
        "CREATE TABLE t (id int, a text);\nALTER TABLE t DROP COLUMN a;", tmp_path, request=QUIET
    )

    assert codes(result) == []


def test_additive_expand_revision_has_no_findings(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand(ADD_EMAIL_ADDRESS), request=QUIET)

    assert codes(result) == []


def test_setting_not_null_on_an_already_not_null_column_is_not_contract_in_expand(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), expand('op.alter_column("users", "name", nullable=False)'), request=QUIET
    )

    assert codes(result) == []


def test_dropping_a_default_the_column_does_not_have_is_not_contract_in_expand(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), expand('op.alter_column("users", "email", server_default=None)'), request=QUIET
    )

    assert codes(result) == []


def test_dropping_an_index_concurrently_is_not_contract_in_expand(tmp_path: Path) -> None:
    result = lint_sql("DROP INDEX CONCURRENTLY ix_users_email;", tmp_path, request=QUIET)

    assert codes(result) == []


def test_pg18_not_null_constraint_before_the_deploy_is_contract_in_expand(tmp_path: Path) -> None:
    result = lint_sql(
        "ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email;", tmp_path, postgresql_version=18
    )

    assert "EC106" in codes(result)
    assert "EC001" in codes(result)


# EC002 expand-in-contract


def test_add_column_in_contract_revision_reaches_the_code_one_deploy_late(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), contract(ADD_EMAIL_ADDRESS), request=QUIET)

    finding = only(result, "EC002")
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "add column users.email_address is additive but runs after the deploy (contract branch)"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "--phase expand" in finding.fix


def test_create_table_in_contract_revision_is_expand_in_contract(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), contract('op.create_table("t", sa.Column("id", sa.Integer))'), request=QUIET
    )

    assert codes(result) == ["EC002"]
    assert "create table t" in only(result, "EC002").message


def test_relaxing_not_null_in_contract_revision_is_expand_in_contract(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), contract('op.alter_column("users", "name", nullable=True)'), request=QUIET
    )

    assert "users.name" in only(result, "EC002").message


def test_add_column_in_expand_revision_is_not_expand_in_contract(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand(ADD_EMAIL_ADDRESS), request=QUIET)

    assert codes(result) == []


def test_drop_in_contract_revision_is_not_expand_in_contract(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), contract(DROP_EMAIL), request=QUIET)

    assert "EC002" not in codes(result)


def test_sql_runs_before_the_deploy_so_additions_are_not_expand_in_contract(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users ADD COLUMN email_address varchar(255);", tmp_path, request=QUIET)

    assert codes(result) == []


def test_dropping_a_scratch_table_in_contract_revision_is_not_called_additive(tmp_path: Path) -> None:
    body = 'op.create_table("tmp", sa.Column("id", sa.Integer))\nop.drop_table("tmp")'
    result = lint_history(tmp_path, baseline(), contract(body), request=QUIET)

    assert [f.message for f in result.findings if f.code == "EC002" and "drop" in f.message] == []


# EC003 unsplit-change


def test_rename_column_in_expand_revision_is_an_unsplit_change(tmp_path: Path) -> None:
    rename = 'op.alter_column("users", "email", new_column_name="email_address")'
    result = lint_history(tmp_path, baseline(), expand(rename), request=QUIET)

    finding = only(result, "EC003")
    assert finding.severity is Severity.ERROR
    assert finding.message == "changes no single phase can hold: line 12 rename-column users.email"
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "recipe" in finding.fix
    assert codes(result) == ["EC003", "EC201"]


def test_rename_column_in_contract_revision_is_still_an_unsplit_change(tmp_path: Path) -> None:
    rename = 'op.alter_column("users", "email", new_column_name="email_address")'
    result = lint_history(tmp_path, baseline(), contract(rename), request=QUIET)

    assert codes(result, Severity.ERROR) == ["EC003", "EC201"]


def test_sql_rename_column_is_an_unsplit_change(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users RENAME COLUMN email TO email_address;", tmp_path, request=QUIET)

    assert (
        only(result, "EC003").message == "changes no single phase can hold: line 1 rename-column users.email"
    )


def test_rename_written_as_expand_and_contract_recipe_is_not_an_unsplit_change(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline(),
        expand(ADD_EMAIL_ADDRESS),
        contract(DROP_EMAIL, depends_on=("r05_expand",)),
        request=QUIET,
    )

    assert codes(result) == ["EC101"]
    assert only(result, "EC101").severity is Severity.GATED


def test_renaming_a_column_of_a_table_created_in_the_same_revision_is_not_an_unsplit_change(
    tmp_path: Path,
) -> None:
    body = (
        'op.create_table("t", sa.Column("id", sa.Integer), sa.Column("a", sa.Text))\n'
        'op.alter_column("t", "a", new_column_name="b")'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_renaming_a_column_of_a_table_it_creates_is_not_an_unsplit_change(tmp_path: Path) -> None:
    result = lint_sql(
        "CREATE TABLE t (id int, a text);\nALTER TABLE t RENAME COLUMN a TO b;", tmp_path, request=QUIET
    )

    assert codes(result) == []


def test_widening_varchar_known_from_history_is_not_an_unsplit_change(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), expand('op.alter_column("users", "email", type_=sa.String(255))'), request=QUIET
    )

    assert codes(result) == []


def test_timestamp_to_timestamptz_in_utc_is_not_an_unsplit_change(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline('op.create_table("events", sa.Column("id", sa.Integer), sa.Column("at", sa.DateTime()))'),
        expand(
            'op.alter_column("events", "at", type_=sa.DateTime(timezone=True), existing_type=sa.DateTime())'
        ),
        lint=LintSettings(session_timezone="UTC"),
        request=QUIET,
    )

    assert codes(result) == []


# EC004 data-with-schema


def test_backfill_in_the_revision_that_adds_the_column_is_data_with_schema(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand(f"{ADD_EMAIL_ADDRESS}\n{BACKFILL}"), request=QUIET)

    finding = only(result, "EC004")
    assert finding.severity is Severity.WARNING
    assert finding.message == "UPDATE on users in the same revision as schema changes (line 12)"
    assert (finding.location.line, finding.location.column) == (13, 5)
    assert "its own revision" in finding.fix


def test_bulk_insert_in_a_revision_with_ddl_is_data_with_schema(tmp_path: Path) -> None:
    body = (
        f"{ADD_EMAIL_ADDRESS}\n"
        'users = sa.table("users", sa.column("name", sa.Text()))\n'
        'op.bulk_insert(users, [{"name": "admin"}])'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert only(result, "EC004").message.startswith("INSERT on users")


def test_sql_update_after_ddl_is_data_with_schema(tmp_path: Path) -> None:
    result = lint_sql(
        "ALTER TABLE users ADD COLUMN email_address text;\nUPDATE users SET email_address = email;", tmp_path
    )

    finding = only(result, "EC004")
    assert (finding.location.line, finding.location.column) == (2, 1)
    assert "UPDATE on users" in finding.message


def test_seeding_a_table_created_in_the_same_revision_is_not_data_with_schema(tmp_path: Path) -> None:
    body = 'op.create_table("plans", sa.Column("id", sa.Integer))\nop.execute("INSERT INTO plans VALUES (1)")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_seeding_a_table_it_creates_is_not_data_with_schema(tmp_path: Path) -> None:
    result = lint_sql("CREATE TABLE plans (id int);\nINSERT INTO plans VALUES (1);", tmp_path, request=QUIET)

    assert codes(result) == []


def test_a_batched_backfill_after_the_ddl_is_not_data_with_schema(tmp_path: Path) -> None:
    backfill = "op.ec_backfill('users', {'email_address': 'email'}, where='email_address IS NULL')"
    body = f"{ADD_EMAIL_ADDRESS}\n{backfill}"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC004" not in codes(result)


def test_data_only_revision_is_not_data_with_schema(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand(ADD_EMAIL_ADDRESS), expand(BACKFILL), request=QUIET)

    assert "EC004" not in codes(result)


def test_writing_the_alembic_version_table_is_not_data_with_schema(tmp_path: Path) -> None:
    body = f"{ADD_EMAIL_ADDRESS}\nop.execute(\"UPDATE alembic_version SET version_num = 'x'\")"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC004" not in codes(result)


# EC005 contract-without-expand


def test_contract_revision_dropping_a_backfilled_column_must_depend_on_the_expand_revision(
    tmp_path: Path,
) -> None:
    result = lint_history(
        tmp_path, baseline(), expand(ADD_EMAIL_ADDRESS), expand(BACKFILL), contract(DROP_EMAIL), request=QUIET
    )

    finding = only(result, "EC005")
    assert finding.severity is Severity.ERROR
    assert finding.revision == "r07_contract"
    assert "removes users.email" in finding.message
    assert "expand revision r06_expand copies" in finding.message
    assert "depends_on = ('r06_expand',)" in finding.message
    assert (finding.location.line, finding.location.column) == (1, 1)


def test_contract_revision_that_depends_on_its_expand_revision_is_complete(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline(),
        expand(ADD_EMAIL_ADDRESS),
        expand(BACKFILL),
        contract(DROP_EMAIL, depends_on=("r06_expand",)),
        request=QUIET,
    )

    assert "EC005" not in codes(result)


def test_dropping_a_column_no_backfill_reads_needs_no_depends_on(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline(),
        expand(ADD_EMAIL_ADDRESS),
        expand(BACKFILL),
        contract('op.drop_column("users", "status")'),
        request=QUIET,
    )

    assert "EC005" not in codes(result)


# EC006 unphased-revision


def _move(path: Path, folder: Path) -> None:
    shutil.move(path, folder / path.name)


def test_expand_revision_in_the_contract_folder_is_an_unphased_revision(tmp_path: Path) -> None:
    history = write_history(tmp_path, baseline(), expand(ADD_EMAIL_ADDRESS))
    _move(history.paths["r05_expand"], tmp_path / "migrations" / "versions" / "contract")

    result = api.lint(history.settings, api.LintRequest())

    finding = only(result, "EC006")
    assert finding.severity is Severity.ERROR
    assert finding.revision == "r05_expand"
    assert finding.message.startswith("r05_expand is on the expand branch but not in a `expand/` folder")
    assert (finding.location.line, finding.location.column) == (1, 1)


def test_expand_revision_outside_any_phase_folder_is_an_unphased_revision(tmp_path: Path) -> None:
    history = write_history(tmp_path, baseline(), expand(ADD_EMAIL_ADDRESS))
    _move(history.paths["r05_expand"], tmp_path / "migrations" / "versions")

    result = api.lint(history.settings, api.LintRequest())

    assert "not in a `expand/` folder" in only(result, "EC006").message


def test_revision_on_neither_branch_is_an_unphased_revision(tmp_path: Path) -> None:
    history = write_history(tmp_path, baseline(), expand(ADD_EMAIL_ADDRESS))
    path = history.paths["r05_expand"]
    text = path.read_text().replace("down_revision = 'expand_root'", "down_revision = 'root'")
    path.unlink()
    (tmp_path / "migrations" / "versions" / path.name).write_text(text)

    result = api.lint(history.settings, api.LintRequest())

    assert "r05_expand is on neither the expand nor the contract branch" in only(result, "EC006").message


def test_revision_merging_the_phase_branches_is_an_unphased_revision(tmp_path: Path) -> None:
    history = write_history(tmp_path, baseline(), expand(ADD_EMAIL_ADDRESS), contract(DROP_EMAIL))
    path = history.paths["r05_expand"]
    path.write_text(
        path.read_text().replace(
            "down_revision = 'expand_root'", "down_revision = ('expand_root', 'r06_contract')"
        )
    )

    result = api.lint(history.settings, QUIET)

    assert "r05_expand merges the expand and contract branches" in only(result, "EC006").message


def test_revisions_in_their_phase_folders_are_not_unphased(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), expand(ADD_EMAIL_ADDRESS), contract(DROP_EMAIL), request=QUIET
    )

    assert codes(result) == ["EC101"]


def test_project_without_phase_branches_has_no_unphased_revisions(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(USERS), unphased(ADD_EMAIL_ADDRESS), phased=False, request=QUIET)

    assert codes(result) == []


# EC007 unreviewed-step


def test_a_step_marked_for_review_is_an_error_until_the_line_goes(tmp_path: Path) -> None:
    body = (
        "# expandcontract: review: an in-place rename breaks the running release\n"
        'op.add_column("users", sa.Column("nickname", sa.Text()))'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC007")
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "autogenerated step left for review: an in-place rename breaks the running release"
    )
    assert "delete the line" in finding.fix

    reviewed = lint_history(tmp_path / "reviewed", baseline(), expand(body.splitlines()[1]), request=QUIET)
    assert "EC007" not in codes(reviewed)


def test_review_lines_in_a_downgrade_are_not_reported(tmp_path: Path) -> None:
    rev = expand(
        'op.add_column("users", sa.Column("nickname", sa.Text()))',
        downgrade="# expandcontract: review: nickname comes back empty\nop.drop_column('users', 'nickname')",
    )
    result = lint_history(tmp_path, baseline(), rev, request=QUIET)

    assert "EC007" not in codes(result)


def test_a_reviewed_step_can_say_so_with_a_suppression(tmp_path: Path) -> None:
    body = (
        "# expandcontract: review: no zero-downtime recipe  # expandcontract: ignore[EC007] -- "
        "reviewed: the table is empty in every environment\n"
        'op.add_column("users", sa.Column("nickname", sa.Text()))'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC007" not in codes(result) and "EC903" not in codes(result)
