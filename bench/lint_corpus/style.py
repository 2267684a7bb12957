"""EC5xx: style rules, all opt-in; each case selects the rule it is about (and only it)."""

from __future__ import annotations

from lint_corpus.case import alembic, expand, sql_case

LONG = "order_fulfilment_" * 4  # 68 bytes


def _new_table(*columns: str) -> str:
    cols = ", ".join(columns)
    return f'op.create_table("widgets", sa.Column("id", sa.BigInteger(), primary_key=True), {cols})'


CASES = [
    # --- EC501 prefer-bigint ----------------------------------------------------------------------------
    alembic(
        "bigint_integer_pk_new_table",
        "EC501",
        expand('op.create_table("widgets", sa.Column("id", sa.Integer(), primary_key=True))'),
        select=("EC501",),
    ),
    alembic(
        "bigint_add_integer_column",
        "EC501",
        expand('op.add_column("orders", sa.Column("points", sa.Integer()))'),
        select=("prefer-bigint",),
    ),
    sql_case(
        "bigint_sql_smallint",
        "EC501",
        "CREATE TABLE widgets (id bigint PRIMARY KEY, rank smallint);",
        select=("EC501",),
    ),
    sql_case(
        "bigint_sql_serial",
        "EC501",
        "CREATE TABLE widgets (id serial PRIMARY KEY);",
        select=("EC501",),
    ),
    alembic(
        "safe_bigint_columns",
        "",
        expand(_new_table('sa.Column("points", sa.BigInteger())')),
        select=("EC501",),
    ),
    # --- EC502 prefer-timestamptz -----------------------------------------------------------------------
    alembic(
        "timestamptz_datetime_column",
        "EC502",
        expand('op.add_column("orders", sa.Column("shipped_at", sa.DateTime()))'),
        select=("EC502",),
    ),
    sql_case(
        "timestamptz_sql_timestamp",
        "EC502",
        "CREATE TABLE widgets (id bigint PRIMARY KEY, made_at timestamp);",
        select=("prefer-timestamptz",),
    ),
    sql_case(
        "timestamptz_sql_without_time_zone",
        "EC502",
        "ALTER TABLE orders ADD COLUMN shipped_at timestamp(3) without time zone;",
        select=("EC502",),
    ),
    alembic(
        "timestamptz_new_table_datetime",
        "EC502",
        expand(_new_table('sa.Column("made_at", sa.DateTime(), nullable=False)')),
        select=("EC502",),
    ),
    alembic(
        "safe_timestamptz",
        "",
        expand('op.add_column("orders", sa.Column("shipped_at", sa.DateTime(timezone=True)))'),
        select=("EC502",),
    ),
    # --- EC503 prefer-text-over-varchar -----------------------------------------------------------------
    alembic(
        "varchar_column_new_table",
        "EC503",
        expand(_new_table('sa.Column("title", sa.String(200))')),
        select=("EC503",),
    ),
    sql_case(
        "varchar_sql_add_column",
        "EC503",
        "ALTER TABLE orders ADD COLUMN carrier character varying(30);",
        select=("EC503",),
    ),
    alembic(
        "varchar_batch_add_column",
        "EC503",
        expand(
            """
            with op.batch_alter_table("orders") as batch_op:
                batch_op.add_column(sa.Column("carrier", sa.String(80), nullable=True))
            """
        ),
        select=("prefer-text-over-varchar",),
    ),
    alembic(
        "safe_text_and_unbounded_varchar",
        "",
        expand(_new_table('sa.Column("title", sa.Text())', 'sa.Column("slug", sa.String())')),
        select=("EC503",),
    ),
    # --- EC504 prefer-identity --------------------------------------------------------------------------
    sql_case(
        "identity_sql_bigserial_new_table",
        "EC504",
        "CREATE TABLE widgets (id bigserial PRIMARY KEY, name text);",
        select=("EC504",),
    ),
    sql_case(
        "identity_sql_serial_added_to_existing",
        "EC504 EC308",
        "ALTER TABLE events_raw ADD COLUMN seq serial;",
        select=("prefer-identity",),
    ),
    sql_case(
        "identity_sql_smallserial_new_table",
        "EC504",
        "create table widgets (id smallserial primary key);",
        select=("EC504",),
    ),
    alembic(
        "safe_identity_column",
        "",
        expand(
            'op.create_table("widgets", sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True))'
        ),
        select=("EC504",),
    ),
    # --- EC505 ban-char ---------------------------------------------------------------------------------
    alembic(
        "char_column_op",
        "EC505",
        expand('op.add_column("orders", sa.Column("currency", sa.CHAR(3)))'),
        select=("EC505",),
    ),
    sql_case(
        "char_sql_character",
        "EC505",
        "CREATE TABLE widgets (id bigint PRIMARY KEY, code character(10));",
        select=("ban-char",),
    ),
    alembic(
        "char_column_new_table",
        "EC505",
        expand(_new_table('sa.Column("country", sa.CHAR(2), nullable=False)')),
        select=("EC505",),
    ),
    sql_case(
        "safe_char_rule_on_varchar",
        "",
        "CREATE TABLE widgets (id bigint PRIMARY KEY, code varchar(10), name character varying);",
        select=("EC505",),
    ),
    # --- EC506 prefer-jsonb -----------------------------------------------------------------------------
    alembic(
        "json_column_op",
        "EC506",
        expand('op.add_column("orders", sa.Column("meta", sa.JSON()))'),
        select=("EC506",),
    ),
    sql_case(
        "json_sql_new_table",
        "EC506",
        "CREATE TABLE widgets (id bigint PRIMARY KEY, attrs json NOT NULL DEFAULT '{}');",
        select=("EC506",),
    ),
    sql_case(
        "json_sql_add_column",
        "EC506",
        "ALTER TABLE orders ADD COLUMN meta JSON;",
        select=("prefer-jsonb",),
    ),
    alembic(
        "safe_jsonb_column",
        "",
        expand('op.add_column("orders", sa.Column("meta", postgresql.JSONB()))'),
        select=("EC506",),
    ),
    # --- EC507 identifier-too-long ----------------------------------------------------------------------
    alembic(
        "long_index_name",
        "EC507 EC902",
        expand(
            f"""
            with op.get_context().autocommit_block():
                op.create_index("ix_{LONG}", "orders", ["placed_at"], postgresql_concurrently=True)
            """
        ),
        select=("EC507",),
        note="SQLAlchemy refuses to render the name, so the revision is read from its AST (EC902)",
    ),
    alembic(
        "long_table_name",
        "EC507",
        expand(f'op.create_table("{LONG}", sa.Column("id", sa.BigInteger(), primary_key=True))'),
        select=("EC507",),
    ),
    sql_case(
        "long_column_name_sql",
        "EC507",
        f"ALTER TABLE orders ADD COLUMN {LONG} text;",
        select=("identifier-too-long",),
    ),
    sql_case(
        "long_multibyte_name_sql",
        "EC507",
        'CREATE TABLE "' + "ü" * 32 + '" (id bigint PRIMARY KEY);',
        select=("EC507",),
        note="32 characters, 64 bytes in UTF-8",
    ),
    alembic(
        "safe_name_exactly_63_bytes",
        "",
        expand(f'op.add_column("orders", sa.Column("{"x" * 63}", sa.Text()))'),
        select=("EC507",),
    ),
    sql_case(
        "safe_multibyte_name_62_bytes",
        "",
        'CREATE TABLE "' + "ü" * 31 + '" (id bigint PRIMARY KEY);',
        select=("EC507",),
    ),
]
