"""The recipes `expandcontract revision --autogenerate` writes, each proved under load on PostgreSQL:
an edit of the example shop's models, the revisions autogenerate writes for it, and the deploy run
by zero_downtime_support.run_recipe while the old and the new release write and read (no statement
of either fails, no write is lost, every revision runs, nothing is left invalid). Each test then
checks what its recipe does to the schema, and when."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from pg_flow_support import Database, enter_example, run_cli, upgrade_body
from zero_downtime_support import (
    EXAMPLE_MODELS,
    ORDER_NOTE,
    REVIEW,
    ROWS,
    SEED,
    Recipe,
    Turn,
    constraints,
    edit,
    run_recipe,
)

USER_NAME = "    name: Mapped[str] = mapped_column(sa.String(100))\n"


@pytest.fixture
def shop(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    enter_example(monkeypatch, example_project)
    return example_project


def writes_users(turn: Turn) -> None:
    """What release 1.3.0 does with users (and what later releases still do)."""
    turn.insert("User", email_address=turn.value("email"), name=turn.value("name"))
    turn.update("User", name=turn.value("renamed"))


def writes_orders(turn: Turn) -> None:
    """What release 1.3.0 does with orders: one for a user it owns, and a changed total."""
    turn.insert("Order", user_id=turn.owned_id, total=Decimal(turn.step % 1000), note=turn.value("note"))
    turn.update("Order", total=Decimal(turn.step % 1000) + Decimal("0.5"))


def writes_users_and_orders(turn: Turn) -> None:
    writes_users(turn)
    writes_orders(turn)


def reviewed_nothing(sources: tuple[str, str]) -> None:
    """Every change had a recipe: no upgrade step was left for a human to review."""
    for source in sources:
        assert REVIEW not in upgrade_body(source), source


# --- a. new columns: nullable, and NOT NULL with a server default ----------------------------------

NEW_COLUMNS = edit(
    EXAMPLE_MODELS,
    (
        USER_NAME,
        USER_NAME + "    nickname: Mapped[str | None] = mapped_column(sa.String(50))\n"
        '    status: Mapped[str] = mapped_column(sa.String(20), server_default="active")\n',
    ),
)


def writes_new_columns(turn: Turn) -> None:
    turn.insert(
        "User",
        email_address=turn.value("email"),
        name=turn.value("name"),
        nickname=turn.value("nick"),
        status="vip",
    )
    turn.update("User", nickname=turn.value("renick"), status="gold")


def test_new_columns_are_added_in_expand_and_the_old_release_leaves_them_to_the_database(
    shop: Path, pg_url: str
) -> None:
    outcome = run_recipe(
        shop, pg_url, Recipe("nickname and status", NEW_COLUMNS, writes_users, writes_new_columns)
    )

    reviewed_nothing((outcome.expand, outcome.contract))
    up = upgrade_body(outcome.expand)
    assert "op.add_column('users', sa.Column('nickname', sa.String(length=50), nullable=True))" in up
    assert "sa.Column('status', sa.String(length=20), server_default='active', nullable=False)" in up
    assert outcome.contract == ""  # nothing to take away
    assert outcome.db.columns("users") == {
        "id": False,
        "email_address": True,
        "name": False,
        "nickname": True,
        "status": False,
    }
    by_release = dict(outcome.db.rows("SELECT id % 2, array_agg(DISTINCT status) FROM users GROUP BY 1"))
    # the old release's rows (odd ids: seeded or its own) got the default; the new one wrote its own
    assert by_release == {1: ["active"], 0: ["active", "gold", "vip"]}


# --- b. a dropped NOT NULL column without a default ------------------------------------------------

NO_TOTAL = edit(EXAMPLE_MODELS, ("    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))\n", ""))


def writes_orders_without_total(turn: Turn) -> None:
    """The new release's model has no total: its inserts leave the column out."""
    turn.insert("Order", user_id=turn.owned_id, note=turn.value("note"))
    turn.update("Order", note=turn.value("renote"))


def new_rows_lack_the_total(db: Database) -> None:
    """Between the phases the column is still there, relaxed: the new release's rows have none."""
    assert db.columns("orders")["total"] is True
    assert db.rows("SELECT count(*) > 0 FROM orders WHERE total IS NULL AND id % 2 = 0") == [(True,)]


def test_a_dropped_not_null_column_is_relaxed_in_expand_so_the_new_release_can_insert(
    shop: Path, pg_url: str
) -> None:
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe(
            "no total",
            NO_TOTAL,
            writes_orders,
            writes_orders_without_total,
            dropped={"orders.total"},  # what the old release wrote there goes with the column
            before_contract=new_rows_lack_the_total,
        ),
    )

    reviewed_nothing((outcome.expand, outcome.contract))
    assert (
        "op.alter_column('orders', 'total',\n               existing_type=sa.NUMERIC(precision=10, scale=2),"
        "\n               nullable=True)"
    ) in upgrade_body(outcome.expand)
    assert "op.drop_column('orders', 'total')" in upgrade_body(outcome.contract)
    assert "total" not in outcome.db.columns("orders")


# --- c. a dropped table ----------------------------------------------------------------------------

COUPONS = """

class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    code: Mapped[str] = mapped_column(sa.String(40), index=True)
"""


def writes_coupons(turn: Turn) -> None:
    """The old release's models still map coupons, and it writes them."""
    writes_users(turn)
    turn.insert("Coupon", user_id=turn.owned_id, code=turn.value("code"))
    turn.update("Coupon", code=turn.value("recode"))


def coupons_outlive_the_old_release(db: Database) -> None:
    assert "coupons" in db.tables()


def test_a_dropped_table_goes_in_contract_after_the_release_that_writes_it(shop: Path, pg_url: str) -> None:
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe(
            "no coupons",
            EXAMPLE_MODELS,
            writes_coupons,
            writes_users,
            old_models=EXAMPLE_MODELS + COUPONS,  # migrated to first, by its own autogenerated revision
            seed=(
                *SEED,
                "INSERT INTO coupons (id, user_id, code) "
                f"SELECT i, i, 'seed-' || i FROM generate_series(1, {2 * ROWS}) AS i",
            ),
            dropped={"coupons"},
            before_contract=coupons_outlive_the_old_release,
        ),
    )

    reviewed_nothing((outcome.expand, outcome.contract))
    assert outcome.expand == ""
    assert "op.drop_table('coupons')" in upgrade_body(outcome.contract)
    assert "coupons" not in outcome.db.tables()


# --- d. a new index and a new unique constraint ----------------------------------------------------

INDEXED = edit(
    EXAMPLE_MODELS,
    (
        '    __tablename__ = "users"\n',
        '    __tablename__ = "users"\n'
        '    __table_args__ = (sa.UniqueConstraint("name", name="uq_users_name"),)\n',
    ),
    (
        '    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))',
        '    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)',
    ),
)


def test_a_new_index_and_unique_constraint_are_built_concurrently_in_expand(shop: Path, pg_url: str) -> None:
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe("indexes", INDEXED, writes_users_and_orders, writes_users_and_orders),
    )

    reviewed_nothing((outcome.expand, outcome.contract))
    up = upgrade_body(outcome.expand)
    assert (
        "with op.get_context().autocommit_block():\n        op.create_index(op.f('ix_orders_user_id'), "
        "'orders', ['user_id'], unique=False, postgresql_concurrently=True)"
    ) in up
    assert (
        "with op.get_context().autocommit_block():\n        op.create_index('uq_users_name', 'users', "
        "['name'], unique=True, postgresql_concurrently=True)"
    ) in up
    assert "ALTER TABLE users ADD CONSTRAINT uq_users_name UNIQUE USING INDEX uq_users_name" in up
    assert outcome.contract == ""
    assert outcome.db.indexes("orders")["ix_orders_user_id"] == ["user_id"]
    assert constraints(outcome.db, "users")["uq_users_name"] == ("u", True)


# --- e. a new foreign key and a new check constraint -----------------------------------------------


def with_referrer(foreign_key: str) -> str:
    return edit(
        EXAMPLE_MODELS,
        (ORDER_NOTE, ORDER_NOTE + f"    referrer_id: Mapped[int | None] = mapped_column({foreign_key})\n"),
    )


REFERRER = with_referrer('sa.ForeignKey("users.id", name="fk_orders_referrer_id_users")')


def writes_referrers(turn: Turn) -> None:
    """The new release refers to users that exist (its own): its writes satisfy the key."""
    writes_orders(turn)
    turn.insert("User", email_address=turn.value("email"), name=turn.value("name"))
    turn.session.flush()  # the user before the order that refers to it
    turn.update("Order", referrer_id=turn.new_id)


def new_writes_are_checked_at_once(db: Database) -> None:
    """Expand added the key NOT VALID: not validated yet, but new rows are held to it already."""
    assert constraints(db, "orders")["fk_orders_referrer_id_users"] == ("f", False)
    with pytest.raises(sa.exc.IntegrityError, match="fk_orders_referrer_id_users"):
        db.execute("INSERT INTO orders (id, user_id, total, referrer_id) VALUES (-1, 1, 0, -1)")


def test_a_new_foreign_key_is_added_not_valid_in_expand_and_validated_in_contract(
    shop: Path, pg_url: str
) -> None:
    """The old release writes orders only here (its key to users takes no lock the expand revision
    waits for); test_a_new_foreign_key_does_not_deadlock_a_release_that_writes_users_then_orders has
    it write a user, then an order."""
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe(
            "referrers",
            REFERRER,
            writes_orders,
            writes_referrers,
            after_expand=new_writes_are_checked_at_once,
        ),
    )

    reviewed_nothing((outcome.expand, outcome.contract))
    assert (
        "op.create_foreign_key('fk_orders_referrer_id_users', 'orders', 'users', ['referrer_id'], ['id'], "
        "postgresql_not_valid=True)"
    ) in upgrade_body(outcome.expand)
    assert "op.ec_validate_constraint('orders', 'fk_orders_referrer_id_users')" in upgrade_body(
        outcome.contract
    )
    assert constraints(outcome.db, "orders")["fk_orders_referrer_id_users"] == ("f", True)


def waiting_for(db: Database, table: str) -> bool:
    """Whether a session waits for a lock on `table`."""
    sql = f"SELECT count(*) FROM pg_locks WHERE relation = 'public.{table}'::regclass AND NOT granted"
    return bool(db.rows(sql)[0][0])


def test_a_new_foreign_key_does_not_deadlock_a_release_that_writes_users_then_orders(
    shop: Path, pg_url: str
) -> None:
    """A sign-up with its first order, in one transaction, while the expand revision runs: the
    interleaving made certain (run_recipe under load hits it in about one run out of three). The
    revision holds orders and waits for users; the release holds users and waits for orders.
    PostgreSQL picks the revision, which waited first, as the deadlock's victim: it rolls back to
    its savepoint and runs again once the release committed (lock-safe retries)."""
    url = ("--url", pg_url)
    assert (
        run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new test database", *url).exit_code
        == 0
    )
    (shop / "shop" / "models.py").write_text(REFERRER, encoding="utf-8")
    assert run_cli("revision", "--autogenerate", "-m", "referrers", *url).exit_code == 0
    db = Database(pg_url)
    release = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    expand: list[Result] = []
    with release.connect() as conn:
        conn.execute(sa.text("INSERT INTO users (id, email_address, name) VALUES (1, '1@x', 'one')"))
        migration = threading.Thread(
            target=lambda: expand.append(run_cli("upgrade", "--phase", "expand", *url))
        )
        migration.start()  # it takes orders, then queues for users behind the release's transaction
        deadline = time.monotonic() + 10
        while not waiting_for(db, "users") and migration.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            conn.execute(sa.text("INSERT INTO orders (id, user_id, total) VALUES (1, 1, 1)"))
            conn.commit()
            failed = None
        except sa.exc.DBAPIError as exc:
            failed = str(exc.orig).splitlines()[0]
        migration.join(timeout=30)
    release.dispose()

    assert failed is None, failed
    assert expand[0].exit_code == 0, expand[0].output


@pytest.mark.filterwarnings("ignore:Autogenerate rendered a drop_constraint:UserWarning")  # the downgrade
def test_an_unnamed_new_foreign_key_is_validated_in_contract(shop: Path, pg_url: str) -> None:
    """Named as PostgreSQL would name it, so that the contract can validate it."""
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe("referrers", with_referrer('sa.ForeignKey("users.id")'), writes_orders, writes_referrers),
    )  # asserts that no constraint is left NOT VALID

    assert "op.ec_validate_constraint('orders', 'orders_referrer_id_fkey')" in upgrade_body(outcome.contract)


CHECKED = edit(
    EXAMPLE_MODELS,
    (
        '    __tablename__ = "orders"\n',
        '    __tablename__ = "orders"\n'
        '    __table_args__ = (sa.CheckConstraint("total >= 0", name="ck_orders_total_not_negative"),)\n',
    ),
)


def test_a_new_check_constraint_is_added_not_valid_in_expand_and_validated_in_contract(
    shop: Path, pg_url: str
) -> None:
    """Alembic compares CHECK constraints of existing tables only with its opt-in plugin (named
    ones, by name): the project's env.py turns it on."""
    env = shop / "migrations" / "env.py"
    online = "            transaction_per_migration=True,\n"
    env.write_text(
        edit(
            env.read_text(encoding="utf-8"),
            (
                online,
                online + '            autogenerate_plugins=["alembic.autogenerate.*", '
                '"alembic.ext.checkconstraint_byname"],\n',
            ),
        ),
        encoding="utf-8",
    )
    outcome = run_recipe(
        shop, pg_url, Recipe("no negative totals", CHECKED, writes_orders, writes_orders)
    )  # both releases write totals >= 0

    assert "postgresql_not_valid=True" in upgrade_body(outcome.expand)
    assert "op.ec_validate_constraint('orders', 'ck_orders_total_not_negative')" in upgrade_body(
        outcome.contract
    )
    assert constraints(outcome.db, "orders")["ck_orders_total_not_negative"] == ("c", True)


# --- f. a dropped index ----------------------------------------------------------------------------

NOT_INDEXED = edit(
    EXAMPLE_MODELS,
    (
        "mapped_column(server_default=sa.func.now(), index=True)",
        "mapped_column(server_default=sa.func.now())",
    ),
)


def index_outlives_the_old_release(db: Database) -> None:
    assert "ix_orders_created_at" in db.indexes("orders")


def test_a_dropped_index_is_dropped_concurrently_in_contract(shop: Path, pg_url: str) -> None:
    outcome = run_recipe(
        shop,
        pg_url,
        Recipe(
            "no created_at index",
            NOT_INDEXED,
            writes_users_and_orders,
            writes_users_and_orders,
            before_contract=index_outlives_the_old_release,
        ),
    )

    reviewed_nothing((outcome.expand, outcome.contract))
    assert outcome.expand == ""
    assert (
        "with op.get_context().autocommit_block():\n        op.drop_index(op.f('ix_orders_created_at'), "
        "table_name='orders', postgresql_concurrently=True)"
    ) in upgrade_body(outcome.contract)
    assert "ix_orders_created_at" not in outcome.db.indexes("orders")
