"""EC3xx: locking and rewrite hazards. In any phase, these block reads or writes of an existing
table for as long as a scan, an index build or a rewrite takes."""

from __future__ import annotations

from collections.abc import Iterator

from expandcontract.model import ChangeKind, ConstraintType, Severity
from expandcontract.rules.base import Hit, Step, change_rule
from expandcontract.rules.locks import Lock, lock_of
from expandcontract.rules.recipes import type_verdict
from expandcontract.sql import VIRTUAL_ON_18, TypeChange

NOT_VALID_THEN_VALIDATE = (
    "add it with postgresql_not_valid=True, then run "
    "`ALTER TABLE ... VALIDATE CONSTRAINT ...` in a later transaction (another revision, or after "
    "`autocommit_block()`)"
)


def _concurrently(step: Step) -> str:
    return "postgresql_concurrently=True" if step.unit.is_revision else "CONCURRENTLY"


def _called(what: str, name: str | None) -> str:
    """`index ix_a`, or `an index` when it has no name."""
    if name:
        return f"{what} {name}"
    return f"{'an' if what[0] in 'aeiou' else 'a'} {what}"


def _table(step: Step) -> str:
    change = step.change
    return ".".join(p for p in (change.schema, change.table) if p) or "the table"


@change_rule(
    "EC301",
    "index-not-concurrent",
    "CREATE INDEX without CONCURRENTLY on an existing table",
    postgresql_only=True,
)
def index_not_concurrent(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.create_index()`, `index=True`/`unique=True` columns added with `op.add_column()`, and
    `CREATE INDEX` without `CONCURRENTLY`, on a table that existed before this revision.

    ## Why is this bad?
    A plain `CREATE INDEX` holds a SHARE lock for the whole build: every INSERT, UPDATE and DELETE
    on the table waits, for minutes on a large table.

    ## Example
    ```python
    def upgrade():
        op.create_index("ix_orders_created_at", "orders", ["created_at"])
    ```

    ## Use instead
    `CREATE INDEX CONCURRENTLY`, outside the revision's transaction.

    ## In Alembic
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_orders_created_at", "orders", ["created_at"], postgresql_concurrently=True
            )
    ```
    """
    change = step.change
    if change.kind is ChangeKind.CREATE_INDEX and not change.concurrently and step.existing_table:
        yield Hit(
            f"builds {_called('index', change.name)} on {_table(step)} without CONCURRENTLY; writes wait "
            "for the whole build",
            f"use {_concurrently(step)} {step.outside_transaction}",
        )


@change_rule("EC302", "drop-index-not-concurrent", "DROP INDEX without CONCURRENTLY", postgresql_only=True)
def drop_index_not_concurrent(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.drop_index()` and `DROP INDEX` without `CONCURRENTLY`, unless the index was created in
    this (unreleased) revision.

    ## Why is this bad?
    `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the table. It is quick once granted, but while it
    waits for running queries, every new query of the table queues behind it.

    ## Example
    ```python
    def upgrade():
        op.drop_index("ix_orders_legacy", table_name="orders")
    ```

    ## Use instead
    `DROP INDEX CONCURRENTLY` outside the transaction (not for indexes that back a constraint).

    ## In Alembic
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.drop_index("ix_orders_legacy", table_name="orders", postgresql_concurrently=True)
    ```
    """
    change = step.change
    if change.kind is ChangeKind.DROP_INDEX and not change.concurrently and step.existing_table:
        yield Hit(
            f"drops index {change.name} without CONCURRENTLY; "
            "it waits for an ACCESS EXCLUSIVE lock on the table",
            f"use {_concurrently(step)} {step.outside_transaction}",
        )


@change_rule(
    "EC303", "foreign-key-validates", "ADD FOREIGN KEY that validates existing rows", postgresql_only=True
)
def foreign_key_validates(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.create_foreign_key()`, foreign keys on added columns, and `ADD FOREIGN KEY` without
    `NOT VALID` on an existing table.

    ## Why is this bad?
    Adding a validated foreign key scans the whole table under a SHARE ROW EXCLUSIVE lock on both
    tables: writes to both wait for the scan.

    ## Example
    ```python
    def upgrade():
        op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"])
    ```

    ## Use instead
    Add it `NOT VALID` (new writes are checked at once), then `VALIDATE CONSTRAINT` in a separate
    transaction, which only takes a SHARE UPDATE EXCLUSIVE lock.

    ## In Alembic
    ```python
    def upgrade():
        op.create_foreign_key(
            "fk_orders_user", "orders", "users", ["user_id"], ["id"], postgresql_not_valid=True
        )
        with op.get_context().autocommit_block():
            op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")
    ```
    """
    change = step.change
    if (
        change.kind is ChangeKind.ADD_CONSTRAINT
        and change.constraint_type is ConstraintType.FOREIGN_KEY
        and not change.not_valid
        and step.existing_table
    ):
        yield Hit(
            f"adds {_called('foreign key', change.name)} on {_table(step)} that scans existing rows while "
            "writes wait",
            NOT_VALID_THEN_VALIDATE,
        )


@change_rule("EC304", "check-validates", "ADD CHECK that validates existing rows", postgresql_only=True)
def check_validates(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.create_check_constraint()` and `ADD CHECK` without `NOT VALID` on an existing table.

    ## Why is this bad?
    The table is scanned under an ACCESS EXCLUSIVE lock: no reads or writes until every row is
    checked.

    ## Example
    ```python
    def upgrade():
        op.create_check_constraint("ck_items_price", "items", "price >= 0")
    ```

    ## Use instead
    `NOT VALID`, then `VALIDATE CONSTRAINT` in a separate transaction.

    ## In Alembic
    ```python
    def upgrade():
        op.create_check_constraint("ck_items_price", "items", "price >= 0", postgresql_not_valid=True)
        with op.get_context().autocommit_block():
            op.execute("ALTER TABLE items VALIDATE CONSTRAINT ck_items_price")
    ```
    """
    change = step.change
    if (
        change.kind is ChangeKind.ADD_CONSTRAINT
        and change.constraint_type is ConstraintType.CHECK
        and not change.not_valid
        and step.existing_table
    ):
        yield Hit(
            f"adds {_called('check constraint', change.name)} on {_table(step)} that scans existing rows "
            "under an ACCESS EXCLUSIVE lock",
            NOT_VALID_THEN_VALIDATE,
        )


@change_rule(
    "EC305",
    "unique-constraint-locks",
    "ADD UNIQUE builds its index under ACCESS EXCLUSIVE",
    postgresql_only=True,
)
def unique_constraint_locks(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.create_unique_constraint()` and `ADD UNIQUE` / `ADD CONSTRAINT ... UNIQUE (...)` on an
    existing table (not `UNIQUE USING INDEX`).

    ## Why is this bad?
    The unique index is built while the table is locked ACCESS EXCLUSIVE: no reads or writes for the
    whole build. `NOT VALID` does not exist for UNIQUE constraints: PostgreSQL rejects it.

    ## Example
    ```python
    def upgrade():
        op.create_unique_constraint("uq_users_email", "users", ["email"])
    ```

    ## Use instead
    Build a unique index concurrently, then attach it: `ADD CONSTRAINT ... UNIQUE USING INDEX`.

    ## In Alembic
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.create_index(
                "uq_users_email", "users", ["email"], unique=True, postgresql_concurrently=True
            )
        op.execute("ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE USING INDEX uq_users_email")
    ```
    """
    change = step.change
    if (
        change.kind is ChangeKind.ADD_CONSTRAINT
        and change.constraint_type is ConstraintType.UNIQUE
        and not change.using_index
        and step.existing_table
    ):
        yield Hit(
            f"adds a unique constraint on {_table(step)}, building its index under an ACCESS EXCLUSIVE lock",
            f"create the unique index with {_concurrently(step)} "
            f"{step.outside_transaction}, then `ALTER TABLE ... ADD CONSTRAINT name UNIQUE USING INDEX name`",
        )


@change_rule("EC306", "primary-key-locks", "ADD PRIMARY KEY on an existing table", postgresql_only=True)
def primary_key_locks(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.create_primary_key()` and `ADD PRIMARY KEY` on an existing table (not
    `PRIMARY KEY USING INDEX`).

    ## Why is this bad?
    The index is built under an ACCESS EXCLUSIVE lock, and any nullable key column is made NOT NULL
    with a full scan. `NOT VALID` does not apply to primary keys.

    ## Example
    ```python
    def upgrade():
        op.create_primary_key("pk_events", "events", ["id"])
    ```

    ## Use instead
    Make the columns NOT NULL the safe way (EC309), build a unique index concurrently, then
    `ADD CONSTRAINT ... PRIMARY KEY USING INDEX`.

    ## In Alembic
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.create_index("pk_events", "events", ["id"], unique=True, postgresql_concurrently=True)
        op.execute("ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY USING INDEX pk_events")
    ```
    """
    change = step.change
    if (
        change.kind is ChangeKind.ADD_CONSTRAINT
        and change.constraint_type is ConstraintType.PRIMARY_KEY
        and not change.using_index
        and step.existing_table
    ):
        yield Hit(
            f"adds a primary key on {_table(step)}, building its index under an ACCESS EXCLUSIVE lock",
            f"make the columns NOT NULL safely, build a unique index with {_concurrently(step)} "
            f"{step.outside_transaction}, then `ADD CONSTRAINT name PRIMARY KEY USING INDEX name`",
        )


@change_rule(
    "EC307", "volatile-default", "ADD COLUMN with a volatile default rewrites the table", postgresql_only=True
)
def volatile_default(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.add_column()` / `ADD COLUMN` with a default that calls a volatile function
    (`gen_random_uuid()`, `random()`, `clock_timestamp()`, `nextval()`, ...) on an existing table.
    Constants and `now()` / `CURRENT_TIMESTAMP` are not flagged: since PostgreSQL 11 they are stored
    once, without a rewrite. Before 11, every default rewrites the table.

    ## Why is this bad?
    A volatile default must be computed per row, so PostgreSQL rewrites the whole table under an
    ACCESS EXCLUSIVE lock.

    ## Example
    ```python
    def upgrade():
        op.add_column(
            "users", sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()"))
        )
    ```

    ## Use instead
    Add the column without a default, set the default (it applies to new rows), backfill old rows in
    batches.

    ## In Alembic
    ```python
    def upgrade():
        op.add_column("users", sa.Column("token", sa.Uuid()))
        op.alter_column("users", "token", server_default=sa.text("gen_random_uuid()"))
    ```
    """
    change = step.change
    if change.kind is not ChangeKind.ADD_COLUMN or not step.existing_table or change.default is None:
        return
    if change.volatile_default:
        reason = f"its default {change.default} is volatile"
    elif step.postgresql_version < 11:
        reason = f"PostgreSQL {step.postgresql_version} stores every default by rewriting"
    else:
        return
    yield Hit(
        f"adds {change.target} with a default that rewrites the table ({reason})",
        "add the column without a default, then op.alter_column(server_default=...) and backfill in batches",
    )


@change_rule(
    "EC308",
    "rewriting-column",
    "a stored generated, serial or identity column added to an existing table",
    postgresql_only=True,
)
def rewriting_column(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags adding a `GENERATED ALWAYS AS (...) STORED`, `serial`/`bigserial` or identity column to an
    existing table. PostgreSQL 18's virtual generated columns are not flagged.

    ## Why is this bad?
    Every existing row needs a value, so the table is rewritten under an ACCESS EXCLUSIVE lock.

    ## Example
    ```python
    def upgrade():
        op.add_column("orders", sa.Column("seq", sa.BigInteger(), sa.Identity()))
    ```

    ## Use instead
    Add a nullable column, fill new rows with a trigger or default, backfill old rows in batches; on
    PostgreSQL 18 a virtual generated column needs no rewrite.

    ## In Alembic
    ```python
    def upgrade():
        op.add_column("orders", sa.Column("seq", sa.BigInteger(), nullable=True))
    ```
    """
    change = step.change
    if step.postgresql_version >= 18 and change.detail == VIRTUAL_ON_18:
        return  # virtual: computed on read, no rewrite
    if change.kind is ChangeKind.ADD_COLUMN and change.generated and step.existing_table:
        yield Hit(
            f"adds generated/identity column {change.target}, which rewrites the table",
            "add a plain nullable column, fill new rows with a default or trigger, and backfill in batches",
        )


def _not_null_fix(version: int) -> str:
    if version >= 18:
        return (
            "add `CONSTRAINT name NOT NULL col NOT VALID`, VALIDATE CONSTRAINT in a later transaction "
            "(PostgreSQL 18)"
        )
    if version >= 12:
        return (
            "add CHECK (col IS NOT NULL) with postgresql_not_valid=True, VALIDATE CONSTRAINT in a later "
            "transaction, then SET NOT NULL (no scan) and drop the CHECK"
        )
    return "PostgreSQL before 12 always scans: schedule it for a quiet moment"


@change_rule(
    "EC309", "not-null-scans", "SET NOT NULL scans the table under ACCESS EXCLUSIVE", postgresql_only=True
)
def not_null_scans(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `nullable=False` / `SET NOT NULL` (and PostgreSQL 18's validated `ADD CONSTRAINT ... NOT
    NULL`) on an existing column when no validated `CHECK (col IS NOT NULL)` proves it, in this or
    an earlier revision. Columns already NOT NULL are not flagged.

    ## Why is this bad?
    PostgreSQL scans the whole table to check for NULLs while holding an ACCESS EXCLUSIVE lock. From
    PostgreSQL 12 on, a validated CHECK constraint that proves the column non-null lets it skip the
    scan.

    ## Example
    ```python
    def upgrade():
        op.alter_column("users", "email", nullable=False)
    ```

    ## Use instead
    PostgreSQL 12-17: `CHECK (email IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT` in a separate
    transaction, `SET NOT NULL`, drop the CHECK. PostgreSQL 18: `ADD CONSTRAINT ... NOT NULL email
    NOT VALID`, then `VALIDATE CONSTRAINT`.

    ## In Alembic
    ```python
    def upgrade():
        op.create_check_constraint(
            "users_email_not_null", "users", "email IS NOT NULL", postgresql_not_valid=True
        )

    # a later revision (or after autocommit_block())
    def upgrade():
        op.execute("ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null")
        op.alter_column("users", "email", nullable=False)
        op.drop_constraint("users_email_not_null", "users", type_="check")
    ```
    """
    change = step.change
    validated_not_null = (
        change.kind is ChangeKind.ADD_CONSTRAINT
        and change.constraint_type is ConstraintType.NOT_NULL
        and not change.not_valid
    )
    if change.kind is not ChangeKind.SET_NOT_NULL and not validated_not_null:
        return
    if not step.existing_table or (step.column is not None and step.column.nullable is False):
        return
    if step.proven_not_null and step.postgresql_version >= 12:
        return
    column = change.target if change.column else f"{_table(step)}.{','.join(change.columns)}"
    yield Hit(
        f"makes {column} NOT NULL by scanning the table under an ACCESS EXCLUSIVE lock",
        _not_null_fix(step.postgresql_version),
    )


@change_rule(
    "EC310", "type-change-rewrites", "a widening type change that rewrites the table", postgresql_only=True
)
def type_change_rewrites(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags type changes old code accepts but PostgreSQL can only do by rewriting the table and its
    indexes: `integer -> bigint`, `real -> double precision`, more decimal places. Type changes old
    code may not accept are EC204; changes PostgreSQL makes without a rewrite (varchar widening,
    varchar -> text, ...) are not flagged.

    ## Why is this bad?
    The rewrite holds an ACCESS EXCLUSIVE lock for as long as copying the table and rebuilding its
    indexes takes.

    ## Example
    ```python
    def upgrade():
        op.alter_column("events", "id", type_=sa.BigInteger(), existing_type=sa.Integer())
    ```

    ## Use instead
    The EC204 recipe: a new column of the new type, a sync trigger, a batched backfill, then swap.

    ## In Alembic
    See EC204.
    """
    change = step.change
    if change.kind is ChangeKind.ALTER_COLUMN_TYPE and step.existing_table:
        if type_verdict(step) is TypeChange.REWRITE:
            old = change.old_type or (step.column.type if step.column else "?")
            yield Hit(
                f"changes {change.target} from {old} to {change.type}, "
                "which rewrites the table and its indexes",
                "add a new column of the new type + sync trigger + backfill in batches, then swap",
            )


@change_rule(
    "EC311",
    "table-rewrite",
    "VACUUM FULL, CLUSTER, REINDEX, SET LOGGED/UNLOGGED, SET ACCESS METHOD",
    postgresql_only=True,
)
def table_rewrite(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `VACUUM FULL`, `CLUSTER`, `REINDEX` without `CONCURRENTLY`, `ALTER TABLE ... SET LOGGED /
    UNLOGGED` and `SET ACCESS METHOD` on an existing table.

    ## Why is this bad?
    Each rewrites the table or its indexes while holding a lock that blocks writes (and, for most,
    reads) until it finishes.

    ## Example
    ```python
    def upgrade():
        op.execute("VACUUM FULL orders")
    ```

    ## Use instead
    `REINDEX ... CONCURRENTLY` (PostgreSQL 12+); pg_repack for the rest; or run it outside the
    migration at a quiet time.

    ## In Alembic
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("REINDEX INDEX CONCURRENTLY ix_orders_created_at")
    ```
    """
    change = step.change
    if change.kind is not ChangeKind.TABLE_MAINTENANCE or not step.existing_table:
        return
    if change.detail == "REINDEX" and change.concurrently:
        return
    what = change.detail or "maintenance"
    target = _table(step) if change.table else (change.name or "the index")
    yield Hit(
        f"{what} on {target} rewrites it while holding a lock that blocks writes",
        "use REINDEX CONCURRENTLY (PostgreSQL 12+) or pg_repack, or run it outside the migration",
    )


@change_rule("EC312", "exclusion-constraint", "ADD EXCLUDE on an existing table", postgresql_only=True)
def exclusion_constraint(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `op.create_exclude_constraint()` and `ADD ... EXCLUDE` on an existing table.

    ## Why is this bad?
    The constraint's index is built and every row checked under an ACCESS EXCLUSIVE lock. There is no
    online form: EXCLUDE constraints cannot be `NOT VALID` or built from an existing index.

    ## Example
    ```python
    def upgrade():
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&)"
        )
    ```

    ## Use instead
    No online alternative: create the constraint when the table is created, or schedule the change
    for a maintenance window and suppress with a reason.

    ## In Alembic
    `# expandcontract: ignore[EC312] -- run in the maintenance window of 2026-12-01`
    """
    change = step.change
    if (
        change.kind is ChangeKind.ADD_CONSTRAINT
        and change.constraint_type is ConstraintType.EXCLUDE
        and step.existing_table
    ):
        yield Hit(
            f"adds an exclusion constraint on {_table(step)} under an ACCESS EXCLUSIVE lock; "
            "it has no online form",
            "create it with the table, or schedule it for a maintenance window (suppress with the reason)",
        )


@change_rule(
    "EC313",
    "detach-partition-locks",
    "DETACH PARTITION without CONCURRENTLY (PostgreSQL 14+)",
    postgresql_only=True,
)
def detach_partition_locks(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `ALTER TABLE ... DETACH PARTITION` without `CONCURRENTLY` when the target is PostgreSQL 14
    or later (which has the concurrent form).

    ## Why is this bad?
    A plain detach takes an ACCESS EXCLUSIVE lock on the partitioned table: queries of every
    partition wait.

    ## Example
    ```python
    def upgrade():
        op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024")
    ```

    ## Use instead
    `DETACH PARTITION ... CONCURRENTLY`, outside a transaction.

    ## In Alembic
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY")
    ```
    """
    change = step.change
    if (
        change.kind is ChangeKind.DETACH_PARTITION
        and not change.concurrently
        and change.detail != "FINALIZE"
        and step.postgresql_version >= 14
        and step.existing_table
    ):
        yield Hit(
            f"detaches partition {change.name} from {_table(step)} under an ACCESS EXCLUSIVE lock",
            f"use DETACH PARTITION ... CONCURRENTLY {step.outside_transaction}",
        )


@change_rule(
    "EC314",
    "validate-in-same-transaction",
    "VALIDATE CONSTRAINT in the transaction that added it or locked",
    postgresql_only=True,
)
def validate_in_same_transaction(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `VALIDATE CONSTRAINT` in the same transaction as the `ADD CONSTRAINT ... NOT VALID` that
    created it, or after a statement that took an ACCESS EXCLUSIVE lock in that transaction.

    ## Why is this bad?
    The point of `NOT VALID` + `VALIDATE` is that the scan runs under the weak SHARE UPDATE EXCLUSIVE
    lock. In the same transaction, the strong lock taken by the `ADD` is still held during the scan,
    which is exactly what the split was meant to avoid.

    ## Example
    ```python
    def upgrade():
        op.create_foreign_key("fk", "orders", "users", ["user_id"], ["id"], postgresql_not_valid=True)
        op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk")
    ```

    ## Use instead
    Validate in a separate transaction: a later revision (with `transaction_per_migration=True`), or
    inside `autocommit_block()`.

    ## In Alembic
    ```python
    def upgrade():
        op.create_foreign_key("fk", "orders", "users", ["user_id"], ["id"], postgresql_not_valid=True)
        with op.get_context().autocommit_block():
            op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk")
    ```
    """
    change = step.change
    if (
        change.kind is not ChangeKind.VALIDATE_CONSTRAINT
        or not step.in_transaction
        or not step.existing_table
    ):
        return
    name = (change.name or "").lower()
    if name and name in step.transaction.not_valid:
        reason = f"the transaction that added {change.name} NOT VALID still holds its lock"
    elif step.transaction.exclusive:
        held = step.transaction.exclusive[0]
        reason = f"the transaction holds an ACCESS EXCLUSIVE lock since {step.line_of(held)}"
    else:
        return
    yield Hit(
        f"validates {change.name} on {_table(step)} while {reason}",
        f"validate in a separate transaction: a later revision, or {step.outside_transaction}",
    )


@change_rule(
    "EC315",
    "unbatched-backfill",
    "one UPDATE/DELETE over an existing table inside a migration",
    Severity.WARNING,
)
def unbatched_backfill(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `UPDATE` and `DELETE ... WHERE` statements on an existing table inside a migration
    (`DELETE` without `WHERE` is EC108). The version table Alembic writes is ignored.

    ## Why is this bad?
    One statement updates every matching row in one transaction: it locks those rows until commit,
    bloats the table, and with the revision's DDL in the same transaction it holds DDL locks for
    the whole backfill.

    ## Example
    ```python
    def upgrade():
        op.execute("UPDATE users SET email_address = email")
    ```

    ## Use instead
    Backfill in batches (by primary key ranges), each committed on its own, outside the DDL
    transaction, between the expand and the contract step.

    ## In Alembic
    Use `op.ec_backfill(table, {column: expression}, where=...)`: it walks the table by primary key
    in committed batches, outside the revision's DDL transaction, and resumes where it stopped if
    it is killed (see docs/operations.md). A loop of your own works too; the linter cannot see that
    a statement is one batch of it, so say so where it is:
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            while True:
                # expandcontract: ignore[EC315] -- one batch of 5000, committed on its own
                done = op.get_bind().execute(sa.text(
                    "UPDATE users SET email_address = email "
                    "WHERE id IN (SELECT id FROM users WHERE email_address IS NULL LIMIT 5000)"
                )).rowcount
                if not done:
                    break
    ```
    """
    change = step.change
    if change.kind not in (ChangeKind.UPDATE, ChangeKind.DELETE) or not step.existing_table:
        return
    if change.batched or (change.kind is ChangeKind.DELETE and not change.has_where):
        return  # op.ec_backfill; EC108
    if step.on_version_table():
        return
    verb = "updates" if change.kind is ChangeKind.UPDATE else "deletes from"
    yield Hit(
        f"{verb} {_table(step)} in one statement inside the migration",
        "backfill in committed batches outside the DDL transaction (a data step between expand and contract)",
    )


_ALWAYS_SLOW = frozenset(
    {
        ChangeKind.CREATE_INDEX,
        ChangeKind.VALIDATE_CONSTRAINT,
        ChangeKind.UPDATE,
        ChangeKind.DELETE,
        ChangeKind.INSERT,
        ChangeKind.TABLE_MAINTENANCE,
    }
)


def _slow(step: Step) -> bool:
    """The statement scans, rewrites or builds something (so it holds earlier locks for long)."""
    change = step.change
    if change.kind in _ALWAYS_SLOW:
        return True
    if change.kind is ChangeKind.ALTER_COLUMN_TYPE:
        return type_verdict(step) is not TypeChange.SAFE
    if change.kind is ChangeKind.SET_NOT_NULL:
        already = step.column is not None and step.column.nullable is False
        return not already and not (step.proven_not_null and step.postgresql_version >= 12)
    if change.kind is ChangeKind.ADD_COLUMN:
        return change.volatile_default or change.generated
    if change.kind is ChangeKind.ADD_CONSTRAINT:
        return not change.not_valid and not change.using_index
    return False


@change_rule(
    "EC316",
    "many-locks-one-transaction",
    "more statements after an ACCESS EXCLUSIVE lock in one transaction",
    Severity.WARNING,
    postgresql_only=True,
)
def many_locks_one_transaction(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags a statement that locks another existing table, or does slow work (an index build, a
    validation, a scan, DML), after an earlier statement in the same transaction took an ACCESS
    EXCLUSIVE lock on an existing table.

    ## Why is this bad?
    Locks are held until the transaction commits. The first table stays blocked for reads and writes
    while the rest runs, and waiting for a second table's lock while holding the first is how
    migrations queue up every query or deadlock with the application.

    ## Example
    ```python
    def upgrade():
        op.add_column("orders", sa.Column("note", sa.Text()))
        op.add_column("users", sa.Column("note", sa.Text()))
    ```

    ## Use instead
    One lock-taking statement per transaction: separate revisions with
    `transaction_per_migration=True`, or commit between them with `autocommit_block()`.

    ## In Alembic
    Split the revision in two, one table each.
    """
    change = step.change
    held = [
        c
        for c in step.transaction.exclusive
        if not (c.location == change.location and c.sql == change.sql and c.kind is change.kind)
    ]  # the other targets of this same statement (TRUNCATE a, b) are not "further statements"
    if not held or not step.in_transaction or not step.existing_table or step.on_version_table():
        return
    first = held[0]
    other_table = (change.table or "").lower() != (first.table or first.name or "").lower()
    lock = lock_of(change)
    if (other_table and lock >= Lock.ROW_EXCLUSIVE) or (lock > Lock.NONE and _slow(step)):
        yield Hit(
            f"runs while this transaction holds an ACCESS EXCLUSIVE lock on {first.table or first.name} "
            f"({step.line_of(first)}); that table stays blocked until commit",
            "one lock-taking statement per transaction: split the revision or commit in between",
        )


RULES = (
    index_not_concurrent,
    drop_index_not_concurrent,
    foreign_key_validates,
    check_validates,
    unique_constraint_locks,
    primary_key_locks,
    volatile_default,
    rewriting_column,
    not_null_scans,
    type_change_rewrites,
    table_rewrite,
    exclusion_constraint,
    detach_partition_locks,
    validate_in_same_transaction,
    unbatched_backfill,
    many_locks_one_transaction,
)
