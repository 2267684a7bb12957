"""The corpus vocabulary: a `Case` is an Alembic history or a SQL script, labelled with the exact set of
codes its revisions under test must raise.

    alembic("drop_column_in_expand", "EC101 EC001", expand('op.drop_column("accounts", "email")'))
    sql_case("drop_table_sql", "EC102 EC001", "DROP TABLE orders;")
    alembic("varchar_widening", "", expand('op.alter_column("accounts", "email", type_=sa.String(255))'))

An Alembic case gets the shop baseline (schema.SHOP, released history) unless it brings its own `base()`
revisions. Everything after the released history is under test; the label is the union of the codes those
revisions raise (every severity, "gated" included). EC403 is ignored unless the case sets
`timeouts=True` (see bench/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from lint_corpus.schema import SHOP

RevPhase = Literal["base", "expand", "contract", "unphased", "stray"]
EnvKind = Literal["hook", "none", "plain", "shared", "lock_timeout", "statement_timeout"]


@dataclass(frozen=True)
class Rev:
    """One revision: its upgrade() body and where it sits.

    phase: base (released history, before the branch point), expand, contract, unphased (a project
    without phase branches), stray (a phased project, but on neither branch: grows from the common root).
    """

    body: str
    phase: RevPhase = "expand"
    rev_id: str | None = None  # default: e1, e2, c1, ... per phase
    depends_on: tuple[str, ...] = ()
    docstring: str = ""
    module: str = ""  # extra module-level code
    folder: str | None = None  # override the folder under versions/: "", "expand" or "contract"


def base(body: str = SHOP, **kw: object) -> Rev:
    return Rev(body=body, phase="base", **kw)  # type: ignore[arg-type]


def expand(body: str, **kw: object) -> Rev:
    return Rev(body=body, phase="expand", **kw)  # type: ignore[arg-type]


def contract(body: str, **kw: object) -> Rev:
    return Rev(body=body, phase="contract", **kw)  # type: ignore[arg-type]


def unphased(body: str, **kw: object) -> Rev:
    return Rev(body=body, phase="unphased", **kw)  # type: ignore[arg-type]


def stray(body: str, **kw: object) -> Rev:
    return Rev(body=body, phase="stray", **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    """A labelled case. `expect` is the exact set of codes, space-separated ("" for a safe twin)."""

    name: str
    expect: str
    revisions: tuple[Rev, ...] = ()
    sql: str | None = None  # a SQL script instead of a history
    postgresql_version: int = 16
    select: tuple[str, ...] = ()  # opt-in rules this case turns on (added to the default selection)
    settings: Mapping[str, object] = field(default_factory=dict)  # Settings / LintSettings fields
    env: EnvKind = "hook"  # the env.py the project gets (Alembic cases)
    timeouts: bool = False  # keep EC403 (missing-lock-timeout) on
    whole_history: bool = False  # lint with no targets instead of the range after the released history
    note: str = ""  # why the label is what it is, when it is not obvious
    theme: str = ""  # filled in by lint_corpus.all_cases()

    @property
    def expected(self) -> frozenset[str]:
        return frozenset(self.expect.split())

    @property
    def is_sql(self) -> bool:
        return self.sql is not None


def alembic(name: str, expect: str, *revisions: Rev, **kw: object) -> Case:
    """An Alembic case; the shop baseline is prepended unless a `base()` revision is given."""
    revs = revisions if any(r.phase == "base" for r in revisions) else (base(), *revisions)
    return Case(name=name, expect=expect, revisions=revs, **kw)  # type: ignore[arg-type]


def sql_case(name: str, expect: str, sql: str, **kw: object) -> Case:
    """A plain SQL file, linted as `expandcontract lint file.sql` (it runs before the deploy)."""
    return Case(name=name, expect=expect, sql=sql, **kw)  # type: ignore[arg-type]
