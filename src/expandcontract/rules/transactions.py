"""EC4xx: transactions and timeouts. Statements that fail or misbehave in the transaction Alembic
wraps a revision in, and lock waits nothing bounds."""

from __future__ import annotations

from collections.abc import Iterator

from expandcontract.model import ChangeKind, Severity
from expandcontract.rules.base import Hit, Step, change_rule
from expandcontract.rules.locks import lock_of


def _timeout_fix(step: Step, setting: str, value: str) -> str:
    if not step.unit.is_revision:
        return f"SET {setting} = '{value}' before it (SET LOCAL inside BEGIN ... COMMIT)"
    if setting == "lock_timeout":
        return (
            "call before_migrations(context) in env.py (sets `lock-timeout`), or "
            f"op.execute(\"SET LOCAL lock_timeout = '{value}'\") first"
        )
    return f"op.execute(\"SET LOCAL {setting} = '{value}'\") first, or set it in env.py"


def _locked(step: Step) -> str:
    return step.change.table or step.change.name or "a table"


def _concurrent_statement(step: Step) -> str | None:
    change = step.change
    if not change.concurrently:
        return None
    if change.kind is ChangeKind.CREATE_INDEX:
        return "CREATE INDEX CONCURRENTLY"
    if change.kind is ChangeKind.DROP_INDEX:
        return "DROP INDEX CONCURRENTLY"
    if change.kind is ChangeKind.TABLE_MAINTENANCE and change.detail == "REINDEX":
        return "REINDEX CONCURRENTLY"
    if change.kind is ChangeKind.DETACH_PARTITION:
        return "DETACH PARTITION CONCURRENTLY"
    return None


@change_rule(
    "EC401",
    "concurrently-in-transaction",
    "a CONCURRENTLY statement inside a transaction",
    postgresql_only=True,
)
def concurrently_in_transaction(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY` and
    `DETACH PARTITION ... CONCURRENTLY` (including `postgresql_concurrently=True`) that run inside
    the transaction Alembic opens for a revision, i.e. outside `autocommit_block()`. In SQL files,
    statements between `BEGIN` and `COMMIT` count as in a transaction.

    ## Why is this bad?
    PostgreSQL refuses them in a transaction block: `CREATE INDEX CONCURRENTLY cannot run inside a
    transaction block`. The migration fails at deploy time, part-way through.

    ## Example
    ```python
    def upgrade():
        op.create_index("ix_a", "t", ["a"], postgresql_concurrently=True)
    ```

    ## Use instead
    Run it outside the transaction.

    ## In Alembic
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.create_index("ix_a", "t", ["a"], postgresql_concurrently=True)
    ```
    """
    statement = _concurrent_statement(step)
    if statement and step.in_transaction:
        yield Hit(
            f"{statement} inside a transaction fails at run time (cannot run inside a transaction block)",
            f"move it {step.outside_transaction}",
        )


@change_rule(
    "EC402",
    "enum-value-in-transaction",
    "ALTER TYPE ... ADD VALUE inside a transaction",
    postgresql_only=True,
)
def enum_value_in_transaction(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `ALTER TYPE ... ADD VALUE` inside the revision's transaction when the target is
    PostgreSQL 11 or older (where it is an error), and on PostgreSQL 12+ when a later statement of
    the same transaction uses the new value (it is unusable until the transaction commits).

    ## Why is this bad?
    Before PostgreSQL 12 the statement fails in a transaction block. From 12 on it runs, but the new
    value cannot be used until commit: `unsafe use of new value` fails the migration.

    ## Example
    ```python
    def upgrade():
        op.execute("ALTER TYPE order_status ADD VALUE 'refunded'")
        op.execute("UPDATE orders SET status = 'refunded' WHERE refunded_at IS NOT NULL")
    ```

    ## Use instead
    Add the value outside the transaction, and use it in a later transaction.

    ## In Alembic
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded'")
    ```
    """
    change = step.change
    if change.kind is not ChangeKind.ADD_ENUM_VALUE or not step.in_transaction:
        return
    value = change.new_name or ""
    if step.postgresql_version < 12:
        yield Hit(
            f"adds value '{value}' to enum {change.name} in a transaction, which PostgreSQL "
            f"{step.postgresql_version} refuses",
            f"move it {step.outside_transaction}",
        )
        return
    used = next((c for c in step.transaction.later if value and f"'{value}'" in c.sql), None)
    if used is not None:
        yield Hit(
            f"adds value '{value}' to enum {change.name} and uses it at {step.line_of(used)} "
            "in the same transaction; the value is unusable until commit",
            f"move it {step.outside_transaction}, or use the value in a later revision",
        )


@change_rule(
    "EC403",
    "missing-lock-timeout",
    "a lock-taking statement with no lock_timeout in effect",
    Severity.WARNING,
    postgresql_only=True,
)
def missing_lock_timeout(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags a statement that takes a lock blocking writes (SHARE or stronger) on an existing table when
    no `lock_timeout` is in effect. A timeout is in effect when the revision (or SQL file) sets it
    earlier (`SET lock_timeout`, or `SET LOCAL` in the same transaction), when the project's env.py
    sets it, or when env.py calls expandcontract's `before_migrations(context)` and `lock-timeout`
    is not turned off.

    ## Why is this bad?
    A DDL statement waiting for its lock behind one long-running query blocks every query that comes
    after it: a few seconds of waiting becomes a full outage. A short `lock_timeout` makes it fail
    fast and retry instead.

    ## Example
    ```python
    def upgrade():
        op.add_column("orders", sa.Column("note", sa.Text()))
    ```

    ## Use instead
    Set a short lock_timeout for migrations (1-5 s) and retry on timeout.

    ## In Alembic
    ```python
    # env.py, as `expandcontract init` writes it: sets `lock-timeout` (default 2s)
    with context.begin_transaction():
        before_migrations(context)
        context.run_migrations()

    # or per revision
    def upgrade():
        op.execute("SET LOCAL lock_timeout = '2s'")
        op.add_column("orders", sa.Column("note", sa.Text()))
    ```
    """
    change = step.change
    lock = lock_of(change)
    if lock.blocks_writes and step.existing_table and not step.lock_timeout:
        yield Hit(
            f"takes {lock.label} on {_locked(step)} with no lock_timeout in effect; "
            "while it waits, every query of the table queues behind it",
            _timeout_fix(step, "lock_timeout", "2s"),
        )


@change_rule(
    "EC404",
    "missing-statement-timeout",
    "a lock-taking statement with no statement_timeout in effect",
    Severity.WARNING,
    opt_in=True,
    postgresql_only=True,
)
def missing_statement_timeout(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags a statement that takes a lock blocking writes on an existing table when no
    `statement_timeout` is in effect (set earlier in the revision or in env.py). Opt-in.

    ## Why is this bad?
    Once granted, a lock is held for as long as the statement runs; an unexpectedly slow scan or
    rewrite keeps the table blocked with nothing to stop it.

    ## Example
    ```python
    def upgrade():
        op.add_column("orders", sa.Column("note", sa.Text()))
    ```

    ## Use instead
    Bound statements that hold strong locks.

    ## In Alembic
    ```python
    def upgrade():
        op.execute("SET LOCAL statement_timeout = '30s'")
        op.add_column("orders", sa.Column("note", sa.Text()))
    ```
    """
    change = step.change
    lock = lock_of(change)
    if lock.blocks_writes and step.existing_table and not step.statement_timeout:
        yield Hit(
            f"holds {lock.label} on {_locked(step)} with no statement_timeout in effect",
            _timeout_fix(step, "statement_timeout", "30s"),
        )


@change_rule("EC405", "explicit-transaction-control", "BEGIN/COMMIT/ROLLBACK inside an Alembic revision")
def explicit_transaction_control(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `BEGIN`, `COMMIT`, `ROLLBACK` (and their variants) executed inside an Alembic revision.
    SQL files own their transactions and are not flagged.

    ## Why is this bad?
    Alembic already runs each revision (or the whole run) in a transaction and records the version
    in it. A `COMMIT` in the middle commits half a migration and the version row out of step; a
    later failure leaves the schema between two revisions.

    ## Example
    ```python
    def upgrade():
        op.execute("COMMIT")
        op.execute("CREATE INDEX CONCURRENTLY ix_a ON t (a)")
    ```

    ## Use instead
    `autocommit_block()`, which ends and restarts Alembic's transaction properly.

    ## In Alembic
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("CREATE INDEX CONCURRENTLY ix_a ON t (a)")
    ```
    """
    change = step.change
    if change.kind is ChangeKind.TRANSACTION_CONTROL and step.unit.is_revision:
        yield Hit(
            f"{change.detail.upper()} inside a revision that Alembic already runs in a transaction",
            "use `with op.get_context().autocommit_block():` for statements that must run outside it",
        )


RULES = (
    concurrently_in_transaction,
    enum_value_in_transaction,
    missing_lock_timeout,
    missing_statement_timeout,
    explicit_transaction_control,
)
