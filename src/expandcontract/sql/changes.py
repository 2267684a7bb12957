"""SQL statements -> `Change` objects.

Statements sqlglot models are read from the tree; statements it turns into an opaque `Command`
(VALIDATE CONSTRAINT, ALTER TYPE ... ADD VALUE, REINDEX, ...) or cannot parse are recognised from
their tokens. Anything still not understood becomes an OPAQUE change: never a silent pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from expandcontract.model import Change, ChangeKind, ColumnSpec, ConstraintType, Location
from expandcontract.sql.dialect import sqlglot_dialect
from expandcontract.sql.statements import Statement, split_statements

# Functions whose value differs per row: a default using one rewrites the table on ADD COLUMN.
VOLATILE_FUNCTIONS = frozenset(
    {
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuidv4",
        "uuidv7",
        "random",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "txid_current",
    }
)
_VOLATILE_NODES: tuple[type[exp.Expr], ...] = (exp.Uuid, exp.Rand)
_SERIAL_TYPES = frozenset({"SERIAL", "BIGSERIAL", "SMALLSERIAL"})
# a generated column of the default kind: stored before PostgreSQL 18, virtual (no rewrite) from 18
VIRTUAL_ON_18 = "generated column of the default kind (virtual on PostgreSQL 18)"


@dataclass(frozen=True)
class _Context:
    statement: Statement
    location: Location
    in_transaction: bool
    dialect: str

    def change(self, kind: ChangeKind, **fields: object) -> Change:
        return Change(
            kind=kind,
            location=self.location,
            in_transaction=self.in_transaction,
            operation="sql",
            sql=self.statement.text,
            **fields,  # type: ignore[arg-type]
        )

    def opaque(self, why: str) -> Change:
        return self.change(ChangeKind.OPAQUE, detail=why)


def _name(node: exp.Expr | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, exp.Identifier):
        return str(node.this)
    if isinstance(node, exp.Column | exp.Table):
        return node.name or None
    return node.name or None


def _table_parts(node: exp.Expr | None) -> tuple[str | None, str | None]:
    """(schema, table) of a Table node; also unwraps Schema(this=Table)."""
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table):
        return (node.db or None, node.name or None)
    return (None, _name(node))


def is_volatile_expression(node: exp.Expr) -> bool:
    for sub in node.walk():
        if isinstance(sub, _VOLATILE_NODES):
            return True
        if isinstance(sub, exp.Func) and sub.sql_name().lower() in VOLATILE_FUNCTIONS:
            return True
        if isinstance(sub, exp.Anonymous) and str(sub.this).lower() in VOLATILE_FUNCTIONS:
            return True
    return False


def is_volatile_default(sql: str, dialect: str = "postgresql") -> bool:
    """Whether a column default expression (as SQL) calls a volatile function."""
    statements = split_statements(f"SELECT {sql}", dialect)
    if len(statements) != 1 or statements[0].expression is None:
        return any(name in sql.lower() for name in VOLATILE_FUNCTIONS)
    return is_volatile_expression(statements[0].expression)


def _column_names(nodes: Iterable[exp.Expr]) -> tuple[str, ...]:
    names: list[str] = []
    for node in nodes:
        target = node.this if isinstance(node, exp.Ordered) else node
        if isinstance(target, exp.Column | exp.Identifier):
            names.append(_name(target) or "")
        else:
            names.append(target.sql())
    return tuple(names)


# --- ALTER TABLE actions --------------------------------------------------------------------


# constraints written inline in ADD COLUMN, which PostgreSQL adds (and validates) with the column
_INLINE_CONSTRAINTS: dict[type[exp.Expr], ConstraintType] = {
    exp.PrimaryKeyColumnConstraint: ConstraintType.PRIMARY_KEY,
    exp.UniqueColumnConstraint: ConstraintType.UNIQUE,
    exp.Reference: ConstraintType.FOREIGN_KEY,
    exp.CheckColumnConstraint: ConstraintType.CHECK,
}


def _column_def(ctx: _Context, table: tuple[str | None, str | None], node: exp.ColumnDef) -> list[Change]:
    schema, name = table
    kind = node.args.get("kind")
    type_sql = kind.sql(dialect="postgres") if isinstance(kind, exp.Expr) else None
    nullable: bool | None = True
    default: str | None = None
    volatile = False
    generated = isinstance(kind, exp.DataType) and kind.this.name in _SERIAL_TYPES
    detail = ""
    extra: list[Change] = []
    column = _name(node.this)
    for constraint in node.args.get("constraints") or []:
        ckind = constraint.args.get("kind") if isinstance(constraint, exp.ColumnConstraint) else constraint
        if isinstance(ckind, exp.NotNullColumnConstraint):
            nullable = bool(ckind.args.get("allow_null"))
        elif isinstance(ckind, exp.DefaultColumnConstraint):
            default = ckind.this.sql(dialect="postgres")
            volatile = is_volatile_expression(ckind.this)
        elif isinstance(ckind, exp.ComputedColumnConstraint | exp.GeneratedAsIdentityColumnConstraint):
            # only stored generated columns are computed on write (PG18 virtual ones are not)
            generated = generated or not (
                isinstance(ckind, exp.ComputedColumnConstraint) and ckind.args.get("persisted") is False
            )
            if isinstance(ckind, exp.GeneratedAsIdentityColumnConstraint) and ckind.args.get("expression"):
                detail = VIRTUAL_ON_18  # GENERATED ALWAYS AS (expr) without STORED
        elif isinstance(ckind, exp.Expr) and type(ckind) in _INLINE_CONSTRAINTS:
            ctype = _INLINE_CONSTRAINTS[type(ckind)]
            if ctype is ConstraintType.PRIMARY_KEY:
                nullable = False
            extra.append(
                ctx.change(
                    ChangeKind.ADD_CONSTRAINT,
                    schema=schema,
                    table=name,
                    constraint_type=ctype,
                    columns=(column or "",),
                )
            )
    add = ctx.change(
        ChangeKind.ADD_COLUMN,
        schema=schema,
        table=name,
        column=column,
        type=type_sql,
        nullable=nullable,
        default=default,
        volatile_default=volatile,
        generated=generated,
        detail=detail,
    )
    return [add, *extra]


def _column_spec(ctx: _Context, node: exp.ColumnDef) -> ColumnSpec:
    added = _column_def(ctx, (None, None), node)[0]
    return ColumnSpec(
        name=added.column or "", type=added.type, nullable=added.nullable is not False, default=added.default
    )


def _constraint_type(node: exp.Expr) -> tuple[ConstraintType, tuple[str, ...]]:
    if isinstance(node, exp.PrimaryKey | exp.PrimaryKeyColumnConstraint):
        return ConstraintType.PRIMARY_KEY, _column_names(node.expressions)
    if isinstance(node, exp.UniqueColumnConstraint):
        cols = node.this.expressions if isinstance(node.this, exp.Schema) else []
        return ConstraintType.UNIQUE, _column_names(cols)
    if isinstance(node, exp.ForeignKey):
        return ConstraintType.FOREIGN_KEY, _column_names(node.expressions)
    if isinstance(node, exp.CheckColumnConstraint):
        return ConstraintType.CHECK, ()
    if isinstance(node, exp.ExcludeColumnConstraint):
        return ConstraintType.EXCLUDE, ()
    return ConstraintType.UNKNOWN, ()


def checked_not_null(condition: exp.Expr | None) -> tuple[str, ...]:
    """Columns a CHECK condition proves NOT NULL: `a IS NOT NULL`, joined by AND."""
    if isinstance(condition, exp.Paren):
        return checked_not_null(condition.this)
    if isinstance(condition, exp.And):
        return checked_not_null(condition.left) + checked_not_null(condition.right)
    negated = isinstance(condition, exp.Not)
    test = condition.this if negated and isinstance(condition, exp.Not) else condition
    if isinstance(test, exp.Paren):
        test = test.this
    if not isinstance(test, exp.Is) or not isinstance(test.expression, exp.Null):
        return ()
    if isinstance(test.this, exp.Column):
        if bool(test.args.get("negate")) != negated:  # `a IS NOT NULL` or `NOT (a IS NULL)`
            return (test.this.name,)
    return ()


def check_proves_not_null(condition_sql: str, dialect: str = "postgresql") -> tuple[str, ...]:
    """`checked_not_null` for a condition written as SQL (an Alembic check constraint's text)."""
    statements = split_statements(f"SELECT 1 WHERE {condition_sql}", dialect)
    if len(statements) != 1 or statements[0].expression is None:
        return ()
    where = statements[0].expression.args.get("where")
    return checked_not_null(where.this) if isinstance(where, exp.Where) else ()


def _add_constraint(
    ctx: _Context, table: tuple[str | None, str | None], node: exp.AddConstraint, not_valid: bool
) -> list[Change]:
    schema, name = table
    out: list[Change] = []
    for item in node.expressions:
        cname: str | None = None
        kinds: Sequence[exp.Expr] = [item]
        if isinstance(item, exp.Constraint):
            cname = _name(item.this)
            kinds = item.expressions
        for kind in kinds:
            ctype, columns = _constraint_type(kind)
            proof = checked_not_null(kind.this) if isinstance(kind, exp.CheckColumnConstraint) else ()
            out.append(
                ctx.change(
                    ChangeKind.ADD_CONSTRAINT,
                    schema=schema,
                    table=name,
                    name=cname,
                    constraint_type=ctype,
                    columns=columns or proof,
                    not_valid=not_valid,
                    proves_not_null=proof,
                )
            )
    return out or [ctx.opaque("ADD CONSTRAINT without a recognised constraint")]


def _alter_column(ctx: _Context, table: tuple[str | None, str | None], node: exp.AlterColumn) -> list[Change]:
    schema, name = table
    column = _name(node.this)
    base = {"schema": schema, "table": name, "column": column}
    args = node.args
    if args.get("dtype") is not None:
        using = args.get("using")
        return [
            ctx.change(
                ChangeKind.ALTER_COLUMN_TYPE,
                type=args["dtype"].sql(dialect="postgres"),
                detail=f"USING {using.sql(dialect='postgres')}" if isinstance(using, exp.Expr) else "",
                **base,
            )
        ]
    if args.get("allow_null") is False:
        return [ctx.change(ChangeKind.SET_NOT_NULL, nullable=False, **base)]
    if args.get("drop") and args.get("allow_null") is True:
        return [ctx.change(ChangeKind.DROP_NOT_NULL, nullable=True, **base)]
    if args.get("drop"):
        return [ctx.change(ChangeKind.DROP_DEFAULT, **base)]
    if args.get("default") is not None:
        default = args["default"]
        return [
            ctx.change(
                ChangeKind.SET_DEFAULT,
                default=default.sql(dialect="postgres"),
                volatile_default=is_volatile_expression(default),
                **base,
            )
        ]
    return [ctx.change(ChangeKind.OTHER_DDL, detail="ALTER COLUMN", **base)]


def _alter_set(ctx: _Context, table: tuple[str | None, str | None], node: exp.AlterSet) -> list[Change]:
    schema, name = table
    option = node.args.get("option")
    text = option.sql().upper() if isinstance(option, exp.Expr) else ""
    if (
        text in {"LOGGED", "UNLOGGED"}
        or node.args.get("access_method") is not None
        or node.args.get("tablespace")
    ):
        return [
            ctx.change(ChangeKind.TABLE_MAINTENANCE, schema=schema, table=name, detail=f"SET {text}".strip())
        ]
    return [ctx.change(ChangeKind.OTHER_DDL, schema=schema, table=name, detail="ALTER TABLE ... SET")]


def _drop_action(ctx: _Context, table: tuple[str | None, str | None], node: exp.Drop) -> list[Change]:
    schema, name = table
    kind = str(node.args.get("kind") or "").upper()
    targets = node.args.get("tables") or ([node.this] if node.this is not None else list(node.expressions))
    if kind == "COLUMN":
        return [
            ctx.change(ChangeKind.DROP_COLUMN, schema=schema, table=name, column=_name(t)) for t in targets
        ]
    if kind == "CONSTRAINT":
        return [
            ctx.change(ChangeKind.DROP_CONSTRAINT, schema=schema, table=name, name=_name(t)) for t in targets
        ]
    return [ctx.opaque(f"ALTER TABLE ... DROP {kind}".strip())]


def _not_valid_per_action(tokens: Sequence[Token], count: int, statement_level: bool) -> list[bool]:
    """Which ALTER TABLE actions carry NOT VALID.

    sqlglot records NOT VALID once per statement; PostgreSQL attaches it to one ADD CONSTRAINT.
    Split the actions at top-level commas and look in each.
    """
    if not statement_level or count <= 1:
        return [statement_level] * count
    segments = [_words(segment) for segment in _top_level_split(tokens)]
    if len(segments) != count:
        return [statement_level] * count
    return [any(a == "NOT" and b == "VALID" for a, b in itertools.pairwise(seg)) for seg in segments]


def _alter(ctx: _Context, node: exp.Expr) -> list[Change]:
    assert isinstance(node, exp.Alter)
    kind = str(node.args.get("kind") or "").upper()
    table = _table_parts(node.this)
    actions = node.args.get("actions") or []
    if kind != "TABLE":
        renames = [a for a in actions if isinstance(a, exp.AlterRename)]
        if renames and len(renames) == len(actions):
            return [
                ctx.change(
                    ChangeKind.RENAME_OBJECT,
                    object_type=kind.lower(),
                    schema=table[0],
                    name=table[1],
                    new_name=_name(a.this),
                )
                for a in renames
            ]
        return [
            ctx.change(ChangeKind.OTHER_DDL, object_type=kind.lower(), name=table[1], detail=f"ALTER {kind}")
        ]
    out: list[Change] = []
    not_valid = _not_valid_per_action(ctx.statement.tokens, len(actions), bool(node.args.get("not_valid")))
    for index, action in enumerate(actions):
        if isinstance(action, exp.ColumnDef):
            out.extend(_column_def(ctx, table, action))
        elif isinstance(action, exp.Drop):
            out.extend(_drop_action(ctx, table, action))
        elif isinstance(action, exp.RenameColumn):
            out.append(
                ctx.change(
                    ChangeKind.RENAME_COLUMN,
                    schema=table[0],
                    table=table[1],
                    column=_name(action.this),
                    new_name=_name(action.args.get("to")),
                )
            )
        elif isinstance(action, exp.AlterRename):
            out.append(
                ctx.change(
                    ChangeKind.RENAME_TABLE, schema=table[0], table=table[1], new_name=_name(action.this)
                )
            )
        elif isinstance(action, exp.AlterColumn):
            out.extend(_alter_column(ctx, table, action))
        elif isinstance(action, exp.AddConstraint):
            out.extend(_add_constraint(ctx, table, action, not_valid[index]))
        elif isinstance(action, exp.AlterSet):
            out.extend(_alter_set(ctx, table, action))
        else:
            out.append(ctx.opaque(f"unsupported ALTER TABLE action {type(action).__name__}"))
    return out or [ctx.opaque("ALTER TABLE without actions")]


# --- other statements -------------------------------------------------------------------------


def _create(ctx: _Context, node: exp.Expr) -> list[Change]:
    assert isinstance(node, exp.Create)
    kind = str(node.args.get("kind") or "").upper()
    if kind == "INDEX":
        index = node.this
        schema, table = (
            _table_parts(index.args.get("table")) if isinstance(index, exp.Index) else (None, None)
        )
        params = index.args.get("params") if isinstance(index, exp.Index) else None
        columns = _column_names(params.args.get("columns") or []) if isinstance(params, exp.Expr) else ()
        return [
            ctx.change(
                ChangeKind.CREATE_INDEX,
                schema=schema,
                table=table,
                name=_name(index.this),
                columns=columns,
                unique=bool(node.args.get("unique")),
                concurrently=bool(node.args.get("concurrently")),
            )
        ]
    schema, name = _table_parts(node.this)
    if kind == "TABLE":
        specs = (
            tuple(_column_spec(ctx, c) for c in node.this.expressions if isinstance(c, exp.ColumnDef))
            if isinstance(node.this, exp.Schema)
            else ()
        )
        return [
            ctx.change(
                ChangeKind.CREATE_TABLE,
                schema=schema,
                table=name,
                columns=tuple(c.name for c in specs),
                column_specs=specs,
            )
        ]
    if kind == "SCHEMA":
        return [ctx.change(ChangeKind.CREATE_OBJECT, object_type="schema", name=schema or name)]
    return [
        ctx.change(ChangeKind.CREATE_OBJECT, object_type=kind.lower() or "object", schema=schema, name=name)
    ]


def _drop(ctx: _Context, node: exp.Expr) -> list[Change]:
    assert isinstance(node, exp.Drop)
    kind = str(node.args.get("kind") or "").upper()
    targets = node.args.get("tables") or ([node.this] if node.this is not None else [])
    out: list[Change] = []
    for target in targets:
        schema, name = _table_parts(target)
        if kind == "TABLE":
            out.append(ctx.change(ChangeKind.DROP_TABLE, schema=schema, table=name))
        elif kind == "INDEX":
            out.append(
                ctx.change(
                    ChangeKind.DROP_INDEX,
                    schema=schema,
                    name=name,
                    concurrently=bool(node.args.get("concurrently")),
                )
            )
        elif kind == "SCHEMA":
            out.append(ctx.change(ChangeKind.DROP_OBJECT, object_type="schema", name=schema or name))
        else:
            on = node.args.get("cluster")  # DROP TRIGGER / POLICY / RULE ... ON table
            table = _table_parts(on.this) if isinstance(on, exp.OnProperty) else (schema, None)
            out.append(
                ctx.change(
                    ChangeKind.DROP_OBJECT,
                    object_type=kind.lower() or "object",
                    schema=table[0] if table[1] else schema,
                    table=table[1],
                    name=name,
                )
            )
    return out or [ctx.opaque(f"DROP {kind} without a target")]


def _columns_read(node: exp.Expr, skip: Iterable[exp.Expr] = ()) -> tuple[str, ...]:
    skipped = {id(n) for n in skip}
    names: list[str] = []
    for column in node.find_all(exp.Column):
        if id(column) in skipped or not column.name:
            continue
        full = f"{column.table}.{column.name}" if column.table else column.name
        if full not in names:
            names.append(full)
    return tuple(names)


def _update(ctx: _Context, node: exp.Expr) -> list[Change]:
    assert isinstance(node, exp.Update)
    schema, table = _table_parts(node.this)
    targets = [a.this for a in node.expressions if isinstance(a, exp.EQ)]
    return [
        ctx.change(
            ChangeKind.UPDATE,
            schema=schema,
            table=table,
            columns=_column_names(targets),
            reads=_columns_read(node, targets),
            has_where=node.args.get("where") is not None,
        )
    ]


def _insert(ctx: _Context, node: exp.Expr) -> list[Change]:
    assert isinstance(node, exp.Insert)
    schema, table = _table_parts(node.this)
    columns = _column_names(node.this.expressions) if isinstance(node.this, exp.Schema) else ()
    return [ctx.change(ChangeKind.INSERT, schema=schema, table=table, columns=columns)]


def _delete(ctx: _Context, node: exp.Expr) -> list[Change]:
    assert isinstance(node, exp.Delete)
    schema, table = _table_parts(node.this)
    return [
        ctx.change(
            ChangeKind.DELETE, schema=schema, table=table, has_where=node.args.get("where") is not None
        )
    ]


def _truncate(ctx: _Context, node: exp.Expr) -> list[Change]:
    return [
        ctx.change(ChangeKind.TRUNCATE, schema=s, table=t)
        for s, t in (_table_parts(e) for e in node.expressions)
    ]


def _set(ctx: _Context, node: exp.Expr) -> list[Change]:
    out: list[Change] = []
    for item in node.expressions:
        setting = item.this if isinstance(item, exp.SetItem) else item
        if isinstance(setting, exp.EQ):
            value = setting.expression
            out.append(
                ctx.change(
                    ChangeKind.SESSION_SETTING,
                    name=_name(setting.this),
                    default=value.name if isinstance(value, exp.Literal) else value.sql(),
                    detail=str(item.args.get("kind") or "SESSION").upper(),
                )
            )
        else:
            out.append(ctx.change(ChangeKind.SESSION_SETTING, name=setting.sql(), detail="SESSION"))
    return out


def _and_chain(tokens: Sequence[Token]) -> bool:
    """`... AND CHAIN` (sqlglot keeps it for COMMIT only), not `AND NO CHAIN`."""
    words = _words(tokens)
    return words[-2:] == ["AND", "CHAIN"]


def _transaction(word: str) -> Callable[[_Context, exp.Expr], list[Change]]:
    def handler(ctx: _Context, node: exp.Expr) -> list[Change]:
        # COMMIT/ROLLBACK AND CHAIN open the next transaction at once; ROLLBACK TO SAVEPOINT stays inside
        if node.args.get("chain") or _and_chain(ctx.statement.tokens):
            return [ctx.change(ChangeKind.TRANSACTION_CONTROL, detail=f"{word} and chain")]
        if node.args.get("savepoint"):
            return [ctx.change(ChangeKind.TRANSACTION_CONTROL, detail=f"{word} to savepoint")]
        return [ctx.change(ChangeKind.TRANSACTION_CONTROL, detail=word)]

    return handler


def _select(ctx: _Context, node: exp.Expr) -> list[Change]:
    """A query; `SELECT set_config('lock_timeout', '2s', true)` is a session setting in disguise."""
    out: list[Change] = []
    for call in node.find_all(exp.Anonymous):
        args = call.expressions
        if str(call.this).lower() == "set_config" and len(args) == 3 and isinstance(args[0], exp.Literal):
            local = isinstance(args[2], exp.Boolean) and bool(args[2].this)
            out.append(
                ctx.change(
                    ChangeKind.SESSION_SETTING, name=args[0].name, detail="LOCAL" if local else "SESSION"
                )
            )
    return out or [ctx.change(ChangeKind.QUERY)]


def _simple(kind: ChangeKind) -> Callable[[_Context, exp.Expr], list[Change]]:
    def handler(ctx: _Context, node: exp.Expr) -> list[Change]:
        return [ctx.change(kind)]

    return handler


_HANDLERS: dict[type[exp.Expr], Callable[[_Context, exp.Expr], list[Change]]] = {
    exp.Alter: _alter,
    exp.Create: _create,
    exp.Drop: _drop,
    exp.Update: _update,
    exp.Insert: _insert,
    exp.Delete: _delete,
    exp.TruncateTable: _truncate,
    exp.Set: _set,
    exp.Transaction: _transaction("begin"),
    exp.Commit: _transaction("commit"),
    exp.Rollback: _transaction("rollback"),
    exp.Comment: _simple(ChangeKind.COMMENT),
    exp.Grant: _simple(ChangeKind.GRANT),
    exp.Select: _select,
    exp.Union: _simple(ChangeKind.QUERY),
}


# --- token recognisers for what sqlglot leaves opaque ------------------------------------------


def _words(tokens: Sequence[Token]) -> list[str]:
    return [t.text.upper() if t.token_type != TokenType.IDENTIFIER else t.text for t in tokens]


def _has(words: list[str], *keys: str) -> bool:
    n = len(keys)
    return any(tuple(words[i : i + n]) == keys for i in range(len(words) - n + 1))


def _ident(tokens: Sequence[Token], index: int) -> tuple[str | None, str | None, int]:
    """Read a possibly schema-qualified name at tokens[index]: (schema, name, next index)."""
    if index >= len(tokens):
        return None, None, index
    first = tokens[index].text
    if index + 2 < len(tokens) and tokens[index + 1].token_type == TokenType.DOT:
        return first, tokens[index + 2].text, index + 3
    return None, first, index + 1


def _skip(words: list[str], index: int, *optional: str) -> int:
    while index < len(words) and words[index] in optional:
        index += 1
    return index


def _expand_command(tokens: Sequence[Token], dialect: str) -> Sequence[Token]:
    """sqlglot's tokenizer keeps what follows a command keyword (REINDEX, VACUUM, LOCK) as one string."""
    if (
        len(tokens) == 2
        and tokens[1].token_type == TokenType.STRING
        and tokens[0].token_type in (TokenType.COMMAND, TokenType.LOCK, TokenType.EXECUTE)
        and tokens[0].text.upper() != "DO"
    ):
        try:
            return (tokens[0], *sqlglot_dialect(dialect).tokenize(tokens[1].text))
        except TokenError:
            return tokens
    return tokens


def _recognise(ctx: _Context, tokens: Sequence[Token]) -> list[Change] | None:
    words = _words(tokens)
    if not words:
        return None
    head = words[0]
    if head == "START" and words[1:2] == ["TRANSACTION"]:
        return [ctx.change(ChangeKind.TRANSACTION_CONTROL, detail="begin")]
    if head == "ABORT":
        chained = " and chain" if _and_chain(tokens) else ""
        return [ctx.change(ChangeKind.TRANSACTION_CONTROL, detail=f"rollback{chained}")]
    if head in {"SAVEPOINT", "RELEASE"}:
        return [ctx.change(ChangeKind.TRANSACTION_CONTROL, detail=head.lower())]
    if head in {"RESET", "DISCARD"}:
        setting = tokens[1].text if len(tokens) > 1 else None
        return [ctx.change(ChangeKind.SESSION_SETTING, name=setting, detail=head)]
    if head == "DROP" and len(words) > 2:
        return _recognise_drop(ctx, tokens, words)
    if head in {"GRANT", "REVOKE"}:
        return [ctx.change(ChangeKind.GRANT)]
    if head in {"ANALYZE", "CHECKPOINT"}:
        return [ctx.change(ChangeKind.OTHER_DDL, detail=head)]
    if head == "VACUUM":
        full = "FULL" in words[1:3] or _has(words, "FULL", "TRUE")
        kind = ChangeKind.TABLE_MAINTENANCE if full else ChangeKind.OTHER_DDL
        table = (
            tokens[-1].text
            if len(tokens) > 1 and words[-1] not in {"FULL", "VERBOSE", "ANALYZE", ")"}
            else None
        )
        return [ctx.change(kind, table=table, detail="VACUUM FULL" if full else "VACUUM")]
    if head == "CLUSTER":
        return [
            ctx.change(
                ChangeKind.TABLE_MAINTENANCE,
                table=tokens[1].text if len(tokens) > 1 else None,
                detail="CLUSTER",
            )
        ]
    if head == "REINDEX":
        i = 1
        if i < len(words) and words[i] == "(":
            while i < len(words) and words[i] != ")":
                i += 1
            i += 1
        target = words[i] if i < len(words) else ""
        i = _skip(words, i + 1, "CONCURRENTLY")
        schema, name, _ = _ident(tokens, i)
        return [
            ctx.change(
                ChangeKind.TABLE_MAINTENANCE,
                schema=schema,
                name=name,
                table=name if target == "TABLE" else None,
                object_type=target.lower(),
                concurrently="CONCURRENTLY" in words,
                detail="REINDEX",
            )
        ]
    if head == "LOCK":
        i = _skip(words, 1, "TABLE", "ONLY")
        schema, name, _ = _ident(tokens, i)
        return [
            ctx.change(
                ChangeKind.LOCK_TABLE,
                schema=schema,
                table=name,
                detail=" ".join(words[words.index("IN") + 1 : -1]) if "IN" in words else "",
            )
        ]
    if head == "DO":
        return [ctx.opaque("anonymous code block (DO) cannot be analysed")]
    if head == "CREATE":
        return _recognise_create(ctx, tokens, words)
    if head == "ALTER" and len(words) > 2:
        return _recognise_alter(ctx, tokens, words)
    return None


def _recognise_drop(ctx: _Context, tokens: Sequence[Token], words: list[str]) -> list[Change] | None:
    """DROP statements sqlglot leaves opaque: DROP EXTENSION, DROP POLICY, DROP RULE, ..."""
    i = 1
    kind = words[i]
    if kind == "MATERIALIZED" and words[i + 1 : i + 2] == ["VIEW"]:
        kind, i = "MATERIALIZED VIEW", i + 1
    i = _skip(words, i + 1, "IF", "EXISTS", "CONCURRENTLY")
    schema, name, _ = _ident(tokens, i)
    if kind in {"TABLE", "INDEX"}:
        return None
    return [ctx.change(ChangeKind.DROP_OBJECT, object_type=kind.lower(), schema=schema, name=name)]


def _recognise_create(ctx: _Context, tokens: Sequence[Token], words: list[str]) -> list[Change] | None:
    i = _skip(words, 1, "OR", "REPLACE", "UNIQUE", "TEMP", "TEMPORARY", "CONSTRAINT", "TRUSTED", "PROCEDURAL")
    if i >= len(words):
        return None
    if words[i] == "INDEX":
        if "ON" not in words:
            return None  # not a whole CREATE INDEX statement
        concurrently = words[i + 1 : i + 2] == ["CONCURRENTLY"]
        on = words.index("ON")
        name = tokens[on - 1].text if on > i + 1 and words[on - 1] not in {"CONCURRENTLY", "EXISTS"} else None
        schema, table, _ = _ident(tokens, _skip(words, on + 1, "ONLY")) if on > 0 else (None, None, 0)
        return [
            ctx.change(
                ChangeKind.CREATE_INDEX,
                schema=schema,
                table=table,
                name=name,
                unique="UNIQUE" in words[:i],
                concurrently=concurrently,
            )
        ]
    object_type = words[i].lower()
    if object_type in {
        "function",
        "procedure",
        "trigger",
        "extension",
        "aggregate",
        "domain",
        "policy",
        "rule",
        "operator",
        "cast",
        "collation",
        "language",
        "publication",
        "statistics",
    }:
        j = _skip(words, i + 1, "IF", "NOT", "EXISTS")
        schema, name, _ = _ident(tokens, j)
        return [ctx.change(ChangeKind.CREATE_OBJECT, object_type=object_type, schema=schema, name=name)]
    return None


def _recognise_alter(ctx: _Context, tokens: Sequence[Token], words: list[str]) -> list[Change] | None:
    target = words[1]
    i = _skip(words, 2, "IF", "EXISTS", "ONLY")
    schema, name, after = _ident(tokens, i)
    rest = words[after:]
    if target == "TYPE":
        if rest[:2] == ["ADD", "VALUE"]:
            if not any(t.token_type == TokenType.STRING for t in tokens[after:]):
                return None  # no value: not a whole statement
            value = tokens[-1].text
            if "BEFORE" in rest or "AFTER" in rest:
                value = tokens[after + 2 + (3 if rest[2:5] == ["IF", "NOT", "EXISTS"] else 0)].text
            return [
                ctx.change(
                    ChangeKind.ADD_ENUM_VALUE, object_type="type", schema=schema, name=name, new_name=value
                )
            ]
        if rest[:2] == ["RENAME", "VALUE"]:
            return [
                ctx.change(
                    ChangeKind.RENAME_ENUM_VALUE,
                    object_type="type",
                    schema=schema,
                    name=name,
                    new_name=tokens[-1].text,
                )
            ]
        if rest[:2] == ["RENAME", "TO"] or rest[:2] == ["SET", "SCHEMA"]:
            return [
                ctx.change(
                    ChangeKind.RENAME_OBJECT,
                    object_type="type",
                    schema=schema,
                    name=name,
                    new_name=tokens[-1].text,
                )
            ]
        return None
    if target in {"SEQUENCE", "VIEW", "INDEX", "FUNCTION", "SCHEMA", "MATERIALIZED", "TRIGGER", "DOMAIN"}:
        if rest[:2] == ["RENAME", "TO"] or rest[:2] == ["SET", "SCHEMA"]:
            return [
                ctx.change(
                    ChangeKind.RENAME_OBJECT,
                    object_type=target.lower(),
                    schema=schema,
                    name=name,
                    new_name=tokens[-1].text,
                )
            ]
        return [
            ctx.change(
                ChangeKind.OTHER_DDL,
                object_type=target.lower(),
                schema=schema,
                name=name,
                detail=f"ALTER {target}",
            )
        ]
    if target != "TABLE":
        return None
    out: list[Change] = []
    for action in _top_level_split(tokens[after:]):
        out.extend(_alter_table_action(ctx, tokens, after, schema, name, action))
    return out or None


def _top_level_split(tokens: Sequence[Token]) -> list[list[Token]]:
    """Tokens split at commas outside parentheses: the actions of one ALTER TABLE."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif token.token_type == TokenType.COMMA and depth == 0:
            parts.append([])
            continue
        parts[-1].append(token)
    return [p for p in parts if p]


def _source(ctx: _Context, first: Token, last: Token) -> str:
    offset = ctx.statement.tokens[0].start
    return ctx.statement.text[first.start - offset : last.end - offset + 1]


def _alter_table_action(
    ctx: _Context,
    tokens: Sequence[Token],
    after: int,
    schema: str | None,
    name: str | None,
    action: list[Token],
) -> list[Change]:
    """One action of an ALTER TABLE that sqlglot could not model as a whole.

    The action is parsed again on its own (most are modelled then); the rest are recognised from
    their tokens, and an action neither way understands is opaque.
    """
    virtual = len(action) > 2 and action[-1].text.upper() == "VIRTUAL" and action[0].text.upper() == "ADD"
    last = action[-2] if virtual else action[-1]  # PG18's VIRTUAL, which sqlglot does not read
    single = f"ALTER TABLE {_source(ctx, tokens[2], tokens[after - 1])} {_source(ctx, action[0], last)}"
    parsed = split_statements(single, ctx.dialect)
    if virtual and len(parsed) == 1 and isinstance(parsed[0].expression, exp.Alter):
        return [
            replace(c, generated=False, detail="virtual generated column")
            if c.kind is ChangeKind.ADD_COLUMN
            else c
            for c in _alter(ctx, parsed[0].expression)
        ]
    if len(parsed) == 1 and isinstance(parsed[0].expression, exp.Alter):
        return _alter(ctx, parsed[0].expression)
    found = _table_action_tokens(ctx, schema, name, action)
    if found is not None:
        return found
    return [ctx.opaque(f"unsupported ALTER TABLE action ({' '.join(t.text for t in action[:3])} ...)")]


# ALTER COLUMN sub-commands that change neither what old code reads nor what it may write
_HARMLESS_COLUMN_ACTIONS = (
    "SET STATISTICS",
    "SET STORAGE",
    "SET COMPRESSION",
    "RESTART",
    "SET (",
    "RESET (",
)


def _not_null_constraint(words: list[str], action: list[Token]) -> tuple[str | None, str, bool] | None:
    """PostgreSQL 18's `ADD [CONSTRAINT n] NOT NULL col [NOT VALID]`: (name, column, not valid)."""
    at = 3 if words[:2] == ["ADD", "CONSTRAINT"] else 1
    if words[:1] != ["ADD"] or words[at : at + 2] != ["NOT", "NULL"] or len(action) <= at + 2:
        return None
    cname = action[2].text if at == 3 else None
    return cname, action[at + 2].text, words[-2:] == ["NOT", "VALID"]


def _table_action_tokens(
    ctx: _Context, schema: str | None, name: str | None, action: list[Token]
) -> list[Change] | None:
    rest = _words(action)
    table = {"schema": schema, "table": name}
    if rest[:2] == ["VALIDATE", "CONSTRAINT"] and len(action) == 3:
        return [ctx.change(ChangeKind.VALIDATE_CONSTRAINT, name=action[2].text, **table)]
    if rest[:2] == ["RENAME", "CONSTRAINT"] and len(action) == 5:
        return [
            ctx.change(
                ChangeKind.RENAME_OBJECT,
                object_type="constraint",
                name=action[2].text,
                new_name=action[4].text,
                **table,
            )
        ]
    if rest[:2] == ["SET", "SCHEMA"] and len(action) == 3:
        return [
            ctx.change(
                ChangeKind.RENAME_TABLE, new_name=f"{action[2].text}.{name}", detail="SET SCHEMA", **table
            )
        ]
    if rest[:1] == ["ADD"] and len(rest) >= 4 and rest[-3:-1] == ["USING", "INDEX"]:
        cname = action[2].text if rest[1:2] == ["CONSTRAINT"] else None
        primary = any(word.startswith("PRIMARY") for word in rest)  # the tokenizer keeps "PRIMARY KEY" whole
        ctype = ConstraintType.PRIMARY_KEY if primary else ConstraintType.UNIQUE
        return [
            ctx.change(
                ChangeKind.ADD_CONSTRAINT,
                name=cname,
                constraint_type=ctype,
                using_index=action[-1].text,
                **table,
            )
        ]
    if rest[:1] == ["ADD"] and len(rest) > 2 and rest[1] in ("CHECK", "EXCLUDE"):
        condition = _source(ctx, action[2], action[-1]) if rest[1] == "CHECK" else ""
        not_valid = rest[-2:] == ["NOT", "VALID"]
        if not_valid:
            condition = condition.rsplit("NOT", 1)[0] if condition.upper().endswith("VALID") else condition
        proof = check_proves_not_null(condition, ctx.dialect) if condition else ()
        return [
            ctx.change(
                ChangeKind.ADD_CONSTRAINT,
                constraint_type=ConstraintType.CHECK if rest[1] == "CHECK" else ConstraintType.EXCLUDE,
                columns=proof,
                proves_not_null=proof,
                not_valid=not_valid,
                **table,
            )
        ]
    not_null = _not_null_constraint(rest, action)
    if not_null is not None:
        cname, column, not_valid = not_null
        return [
            ctx.change(
                ChangeKind.ADD_CONSTRAINT,
                name=cname,
                constraint_type=ConstraintType.NOT_NULL,
                columns=(column,),
                not_valid=not_valid,
                **table,
            )
        ]
    if rest[:2] in (["DETACH", "PARTITION"], ["ATTACH", "PARTITION"]) and len(action) >= 3:
        _, pname, _ = _ident(action, 2)
        if rest[0] == "ATTACH":
            return [ctx.change(ChangeKind.ATTACH_PARTITION, name=pname, **table)]
        return [
            ctx.change(
                ChangeKind.DETACH_PARTITION,
                name=pname,
                concurrently="CONCURRENTLY" in rest,
                detail="FINALIZE" if "FINALIZE" in rest else "",
                **table,
            )
        ]
    if rest[:1] == ["ALTER"] and len(rest) >= 3:
        j = _skip(rest, 1, "COLUMN")
        column = action[j].text
        tail = " ".join(rest[j + 1 :])
        if tail == "DROP IDENTITY" or tail.startswith("DROP IDENTITY "):
            # old writers that omit the column relied on the identity to fill it
            return [ctx.change(ChangeKind.DROP_DEFAULT, column=column, detail="DROP IDENTITY", **table)]
        if tail.startswith(("ADD GENERATED ALWAYS", "SET GENERATED ALWAYS")):
            # the column now rejects the values old writers send for it
            return [ctx.change(ChangeKind.RESTRICT_WRITES, column=column, detail=tail, **table)]
        if tail.startswith(("ADD GENERATED BY DEFAULT", "SET GENERATED BY DEFAULT")):
            return [ctx.change(ChangeKind.SET_DEFAULT, column=column, detail=tail, **table)]
        if tail.startswith(_HARMLESS_COLUMN_ACTIONS):
            return [ctx.change(ChangeKind.OTHER_DDL, column=column, detail=f"ALTER COLUMN {tail}", **table)]
        return None
    if rest[:1] in (
        ["OWNER"],
        ["REPLICA"],
        ["ENABLE"],
        ["DISABLE"],
        ["FORCE"],
        ["NO"],
        ["CLUSTER"],
        ["RESET"],
        ["INHERIT"],
        ["OF"],
        ["NOT"],
    ):
        return [ctx.change(ChangeKind.OTHER_DDL, detail="ALTER TABLE " + " ".join(rest[:2]), **table)]
    return None


def _statement_changes(
    statement: Statement, location: Location, in_transaction: bool, dialect: str
) -> list[Change]:
    ctx = _Context(statement=statement, location=location, in_transaction=in_transaction, dialect=dialect)
    node = statement.expression
    try:
        handler = _HANDLERS.get(type(node)) if node is not None else None
        if handler is not None and node is not None:
            return handler(ctx, node) + _nested_dml(ctx, node)
        recognised = _recognise(ctx, _expand_command(statement.tokens, dialect))
    except (IndexError, ValueError, AttributeError, TypeError) as exc:
        # a statement of a shape the readers did not expect (often a truncated one)
        return [ctx.opaque(f"cannot read statement ({type(exc).__name__})")]
    if recognised is not None:
        return recognised
    if node is None:
        return [ctx.opaque(f"cannot parse: {statement.error}")]
    return [ctx.opaque(f"unsupported statement ({statement.text.split()[0].upper()} ...)")]


_DML = (exp.Update, exp.Delete, exp.Insert)


def _nested_dml(ctx: _Context, node: exp.Expr) -> list[Change]:
    """Data changes inside another statement: `WITH d AS (DELETE ... RETURNING *) SELECT ...`."""
    out: list[Change] = []
    for inner in node.find_all(*_DML):
        if inner is not node:
            out.extend(_HANDLERS[type(inner)](ctx, inner))
    return out


_ENDS_OR_BEGINS = frozenset({"begin", "commit", "rollback"})


def next_transaction(changes: Iterable[Change], transaction: int) -> int:
    """The transaction number after `changes`: one more per BEGIN, COMMIT or ROLLBACK among them."""
    for change in changes:
        if change.kind is ChangeKind.TRANSACTION_CONTROL and change.detail in _ENDS_OR_BEGINS:
            transaction += 1
    return transaction


def transaction_after(changes: Iterable[Change], in_transaction: bool) -> bool:
    """Whether a transaction is open after `changes` ran, starting from `in_transaction`."""
    for change in changes:
        if change.kind is ChangeKind.TRANSACTION_CONTROL and change.detail in _ENDS_OR_BEGINS:
            in_transaction = change.detail == "begin"
    return in_transaction


def changes_from_sql(
    sql: str,
    *,
    dialect: str,
    location: Location,
    in_transaction: bool = True,
    statement_lines: bool = False,
    transaction: int = 0,
) -> list[Change]:
    """Every change `sql` makes, in order.

    With `statement_lines`, each change's line is `location.line` plus the statement's line offset
    (for SQL files); otherwise every change keeps `location` (for `op.execute()` calls).
    """
    out: list[Change] = []
    for statement in split_statements(sql, dialect):
        where = location
        if statement_lines:
            where = replace(location, line=location.line + statement.line - 1, column=statement.column + 1)
        changes = [
            replace(c, transaction=transaction)
            for c in _statement_changes(statement, where, in_transaction, dialect)
        ]
        in_transaction = transaction_after(changes, in_transaction)
        transaction = next_transaction(changes, transaction)
        out.extend(changes)
    return out
