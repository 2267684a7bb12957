"""EC5xx: style rules, all opt-in. Each: a failing and a passing case, as Alembic and as SQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from lintkit import USERS, baseline, codes, expand, lint_history, lint_sql, only

from expandcontract import api
from expandcontract.lint import LintResult
from expandcontract.model import Severity

STYLE = api.LintRequest(select=("EC5",))
PG = "from sqlalchemy.dialects import postgresql"
FIRST = 12  # the file line of the first line of upgrade()'s body
INDENT = 5


def create(tmp_path: Path, *columns: str) -> LintResult:
    """Lint a revision that creates table `t` with the given sa.Column(...) sources."""
    body = f'op.create_table("t", {", ".join(columns)})'
    return lint_history(tmp_path, expand(body, module=PG), request=STYLE)


def sql(text: str) -> LintResult:
    return lint_sql(text, request=STYLE)


def test_style_rules_are_off_by_default(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        expand(
            'op.create_table("t", sa.Column("id", sa.Integer()), sa.Column("at", sa.DateTime()), '
            'sa.Column("code", sa.CHAR(3)), sa.Column("doc", sa.JSON()), sa.Column("name", sa.String(20)))'
        ),
    )
    assert [f for f in result.findings if f.code.startswith("EC5")] == []


def test_style_findings_are_warnings(tmp_path: Path) -> None:
    assert only(create(tmp_path, 'sa.Column("n", sa.Integer())'), "EC501").severity is Severity.WARNING


# EC501 prefer-bigint


def test_integer_column_is_ec501(tmp_path: Path) -> None:
    finding = only(create(tmp_path, 'sa.Column("n", sa.Integer())'), "EC501")
    assert (finding.location.line, finding.location.column) == (FIRST, INDENT)
    assert "t.n" in finding.message and "INT" in finding.message
    assert finding.fix == "use BigInteger"


def test_smallint_column_is_ec501(tmp_path: Path) -> None:
    assert "SMALLINT" in only(create(tmp_path, 'sa.Column("n", sa.SmallInteger())'), "EC501").message


def test_integer_column_added_to_an_existing_table_is_ec501(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline(USERS),
        expand('op.add_column("users", sa.Column("n", sa.Integer()))'),
        request=STYLE,
    )
    assert "users.n" in only(result, "EC501").message


def test_bigint_column_passes(tmp_path: Path) -> None:
    assert codes(create(tmp_path, 'sa.Column("n", sa.BigInteger())')) == []


def test_sql_int_column_is_ec501() -> None:
    finding = only(sql("SELECT 1;\nCREATE TABLE t (n int);"), "EC501")
    assert (finding.location.line, finding.location.column) == (2, 1)
    assert "t.n" in finding.message


def test_sql_bigint_column_passes() -> None:
    assert codes(sql("CREATE TABLE t (n bigint, m int8);")) == []


# EC502 prefer-timestamptz


def test_timestamp_column_is_ec502(tmp_path: Path) -> None:
    finding = only(create(tmp_path, 'sa.Column("at", sa.DateTime())'), "EC502")
    assert (finding.location.line, finding.location.column) == (FIRST, INDENT)
    assert "t.at" in finding.message
    assert "timezone=True" in finding.fix


def test_timestamp_with_precision_is_ec502(tmp_path: Path) -> None:
    result = create(tmp_path, 'sa.Column("at", postgresql.TIMESTAMP(precision=3))')
    assert "t.at" in only(result, "EC502").message


def test_timestamptz_column_passes(tmp_path: Path) -> None:
    assert codes(create(tmp_path, 'sa.Column("at", sa.DateTime(timezone=True))')) == []


def test_sql_timestamp_column_is_ec502() -> None:
    assert only(sql("CREATE TABLE t (at timestamp);"), "EC502").location.line == 1


def test_sql_timestamp_without_time_zone_is_ec502() -> None:
    assert only(sql("CREATE TABLE t (at timestamp without time zone);"), "EC502")


def test_sql_timestamp_with_precision_is_ec502() -> None:
    assert only(sql("CREATE TABLE t (at timestamp(3));"), "EC502")


def test_sql_timestamptz_column_passes() -> None:
    assert codes(sql("CREATE TABLE t (a timestamptz, b timestamp with time zone, c timestamptz(3));")) == []


# EC503 prefer-text-over-varchar


def test_varchar_with_a_limit_is_ec503(tmp_path: Path) -> None:
    finding = only(create(tmp_path, 'sa.Column("name", sa.String(100))'), "EC503")
    assert (finding.location.line, finding.location.column) == (FIRST, INDENT)
    assert "t.name" in finding.message and "VARCHAR(100)" in finding.message
    assert "Text" in finding.fix and "CHECK" in finding.fix


def test_text_and_unlimited_varchar_pass(tmp_path: Path) -> None:
    assert codes(create(tmp_path, 'sa.Column("a", sa.Text())', 'sa.Column("b", sa.String())')) == []


def test_sql_varchar_with_a_limit_is_ec503() -> None:
    assert "t.name" in only(sql("CREATE TABLE t (name character varying(100));"), "EC503").message


def test_sql_text_passes() -> None:
    assert codes(sql("CREATE TABLE t (a text, b varchar);")) == []


# EC504 prefer-identity


def test_sql_bigserial_column_is_ec504() -> None:
    finding = only(sql("CREATE TABLE t (id bigserial PRIMARY KEY);"), "EC504")
    assert "t.id" in finding.message and "BIGSERIAL" in finding.message
    assert "sa.Identity()" in finding.fix


def test_sql_serial_column_added_is_ec504() -> None:
    assert only(sql("ALTER TABLE t ADD COLUMN id serial;"), "EC504")


def test_sql_identity_column_passes() -> None:
    assert codes(sql("CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);")) == []


def test_serial_column_through_op_execute_is_ec504(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, expand('op.execute("CREATE TABLE t (id bigserial PRIMARY KEY)")'), request=STYLE
    )
    finding = only(result, "EC504")
    assert (finding.location.line, finding.location.column) == (FIRST, INDENT)


def test_identity_column_passes(tmp_path: Path) -> None:
    assert codes(create(tmp_path, 'sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True)')) == []


def test_autoincrement_primary_key_is_ec504(tmp_path: Path) -> None:
    assert only(create(tmp_path, 'sa.Column("id", sa.BigInteger(), primary_key=True)'), "EC504")


# EC505 ban-char


def test_char_column_is_ec505(tmp_path: Path) -> None:
    finding = only(create(tmp_path, 'sa.Column("code", sa.CHAR(3))'), "EC505")
    assert (finding.location.line, finding.location.column) == (FIRST, INDENT)
    assert "t.code" in finding.message and "CHAR(3)" in finding.message
    assert finding.fix == "use Text"


def test_text_column_passes_ban_char(tmp_path: Path) -> None:
    assert codes(create(tmp_path, 'sa.Column("code", sa.Text())')) == []


@pytest.mark.parametrize("type_sql", ["char(3)", "character(3)", "char", "bpchar"])
def test_sql_char_column_is_ec505(type_sql: str) -> None:
    assert only(sql(f"CREATE TABLE t (code {type_sql});"), "EC505")


def test_sql_character_varying_is_not_ec505() -> None:
    result = sql("CREATE TABLE t (code character varying);")
    assert codes(result) == []


# EC506 prefer-jsonb


def test_json_column_is_ec506(tmp_path: Path) -> None:
    finding = only(create(tmp_path, 'sa.Column("doc", sa.JSON())'), "EC506")
    assert (finding.location.line, finding.location.column) == (FIRST, INDENT)
    assert "t.doc" in finding.message and "JSONB" in finding.fix


def test_json_type_change_is_ec506(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline(USERS),
        expand('op.alter_column("users", "name", type_=sa.JSON(), existing_type=sa.Text())'),
        request=STYLE,
    )
    assert "users.name" in only(result, "EC506").message


def test_jsonb_column_passes(tmp_path: Path) -> None:
    assert codes(create(tmp_path, 'sa.Column("doc", postgresql.JSONB())')) == []


def test_sql_json_column_is_ec506() -> None:
    assert only(sql("CREATE TABLE t (doc json);"), "EC506").location.line == 1


def test_sql_jsonb_column_passes() -> None:
    assert codes(sql("CREATE TABLE t (doc jsonb);")) == []


# EC507 identifier-too-long

LONG = "a" * 64  # 64 bytes: PostgreSQL keeps 63
LIMIT = "b" * 63


def test_column_name_over_63_bytes_is_ec507(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline(USERS),
        expand(f'op.add_column("users", sa.Column("{LONG}", sa.Text()))'),
        request=STYLE,
    )
    finding = only(result, "EC507")
    assert (finding.location.line, finding.location.column) == (FIRST, INDENT)
    assert "64 bytes" in finding.message and "63" in finding.message


def test_table_name_over_63_bytes_is_ec507(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, expand(f'op.create_table("{LONG}", sa.Column("a", sa.Text()))'), request=STYLE
    )
    assert only(result, "EC507")


def test_index_name_over_63_bytes_is_ec507(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, baseline(USERS), expand(f'op.create_index("{LONG}", "users", ["name"])'), request=STYLE
    )
    assert only(result, "EC507").location.line == FIRST


def test_renamed_column_name_over_63_bytes_is_ec507(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline(USERS),
        expand(f'op.alter_column("users", "name", new_column_name="{LONG}")'),
        request=STYLE,
    )
    assert only(result, "EC507")


def test_multibyte_name_is_measured_in_bytes(tmp_path: Path) -> None:
    name = "é" * 32  # 32 characters, 64 bytes
    result = lint_history(
        tmp_path, expand(f'op.create_table("t", sa.Column("{name}", sa.Text()))'), request=STYLE
    )
    assert "64 bytes" in only(result, "EC507").message


def test_name_of_exactly_63_bytes_passes(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path, expand(f'op.create_table("{LIMIT}", sa.Column("{LIMIT}", sa.Text()))'), request=STYLE
    )
    assert codes(result) == []


def test_sql_constraint_name_over_63_bytes_is_ec507() -> None:
    assert only(sql(f"ALTER TABLE t ADD CONSTRAINT {LONG} CHECK (true);"), "EC507").location.line == 1


def test_sql_name_of_exactly_63_bytes_passes() -> None:
    assert codes(sql(f"CREATE TABLE {LIMIT} ({LIMIT} text);")) == []
