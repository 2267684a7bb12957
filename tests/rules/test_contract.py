"""EC1xx, contract changes: errors before the deploy (expand, unphased, SQL), gated in contract revisions."""

from __future__ import annotations

from pathlib import Path

import pytest
from lintkit import USERS, baseline, codes, contract, expand, lint_history, lint_sql, only, unphased

from expandcontract import api
from expandcontract.model import Severity

# no env.py in these projects: keep EC403 missing-lock-timeout out of the way
QUIET = api.LintRequest(ignore=("EC403",))
WITH_EC107 = api.LintRequest(select=("EC107",))

ORDERS = (
    USERS
    + """
op.create_table(
    "orders",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_orders_user")),
    sa.Column("total", sa.Numeric(10, 2)),
    sa.CheckConstraint("total >= 0", name="ck_orders_total"),
    sa.UniqueConstraint("user_id", name="uq_orders_user"),
)"""
)
NEW_TABLE = 'op.create_table("t", sa.Column("id", sa.Integer), sa.Column("a", sa.Text, server_default="x"))'


# EC101 drop-column


def test_drop_column_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand('op.drop_column("users", "email")'), request=QUIET)

    finding = only(result, "EC101")
    assert finding.severity is Severity.ERROR
    assert finding.name == "drop-column"
    assert finding.message == "drops column users.email, which the running release may still read or write"
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert finding.fix.startswith("stop using column email in the application, deploy")
    assert "--phase contract" in finding.fix


def test_drop_column_in_contract_revision_is_gated(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), contract('op.drop_column("users", "email")'), request=QUIET)

    assert only(result, "EC101").severity is Severity.GATED
    assert codes(result, Severity.ERROR) == []


def test_drop_column_in_an_unphased_project_is_an_error(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), unphased('op.drop_column("users", "email")'), phased=False, request=QUIET
    )

    assert only(result, "EC101").severity is Severity.ERROR


def test_batch_drop_column_in_expand_revision_is_an_error_at_the_batch_call(tmp_path: Path) -> None:
    body = 'with op.batch_alter_table("users") as batch_op:\n    batch_op.drop_column("email")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC101")
    assert finding.severity is Severity.ERROR
    assert (finding.location.line, finding.location.column) == (13, 9)
    assert "users.email" in finding.message


def test_batch_drop_column_in_contract_revision_is_gated(tmp_path: Path) -> None:
    body = 'with op.batch_alter_table("users") as batch_op:\n    batch_op.drop_column("email")'
    result = lint_history(tmp_path, baseline(), contract(body), request=QUIET)

    assert only(result, "EC101").severity is Severity.GATED


def test_dropping_a_column_of_a_table_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), expand(f'{NEW_TABLE}\nop.drop_column("t", "a")'), request=QUIET
    )

    assert codes(result) == []


def test_sql_drop_column_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users DROP COLUMN IF EXISTS email;", tmp_path, request=QUIET)

    finding = only(result, "EC101")
    assert finding.severity is Severity.ERROR
    assert "users.email" in finding.message
    assert (finding.location.line, finding.location.column) == (1, 1)


def test_sql_drop_column_is_reported_at_its_statement(tmp_path: Path) -> None:
    sql = "-- cleanup\n\nALTER TABLE users\n    DROP COLUMN email;"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert (only(result, "EC101").location.line, only(result, "EC101").location.column) == (3, 1)


def test_sql_second_statement_on_a_line_is_reported_at_its_column(tmp_path: Path) -> None:
    sql = "ALTER TABLE users ADD COLUMN x int; ALTER TABLE users DROP COLUMN email;"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert (only(result, "EC101").location.line, only(result, "EC101").location.column) == (1, 37)


def test_sql_dropping_a_column_of_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    result = lint_sql(
        "CREATE TABLE t (id int, a text);\nALTER TABLE t DROP COLUMN a;", tmp_path, request=QUIET
    )

    assert codes(result) == []


# EC102 drop-table


def test_drop_table_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand('op.drop_table("users")'), request=QUIET)

    finding = only(result, "EC102")
    assert finding.severity is Severity.ERROR
    assert finding.message == "drops table users, which the running release may still query"
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "stop using table users" in finding.fix


def test_drop_table_in_contract_revision_is_gated(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), contract('op.drop_table("users")'), request=QUIET)

    assert only(result, "EC102").severity is Severity.GATED


def test_dropping_a_table_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand(f'{NEW_TABLE}\nop.drop_table("t")'), request=QUIET)

    assert codes(result) == []


def test_sql_drop_table_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("DROP TABLE users;", tmp_path, request=QUIET)

    assert only(result, "EC102").severity is Severity.ERROR
    assert "drops table users" in only(result, "EC102").message


def test_sql_dropping_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    result = lint_sql("CREATE TABLE t (id int);\nDROP TABLE t;", tmp_path, request=QUIET)

    assert codes(result) == []


# EC103 drop-constraint


@pytest.mark.parametrize(
    ("name", "type_"),
    [("uq_orders_user", "unique"), ("fk_orders_user", "foreignkey"), ("ck_orders_total", "check")],
)
def test_drop_constraint_in_expand_revision_is_an_error(tmp_path: Path, name: str, type_: str) -> None:
    body = f'op.drop_constraint("{name}", "orders", type_="{type_}")'
    result = lint_history(tmp_path, baseline(ORDERS), expand(body), request=QUIET)

    finding = only(result, "EC103")
    assert finding.severity is Severity.ERROR
    assert finding.message == f"drops constraint {name} on orders, which the running release may rely on"
    assert f"stop relying on constraint {name}" in finding.fix


def test_drop_constraint_in_contract_revision_is_gated(tmp_path: Path) -> None:
    body = 'op.drop_constraint("uq_orders_user", "orders", type_="unique")'
    result = lint_history(tmp_path, baseline(ORDERS), contract(body), request=QUIET)

    assert only(result, "EC103").severity is Severity.GATED


def test_dropping_a_constraint_of_a_table_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    body = (
        'op.create_table("t", sa.Column("id", sa.Integer), sa.CheckConstraint("id > 0", name="ck_t"))\n'
        'op.drop_constraint("ck_t", "t", type_="check")'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_drop_constraint_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE orders DROP CONSTRAINT ck_orders_total;", tmp_path, request=QUIET)

    assert only(result, "EC103").message.startswith("drops constraint ck_orders_total on orders")


def test_sql_dropping_a_constraint_of_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    sql = "CREATE TABLE t (id int, CONSTRAINT ck_t CHECK (id > 0));\nALTER TABLE t DROP CONSTRAINT ck_t;"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


# EC104 drop-object


def test_drop_view_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand('op.execute("DROP VIEW active_users")'), request=QUIET)

    finding = only(result, "EC104")
    assert finding.severity is Severity.ERROR
    assert finding.message == "drops view active_users, which the running release may still use"
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "stop using view active_users" in finding.fix


def test_drop_view_in_contract_revision_is_gated(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(), contract('op.execute("DROP VIEW active_users")'), request=QUIET
    )

    assert only(result, "EC104").severity is Severity.GATED


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("DROP VIEW active_users;", "view active_users"),
        ("DROP FUNCTION normalize_email(text);", "function normalize_email"),
        ("DROP PROCEDURE archive_orders();", "procedure archive_orders"),
        ("DROP TYPE mood;", "type mood"),
        ("DROP DOMAIN email_address;", "domain email_address"),
        ("DROP SEQUENCE order_no;", "sequence order_no"),
        ("DROP SCHEMA archive;", "schema archive"),
        ("DROP TRIGGER users_audit ON users;", "trigger users_audit"),
        ("DROP EXTENSION pg_trgm;", "extension pg_trgm"),
    ],
)
def test_sql_drop_object_is_an_error(tmp_path: Path, sql: str, what: str) -> None:
    result = lint_sql(sql, tmp_path, request=QUIET)

    finding = only(result, "EC104")
    assert finding.severity is Severity.ERROR
    assert finding.message == f"drops {what}, which the running release may still use"


def test_sql_dropping_two_views_reports_each(tmp_path: Path) -> None:
    result = lint_sql("DROP VIEW IF EXISTS a, b;", tmp_path, request=QUIET)

    assert [f.message.split(",")[0] for f in result.findings if f.code == "EC104"] == [
        "drops view a",
        "drops view b",
    ]


def test_dropping_a_view_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    body = 'op.execute("CREATE VIEW v AS SELECT id FROM users")\nop.execute("DROP VIEW v")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


# EC105 drop-default


def test_drop_default_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "status", server_default=None)'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC105")
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "drops the default of users.status; old writers that omit the column now write NULL or fail"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "make every writer send status" in finding.fix


def test_drop_default_in_contract_revision_is_gated(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "status", server_default=None)'
    result = lint_history(tmp_path, baseline(), contract(body), request=QUIET)

    assert only(result, "EC105").severity is Severity.GATED


def test_dropping_a_default_the_history_does_not_show_is_no_drop_default(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "email", server_default=None)'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC105" not in codes(result)


def test_sql_drop_default_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users ALTER COLUMN status DROP DEFAULT;", tmp_path, request=QUIET)

    assert only(result, "EC105").severity is Severity.ERROR
    assert "drops the default of users.status" in only(result, "EC105").message


def test_sql_drop_identity_is_a_drop_default(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users ALTER COLUMN id DROP IDENTITY;", tmp_path, request=QUIET)

    assert only(result, "EC105").message.startswith("drops the identity of users.id")


def test_sql_dropping_a_default_of_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    sql = "CREATE TABLE t (id int, s text DEFAULT 'x');\nALTER TABLE t ALTER COLUMN s DROP DEFAULT;"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


# EC106 set-not-null


def test_set_not_null_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "email", nullable=False)'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    finding = only(result, "EC106")
    assert finding.severity is Severity.ERROR
    assert finding.message == "makes users.email NOT NULL; old writers that write NULL or omit it fail"
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "make every writer send a value for it" in finding.fix


def test_set_not_null_in_contract_revision_is_gated(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "email", nullable=False)'
    result = lint_history(tmp_path, baseline(), contract(body), request=QUIET)

    assert only(result, "EC106").severity is Severity.GATED


def test_set_not_null_on_a_column_already_not_null_is_fine(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "name", nullable=False)'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC106" not in codes(result)


def test_sql_set_not_null_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("ALTER TABLE users ALTER COLUMN email SET NOT NULL;", tmp_path, request=QUIET)

    assert only(result, "EC106").severity is Severity.ERROR
    assert "makes users.email NOT NULL" in only(result, "EC106").message


def test_sql_set_not_null_on_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    sql = "CREATE TABLE t (id int, a text);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;"
    result = lint_sql(sql, tmp_path, request=QUIET)

    assert codes(result) == []


def test_sql_pg18_not_null_constraint_is_a_set_not_null(tmp_path: Path) -> None:
    sql = "ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email;"
    result = lint_sql(sql, tmp_path, request=QUIET, postgresql_version=18)

    assert only(result, "EC106").severity is Severity.ERROR


def test_sql_pg18_not_null_constraint_message_names_the_column(tmp_path: Path) -> None:
    sql = "ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email;"
    result = lint_sql(sql, tmp_path, request=QUIET, postgresql_version=18)

    assert "makes users.email NOT NULL" in only(result, "EC106").message


# EC107 new-write-restriction (opt-in)


def test_new_check_constraint_is_not_reported_unless_selected(tmp_path: Path) -> None:
    body = 'op.create_check_constraint("ck_name", "users", "length(name) > 0", postgresql_not_valid=True)'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC107" not in codes(result)


def test_new_check_constraint_even_not_valid_restricts_old_writers(tmp_path: Path) -> None:
    body = 'op.create_check_constraint("ck_name", "users", "length(name) > 0", postgresql_not_valid=True)'
    result = lint_history(tmp_path, baseline(), expand(body), request=WITH_EC107)

    finding = only(result, "EC107")
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "adds a check constraint on users; running writers that violate it start failing"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert finding.fix == "deploy writers that respect it first, or add it in a contract revision"


def test_new_write_restriction_can_be_added_by_name_with_extend_select(tmp_path: Path) -> None:
    body = 'op.create_check_constraint("ck_name", "users", "length(name) > 0", postgresql_not_valid=True)'
    request = api.LintRequest(extend_select=("new-write-restriction",), ignore=("EC403",))
    result = lint_history(tmp_path, baseline(), expand(body), request=request)

    assert "EC107" in codes(result)


def test_new_write_restriction_in_contract_revision_is_gated(tmp_path: Path) -> None:
    body = 'op.create_check_constraint("ck_name", "users", "length(name) > 0", postgresql_not_valid=True)'
    result = lint_history(tmp_path, baseline(), contract(body), request=WITH_EC107)

    assert only(result, "EC107").severity is Severity.GATED


def test_new_unique_constraint_restricts_old_writers_and_never_suggests_not_valid(tmp_path: Path) -> None:
    body = 'op.create_unique_constraint("uq_users_email", "users", ["email"])'
    result = lint_history(tmp_path, baseline(), expand(body), request=WITH_EC107)

    finding = only(result, "EC107")
    assert "adds a unique constraint on users" in finding.message
    assert "NOT VALID" not in finding.fix
    assert "not_valid" not in finding.fix


def test_new_foreign_key_not_valid_restricts_old_writers(tmp_path: Path) -> None:
    body = (
        'op.create_foreign_key("fk_orders_user2", "orders", "users", ["user_id"], ["id"], '
        "postgresql_not_valid=True)"
    )
    result = lint_history(tmp_path, baseline(ORDERS), expand(body), request=WITH_EC107)

    assert "adds a foreign key constraint on orders" in only(result, "EC107").message


def test_unique_index_built_concurrently_restricts_old_writers(tmp_path: Path) -> None:
    body = (
        "with op.get_context().autocommit_block():\n"
        '    op.create_index("ix_users_email", "users", ["email"], unique=True, postgresql_concurrently=True)'
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=WITH_EC107)

    finding = only(result, "EC107")
    assert finding.message.startswith("adds a unique index on users")
    assert (finding.location.line, finding.location.column) == (13, 9)


def test_constraints_on_a_table_created_in_the_same_revision_restrict_no_one(tmp_path: Path) -> None:
    body = f'{NEW_TABLE}\nop.create_unique_constraint("uq_t_a", "t", ["a"])'
    result = lint_history(tmp_path, baseline(), expand(body), request=WITH_EC107)

    assert codes(result) == []


def test_sql_check_constraint_not_valid_restricts_old_writers(tmp_path: Path) -> None:
    sql = "ALTER TABLE users ADD CONSTRAINT ck_name CHECK (length(name) > 0) NOT VALID;"
    result = lint_sql(sql, tmp_path, request=WITH_EC107)

    assert only(result, "EC107").message.startswith("adds a check constraint on users")


@pytest.mark.parametrize(
    "constraint",
    ["UNIQUE (email)", "EXCLUDE USING gist (name WITH =)"],
    ids=["unique", "exclude"],
)
def test_sql_index_backed_restriction_never_suggests_not_valid(tmp_path: Path, constraint: str) -> None:
    sql = f"ALTER TABLE users ADD CONSTRAINT users_restrict {constraint};"
    result = lint_sql(sql, tmp_path, request=WITH_EC107)

    assert "NOT VALID" not in only(result, "EC107").fix


def test_sql_exclusion_constraint_message_reads_well(tmp_path: Path) -> None:
    sql = "ALTER TABLE users ADD CONSTRAINT users_no_twins EXCLUDE USING gist (name WITH =);"
    result = lint_sql(sql, tmp_path, request=WITH_EC107)

    assert "adds an exclusion constraint on users" in only(result, "EC107").message


def test_sql_unique_using_index_is_reported_at_the_index_not_the_constraint(tmp_path: Path) -> None:
    sql = "ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE USING INDEX ix_users_email;"
    result = lint_sql(sql, tmp_path, request=WITH_EC107)

    assert "EC107" not in codes(result)


def test_sql_constraint_on_a_table_it_creates_restricts_no_one(tmp_path: Path) -> None:
    sql = "CREATE TABLE t (id int, a text);\nALTER TABLE t ADD CONSTRAINT ck_t CHECK (a <> '') NOT VALID;"
    result = lint_sql(sql, tmp_path, request=WITH_EC107)

    assert codes(result) == []


# EC108 truncate


def test_truncate_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand('op.execute("TRUNCATE users")'), request=QUIET)

    finding = only(result, "EC108")
    assert finding.severity is Severity.ERROR
    assert finding.message == "truncates users, data the running release reads"
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "WHERE clause" in finding.fix


def test_truncate_in_contract_revision_is_gated(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), contract('op.execute("TRUNCATE users")'), request=QUIET)

    assert only(result, "EC108").severity is Severity.GATED


def test_delete_without_where_is_a_truncate(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand('op.execute("DELETE FROM users")'), request=QUIET)

    assert only(result, "EC108").message == "deletes every row of users, data the running release reads"


def test_delete_with_where_is_not_a_truncate(tmp_path: Path) -> None:
    body = "op.execute(\"DELETE FROM users WHERE status = 'spam'\")"
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert "EC108" not in codes(result)


def test_truncating_a_table_created_in_the_same_revision_is_fine(tmp_path: Path) -> None:
    body = f'{NEW_TABLE}\nop.execute("TRUNCATE t")'
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_truncate_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("TRUNCATE users;", tmp_path, request=QUIET)

    assert only(result, "EC108").severity is Severity.ERROR


def test_sql_delete_without_where_is_a_truncate(tmp_path: Path) -> None:
    result = lint_sql("DELETE FROM users;", tmp_path, request=QUIET)

    assert "deletes every row of users" in only(result, "EC108").message


def test_sql_delete_with_where_is_not_a_truncate(tmp_path: Path) -> None:
    result = lint_sql("DELETE FROM users WHERE status = 'spam';", tmp_path, request=QUIET)

    assert "EC108" not in codes(result)


def test_sql_truncating_a_table_it_creates_is_fine(tmp_path: Path) -> None:
    result = lint_sql("CREATE TABLE t (id int);\nTRUNCATE t;", tmp_path, request=QUIET)

    assert codes(result) == []


# EC109 drop-enum-value

RENAME_VALUE = "op.execute(\"ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'\")"


def test_rename_enum_value_in_expand_revision_is_an_error(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), expand(RENAME_VALUE), request=QUIET)

    finding = only(result, "EC109")
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        "renames a value of enum mood; the running release still reads and writes the old one"
    )
    assert (finding.location.line, finding.location.column) == (12, 5)
    assert "add the new value in an expand revision" in finding.fix


def test_rename_enum_value_in_contract_revision_is_still_an_error(tmp_path: Path) -> None:
    result = lint_history(tmp_path, baseline(), contract(RENAME_VALUE), request=QUIET)

    assert only(result, "EC109").severity is Severity.ERROR


def test_adding_an_enum_value_outside_the_transaction_is_fine(tmp_path: Path) -> None:
    body = (
        "with op.get_context().autocommit_block():\n"
        "    op.execute(\"ALTER TYPE mood ADD VALUE IF NOT EXISTS 'blue'\")"
    )
    result = lint_history(tmp_path, baseline(), expand(body), request=QUIET)

    assert codes(result) == []


def test_sql_rename_enum_value_is_an_error(tmp_path: Path) -> None:
    result = lint_sql("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';", tmp_path, request=QUIET)

    assert only(result, "EC109").severity is Severity.ERROR


def test_sql_adding_an_enum_value_is_no_drop_enum_value(tmp_path: Path) -> None:
    result = lint_sql("ALTER TYPE mood ADD VALUE 'blue';", tmp_path, request=QUIET)

    assert "EC109" not in codes(result)
