"""The recipe pages stay true: docs/recipes/ shows what the generator renders, the generator's
operations are what Alembic's autogenerate finds on PostgreSQL, and its revisions are what the
phased autogenerate writes."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.operations import MigrateOperation, ops
from alembic.runtime.migration import MigrationContext
from test_docs import anchors, relative_links

from expandcontract.alembic_ext.autogen_split import models_of, phased_directives, split_operations
from expandcontract.alembic_ext.recipe_examples import (
    RECIPES,
    REGENERATE,
    Recipe,
    generated,
    main,
    render_body,
    render_revision,
)

REPO = Path(__file__).resolve().parents[2]
PAGES = REPO / "docs" / "recipes"


def by_slug(recipe: Recipe) -> str:
    return recipe.slug


def recipe(slug: str) -> Recipe:
    (found,) = (r for r in RECIPES if r.slug == slug)
    return found


# docs/recipes/ is current


def test_the_pages_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--check", str(PAGES)])
    assert code == 0, f"{capsys.readouterr().err}docs/recipes/ is out of date; regenerate with `{REGENERATE}`"


def test_every_recipe_has_a_page_and_the_index_links_it() -> None:
    index = (PAGES / "index.md").read_text(encoding="utf-8")
    for each in RECIPES:
        assert (PAGES / f"{each.slug}.md").is_file()
        assert f"]({each.slug}.md)" in index
    assert {p.stem for p in PAGES.glob("*.md")} == {r.slug for r in RECIPES} | {"index"}


@pytest.mark.parametrize("page", sorted(PAGES.glob("*.md")), ids=lambda p: p.name)
def test_relative_links_point_at_existing_files(page: Path) -> None:
    broken = []
    for target in relative_links(page.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"docs/recipes/{page.name} has broken links: {', '.join(broken)}"


def test_check_names_a_stale_page_and_writing_fixes_only_its_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = tmp_path / "recipes"
    shutil.copytree(PAGES, pages)
    page = pages / "rename-column.md"
    current = page.read_text(encoding="utf-8")
    stale = current.replace("\n    op.ec_sync_columns(", "\n    op.something_else(")  # in the example only
    assert stale != current
    page.write_text(stale, encoding="utf-8")

    assert main(["--check", str(pages)]) == 1
    assert f"stale: {page}" in capsys.readouterr().err

    assert main([str(pages)]) == 0
    assert page.read_text(encoding="utf-8") == current
    assert main(["--check", str(pages)]) == 0


def test_prose_is_left_alone(tmp_path: Path) -> None:
    pages = tmp_path / "recipes"
    shutil.copytree(PAGES, pages)
    page = pages / "add-index.md"
    text = page.read_text(encoding="utf-8") + "\nA paragraph written by hand.\n"
    page.write_text(text, encoding="utf-8")

    assert main(["--check", str(pages)]) == 0
    assert main([str(pages)]) == 0
    assert page.read_text(encoding="utf-8") == text


def test_a_page_without_its_markers_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pages = tmp_path / "recipes"
    shutil.copytree(PAGES, pages)
    page = pages / "drop-index.md"
    page.write_text(page.read_text(encoding="utf-8").replace("<!-- generated: contract -->", ""), "utf-8")

    assert main(["--check", str(pages)]) == 2
    assert "lacks <!-- generated: contract -->" in capsys.readouterr().err


# what the examples show


def test_rename_keeps_both_columns_in_step_then_drops_the_old_one() -> None:
    shown = generated(recipe("rename-column"))
    up = shown["expand"].split("def downgrade", 1)[0]
    assert "op.add_column('users', sa.Column('full_name', sa.String(length=100), nullable=True))" in up
    assert "op.ec_sync_columns('users', 'name', 'full_name')" in up
    where = "where='full_name IS NULL AND name IS NOT NULL'"
    assert f"op.ec_backfill('users', {{'full_name': 'name'}}, {where})" in up
    assert "drop_column" not in up
    contract = shown["contract"].split("def downgrade", 1)[0]
    steps = [  # NOT NULL proven while the old column is still there: a failed validation runs again
        "op.ec_add_not_null_check('users', 'full_name'",
        "op.ec_validate_constraint('users', 'ck_users_full_name_not_null')",
        "op.ec_drop_sync('users', 'name', 'full_name')",
        "op.drop_column('users', 'name')",
        "nullable=False)",
        "op.drop_constraint('ck_users_full_name_not_null', 'users', type_='check')",
    ]
    positions = [contract.index(step) for step in steps]
    assert positions == sorted(positions)


def test_type_change_on_a_rename_converts_both_ways() -> None:
    up = generated(recipe("rename-and-convert"))["expand"]
    assert "forward='CAST(round({} * 100) AS integer)'" in up
    assert "backward='CAST({} AS numeric(10, 2)) / 100'" in up
    assert "{'total_cents': 'CAST(round(total * 100) AS integer)'}" in up


def test_indexes_are_built_and_dropped_concurrently() -> None:
    added = generated(recipe("add-index"))
    assert "with op.get_context().autocommit_block():\n        op.create_index(" in added["expand"]
    assert "postgresql_concurrently=True" in added["expand"]
    assert added["contract"].startswith("# no contract revision")
    dropped = generated(recipe("drop-index"))
    assert dropped["expand"].startswith("# no expand revision")
    assert (
        "op.drop_index(op.f('ix_orders_created_at'), table_name='orders', postgresql_concurrently=True)"
        in (dropped["contract"])
    )


def test_constraints_are_added_not_valid_and_validated_after_the_rollout() -> None:
    shown = generated(recipe("add-foreign-key"))
    assert "postgresql_not_valid=True" in shown["expand"]
    assert "op.ec_validate_constraint('orders', 'fk_orders_user_id_users')" in shown["contract"]
    unique = generated(recipe("add-unique-constraint"))["expand"]
    assert "UNIQUE USING INDEX uq_users_email" in unique


def test_an_empty_phase_is_said_so() -> None:
    assert (
        render_revision([], "contract")
        == "# no contract revision: autogenerate writes none for this change\n"
    )
    assert render_body(ops.UpgradeOps(ops=[])).splitlines()[1:] == [
        "    pass",
        "    # ### end Alembic commands ###",
    ]


# the examples are what the tool writes


def _normalized(operations: list[MigrateOperation]) -> list[MigrateOperation]:
    """Autogenerate lists a table's dropped columns in set order (it changes with the hash seed);
    the examples list them by name."""
    for operation in operations:
        if isinstance(operation, ops.ModifyTableOps):
            drops = sorted(
                (o for o in operation.ops if isinstance(o, ops.DropColumnOp)), key=lambda o: o.column_name
            )
            rest = [o for o in operation.ops if not isinstance(o, ops.DropColumnOp)]
            operation.ops = [*rest, *drops] if drops else rest
    return operations


@pytest.mark.parametrize("each", RECIPES, ids=by_slug)
def test_the_operations_are_what_autogenerate_finds_on_postgresql(each: Recipe, pg_url: str) -> None:
    after = each.metadata("after")
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            each.metadata("before").create_all(connection)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=dict(each.autogenerate_options))
            found = produce_migrations(context, after).upgrade_ops
    finally:
        engine.dispose()
    assert found is not None
    if not each.detected:  # the page says autogenerate does not see it
        assert found.is_empty()
        return
    found.ops = _normalized(found.ops)
    renames = dict(each.renames) or None
    expand, contract = split_operations(found, "postgresql", renames=renames, models=models_of(after))
    shown = generated(each)
    assert render_revision(expand, "expand") == shown["expand"]
    assert render_revision(contract, "contract") == shown["contract"]


@pytest.mark.parametrize("each", RECIPES, ids=by_slug)
def test_the_revisions_are_what_the_phased_autogenerate_writes(each: Recipe, tmp_path: Path) -> None:
    after = each.metadata("after")
    script = ops.MigrationScript(
        "example",
        each.operations(after),
        ops.DowngradeOps(ops=[]),
        message=each.title,
        imports=set(),
        head="head",
    )
    directives = [script]
    write = phased_directives(
        tmp_path / "expand", tmp_path / "contract", "postgresql", renames=dict(each.renames) or None
    )
    write(SimpleNamespace(opts={"target_metadata": after}), None, directives)  # what env.py configures

    written = {str(d.head).removesuffix("@head"): d for d in directives}
    shown = generated(each)
    for phase in ("expand", "contract"):
        if phase not in written:
            assert shown[phase].startswith(f"# no {phase} revision")
            continue
        revision = written[phase]
        assert revision.upgrade_ops is not None and revision.downgrade_ops is not None
        rendered = (
            f"def upgrade() -> None:\n{render_body(revision.upgrade_ops)}\n\n\n"
            f"def downgrade() -> None:\n{render_body(revision.downgrade_ops)}\n"
        )
        assert rendered == shown[phase]


def _alter(column: str, old: sa.types.TypeEngine[object], new: sa.types.TypeEngine[object]) -> ops.UpgradeOps:
    return ops.UpgradeOps(
        [ops.ModifyTableOps("t", [ops.AlterColumnOp("t", column, modify_type=new, existing_type=old)])]
    )


def test_a_type_change_that_may_not_fit_needs_a_conversion_and_a_widening_is_assigned() -> None:
    """A CAST would cut a text to varchar(10) without a word: the change is left for review until
    the model says how to convert; int -> bigint is swapped with plain assignments."""
    metadata = sa.MetaData()
    sa.Table(
        "t",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(10)),
        sa.Column("qty", sa.BigInteger),
    )
    models = models_of(metadata)

    expand, _ = split_operations(_alter("code", sa.Text(), sa.String(10)), "postgresql", models=models)
    rendered = render_python_code(ops.UpgradeOps(expand))
    assert (
        "# expandcontract: review: an in-place type change breaks the running release; values of " in rendered
    )
    assert "ec_sync_columns" not in rendered

    expand, _ = split_operations(_alter("qty", sa.Integer(), sa.BigInteger()), "postgresql", models=models)
    rendered = render_python_code(ops.UpgradeOps(expand))
    assert "op.ec_sync_columns('t', 'qty', 'qty__ec_new')" in rendered  # no conversion: assignments


def test_a_re_pointed_unnamed_foreign_key_takes_a_name_the_old_one_does_not_hold() -> None:
    old_key = ops.CreateForeignKeyOp("orders_user_id_fkey", "orders", "users", ["user_id"], ["id"])
    drop = ops.DropConstraintOp("orders_user_id_fkey", "orders", type_="foreignkey", _reverse=old_key)
    new_key = ops.CreateForeignKeyOp(None, "orders", "accounts", ["user_id"], ["id"])
    expand, contract = split_operations(
        ops.UpgradeOps([ops.ModifyTableOps("orders", [drop, new_key])]), "postgresql"
    )

    assert "op.create_foreign_key('orders_user_id_accounts_fkey'" in render_python_code(
        ops.UpgradeOps(expand)
    )
    assert "op.ec_validate_constraint('orders', 'orders_user_id_accounts_fkey')" in render_python_code(
        ops.UpgradeOps(contract)
    )
