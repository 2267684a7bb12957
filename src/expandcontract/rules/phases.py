"""EC0xx: phases. Whether each revision's changes fit the phase it runs in."""

from __future__ import annotations

from collections.abc import Iterator

from expandcontract.classify import classify_change
from expandcontract.model import DeclaredPhase, Phase, Severity
from expandcontract.rules.base import DML, Hit, Step, change_rule, engine_rule


@engine_rule("EC001", "contract-in-expand", "a contract change in a revision that runs before the deploy")
def contract_in_expand() -> None:
    """
    ## What it does
    Reports, once per revision, a revision that runs before the code deploy (on the expand branch,
    or any revision of a project without phase branches, or a SQL file) and makes contract changes:
    drops, tightenings, anything the classifier puts in the contract phase. The message lists them;
    each also has its own EC1xx finding. Changes whose own finding is suppressed are left out.

    ## Why is this bad?
    Before the deploy, the old release is all that is running, and it uses what the change removes.

    ## Example
    ```python
    # versions/expand/3f2a_cleanup.py
    def upgrade():
        op.add_column("users", sa.Column("email_address", sa.String(255)))
        op.drop_column("users", "email")
    ```

    ## Use instead
    Keep the expand revision additive; move the contract changes to a contract revision that
    `depends_on` it.

    ## In Alembic
    `expandcontract revision --phase contract --completes 3f2a -m "drop users.email"`
    """


@change_rule("EC002", "expand-in-contract", "an additive change in a contract revision", Severity.WARNING)
def expand_in_contract(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags an additive change (new table, column, index, constraint, relaxation) in a contract
    revision.

    ## Why is this bad?
    Contract revisions run after the deploy, behind the gate. Code of the release being deployed
    that needs the addition runs without it until then: it fails, or the contract step is blocked
    and the addition waits with it.

    ## Example
    ```python
    # versions/contract/7c1d_drop_email.py
    def upgrade():
        op.drop_column("users", "email")
        op.add_column("users", sa.Column("email_verified", sa.Boolean()))
    ```

    ## Use instead
    Put additions in an expand revision, so they exist before the code that uses them.

    ## In Alembic
    `expandcontract revision --phase expand -m "add users.email_verified"`
    """
    additive = classify_change(step.change)[0] is Phase.EXPAND  # not a drop that is harmless on a new table
    if step.unit.phase is DeclaredPhase.CONTRACT and step.phase is Phase.EXPAND and additive:
        change = step.change
        what = change.kind.value.replace("-", " ")
        target = change.target or change.name or ""
        yield Hit(
            f"{what} {target} is additive but runs after the deploy (contract branch)".replace("  ", " "),
            "move it to an expand revision (expandcontract revision --phase expand)",
        )


@engine_rule("EC003", "unsplit-change", "a change no single phase can hold, not written as a recipe")
def unsplit_change() -> None:
    """
    ## What it does
    Reports, once per revision, changes that are unsafe in any single phase (in-place renames,
    incompatible type changes, required columns without a default: the EC2xx rules) and that are
    not written as an expand/contract recipe. The message lists them; each also has its own EC2xx
    finding. Changes whose own finding is suppressed are left out.

    ## Why is this bad?
    Run before the deploy, they break the old release; after it, the new one. No phase is safe.

    ## Example
    ```python
    def upgrade():
        op.alter_column("users", "email", new_column_name="email_address")
    ```

    ## Use instead
    The recipe: expand (new column, sync trigger, backfill), deploy, contract (drop the old one).

    ## In Alembic
    `expandcontract revision --phase expand` for the new column, `--phase contract --completes` for
    the drop; see the EC2xx rule pages for each recipe.
    """


@change_rule("EC004", "data-with-schema", "DML in the same revision as DDL", Severity.WARNING)
def data_with_schema(step: Step) -> Iterator[Hit]:
    """
    ## What it does
    Flags `INSERT`, `UPDATE` and `DELETE` on an existing table in a revision (or SQL file) that also
    changes the schema. Seeding a table created in the same revision is not flagged, nor is
    Alembic's version table, nor a batched backfill (`op.ec_backfill`), which runs after the
    revision's DDL has committed, in transactions of its own.

    ## Why is this bad?
    Data changes belong to their own phase, between expand and contract: in the DDL's transaction,
    the DDL's locks are held for as long as the data change runs, and a failure rolls back both.

    ## Example
    ```python
    def upgrade():
        op.add_column("users", sa.Column("email_address", sa.String(255)))
        op.execute("UPDATE users SET email_address = email")
    ```

    ## Use instead
    A separate data revision (or backfill job) after the expand revision, batched.

    ## In Alembic
    ```python
    # versions/expand/a1_add_email_address.py: the column only
    # versions/expand/a2_backfill_email_address.py: the backfill, in batches
    ```
    """
    change = step.change
    if change.kind not in DML or not step.existing_table or change.batched:
        return
    if step.on_version_table():
        return
    ddl = step.unit.first_schema_change
    if ddl is not None:
        yield Hit(
            f"{change.kind.value.upper()} on {change.table or 'a table'} in the same revision as schema "
            f"changes (line {ddl.location.line})",
            "move the data change to its own revision or backfill job, between expand and contract",
        )


@engine_rule(
    "EC005", "contract-without-expand", "a contract revision that does not depend on its expand part"
)
def contract_without_expand() -> None:
    """
    ## What it does
    Reports a contract revision that drops a column an expand revision's backfill copies from, but
    does not list that expand revision in `depends_on` (the same check as `expandcontract check`).

    ## Why is this bad?
    Without the dependency Alembic may run the contract revision before the expand revision that
    still needs the column: the backfill then fails, or copies nothing.

    ## Example
    ```python
    # versions/contract/7c1d_drop_email.py
    down_revision = "c0ffee"  # the contract branch
    depends_on = None
    def upgrade():
        op.drop_column("users", "email")
    ```

    ## Use instead
    Declare the dependency.

    ## In Alembic
    ```python
    depends_on = "3f2a"  # the expand revision that copies users.email
    ```
    """


@engine_rule("EC006", "unphased-revision", "a revision on neither phase branch, or in the wrong folder")
def unphased_revision() -> None:
    """
    ## What it does
    In a project with expand and contract branches, reports a revision that is on neither branch,
    merges the branches, or sits in the folder of the other phase (the same check as
    `expandcontract check`).

    ## Why is this bad?
    `upgrade --phase expand` and the gate decide what runs when from the branch a revision is on. A
    revision on neither branch runs at an unknown moment.

    ## Example
    A revision in `versions/` whose `down_revision` is the expand head but that lives in
    `versions/contract/`.

    ## Use instead
    Create revisions with `expandcontract revision --phase expand|contract`.

    ## In Alembic
    `alembic revision --head expand@head --version-path versions/expand -m "..."`
    """


@engine_rule("EC007", "unreviewed-step", "an autogenerated step still marked for review")
def unreviewed_step() -> None:
    """
    ## What it does
    Reports each `# expandcontract: review` line in a revision's `upgrade()`: the phased autogenerate
    (`expandcontract revision --autogenerate`) writes one above a change it has no zero-downtime
    recipe for, or a recipe step that needs a person (a NOT NULL column with nothing to fill it,
    a constraint without a name, a type change it cannot swap). Review lines in `downgrade()` say
    what a downgrade cannot bring back; they are not reported.

    ## Why is this bad?
    The change under the line runs as autogenerate wrote it, which may break the running release
    or lock a busy table; nobody has said it is safe yet.

    ## Example
    ```python
    def upgrade():
        # expandcontract: review: an in-place rename breaks the running release; ...
        op.alter_column("users", "name", new_column_name="full_name")
    ```

    ## Use instead
    Read the line, rewrite the step as it says (or confirm it is safe), then delete the line.

    ## In Alembic
    A rename written as its recipe: `info={"renamed_from": "name"}` on the new column, then
    `expandcontract revision --autogenerate` again.
    """


RULES = (
    contract_in_expand,
    expand_in_contract,
    unsplit_change,
    data_with_schema,
    contract_without_expand,
    unphased_revision,
    unreviewed_step,
)
