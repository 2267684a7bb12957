"""The schema as the history builds it, replayed offline from `Change` objects.

The linter asks it what a change acts on: is the column already NOT NULL, what type does it have,
does a validated CHECK prove it non-null, and which revision created the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from expandcontract.model import Change, ChangeKind, ConstraintType

TableKey = tuple[str, str]  # (schema or "", table), lower-cased as PostgreSQL folds unquoted names


@dataclass
class ColumnState:
    type: str | None = None
    nullable: bool | None = None  # None: not known (the column was never seen created)
    default: str | None = None
    created_by: str | None = None  # the unit that added it; None: before the history


@dataclass
class TableState:
    created_by: str | None  # the unit (revision id or SQL file) that created it; None: before the history
    columns: dict[str, ColumnState] = field(default_factory=dict)
    proofs: dict[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # validated constraint -> non-null columns
    pending: dict[str, tuple[str, ...]] = field(default_factory=dict)  # NOT VALID constraint -> columns
    constraints: dict[str, str] = field(default_factory=dict)  # constraint name -> the unit that added it


def table_key(schema: str | None, table: str | None) -> TableKey | None:
    return ((schema or "").lower(), table.lower()) if table else None


def _key(change: Change) -> TableKey | None:
    return table_key(change.schema, change.table)


class SchemaReplay:
    """Applies changes in history order; answers questions about the state before the next one."""

    def __init__(self) -> None:
        self._tables: dict[TableKey, TableState] = {}
        self._indexes: dict[str, str] = {}  # index name (lower) -> the unit that created it
        self._objects: dict[tuple[str, str], str] = {}  # (object type, name) -> the unit that created it
        self._unnamed = 0

    def index_created_by(self, name: str | None) -> str | None:
        return self._indexes.get(name.lower()) if name else None

    def object_created_by(self, object_type: str | None, name: str | None) -> str | None:
        """Which unit created a view, function, type, sequence, ... (None: before the history)."""
        if object_type == "index":
            return self.index_created_by(name)
        return self._objects.get(((object_type or "").lower(), name.lower())) if name else None

    def table(self, change: Change) -> TableState | None:
        key = _key(change)
        return self._tables.get(key) if key else None

    def column(self, change: Change) -> ColumnState | None:
        table = self.table(change)
        if table is None or not change.column:
            return None
        return table.columns.get(change.column.lower())

    def constraint_created_by(self, change: Change) -> str | None:
        table = self.table(change)
        return table.constraints.get(change.name.lower()) if table is not None and change.name else None

    def proven_not_null(self, change: Change) -> bool:
        """A validated constraint (CHECK (c IS NOT NULL), PG18 NOT NULL) already proves the column."""
        table = self.table(change)
        column = (change.column or "").lower()
        return table is not None and any(column in cols for cols in table.proofs.values())

    def apply(self, change: Change, unit: str) -> None:
        kind = change.kind
        if kind is ChangeKind.CREATE_INDEX and change.name:
            self._indexes[change.name.lower()] = unit
        elif kind is ChangeKind.DROP_INDEX and change.name:
            self._indexes.pop(change.name.lower(), None)
        elif kind is ChangeKind.CREATE_OBJECT and change.name:
            self._objects[((change.object_type or "").lower(), change.name.lower())] = unit
        elif kind is ChangeKind.DROP_OBJECT and change.name:
            self._objects.pop(((change.object_type or "").lower(), change.name.lower()), None)
        key = _key(change)
        if key is None:
            return
        if kind is ChangeKind.CREATE_TABLE:
            self._tables[key] = TableState(
                created_by=unit,
                columns={
                    c.name.lower(): ColumnState(c.type, c.nullable, c.default, unit)
                    for c in change.column_specs
                },
            )
            return
        if kind is ChangeKind.DROP_TABLE:
            self._tables.pop(key, None)
            return
        if kind is ChangeKind.RENAME_TABLE:
            moved = self._tables.pop(key, None)
            if moved is not None and change.new_name:
                schema, _, name = change.new_name.rpartition(".")
                target = table_key(schema or change.schema, name)
                if target is not None:
                    self._tables[target] = moved
            return
        table = self._tables.setdefault(key, TableState(created_by=None))
        self._apply_to(table, change, unit)

    def _apply_to(self, table: TableState, change: Change, unit: str) -> None:
        kind = change.kind
        column = (change.column or "").lower()
        if kind is ChangeKind.ADD_COLUMN and column:
            table.columns[column] = ColumnState(
                change.type, change.nullable is not False, change.default, unit
            )
        elif kind is ChangeKind.DROP_COLUMN:
            table.columns.pop(column, None)
        elif kind is ChangeKind.RENAME_COLUMN and change.new_name:
            state = table.columns.pop(column, ColumnState())
            table.columns[change.new_name.lower()] = state
            _renamed_in_checks(table, column, change.new_name.lower())
        elif kind is ChangeKind.SWAP_COLUMN and change.columns:
            replacement = change.columns[0].lower()
            state = table.columns.pop(replacement, ColumnState())
            state.type = change.type or state.type
            table.columns[column] = state
            _renamed_in_checks(table, replacement, column)
        elif column and kind in _COLUMN_EDITS:
            state = table.columns.setdefault(column, ColumnState())
            _COLUMN_EDITS[kind](state, change)
        elif kind is ChangeKind.ADD_CONSTRAINT:
            if change.name:
                table.constraints[change.name.lower()] = unit
            self._add_constraint(table, change)
        elif kind is ChangeKind.VALIDATE_CONSTRAINT and change.name:
            name = change.name.lower()
            if name in table.pending:
                table.proofs[name] = table.pending.pop(name)
        elif kind is ChangeKind.DROP_CONSTRAINT and change.name:
            table.constraints.pop(change.name.lower(), None)
            table.proofs.pop(change.name.lower(), None)
            table.pending.pop(change.name.lower(), None)

    def _add_constraint(self, table: TableState, change: Change) -> None:
        columns = tuple(c.lower() for c in change.columns)
        if change.constraint_type is ConstraintType.PRIMARY_KEY:
            for column in columns:
                table.columns.setdefault(column, ColumnState()).nullable = False
            return
        if change.constraint_type is ConstraintType.NOT_NULL:
            proven = columns
        elif change.constraint_type is ConstraintType.CHECK:
            proven = tuple(c.lower() for c in change.proves_not_null)
        else:
            return
        if not proven:
            return
        self._unnamed += 1
        name = (change.name or f"#unnamed-{self._unnamed}").lower()
        (table.pending if change.not_valid else table.proofs)[name] = proven


def _renamed_in_checks(table: TableState, old: str, new: str) -> None:
    """A check follows its column through a rename: what it proved of `old`, it proves of `new`."""
    for checks in (table.proofs, table.pending):
        for name, columns in checks.items():
            checks[name] = tuple(new if c == old else c for c in columns)


def _set_type(state: ColumnState, change: Change) -> None:
    state.type = change.type


def _set_nullable(state: ColumnState, change: Change) -> None:
    state.nullable = change.kind is ChangeKind.DROP_NOT_NULL


def _set_default(state: ColumnState, change: Change) -> None:
    state.default = change.default if change.kind is ChangeKind.SET_DEFAULT else None


_COLUMN_EDITS = {
    ChangeKind.ALTER_COLUMN_TYPE: _set_type,
    ChangeKind.SET_NOT_NULL: _set_nullable,
    ChangeKind.DROP_NOT_NULL: _set_nullable,
    ChangeKind.SET_DEFAULT: _set_default,
    ChangeKind.DROP_DEFAULT: _set_default,
}
