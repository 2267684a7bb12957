"""Read a revision's upgrade() from its syntax tree, for revisions that cannot run offline.

Only literal arguments are understood; every `op.*` call becomes a change, and what cannot be read
(dynamic SQL, unknown operations) becomes an OPAQUE change rather than being skipped. Calls in every
branch of an `if` are included: the reading over-approximates, never under-approximates.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from typing import Any

from expandcontract.model import Change, ChangeKind, ConstraintType, Location
from expandcontract.sql import changes_from_sql


@dataclass(frozen=True)
class _Call:
    name: str  # the op name: add_column, execute, ...
    args: list[ast.expr]
    kwargs: dict[str, ast.expr]
    location: Location
    batch_table: str | None  # set inside `with op.batch_alter_table(t) as batch_op`
    in_transaction: bool
    dialect: str

    def arg(self, index: int, keyword: str) -> ast.expr | None:
        if keyword in self.kwargs:
            return self.kwargs[keyword]
        return self.args[index] if index < len(self.args) else None

    def literal(self, index: int, keyword: str) -> Any:
        node = self.arg(index, keyword)
        if node is None:
            return None
        try:
            return ast.literal_eval(node)
        except (ValueError, SyntaxError, TypeError):
            return None

    def text(self, index: int, keyword: str) -> str | None:
        value = self.literal(index, keyword)
        return value if isinstance(value, str) else None

    def flag(self, keyword: str) -> bool:
        node = self.kwargs.get(keyword)
        return isinstance(node, ast.Constant) and node.value is True

    def change(self, kind: ChangeKind, **fields: Any) -> Change:
        return Change(
            kind=kind,
            location=self.location,
            in_transaction=self.in_transaction,
            operation=self.name,
            **fields,
        )

    def shift(self) -> int:
        """Batch calls omit the table argument: positions shift left by one."""
        return 1 if self.batch_table is not None else 0

    def table(self, index: int, keyword: str) -> str | None:
        return self.batch_table if self.batch_table is not None else self.text(index, keyword)


@dataclass(frozen=True)
class _ColumnCall:
    name: str | None = None
    nullable: bool = True
    default: bool = False
    generated: bool = False  # Identity(), Computed(), or an autoincrement integer primary key (SERIAL)


def _column_call(node: ast.expr | None) -> _ColumnCall:
    """What a literal `sa.Column(...)` call says about the column."""
    if not isinstance(node, ast.Call):
        return _ColumnCall()
    name = None
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        name = node.args[0].value
    options = {kw.arg: kw.value for kw in node.keywords if kw.arg}
    primary = _constant(options.get("primary_key")) is True
    nullable = _constant(options.get("nullable"), not primary) is not False
    default = "server_default" in options and _constant(options["server_default"], "set") is not None
    callees = {_callee(arg.func) for arg in node.args if isinstance(arg, ast.Call)}
    integer = any("Integer" in ast.unparse(arg) for arg in node.args[1:2])
    serial = primary and integer and _constant(options.get("autoincrement"), True) is not False
    return _ColumnCall(name, nullable, default, generated=serial or bool(callees & {"Identity", "Computed"}))


def _constant(node: ast.expr | None, missing: object = None) -> object:
    return node.value if isinstance(node, ast.Constant) else missing


def _sql_literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and node.args and _callee(node.func) == "text":
        return _sql_literal(node.args[0])
    return None


def _callee(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


# SQLAlchemy constructs passed to execute(): what the statement does is known, its table may not be
_CONSTRUCTS = {
    "select": ChangeKind.QUERY,
    "update": ChangeKind.UPDATE,
    "delete": ChangeKind.DELETE,
    "insert": ChangeKind.INSERT,
}


def _construct(node: ast.expr | None) -> ChangeKind | None:
    """What a SQLAlchemy construct does, also when chained: `sa.update(t).where(...).values(...)`."""
    while isinstance(node, ast.Call):
        kind = _CONSTRUCTS.get(_callee(node.func) or "")
        if kind is not None:
            return kind
        node = node.func.value if isinstance(node.func, ast.Attribute) else None
    return None


def _execute(call: _Call) -> list[Change]:
    statement = call.arg(0, "sqltext")
    sql = _sql_literal(statement)
    if sql is None:
        construct = _construct(statement)
        if construct is not None:
            return [
                call.change(construct, detail="SQLAlchemy construct; its details are not read from source")
            ]
        return [call.change(ChangeKind.OPAQUE, detail="execute() with SQL built at run time")]
    found = changes_from_sql(
        sql, dialect=call.dialect, location=call.location, in_transaction=call.in_transaction
    )
    return [replace(c, operation="execute") for c in found]


def _add_column(call: _Call) -> list[Change]:
    s = call.shift()
    column = _column_call(call.arg(1 - s, "column"))
    return [
        call.change(
            ChangeKind.ADD_COLUMN,
            table=call.table(0, "table_name"),
            column=column.name,
            nullable=column.nullable,
            default="<default>" if column.default else None,
            generated=column.generated,
        )
    ]


def _alter_column(call: _Call) -> list[Change]:
    s = call.shift()
    base = {"table": call.table(0, "table_name"), "column": call.text(1 - s, "column_name")}
    out: list[Change] = []
    if "type_" in call.kwargs:
        out.append(
            call.change(
                ChangeKind.ALTER_COLUMN_TYPE,
                type=ast.unparse(call.kwargs["type_"]),
                old_type=ast.unparse(call.kwargs["existing_type"])
                if "existing_type" in call.kwargs
                else None,
                **base,
            )
        )
    if "nullable" in call.kwargs:
        nullable = call.literal(99, "nullable")
        if nullable is False:
            out.append(call.change(ChangeKind.SET_NOT_NULL, nullable=False, **base))
        elif nullable is True:
            out.append(call.change(ChangeKind.DROP_NOT_NULL, nullable=True, **base))
        else:
            out.append(
                call.change(ChangeKind.OPAQUE, detail="alter_column(nullable=...) not a literal", **base)
            )
    if "server_default" in call.kwargs:
        node = call.kwargs["server_default"]
        if isinstance(node, ast.Constant) and node.value is None:
            out.append(call.change(ChangeKind.DROP_DEFAULT, **base))
        else:
            out.append(call.change(ChangeKind.SET_DEFAULT, default=ast.unparse(node), **base))
    if "new_column_name" in call.kwargs:
        out.append(
            call.change(ChangeKind.RENAME_COLUMN, new_name=call.literal(99, "new_column_name"), **base)
        )
    return out


def _constraint(ctype: ConstraintType, columns_at: int | None) -> Callable[[_Call], list[Change]]:
    def read(call: _Call) -> list[Change]:
        s = call.shift()
        table = (
            call.table(1, "table_name")
            if ctype is not ConstraintType.FOREIGN_KEY
            else call.table(1, "source_table")
        )
        columns: tuple[str, ...] = ()
        if columns_at is not None:
            value = call.literal(
                columns_at - s, "columns" if ctype is not ConstraintType.FOREIGN_KEY else "local_cols"
            )
            columns = tuple(value) if isinstance(value, list | tuple) else ()
        return [
            call.change(
                ChangeKind.ADD_CONSTRAINT,
                table=table,
                name=call.text(0, "constraint_name"),
                constraint_type=ctype,
                columns=columns,
                not_valid=call.flag("postgresql_not_valid"),
            )
        ]

    return read


def _simple(
    kind: ChangeKind, table_at: int, name_at: int | None = None, **extra: Callable[[_Call], Any]
) -> Callable[[_Call], list[Change]]:
    def read(call: _Call) -> list[Change]:
        fields: dict[str, Any] = {"table": call.table(table_at, "table_name")}
        if name_at is not None:
            fields["name"] = call.text(name_at, "index_name")
        fields.update({key: fn(call) for key, fn in extra.items()})
        return [call.change(kind, **fields)]

    return read


_READERS: dict[str, Callable[[_Call], list[Change]]] = {
    "execute": _execute,
    "add_column": _add_column,
    "alter_column": _alter_column,
    "create_table": _simple(ChangeKind.CREATE_TABLE, 0),
    "drop_table": _simple(ChangeKind.DROP_TABLE, 0),
    "rename_table": lambda c: [
        c.change(
            ChangeKind.RENAME_TABLE, table=c.text(0, "old_table_name"), new_name=c.text(1, "new_table_name")
        )
    ],
    "drop_column": lambda c: [
        c.change(
            ChangeKind.DROP_COLUMN,
            table=c.table(0, "table_name"),
            column=c.text(1 - c.shift(), "column_name"),
        )
    ],
    "create_index": lambda c: [
        c.change(
            ChangeKind.CREATE_INDEX,
            name=c.text(0, "index_name"),
            table=c.table(1, "table_name"),
            unique=c.flag("unique"),
            concurrently=c.flag("postgresql_concurrently"),
        )
    ],
    "drop_index": lambda c: [
        c.change(
            ChangeKind.DROP_INDEX,
            name=c.text(0, "index_name"),
            table=c.batch_table or c.text(1, "table_name"),
            concurrently=c.flag("postgresql_concurrently"),
        )
    ],
    "create_unique_constraint": _constraint(ConstraintType.UNIQUE, 2),
    "create_primary_key": _constraint(ConstraintType.PRIMARY_KEY, 2),
    "create_foreign_key": _constraint(ConstraintType.FOREIGN_KEY, 3),
    "create_check_constraint": _constraint(ConstraintType.CHECK, None),
    "create_exclude_constraint": _constraint(ConstraintType.EXCLUDE, None),
    "drop_constraint": lambda c: [
        c.change(
            ChangeKind.DROP_CONSTRAINT, name=c.text(0, "constraint_name"), table=c.table(1, "table_name")
        )
    ],
    "bulk_insert": lambda c: [c.change(ChangeKind.INSERT)],
    "create_table_comment": _simple(ChangeKind.COMMENT, 0),
    "drop_table_comment": _simple(ChangeKind.COMMENT, 0),
}
# calls on `op` that do not change the schema
_NEUTRAL = frozenset(
    {
        "get_bind",
        "get_context",
        "f",
        "inline_literal",
        "batch_alter_table",
        "implementation_for",
        "register_operation",
        "run_async",
        "autocommit_block",
        "begin_transaction",
        "get_current_heads",
        "get_current_revision",
        "is_offline_mode",
        "get_x_argument",
    }
)


class _Walker:
    def __init__(self, path: str, dialect: str, tree: ast.Module, stand_ins: frozenset[str]) -> None:
        self.path = path
        self.stand_ins = stand_ins
        self.dialect = dialect
        self.changes: list[Change] = []
        self.op_names = _op_aliases(tree)
        # module-level helpers upgrade() may call: their operations are read where they are called
        self.helpers = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        self._inside: set[str] = set()
        self._statements: set[int] = set()  # calls made for their effect (`helper()`), not their value

    def walk(self, nodes: list[ast.stmt], batch: dict[str, str], in_transaction: bool) -> None:
        for node in nodes:
            self._node(node, batch, in_transaction)

    def _node(self, node: ast.AST, batch: dict[str, str], in_transaction: bool) -> None:
        if isinstance(node, ast.With | ast.AsyncWith):
            inner_batch, inner_txn = dict(batch), in_transaction
            for item in node.items:
                expr = item.context_expr
                self._node(expr, batch, in_transaction)
                name = _callee(expr.func) if isinstance(expr, ast.Call) else None
                if name == "autocommit_block":
                    inner_txn = False
                elif name == "batch_alter_table" and isinstance(expr, ast.Call):
                    table = (
                        expr.args[0]
                        if expr.args
                        else next((k.value for k in expr.keywords if k.arg == "table_name"), None)
                    )
                    alias = item.optional_vars.id if isinstance(item.optional_vars, ast.Name) else None
                    if alias:
                        inner_batch[alias] = (
                            str(table.value) if isinstance(table, ast.Constant) else "<table>"
                        )
            self.walk(node.body, inner_batch, inner_txn)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            # defined inside upgrade(): read where it is defined, whether or not (and however often)
            # it is called - an over-approximation, never a miss
            self.walk(node.body, batch, in_transaction)
            return
        if isinstance(node, ast.Lambda):
            self._node(node.body, batch, in_transaction)
            return
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and node.value.id in self.op_names
        ):
            self.op_names |= {t.id for t in node.targets if isinstance(t, ast.Name)}  # ops = op
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            self._statements.add(id(node.value))
        if isinstance(node, ast.Call):
            self._call(node, batch, in_transaction)
            self._helper(node, batch, in_transaction)
        for child in ast.iter_child_nodes(node):
            self._node(child, batch, in_transaction)

    def _helper(self, node: ast.Call, batch: dict[str, str], in_transaction: bool) -> None:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        helper = self.helpers.get(name or "")
        if helper is None or helper.name in self._inside:
            return
        # a helper handed `op` (or a batch_op) calls operations through its own parameter name
        params = [a.arg for a in helper.args.posonlyargs + helper.args.args]
        passed = list(zip(params, node.args, strict=False)) + [
            (k.arg, k.value) for k in node.keywords if k.arg
        ]
        aliases = {p for p, arg in passed if isinstance(arg, ast.Name) and arg.id in self.op_names}
        inner_batch = {
            **batch,
            **{p: batch[arg.id] for p, arg in passed if isinstance(arg, ast.Name) and arg.id in batch},
        }
        self._inside.add(helper.name)
        added = aliases - self.op_names
        self.op_names |= added
        try:
            self.walk(helper.body, inner_batch, in_transaction)
        finally:
            self._inside.discard(helper.name)
            self.op_names -= added

    def _opaque(self, node: ast.Call, in_transaction: bool, why: str) -> None:
        called = ast.unparse(node.func)
        self.changes.append(
            Change(
                kind=ChangeKind.OPAQUE,
                location=Location(self.path, node.lineno),
                in_transaction=in_transaction,
                operation=called,
                detail=f"calls {called}() {why}",
            )
        )

    def _call(self, node: ast.Call, batch: dict[str, str], in_transaction: bool) -> None:
        func = node.func
        root = _root_name(func)
        if root is not None and root in self.stand_ins:
            # a call made for its effect, or handed `op`, may change the schema; one whose value is
            # used (`json.loads(x)`, `sa.Column("id", StringID())`) only computes a value
            hands_op = any(
                isinstance(arg, ast.Name) and (arg.id in self.op_names or arg.id in batch)
                for arg in [*node.args, *(k.value for k in node.keywords)]
            )
            if id(node) in self._statements or hands_op:
                self._opaque(
                    node, in_transaction, "from a module that is not installed: what it changes is unknown"
                )
            return
        if not isinstance(func, ast.Attribute):
            return
        receiver = _receiver(func.value)
        name = func.attr
        is_op = receiver in self.op_names or receiver in batch
        if name in _NEUTRAL:
            return
        if not is_op and name != "execute":
            if root in self.op_names:  # op.get_context().impl.drop_column(...): below the operations
                self._opaque(node, in_transaction, "below Alembic's operations: not read from source")
            elif name in _READERS:  # named like an operation, on something not known to be `op`
                self._opaque(node, in_transaction, "on an object not known to be `op`: not read from source")
            return  # not an operation; any .execute() counts (conn.execute(...) runs SQL too)
        call = _Call(
            name=name,
            args=list(node.args),
            kwargs={k.arg: k.value for k in node.keywords if k.arg},
            location=Location(self.path, node.lineno),
            batch_table=batch.get(receiver or ""),
            in_transaction=in_transaction,
            dialect=self.dialect,
        )
        reader = _READERS.get(name)
        if reader is None:
            self.changes.append(
                call.change(ChangeKind.OPAQUE, detail=f"op.{name}() is not known to the AST reader")
            )
        else:
            self.changes.extend(reader(call))


def _root_name(node: ast.expr) -> str | None:
    """`utils` for `utils.helpers.create_table`, `op` for `op.get_context().impl.drop_column`."""
    while isinstance(node, ast.Attribute | ast.Call):
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _receiver(node: ast.expr) -> str | None:
    """`op` for `op.x(...)`, `alembic.op` for `alembic.op.x(...)`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _op_aliases(tree: ast.Module) -> set[str]:
    """The names `alembic.op` goes by in this file (`from alembic import op as o`)."""
    names = {"op", "alembic.op"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "alembic":
            names.update(a.asname or a.name for a in node.names if a.name == "op")
    return names


def _upgrade_functions(tree: ast.Module) -> Iterator[ast.FunctionDef]:
    """upgrade(); or, in multi-database templates without one, every upgrade_<engine>()."""
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("upgrade")]
    plain = [n for n in functions if n.name == "upgrade"]
    yield from plain or functions


def read_revision_ast(
    source: str, path: str, dialect: str, in_transaction: bool = True, stand_ins: Collection[str] = ()
) -> list[Change]:
    """Every change upgrade() makes, as far as its syntax tree shows.

    `stand_ins` are the module's global names bound to modules that are not installed: a call
    through one of them becomes an opaque change (what it does cannot be read).
    """
    tree = ast.parse(source, filename=path)
    walker = _Walker(path, dialect, tree, frozenset(stand_ins))
    for function in _upgrade_functions(tree):
        walker.walk(function.body, {}, in_transaction)
    return walker.changes
