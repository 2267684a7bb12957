"""Suppression comments: `# expandcontract: ignore[EC101] -- reason` on a line, or
`expandcontract: ignore-file[EC101] -- reason` for a whole revision (its docstring or any comment)
or SQL file (`-- ...`)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

from expandcontract.rules.base import Rule
from expandcontract.rules.registry import find_rule

_DIRECTIVE = re.compile(
    r"expandcontract:\s*(?P<form>ignore-file|ignore)\s*\[(?P<codes>[^\]]*)\](?:\s*--\s*(?P<reason>.*))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Suppression:
    line: int  # 1-based line of the comment
    column: int  # 1-based column where `expandcontract:` starts
    selectors: tuple[str, ...]  # as written: codes or names
    reason: str
    file_level: bool
    own_line: bool  # the comment is alone on its line (so it also covers the next line)

    @property
    def rules(self) -> list[Rule | None]:
        return [find_rule(s) for s in self.selectors]

    def covers(self, code: str, line: int, last_line: int = 0) -> bool:
        """Whether it suppresses `code` for a statement on lines `line`..`last_line`: a comment on any
        of its lines (a formatter puts it after the closing parenthesis), or alone on the line above."""
        if not any(rule is not None and rule.code == code for rule in self.rules):
            return False
        if self.file_level:
            return True
        return line <= self.line <= max(line, last_line) or (self.own_line and line == self.line + 1)


def _parse(text: str, line: int, column: int, own_line: bool) -> Iterator[Suppression]:
    for match in _DIRECTIVE.finditer(text):
        selectors = tuple(s.strip() for s in match.group("codes").split(",") if s.strip())
        yield Suppression(
            line=line,
            column=column + match.start() + 1,
            selectors=selectors,
            reason=(match.group("reason") or "").strip(),
            file_level=match.group("form").lower() == "ignore-file",
            own_line=own_line,
        )


def _python_comments(source: str) -> Iterator[tuple[str, int, int, bool]]:
    """(comment text, line, 0-based column, alone on its line); docstrings count for ignore-file."""
    lines = source.splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        for number, text in enumerate(lines, start=1):  # a broken file: read comments line by line
            at = text.find("#")
            if at >= 0:
                yield text[at:], number, at, not text[:at].strip()
        return
    for token in tokens:
        if token.type == tokenize.COMMENT:
            row, col = token.start
            yield token.string, row, col, not lines[row - 1][:col].strip()
        elif token.type == tokenize.STRING and "ignore-file" in token.string:
            row, col = token.start
            for offset, text in enumerate(token.string.splitlines()):
                if "ignore-file" in text:
                    yield text, row + offset, col if offset == 0 else 0, False


def _sql_comments(source: str) -> Iterator[tuple[str, int, int, bool]]:
    for number, text in enumerate(source.splitlines(), start=1):
        at = text.find("--")
        while at >= 0 and "expandcontract:" not in text[at:]:
            at = text.find("--", at + 2)
        if at >= 0:
            yield text[at:], number, at, not text[:at].strip()


def python_statement_lines(source: str) -> dict[int, int]:
    """First line -> last line of each simple statement (a call spread over several lines)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    spans: dict[int, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not hasattr(node, "body") and node.end_lineno:
            spans[node.lineno] = max(spans.get(node.lineno, 0), node.end_lineno)
    return spans


_REVIEW = re.compile(r"#\s*expandcontract:\s*review\b:?\s*(?P<why>.*)", re.IGNORECASE)


def review_markers_in(source: str) -> list[tuple[int, int, str]]:
    """(line, 1-based column, why) of each `# expandcontract: review` comment in a revision's
    `upgrade()` (the downgrade's say what cannot be undone: they wait for the day it runs)."""
    if not _REVIEW.search(source):
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "upgrade"
    ]
    out = []
    for text, line, column, _ in _python_comments(source):
        match = _REVIEW.match(text)
        if match and any(first <= line <= last for first, last in spans):
            out.append((line, column + 1, match.group("why").strip()))
    return out


def suppressions_in(source: str, *, python: bool) -> list[Suppression]:
    if "expandcontract:" not in source.lower():
        return []  # most files: no need to tokenize them
    comments = _python_comments(source) if python else _sql_comments(source)
    out: list[Suppression] = []
    for text, line, column, own_line in comments:
        if "expandcontract:" in text.lower():
            found = list(_parse(text, line, column, own_line))
            # only ignore-file counts in docstrings: a line suppression there would cover nothing
            out.extend(s for s in found if s.file_level or text.lstrip().startswith(("#", "--")))
    return out
