"""The vocabulary every part of expandcontract speaks: phases, changes, revisions.

Both adapters (Alembic operations and raw SQL) produce `Change` objects; classification, the
linter and the gate only ever look at these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Phase(StrEnum):
    """When a change is compatible with the release that is running."""

    EXPAND = "expand"  # additive, safe before the code deploy
    CONTRACT = "contract"  # removes or tightens; safe only after old releases are gone
    DATA = "data"  # moves data (backfills); runs between expand and contract
    RECIPE = "needs-recipe"  # unsafe in any single phase (rename, incompatible type change)
    ANY = "any"  # compatible with every release (comments, grants, session settings)
    UNKNOWN = "unknown"  # the tool could not understand it (opaque SQL)


class Hazard(StrEnum):
    """Operational risks independent of phase."""

    LOCKING = "locking"  # holds a lock that blocks reads or writes for a scan or a build
    REWRITE = "rewrite"  # rewrites the table (and its indexes)
    TRANSACTION = "transaction"  # cannot run (or misbehaves) inside a transaction block


class DeclaredPhase(StrEnum):
    """Where a revision sits in the layout, which says when it runs."""

    EXPAND = "expand"  # on the expand branch: runs before the code deploy
    CONTRACT = "contract"  # on the contract branch: runs after the rollout, behind the gate
    BASELINE = "baseline"  # the common root and the history before it (already released)
    UNPHASED = "unphased"  # no phase branches, or on neither branch: treated as running before the deploy


class ChangeKind(StrEnum):
    CREATE_TABLE = "create-table"
    DROP_TABLE = "drop-table"
    RENAME_TABLE = "rename-table"
    ADD_COLUMN = "add-column"
    DROP_COLUMN = "drop-column"
    RENAME_COLUMN = "rename-column"
    ALTER_COLUMN_TYPE = "alter-column-type"
    # a column replaced by another under its name in one step (drop, then rename the replacement to
    # it); `columns` holds the replacement, `type` its type (op.ec_swap_columns)
    SWAP_COLUMN = "swap-column"
    SET_NOT_NULL = "set-not-null"
    DROP_NOT_NULL = "drop-not-null"
    SET_DEFAULT = "set-default"
    DROP_DEFAULT = "drop-default"
    RESTRICT_WRITES = (
        "restrict-writes"  # a column starts rejecting values old writers send (GENERATED ALWAYS)
    )
    CREATE_INDEX = "create-index"
    DROP_INDEX = "drop-index"
    ADD_CONSTRAINT = "add-constraint"
    DROP_CONSTRAINT = "drop-constraint"
    VALIDATE_CONSTRAINT = "validate-constraint"
    RENAME_OBJECT = "rename-object"  # index, constraint, sequence, schema, ...; also SET SCHEMA
    CREATE_OBJECT = "create-object"  # view, function, type, sequence, schema, trigger, extension
    DROP_OBJECT = "drop-object"
    ADD_ENUM_VALUE = "add-enum-value"
    RENAME_ENUM_VALUE = "rename-enum-value"
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    TRUNCATE = "truncate"
    TABLE_MAINTENANCE = "table-maintenance"  # VACUUM FULL, CLUSTER, REINDEX, SET LOGGED, ...
    ATTACH_PARTITION = "attach-partition"
    DETACH_PARTITION = "detach-partition"
    LOCK_TABLE = "lock-table"
    QUERY = "query"  # SELECT: reads, or calls functions
    SESSION_SETTING = "session-setting"  # SET / RESET
    TRANSACTION_CONTROL = "transaction-control"  # BEGIN / COMMIT / ROLLBACK
    COMMENT = "comment"
    GRANT = "grant"
    OTHER_DDL = "other-ddl"  # understood, harmless for old code (e.g. ALTER TABLE ... SET (fillfactor))
    OPAQUE = "opaque"  # not understood: never a silent pass


class ConstraintType(StrEnum):
    PRIMARY_KEY = "primary-key"
    UNIQUE = "unique"
    FOREIGN_KEY = "foreign-key"
    CHECK = "check"
    EXCLUDE = "exclude"
    NOT_NULL = "not-null"
    UNKNOWN = "unknown"


class ReadMode(StrEnum):
    """How a revision was read."""

    OFFLINE = "offline"  # its upgrade() ran against an offline MigrationContext
    AST = "ast"  # it could not run offline; read from its syntax tree only


@dataclass(frozen=True)
class Location:
    path: str
    line: int  # 1-based; 0 when unknown
    column: int = 0  # 1-based; 0 when unknown

    def __str__(self) -> str:
        if not self.line:
            return self.path
        return f"{self.path}:{self.line}:{self.column}" if self.column else f"{self.path}:{self.line}"


@dataclass(frozen=True)
class ColumnSpec:
    """A column as a CREATE TABLE defines it (what the linter's schema replay starts from)."""

    name: str
    type: str | None = None
    nullable: bool = True
    default: str | None = None


@dataclass(frozen=True)
class Change:
    """One normalized schema or data change, whatever wrote it.

    Fields that do not apply to a kind stay at their defaults.
    """

    kind: ChangeKind
    location: Location
    table: str | None = None
    schema: str | None = None
    column: str | None = None
    name: str | None = None  # index, constraint or object name
    new_name: str | None = None  # target of a rename
    object_type: str | None = None  # for *_OBJECT kinds: view, function, type, ...
    constraint_type: ConstraintType | None = None
    columns: tuple[str, ...] = ()
    column_specs: tuple[ColumnSpec, ...] = ()  # CREATE TABLE: each column's type, nullability, default
    # ADD CONSTRAINT CHECK: the columns its expression proves NOT NULL (`a IS NOT NULL AND b IS NOT NULL`)
    proves_not_null: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()  # columns a DML statement reads, as "table.column" or "column"
    type: str | None = None  # new column type, as SQL
    old_type: str | None = None  # previous column type when known
    nullable: bool | None = None
    default: str | None = None  # server default, as SQL
    unique: bool = False
    concurrently: bool = False
    not_valid: bool = False
    using_index: str | None = None  # ADD CONSTRAINT ... USING INDEX ix
    has_where: bool = False  # DML with a WHERE clause
    volatile_default: bool = False
    generated: bool = False  # stored generated, identity or serial column
    in_transaction: bool = True  # False inside autocommit_block() or after an explicit COMMIT
    transaction: int = 0  # transaction boundaries (BEGIN, COMMIT, ROLLBACK, autocommit_block) before it
    operation: str = ""  # Alembic op class name, "sql" for parsed SQL, or the op name read from the AST
    sql: str = ""  # the SQL this change comes from (empty when unknown)
    detail: str = ""  # why a change is opaque, or what it is when nothing else says
    batched: bool = False  # DML run in committed batches (op.ec_backfill), not as one statement

    @property
    def target(self) -> str:
        """A short human name for what the change touches: `schema.table.column`, an index, ..."""
        parts = [p for p in (self.schema, self.table) if p]
        base = ".".join(parts)
        if self.column:
            base = f"{base}.{self.column}" if base else self.column
        if self.name and not self.column:
            base = f"{self.name} on {base}" if base else self.name
        return base


@dataclass(frozen=True)
class RevisionInfo:
    """A revision's identity and place in the graph, read without running it."""

    revision: str
    path: str
    message: str
    down_revisions: tuple[str, ...]
    depends_on: tuple[str, ...]  # resolved revision ids
    branch_labels: tuple[str, ...]  # declared on this revision only
    declared_phase: DeclaredPhase
    requires_release: str | None = None

    @property
    def is_merge(self) -> bool:
        return len(self.down_revisions) > 1


@dataclass(frozen=True)
class CapturedOperation:
    """One operation as a revision ran it offline."""

    name: str  # the operation's class, e.g. AddColumnOp
    location: Location
    sql: str  # what it emitted for the configured dialect
    operation: object = field(compare=False, repr=False)  # the Alembic operation object itself


@dataclass(frozen=True)
class CapturedRevision:
    """What a revision's upgrade() does, as changes, and how faithfully it was read."""

    info: RevisionInfo
    changes: tuple[Change, ...]
    read_mode: ReadMode
    unreadable_reason: str = ""  # why it could not run offline (ReadMode.AST only)
    operations: tuple[CapturedOperation, ...] = ()  # empty when read from the AST
    # where upgrade() queried the database through op.get_bind(); offline every query returns no rows
    database_reads: tuple[Location, ...] = ()
    stand_ins: tuple[str, ...] = ()  # what it imports that is not installed (read through stand-ins)


@dataclass(frozen=True)
class ClassifiedChange:
    change: Change
    phase: Phase
    hazards: frozenset[Hazard]
    fits: bool  # compatible with the revision's declared phase


@dataclass(frozen=True)
class RevisionClassification:
    info: RevisionInfo
    read_mode: ReadMode
    unreadable_reason: str
    inferred_phase: Phase | None  # None for a revision with no changes
    changes: tuple[ClassifiedChange, ...] = field(default=())
    database_reads: tuple[Location, ...] = ()  # queries answered with no rows while read offline
    stand_ins: tuple[str, ...] = ()  # imports that are not installed, read through stand-ins

    @property
    def mismatch(self) -> bool:
        return any(not c.fits for c in self.changes)


@dataclass(frozen=True)
class WrittenLayout:
    """What `init` or `adopt` wrote."""

    created: tuple[Path, ...]  # files written or changed
    root: str  # the common root revision
    expand_root: str
    contract_root: str
    notes: tuple[str, ...] = ()  # what the user still has to do by hand


class Severity(StrEnum):
    """How a lint finding counts: errors fail the run, warnings only with --strict, gated never."""

    ERROR = "error"
    WARNING = "warning"
    GATED = "gated"  # a contract change in a contract revision: allowed, it runs behind the gate


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one change (or one revision), where the user can see and fix it."""

    code: str  # EC101
    name: str  # drop-column
    severity: Severity
    location: Location
    message: str  # one line; names the table/column
    fix: str = ""  # what to write instead, for Alembic
    revision: str | None = None  # None for SQL files
    target: str = ""  # what the change touches: `users.email`, `ix_a on users`
