"""Split SQL text into statements, each with its own parse result and line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from expandcontract.sql.dialect import sqlglot_dialect


@dataclass(frozen=True)
class Statement:
    text: str
    line: int  # 1-based line of the statement's first token within the input
    column: int  # 0-based offset of that token within its line
    tokens: tuple[Token, ...]
    expression: exp.Expr | None  # None when it could not be parsed
    error: str = ""  # why it could not be parsed


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    # sqlglot logs a warning for every statement it falls back to a Command for; we report those
    # ourselves. `disabled`, not setLevel(): setLevel clears every logger's cache, on each statement.
    logger = logging.getLogger("sqlglot")
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


def _chunks(tokens: list[Token]) -> Iterator[list[Token]]:
    current: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def split_statements(sql: str, dialect: str) -> list[Statement]:
    """Parse every statement of `sql`. Unparsable statements come back with `expression=None`."""
    glot = sqlglot_dialect(dialect)
    try:
        tokens = glot.tokenize(sql)
    except TokenError as exc:
        text = sql.strip()
        return [
            Statement(
                text=text, line=1, column=0, tokens=(), expression=None, error=f"cannot tokenize: {exc}"
            )
        ]
    statements: list[Statement] = []
    with _quiet_sqlglot():
        for chunk in _chunks(tokens):
            text = sql[chunk[0].start : chunk[-1].end + 1]
            try:  # the tokens are already there: parse them against the whole text
                parsed = glot.parser().parse(chunk, sql)
                expression = parsed[0] if parsed else None
                error = "" if expression is not None else "empty statement"
            except (ParseError, TokenError) as exc:
                expression, error = None, str(exc).splitlines()[0]
            statements.append(
                Statement(
                    text=text,
                    line=chunk[0].line,
                    column=chunk[0].start - (sql.rfind("\n", 0, chunk[0].start) + 1),
                    tokens=tuple(chunk),
                    expression=expression,
                    error=error,
                )
            )
    return statements


def statement_lines(sql: str, dialect: str) -> dict[int, int]:
    """First line -> last line of each statement (suppression comments may sit on any of them)."""
    return {s.line: s.line + s.text.count("\n") for s in split_statements(sql, dialect)}
