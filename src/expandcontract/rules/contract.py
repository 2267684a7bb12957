"""EC1xx: contract changes. They remove or tighten what the running release uses, so they belong
in a contract revision (which runs behind the gate, where they are reported as "gated")."""

from __future__ import annotations

from collections.abc import Iterator

from expandcontract.model import ChangeKind, ConstraintType, Severity
from expandcontract.rules.base import Hit, Step, change_rule

CONTRACT_REVISION = "expandcontract revision --phase contract -m '...'"


def _contract_fix(first: str) -> str:
    """`first` is what the application must do before the change (a clause: "stop using column a")."""
    return f"{first}, deploy, then do this in a contract revision (`{CONTRACT_REVISION}`)"


@change_rule(
    "EC101", "drop-column", "a column dropped while the running release may still use it", gated=True
)
def drop_column(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.drop_column()`, `batch_op.drop_column()` and `ALTER TABLE ... DROP COLUMN` on a table
    that existed before this revision, unless the revision is on the contract branch; also
    `op.ec_swap_columns()`, which drops the column to put a replacement in its place.

    ## Why is this bad?
    During a rolling deploy the old release is still running. Its SQLAlchemy models name the
    column in every `SELECT` and `INSERT`, so the moment the column is gone those queries fail with
    `column "..." does not exist`: 500s until the last old process stops.

    ## Example
    ```python
    # versions/expand/3f2a_drop_email.py
    def upgrade():
        op.drop_column("users", "email")
    ```

    ## Use instead
    Remove the column from the models (or mark it deferred), deploy that release everywhere, and drop
    the column in a contract revision: contract revisions run after the rollout
    (`expandcontract upgrade --phase contract`), when the contract gate allows them.

    ## In Alembic
    ```python
    # versions/contract/7c1d_drop_email.py  (expandcontract revision --phase contract)
    depends_on = "3f2a"  # the expand revision that stopped writing it, if any

    def upgrade():
        op.drop_column("users", "email")
    ```
    """
    change = step.change
    if change.kind is ChangeKind.DROP_COLUMN and step.existing_table and not step.new_column:
        yield Hit(
            f"drops column {change.target or 'a column'}, which the running release may still read or write",
            _contract_fix(f"stop using column {change.column} in the application"),
        )
    elif change.kind is ChangeKind.SWAP_COLUMN and step.existing_table:
        yield Hit(
            f"replaces column {change.target} by {', '.join(change.columns)} (type {change.type}): the "
            "running release still reads and writes the old column",
            _contract_fix(f"deploy the release that expects {change.column} as {change.type}"),
        )


@change_rule("EC102", "drop-table", "a table dropped while the running release may still use it", gated=True)
def drop_table(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.drop_table()` and `DROP TABLE` of a table that existed before this revision (a table
    created in the same unreleased revision is not flagged), unless the revision is on the contract
    branch.

    ## Why is this bad?
    The old release still queries the table; every query fails once it is gone, and the data is lost
    if you need to roll back.

    ## Example
    ```python
    def upgrade():
        op.drop_table("legacy_sessions")
    ```

    ## Use instead
    Remove every use of the table from the code, deploy, then drop it in a contract revision.

    ## In Alembic
    ```python
    # versions/contract/...py
    def upgrade():
        op.drop_table("legacy_sessions")
    ```
    """
    change = step.change
    if change.kind is ChangeKind.DROP_TABLE and step.existing_table:
        yield Hit(
            f"drops table {change.target or '(a name built at run time)'}, which the running release may "
            "still query",
            _contract_fix(f"stop using table {change.table} in the application"),
        )


@change_rule(
    "EC103", "drop-constraint", "a constraint dropped while the running release may rely on it", gated=True
)
def drop_constraint(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.drop_constraint()` and `ALTER TABLE ... DROP CONSTRAINT` (check, foreign key, unique,
    primary key) on an existing table outside a contract revision.

    ## Why is this bad?
    Running code may rely on the guarantee: an upsert needs its unique constraint
    (`ON CONFLICT` fails without it), code may skip checks a constraint enforced. Dropping it is a
    contract change: it is safe once no release relies on it.

    ## Example
    ```python
    def upgrade():
        op.drop_constraint("uq_users_email", "users", type_="unique")
    ```

    ## Use instead
    Deploy code that no longer relies on the constraint first, then drop it in a contract revision.

    ## In Alembic
    ```python
    # versions/contract/...py
    def upgrade():
        op.drop_constraint("uq_users_email", "users", type_="unique")
    ```
    """
    change = step.change
    if change.kind is ChangeKind.DROP_CONSTRAINT and step.existing_table and not step.new_column:
        name = change.name or "a constraint"
        table = ".".join(p for p in (change.schema, change.table) if p)
        yield Hit(
            f"drops constraint {name} on {table}, which the running release may rely on",
            _contract_fix(f"stop relying on constraint {name}"),
        )


@change_rule(
    "EC104", "drop-object", "a view, function, type, sequence, schema or extension dropped", gated=True
)
def drop_object(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags dropping a view, materialized view, function, procedure, type, domain, sequence, schema,
    trigger or extension outside a contract revision.

    ## Why is this bad?
    The running release may select from the view, call the function, cast to the type or use the
    sequence; those statements fail once the object is gone.

    ## Example
    ```python
    def upgrade():
        op.execute("DROP VIEW active_users")
    ```

    ## Use instead
    Stop using the object, deploy, then drop it in a contract revision.

    ## In Alembic
    ```python
    # versions/contract/...py
    def upgrade():
        op.execute("DROP VIEW active_users")
    ```
    """
    change = step.change
    if change.kind is ChangeKind.DROP_OBJECT and step.existing_table:
        what = f"{change.object_type or 'object'} {change.name or ''}".strip()
        yield Hit(
            f"drops {what}, which the running release may still use", _contract_fix(f"stop using {what}")
        )


@change_rule("EC105", "drop-default", "a column default dropped while old writers rely on it", gated=True)
def drop_default(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.alter_column(..., server_default=None)`, `ALTER COLUMN ... DROP DEFAULT` and
    `DROP IDENTITY` on an existing column outside a contract revision.

    ## Why is this bad?
    Old writers that leave the column out of their `INSERT` relied on the default: they now write
    NULL, or fail on a NOT NULL column.

    ## Example
    ```python
    def upgrade():
        op.alter_column("orders", "status", server_default=None)
    ```

    ## Use instead
    Make the application always send the value, deploy, then drop the default in a contract revision.

    ## In Alembic
    ```python
    # versions/contract/...py
    def upgrade():
        op.alter_column("orders", "status", server_default=None)
    ```
    """
    change = step.change
    if change.kind is not ChangeKind.DROP_DEFAULT or not step.existing_table:
        return
    if step.column is not None and step.column.default is None and not change.detail:
        return  # nothing to drop: no writer can rely on it
    what = "identity" if change.detail == "DROP IDENTITY" else "default"
    yield Hit(
        f"drops the {what} of {change.target}; old writers that omit the column now write NULL or fail",
        _contract_fix(f"make every writer send {change.column}"),
    )


def _not_null_target(step: Step) -> bool:
    change = step.change
    if change.kind is ChangeKind.SET_NOT_NULL:
        return True
    return (
        change.kind is ChangeKind.ADD_CONSTRAINT
        and change.constraint_type is ConstraintType.NOT_NULL
        and not change.not_valid
    )


@change_rule("EC106", "set-not-null", "a column made NOT NULL while old writers may write NULL", gated=True)
def set_not_null(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.alter_column(..., nullable=False)`, `ALTER COLUMN ... SET NOT NULL` and PostgreSQL 18's
    `ADD CONSTRAINT ... NOT NULL` on an existing column that is not already NOT NULL, outside a
    contract revision.

    ## Why is this bad?
    The running release may insert rows without the column or write NULL to it; after the change
    those writes fail. The release that always writes a value must be fully rolled out first.

    ## Example
    ```python
    def upgrade():
        op.alter_column("users", "email", nullable=False)
    ```

    ## Use instead
    Expand: add `CHECK (email IS NOT NULL) NOT VALID` (new rows are checked, old ones are not) and
    backfill NULLs; contract: `VALIDATE CONSTRAINT`, then `SET NOT NULL` (no scan on PostgreSQL 12+),
    then drop the CHECK. See EC309 for the lock.

    ## In Alembic
    ```python
    # versions/contract/...py
    def upgrade():
        op.execute("ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null")
        op.alter_column("users", "email", nullable=False)
        op.drop_constraint("users_email_not_null", "users", type_="check")
    ```
    """
    if not _not_null_target(step) or not step.existing_table:
        return
    if step.column is not None and step.column.nullable is False:
        return  # already NOT NULL
    change = step.change
    column = change.target if change.column else f"{change.table}.{', '.join(change.columns)}"
    yield Hit(
        f"makes {column} NOT NULL; old writers that write NULL or omit it fail",
        _contract_fix("make every writer send a value for it"),
    )


_CONSTRAINT_NAMES = {
    ConstraintType.UNIQUE: "a unique",
    ConstraintType.FOREIGN_KEY: "a foreign key",
    ConstraintType.CHECK: "a check",
    ConstraintType.EXCLUDE: "an exclusion",
    ConstraintType.NOT_NULL: "a NOT NULL",
}

_RESTRICTING = (
    ConstraintType.UNIQUE,
    ConstraintType.FOREIGN_KEY,
    ConstraintType.CHECK,
    ConstraintType.EXCLUDE,
    ConstraintType.NOT_NULL,
)


@change_rule(
    "EC107",
    "new-write-restriction",
    "a new constraint old writers may violate",
    Severity.WARNING,
    opt_in=True,
    gated=True,
)
def new_write_restriction(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags a new UNIQUE, FOREIGN KEY, CHECK, EXCLUDE or NOT NULL constraint, a unique index, or a
    `GENERATED ALWAYS` column on an existing table outside a contract revision, even `NOT VALID` or
    built `CONCURRENTLY`. Opt-in: add it with `--extend-select EC107` (or `extend-select` in the
    config). `GENERATED ALWAYS` on an existing column is always an error before the deploy.

    ## Why is this bad?
    `NOT VALID` skips the check of existing rows, not of new writes: from the moment the constraint
    exists, the running release's inserts and updates that violate it fail.

    ## Example
    ```python
    def upgrade():
        op.create_check_constraint("ck_price_positive", "items", "price > 0", postgresql_not_valid=True)
    ```

    ## Use instead
    Deploy code that never writes violating values first; then add the restriction.

    ## In Alembic
    Add it in a contract revision, or in an expand revision once the writers are fixed, with a
    suppression that says so: `# expandcontract: ignore[EC107] -- writers validate since 2.4`.
    """
    change = step.change
    if not step.existing_table:
        return
    if change.kind is ChangeKind.ADD_CONSTRAINT and change.constraint_type in _RESTRICTING:
        if change.using_index:
            return  # the unique index already restricted writes (reported there)
        what = _CONSTRAINT_NAMES.get(change.constraint_type or ConstraintType.UNKNOWN, "a")
        yield Hit(
            f"adds {what} constraint on {change.table}; running writers that violate it start failing",
            "deploy writers that respect it first, or add it in a contract revision",
        )
    elif change.kind is ChangeKind.CREATE_INDEX and change.unique:
        yield Hit(
            f"adds a unique index on {change.table}; running writers that insert duplicates start failing",
            "deploy writers that respect it first, or add it in a contract revision",
        )
    elif change.kind is ChangeKind.RESTRICT_WRITES:
        yield Hit(
            f"makes {change.target} reject the values old writers send ({change.detail})",
            _contract_fix(f"stop writing {change.column}"),
            severity=Severity.ERROR,  # not a may: every old insert that sends the column fails
        )


@change_rule("EC108", "truncate", "TRUNCATE, or DELETE without WHERE, on an existing table", gated=True)
def truncate(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `TRUNCATE` and `DELETE` without a `WHERE` clause on a table that existed before this
    revision, outside a contract revision.

    ## Why is this bad?
    It removes data the running release reads, and cannot be rolled back once committed. `TRUNCATE`
    also takes an ACCESS EXCLUSIVE lock.

    ## Example
    ```python
    def upgrade():
        op.execute("TRUNCATE audit_log")
    ```

    ## Use instead
    Delete in batches with a `WHERE` clause, outside the migration, after no release reads the rows.

    ## In Alembic
    Move data removal out of schema migrations, or into a contract revision with a suppression that
    explains why it is safe.
    """
    change = step.change
    if not step.existing_table:
        return
    if change.kind is ChangeKind.TRUNCATE or (change.kind is ChangeKind.DELETE and not change.has_where):
        verb = "truncates" if change.kind is ChangeKind.TRUNCATE else "deletes every row of"
        yield Hit(
            f"{verb} {change.target}, data the running release reads",
            "delete in batches with a WHERE clause after no release reads the rows, in a contract revision",
        )


@change_rule("EC109", "drop-enum-value", "an enum value renamed or removed in place")
def drop_enum_value(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `ALTER TYPE ... RENAME VALUE` (PostgreSQL cannot drop an enum value; removing one means a
    new type and a swap).

    ## Why is this bad?
    The running release reads and writes the old value. After the rename its writes fail with
    `invalid input value for enum`, and rows it reads come back with a value it does not know.

    ## Example
    ```python
    def upgrade():
        op.execute("ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled'")
    ```

    ## Use instead
    Add the new value (expand), make the code write it and read both, backfill, and only then stop
    accepting the old one (a new type and a swap, in a contract revision).

    ## In Alembic
    ```python
    # versions/expand/...py  (outside the transaction, see EC402)
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'cancelled'")
    ```
    """
    change = step.change
    if change.kind is ChangeKind.RENAME_ENUM_VALUE:
        yield Hit(
            f"renames a value of enum {change.name}; the running release still reads and writes the old one",
            "add the new value in an expand revision, move the code and the data to it, "
            "then retire the old value with a new type in a contract revision",
        )


RULES = (
    drop_column,
    drop_table,
    drop_constraint,
    drop_object,
    drop_default,
    set_not_null,
    new_write_restriction,
    truncate,
    drop_enum_value,
)
