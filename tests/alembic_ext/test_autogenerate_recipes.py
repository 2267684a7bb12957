"""The recipes `revision --autogenerate` writes for NOT NULL with a default, a dropped column with a
foreign key, and a type change under the same name: what each phase holds, that lint accepts it,
and that it runs on PostgreSQL with the running release's writes in between."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from gate_support import live_release
from integration.pg_flow_support import Database, enter_example, run_cli, upgrade_body, written_revisions

from expandcontract.gate.registry import Registry

FORCE = ("--force", "--reason", "no release runs in this test")


@pytest.fixture
def shop(example_project: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> Path:
    enter_example(monkeypatch, example_project)
    assert run_cli("upgrade", "--phase", "all", *FORCE, "--url", pg_url).exit_code == 0
    Database(pg_url).execute(
        "INSERT INTO users (id, email_address, name) VALUES (1, 'a@x', 'Ada');"
        "INSERT INTO orders (id, user_id, total, note, created_at) VALUES "
        "(1, 1, 9.50, NULL, '2026-01-02 03:04:05'), (2, 1, 12.00, 'gift', '2026-02-03 04:05:06')"
    )
    return example_project


def edit_models(project: Path, old: str, new: str) -> None:
    models = project / "shop" / "models.py"
    text = models.read_text(encoding="utf-8")
    assert old in text
    models.write_text(text.replace(old, new), encoding="utf-8")


def generate(project: Path, url: str) -> tuple[str, str]:
    """(expand upgrade() body, contract upgrade() body) of what autogenerate wrote."""
    result = run_cli("revision", "--autogenerate", "-m", "recipe", "--url", url)
    assert result.exit_code == 0, result.output
    paths = written_revisions(result, project)
    assert [p.parent.name for p in paths] == ["expand", "contract"]
    expand, contract = (upgrade_body(p.read_text(encoding="utf-8")) for p in paths)
    return expand, contract


def assert_in_order(body: str, *steps: str) -> None:
    missing = [step for step in steps if step not in body]
    assert not missing, f"{missing} not in:\n{body}"
    positions = [body.index(step) for step in steps]
    assert positions == sorted(positions), body


def lint_is_clean() -> None:
    lint = run_cli("lint", "--no-cache")
    assert lint.exit_code == 0, lint.output


def test_not_null_with_a_default_fills_the_running_release_s_nulls(shop: Path, pg_url: str) -> None:
    edit_models(
        shop,
        "    note: Mapped[str | None] = mapped_column(sa.Text)  # since 1.1.0",
        '    note: Mapped[str] = mapped_column(sa.Text, server_default="none")',
    )

    expand, contract = generate(shop, pg_url)

    assert_in_order(
        expand,
        "server_default='none'",
        "op.ec_fill_nulls('orders', 'note', \"'none'\")",
        "op.ec_add_not_null_check('orders', 'note', name='ck_orders_note_not_null')",
        "op.ec_backfill('orders', {'note': \"'none'\"}, where='note IS NULL')",
    )
    assert_in_order(
        contract,
        "op.ec_validate_constraint('orders', 'ck_orders_note_not_null')",
        "nullable=False",
        "op.drop_constraint('ck_orders_note_not_null', 'orders', type_='check')",
        "op.ec_drop_fill('orders', 'note')",
    )
    lint_is_clean()

    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    db = Database(pg_url)
    assert db.rows("SELECT id, note FROM orders ORDER BY id") == [(1, "none"), (2, "gift")]  # backfilled
    # the running release still writes NULL, and updates rows without touching the column
    db.execute(
        "INSERT INTO orders (id, user_id, total, note) VALUES (3, 1, 1.00, NULL);"
        "UPDATE orders SET note = NULL WHERE id = 2; UPDATE orders SET total = 2.00 WHERE id = 1"
    )
    assert db.rows("SELECT id, note FROM orders ORDER BY id") == [(1, "none"), (2, "none"), (3, "none")]

    contract_run = run_cli("upgrade", "--phase", "contract", *FORCE, "--url", pg_url)
    assert contract_run.exit_code == 0, contract_run.output
    assert db.columns("orders")["note"] is False
    assert db.rows("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'ec_fill%'") == [(0,)]
    assert db.rows("SELECT count(*) FROM pg_constraint WHERE conname = 'ck_orders_note_not_null'") == [(0,)]


def test_a_dropped_column_loses_its_foreign_key_before_the_deploy(shop: Path, pg_url: str) -> None:
    edit_models(shop, '    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))\n', "")

    expand, contract = generate(shop, pg_url)

    assert "# expandcontract: ignore[EC103]" in expand
    assert "op.drop_constraint(op.f('orders_user_id_fkey'), 'orders', type_='foreignkey')" in expand
    assert "op.alter_column('orders', 'user_id'" in expand and "nullable=True" in expand  # relaxed
    assert "op.drop_column('orders', 'user_id')" in contract and "drop_constraint" not in contract
    lint_is_clean()

    assert run_cli("upgrade", "--phase", "expand", "--url", pg_url).exit_code == 0
    db = Database(pg_url)
    # the new release inserts orders without a user; it may delete users the old rows point to
    db.execute("INSERT INTO orders (id, total) VALUES (3, 1.00); DELETE FROM users WHERE id = 1")
    assert run_cli("upgrade", "--phase", "contract", *FORCE, "--url", pg_url).exit_code == 0
    assert "user_id" not in db.columns("orders")


def load_models(path: Path) -> sa.MetaData:
    """A release's models, imported from its file under a name of their own."""
    spec = importlib.util.spec_from_file_location(f"models_{uuid.uuid4().hex}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the ORM resolves the annotations through it
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    metadata: sa.MetaData = module.Base.metadata
    return metadata


def test_a_type_change_under_the_same_name_is_swapped_in_after_the_rollout(shop: Path, pg_url: str) -> None:
    old_models = load_models(shop / "shop" / "models.py")
    edit_models(
        shop,
        "created_at: Mapped[datetime.datetime] = mapped_column(server_default=sa.func.now(), index=True)",
        "created_at: Mapped[datetime.datetime] = mapped_column(\n"
        "        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True,\n"
        '        info={"convert_using": "{} AT TIME ZONE \'UTC\'",\n'
        '              "convert_back": "{} AT TIME ZONE \'UTC\'"}\n'
        "    )",
    )
    new_models = load_models(shop / "shop" / "models.py")

    expand, contract = generate(shop, pg_url)

    assert_in_order(
        expand,
        "op.add_column('orders', sa.Column('created_at__ec_new', sa.DateTime(timezone=True), nullable=True))",
        "op.ec_sync_columns('orders', 'created_at', 'created_at__ec_new'",
        "op.ec_backfill('orders', {'created_at__ec_new': \"created_at AT TIME ZONE 'UTC'\"}",
        "op.create_index('ix_orders_created_at_ec_new', 'orders', ['created_at__ec_new']",
    )
    assert_in_order(  # NOT NULL proven on the replacement first: a failed validation can run again
        contract,
        "op.ec_add_not_null_check('orders', 'created_at__ec_new', name='ck_orders_created_at_not_null')",
        "op.ec_validate_constraint('orders', 'ck_orders_created_at_not_null')",
        "op.ec_drop_sync('orders', 'created_at', 'created_at__ec_new')",
        "op.ec_swap_columns('orders', 'created_at', 'created_at__ec_new', "
        "new_type='TIMESTAMP WITH TIME ZONE')",
        "server_default=sa.text('now()')",
        "op.execute('ALTER INDEX ix_orders_created_at_ec_new RENAME TO ix_orders_created_at')",
        "nullable=False",
        "op.drop_constraint('ck_orders_created_at_not_null', 'orders', type_='check')",
    )
    lint_is_clean()

    url = ("--url", pg_url)
    assert run_cli("upgrade", "--phase", "expand", *url).exit_code == 0
    db = Database(pg_url)
    db.execute(
        "INSERT INTO orders (id, user_id, total, created_at) VALUES (3, 1, 1.00, '2026-03-04 05:06:07')"
    )
    db.execute("SET TIME ZONE 'UTC'")
    synced = db.rows(
        "SELECT count(*) FROM orders WHERE created_at__ec_new IS DISTINCT FROM created_at AT TIME ZONE 'UTC'"
    )
    assert synced == [(0,)]  # backfilled rows and the running release's new one

    with (shop / "pyproject.toml").open("a", encoding="utf-8") as settings:
        settings.write("\n[tool.expandcontract.gate]\ndrain-seconds = 0\n")
    old_process = live_release(pg_url, "1.3.0", old_models)  # still expects TIMESTAMP WITHOUT TIME ZONE
    live_release(pg_url, "1.4.0", new_models, pid=4343)  # expects the new type: the swap is no loss to it
    check = run_cli("gate", "check", *url)
    assert check.exit_code == 1, check.output
    blockers = [line for line in check.stdout.splitlines() if line.startswith("    - ")]
    assert len(blockers) == 1, check.output
    assert (
        "shop@1.3.0" in blockers[0] and "maps orders.created_at as TIMESTAMP WITHOUT TIME ZONE" in blockers[0]
    )

    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    Registry(engine).stop(old_process)  # the rollout is over
    engine.dispose()
    contract_run = run_cli("upgrade", "--phase", "contract", *url)  # no --force: the gate allows it
    assert contract_run.exit_code == 0, contract_run.output

    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        columns = {c["name"]: c for c in inspector.get_columns("orders")}
        assert "created_at__ec_new" not in columns
        assert (
            isinstance(columns["created_at"]["type"], sa.DateTime) and columns["created_at"]["type"].timezone
        )
        assert columns["created_at"]["nullable"] is False and "now()" in str(columns["created_at"]["default"])
        assert {i["name"]: i["column_names"] for i in inspector.get_indexes("orders")}[
            "ix_orders_created_at"
        ] == ["created_at"]
        with engine.begin() as conn:
            conn.execute(sa.text("SET TIME ZONE 'UTC'"))
            conn.execute(
                sa.text("INSERT INTO orders (id, user_id, total) VALUES (4, 1, 1.00)")
            )  # the default
            rows = conn.execute(
                sa.text(
                    "SELECT id, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') FROM orders "
                    "WHERE id < 4 ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "2026-01-02 03:04:05"),
        (2, "2026-02-03 04:05:06"),
        (3, "2026-03-04 05:06:07"),
    ]


def test_a_not_null_whose_validation_failed_runs_again_once_the_nulls_are_filled(
    shop: Path, pg_url: str
) -> None:
    edit_models(
        shop,
        "    note: Mapped[str | None] = mapped_column(sa.Text)  # since 1.1.0",
        "    note: Mapped[str] = mapped_column(sa.Text)",
    )
    result = run_cli("revision", "--autogenerate", "-m", "note required", "--url", pg_url)
    assert result.exit_code == 0, result.output
    url = ("--url", pg_url)

    failed = run_cli("upgrade", "--phase", "contract", *FORCE, *url)  # order 1's note is NULL
    assert failed.exit_code != 0
    assert "ck_orders_note_not_null" in failed.output
    db = Database(pg_url)
    db.execute("UPDATE orders SET note = '' WHERE note IS NULL")  # what the review note asks for

    again = run_cli("upgrade", "--phase", "contract", *FORCE, *url)  # the check exists: it goes on
    assert again.exit_code == 0, again.output
    assert db.columns("orders")["note"] is False


def downgrade(project: Path, url: str, target: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(project / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.downgrade(config, target)


def test_the_generated_downgrades_undo_the_recipes(shop: Path, pg_url: str) -> None:
    """NOT NULL with a default, a rename, a type swap and a unique constraint, up and down again:
    the database ends as it began, with its data."""
    db = Database(pg_url)
    before = db.rows("SELECT id, user_id, total, note, created_at FROM orders ORDER BY id")
    edit_models(
        shop,
        "    note: Mapped[str | None] = mapped_column(sa.Text)  # since 1.1.0",
        '    note: Mapped[str] = mapped_column(sa.Text, server_default="none")',
    )
    edit_models(
        shop,
        "    name: Mapped[str] = mapped_column(sa.String(100))",
        '    full_name: Mapped[str] = mapped_column(sa.String(100), info={"renamed_from": "name"})',
    )
    edit_models(
        shop,
        '    __tablename__ = "orders"\n',
        '    __tablename__ = "orders"\n'
        '    __table_args__ = (sa.UniqueConstraint("total", name="uq_orders_total"),)\n',
    )
    edit_models(
        shop,
        "created_at: Mapped[datetime.datetime] = mapped_column(server_default=sa.func.now(), index=True)",
        "created_at: Mapped[datetime.datetime] = mapped_column(\n"
        "        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True\n"
        "    )",
    )
    generate(shop, pg_url)
    url = ("--url", pg_url)
    assert run_cli("upgrade", "--phase", "expand", *url).exit_code == 0
    contract = run_cli("upgrade", "--phase", "contract", *FORCE, *url)
    assert contract.exit_code == 0, contract.output

    downgrade(shop, pg_url, "contract@-1")
    downgrade(shop, pg_url, "expand@-1")

    assert db.rows("SELECT id, user_id, total, note, created_at FROM orders ORDER BY id") == [
        (1, 1, before[0][2], "none", before[0][4]),  # the backfilled note stays filled
        before[1],
    ]
    assert db.rows("SELECT id, name FROM users") == [(1, "Ada")]
    columns = db.columns("orders")
    assert set(columns) == {"id", "user_id", "total", "note", "created_at"} and columns["note"] is True
    assert set(db.columns("users")) == {"id", "email_address", "name"}
    assert db.rows("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'ec_%'") == [(0,)]
    mine = "conrelid IN ('orders'::regclass, 'users'::regclass) AND contype IN ('c', 'u')"
    assert db.rows(f"SELECT conname FROM pg_constraint WHERE {mine}") == []
    defaults = dict(
        db.rows(
            "SELECT column_name, column_default FROM information_schema.columns "
            "WHERE table_name = 'orders' AND column_default IS NOT NULL AND column_name <> 'id'"
        )
    )
    assert defaults == {"created_at": "now()"}  # the swapped-out column's own default is back

    # up again: the backfills that ran before run again (their rows need them again)
    assert run_cli("upgrade", "--phase", "expand", *url).exit_code == 0
    again = run_cli("upgrade", "--phase", "contract", *FORCE, *url)
    assert again.exit_code == 0, again.output
    assert db.rows("SELECT id, full_name FROM users") == [(1, "Ada")]
    assert db.rows("SELECT id, note, created_at = timestamptz '2026-01-02 03:04:05' FROM orders ORDER BY id")[
        0
    ][:2] == (1, "none")
    assert db.rows("SELECT count(*) FROM orders WHERE created_at IS NULL") == [(0,)]


def test_a_renamed_column_with_a_default_and_an_index_keeps_its_values_both_ways(
    shop: Path, pg_url: str
) -> None:
    """orders.created_at (server default now(), indexed) renamed to placed_at, without the index:
    the new release's inserts leave created_at to its default, and the sync still takes their
    value; the index goes before the column; the downgrade brings values and default back."""
    edit_models(
        shop,
        "created_at: Mapped[datetime.datetime] = mapped_column(server_default=sa.func.now(), index=True)",
        "placed_at: Mapped[datetime.datetime] = mapped_column(\n"
        '        server_default=sa.func.now(), info={"renamed_from": "created_at"}\n'
        "    )",
    )
    _, contract = generate(shop, pg_url)
    assert_in_order(
        contract,
        "op.drop_index(op.f('ix_orders_created_at')",
        "op.ec_drop_sync('orders', 'created_at', 'placed_at')",
        "op.drop_column('orders', 'created_at')",
        "server_default=sa.text('now()')",
    )
    url = ("--url", pg_url)
    assert run_cli("upgrade", "--phase", "expand", *url).exit_code == 0
    db = Database(pg_url)
    db.execute(
        "INSERT INTO orders (id, user_id, total, placed_at) VALUES (3, 1, 1.00, '2026-03-04 05:06:07')"
    )
    synced = "SELECT id, created_at = placed_at FROM orders ORDER BY id"
    assert db.rows(synced) == [(1, True), (2, True), (3, True)]  # the new release's value, not now()

    contract_run = run_cli("upgrade", "--phase", "contract", *FORCE, *url)
    assert contract_run.exit_code == 0, contract_run.output
    downgrade(shop, pg_url, "contract@-1")
    downgrade(shop, pg_url, "expand@-1")

    assert db.rows("SELECT id, to_char(created_at, 'MM-DD HH24:MI') FROM orders ORDER BY id") == [
        (1, "01-02 03:04"),
        (2, "02-03 04:05"),
        (3, "03-04 05:06"),
    ]
    default = "SELECT column_default FROM information_schema.columns WHERE table_name = 'orders' AND "
    assert db.rows(default + "column_name = 'created_at'") == [("now()",)]


def test_a_swap_made_not_null_proves_it_before_the_swap_and_runs_again(shop: Path, pg_url: str) -> None:
    """note: TEXT NULL -> VARCHAR(50) NOT NULL, converted by plain assignment ("{}": a value that
    does not fit fails, where a CAST would cut it). Order 1's note is NULL: the validation fails
    before the swap, so the contract runs again once the NULLs are filled."""
    edit_models(
        shop,
        "    note: Mapped[str | None] = mapped_column(sa.Text)  # since 1.1.0",
        '    note: Mapped[str] = mapped_column(sa.String(50), info={"convert_using": "{}"})',
    )
    expand, _ = generate(shop, pg_url)
    assert "op.ec_sync_columns('orders', 'note', 'note__ec_new')" in expand  # no CAST
    url = ("--url", pg_url)
    assert run_cli("upgrade", "--phase", "expand", *url).exit_code == 0

    failed = run_cli("upgrade", "--phase", "contract", *FORCE, *url)
    assert failed.exit_code != 0 and "ck_orders_note_not_null" in failed.output
    db = Database(pg_url)
    assert "note__ec_new" in db.columns("orders")  # stopped before the swap
    db.execute("UPDATE orders SET note = '' WHERE note IS NULL")  # the trigger fills the replacement

    again = run_cli("upgrade", "--phase", "contract", *FORCE, *url)
    assert again.exit_code == 0, again.output
    columns = db.columns("orders")
    assert columns["note"] is False and "note__ec_new" not in columns
    assert db.rows("SELECT id, note FROM orders ORDER BY id") == [(1, ""), (2, "gift")]
