"""The released schema most cases act on: a small shop, created in the baseline (before the branch point).

accounts    id bigint pk, email varchar(120) NULL, name text NOT NULL, status text NOT NULL DEFAULT 'active',
            nickname varchar(50), legacy_code text, score integer, rating real, balance numeric(10,2),
            signup_ip cidr, created_at timestamp, phone text (CHECK ck_accounts_phone_nn proves NOT NULL)
orders      id bigint pk, account_id bigint (ix_orders_account_id, fk_orders_account), total numeric(12,2)
            NOT NULL (ck_orders_total), state text DEFAULT 'new', note text, ref varchar(40) (uq_orders_ref),
            quantity smallint, placed_at timestamptz, coupon_id bigint, code text
coupons     id bigint pk, code text
audit_log   id bigint pk, entry text, at timestamptz
events_raw  id bigint NULL, payload text  (no primary key)
bookings    id bigint pk, room integer, during tstzrange
billing.invoices  id bigint pk, memo text, amount numeric(10,2), issued_on date  (schema billing)
"UserProfiles"    id bigint pk, "displayName" text, "Bio" text  (quoted, mixed case)
order_state       enum ('new', 'paid', 'shipped'); view active_accounts; sequence invoice_number_seq;
measurements      partitioned by range, partition measurements_2024; function touch(); extension citext
"""

from __future__ import annotations

HEADER = "from alembic import op\nimport sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n"

SHOP = """
op.execute("CREATE SCHEMA billing")
op.create_table(
    "accounts",
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("email", sa.String(120), nullable=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False, server_default="active"),
    sa.Column("nickname", sa.String(50), nullable=True),
    sa.Column("legacy_code", sa.Text(), nullable=True),
    sa.Column("score", sa.Integer(), nullable=True),
    sa.Column("rating", sa.REAL(), nullable=True),
    sa.Column("balance", sa.Numeric(10, 2), nullable=True),
    sa.Column("signup_ip", postgresql.CIDR(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=True),
    sa.Column("phone", sa.Text(), nullable=True),
)
op.create_check_constraint("ck_accounts_phone_nn", "accounts", "phone IS NOT NULL")
op.create_table(
    "orders",
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("account_id", sa.BigInteger(), nullable=True),
    sa.Column("total", sa.Numeric(12, 2), nullable=False),
    sa.Column("state", sa.Text(), nullable=True, server_default="new"),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("ref", sa.String(40), nullable=True),
    sa.Column("quantity", sa.SmallInteger(), nullable=True),
    sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("coupon_id", sa.BigInteger(), nullable=True),
    sa.Column("code", sa.Text(), nullable=True),
)
op.create_index("ix_orders_account_id", "orders", ["account_id"])
op.create_foreign_key("fk_orders_account", "orders", "accounts", ["account_id"], ["id"])
op.create_check_constraint("ck_orders_total", "orders", "total >= 0")
op.create_unique_constraint("uq_orders_ref", "orders", ["ref"])
op.create_table(
    "coupons", sa.Column("id", sa.BigInteger(), primary_key=True), sa.Column("code", sa.Text())
)
op.create_table(
    "audit_log",
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("entry", sa.Text()),
    sa.Column("at", sa.DateTime(timezone=True)),
)
op.create_table(
    "events_raw", sa.Column("id", sa.BigInteger(), nullable=True), sa.Column("payload", sa.Text())
)
op.create_table(
    "bookings",
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("room", sa.Integer()),
    sa.Column("during", postgresql.TSTZRANGE()),
)
op.create_table(
    "invoices",
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("memo", sa.Text()),
    sa.Column("amount", sa.Numeric(10, 2)),
    sa.Column("issued_on", sa.Date()),
    schema="billing",
)
op.create_index("ix_invoices_issued_on", "invoices", ["issued_on"], schema="billing")
op.create_table(
    "UserProfiles",
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("displayName", sa.Text()),
    sa.Column("Bio", sa.Text()),
)
op.execute("CREATE TYPE order_state AS ENUM ('new', 'paid', 'shipped')")
op.execute("CREATE VIEW active_accounts AS SELECT id, email FROM accounts WHERE status = 'active'")
op.execute("CREATE SEQUENCE invoice_number_seq")
op.execute("CREATE EXTENSION IF NOT EXISTS citext")
op.execute("CREATE TABLE measurements (id bigint, taken_on date NOT NULL) PARTITION BY RANGE (taken_on)")
op.execute(
    "CREATE TABLE measurements_2024 PARTITION OF measurements "
    "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
)
op.execute(
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN NEW.placed_at := now(); RETURN NEW; END $$"
)
op.execute("CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch()")
"""
