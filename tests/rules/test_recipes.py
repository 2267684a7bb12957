"""EC2xx, changes no single phase can hold: errors in every phase, written instead as a recipe of an
expand part and a contract part."""

from __future__ import annotations

from pathlib import Path

import pytest
from lintkit import baseline, codes, contract, expand, lint_history, lint_sql, only

from expandcontract import api
from expandcontract.model import Severity
from expandcontract.settings import LintSettings

# no env.py in these projects: keep EC403 missing-lock-timeout out of the way
QUIET = api.LintRequest(ignore=("EC403",))

NEW_TABLE = 'op.create_table("t", sa.Column("id", sa.Integer), sa.Column("a", sa.Text))'
EVENTS = """op.create_table(
    "events",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("at", sa.DateTime()),
    sa.Column("amount", sa.Numeric(10, 2)),
    sa.Column("network", postgresql.CIDR()),
)"""
EVENTS_MODULE = "from sqlalchemy.dialects import postgresql\n"


# EC201 rename-column


def test_rename_column_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "email", new_column_name="email_address")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC201")
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "renames column users.email to email_address; old and new releases cannot both work"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert finding.fix.startswith("add email_address + sync trigger + backfill in an expand revision")
    assert "drop email in a contract revision" in finding.fix


def test_rename_column_in_contract_revision_is_still_an_error(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "email", new_column_name="email_address")'
    result = lint_history(tmp_path, baseline(), contract(body), request=QUIET)

    assert only(result, "EC201").severity is Severity.ERROR


def test_renaming_a_column_of_a_table_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    body = f'{NEW_TABLE}\nop.alter_column("t", "a", new_column_name="b")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_rename_column_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users RENAME COLUMN email TO email_address;", tmp_path, request=QUIET)

    assert only(result, "EC201").severity is Severity.ERROR
    assert "renames column users.email to email_address" in only(result, "EC201").message


def test_sql_alembic_rendering_of_a_column_rename_is_a_rename_column(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users RENAME email TO email_address;", tmp_path, request=QUIET)

    assert "renames column users.email to email_address" in only(result, "EC201").message


def test_sql_renaming_a_column_of_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    sql = "CREATE TABLE t (id int, a text);\nALTER TABLE t RENAME COLUMN a TO b;"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


# EC202 rename-table


def test_rename_table_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand('op.rename_table("users", "accounts")'), request=QUIET)

    finding = only(result, "EC202")
    assert finding.severity is Severity.ERROR
    assert finding.message == "renames table users to accounts; old and new releases cannot both work"
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "updatable view under the old name" in finding.fix


def test_rename_table_in_contract_revision_is_still_an_error(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), contract('op.rename_table("users", "accounts")'), request=QUIET
    )

    assert only(result, "EC202").severity is Severity.ERROR


def test_renaming_a_table_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    body = f'{NEW_TABLE}\nop.rename_table("t", "t2")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_rename_table_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users RENAME TO accounts;", tmp_path, request=QUIET)

    assert only(result, "EC202").message.startswith("renames table users to accounts")


def test_sql_renaming_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    result = lint_sql("CREATE TABLE t (id int);\nALTER TABLE t RENAME TO t2;", tmp_path, request=QUIET)

    assert codes(result) == []


def test_sql_moving_a_table_to_another_schema_is_not_a_rename_table(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users SET SCHEMA archive;", tmp_path, request=QUIET)

    assert "EC202" not in codes(result)
    assert "EC203" in codes(result)


# EC203 rename-object


def test_rename_index_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    body = 'op.execute("ALTER INDEX ix_users_email RENAME TO ix_users_email_lower")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC203")
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "renames index ix_users_email to ix_users_email_lower; the running release still uses the old name"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "add the object under the new name" in finding.fix


def test_rename_index_in_contract_revision_is_still_an_error(tmp_path: Path) -> None:
    body = 'op.execute("ALTER INDEX ix_users_email RENAME TO ix_users_email_lower")'
    result = lint_history(tmp_path, baseline(), contract(body), request=QUIET)

    assert only(result, "EC203").severity is Severity.ERROR


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("ALTER SEQUENCE order_no RENAME TO order_number;", "sequence order_no to order_number"),
        ("ALTER TABLE users RENAME CONSTRAINT ck_a TO ck_b;", "constraint ck_a on users to ck_b"),
        ("ALTER SCHEMA billing RENAME TO invoicing;", "schema billing to invoicing"),
        ("ALTER TYPE mood RENAME TO feeling;", "type mood to feeling"),
    ],
)
def test_sql_rename_object_is_an_error(tmp_path: Path, sql: str, what: str) -> None:
    result = lint_sql(sql, tmp_path, request=QUIET)

    finding = only(result, "EC203")
    assert finding.severity is Severity.ERROR
    assert finding.message == f"renames {what}; the running release still uses the old name"


def test_sql_set_schema_moves_the_table_away_from_its_old_name(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users SET SCHEMA archive;", tmp_path, request=QUIET)

    assert only(result, "EC203").message.startswith("moves users to another schema (archive.users)")


def test_sql_moving_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    result = lint_sql("CREATE TABLE t (id int);\nALTER TABLE t SET SCHEMA archive;", tmp_path, request=QUIET)

    assert codes(result) == []


def test_sql_rename_constraint_message_names_the_table(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users RENAME CONSTRAINT ck_a TO ck_b;", tmp_path, request=QUIET)

    assert "users" in only(result, "EC203").message


def test_renaming_an_index_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    body = (
        f'{NEW_TABLE}\nop.create_index("ix_t_a", "t", ["a"])\n'
        'op.execute("ALTER INDEX ix_t_a RENAME TO ix_t_a2")'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


# EC204 change-column-type


def test_incompatible_type_change_known_from_history_is_an_error(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "name", type_=sa.Integer())'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC204")
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "changes users.name from TEXT to INTEGER in place; "
        "old code may not accept it and the table is rewritten"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert finding.fix.startswith("add a new column of the new type + sync trigger + backfill")


def test_incompatible_type_change_with_existing_type_is_an_error(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "name", type_=sa.Integer(), existing_type=sa.Text())'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "from TEXT to INTEGER" in only(result, "EC204").message


def test_incompatible_type_change_in_contract_revision_is_still_an_error(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "name", type_=sa.Integer())'
    result = lint_history(tmp_path, baseline(), contract(body), request=QUIET)

    assert only(result, "EC204").severity is Severity.ERROR


def test_narrowing_varchar_is_an_error(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "email", type_=sa.String(50))'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "from VARCHAR(100) to VARCHAR(50)" in only(result, "EC204").message


def test_type_change_of_a_column_the_history_does_not_show_asks_for_existing_type(tmp_path: Path) -> None:
    body = 'op.alter_column("accounts", "balance", type_=sa.Integer())'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC204")
    assert finding.message == (
        "changes the type of accounts.balance to INTEGER, from a type the history does not show"
    )
    assert "pass existing_type= to op.alter_column()" in finding.fix


@pytest.mark.parametrize(
    "type_",
    ["sa.String(255)", "sa.String()", "sa.Text()"],
    ids=["widen", "remove-limit", "to-text"],
)
def test_varchar_widening_is_no_type_change_hazard(tmp_path: Path, type_: str) -> None:
    body = f'op.alter_column("users", "email", type_={type_})'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC204" not in codes(result)


def test_numeric_precision_up_at_the_same_scale_is_no_type_change_hazard(tmp_path: Path) -> None:
    body = 'op.alter_column("events", "amount", type_=sa.Numeric(12, 2))'
    result = lint_history(tmp_path, baseline(EVENTS, module=EVENTS_MODULE), expand(body), request=QUIET)

    assert "EC204" not in codes(result)


def test_cidr_to_inet_is_no_type_change_hazard(tmp_path: Path) -> None:
    body = 'op.alter_column("events", "network", type_=postgresql.INET())'
    result = lint_history(
        tmp_path,
        baseline(EVENTS, module=EVENTS_MODULE),
        expand(body, module=EVENTS_MODULE),
        request=QUIET,
    )

    assert "EC204" not in codes(result)


def test_timestamp_to_timestamptz_with_utc_sessions_is_no_type_change_hazard(tmp_path: Path) -> None:
    body = 'op.alter_column("events", "at", type_=sa.DateTime(timezone=True))'
    result = lint_history(
        tmp_path,
        baseline(EVENTS, module=EVENTS_MODULE),
        expand(body),
        lint=LintSettings(session_timezone="UTC"),
        request=QUIET,
    )

    assert "EC204" not in codes(result)


def test_timestamp_to_timestamptz_without_a_utc_session_is_a_type_change(tmp_path: Path) -> None:
    body = 'op.alter_column("events", "at", type_=sa.DateTime(timezone=True))'
    result = lint_history(tmp_path, baseline(EVENTS, module=EVENTS_MODULE), expand(body), request=QUIET)

    assert "events.at from TIMESTAMP" in only(result, "EC204").message
    assert "to TIMESTAMP WITH TIME ZONE" in only(result, "EC204").message


def test_timestamp_to_timestamptz_before_postgresql_12_is_a_type_change(tmp_path: Path) -> None:
    body = 'op.alter_column("events", "at", type_=sa.DateTime(timezone=True))'
    result = lint_history(
        tmp_path,
        baseline(EVENTS, module=EVENTS_MODULE),
        expand(body),
        lint=LintSettings(session_timezone="UTC"),
        postgresql_version=11,
        request=QUIET,
    )

    assert "EC204" in codes(result)


def test_int_to_bigint_rewrites_but_is_no_incompatible_type_change(tmp_path: Path) -> None:
    counters = 'op.create_table("counters", sa.Column("name", sa.Text()), sa.Column("hits", sa.Integer()))'
    body = 'op.alter_column("counters", "hits", type_=sa.BigInteger())'
    result = lint_history(tmp_path, baseline(counters), expand(body), request=QUIET)

    assert "EC204" not in codes(result)
    assert "EC310" in codes(result)


def test_integer_primary_key_to_bigint_is_no_incompatible_type_change(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "id", type_=sa.BigInteger())'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC204" not in codes(result)
    assert "EC310" in codes(result)


def test_type_change_of_a_table_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    body = f'{NEW_TABLE}\nop.alter_column("t", "a", type_=sa.Integer())'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_type_change_of_an_unknown_column_is_an_error(tmp_path: Path) -> None:
    sql = "ALTER TABLE users ALTER COLUMN name TYPE integer USING name::integer;"
    result = lint_sql(sql, tmp_path, request=QUIET)

    finding = only(result, "EC204")
    assert finding.severity is Severity.ERROR
    assert finding.message.startswith("changes the type of users.name to INT")


def test_sql_type_change_of_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    sql = "CREATE TABLE t (id int, a text);\nALTER TABLE t ALTER COLUMN a TYPE integer USING a::integer;"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


# EC205 add-required-column

ADD_REQUIRED = 'op.add_column("users", sa.Column("tenant_id", sa.Integer(), nullable=False))'


def test_add_not_null_column_without_default_is_an_error(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand(ADD_REQUIRED), request=QUIET)

    finding = only(result, "EC205")
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "adds NOT NULL column users.tenant_id without a default; it fails on a non-empty table and "
        "old inserts fail"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert finding.fix.startswith("add it nullable (or with a constant server_default)")


def test_add_not_null_column_in_contract_revision_is_still_an_error(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), contract(ADD_REQUIRED), request=QUIET)

    assert only(result, "EC205").severity is Severity.ERROR


def test_add_not_null_column_with_a_server_default_is_fine(tmp_path: Path) -> None:
    body = 'op.add_column("users", sa.Column("tenant_id", sa.Integer(), nullable=False, server_default="0"))'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_add_nullable_column_is_fine(tmp_path: Path) -> None:
    body = 'op.add_column("users", sa.Column("tenant_id", sa.Integer(), nullable=True))'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_add_not_null_column_to_a_table_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    body = f'{NEW_TABLE}\nop.add_column("t", sa.Column("tenant_id", sa.Integer(), nullable=False))'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_add_not_null_generated_column_is_no_required_column(tmp_path: Path) -> None:
    body = (
        'op.add_column("users", '
        'sa.Column("email_lower", sa.Text(), sa.Computed("lower(email)"), nullable=False))'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC205" not in codes(result)


def test_sql_add_not_null_column_without_default_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users ADD COLUMN tenant_id integer NOT NULL;", tmp_path, request=QUIET)

    assert only(result, "EC205").severity is Severity.ERROR
    assert "users.tenant_id" in only(result, "EC205").message


def test_sql_add_not_null_column_with_default_is_fine(tmp_path: Path) -> None:
    result = lint_sql(
        "ALTER TABLE users ADD COLUMN tenant_id integer NOT NULL DEFAULT 0;", tmp_path, request=QUIET
    )

    assert codes(result) == []


def test_sql_add_not_null_column_to_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    sql = "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN tenant_id integer NOT NULL;"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []
