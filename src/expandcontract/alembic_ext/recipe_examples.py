"""The generated examples of the recipe pages (docs/recipes/<recipe>.md).

For each recipe: a model change, the operations Alembic's autogenerate finds for it (built here as
autogenerate builds them: the new side from the models, the old side as PostgreSQL reflects it),
those operations split by `split_operations`, and both revisions rendered by Alembic's own renderer
for PostgreSQL. The pages show what the phased autogenerate writes, not what we think it writes;
tests/alembic_ext/test_recipe_examples.py compares these operations with a real autogenerate run.

Only the regions between `<!-- generated: NAME -->` and `<!-- end generated -->` are rewritten
(NAME is `model`, `expand` or `contract` on a recipe page, `recipes` on index.md); the prose
around them is written by hand. Regenerate after changing a recipe:

    python -m expandcontract.alembic_ext.recipe_examples docs/recipes

`--check` writes nothing and exits 1 naming the pages that differ (for CI).
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.operations import MigrateOperation, ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy.sql.elements import conv

# importing autogen_render registers the renderers of expandcontract's operations
from expandcontract.alembic_ext.autogen_render import downgrade_of, runnable
from expandcontract.alembic_ext.autogen_split import models_of, split_operations

DIALECT = "postgresql"
REGENERATE = "python -m expandcontract.alembic_ext.recipe_examples docs/recipes"

# what every model snippet may use, as a models module would import it
MODELS_PRELUDE = """\
import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass
"""

Operations = list[MigrateOperation]
Build = Callable[[sa.MetaData], Operations]


@dataclass(frozen=True)
class Recipe:
    """One page: a model change and what autogenerate finds for it.

    `build` gets the new models' MetaData (the side autogenerate takes from the models) and returns
    the operations autogenerate finds, the old side written as PostgreSQL reflects it."""

    slug: str  # docs/recipes/<slug>.md
    title: str
    expand: str  # one line each for the index table
    contract: str
    before: str  # the models before and after the change (Python source, run against Base)
    after: str
    build: Build
    unchanged: str = ""  # models both releases map, shown once
    renames: Mapping[tuple[str, str], str] = field(default_factory=dict)  # `--rename` hints
    # for the comparison with a real autogenerate run: its options, and whether it sees the change
    autogenerate_options: Mapping[str, Any] = field(default_factory=dict)
    detected: bool = True

    def metadata(self, which: str) -> sa.MetaData:
        """The MetaData of the models `before` or `after` the change."""
        namespace: dict[str, Any] = {}
        source = self.before if which == "before" else self.after
        code = f"{MODELS_PRELUDE}\n{self.unchanged}\n{source}"
        # dont_inherit: this module's `from __future__ import annotations` would leave the models'
        # annotations as strings that SQLAlchemy cannot resolve outside a real module
        exec(compile(code, f"<{self.slug}:{which}>", "exec", dont_inherit=True), namespace)
        metadata: sa.MetaData = namespace["Base"].metadata
        return metadata

    def operations(self, after: sa.MetaData | None = None) -> ops.UpgradeOps:
        """A fresh copy of what autogenerate finds (the split changes the operations it gets)."""
        return ops.UpgradeOps(ops=self.build(after if after is not None else self.metadata("after")))

    def split(self) -> tuple[Operations, Operations]:
        """(expand operations, contract operations), as the phased autogenerate splits them: with
        the new models' tables, which it takes from `target_metadata` (defaults, indexes)."""
        after = self.metadata("after")
        return split_operations(
            self.operations(after), DIALECT, renames=dict(self.renames) or None, models=models_of(after)
        )


# --- the old side, as PostgreSQL reflects it -------------------------------------------------------


def _table(name: str, *items: sa.schema.SchemaItem, metadata: sa.MetaData | None = None) -> sa.Table:
    """A table as reflected: database types, and the names autogenerate marks `op.f()` (`conv`)."""
    return sa.Table(name, metadata if metadata is not None else sa.MetaData(), *items)


def _column(name: str, type_: sa.types.TypeEngine[Any], **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, type_, autoincrement=kw.pop("autoincrement", False), **kw)


def _id() -> sa.Column[Any]:
    return _column("id", sa.INTEGER(), autoincrement=True, nullable=False)


def _dropped(table: str, *columns: sa.Column[Any]) -> list[ops.DropColumnOp]:
    """Dropped columns, attached to a reflected table as autogenerate's are. (Autogenerate lists
    several dropped columns of a table in set order, which changes from run to run; the examples
    list them by name.)"""
    _table(table, _id(), *columns)
    return [ops.DropColumnOp.from_column_and_tablename(None, table, column) for column in columns]


def _added(metadata: sa.MetaData, table: str, *columns: str) -> list[ops.AddColumnOp]:
    return [
        ops.AddColumnOp.from_column_and_tablename(None, table, metadata.tables[table].c[name])
        for name in columns
    ]


def _modify(table: str, *operations: MigrateOperation) -> Operations:
    return [ops.ModifyTableOps(table, list(operations))]


# --- the recipes -----------------------------------------------------------------------------------

USERS = """\
class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
"""

COUPONS = """\
class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
"""

ORDERS = """\
class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
"""

NO_MODEL = "# (no such model yet)\n"
GONE = "# (the model is gone)\n"


def _add_table(after: sa.MetaData) -> Operations:
    coupons = after.tables["coupons"]
    indexes = sorted(coupons.indexes, key=lambda index: str(index.name))
    return [
        ops.CreateTableOp.from_table(coupons),
        *_modify("coupons", *(ops.CreateIndexOp.from_index(index) for index in indexes)),
    ]


def _drop_table(after: sa.MetaData) -> Operations:
    coupons = _table(
        "coupons",
        _id(),
        _column("code", sa.VARCHAR(length=40), nullable=False),
        _column("user_id", sa.INTEGER(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=conv("coupons_pkey")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=conv("coupons_user_id_fkey")),
    )
    index = sa.Index(conv("ix_coupons_user_id"), coupons.c.user_id, unique=False)
    return [*_modify("coupons", ops.DropIndexOp.from_index(index)), ops.DropTableOp.from_table(coupons)]


def _add_column(after: sa.MetaData) -> Operations:
    return _modify("users", *_added(after, "users", "nickname", "status"))


def _add_not_null_column(after: sa.MetaData) -> Operations:
    return _modify("orders", *_added(after, "orders", "priority"))


def _drop_column(after: sa.MetaData) -> Operations:
    return _modify(
        "orders",
        *_dropped(
            "orders",
            _column("legacy_code", sa.VARCHAR(length=20), nullable=False),
            _column("note", sa.TEXT(), nullable=True),
        ),
    )


def _rename_column(after: sa.MetaData) -> Operations:
    return _modify(
        "users",
        *_added(after, "users", "full_name"),
        *_dropped("users", _column("name", sa.VARCHAR(length=100), nullable=False)),
    )


def _rename_and_convert(after: sa.MetaData) -> Operations:
    return _modify(
        "orders",
        *_added(after, "orders", "total_cents"),
        *_dropped("orders", _column("total", sa.NUMERIC(precision=10, scale=2), nullable=False)),
    )


def _change_type(after: sa.MetaData) -> Operations:
    return _modify(
        "orders",
        ops.AlterColumnOp(
            "orders",
            "quantity",
            existing_type=sa.INTEGER(),
            existing_nullable=False,
            modify_type=after.tables["orders"].c.quantity.type,
        ),
    )


def _make_not_null(after: sa.MetaData) -> Operations:
    return _modify(
        "orders",
        ops.AlterColumnOp(
            "orders",
            "status",
            existing_type=sa.VARCHAR(length=20),
            existing_nullable=True,
            modify_nullable=False,
        ),
    )


def _add_index(after: sa.MetaData) -> Operations:
    (index,) = after.tables["orders"].indexes
    return _modify("orders", ops.CreateIndexOp.from_index(index))


def _drop_index(after: sa.MetaData) -> Operations:
    orders = _table(
        "orders",
        _id(),
        _column("created_at", sa.TIMESTAMP(), server_default=sa.text("now()"), nullable=False),
    )
    index = sa.Index(conv("ix_orders_created_at"), orders.c.created_at, unique=False)
    return _modify("orders", ops.DropIndexOp.from_index(index))


def _constraint(after: sa.MetaData, table: str, kind: type[sa.Constraint]) -> Any:
    (found,) = (c for c in after.tables[table].constraints if isinstance(c, kind))
    return found


def _add_unique(after: sa.MetaData) -> Operations:
    unique = _constraint(after, "users", sa.UniqueConstraint)
    return _modify("users", ops.CreateUniqueConstraintOp.from_constraint(unique))


def _add_foreign_key(after: sa.MetaData) -> Operations:
    foreign_key = _constraint(after, "orders", sa.ForeignKeyConstraint)
    return _modify("orders", ops.CreateForeignKeyOp.from_constraint(foreign_key))


def _add_check(after: sa.MetaData) -> Operations:
    check = _constraint(after, "orders", sa.CheckConstraint)
    return _modify("orders", ops.CreateCheckConstraintOp.from_constraint(check))


def _drop_default_and_constraint(after: sa.MetaData) -> Operations:
    reflected = sa.MetaData()
    _table("users", _id(), metadata=reflected)  # what the foreign key refers to
    orders = _table(
        "orders",
        _id(),
        _column("user_id", sa.INTEGER(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=conv("fk_orders_user_id_users")),
        metadata=reflected,
    )
    (foreign_key,) = orders.foreign_key_constraints
    return _modify(
        "orders",
        ops.AlterColumnOp(
            "orders",
            "status",
            existing_type=sa.VARCHAR(length=20),
            existing_server_default=sa.DefaultClause(sa.text("'new'::character varying")),
            existing_nullable=False,
            modify_server_default=None,
        ),
        ops.DropConstraintOp.from_constraint(foreign_key),
    )


def _no_recipe(after: sa.MetaData) -> Operations:
    unique = _constraint(after, "users", sa.UniqueConstraint)
    return _modify(
        "users",
        *_added(after, "users", "full_name"),
        ops.CreateUniqueConstraintOp.from_constraint(unique),
        *_dropped("users", _column("name", sa.VARCHAR(length=100), nullable=False)),
    )


ORDERS_OF_USERS = """\
class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
"""


def _with(model: str, *lines: str) -> str:
    """`model` with more lines in its class body."""
    return model + "".join(f"    {line}\n" if line else "\n" for line in lines)


def _replace(model: str, old: str, new: str) -> str:
    if old not in model:
        raise ValueError(f"{old!r} is not in the model")
    return model.replace(old, new)


CREATED_AT = "created_at: Mapped[datetime.datetime] = mapped_column(server_default=sa.func.now()"
USER_ID_FK = 'user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", name="fk_orders_user_id_users"))'
TOTAL_CENTS = """\
total_cents: Mapped[int] = mapped_column(
        info={
            "renamed_from": "total",
            "convert_using": "CAST(round({} * 100) AS integer)",
            "convert_back": "CAST({} AS numeric(10, 2)) / 100",
        }
    )"""

RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "add-table",
        "Add a table",
        "`op.create_table`; its indexes `CONCURRENTLY`",
        "nothing",
        NO_MODEL,
        COUPONS,
        _add_table,
        unchanged=USERS,
    ),
    Recipe(
        "add-column",
        "Add a nullable column, or one with a server default",
        "`op.add_column`",
        "nothing",
        USERS,
        _with(
            USERS,
            "nickname: Mapped[str | None] = mapped_column(sa.Text)",
            'status: Mapped[str] = mapped_column(sa.String(20), server_default="active")',
        ),
        _add_column,
    ),
    Recipe(
        "add-not-null-column",
        "Add a NOT NULL column without a default",
        "the column added nullable, under a review note (backfill it)",
        "NOT VALID check, validation, `SET NOT NULL`, check dropped",
        ORDERS,
        _with(ORDERS, "priority: Mapped[int] = mapped_column()"),
        _add_not_null_column,
    ),
    Recipe(
        "drop-column",
        "Drop a column",
        "a NOT NULL column without a default is made nullable",
        "`op.drop_column`",
        _with(
            ORDERS,
            "legacy_code: Mapped[str] = mapped_column(sa.String(20))",
            "note: Mapped[str | None] = mapped_column(sa.Text)",
        ),
        ORDERS,
        _drop_column,
    ),
    Recipe(
        "drop-table",
        "Drop a table",
        "nothing",
        "its indexes `DROP INDEX CONCURRENTLY`, then `op.drop_table`",
        COUPONS,
        GONE,
        _drop_table,
        unchanged=USERS,
    ),
    Recipe(
        "rename-column",
        "Rename a column",
        "new column, `op.ec_sync_columns`, `op.ec_backfill`",
        "`op.ec_drop_sync`, old column dropped, NOT NULL steps",
        USERS,
        _replace(
            USERS,
            "name: Mapped[str] = mapped_column(sa.String(100))",
            'full_name: Mapped[str] = mapped_column(sa.String(100), info={"renamed_from": "name"})',
        ),
        _rename_column,
    ),
    Recipe(
        "rename-and-convert",
        "Rename a column and change its type",
        "new column, `op.ec_sync_columns` with `forward`/`backward`, `op.ec_backfill` converting",
        "`op.ec_drop_sync`, old column dropped, NOT NULL steps",
        ORDERS,
        _replace(ORDERS, "total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))", TOTAL_CENTS),
        _rename_and_convert,
    ),
    Recipe(
        "change-column-type",
        "Change a column's type in place",
        "a replacement column of the new type, `op.ec_sync_columns`, `op.ec_backfill`",
        "`op.ec_drop_sync`, `op.ec_swap_columns`, NOT NULL steps",
        _with(ORDERS, "quantity: Mapped[int] = mapped_column()"),
        _with(ORDERS, "quantity: Mapped[int] = mapped_column(sa.BigInteger)"),
        _change_type,
    ),
    Recipe(
        "make-not-null",
        "Make a column NOT NULL, without a default",
        "nothing",
        "NOT VALID check, validation, `SET NOT NULL`, check dropped",
        _with(ORDERS, "status: Mapped[str | None] = mapped_column(sa.String(20))"),
        _with(ORDERS, "status: Mapped[str] = mapped_column(sa.String(20))"),
        _make_not_null,
    ),
    Recipe(
        "make-not-null-with-default",
        "Make a column NOT NULL, with a default for the NULLs",
        "`op.ec_fill_nulls` (a trigger), NOT VALID check, `op.ec_backfill` with the default",
        "validation, `SET NOT NULL`, check dropped, `op.ec_drop_fill`",
        _with(ORDERS, "status: Mapped[str | None] = mapped_column(sa.String(20))"),
        _with(ORDERS, 'status: Mapped[str] = mapped_column(sa.String(20), default="new")'),
        _make_not_null,
    ),
    Recipe(
        "add-index",
        "Add an index",
        "`CREATE INDEX CONCURRENTLY` in `autocommit_block()`",
        "nothing",
        _with(ORDERS, f"{CREATED_AT})"),
        _with(ORDERS, f"{CREATED_AT}, index=True)"),
        _add_index,
    ),
    Recipe(
        "add-unique-constraint",
        "Add a unique constraint",
        "unique index `CONCURRENTLY`, then `ADD CONSTRAINT ... UNIQUE USING INDEX`",
        "nothing",
        _with(USERS, "email: Mapped[str] = mapped_column(sa.String(255))"),
        _with(
            USERS,
            "email: Mapped[str] = mapped_column(sa.String(255))",
            "",
            '__table_args__ = (sa.UniqueConstraint("email", name="uq_users_email"),)',
        ),
        _add_unique,
    ),
    Recipe(
        "add-foreign-key",
        "Add a foreign key",
        "`op.create_foreign_key(..., postgresql_not_valid=True)`",
        "`op.ec_validate_constraint`",
        _with(ORDERS_OF_USERS, "user_id: Mapped[int] = mapped_column()"),
        _with(ORDERS_OF_USERS, USER_ID_FK),
        _add_foreign_key,
        unchanged=USERS,
    ),
    Recipe(
        "add-check-constraint",
        "Add a check constraint",
        "`op.create_check_constraint(..., postgresql_not_valid=True)`",
        "`op.ec_validate_constraint`",
        ORDERS,
        _with(
            ORDERS,
            "",
            '__table_args__ = (sa.CheckConstraint("total >= 0", name="ck_orders_total_positive"),)',
        ),
        _add_check,
        detected=False,
    ),
    Recipe(
        "drop-index",
        "Drop an index",
        "nothing",
        "`DROP INDEX CONCURRENTLY` in `autocommit_block()`",
        _with(ORDERS, f"{CREATED_AT}, index=True)"),
        _with(ORDERS, f"{CREATED_AT})"),
        _drop_index,
    ),
    Recipe(
        "drop-default-or-constraint",
        "Drop a server default or a constraint",
        "nothing",
        "`op.alter_column(..., server_default=None)`, `op.drop_constraint`",
        _with(
            ORDERS_OF_USERS,
            USER_ID_FK,
            'status: Mapped[str] = mapped_column(sa.String(20), server_default="new")',
        ),
        _with(
            ORDERS_OF_USERS,
            "user_id: Mapped[int] = mapped_column()",
            "status: Mapped[str] = mapped_column(sa.String(20))",
        ),
        _drop_default_and_constraint,
        unchanged=USERS,
        autogenerate_options={"compare_server_default": True},
    ),
    Recipe(
        "no-recipe",
        "What has no recipe",
        "as Alembic wrote it, under `# expandcontract: review`",
        "what the parts that have a recipe put there",
        _with(USERS, "code: Mapped[str] = mapped_column(sa.String(20))"),
        _with(
            _replace(USERS, "name:", "full_name:"),
            "code: Mapped[str] = mapped_column(sa.String(20))",
            "",
            '__table_args__ = (sa.UniqueConstraint("code"),)',
        ),
        _no_recipe,
    ),
)


# --- rendering -------------------------------------------------------------------------------------


def _migration_context() -> MigrationContext:
    return MigrationContext.configure(dialect_name=DIALECT)


def render_body(container: ops.UpgradeOps | ops.DowngradeOps) -> str:
    """A function body as Alembic writes it into a revision (indented, `pass` when empty)."""
    with warnings.catch_warnings():
        # Alembic warns, and writes the same warning as a comment, about unnamed constraints
        warnings.simplefilter("ignore", UserWarning)
        code = render_python_code(container, migration_context=_migration_context())
    return f"    {code}"


def render_revision(operations: Sequence[MigrateOperation], phase: str) -> str:
    """upgrade() and downgrade() of one generated revision, as its file has them (the header with
    the revision ids and the imports left out); a comment when the phase gets no revision."""
    if not operations:
        return f"# no {phase} revision: autogenerate writes none for this change\n"
    upgrade = render_body(ops.UpgradeOps(ops=list(operations)))
    # the downgrade the phased autogenerate writes (autogen_split._script)
    downgrade = render_body(ops.DowngradeOps(ops=runnable(downgrade_of(operations))))
    return f"def upgrade() -> None:\n{upgrade}\n\n\ndef downgrade() -> None:\n{downgrade}\n"


def render_models(recipe: Recipe) -> str:
    """The model change as the page shows it: what both releases map, then before and after."""
    parts = []
    if recipe.unchanged:
        parts.append(f"# unchanged\n{recipe.unchanged}")
    parts += [f"# before\n{recipe.before}", f"# after\n{recipe.after}"]
    return "\n\n".join(part.rstrip("\n") + "\n" for part in parts)


def generated(recipe: Recipe) -> dict[str, str]:
    """Region name -> the code between the markers of the recipe's page."""
    expand, contract = recipe.split()
    return {
        "model": render_models(recipe),
        "expand": render_revision(expand, "expand"),
        "contract": render_revision(contract, "contract"),
    }


def recipes_table() -> str:
    """The index page's table: each recipe, what its expand and contract revisions do."""
    lines = [
        "| recipe | expand revision (before the deploy) | contract revision (after the rollout) |",
        "|---|---|---|",
    ]
    lines += [f"| [{r.title}]({r.slug}.md) | {r.expand} | {r.contract} |" for r in RECIPES]
    return "\n".join(lines) + "\n"


# --- the pages -------------------------------------------------------------------------------------

INDEX = "index.md"
REGION = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end generated -->)", re.DOTALL)


class PageError(Exception):
    """A page that cannot be regenerated: missing, or its markers do not match what it shows."""


def _fenced(code: str, language: str) -> str:
    return f"```{language}\n{code}```\n" if language else code


def regenerate(text: str, regions: Mapping[str, str], page: str) -> str:
    """The page with each generated region replaced; every region must be marked exactly once."""
    found = [m.group(2) for m in REGION.finditer(text)]
    unknown = sorted(set(found) - set(regions))
    missing = sorted(set(regions) - set(found))
    twice = sorted({name for name in found if found.count(name) > 1})
    if unknown or missing or twice:
        problems = [
            *(f"no region `{name}` is generated" for name in unknown),
            *(f"lacks <!-- generated: {name} -->" for name in missing),
            *(f"marks `{name}` more than once" for name in twice),
        ]
        raise PageError(f"{page}: {'; '.join(problems)}")

    def replace(match: re.Match[str]) -> str:
        name = match.group(2)
        language = "" if name == "recipes" else "python"
        return f"{match.group(1)}{_fenced(regions[name], language)}{match.group(4)}"

    return REGION.sub(replace, text)


def expected_pages(folder: Path) -> dict[Path, str]:
    """Every page of `folder` as the generator would write it."""
    pages: dict[Path, str] = {}
    wanted = [(folder / INDEX, {"recipes": recipes_table()})]
    wanted += [(folder / f"{recipe.slug}.md", generated(recipe)) for recipe in RECIPES]
    for path, regions in wanted:
        if not path.is_file():
            raise PageError(f"{path}: missing; write its prose with the generated markers first")
        pages[path] = regenerate(path.read_text(encoding="utf-8"), regions, str(path))
    return pages


def stale_pages(folder: Path) -> list[Path]:
    """The pages whose generated regions differ from what the generator writes."""
    return [path for path, text in expected_pages(folder).items() if path.read_text(encoding="utf-8") != text]


def write_pages(folder: Path) -> list[Path]:
    """Rewrite the generated regions; returns the pages that changed."""
    changed = []
    for path, text in expected_pages(folder).items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """0 when the pages are (now) current; 1 with --check when some are stale; 2 on a page error."""
    parser = argparse.ArgumentParser(
        prog="python -m expandcontract.alembic_ext.recipe_examples",
        description="Rewrite the generated examples of the recipe pages.",
    )
    parser.add_argument("folder", nargs="?", default="docs/recipes", type=Path)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a page is stale")
    arguments = parser.parse_args(argv)
    try:
        if arguments.check:
            stale = stale_pages(arguments.folder)
            for path in stale:
                print(f"stale: {path}", file=sys.stderr)
            if stale:
                print(f"regenerate with `{REGENERATE}`", file=sys.stderr)
            return 1 if stale else 0
        for path in write_pages(arguments.folder):
            print(f"wrote {path}")
    except PageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
