"""EC9xx: the tool's own honesty. What it could not read, and suppressions that do not hold up."""

from __future__ import annotations

from collections.abc import Iterator

from expandcontract.model import ChangeKind, Location, ReadMode, Severity
from expandcontract.rules.base import Hit, Step, Unit, change_rule, engine_rule, unit_rule


@change_rule("EC901", "opaque-statement", "SQL the tool cannot understand", Severity.WARNING)
def opaque_statement(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Reports every statement the tool cannot understand: SQL built at run time, syntax the parser does
    not support, an operation that emitted nothing it could read. It is never a silent pass: what
    the linter cannot read, the contract gate cannot judge either.

    ## Why is this bad?
    What the tool cannot read, it cannot check: the statement may drop a column or lock a table.

    ## Example
    ```python
    def upgrade():
        op.execute(f"ALTER TABLE {table} DROP COLUMN legacy")
    ```

    ## Use instead
    Write the SQL literally, or use Alembic operations, which the tool reads with all their arguments.

    ## In Alembic
    ```python
    def upgrade():
        op.drop_column("orders", "legacy")
    ```
    When the statement is fine, say why: `# expandcontract: ignore[EC901] -- refreshes a materialized view`.
    """
    change = step.change
    if change.kind is ChangeKind.OPAQUE:
        text = " ".join(change.sql.split())
        shown = f": {text[:60]}{'...' if len(text) > 60 else ''}" if text else ""
        yield Hit(
            f"cannot understand this statement ({' '.join(change.detail.split())}){shown}",
            "write the SQL literally or use an Alembic operation; if it is safe, suppress with the reason",
        )


@unit_rule(
    "EC902", "offline-unreadable", "a revision that cannot run offline; read from its AST", Severity.WARNING
)
def offline_unreadable(unit: Unit) -> Iterator[Hit]:
    """
    ## What it does
    Reports a revision whose `upgrade()` could not run offline (it queries the database with
    reflection or an ORM session, or fails at import), so the tool read it from its syntax tree
    instead. The message gives the reason. Operations the AST shows are still checked; SQL built
    from query results is not visible.

    ## Why is this bad?
    Code that depends on what the database returns may do more than the source shows: findings for
    this revision may be incomplete.

    ## Example
    ```python
    def upgrade():
        bind = op.get_bind()
        for name in sa.inspect(bind).get_table_names():
            op.drop_column(name, "legacy")
    ```

    ## Use instead
    Keep schema changes in plain operations; do data-dependent work in a separate data step.

    ## In Alembic
    Guard the query with `if not context.is_offline_mode():` so the operations can be read offline.
    """
    if unit.read_mode is ReadMode.AST:
        yield Hit(
            f"revision {unit.revision} could not run offline ({unit.unreadable_reason}); "
            "checked from its source only",
            "keep queries out of upgrade() or guard them with context.is_offline_mode()",
            location=Location(unit.path, 1, 1),
        )


@engine_rule("EC903", "unused-suppression", "a suppression that suppressed nothing", Severity.WARNING)
def unused_suppression() -> None:
    """
    ## What it does
    Reports a suppression comment (`# expandcontract: ignore[...]`, an `ignore-file[...]` line, or a
    `per-revision-ignores` entry in config) that suppressed no finding, or that names a rule that
    does not exist. Suppressions of rules that are not selected in this run are not reported.

    ## Why is this bad?
    A stale suppression hides the next real finding on that line, and an unknown code (a typo)
    suppresses nothing while looking like it does.

    ## Example
    ```python
    # expandcontract: ignore[EC110] -- old column is unused
    op.drop_column("users", "email")  # the rule is EC101
    ```

    ## Use instead
    Remove the suppression, or fix the code.

    ## In Alembic
    ```python
    # expandcontract: ignore[EC101] -- old column unused since 2.3
    op.drop_column("users", "email")
    ```
    """


@engine_rule("EC904", "suppression-without-reason", "a suppression without a reason")
def suppression_without_reason() -> None:
    """
    ## What it does
    Reports a suppression comment with no reason after `--`.

    ## Why is this bad?
    A suppression is a claim that a finding is safe; without the reason nobody can check the claim
    later, and suppressions get copied from revision to revision.

    ## Example
    ```python
    op.drop_column("users", "email")  # expandcontract: ignore[EC101]
    ```

    ## Use instead
    Say why it is safe.

    ## In Alembic
    ```python
    op.drop_column("users", "email")  # expandcontract: ignore[EC101] -- unused since release 2.3
    ```
    """


RULES = (opaque_statement, offline_unreadable, unused_suppression, suppression_without_reason)
