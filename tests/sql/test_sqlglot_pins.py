"""The raw sqlglot parse results the SQL adapter relies on.

sqlglot's trees change between releases. When one of these fails after an upgrade, the docstring
names the adapter code to revisit before widening the `sqlglot` pin in pyproject.toml.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType

from expandcontract.sql.dialect import sqlglot_dialect


@pytest.fixture(autouse=True)
def _quiet_sqlglot(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    # sqlglot warns for every statement it falls back to a Command for; some pins are exactly that
    caplog.set_level(logging.ERROR, logger="sqlglot")
    yield


def parse(sql: str) -> exp.Expression:
    parsed = sqlglot_dialect("postgresql").parse(sql)
    assert len(parsed) == 1
    node = parsed[0]
    assert node is not None
    return node


def only_action(sql: str) -> exp.Expression:
    node = parse(sql)
    assert isinstance(node, exp.Alter)
    actions = node.args["actions"]
    assert len(actions) == 1
    action: exp.Expression = actions[0]
    return action


def select_value(sql_expression: str) -> exp.Expression:
    node = parse(f"SELECT {sql_expression}")
    assert isinstance(node, exp.Select)
    value: exp.Expression = node.expressions[0]
    return value


def test_our_dialect_is_the_alembic_flavour_of_postgres() -> None:
    """`dialect.sqlglot_dialect` maps "postgresql" to `AlembicPostgres` (and unknown names too)."""
    assert type(sqlglot_dialect("postgresql")).__name__ == "AlembicPostgres"
    assert type(sqlglot_dialect("no-such-dialect")).__name__ == "AlembicPostgres"


def test_alembic_column_rename_is_a_rename_column_with_our_dialect_only() -> None:
    """`changes._alter` maps `RenameColumn` to RENAME_COLUMN and `AlterRename` to RENAME_TABLE;
    `dialect.AlembicPostgres` sets `ALTER_RENAME_REQUIRES_COLUMN = False` to get the former."""
    ours = only_action("ALTER TABLE t RENAME a TO b")
    assert isinstance(ours, exp.RenameColumn)
    assert (ours.this.name, ours.args["to"].name) == ("a", "b")

    stock = sqlglot.parse_one("ALTER TABLE t RENAME a TO b", read="postgres")
    assert isinstance(stock.args["actions"][0], exp.AlterRename)  # a table rename: the bug we work around


def test_table_rename_is_still_an_alter_rename() -> None:
    """`changes._alter`: `AlterRename` -> RENAME_TABLE with `new_name` from `action.this`."""
    action = only_action("ALTER TABLE t RENAME TO u")
    assert isinstance(action, exp.AlterRename)
    assert action.this.name == "u"


def test_not_valid_sits_on_the_alter_node() -> None:
    """`changes._alter` reads `not_valid` from the `Alter` node and hands it to `_add_constraint`."""
    node = parse("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT VALID")
    assert isinstance(node, exp.Alter)
    assert node.args["not_valid"] is True
    action = node.args["actions"][0]
    assert isinstance(action, exp.AddConstraint)
    assert "not_valid" not in action.args

    validated = parse("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id)")
    assert validated.args["not_valid"] is False


def test_set_not_null_is_alter_column_with_allow_null_false() -> None:
    """`changes._alter_column`: `allow_null is False` -> SET_NOT_NULL."""
    action = only_action("ALTER TABLE t ALTER COLUMN c SET NOT NULL")
    assert isinstance(action, exp.AlterColumn)
    assert action.args.get("allow_null") is False
    assert not action.args.get("drop")


def test_drop_not_null_is_drop_with_allow_null_true() -> None:
    """`changes._alter_column`: `drop` with `allow_null is True` -> DROP_NOT_NULL (before DROP DEFAULT)."""
    action = only_action("ALTER TABLE t ALTER COLUMN c DROP NOT NULL")
    assert isinstance(action, exp.AlterColumn)
    assert action.args.get("drop") is True
    assert action.args.get("allow_null") is True


def test_drop_default_is_drop_without_allow_null() -> None:
    """`changes._alter_column`: `drop` without `allow_null` -> DROP_DEFAULT."""
    action = only_action("ALTER TABLE t ALTER COLUMN c DROP DEFAULT")
    assert isinstance(action, exp.AlterColumn)
    assert action.args.get("drop") is True
    assert action.args.get("allow_null") is None


def test_set_default_carries_the_expression() -> None:
    """`changes._alter_column`: `args["default"]` -> SET_DEFAULT, its volatility from the expression."""
    action = only_action("ALTER TABLE t ALTER COLUMN c SET DEFAULT 1")
    assert isinstance(action, exp.AlterColumn)
    assert isinstance(action.args["default"], exp.Literal)
    assert action.args.get("dtype") is None


def test_alter_type_carries_dtype_and_using() -> None:
    """`changes._alter_column`: `args["dtype"]` -> ALTER_COLUMN_TYPE, `args["using"]` into the detail."""
    action = only_action("ALTER TABLE t ALTER COLUMN c TYPE bigint USING c::bigint")
    assert isinstance(action, exp.AlterColumn)
    assert isinstance(action.args["dtype"], exp.DataType)
    assert isinstance(action.args["using"], exp.Cast)


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE t VALIDATE CONSTRAINT fk",
        "ALTER TYPE mood ADD VALUE 'meh'",
        "ALTER TABLE t ALTER COLUMN c DROP IDENTITY",
        "ALTER TABLE t DETACH PARTITION p1 CONCURRENTLY",
        "DROP EXTENSION pgcrypto",
    ],
)
def test_statements_sqlglot_leaves_as_a_command(sql: str) -> None:
    """`changes._recognise` / `_recognise_alter` read these from their tokens: no handler sees them."""
    assert type(parse(sql)) is exp.Command


def test_create_index_on_only_does_not_parse() -> None:
    """`changes._recognise_create` reads `CREATE INDEX ... ON ONLY` from tokens after the parse fails."""
    with pytest.raises(ParseError):
        sqlglot_dialect("postgresql").parse("CREATE INDEX ix ON ONLY t (a)")


def test_do_block_is_a_command_with_its_body_as_one_string() -> None:
    """`changes._recognise` turns head `DO` into OPAQUE; `_expand_command` must not re-tokenize the body."""
    node = parse("DO $$ BEGIN PERFORM 1; END $$")
    assert isinstance(node, exp.Command)
    assert node.this == "DO"


def test_gen_random_uuid_is_a_uuid_node() -> None:
    """`changes._VOLATILE_NODES` lists `exp.Uuid`: the function name is gone from the tree."""
    assert isinstance(select_value("gen_random_uuid()"), exp.Uuid)


def test_random_is_a_rand_node() -> None:
    """`changes._VOLATILE_NODES` lists `exp.Rand`."""
    assert isinstance(select_value("random()"), exp.Rand)


@pytest.mark.parametrize("function", ["clock_timestamp", "nextval", "uuid_generate_v4"])
def test_other_volatile_functions_stay_anonymous(function: str) -> None:
    """`changes.is_volatile_expression` matches `exp.Anonymous` by name against `VOLATILE_FUNCTIONS`."""
    arguments = "'s'" if function == "nextval" else ""
    node = select_value(f"{function}({arguments})")
    assert isinstance(node, exp.Anonymous)
    assert str(node.this).lower() == function


def test_now_is_current_timestamp() -> None:
    """`changes.is_volatile_expression` must not call `now()` volatile: it is `CurrentTimestamp`."""
    assert isinstance(select_value("now()"), exp.CurrentTimestamp)


def test_drop_column_actions_carry_the_column_in_tables() -> None:
    """`changes._drop_action` reads the dropped columns from `args["tables"]` (`this` is empty)."""
    node = parse("ALTER TABLE t DROP COLUMN a, DROP COLUMN b")
    actions = node.args["actions"]
    assert [type(a) for a in actions] == [exp.Drop, exp.Drop]
    assert [str(a.args["kind"]).upper() for a in actions] == ["COLUMN", "COLUMN"]
    assert [a.this for a in actions] == [None, None]
    assert [[c.name for c in a.args["tables"]] for a in actions] == [["a"], ["b"]]


def test_add_column_is_a_column_def_action() -> None:
    """`changes._alter` hands `ColumnDef` actions to `_column_def`, which reads `kind` and `constraints`."""
    action = only_action("ALTER TABLE t ADD COLUMN c integer NOT NULL DEFAULT 0")
    assert isinstance(action, exp.ColumnDef)
    assert isinstance(action.args["kind"], exp.DataType)
    kinds = [c.args["kind"] for c in action.args["constraints"]]
    assert [type(k) for k in kinds] == [exp.NotNullColumnConstraint, exp.DefaultColumnConstraint]
    assert not kinds[0].args.get("allow_null")


def test_stored_generated_column_is_computed_and_not_marked_virtual() -> None:
    """`changes._column_def`: `ComputedColumnConstraint` unless `persisted is False` -> generated.

    sqlglot records nothing for STORED (`persisted` stays None), and a PG18 VIRTUAL column does not
    parse at all (it falls back to a Command, so it is OPAQUE rather than a wrong verdict).
    """
    action = only_action("ALTER TABLE t ADD COLUMN c integer GENERATED ALWAYS AS (a + b) STORED")
    assert isinstance(action, exp.ColumnDef)
    (constraint,) = action.args["constraints"]
    assert isinstance(constraint.args["kind"], exp.ComputedColumnConstraint)
    assert constraint.args["kind"].args.get("persisted") is None

    virtual = parse("ALTER TABLE t ADD COLUMN c integer GENERATED ALWAYS AS (a + b) VIRTUAL")
    assert type(virtual) is exp.Command


@pytest.mark.parametrize(
    ("sql", "head", "head_type", "rest"),
    [
        ("REINDEX TABLE CONCURRENTLY t", "REINDEX", TokenType.COMMAND, "TABLE CONCURRENTLY t"),
        ("VACUUM FULL t", "VACUUM", TokenType.COMMAND, "FULL t"),
        ("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "LOCK", TokenType.LOCK, "TABLE t IN ACCESS EXCLUSIVE MODE"),
    ],
)
def test_tokenizer_keeps_a_command_remainder_as_one_string(
    sql: str, head: str, head_type: TokenType, rest: str
) -> None:
    """`changes._expand_command` re-tokenizes the STRING after a command keyword before `_recognise`."""
    tokens = sqlglot_dialect("postgresql").tokenize(sql)
    assert [(t.token_type, t.text) for t in tokens] == [(head_type, head), (TokenType.STRING, rest)]


def test_primary_key_is_one_token() -> None:
    """`changes._recognise_alter` compares single words: "PRIMARY KEY" arrives as one token."""
    tokens = sqlglot_dialect("postgresql").tokenize("ALTER TABLE t ADD PRIMARY KEY USING INDEX ix")
    assert [t.text for t in tokens if t.token_type == TokenType.PRIMARY_KEY] == ["PRIMARY KEY"]


def test_dollar_quoted_body_is_one_token() -> None:
    """`statements.split_statements` splits on SEMICOLON tokens: a $$ body's semicolons are in a string."""
    sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql"
    tokens = sqlglot_dialect("postgresql").tokenize(sql)
    assert [t.token_type for t in tokens].count(TokenType.SEMICOLON) == 0
    assert [t.text for t in tokens if t.token_type == TokenType.HEREDOC_STRING] == [" SELECT 1; "]
