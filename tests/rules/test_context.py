"""The context the rules use to avoid false positives: which tables are new, what the replayed history
knows about columns and constraints, the server version, and Alembic's transaction model and env.py.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from lintkit import USERS, Rev, baseline, codes, contract, expand, lint_history, lint_sql, only, write_history

from expandcontract import api
from expandcontract.lint import LintResult
from expandcontract.model import Finding
from expandcontract.settings import LintSettings

QUIET = api.LintRequest(ignore=("EC403",))
LOCKING = ("EC3", "EC4")  # the families whose findings a new table never gets

ORDERS = """op.create_table(
    "orders",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("user_id", sa.Integer()),
    sa.Column("price", sa.Numeric(10, 2)),
    sa.Column("code", sa.String(50)),
    sa.Column("placed_at", sa.DateTime()),
)"""

FIRST = 12  # the file line of the first line of upgrade()'s body

ENV_TIMEOUT = """\
from alembic import context
from sqlalchemy import create_engine

engine = create_engine(
    context.config.get_main_option("sqlalchemy.url"),
    connect_args={"options": "-c lock_timeout=2s"},
)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
"""

ENV_HOOK = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

from expandcontract.alembic_ext.envhook import before_migrations, database_url


def run_migrations_offline() -> None:
    context.configure(url=database_url(context.config), literal_binds=True)
    with context.begin_transaction():
        before_migrations(context)
        context.run_migrations()


def run_migrations_online() -> None:
    url = database_url(context.config)
    connectable = engine_from_config({"sqlalchemy.url": url}, poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            before_migrations(context)
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"""


def of(result: LintResult, *prefixes: str) -> list[Finding]:
    return [f for f in result.findings if f.code.startswith(prefixes)]


def on_users(tmp_path: Path, *revisions: object, **kw: object) -> LintResult:
    """Lint revisions after the released tables users and orders."""
    kw.setdefault("request", QUIET)
    return lint_history(tmp_path, baseline(USERS), baseline(ORDERS), *revisions, **kw)  # type: ignore[arg-type]


# a table created earlier in the same revision is new


@pytest.mark.parametrize(
    "operation",
    [
        'op.create_index("ix_plans_name", "plans", ["name"])',
        'op.create_foreign_key("fk_plans_user", "plans", "users", ["user_id"], ["id"])',
        'op.create_check_constraint("ck_plans_name", "plans", "name <> \'\'")',
        'op.create_unique_constraint("uq_plans_name", "plans", ["name"])',
        'op.create_primary_key("pk_plans", "plans", ["id"])',
        'op.add_column("plans", sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()")))',
        'op.add_column("plans", sa.Column("seq", sa.BigInteger(), sa.Identity()))',
        'op.alter_column("plans", "name", nullable=False)',
        'op.alter_column("plans", "user_id", type_=sa.BigInteger(), existing_type=sa.Integer())',
        'op.execute("VACUUM FULL plans")',
        "op.execute(\"UPDATE plans SET name = 'free'\")",
    ],
)
def test_table_created_earlier_in_the_revision_gets_no_locking_findings(
    tmp_path: Path, operation: str
) -> None:
    body = f"""op.create_table(
    "plans",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.Integer()),
    sa.Column("name", sa.Text()),
)
{operation}"""
    result = on_users(tmp_path, expand(body), request=api.LintRequest())
    assert of(result, *LOCKING) == []


def test_new_table_does_not_excuse_a_lock_on_an_existing_one(tmp_path: Path) -> None:
    body = """op.create_table("plans", sa.Column("id", sa.Integer()))
op.create_index("ix_users_name", "users", ["name"])"""
    assert only(on_users(tmp_path, expand(body)), "EC301").location.line == FIRST + 1


# tables created in another revision: new in an explicitly targeted set, existing in a whole-history lint

CREATE_PLANS = 'op.create_table("plans", sa.Column("id", sa.Integer()), sa.Column("name", sa.Text()))'
INDEX_PLANS = 'op.create_index("ix_plans_name", "plans", ["name"])'


def test_whole_history_lint_treats_a_table_from_an_earlier_revision_as_existing(tmp_path: Path) -> None:
    result = on_users(tmp_path, expand(CREATE_PLANS, rev_id="a_plans"), expand(INDEX_PLANS, rev_id="b_index"))
    assert only(result, "EC301").revision == "b_index"


def test_revision_files_targeted_together_are_new_together(tmp_path: Path) -> None:
    history = write_history(
        tmp_path,
        baseline(USERS),
        expand(CREATE_PLANS, rev_id="a_plans"),
        expand(INDEX_PLANS, rev_id="b_index"),
    )
    request = api.LintRequest(targets=(str(history.paths["a_plans"]), str(history.paths["b_index"])))
    assert codes(api.lint(history.settings, request)) == []


def test_revision_file_targeted_alone_sees_the_table_as_existing(tmp_path: Path) -> None:
    history = write_history(
        tmp_path,
        baseline(USERS),
        expand(CREATE_PLANS, rev_id="a_plans"),
        expand(INDEX_PLANS, rev_id="b_index"),
    )
    request = api.LintRequest(targets=(str(history.paths["b_index"]),), ignore=("EC403",))
    assert codes(api.lint(history.settings, request)) == ["EC301"]


def test_revision_range_makes_its_revisions_new_together(tmp_path: Path) -> None:
    history = write_history(
        tmp_path,
        baseline(USERS),
        expand(CREATE_PLANS, rev_id="a_plans"),
        expand(INDEX_PLANS, rev_id="b_index"),
    )
    assert codes(api.lint(history.settings, api.LintRequest(targets=("expand_root:expand@head",)))) == []


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_revisions_changed_since_a_git_ref_are_new_together(tmp_path: Path) -> None:
    history = write_history(tmp_path, baseline(USERS))
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "released")
    history = write_history(
        tmp_path,
        baseline(USERS),
        expand(CREATE_PLANS, rev_id="a_plans"),
        expand(INDEX_PLANS, rev_id="b_index"),
    )
    result = api.lint(history.settings, api.LintRequest(since="HEAD"))
    assert {r.unit.revision for r in result.reports} == {"a_plans", "b_index"}
    assert codes(result) == []


# what the replayed history knows about columns


def test_set_not_null_on_a_column_already_not_null_passes(tmp_path: Path) -> None:
    result = on_users(tmp_path, contract('op.alter_column("users", "name", nullable=False)'))
    assert of(result, "EC106", "EC309") == []


def test_set_not_null_on_a_nullable_column_is_ec106_and_ec309(tmp_path: Path) -> None:
    result = on_users(tmp_path, contract('op.alter_column("users", "email", nullable=False)'))
    assert [f.code for f in of(result, "EC106", "EC309")] == ["EC106", "EC309"]


def test_sql_set_not_null_on_a_column_created_not_null_passes(tmp_path: Path) -> None:
    script = tmp_path / "tighten.sql"
    script.write_text("ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n")
    result = lint_history(
        tmp_path, baseline(USERS), request=api.LintRequest(targets=("root:heads", str(script)))
    )
    assert of(result, "EC106", "EC309") == []


CHECK_NOT_VALID = (
    'op.create_check_constraint("ck_email_nn", "users", "email IS NOT NULL", postgresql_not_valid=True)'
)
VALIDATE = 'op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_email_nn")'
SET_NOT_NULL = 'op.alter_column("users", "email", nullable=False)'


def tighten(after: str = "b_validate") -> Rev:
    """The contract revision that sets users.email NOT NULL, after the expand revision `after`."""
    return contract(SET_NOT_NULL, rev_id="c_tighten", depends_on=(after,))


def test_validated_check_from_earlier_revisions_proves_not_null_on_pg12(tmp_path: Path) -> None:
    result = on_users(
        tmp_path,
        expand(CHECK_NOT_VALID, rev_id="a_check"),
        expand(VALIDATE, rev_id="b_validate"),
        tighten(),
        postgresql_version=12,
    )
    assert of(result, "EC309") == []


def test_validated_check_does_not_help_on_pg11(tmp_path: Path) -> None:
    result = on_users(
        tmp_path,
        expand(CHECK_NOT_VALID, rev_id="a_check"),
        expand(VALIDATE, rev_id="b_validate"),
        tighten(),
        postgresql_version=11,
    )
    assert only(result, "EC309").revision == "c_tighten"


def test_check_added_valid_in_an_earlier_revision_proves_not_null(tmp_path: Path) -> None:
    check = 'op.create_check_constraint("ck_email_nn", "users", "email IS NOT NULL")'
    result = on_users(tmp_path, baseline(check), contract(SET_NOT_NULL))
    assert of(result, "EC309") == []


def test_check_still_not_valid_does_not_prove_not_null(tmp_path: Path) -> None:
    result = on_users(tmp_path, expand(CHECK_NOT_VALID, rev_id="a_check"), tighten(after="a_check"))
    assert only(result, "EC309").revision == "c_tighten"


def test_dropped_check_no_longer_proves_not_null(tmp_path: Path) -> None:
    check = 'op.create_check_constraint("ck_email_nn", "users", "email IS NOT NULL")'
    drop = 'op.drop_constraint("ck_email_nn", "users", type_="check")'
    result = on_users(tmp_path, baseline(check), baseline(drop), contract(SET_NOT_NULL))
    assert only(result, "EC309")


def test_check_on_another_column_does_not_prove_not_null(tmp_path: Path) -> None:
    check = 'op.create_check_constraint("ck_status_nn", "users", "status IS NOT NULL")'
    assert only(on_users(tmp_path, baseline(check), contract(SET_NOT_NULL)), "EC309")


def test_pg18_not_null_not_valid_then_validate_passes(tmp_path: Path) -> None:
    result = on_users(
        tmp_path,
        expand('op.execute("ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email NOT VALID")'),
        contract('op.execute("ALTER TABLE users VALIDATE CONSTRAINT users_email_nn")'),
        postgresql_version=18,
    )
    assert of(result, "EC309") == []


def test_pg18_validated_not_null_then_set_not_null_passes(tmp_path: Path) -> None:
    result = on_users(
        tmp_path,
        expand('op.execute("ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email NOT VALID")'),
        expand('op.execute("ALTER TABLE users VALIDATE CONSTRAINT users_email_nn")', rev_id="b_validate"),
        tighten(),
        postgresql_version=18,
    )
    assert of(result, "EC309") == []


def test_pg18_not_null_constraint_added_valid_is_ec309(tmp_path: Path) -> None:
    result = on_users(
        tmp_path,
        contract('op.execute("ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email")'),
        postgresql_version=18,
    )
    assert "users.email" in only(result, "EC309").message


def test_sql_pg18_not_null_not_valid_then_validate_passes(tmp_path: Path) -> None:
    text = """\
        ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email NOT VALID;
        ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;
        ALTER TABLE users ALTER COLUMN email SET NOT NULL;
        """
    assert of(lint_sql(text, tmp_path, postgresql_version=18), "EC309") == []


# type changes: the old type from existing_type= or from the replayed history

SAFE_TYPE_CHANGES = [
    pytest.param("code", "sa.String(100)", "sa.String(50)", id="varchar(50)->varchar(100)"),
    pytest.param("code", "sa.Text()", "sa.String(50)", id="varchar->text"),
    pytest.param("price", "sa.Numeric(12, 2)", "sa.Numeric(10, 2)", id="numeric(10,2)->numeric(12,2)"),
]


@pytest.mark.parametrize(("column", "new", "old"), SAFE_TYPE_CHANGES)
def test_binary_coercible_type_change_with_existing_type_passes(
    tmp_path: Path, column: str, new: str, old: str
) -> None:
    body = f'op.alter_column("orders", "{column}", type_={new}, existing_type={old})'
    assert of(on_users(tmp_path, expand(body)), "EC204", "EC310") == []


@pytest.mark.parametrize(("column", "new", "old"), SAFE_TYPE_CHANGES)
def test_binary_coercible_type_change_judged_from_the_history_passes(
    tmp_path: Path, column: str, new: str, old: str
) -> None:
    body = f'op.alter_column("orders", "{column}", type_={new})'
    assert of(on_users(tmp_path, expand(body)), "EC204", "EC310") == []


@pytest.mark.parametrize(("column", "new", "old"), SAFE_TYPE_CHANGES)
def test_binary_coercible_type_change_is_not_flagged_at_all(
    tmp_path: Path, column: str, new: str, old: str
) -> None:
    body = f'op.alter_column("orders", "{column}", type_={new}, existing_type={old})'
    assert codes(on_users(tmp_path, expand(body))) == []


@pytest.mark.parametrize(("column", "new", "old"), SAFE_TYPE_CHANGES)
def test_binary_coercible_type_change_judged_from_the_history_is_not_flagged_at_all(
    tmp_path: Path, column: str, new: str, old: str
) -> None:
    body = f'op.alter_column("orders", "{column}", type_={new})'
    assert codes(on_users(tmp_path, expand(body))) == []


def test_type_change_to_an_earlier_replayed_type_is_judged_from_it(tmp_path: Path) -> None:
    widen = 'op.alter_column("orders", "code", type_=sa.String(80), existing_type=sa.String(50))'
    narrow = 'op.alter_column("orders", "code", type_=sa.String(60))'
    result = on_users(tmp_path, expand(widen, rev_id="a_widen"), expand(narrow, rev_id="b_narrow"))
    assert only(result, "EC204").revision == "b_narrow"


def test_int_to_bigint_is_ec310_not_ec204(tmp_path: Path) -> None:
    body = 'op.alter_column("orders", "user_id", type_=sa.BigInteger(), existing_type=sa.Integer())'
    result = on_users(tmp_path, expand(body))
    assert [f.code for f in of(result, "EC2", "EC3")] == ["EC310"]


def test_int_to_bigint_judged_from_the_history_is_ec310_not_ec204(tmp_path: Path) -> None:
    result = on_users(tmp_path, expand('op.alter_column("orders", "user_id", type_=sa.BigInteger())'))
    assert [f.code for f in of(result, "EC2", "EC3")] == ["EC310"]


def test_int_to_bigint_is_not_a_recipe_change(tmp_path: Path) -> None:
    body = 'op.alter_column("orders", "user_id", type_=sa.BigInteger(), existing_type=sa.Integer())'
    assert codes(on_users(tmp_path, expand(body))) == ["EC310"]


def test_text_to_integer_is_ec204(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "name", type_=sa.Integer(), existing_type=sa.Text())'
    finding = only(on_users(tmp_path, expand(body)), "EC204")
    assert "users.name" in finding.message


def test_text_to_integer_judged_from_the_history_is_ec204(tmp_path: Path) -> None:
    result = on_users(tmp_path, expand('op.alter_column("users", "name", type_=sa.Integer())'))
    assert "TEXT" in only(result, "EC204").message.upper()


TIMESTAMPTZ = (
    'op.alter_column("orders", "placed_at", type_=sa.DateTime(timezone=True), existing_type=sa.DateTime())'
)


def test_timestamp_to_timestamptz_is_ec204(tmp_path: Path) -> None:
    assert only(on_users(tmp_path, expand(TIMESTAMPTZ)), "EC204")


def test_timestamp_to_timestamptz_in_a_utc_session_on_pg12_passes(tmp_path: Path) -> None:
    result = on_users(
        tmp_path, expand(TIMESTAMPTZ), lint=LintSettings(session_timezone="UTC"), postgresql_version=12
    )
    assert of(result, "EC204", "EC310") == []


def test_timestamp_to_timestamptz_in_a_utc_session_on_pg11_is_ec204(tmp_path: Path) -> None:
    result = on_users(
        tmp_path, expand(TIMESTAMPTZ), lint=LintSettings(session_timezone="UTC"), postgresql_version=11
    )
    assert only(result, "EC204")


def test_timestamp_to_timestamptz_in_a_utc_session_on_pg12_is_not_flagged_at_all(tmp_path: Path) -> None:
    result = on_users(
        tmp_path, expand(TIMESTAMPTZ), lint=LintSettings(session_timezone="UTC"), postgresql_version=12
    )
    assert codes(result) == []


def test_sql_varchar_to_text_is_never_flagged(tmp_path: Path) -> None:
    text = """\
        CREATE TABLE notes (body varchar(50));
        ALTER TABLE notes ALTER COLUMN body TYPE text;
        """
    assert codes(lint_sql(text, tmp_path)) == []


# volatile defaults


@pytest.mark.parametrize(
    "default",
    ["gen_random_uuid()", "random()", "clock_timestamp()", "nextval('users_id_seq')"],
)
def test_volatile_default_is_ec307(tmp_path: Path, default: str) -> None:
    body = f'op.add_column("users", sa.Column("x", sa.Text(), server_default=sa.text("{default}")))'
    assert "users.x" in only(on_users(tmp_path, expand(body)), "EC307").message


@pytest.mark.parametrize("default", ["now()", "CURRENT_TIMESTAMP", "'new'", "0"])
def test_stable_or_constant_default_passes_on_pg11(tmp_path: Path, default: str) -> None:
    body = f'op.add_column("users", sa.Column("x", sa.Text(), server_default=sa.text("{default}")))'
    assert codes(on_users(tmp_path, expand(body), postgresql_version=11)) == []


@pytest.mark.parametrize("default", ["now()", "CURRENT_TIMESTAMP", "'new'", "0"])
def test_any_default_is_ec307_on_pg10(tmp_path: Path, default: str) -> None:
    body = f'op.add_column("users", sa.Column("x", sa.Text(), server_default=sa.text("{default}")))'
    assert "PostgreSQL 10" in only(on_users(tmp_path, expand(body), postgresql_version=10), "EC307").message


@pytest.mark.parametrize("default", ["now()", "CURRENT_TIMESTAMP", "'new'"])
def test_sql_stable_or_constant_default_passes(tmp_path: Path, default: str) -> None:
    result = lint_sql(f"ALTER TABLE users ADD COLUMN x text DEFAULT {default};", tmp_path, request=QUIET)
    assert codes(result) == []


@pytest.mark.parametrize("default", ["gen_random_uuid()", "random()", "clock_timestamp()", "nextval('s')"])
def test_sql_volatile_default_is_ec307(tmp_path: Path, default: str) -> None:
    assert only(lint_sql(f"ALTER TABLE users ADD COLUMN x text DEFAULT {default};", tmp_path), "EC307")


# ALTER TYPE ... ADD VALUE and the transaction it runs in

ADD_VALUE = "op.execute(\"ALTER TYPE mood ADD VALUE 'meh'\")"
USE_VALUE = "op.execute(\"UPDATE users SET status = 'meh'::mood WHERE status IS NULL\")"
MOOD = "op.execute(\"CREATE TYPE mood AS ENUM ('happy', 'sad')\")"


def test_enum_value_added_in_a_transaction_is_ec402_on_pg11(tmp_path: Path) -> None:
    assert only(on_users(tmp_path, baseline(MOOD), expand(ADD_VALUE), postgresql_version=11), "EC402")


def test_enum_value_added_in_a_transaction_and_unused_passes_on_pg12(tmp_path: Path) -> None:
    result = on_users(tmp_path, baseline(MOOD), expand(ADD_VALUE), postgresql_version=12)
    assert of(result, "EC402") == []


def test_enum_value_used_later_in_the_same_transaction_is_ec402_on_pg12(tmp_path: Path) -> None:
    result = on_users(tmp_path, baseline(MOOD), expand(f"{ADD_VALUE}\n{USE_VALUE}"), postgresql_version=12)
    assert only(result, "EC402").location.line == FIRST


def test_enum_value_used_after_an_autocommit_block_passes_on_pg12(tmp_path: Path) -> None:
    body = f"with op.get_context().autocommit_block():\n    {ADD_VALUE}\n{USE_VALUE}"
    result = on_users(tmp_path, baseline(MOOD), expand(body), postgresql_version=12)
    assert of(result, "EC402") == []


def test_enum_value_used_in_a_later_revision_passes_on_pg12(tmp_path: Path) -> None:
    result = on_users(tmp_path, baseline(MOOD), expand(ADD_VALUE), expand(USE_VALUE), postgresql_version=12)
    assert of(result, "EC402") == []


def test_sql_enum_value_used_in_the_same_transaction_is_ec402_on_pg12(tmp_path: Path) -> None:
    text = "BEGIN;\nALTER TYPE mood ADD VALUE 'meh';\nSELECT 'meh'::mood;\nCOMMIT;\n"
    assert only(lint_sql(text, tmp_path, postgresql_version=12), "EC402").location.line == 2


def test_sql_enum_value_used_after_commit_passes_on_pg12(tmp_path: Path) -> None:
    text = "BEGIN;\nALTER TYPE mood ADD VALUE 'meh';\nCOMMIT;\nSELECT 'meh'::mood;\n"
    assert of(lint_sql(text, tmp_path, postgresql_version=12), "EC402") == []


# autocommit_block(): CONCURRENTLY works, and the transaction ends


def test_concurrently_in_autocommit_block_is_not_ec401(tmp_path: Path) -> None:
    body = """with op.get_context().autocommit_block():
    op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)
    op.drop_index("ix_users_name", table_name="users", postgresql_concurrently=True)
    op.execute("REINDEX TABLE CONCURRENTLY users")"""
    assert of(on_users(tmp_path, contract(body), request=api.LintRequest()), "EC3", "EC4") == []


def test_autocommit_block_ends_the_transaction_that_added_not_valid(tmp_path: Path) -> None:
    body = """op.create_check_constraint("ck_price", "orders", "price >= 0", postgresql_not_valid=True)
with op.get_context().autocommit_block():
    op.create_index("ix_orders_price", "orders", ["price"], postgresql_concurrently=True)
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_price")"""
    assert of(on_users(tmp_path, expand(body)), "EC314") == []


def test_autocommit_block_releases_the_access_exclusive_lock(tmp_path: Path) -> None:
    body = """op.add_column("users", sa.Column("note", sa.Text()))
with op.get_context().autocommit_block():
    op.create_index("ix_orders_price", "orders", ["price"], postgresql_concurrently=True)
op.add_column("orders", sa.Column("note", sa.Text()))"""
    assert of(on_users(tmp_path, expand(body)), "EC316") == []


def test_empty_autocommit_block_also_ends_the_transaction(tmp_path: Path) -> None:
    body = """op.create_check_constraint("ck_price", "orders", "price >= 0", postgresql_not_valid=True)
with op.get_context().autocommit_block():
    pass
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_price")"""
    assert of(on_users(tmp_path, expand(body)), "EC314") == []


def test_validate_in_a_later_revision_of_one_run_transaction_is_ec314(tmp_path: Path) -> None:
    """Without transaction_per_migration=True Alembic runs a whole upgrade in one transaction."""
    env_py = ENV_HOOK.replace(", transaction_per_migration=True", "")
    history = write_history(
        tmp_path,
        baseline(USERS),
        baseline(ORDERS),
        expand(
            'op.create_check_constraint("ck_price", "orders", "price >= 0", postgresql_not_valid=True)',
            rev_id="a_add",
        ),
        expand('op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_price")', rev_id="b_validate"),
        env_py=env_py,
    )
    request = api.LintRequest(targets=(str(history.paths["a_add"]), str(history.paths["b_validate"])))
    assert only(api.lint(history.settings, request), "EC314").revision == "b_validate"


def test_validate_in_a_later_revision_with_transaction_per_migration_passes(tmp_path: Path) -> None:
    history = write_history(
        tmp_path,
        baseline(USERS),
        baseline(ORDERS),
        expand(
            'op.create_check_constraint("ck_price", "orders", "price >= 0", postgresql_not_valid=True)',
            rev_id="a_add",
        ),
        expand('op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_price")', rev_id="b_validate"),
        env_py=ENV_HOOK,
    )
    request = api.LintRequest(targets=(str(history.paths["a_add"]), str(history.paths["b_validate"])))
    assert of(api.lint(history.settings, request), "EC314") == []


def _targeted_pair(tmp_path: Path, first: str, second: str, env_py: str, **kw: object) -> LintResult:
    """Lint two expand revisions, `a` then `b`, named together on the command line."""
    history = write_history(
        tmp_path,
        baseline(USERS),
        baseline(ORDERS),
        baseline(MOOD),
        expand(first, rev_id="a_first"),
        expand(second, rev_id="b_second"),
        env_py=env_py,
    )
    request = api.LintRequest(
        targets=(str(history.paths["a_first"]), str(history.paths["b_second"])), ignore=("EC403",)
    )
    return api.lint(replace(history.settings, **kw), request)  # type: ignore[arg-type]


ONE_TRANSACTION_ENV = ENV_HOOK.replace(", transaction_per_migration=True", "")


def test_second_table_locked_in_a_later_revision_of_one_run_transaction_is_ec316(tmp_path: Path) -> None:
    add_users = 'op.add_column("users", sa.Column("note", sa.Text()))'
    add_orders = 'op.add_column("orders", sa.Column("note", sa.Text()))'
    result = _targeted_pair(tmp_path, add_users, add_orders, ONE_TRANSACTION_ENV)
    assert only(result, "EC316").revision == "b_second"


def test_second_table_locked_in_a_later_revision_with_transaction_per_migration_passes(
    tmp_path: Path,
) -> None:
    add_users = 'op.add_column("users", sa.Column("note", sa.Text()))'
    add_orders = 'op.add_column("orders", sa.Column("note", sa.Text()))'
    assert of(_targeted_pair(tmp_path, add_users, add_orders, ENV_HOOK), "EC316") == []


def test_enum_value_used_in_a_later_revision_of_one_run_transaction_is_ec402_on_pg12(tmp_path: Path) -> None:
    result = _targeted_pair(tmp_path, ADD_VALUE, USE_VALUE, ONE_TRANSACTION_ENV, postgresql_version=12)
    assert only(result, "EC402").revision == "a_first"


def test_enum_value_used_in_a_later_revision_with_transaction_per_migration_passes(tmp_path: Path) -> None:
    result = _targeted_pair(tmp_path, ADD_VALUE, USE_VALUE, ENV_HOOK, postgresql_version=12)
    assert of(result, "EC402") == []


# lock_timeout: set in the revision, in env.py, or by the extension's hook

ADD_NOTE = 'op.add_column("users", sa.Column("note", sa.Text()))'


@pytest.mark.parametrize(
    "setting",
    [
        "op.execute(\"SET LOCAL lock_timeout = '2s'\")",
        "op.execute(\"SET lock_timeout = '2s'\")",
        "op.execute(\"SELECT set_config('lock_timeout', '2s', true)\")",
        "op.execute(\"SELECT set_config('lock_timeout', '2s', false)\")",
    ],
)
def test_lock_timeout_set_earlier_in_the_revision_silences_ec403(tmp_path: Path, setting: str) -> None:
    result = on_users(tmp_path, expand(f"{setting}\n{ADD_NOTE}"), request=api.LintRequest())
    assert of(result, "EC403") == []


def test_no_lock_timeout_is_ec403(tmp_path: Path) -> None:
    result = on_users(tmp_path, expand(ADD_NOTE), request=api.LintRequest())
    assert only(result, "EC403").location.line == FIRST


def test_set_local_is_forgotten_after_an_autocommit_block(tmp_path: Path) -> None:
    body = f"""op.execute("SET LOCAL lock_timeout = '2s'")
with op.get_context().autocommit_block():
    op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)
{ADD_NOTE}"""
    result = on_users(tmp_path, expand(body), request=api.LintRequest())
    assert only(result, "EC403").location.line == FIRST + 3


def test_session_set_survives_an_autocommit_block(tmp_path: Path) -> None:
    body = f"""op.execute("SET lock_timeout = '2s'")
with op.get_context().autocommit_block():
    op.create_index("ix_users_name", "users", ["name"], postgresql_concurrently=True)
{ADD_NOTE}"""
    assert of(on_users(tmp_path, expand(body), request=api.LintRequest()), "EC403") == []


def test_set_local_inside_an_autocommit_block_has_no_effect(tmp_path: Path) -> None:
    body = f"""with op.get_context().autocommit_block():
    op.execute("SET LOCAL lock_timeout = '2s'")
    {ADD_NOTE}"""
    assert only(on_users(tmp_path, expand(body), request=api.LintRequest()), "EC403")


def test_sql_set_local_outside_a_transaction_has_no_effect(tmp_path: Path) -> None:
    text = "SET LOCAL lock_timeout = '2s';\nALTER TABLE users ADD COLUMN note text;\n"
    assert only(lint_sql(text, tmp_path), "EC403").location.line == 2


def test_sql_set_local_in_the_same_transaction_silences_ec403(tmp_path: Path) -> None:
    text = "BEGIN;\nSET LOCAL lock_timeout = '2s';\nALTER TABLE users ADD COLUMN note text;\nCOMMIT;\n"
    assert of(lint_sql(text, tmp_path), "EC403") == []


def test_sql_set_local_is_forgotten_after_commit(tmp_path: Path) -> None:
    text = """\
        BEGIN;
        SET LOCAL lock_timeout = '2s';
        COMMIT;
        BEGIN;
        ALTER TABLE users ADD COLUMN note text;
        COMMIT;
        """
    assert only(lint_sql(text, tmp_path), "EC403").location.line == 5


def test_env_py_that_sets_lock_timeout_silences_ec403(tmp_path: Path) -> None:
    result = on_users(tmp_path, expand(ADD_NOTE), env_py=ENV_TIMEOUT, request=api.LintRequest())
    assert of(result, "EC403") == []


def test_env_py_that_turns_lock_timeout_off_does_not_silence_ec403(tmp_path: Path) -> None:
    env_py = ENV_TIMEOUT.replace("lock_timeout=2s", "lock_timeout=0")
    result = on_users(tmp_path, expand(ADD_NOTE), env_py=env_py, request=api.LintRequest())
    assert only(result, "EC403")


def test_env_py_that_calls_the_hook_silences_ec403(tmp_path: Path) -> None:
    result = on_users(tmp_path, expand(ADD_NOTE), env_py=ENV_HOOK, request=api.LintRequest())
    assert of(result, "EC403") == []


def test_hook_with_lock_timeout_turned_off_does_not_silence_ec403(tmp_path: Path) -> None:
    result = on_users(
        tmp_path, expand(ADD_NOTE), env_py=ENV_HOOK, request=api.LintRequest(), lock_timeout=None
    )
    assert only(result, "EC403").location.line == FIRST


def test_hook_missing_before_one_run_migrations_does_not_silence_ec403(tmp_path: Path) -> None:
    env_py = ENV_HOOK.replace(
        "        before_migrations(context)\n        context.run_migrations()\n\n\ndef run_migrations_online",
        "        context.run_migrations()\n\n\ndef run_migrations_online",
    )
    assert env_py != ENV_HOOK
    result = on_users(tmp_path, expand(ADD_NOTE), env_py=env_py, request=api.LintRequest())
    assert only(result, "EC403")


def test_hook_imported_but_not_called_does_not_silence_ec403(tmp_path: Path) -> None:
    env_py = ENV_HOOK.replace("before_migrations(context)\n", "pass\n")
    result = on_users(tmp_path, expand(ADD_NOTE), env_py=env_py, request=api.LintRequest())
    assert only(result, "EC403")


# advice correctness: NOT VALID only where PostgreSQL accepts it


@pytest.mark.parametrize(
    "operation",
    [
        'op.create_unique_constraint("uq_users_email", "users", ["email"])',
        'op.create_primary_key("pk_orders", "orders", ["user_id"])',
        'op.create_exclude_constraint("ex_orders", "orders", ("user_id", "="), using="gist")',
        'op.execute("ALTER TABLE users ADD CONSTRAINT uq UNIQUE (email)")',
        'op.execute("ALTER TABLE orders ADD PRIMARY KEY (user_id)")',
        'op.execute("ALTER TABLE orders ADD CONSTRAINT ex EXCLUDE USING gist (user_id WITH =)")',
    ],
)
def test_unique_primary_key_and_exclude_never_suggest_not_valid(tmp_path: Path, operation: str) -> None:
    result = on_users(tmp_path, expand(operation), request=api.LintRequest())
    assert of(result, "EC305", "EC306", "EC312")
    for finding in result.findings:
        assert "not_valid" not in finding.fix.lower(), finding
        assert "NOT VALID" not in finding.fix.upper(), finding


def test_now_default_is_never_flagged(tmp_path: Path) -> None:
    body = 'op.add_column("users", sa.Column("seen_at", sa.DateTime(True), server_default=sa.func.now()))'
    assert codes(on_users(tmp_path, expand(body))) == []


def test_varchar_to_text_is_never_flagged(tmp_path: Path) -> None:
    body = 'op.alter_column("users", "email", type_=sa.Text(), existing_type=sa.String(100))'
    assert codes(on_users(tmp_path, expand(body))) == []


def test_varchar_to_text_after_an_access_exclusive_statement_is_not_slow_work(tmp_path: Path) -> None:
    body = """op.add_column("users", sa.Column("note", sa.Text()))
op.alter_column("users", "email", type_=sa.Text(), existing_type=sa.String(100))"""
    assert codes(on_users(tmp_path, expand(body))) == []


# --- columns and constraints no release has seen ---------------------------------------------------


def test_a_column_added_and_renamed_among_the_targeted_revisions_is_no_rename_of_a_released_one(
    tmp_path: Path,
) -> None:
    history = write_history(
        tmp_path,
        baseline(),
        expand('op.add_column("users", sa.Column("promo", sa.Text()))'),
        expand('op.alter_column("users", "promo", new_column_name="promo_code")'),
    )
    targets = tuple(str(history.paths[rev]) for rev in history.ids)
    result = api.lint(history.settings, api.LintRequest(targets=targets, ignore=("EC403", "EC316")))

    assert codes(result) == []


def test_a_column_and_a_constraint_added_and_dropped_in_one_revision_are_not_contract_changes(
    tmp_path: Path,
) -> None:
    body = """op.add_column("users", sa.Column("tmp", sa.Text()))
op.create_check_constraint("ck_tmp", "users", "tmp <> ''", postgresql_not_valid=True)
op.drop_constraint("ck_tmp", "users", type_="check")
op.drop_column("users", "tmp")"""
    result = lint_history(
        tmp_path, baseline(), expand(body), request=api.LintRequest(ignore=("EC403", "EC316"))
    )

    assert codes(result) == []


def test_a_column_released_before_is_still_a_contract_change(tmp_path: Path) -> None:
    result = lint_history(
        tmp_path,
        baseline(),
        expand('op.drop_column("users", "email")'),
        request=api.LintRequest(ignore=("EC403",)),
    )

    assert codes(result) == ["EC001", "EC101"]
