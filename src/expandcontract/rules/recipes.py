"""EC2xx: changes no single phase can hold. Before the deploy they break the running release,
after it they break the new one; they are written as a recipe of an expand and a contract part."""

from __future__ import annotations

from collections.abc import Iterator

from expandcontract.model import ChangeKind
from expandcontract.rules.base import Hit, Step, change_rule
from expandcontract.sql import TypeChange, type_change

SPLIT = "expandcontract revision --phase expand / --phase contract"


@change_rule("EC201", "rename-column", "a column renamed in place")
def rename_column(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.alter_column(..., new_column_name=...)`, `ALTER TABLE ... RENAME COLUMN a TO b` and
    Alembic's own rendering `ALTER TABLE t RENAME a TO b`, on an existing table, in any phase.

    ## Why is this bad?
    Before the deploy, the running release still uses the old name and fails; after it, the new
    release uses the new name and fails until the rename runs. There is no moment when both work.

    ## Example
    ```python
    def upgrade():
        op.alter_column("users", "email", new_column_name="email_address")
    ```

    ## Use instead
    Expand: add the new column, keep both in step with a trigger, backfill. Deploy code that uses the
    new column. Contract: drop the trigger and the old column.

    ## In Alembic
    ```python
    # versions/expand/...py
    def upgrade():
        op.add_column("users", sa.Column("email_address", sa.String(255)))
        # + a trigger that keeps email and email_address in step, and a batched backfill

    # versions/contract/...py, depends_on the expand revision
    def upgrade():
        op.drop_column("users", "email")
    ```
    """
    change = step.change
    if change.kind is ChangeKind.RENAME_COLUMN and step.existing_table and not step.new_column:
        yield Hit(
            f"renames column {change.target} to {change.new_name}; old and new releases cannot both work",
            f"add {change.new_name} + sync trigger + backfill in an expand revision, drop {change.column} "
            f"in a contract revision ({SPLIT})",
        )


@change_rule("EC202", "rename-table", "a table renamed in place")
def rename_table(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.rename_table()` and `ALTER TABLE ... RENAME TO` on an existing table, in any phase.

    ## Why is this bad?
    Whichever release is running uses the other name: every query of the old release fails after
    the rename, every query of the new one before it.

    ## Example
    ```python
    def upgrade():
        op.rename_table("customer", "customers")
    ```

    ## Use instead
    Expand: create the new table (or rename it and leave an updatable view under the old name).
    Contract: drop the old table or the view once no release uses the old name.

    ## In Alembic
    ```python
    # versions/expand/...py
    def upgrade():
        # expandcontract: ignore[EC202] -- the view keeps the old name working
        op.rename_table("customer", "customers")
        op.execute("CREATE VIEW customer AS SELECT * FROM customers")

    # versions/contract/...py
    def upgrade():
        op.execute("DROP VIEW customer")
    ```
    """
    change = step.change
    if change.kind is ChangeKind.RENAME_TABLE and change.detail != "SET SCHEMA" and step.existing_table:
        yield Hit(
            f"renames table {change.target} to {change.new_name}; old and new releases cannot both work",
            "create the new table (or rename and leave an updatable view under the old name) in an expand "
            "revision, drop the old name in a contract revision",
        )


@change_rule("EC203", "rename-object", "an index, constraint, sequence, schema or type renamed or moved")
def rename_object(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags renames of indexes, constraints, sequences, schemas, types and views, and
    `ALTER ... SET SCHEMA`, in any phase.

    ## Why is this bad?
    Code and other migrations name these objects: an `ON CONFLICT ON CONSTRAINT`, a sequence in a
    default, a schema-qualified query. The running release keeps using the old name.

    ## Example
    ```python
    def upgrade():
        op.execute("ALTER SEQUENCE order_no RENAME TO order_number")
    ```

    ## Use instead
    Add the object under the new name, switch the code, and drop the old one in a contract revision.

    ## In Alembic
    Renaming an index that no code names is harmless: suppress with a reason,
    `# expandcontract: ignore[EC203] -- no query names this index`.
    """
    change = step.change
    if change.kind is ChangeKind.RENAME_OBJECT and step.existing_table:
        what = f"{change.object_type or 'object'} {change.name or ''}".strip()
        if change.table:
            what += f" on {'.'.join(p for p in (change.schema, change.table) if p)}"
        yield Hit(
            f"renames {what} to {change.new_name}; the running release still uses the old name",
            "add the object under the new name, switch the code, drop the old one in a contract revision",
        )
    elif change.kind is ChangeKind.RENAME_TABLE and change.detail == "SET SCHEMA" and step.existing_table:
        yield Hit(
            f"moves {change.target} to another schema ({change.new_name}); the running release "
            "still uses the old name",
            "create it in the new schema and switch the code first, drop the old one in a contract revision",
        )


def type_verdict(step: Step) -> TypeChange:
    """What the step's type change does, with the type the replayed history knows as the old one."""
    change = step.change
    old = change.old_type or (step.column.type if step.column else None)
    return type_change(old, change.type, "postgresql", step.postgresql_version, step.session_timezone)


@change_rule("EC204", "change-column-type", "a column type changed in place in a way old code may not accept")
def change_column_type(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.alter_column(..., type_=...)` and `ALTER COLUMN ... TYPE` on an existing table unless
    the change is known to be safe: varchar widening or limit removal, varchar -> text, text ->
    varchar without a limit, numeric
    precision up at the same scale, cidr -> inet, and timestamp <-> timestamptz on PostgreSQL 12+
    when `session-timezone = "UTC"` is configured. Widenings old code accepts but that rewrite the
    table (int -> bigint) are EC310 instead. The old type comes from `existing_type=` or from the
    replayed history.

    ## Why is this bad?
    Old code may write values the new type rejects, or read values it cannot handle; and the table
    and its indexes are rewritten under an ACCESS EXCLUSIVE lock. Even the changes this rule lets
    through change the column's result type: a running release on server-side prepared statements
    (psycopg 3 from a statement's fifth run, asyncpg) gets one `cached plan must not change result
    type` error per connection and statement that reads the column. Only a new column (a rename
    with a conversion) avoids that.

    ## Example
    ```python
    def upgrade():
        op.alter_column("orders", "total", type_=sa.Numeric(10, 2), existing_type=sa.Text())
    ```

    ## Use instead
    Expand: a new column of the new type, a sync trigger, a batched backfill. Contract: switch the
    names (or keep the new one), drop the old column and the trigger.

    ## In Alembic
    ```python
    # versions/expand/...py
    def upgrade():
        op.add_column("orders", sa.Column("total_amount", sa.Numeric(10, 2)))
    # versions/contract/...py
    def upgrade():
        op.drop_column("orders", "total")
    ```
    """
    change = step.change
    if change.kind is not ChangeKind.ALTER_COLUMN_TYPE or not step.existing_table or step.new_column:
        return  # a column no release has seen can take any type (EC310 still weighs the rewrite)
    verdict = type_verdict(step)
    if verdict is TypeChange.INCOMPATIBLE:
        old = change.old_type or (step.column.type if step.column else "?")
        yield Hit(
            f"changes {change.target} from {old} to {change.type} in place; old code may not accept it "
            "and the table is rewritten",
            "add a new column of the new type + sync trigger + backfill in an expand revision, switch and "
            "drop the old column in a contract revision",
        )
    elif verdict is TypeChange.UNKNOWN:
        yield Hit(
            f"changes the type of {change.target} to {change.type}, from a type the history does not show",
            "pass existing_type= to op.alter_column() so the change can be judged, or use the "
            "new-column recipe",
        )


@change_rule("EC205", "add-required-column", "a NOT NULL column added without a default")
def add_required_column(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.add_column()` / `ADD COLUMN` with `nullable=False` and no server default (and not
    generated) on an existing table.

    ## Why is this bad?
    On a table with rows the statement fails outright. On an empty one it succeeds, and then every
    insert of the running release, which does not know the column, fails.

    ## Example
    ```python
    def upgrade():
        op.add_column("users", sa.Column("tenant_id", sa.Integer(), nullable=False))
    ```

    ## Use instead
    Expand: add it nullable, or with a constant `server_default` (instant on PostgreSQL 11+).
    Backfill. Contract: make it NOT NULL the safe way (EC106, EC309).

    ## In Alembic
    ```python
    def upgrade():
        op.add_column("users", sa.Column("tenant_id", sa.Integer(), nullable=True))
    ```
    """
    change = step.change
    if (
        change.kind is ChangeKind.ADD_COLUMN
        and step.existing_table
        and change.nullable is False
        and change.default is None
        and not change.generated
    ):
        yield Hit(
            f"adds NOT NULL column {change.target} without a default; it fails on a non-empty table and "
            "old inserts fail",
            "add it nullable (or with a constant server_default) in an expand revision, backfill, then "
            "make it NOT NULL in a contract revision",
        )


RULES = (rename_column, rename_table, rename_object, change_column_type, add_required_column)
