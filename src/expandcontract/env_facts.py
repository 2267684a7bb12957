"""What a project's env.py sets for every run, read from its source (never run)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from expandcontract.checks import calls_gate_hook


@dataclass(frozen=True)
class EnvFacts:
    calls_hook: bool = False  # before_migrations(context) runs before every run_migrations()
    sets_lock_timeout: bool = False  # env.py itself sets lock_timeout (SET, connect options, ...)
    sets_statement_timeout: bool = False
    transaction_per_migration: bool = False


def _strings(tree: ast.AST) -> list[str]:
    return [
        n.value.lower() for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _sets(text: str, setting: str) -> bool:
    """The string sets `setting` to something other than 0 (which turns it off)."""
    for match in re.finditer(rf"{setting}\s*(?:=|\bto\b)?\s*'?\s*([0-9]*)", text):
        if match.group(1) != "0" or re.match(r"0*[1-9]", match.group(1)):
            return True
    return False


def read_env(env_py: Path | None) -> EnvFacts:
    if env_py is None or not env_py.is_file():
        return EnvFacts()
    try:
        tree = ast.parse(env_py.read_bytes(), filename=str(env_py))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return EnvFacts()
    strings = _strings(tree)
    per_migration = any(
        isinstance(node, ast.keyword)
        and node.arg == "transaction_per_migration"
        and isinstance(node.value, ast.Constant)
        and node.value.value is True
        for node in ast.walk(tree)
    )
    return EnvFacts(
        calls_hook=calls_gate_hook(env_py),
        sets_lock_timeout=any(_sets(s, "lock_timeout") for s in strings),
        sets_statement_timeout=any(_sets(s, "statement_timeout") for s in strings),
        transaction_per_migration=per_migration,
    )
