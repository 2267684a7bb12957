"""`expandcontract revision --autogenerate`: one model change set written as an expand and a
contract revision, each change as its recipe; the revisions classify, lint and run."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from integration.pg_flow_support import Database, enter_example, run_cli

NEW_MODELS = """

class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), index=True)
"""


def change_models(project: Path) -> None:
    """Release 1.4.0's models: a coupons table with an index, orders.note dropped, a NOT NULL
    orders.priority without a default, and a nullable users.nickname."""
    models = project / "shop" / "models.py"
    text = models.read_text(encoding="utf-8")
    text = text.replace(
        "    note: Mapped[str | None] = mapped_column(sa.Text)  # since 1.1.0",
        "    priority: Mapped[int] = mapped_column()",
    )
    text = text.replace(
        "    name: Mapped[str] = mapped_column(sa.String(100))",
        "    name: Mapped[str] = mapped_column(sa.String(100))\n"
        "    nickname: Mapped[str | None] = mapped_column(sa.Text)",
    )
    models.write_text(text + NEW_MODELS, encoding="utf-8")


@pytest.fixture
def shop(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    enter_example(monkeypatch, example_project)
    return example_project


def generate(project: Path, *url: str) -> tuple[str, str]:
    """Run the autogenerate; (expand revision's source, contract revision's source)."""
    result = run_cli("revision", "--autogenerate", "-m", "coupons and priority", *url)
    assert result.exit_code == 0, result.output
    written = [
        project / line.removeprefix("wrote ")
        for line in result.stdout.splitlines()
        if line.startswith("wrote ")
    ]
    assert [p.parent.name for p in written] == ["expand", "contract"]
    return written[0].read_text(encoding="utf-8"), written[1].read_text(encoding="utf-8")


def upgrade_body(source: str) -> str:
    return source.split("def upgrade() -> None:", 1)[1].split("def downgrade() -> None:", 1)[0]


def test_autogenerate_writes_each_change_in_its_phase(shop: Path) -> None:
    assert run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new dev database").exit_code == 0
    change_models(shop)

    expand, contract = generate(shop)

    up = upgrade_body(expand)
    assert "op.create_table('coupons'" in up
    assert "with op.get_context().autocommit_block():\n        op.create_index(op.f('ix_coupons_code')" in up
    assert "postgresql_concurrently=True" in up
    assert "# expandcontract: review: orders.priority is NOT NULL without a default" in up
    assert "op.add_column('orders', sa.Column('priority', sa.Integer(), nullable=True))" in up
    assert "op.add_column('users', sa.Column('nickname', sa.Text(), nullable=True))" in up
    assert "drop_column" not in up and "expandcontract_" not in up  # nothing of the registry's tables
    down = contract.split("def upgrade() -> None:", 1)[1]
    assert "depends_on = '" in contract.split("def upgrade", 1)[0]
    steps = [
        "op.ec_add_not_null_check('orders', 'priority', name='ck_orders_priority_not_null')",
        "op.ec_validate_constraint('orders', 'ck_orders_priority_not_null')",
        "nullable=False)",
        "op.drop_constraint('ck_orders_priority_not_null', 'orders', type_='check')",
        "op.drop_column('orders', 'note')",
    ]
    positions = [down.index(step) for step in steps]
    assert positions == sorted(positions)

    assert run_cli("check").exit_code == 0  # on the right branches, the contract one depending on expand
    lint = run_cli("lint", "--no-cache")
    assert lint.exit_code == 0, lint.output  # no error: each change sits in its phase
    assert "EC002" not in lint.stdout
    assert run_cli("upgrade", "--phase", "expand").exit_code == 0


def test_nothing_changed_writes_nothing(shop: Path) -> None:
    assert run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new dev database").exit_code == 0

    result = run_cli("revision", "--autogenerate", "-m", "nothing")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "no changes: the models match the database"


def test_autogenerate_and_phase_do_not_go_together(shop: Path) -> None:
    result = run_cli("revision", "--autogenerate", "--phase", "expand", "-m", "x")
    assert result.exit_code == 2
    assert "--autogenerate writes both phases" in result.stderr


def test_the_generated_recipes_run_on_postgresql(shop: Path, pg_url: str) -> None:
    url = ("--url", pg_url)
    assert (
        run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new test database", *url).exit_code
        == 0
    )
    change_models(shop)
    generate(shop, *url)

    expand = run_cli("upgrade", "--phase", "expand", *url)
    assert expand.exit_code == 0, expand.output
    db = Database(pg_url)
    assert db.indexes("coupons") == {"ix_coupons_code": ["code"]}  # built CONCURRENTLY, outside a transaction
    db.execute("UPDATE orders SET priority = 1")  # the backfill the review note asks for

    contract = run_cli(
        "upgrade", "--phase", "contract", "--force", "--reason", "no release runs in tests", *url
    )
    assert contract.exit_code == 0, contract.output
    columns = db.columns("orders")
    assert columns["priority"] is False  # NOT NULL now
    assert "note" not in columns


def test_plain_alembic_autogenerate_splits_through_env_py(shop: Path) -> None:
    from alembic import command
    from alembic.config import Config

    assert run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new dev database").exit_code == 0
    change_models(shop)
    config = Config(str(shop / "alembic.ini"))

    written = command.revision(config, message="by plain alembic", autogenerate=True)

    scripts = written if isinstance(written, list) else [written]
    assert [Path(s.path).parent.name for s in scripts if s is not None] == ["expand", "contract"]
    assert run_cli("check").exit_code == 0


def rename_name_to_full_name(project: Path, hinted: bool) -> None:
    models = project / "shop" / "models.py"
    info = ', info={"renamed_from": "name"}' if hinted else ""
    text = models.read_text(encoding="utf-8").replace(
        "    name: Mapped[str] = mapped_column(sa.String(100))",
        f"    full_name: Mapped[str] = mapped_column(sa.String(100){info})",
    )
    models.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("hinted", [True, False], ids=["info-hint", "cli-hint"])
def test_a_rename_is_a_synced_new_column_then_a_drop(shop: Path, pg_url: str, hinted: bool) -> None:
    url = ("--url", pg_url)
    assert (
        run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new test database", *url).exit_code
        == 0
    )
    db = Database(pg_url)
    db.execute("INSERT INTO users (id, email_address, name) VALUES (1, 'a@x', 'Ada'), (2, 'b@x', 'Bob')")
    rename_name_to_full_name(shop, hinted)
    hint = () if hinted else ("--rename", "users.name:full_name")

    result = run_cli("revision", "--autogenerate", "-m", "full name", *hint, *url)
    assert result.exit_code == 0, result.output
    expand, contract = (
        (shop / line.removeprefix("wrote ")).read_text(encoding="utf-8")
        for line in result.stdout.splitlines()
        if line.startswith("wrote ")
    )
    up = upgrade_body(expand)
    assert "op.add_column('users', sa.Column('full_name', sa.String(length=100), nullable=True))" in up
    assert "op.ec_sync_columns('users', 'name', 'full_name')" in up
    assert "op.ec_backfill('users', {'full_name': 'name'}, where='full_name IS NULL AND name IS NOT NULL')" in up
    assert "drop_column" not in up
    down = upgrade_body(contract)
    assert down.index("op.ec_drop_sync('users', 'name', 'full_name')") < down.index(
        "op.drop_column('users', 'name')"
    )
    assert "op.ec_add_not_null_check('users', 'full_name'" in down

    assert run_cli("upgrade", "--phase", "expand", *url).exit_code == 0  # the backfill runs inline
    assert db.rows("SELECT id, name, full_name FROM users ORDER BY id") == [
        (1, "Ada", "Ada"),
        (2, "Bob", "Bob"),
    ]
    db.execute("INSERT INTO users (id, email_address, name) VALUES (3, 'c@x', 'Cy')")  # the old release
    db.execute("INSERT INTO users (id, email_address, full_name) VALUES (4, 'd@x', 'Di')")  # the new one
    assert db.rows("SELECT id, name, full_name FROM users WHERE id > 2 ORDER BY id") == [
        (3, "Cy", "Cy"),
        (4, "Di", "Di"),
    ]

    contract_run = run_cli(
        "upgrade", "--phase", "contract", "--force", "--reason", "no release runs in tests", *url
    )
    assert contract_run.exit_code == 0, contract_run.output
    columns = db.columns("users")
    assert "name" not in columns and columns["full_name"] is False
    assert db.rows("SELECT full_name FROM users ORDER BY id") == [("Ada",), ("Bob",), ("Cy",), ("Di",)]


def test_a_new_unique_constraint_is_built_concurrently_then_attached(shop: Path, pg_url: str) -> None:
    url = ("--url", pg_url)
    assert (
        run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new test database", *url).exit_code
        == 0
    )
    models = shop / "shop" / "models.py"
    models.write_text(
        models.read_text(encoding="utf-8").replace(
            '    __tablename__ = "orders"\n',
            '    __tablename__ = "orders"\n'
            "    __table_args__ = (\n"
            '        sa.UniqueConstraint("user_id", "created_at", name="uq_orders_user_time"),\n'
            "    )\n",
        ),
        encoding="utf-8",
    )

    expand, _ = generate_expand_only(shop, *url)

    up = upgrade_body(expand)
    assert (
        "with op.get_context().autocommit_block():\n"
        "        op.create_index('uq_orders_user_time', 'orders', ['user_id', 'created_at'], unique=True, "
        "postgresql_concurrently=True)"
    ) in up
    assert (
        "op.execute('ALTER TABLE orders ADD CONSTRAINT uq_orders_user_time "
        "UNIQUE USING INDEX uq_orders_user_time')" in up
    )
    assert run_cli("upgrade", "--phase", "expand", *url).exit_code == 0
    constraints = Database(pg_url).rows(
        "SELECT conname, contype FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'u'"
    )
    assert constraints == [("uq_orders_user_time", "u")]


def generate_expand_only(project: Path, *url: str) -> tuple[str, None]:
    result = run_cli("revision", "--autogenerate", "-m", "unique", *url)
    assert result.exit_code == 0, result.output
    (written,) = [
        project / line.removeprefix("wrote ")
        for line in result.stdout.splitlines()
        if line.startswith("wrote ")
    ]
    assert written.parent.name == "expand"
    return written.read_text(encoding="utf-8"), None


def test_a_rename_can_carry_a_type_change_with_its_conversions(shop: Path, pg_url: str) -> None:
    url = ("--url", pg_url)
    assert (
        run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new test database", *url).exit_code
        == 0
    )
    db = Database(pg_url)
    db.execute("INSERT INTO users (id, email_address, name) VALUES (1, 'a@x', 'Ada'), (2, 'b@x', 'Bob')")
    db.execute("INSERT INTO orders (id, user_id, total) VALUES (10, 1, 12.50), (11, 2, 3.00)")
    models = shop / "shop" / "models.py"
    models.write_text(
        models.read_text(encoding="utf-8").replace(
            "    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))",
            "    total_cents: Mapped[int] = mapped_column(\n"
            '        info={"renamed_from": "total", "convert_using": "CAST(round({} * 100) AS integer)",\n'
            '              "convert_back": "CAST({} AS numeric) / 100"}\n'
            "    )",
        ),
        encoding="utf-8",
    )

    result = run_cli("revision", "--autogenerate", "-m", "cents", *url)
    assert result.exit_code == 0, result.output
    expand = next(
        (shop / line.removeprefix("wrote ")).read_text(encoding="utf-8")
        for line in result.stdout.splitlines()
        if line.startswith("wrote ") and "/expand/" in line
    )
    up = upgrade_body(expand)
    assert (
        "op.ec_sync_columns('orders', 'total', 'total_cents', forward='CAST(round({} * 100) AS integer)', "
        "backward='CAST({} AS numeric) / 100')"
    ) in up
    assert "op.ec_backfill('orders', {'total_cents': 'CAST(round(total * 100) AS integer)'}" in up

    assert run_cli("upgrade", "--phase", "expand", *url).exit_code == 0
    assert db.rows("SELECT id, total, total_cents FROM orders ORDER BY id") == [
        (10, Decimal("12.50"), 1250),
        (11, Decimal("3.00"), 300),
    ]
    db.execute("INSERT INTO orders (id, user_id, total_cents) VALUES (12, 1, 799)")  # the new release
    assert db.rows("SELECT total FROM orders WHERE id = 12") == [(Decimal("7.99"),)]
