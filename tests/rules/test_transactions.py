"""EC4xx: transactions and timeouts, as Alembic operations and as raw SQL.

EC403 is about timeouts, so tests of the other rules ignore it (there is no env.py here).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lintkit import USERS, baseline, codes, expand, lint_history, lint_sql, only

from expandcontract import api
from expandcontract.lint import LintResult
from expandcontract.model import Finding, Severity
from expandcontract.settings import LintSettings

QUIET = api.LintRequest(ignore=("EC403",))
WITH_STATEMENT_TIMEOUT = api.LintRequest(select=("EC404",))

ORDERS = """op.create_table(
    "orders",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("user_id", sa.Integer()),
)
op.create_index("ix_orders_user_id", "orders", ["user_id"])
op.execute("CREATE TYPE mood AS ENUM ('happy', 'sad')")
op.execute(
    "CREATE TABLE measurements (at date NOT NULL, value int) PARTITION BY RANGE (at)"
)
op.execute(
    "CREATE TABLE measurements_2024 PARTITION OF measurements "
    "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
)"""

FIRST = 12  # the file line of the first line of upgrade()'s body
INDENT = 5


def line(n: int) -> int:
    return FIRST + n - 1


def history(tmp_path: Path, body: str, **kw: object) -> LintResult:
    """Lint one expand revision acting on the released tables users and orders."""
    return lint_history(tmp_path, baseline(USERS), baseline(ORDERS), expand(body), **kw)


def of(result: LintResult, code: str) -> list[Finding]:
    return [f for f in result.findings if f.code == code]


# EC401 concurrently-in-transaction


def test_create_index_concurrently_outside_autocommit_block_is_ec401(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)',
        request=QUIET,
    )
    finding = only(result, "EC401")
    assert finding.severity is Severity.ERROR
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "CREATE INDEX CONCURRENTLY" in finding.message
    assert "autocommit_block()" in finding.fix


def test_create_index_concurrently_inside_autocommit_block_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)""",
    )
    assert codes(result) == []


def test_drop_index_concurrently_outside_autocommit_block_is_ec401(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.drop_index("ix_orders_user_id", table_name="orders", postgresql_concurrently=True)',
        request=QUIET,
    )
    assert "DROP INDEX CONCURRENTLY" in only(result, "EC401").message


def test_reindex_concurrently_outside_autocommit_block_is_ec401(tmp_path: Path) -> None:
    result = history(tmp_path, 'op.execute("REINDEX INDEX CONCURRENTLY ix_orders_user_id")', request=QUIET)
    assert "REINDEX CONCURRENTLY" in only(result, "EC401").message


def test_detach_partition_concurrently_outside_autocommit_block_is_ec401(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        'op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY")',
        request=QUIET,
    )
    assert "DETACH PARTITION CONCURRENTLY" in only(result, "EC401").message


def test_sql_create_index_concurrently_between_begin_and_commit_is_ec401(tmp_path: Path) -> None:
    text = """\
        BEGIN;
        CREATE INDEX CONCURRENTLY ix_users_name ON users (name);
        COMMIT;
        """
    finding = only(lint_sql(text, tmp_path, request=QUIET), "EC401")
    assert (finding.location.line, finding.location.column) == (2, 1)


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("DROP INDEX CONCURRENTLY ix_orders_user_id", "DROP INDEX CONCURRENTLY"),
        ("REINDEX INDEX CONCURRENTLY ix_orders_user_id", "REINDEX CONCURRENTLY"),
        (
            "ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY",
            "DETACH PARTITION CONCURRENTLY",
        ),
    ],
)
def test_sql_other_concurrently_statements_in_a_transaction_are_ec401(
    tmp_path: Path, statement: str, named: str
) -> None:
    text = f"BEGIN;\n{statement};\nCOMMIT;\n"
    assert named in only(lint_sql(text, tmp_path, request=QUIET), "EC401").message


def test_sql_concurrently_in_files_that_run_in_a_transaction_is_ec401(tmp_path: Path) -> None:
    result = lint_sql(
        "CREATE INDEX CONCURRENTLY ix_users_name ON users (name);",
        tmp_path,
        request=QUIET,
        lint=LintSettings(sql_in_transaction=True),
    )
    assert only(result, "EC401")


def test_sql_concurrently_outside_a_transaction_passes(tmp_path: Path) -> None:
    text = """\
        CREATE INDEX CONCURRENTLY ix_users_name ON users (name);
        DROP INDEX CONCURRENTLY ix_orders_user_id;
        REINDEX INDEX CONCURRENTLY ix_users_name;
        ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY;
        """
    assert of(lint_sql(text, tmp_path, request=QUIET), "EC401") == []


# EC402 enum-value-in-transaction


def test_add_enum_value_in_a_transaction_is_ec402_on_pg11(tmp_path: Path) -> None:
    result = history(
        tmp_path, "op.execute(\"ALTER TYPE mood ADD VALUE 'meh'\")", request=QUIET, postgresql_version=11
    )
    finding = only(result, "EC402")
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "mood" in finding.message and "'meh'" in finding.message and "11" in finding.message
    assert "autocommit_block()" in finding.fix


def test_add_enum_value_in_a_transaction_passes_on_pg12_when_unused(tmp_path: Path) -> None:
    result = history(
        tmp_path, "op.execute(\"ALTER TYPE mood ADD VALUE 'meh'\")", request=QUIET, postgresql_version=12
    )
    assert of(result, "EC402") == []


def test_add_enum_value_then_use_it_in_the_same_transaction_is_ec402_on_pg12(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.execute("ALTER TYPE mood ADD VALUE 'meh'")
op.execute("SELECT 'meh'::mood")""",
        request=QUIET,
        postgresql_version=12,
    )
    finding = only(result, "EC402")
    assert finding.location.line == line(1)
    assert f"line {line(2)}" in finding.message


def test_add_enum_value_in_autocommit_block_passes_on_pg11(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.execute("ALTER TYPE mood ADD VALUE 'meh'")""",
        request=QUIET,
        postgresql_version=11,
    )
    assert of(result, "EC402") == []


def test_sql_add_enum_value_in_a_transaction_is_ec402_on_pg11(tmp_path: Path) -> None:
    text = "BEGIN;\nALTER TYPE mood ADD VALUE 'meh';\nCOMMIT;\n"
    assert only(lint_sql(text, tmp_path, postgresql_version=11), "EC402").location.line == 2


def test_sql_add_enum_value_outside_a_transaction_passes_on_pg11(tmp_path: Path) -> None:
    assert of(lint_sql("ALTER TYPE mood ADD VALUE 'meh';", tmp_path, postgresql_version=11), "EC402") == []


# EC403 missing-lock-timeout


def test_lock_taking_statement_without_lock_timeout_is_ec403(tmp_path: Path) -> None:
    finding = only(history(tmp_path, 'op.add_column("users", sa.Column("note", sa.Text()))'), "EC403")
    assert finding.severity is Severity.WARNING
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "ACCESS EXCLUSIVE" in finding.message and "users" in finding.message
    assert "before_migrations(context)" in finding.fix and "SET LOCAL lock_timeout" in finding.fix


def test_set_local_lock_timeout_first_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.execute("SET LOCAL lock_timeout = '2s'")
op.add_column("users", sa.Column("note", sa.Text()))""",
    )
    assert codes(result) == []


def test_lock_timeout_set_after_the_statement_does_not_count(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.add_column("users", sa.Column("note", sa.Text()))
op.execute("SET LOCAL lock_timeout = '2s'")""",
    )
    assert only(result, "EC403").location.line == line(1)


def test_lock_timeout_of_zero_turns_it_off(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.execute("SET lock_timeout = 0")
op.add_column("users", sa.Column("note", sa.Text()))""",
    )
    assert only(result, "EC403").location.line == line(2)


def test_statement_that_blocks_no_writes_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)""",
    )
    assert of(result, "EC403") == []


def test_sql_without_lock_timeout_is_ec403(tmp_path: Path) -> None:
    finding = only(lint_sql("ALTER TABLE users ADD COLUMN note text;", tmp_path), "EC403")
    assert (finding.location.line, finding.location.column) == (1, 1)


def test_sql_set_lock_timeout_first_passes(tmp_path: Path) -> None:
    text = "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN note text;\n"
    assert codes(lint_sql(text, tmp_path)) == []


def test_sql_reset_lock_timeout_turns_it_off(tmp_path: Path) -> None:
    text = "SET lock_timeout = '2s';\nRESET lock_timeout;\nALTER TABLE users ADD COLUMN note text;\n"
    assert only(lint_sql(text, tmp_path), "EC403").location.line == 3


# EC404 missing-statement-timeout (opt-in)


def test_missing_statement_timeout_is_off_by_default(tmp_path: Path) -> None:
    result = history(tmp_path, 'op.alter_column("users", "email", nullable=False)')
    assert of(result, "EC404") == []


def test_selected_missing_statement_timeout_is_ec404(tmp_path: Path) -> None:
    result = history(
        tmp_path, 'op.alter_column("users", "email", nullable=False)', request=WITH_STATEMENT_TIMEOUT
    )
    finding = only(result, "EC404")
    assert finding.severity is Severity.WARNING
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "users" in finding.message and "statement_timeout" in finding.fix


def test_set_local_statement_timeout_first_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.execute("SET LOCAL statement_timeout = '30s'")
op.alter_column("users", "email", nullable=False)""",
        request=WITH_STATEMENT_TIMEOUT,
    )
    assert codes(result) == []


def test_env_py_that_sets_statement_timeout_passes(tmp_path: Path) -> None:
    env_py = "connect_args = {'options': '-c statement_timeout=30s'}\n"
    result = history(
        tmp_path,
        'op.alter_column("users", "email", nullable=False)',
        request=WITH_STATEMENT_TIMEOUT,
        env_py=env_py,
    )
    assert of(result, "EC404") == []


def test_sql_selected_missing_statement_timeout_is_ec404(tmp_path: Path) -> None:
    text = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;"
    assert only(lint_sql(text, tmp_path, request=WITH_STATEMENT_TIMEOUT), "EC404").location.line == 1


def test_sql_set_statement_timeout_first_passes(tmp_path: Path) -> None:
    text = "SET statement_timeout = '30s';\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
    assert of(lint_sql(text, tmp_path, request=WITH_STATEMENT_TIMEOUT), "EC404") == []


# EC405 explicit-transaction-control


def test_commit_inside_a_revision_is_ec405(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """op.execute("COMMIT")
op.execute("CREATE INDEX CONCURRENTLY ix_users_name ON users (name)")""",
        request=QUIET,
    )
    finding = only(result, "EC405")
    assert finding.severity is Severity.ERROR
    assert (finding.location.line, finding.location.column) == (line(1), INDENT)
    assert "COMMIT" in finding.message and "autocommit_block()" in finding.fix


def test_begin_inside_a_revision_is_ec405(tmp_path: Path) -> None:
    assert "BEGIN" in only(history(tmp_path, 'op.execute("BEGIN")'), "EC405").message


def test_autocommit_block_instead_of_commit_passes(tmp_path: Path) -> None:
    result = history(
        tmp_path,
        """with op.get_context().autocommit_block():
    op.execute("CREATE INDEX CONCURRENTLY ix_users_name ON users (name)")""",
    )
    assert codes(result) == []


def test_sql_file_owns_its_transactions(tmp_path: Path) -> None:
    text = "BEGIN;\nSET LOCAL lock_timeout = '2s';\nALTER TABLE users ADD COLUMN note text;\nCOMMIT;\n"
    assert codes(lint_sql(text, tmp_path)) == []


def test_sql_set_lock_timeout_to_default_turns_it_off(tmp_path: Path) -> None:
    sql = "SET lock_timeout = '2s';\nSET lock_timeout TO DEFAULT;\nALTER TABLE users ADD COLUMN note text;\n"
    assert "EC403" in codes(lint_sql(sql, tmp_path))


def test_a_plain_set_to_zero_replaces_an_earlier_set_local(tmp_path: Path) -> None:
    body = """op.execute("SET LOCAL lock_timeout = '1s'")
op.execute("SET lock_timeout = 0")
op.add_column("users", sa.Column("note", sa.Text()))"""
    assert "EC403" in codes(lint_history(tmp_path, baseline(), expand(body)))
