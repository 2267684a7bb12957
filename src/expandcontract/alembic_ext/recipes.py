"""The zero-downtime recipes: each model change autogenerate found, as the operations of an expand
revision (before the deploy) and of a contract revision (after the rollout) that keep both releases
working (docs/autogenerate.md has the table, docs/recipes/ a page per recipe):

- new tables, nullable columns, columns with a default, relaxed NOT NULLs, new defaults: expand;
- new indexes: expand, `CONCURRENTLY` inside `autocommit_block()`; dropped indexes: contract, alike;
- new foreign keys and checks (PostgreSQL): expand `NOT VALID`, validated in contract; new unique
  constraints (PostgreSQL): expand, a unique index built `CONCURRENTLY`, then `USING INDEX`;
- dropped tables, defaults and constraints: contract; dropped columns: contract, relaxed to
  nullable in expand when NOT NULL without a default (the new release's inserts leave them out);
  foreign keys on dropped columns or into dropped tables: expand (the new release no longer keeps
  them satisfied);
- NOT NULL with a default in the models (PostgreSQL): expand fills NULLs the running release
  writes (`op.ec_fill_nulls`), adds a NOT VALID check and backfills; contract validates, sets NOT
  NULL (no scan on 12+) and drops the check and the trigger. Without a default every step waits
  for the contract, since the running release may still write NULL;
- renames (`info={"renamed_from": "old"}` or a `--rename` hint): expand adds the new column, keeps
  both in step (`op.ec_sync_columns`) and backfills it (`op.ec_backfill`); contract drops the
  trigger and the old column;
- a type change under the same name (PostgreSQL): expand adds a replacement column of the new
  type, kept in step and backfilled, and its indexes; contract swaps it in (`op.ec_swap_columns`);
- anything else goes to expand as autogenerate wrote it, under an `# expandcontract: review`
  comment, where lint judges it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic.operations import MigrateOperation, ops

from expandcontract.alembic_ext.autogen_render import REVIEW, AutocommitBlockOp, NoteOp, with_undo
from expandcontract.alembic_ext.model_facts import (
    Models,
    Renames,
    default_sql,
    dialect_named,
    foreign_key_of,
    one_change_each,
    renamed_columns,
    swap_blockers,
)
from expandcontract.alembic_ext.operations import (
    AddNotNullCheckOp,
    BackfillOp,
    DropFillOp,
    DropSyncOp,
    FillNullsOp,
    SwapColumnsOp,
    SyncColumnsOp,
    ValidateConstraintOp,
    generated_name,
)
from expandcontract.gate.manifest import type_name
from expandcontract.sql import TypeChange, type_change

# what a column's new type means for the statements the applications prepared that read it
PREPARED = (
    "applications on server-side prepared statements (psycopg 3 from a statement's fifth run, "
    "asyncpg) get one 'cached plan must not change result type' error per connection and prepared "
    "statement that reads the column; a rename (info renamed_from) changes no type under them"
)


def _set_not_null(
    table: str, column: str, schema: str | None, type_: sa.types.TypeEngine[Any] | None
) -> ops.AlterColumnOp:
    return ops.AlterColumnOp(
        table, column, schema=schema, modify_nullable=False, existing_nullable=True, existing_type=type_
    )


class Recipes:
    """Sorts one table's (or the top level's) operations into expand and contract."""

    def __init__(
        self,
        dialect: str,
        models: Models | None = None,
        dropped_tables: frozenset[tuple[str | None, str]] = frozenset(),
        dropped_columns: frozenset[str] = frozenset(),
        dropped_constraints: frozenset[str] = frozenset(),
    ) -> None:
        self.dialect = dialect
        self.expand: list[MigrateOperation] = []
        self.contract: list[MigrateOperation] = []
        self.quote: Callable[[str], str] = dialect_named(dialect).identifier_preparer.quote
        self.models = models or {}
        self.dropped_tables, self.dropped_columns = dropped_tables, dropped_columns
        self.dropped_constraints = dropped_constraints
        self.swapped: set[str] = set()  # columns the swap recipe rebuilds whole (NOT NULL, default)

    @property
    def postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def model_column(self, table: str, column: str, schema: str | None) -> sa.Column[Any] | None:
        model = self.models.get(f"{schema}.{table}" if schema else table)
        return model.columns.get(column) if model is not None else None

    def _qualified(self, name: str, schema: str | None) -> str:
        return f"{self.quote(schema)}.{self.quote(name)}" if schema else self.quote(name)

    def _backfill(
        self, table: str, schema: str | None, set_: dict[str, str], where: str, must_finish: bool = False
    ) -> BackfillOp:
        """A generated backfill; `must_finish` for one that later steps of its revision rely on."""
        options: dict[str, Any] = {"schema": schema} if schema else {}
        if must_finish:
            options["must_finish"] = True
        return BackfillOp(table, set_, where=where, **options)

    def concurrently(self, operation: ops.CreateIndexOp | ops.DropIndexOp) -> AutocommitBlockOp:
        if self.postgresql:
            operation.kw["postgresql_concurrently"] = True
        return AutocommitBlockOp([operation])

    def review(self, operation: MigrateOperation, why: str) -> None:
        self.expand += [NoteOp(f"{REVIEW}: {why}"), operation]

    # --- the dispatch -----------------------------------------------------------------------------

    def add(self, operation: MigrateOperation) -> None:
        match operation:
            case ops.CreateTableOp() | ops.CreateTableCommentOp():
                self.expand.append(operation)
            case ops.DropConstraintOp() if self._frees_a_drop(operation):
                self.expand += [
                    NoteOp(
                        "# expandcontract: ignore[EC103] -- the new release no longer writes what this "
                        "foreign key guards (a dropped column or table): its writes must not trip it"
                    ),
                    with_undo(operation, _key_back_not_valid(operation)),
                ]
            case ops.DropTableOp() | ops.DropConstraintOp():
                self.contract.append(operation)
            case ops.CreateIndexOp():
                self.expand.append(self.concurrently(operation))
            case ops.DropIndexOp():
                self.contract.append(self.concurrently(operation))
            case ops.AddColumnOp():
                self._add_column(operation)
            case ops.DropColumnOp():
                self._drop_column(operation)
            case ops.AlterColumnOp():
                for part in one_change_each(operation):
                    self._alter_column(part)
            case ops.CreateForeignKeyOp() | ops.CreateCheckConstraintOp() if self.postgresql:
                self._not_valid(operation)
            case ops.CreateUniqueConstraintOp() if self.postgresql and operation.constraint_name:
                self._unique(operation)
            case _:
                self.review(
                    operation,
                    "no zero-downtime recipe for this change: check what it does to the running release",
                )

    # --- NOT NULL ---------------------------------------------------------------------------------

    def not_null(
        self,
        table: str,
        column: str,
        schema: str | None,
        alter: ops.AlterColumnOp,
        fill: str | None = None,
    ) -> None:
        """NOT NULL without a long lock (PostgreSQL): a NOT VALID check, its validation in a
        transaction of its own, SET NOT NULL (which trusts the check: no scan on 12+), the check
        dropped. With a default to fill NULLs with, the check goes in expand behind a trigger that
        fills the NULLs the running release still writes, and the backfill runs before the deploy;
        without one, every step waits for the contract (a check in expand would refuse them)."""
        if not self.postgresql:
            self.contract.append(alter)
            return
        check = AddNotNullCheckOp(table, column, schema=schema)
        drop_check = ops.DropConstraintOp(check.name, table, type_="check", schema=schema)
        finish: list[MigrateOperation] = [
            ValidateConstraintOp(table, check.name, schema=schema),
            alter,
            with_undo(drop_check, [AddNotNullCheckOp(table, column, name=check.name, schema=schema)]),
        ]
        if fill is None:
            self.contract += [
                # the check is the recipe's first step, after the rollout on purpose: lint would call
                # it additive (EC002), so the note suppresses that, with the reason
                NoteOp(
                    f"# expandcontract: ignore[EC002] -- {column} NOT NULL without a long lock: a NOT "
                    "VALID check, its validation, then SET NOT NULL skips the scan"
                ),
                check,
                *finish,
            ]
            return
        self.expand += [
            NoteOp(
                f"{table}.{column} becomes NOT NULL: NULLs written from now on are filled with "
                f"{fill}, new rows are checked, existing ones backfilled"
            ),
            FillNullsOp(table, column, fill, schema=schema),
            check,
            self._backfill(table, schema, {column: fill}, f"{self.quote(column)} IS NULL"),
        ]
        drop_fill = DropFillOp(table, column, schema=schema)
        self.contract += [*finish, with_undo(drop_fill, [FillNullsOp(table, column, fill, schema=schema)])]

    def proven_not_null(
        self, table: str, checked: str, final: str, schema: str | None, type_: Any, fill: str | None
    ) -> tuple[list[MigrateOperation], list[MigrateOperation]]:
        """NOT NULL for a column that takes an old one's place (a rename, a swap), as (steps before
        the old column goes, steps after): the check on `checked` (the column as it is then),
        the NULLs filled with `fill` when the models give one, and the validation come first, so a
        validation that fails stops the contract while it can still run again; SET NOT NULL on
        `final` (the column's name after the swap) and the check's drop come after."""
        set_not_null = _set_not_null(table, final, schema, type_)
        if not self.postgresql:
            return [], [set_not_null]
        name = generated_name("ck", table, final, "not_null")
        check = AddNotNullCheckOp(table, checked, name=name, schema=schema)
        before: list[MigrateOperation] = [
            NoteOp(
                f"# expandcontract: ignore[EC002] -- {final} NOT NULL without a long lock: a NOT VALID "
                "check, its validation, then SET NOT NULL skips the scan"
            ),
            check,
        ]
        if fill is not None:
            before.append(self._backfill(table, schema, {checked: fill}, f"{self.quote(checked)} IS NULL"))
        before.append(ValidateConstraintOp(table, name, schema=schema))
        drop_check = ops.DropConstraintOp(name, table, type_="check", schema=schema)
        restore = AddNotNullCheckOp(table, final, name=name, schema=schema)
        return before, [set_not_null, with_undo(drop_check, [restore])]

    def _tighten(self, operation: ops.AlterColumnOp) -> None:
        """NOT NULL, the models' server default set before the deploy (the fill uses it)."""
        table, column, schema = operation.table_name, operation.column_name, operation.schema
        model = self.model_column(table, column, schema)
        set_already = any(
            isinstance(o, ops.AlterColumnOp)
            and o.column_name == column
            and o.modify_server_default is not False
            for o in self.expand
        )
        if (
            model is not None
            and not set_already
            and not operation.existing_server_default
            and model.server_default is not None
        ):
            # autogenerate compares server defaults only when asked: the models' one, set to be sure
            self.expand.append(
                ops.AlterColumnOp(
                    table,
                    column,
                    schema=schema,
                    modify_server_default=model.server_default,
                    existing_server_default=None,  # so that the downgrade drops it again
                    existing_type=operation.existing_type,
                    existing_nullable=True,
                )
            )
        fill = default_sql(model, dialect_named(self.dialect)) if model is not None else None
        self.not_null(table, column, schema, operation, fill)

    # --- columns ----------------------------------------------------------------------------------

    def _add_column(self, operation: ops.AddColumnOp) -> None:
        column = operation.column
        if column.nullable or column.server_default is not None or column.computed is not None:
            self.expand.append(operation)
            return
        operation.column = column = column._copy()  # the models' own column stays as they say
        column.nullable = True  # added nullable: the running release does not write it yet
        table, schema = operation.table_name, operation.schema
        fill = default_sql(column, dialect_named(self.dialect))
        if fill is None or not self.postgresql:
            self.expand.append(
                NoteOp(
                    f"{REVIEW}: {table}.{column.name} is NOT NULL without a default in the models; it "
                    "is added nullable here. The running release inserts NULL until the rollout ends: "
                    "give it a default in the models (the recipe then fills it), or fill the NULLs "
                    "after the rollout, before the contract's validation"
                )
            )
        self.expand.append(operation)
        self.not_null(
            table, column.name, schema, _set_not_null(table, column.name, schema, column.type), fill
        )

    def _drop_column(self, operation: ops.DropColumnOp) -> None:
        column = operation.to_column()
        table, schema = operation.table_name, operation.schema
        if not column.nullable and column.server_default is None:
            # the new release no longer writes it: its inserts must work while the column exists
            relax = ops.AlterColumnOp(
                table, column.name, schema=schema, modify_nullable=True, existing_type=column.type
            )
            kept = NoteOp(
                f"{REVIEW}: {column.name} stays nullable: the new release's rows have none; fill "
                "them before setting it NOT NULL again"
            )
            self.expand.append(with_undo(relax, [kept]))
        self.contract.append(operation)

    def _alter_column(self, operation: ops.AlterColumnOp) -> None:
        if operation.column_name in self.swapped:
            return  # the swap rebuilt the column whole: its NOT NULL and its default come with it
        if operation.modify_type is not None:
            problem = self._retype(operation)
            if problem:
                self.review(operation, f"an in-place type change breaks the running release; {problem}")
        elif operation.modify_name is not None:
            self.review(
                operation,
                "an in-place rename breaks the running release; add a new column, keep both in step "
                "(op.ec_sync_columns), backfill (op.ec_backfill), drop the old one in contract",
            )
        elif operation.modify_nullable is False:
            self._tighten(operation)
        elif operation.modify_server_default is None:  # Alembic: None drops it, False leaves it
            self.contract.append(operation)
        else:
            self.expand.append(operation)

    def rename(self, add: ops.AddColumnOp, drop: ops.DropColumnOp) -> None:
        """A rename as expand/contract: the new column kept in step with the old one by a trigger
        and backfilled; the trigger and the old column dropped after the rollout."""
        column, old = add.column, drop.column_name
        table, schema = add.table_name, add.schema
        required = not column.nullable
        fill = default_sql(column, dialect_named(self.dialect)) if required else None
        add.column = column = column._copy()  # the models' own column stays as the models say
        column.nullable = True  # the old release does not write it; the trigger fills it
        default, column.server_default = column.server_default, None  # see default_once_old_is_gone()
        # a type change rides along: info={"convert_using": "CAST({} AS ...)", "convert_back": ...}
        forward = str(column.info.get("convert_using", "{}"))
        backward = str(column.info.get("convert_back", "{}"))
        changes = "renamed and converted" if forward != "{}" else "renamed"
        sync = SyncColumnsOp(table, old, column.name, schema=schema, forward=forward, backward=backward)
        self.expand += [
            NoteOp(f"{table}.{old} {changes} to {column.name}: a new column kept in step, then backfilled"),
            add,
            sync,
            self._backfill(
                table,
                schema,
                {column.name: forward.replace("{}", self.quote(old))},
                f"{self.quote(column.name)} IS NULL AND {self.quote(old)} IS NOT NULL",
            ),
        ]
        restored, resync = self._unrename(drop, column, sync, backward, default)
        before, after = (
            self.proven_not_null(table, column.name, column.name, schema, column.type, fill)
            if required
            else ([], [])
        )
        self.contract += [
            *before,
            with_undo(DropSyncOp(table, old, column.name, schema=schema), resync),
            with_undo(
                drop,
                [
                    NoteOp(f"{REVIEW}: {old} comes back nullable; the new release may write NULL"),
                    ops.AddColumnOp(table, restored, schema=schema),
                ],
            ),
        ]
        self.default_once_old_is_gone(table, column.name, schema, column.type, default)
        self.contract += after

    def _unrename(
        self,
        drop: ops.DropColumnOp,
        new: sa.Column[Any],
        sync: SyncColumnsOp,
        backward: str,
        new_default: Any,
    ) -> tuple[sa.Column[Any], list[MigrateOperation]]:
        """The rename's contract undone: (the old column as it comes back, nullable and without its
        default; what runs after it: the sync again, the old column filled from the new one, then
        its default back and the new column's dropped). Defaults wait for the values: added with
        the column, a default would fill every row, and the backfill would find nothing to copy."""
        table, schema, old = drop.table_name, drop.schema, drop.column_name
        restored = drop.to_column()
        restored.nullable = True
        old_default, restored.server_default = restored.server_default, None
        refill = self._backfill(
            table,
            schema,
            {old: backward.replace("{}", self.quote(new.name))},
            f"{self.quote(old)} IS NULL AND {self.quote(new.name)} IS NOT NULL",
            must_finish=True,
        )
        resync: list[MigrateOperation] = [sync, refill]
        if old_default is not None:
            resync.append(
                ops.AlterColumnOp(
                    table, old, schema=schema, modify_server_default=old_default, existing_type=restored.type
                )
            )
        if new_default is not None:  # dropped once the old column fills the new one again
            resync.append(
                ops.AlterColumnOp(
                    table, new.name, schema=schema, modify_server_default=None, existing_type=new.type
                )
            )
        return restored, resync

    def default_once_old_is_gone(
        self, table: str, column: str, schema: str | None, type_: Any, default: Any
    ) -> None:
        """The server default of a column that took an old one's place, set once the old one is
        gone. Not before: on an insert the sync trigger lets the new column win when it is set,
        and a default would set it on the old release's inserts, hiding their values. Its undo
        is part of the rename's or the swap's undo (after the old column is filled again)."""
        if default is None:
            return
        alter = ops.AlterColumnOp(
            table, column, schema=schema, modify_server_default=default, existing_type=type_
        )
        self.contract += [
            NoteOp(f"# expandcontract: ignore[EC002] -- {column}'s default waits for the old column to go"),
            with_undo(alter, []),
        ]

    def _retype(self, operation: ops.AlterColumnOp) -> str | None:
        """A type change under the same name: a replacement column of the new type, kept in step and
        backfilled, and its indexes built, before the deploy; after the rollout, swapped in under
        the old name in one short transaction. None when written; else why it cannot be."""
        table, name, schema = operation.table_name, operation.column_name, operation.schema
        model = self.model_column(table, name, schema)
        if model is None or operation.existing_type is None:
            return "the models or the old type are not known here; write the swap by hand"
        dialect = dialect_named(self.dialect)
        old_sql = str(operation.existing_type.compile(dialect=dialect))
        new_sql = str(model.type.compile(dialect=dialect))
        if self.postgresql and type_change(old_sql, new_sql) is TypeChange.SAFE:
            # no rewrite, and both releases accept either type
            self.expand += [NoteOp(f"{table}.{name} changes type in place. {PREPARED}"), operation]
            return None
        if not self.postgresql:
            return "the swap recipe needs PostgreSQL; write the change by hand"
        blocked = swap_blockers(model)
        if blocked:
            return f"{name} {blocked}, which the swap recipe does not move; write it by hand"
        verdict = type_change(old_sql, new_sql)
        convert = model.info.get("convert_using")
        if convert is None and verdict is not TypeChange.REWRITE:
            return (
                f"values of {old_sql} may not fit {new_sql}: say how to convert them, "
                'info={"convert_using": ..., "convert_back": ...} on the model\'s column ("{}" for a '
                "plain assignment, which fails on a value that does not fit), and generate again"
            )
        # a plain assignment by default: it fails on a value that does not fit, where a CAST cuts it
        forward = str(convert if convert is not None else "{}")
        backward = str(model.info.get("convert_back", "{}"))
        replacement = generated_name(name, "_ec_new")
        sync = SyncColumnsOp(table, name, replacement, schema=schema, forward=forward, backward=backward)
        self.expand += [
            NoteOp(
                f"{table}.{name} changes type from {old_sql} to {new_sql}: a new column of the new "
                "type, kept in step and backfilled; the contract swaps it in under the old name. "
                f"Until then both releases use {name} with its old type. At the swap: {PREPARED}"
            ),
            ops.AddColumnOp(table, sa.Column(replacement, model.type.copy(), nullable=True), schema=schema),
            sync,
            self._backfill(
                table,
                schema,
                {replacement: forward.replace("{}", self.quote(name))},
                f"{self.quote(replacement)} IS NULL AND {self.quote(name)} IS NOT NULL",
            ),
        ]
        renames: list[MigrateOperation] = []
        for index in [ix for ix in model.table.indexes if name in ix.columns]:
            temporary = generated_name(str(index.name), "ec_new")
            columns = [replacement if c.name == name else c.name for c in index.columns]
            built = ops.CreateIndexOp(temporary, table, columns, schema=schema, unique=bool(index.unique))
            self.expand.append(self.concurrently(built))
            target = self.quote(str(index.name))
            renames.append(
                with_undo(
                    ops.ExecuteSQLOp(f"ALTER INDEX {self._qualified(temporary, schema)} RENAME TO {target}"),
                    [
                        ops.ExecuteSQLOp(
                            f"ALTER INDEX {self._qualified(str(index.name), schema)} RENAME TO "
                            f"{self.quote(temporary)}"
                        )
                    ],
                )
            )
        unswap = self._unswap(operation, replacement, forward, backward, sync, bool(renames), model)
        swap = SwapColumnsOp(table, name, replacement, new_type=type_name(model.type), schema=schema)
        fill = default_sql(model, dialect_named(self.dialect)) if not model.nullable else None
        before, after = (
            self.proven_not_null(table, replacement, name, schema, model.type, fill)
            if not model.nullable
            else ([], [])
        )
        self.contract += [
            *before,
            with_undo(DropSyncOp(table, name, replacement, schema=schema), []),  # the unswap syncs
            with_undo(swap, unswap),
        ]
        # undone inside the unswap, once the column holding it is the replacement again
        self.default_once_old_is_gone(table, name, schema, model.type, model.server_default)
        if renames:
            self.contract += [
                NoteOp(
                    "# expandcontract: ignore[EC203] -- the indexes built for the swapped-in column take "
                    "the names of the ones dropped with the old column"
                ),
                *renames,
            ]
        self.contract += after
        self.swapped.add(name)
        return None

    def _unswap(
        self,
        swapped: ops.AlterColumnOp,
        replacement: str,
        forward: str,
        backward: str,
        sync: SyncColumnsOp,
        indexed: bool,
        model: sa.Column[Any],
    ) -> list[MigrateOperation]:
        """The swap undone, the column readable all along: the old type rebuilt under another name,
        kept in step and backfilled, then the two renamed in one transaction, as expand left them."""
        table, name, schema = swapped.table_name, swapped.column_name, swapped.schema
        rebuilt = generated_name(name, "_ec_old")
        back = SyncColumnsOp(table, rebuilt, name, schema=schema, forward=forward, backward=backward)
        steps: list[MigrateOperation] = [
            ops.AddColumnOp(table, sa.Column(rebuilt, swapped.existing_type, nullable=True), schema=schema),
            back,
            self._backfill(
                table,
                schema,
                {rebuilt: backward.replace("{}", self.quote(name))},
                f"{self.quote(rebuilt)} IS NULL AND {self.quote(name)} IS NOT NULL",
                must_finish=True,  # the renames below rely on it
            ),
            DropSyncOp(table, rebuilt, name, schema=schema),
            ops.AlterColumnOp(table, name, schema=schema, modify_name=replacement),
            ops.AlterColumnOp(table, rebuilt, schema=schema, modify_name=name),
        ]
        if model.server_default is not None:  # the replacement takes no default while synced
            steps.append(
                ops.AlterColumnOp(
                    table, replacement, schema=schema, modify_server_default=None, existing_type=model.type
                )
            )
        steps.append(sync)
        if swapped.existing_server_default:
            steps.append(
                ops.AlterColumnOp(
                    table,
                    name,
                    schema=schema,
                    modify_server_default=swapped.existing_server_default,
                    existing_type=swapped.existing_type,
                )
            )
        if indexed or swapped.existing_nullable is False:
            steps.insert(
                0,
                NoteOp(
                    f"{REVIEW}: {name} comes back without its indexes and nullable; rebuild what "
                    "the old column had"
                ),
            )
        return steps

    # --- constraints ------------------------------------------------------------------------------

    def _frees_a_drop(self, operation: ops.DropConstraintOp) -> bool:
        """A foreign key on a column, or into a table, that this change drops: dropped before the
        deploy, so the new release, which no longer maintains the column or the referenced rows,
        is not refused by it."""
        key = foreign_key_of(operation)
        if key is None:
            return False
        into = (key.referred_table.schema, key.referred_table.name)
        local = {str(c) for c in key.column_keys}
        return into in self.dropped_tables or (bool(local) and local <= self.dropped_columns)

    def _unique(self, operation: ops.CreateUniqueConstraintOp) -> None:
        """A unique index built CONCURRENTLY, then the constraint on top of it (no scan, brief lock)."""
        name, table, schema = str(operation.constraint_name), operation.table_name, operation.schema
        index = ops.CreateIndexOp(name, table, list(operation.columns), schema=schema, unique=True)
        qualified = self._qualified(table, schema)
        constraint = ops.ExecuteSQLOp(
            f"ALTER TABLE {qualified} ADD CONSTRAINT {self.quote(name)} UNIQUE USING INDEX {self.quote(name)}"
        )
        self.expand += [
            with_undo(self.concurrently(index), []),  # the constraint owns the index: gone with it
            with_undo(constraint, [ops.DropConstraintOp(name, table, type_="unique", schema=schema)]),
        ]

    def _not_valid(self, operation: ops.CreateForeignKeyOp | ops.CreateCheckConstraintOp) -> None:
        """Checked for new writes at once, the existing rows validated later without blocking."""
        if isinstance(operation, ops.CreateForeignKeyOp):
            table, schema = operation.source_table, operation.kw.get("source_schema")
            if not operation.constraint_name:  # the name PostgreSQL would give it: contract needs one
                columns = [str(c) for c in operation.local_cols]
                name = generated_name(table, *columns, "fkey")
                if name in self.dropped_constraints:  # a key re-pointed: the old one still has it
                    name = generated_name(table, *columns, operation.referent_table, "fkey")
                operation.constraint_name = name
        else:
            table, schema = operation.table_name, operation.schema
        if not operation.constraint_name:
            self.review(
                operation,
                "the constraint has no name, so it cannot be validated apart; name it in the models "
                "(or a naming convention) and generate again",
            )
            return
        operation.kw["postgresql_not_valid"] = True
        self.expand.append(operation)
        self.contract.append(ValidateConstraintOp(table, str(operation.constraint_name), schema=schema))


def _key_back_not_valid(operation: ops.DropConstraintOp) -> list[MigrateOperation]:
    """A foreign key dropped in expand, added back in the downgrade NOT VALID: the rows written
    without it are not scanned under its lock (validate them by hand once they are fixed)."""
    key = foreign_key_of(operation)
    if key is None:
        return [NoteOp(f"{REVIEW}: write the downgrade of the dropped foreign key by hand")]
    back = ops.CreateForeignKeyOp.from_constraint(key)
    back.kw["postgresql_not_valid"] = True
    return [
        NoteOp(
            f"{REVIEW}: {operation.constraint_name} comes back NOT VALID: rows written without it may "
            "break it; validate it (op.ec_validate_constraint) once they are fixed"
        ),
        back,
    ]


def split_operations(
    upgrade: ops.UpgradeOps,
    dialect: str,
    registry_prefix: str = "",
    renames: Renames | None = None,
    models: Models | None = None,
) -> tuple[list[MigrateOperation], list[MigrateOperation]]:
    """(expand operations, contract operations) for what autogenerate found; `models` (the
    target metadata's tables) supply defaults and indexes that the operations do not carry."""
    expand: list[MigrateOperation] = []
    contract: list[MigrateOperation] = []
    dropped_tables = frozenset(
        (o.schema, o.table_name) for o in upgrade.ops if isinstance(o, ops.DropTableOp)
    )
    for operation in upgrade.ops:
        if _ours(operation, registry_prefix):
            continue
        if isinstance(operation, ops.ModifyTableOps):
            dropped = frozenset(o.column_name for o in operation.ops if isinstance(o, ops.DropColumnOp))
            names = frozenset(
                str(o.constraint_name)
                for o in operation.ops
                if isinstance(o, ops.DropConstraintOp) and o.constraint_name
            )
            recipes = Recipes(dialect, models, dropped_tables, dropped, names)
            renamed = renamed_columns(operation, renames or {})
            handled = {id(drop) for drop in renamed.values()}
            for inner in operation.ops:
                if isinstance(inner, ops.AddColumnOp) and inner.column.name in renamed:
                    recipes.rename(inner, renamed[inner.column.name])
                elif id(inner) not in handled:
                    recipes.add(inner)
            # dropped indexes first: a dropped column takes its indexes with it
            recipes.contract.sort(key=lambda o: not _drops_an_index(o))
            for ops_list, target in ((recipes.expand, expand), (recipes.contract, contract)):
                if ops_list:
                    target.append(ops.ModifyTableOps(operation.table_name, ops_list, schema=operation.schema))
        else:
            recipes = Recipes(dialect, models)
            recipes.add(operation)
            expand += recipes.expand
            contract += recipes.contract
    return expand, contract


def _drops_an_index(operation: MigrateOperation) -> bool:
    return isinstance(operation, AutocommitBlockOp) and any(
        isinstance(o, ops.DropIndexOp) for o in operation.ops
    )


def _ours(operation: MigrateOperation, prefix: str) -> bool:
    """An operation on the gate's registry, which SQLite keeps beside the application's tables:
    never the application's models' business."""
    name = getattr(operation, "table_name", None) or getattr(operation, "source_table", None) or ""
    return bool(prefix) and str(name).startswith(prefix)
