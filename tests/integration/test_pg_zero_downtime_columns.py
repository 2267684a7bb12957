"""The column recipes that rewrite values, proved under load on PostgreSQL with
zero_downtime_support.run_recipe: NOT NULL (with and without a default to fill the NULLs), a
rename with a type change, and a type change under the same name (the swap). The old and the new
release write and read through their own models while expand, the rollout and contract run; no
statement of either fails, no write is lost.

The swap is also run with psycopg's server-side prepared statements on, as applications run by
default: PostgreSQL then fails each prepared statement that reads the column once, when the swap
changes its type under it ("cached plan must not change result type"). That is measured here and
documented (docs/recipes/change-column-type.md); the rename keeps the type of every column a
release reads, and has no such failure."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pg_flow_support import Database, enter_example, upgrade_body
from zero_downtime_support import (
    EXAMPLE_MODELS,
    ORDER_NOTE,
    REVIEW,
    Recipe,
    Turn,
    edit,
    run_recipe,
)

ORDER_TOTAL = "    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))\n"
CACHED_PLAN = "cached plan must not change result type"


@pytest.fixture
def shop(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    enter_example(monkeypatch, example_project)
    return example_project


def leaves_the_note_out(turn: Turn) -> None:
    """The old release: orders without a note (NULL), and totals changed on rows it owns."""
    turn.insert("Order", user_id=turn.owned_id, total=Decimal(turn.step % 1000))
    turn.update("Order", total=Decimal(turn.step % 1000) + Decimal("0.5"))


def writes_the_note(turn: Turn) -> None:
    turn.insert("Order", user_id=turn.owned_id, total=Decimal(1), note=turn.value("note"))
    turn.update("Order", note=turn.value("renote"))


def no_review(*sources: str) -> None:
    for source in sources:
        assert REVIEW not in upgrade_body(source), source


# --- NOT NULL --------------------------------------------------------------------------------------


def test_not_null_without_a_default_waits_for_the_contract(shop: Path, pg_url: str) -> None:
    """Every step after the rollout: the old release writes NULL until it stops, then the NULLs are
    filled (what the review of such a change asks for), then the contract validates."""
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe(
            "note required",
            edit(EXAMPLE_MODELS, (ORDER_NOTE, "    note: Mapped[str] = mapped_column(sa.Text)\n")),
            leaves_the_note_out,
            writes_the_note,
            backfilled={"orders.note": ""},
            before_contract=lambda db: db.execute("UPDATE orders SET note = '' WHERE note IS NULL"),
        ),
    )

    assert outcome.expand == ""
    assert "op.ec_add_not_null_check('orders', 'note'" in upgrade_body(outcome.contract)
    assert outcome.db.columns("orders")["note"] is False


def test_not_null_with_a_default_fills_the_old_release_s_nulls_from_expand_on(
    shop: Path, pg_url: str
) -> None:
    def every_row_has_a_note(db: Database) -> None:
        assert db.rows("SELECT count(*) FROM orders WHERE note IS NULL") == [(0,)]

    outcome = run_recipe(
        shop,
        pg_url,
        Recipe(
            "note required, none by default",
            edit(
                EXAMPLE_MODELS,
                (ORDER_NOTE, '    note: Mapped[str] = mapped_column(sa.Text, server_default="none")\n'),
            ),
            leaves_the_note_out,
            writes_the_note,
            backfilled={"orders.note": "none"},
            after_expand=every_row_has_a_note,  # backfilled, and the running release's NULLs filled
            before_contract=every_row_has_a_note,
        ),
    )

    no_review(outcome.expand, outcome.contract)
    up = upgrade_body(outcome.expand)
    assert "op.ec_fill_nulls('orders', 'note', \"'none'\")" in up
    assert "op.ec_add_not_null_check('orders', 'note'" in up
    assert "op.ec_drop_fill('orders', 'note')" in upgrade_body(outcome.contract)
    assert outcome.db.columns("orders")["note"] is False


# --- a rename with a type change -------------------------------------------------------------------

IN_CENTS = edit(
    EXAMPLE_MODELS,
    (
        ORDER_TOTAL,
        "    total_cents: Mapped[int] = mapped_column(\n"
        '        info={"renamed_from": "total", "convert_using": "CAST(round({} * 100) AS integer)",\n'
        '              "convert_back": "CAST({} AS numeric(10, 2)) / 100"}\n'
        "    )\n",
    ),
)


def writes_cents(turn: Turn) -> None:
    turn.insert("Order", user_id=turn.owned_id, total_cents=turn.step % 100_000)
    turn.update("Order", total_cents=turn.step % 100_000 + 50)


def writes_totals(turn: Turn) -> None:
    turn.insert("Order", user_id=turn.owned_id, total=Decimal(turn.step % 1000))
    turn.update("Order", total=Decimal(turn.step % 1000) + Decimal("0.25"))


def test_a_rename_with_a_type_change_breaks_neither_release(shop: Path, pg_url: str) -> None:
    """Prepared statements on: no release ever reads a column whose type changes under it."""
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe(
            "totals in cents",
            IN_CENTS,
            writes_totals,
            writes_cents,
            renamed={"orders.total": "orders.total_cents"},
            converted={"orders.total": lambda total: round(total * 100)},
        ),
    )

    no_review(outcome.expand, outcome.contract)
    assert "forward='CAST(round({} * 100) AS integer)'" in upgrade_body(outcome.expand)
    assert outcome.db.columns("orders")["total_cents"] is False
    assert "total" not in outcome.db.columns("orders")


# --- a type change under the same name (the swap) --------------------------------------------------

QUANTITY = '    quantity: Mapped[int] = mapped_column(sa.{}, index=True, server_default="1")\n'
WITH_INT = edit(EXAMPLE_MODELS, (ORDER_NOTE, ORDER_NOTE + QUANTITY.format("Integer")))
WITH_BIGINT = edit(EXAMPLE_MODELS, (ORDER_NOTE, ORDER_NOTE + QUANTITY.format("BigInteger")))


def counts(turn: Turn) -> None:
    """Both releases: quantities written and read back (ints either way, whichever the type)."""
    turn.insert("Order", user_id=turn.owned_id, total=Decimal(1), quantity=turn.step % 1000)
    turn.update("Order", quantity=turn.step % 1000 + 7)


def swap(prepared_statements: bool, tolerated: tuple[str, ...] = ()) -> Recipe:
    return Recipe(
        "bigger quantities",
        WITH_BIGINT,
        counts,
        counts,
        old_models=WITH_INT,
        prepared_statements=prepared_statements,
        tolerated=tolerated,
    )


def test_the_swap_breaks_neither_release_without_server_side_prepared_statements(
    shop: Path, pg_url: str
) -> None:
    outcome = run_recipe(shop, pg_url, swap(prepared_statements=False))

    no_review(outcome.expand, outcome.contract)
    up, down = upgrade_body(outcome.expand), upgrade_body(outcome.contract)
    assert "op.ec_sync_columns('orders', 'quantity', 'quantity__ec_new'" in up
    assert "postgresql_concurrently=True" in up  # its index, before the deploy
    assert "op.ec_swap_columns('orders', 'quantity', 'quantity__ec_new', new_type='BIGINT')" in down
    types = dict(
        outcome.db.rows(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'orders'"
        )
    )
    assert types["quantity"] == "bigint" and "quantity__ec_new" not in types
    assert outcome.db.indexes("orders")["ix_orders_quantity"] == ["quantity"]


def test_the_swap_fails_each_prepared_statement_that_reads_the_column_once(shop: Path, pg_url: str) -> None:
    """The documented cost of the swap for applications on server-side prepared statements: one
    failure per statement and connection that had prepared a read of the column, at the swap, in
    the new release only (the old one is gone by then); nothing else fails."""
    outcome = run_recipe(shop, pg_url, swap(prepared_statements=True, tolerated=(CACHED_PLAN,)))

    assert outcome.old.failures() == {}
    failed = outcome.new.failures()
    assert set(failed) <= {f"{CACHED_PLAN}"}, failed
    assert 1 <= sum(failed.values()) <= 3, failed  # its one connection: the statements reading it


# --- a new table, a new required column with a constant default, a dropped server default ----------

COUPONS = """

class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), index=True)
"""
WITH_COUPONS_AND_PRIORITY = edit(
    EXAMPLE_MODELS + COUPONS,
    (ORDER_NOTE, ORDER_NOTE + "    priority: Mapped[int] = mapped_column(default=3)\n"),
)


def writes_coupons_and_priorities(turn: Turn) -> None:
    turn.insert("Coupon", code=turn.value("code"))
    turn.insert("Order", user_id=turn.owned_id, total=Decimal(2), priority=turn.step % 5)
    turn.update("Order", priority=turn.step % 5 + 1)


def test_a_new_table_and_a_required_column_with_a_constant_default(shop: Path, pg_url: str) -> None:
    """The old release knows neither: its orders get priority 3 from the fill trigger (the model's
    client-side default), so the column is NOT NULL once it is gone."""
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe(
            "coupons and priorities",
            WITH_COUPONS_AND_PRIORITY,
            leaves_the_note_out,
            writes_coupons_and_priorities,
            backfilled={"orders.priority": 3},
        ),
    )

    no_review(outcome.expand, outcome.contract)
    up = upgrade_body(outcome.expand)
    assert "op.create_table('coupons'" in up and "op.ec_fill_nulls('orders', 'priority', '3')" in up
    assert outcome.db.columns("orders")["priority"] is False
    assert outcome.db.rows("SELECT count(*) FROM orders WHERE id % 2 = 1 AND priority <> 3") == [(0,)]


NO_CREATED_DEFAULT = edit(
    EXAMPLE_MODELS,
    (
        "mapped_column(server_default=sa.func.now(), index=True)",
        "mapped_column(index=True)",
    ),
)


def writes_created_at(turn: Turn) -> None:
    """The new release sets created_at itself: it no longer relies on the database's default."""
    turn.insert(
        "Order", user_id=turn.owned_id, total=Decimal(1), created_at=datetime.datetime(2026, 1, 1, 12, 0)
    )
    turn.update("Order", total=Decimal(turn.step % 1000))


def test_a_dropped_server_default_waits_for_the_release_that_relies_on_it(shop: Path, pg_url: str) -> None:
    """compare_server_default on (env.py): Alembic sees the dropped default; it goes to contract."""
    env = shop / "migrations" / "env.py"
    online = "            transaction_per_migration=True,\n"
    env.write_text(
        edit(
            env.read_text(encoding="utf-8"), (online, online + "            compare_server_default=True,\n")
        ),
        encoding="utf-8",
    )
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe("no created_at default", NO_CREATED_DEFAULT, leaves_the_note_out, writes_created_at),
    )

    assert outcome.expand == ""
    assert "server_default=None" in upgrade_body(outcome.contract)
    defaults = outcome.db.rows(
        "SELECT column_default FROM information_schema.columns "
        "WHERE table_name = 'orders' AND column_name = 'created_at'"
    )
    assert defaults == [(None,)]
