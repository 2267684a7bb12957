"""The layout invariants `expandcontract check` enforces in CI."""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from expandcontract.history import CONTRACT_LABEL, EXPAND_LABEL, History
from expandcontract.model import CapturedRevision, ChangeKind, DeclaredPhase, RevisionInfo

ENV_HOOK_MARKER = "before_migrations"  # what a project's env.py calls (alembic_ext/envhook.py)


@dataclass(frozen=True)
class Violation:
    code: str  # EC005 / EC006 where the lint catalog has the rule, else a kebab-case name
    path: str
    message: str
    line: int = 0

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.code} {self.message}"


def _branch_roots(history: History) -> list[Violation]:
    out: list[Violation] = []
    roots: dict[str, list[RevisionInfo]] = {
        label: history.roots_labelled(label) for label in (EXPAND_LABEL, CONTRACT_LABEL)
    }
    for label, found in roots.items():
        if not found:
            out.append(
                Violation(
                    "branch-roots",
                    "",
                    f"no revision carries branch_labels = ('{label}',); run `expandcontract adopt`",
                )
            )
        for extra in found[1:]:
            out.append(
                Violation(
                    "branch-roots",
                    extra.path,
                    f"`{label}` label on {extra.revision}, but "
                    f"{found[0].revision} already starts that branch; labels belong on branch roots only",
                )
            )
    if roots[EXPAND_LABEL] and roots[CONTRACT_LABEL]:
        expand, contract = roots[EXPAND_LABEL][0], roots[CONTRACT_LABEL][0]
        if expand.down_revisions != contract.down_revisions or len(expand.down_revisions) != 1:
            out.append(
                Violation(
                    "branch-roots",
                    contract.path,
                    f"the branch roots {expand.revision} (expand) and {contract.revision} (contract) must "
                    f"grow from one common root, not {expand.down_revisions} and {contract.down_revisions}",
                )
            )
    return out


def _branch_heads(history: History) -> list[Violation]:
    """Each phase branch has one head, so `expand@head` and `contract@head` name one revision."""
    out: list[Violation] = []
    for phase in (DeclaredPhase.EXPAND, DeclaredPhase.CONTRACT):
        members = history.in_phase(phase)
        heads = [
            r
            for r in members
            if not any(history.by_id[c].declared_phase is phase for c in history.children.get(r.revision, ()))
        ]
        if len(heads) > 1:
            names = ", ".join(h.revision for h in heads)
            out.append(
                Violation(
                    "branch-heads",
                    heads[-1].path,
                    f"the {phase.value} branch has {len(heads)} heads ({names}); join them with `alembic "
                    f"merge {' '.join(h.revision for h in heads)}` so `{phase.value}@head` is one revision",
                )
            )
    return out


def _folder(info: RevisionInfo, base: Path) -> Violation | None:
    # only folders below the project count: a checkout under /srv/contract/ is not a phase folder
    parts = (
        set(Path(info.path).parent.relative_to(base).parts)
        if Path(info.path).is_relative_to(base)
        else set(Path(info.path).parent.parts)
    )
    phase = info.declared_phase
    if phase in (DeclaredPhase.EXPAND, DeclaredPhase.CONTRACT):
        other = CONTRACT_LABEL if phase is DeclaredPhase.EXPAND else EXPAND_LABEL
        if phase.value not in parts or other in parts:
            return Violation(
                "EC006",
                info.path,
                f"{info.revision} is on the {phase.value} branch but not in a "
                f"`{phase.value}/` folder; move the file there",
            )
    elif phase is DeclaredPhase.BASELINE and parts & {EXPAND_LABEL, CONTRACT_LABEL}:
        return Violation(
            "EC006", info.path, f"{info.revision} is before the branch point but sits in a phase folder"
        )
    return None


def _unphased(history: History, info: RevisionInfo) -> Violation:
    parents = [history.by_id[p].declared_phase for p in info.down_revisions if p in history.by_id]
    if DeclaredPhase.EXPAND in parents and DeclaredPhase.CONTRACT in parents:
        return Violation(
            "EC006",
            info.path,
            f"{info.revision} merges the expand and contract branches; "
            "the branches must stay apart (use depends_on to order them)",
        )
    return Violation(
        "EC006",
        info.path,
        f"{info.revision} is on neither the expand nor the contract branch; "
        "rebase it with `down_revision` onto one of them",
    )


def _removed_columns(captured: CapturedRevision) -> set[tuple[str, str]]:
    kinds = (
        ChangeKind.DROP_COLUMN,
        ChangeKind.RENAME_COLUMN,
        ChangeKind.ALTER_COLUMN_TYPE,
        ChangeKind.SWAP_COLUMN,
    )
    return {
        (c.table.lower(), c.column.lower())
        for c in captured.changes
        if c.kind in kinds and c.table and c.column
    }


def _copied_columns(captured: CapturedRevision) -> set[tuple[str, str]]:
    """Columns an expand revision copies from (a backfill `UPDATE t SET new = old`)."""
    out: set[tuple[str, str]] = set()
    for change in captured.changes:
        if change.kind is ChangeKind.UPDATE and change.table:
            for read in change.reads:
                column = read.split(".")[-1].lower()
                if column not in {c.lower() for c in change.columns}:
                    out.add((change.table.lower(), column))
    return out


def _recipes(history: History, captured: Sequence[CapturedRevision]) -> list[Violation]:
    copies = {
        c.info.revision: _copied_columns(c) for c in captured if c.info.declared_phase is DeclaredPhase.EXPAND
    }
    copied_anywhere: set[tuple[str, str]] = set().union(*copies.values())
    out: list[Violation] = []
    for revision in captured:
        if revision.info.declared_phase is not DeclaredPhase.CONTRACT:
            continue
        removed = _removed_columns(revision) & copied_anywhere
        if not removed:
            continue
        needed = history.ancestors([revision.info.revision])
        for table, column in sorted(removed):
            for expand_rev, copied in copies.items():
                if (table, column) in copied and expand_rev not in needed:
                    out.append(
                        Violation(
                            "EC005",
                            revision.info.path,
                            f"{revision.info.revision} removes {table}.{column}, which expand revision "
                            f"{expand_rev} copies into its replacement; add depends_on = ('{expand_rev}',)",
                        )
                    )
    return out


def _calls(node: ast.AST, name: str) -> bool:
    """Whether `name(...)` or `x.name(...)` is called somewhere in `node` (not in nested functions)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Call):
            func = current.func
            if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) == name:
                return True
        stack.extend(
            child
            for child in ast.iter_child_nodes(current)
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef)
        )
    return False


_BLOCKS = ("body", "orelse", "finalbody", "handlers")


def _runs_are_guarded(statements: list[ast.stmt], guarded: bool) -> tuple[bool, int]:
    """(every run_migrations() here comes after a hook call earlier in the same or an enclosing
    block, how many runs there are). A hook inside an `if` guards only that branch."""
    runs = 0
    for statement in statements:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue  # its own scope, checked on its own
        blocks = [getattr(statement, b) for b in _BLOCKS if isinstance(getattr(statement, b, None), list)]
        if not blocks:  # a simple statement
            if _calls(statement, "run_migrations"):
                if not guarded:
                    return False, runs
                runs += 1
            if isinstance(statement, ast.Expr) and _calls(statement, ENV_HOOK_MARKER):
                guarded = True
            continue
        for block in blocks:
            inner = [h for h in block if isinstance(h, ast.ExceptHandler)]
            body = [s for h in inner for s in h.body] if inner else block
            ok, count = _runs_are_guarded(body, guarded)
            runs += count
            if not ok:
                return False, runs
    return True, runs


def calls_gate_hook(env_py: Path) -> bool:
    """Whether every `context.run_migrations()` in env.py runs after `before_migrations(context)`
    imported from expandcontract: earlier in the same block or an enclosing one, in every function
    and at module level (a comment, a mere import, a hook on another branch do not count)."""
    try:
        tree = ast.parse(env_py.read_bytes(), filename=str(env_py))  # bytes: Python's own decoding rules
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return False
    imported = any(
        (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("expandcontract"))
        or (isinstance(node, ast.Import) and any(a.name.startswith("expandcontract") for a in node.names))
        for node in ast.walk(tree)
    )
    redefined = any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == ENV_HOOK_MARKER
        for node in ast.walk(tree)
    )
    if not imported or redefined:
        return False
    scopes: list[list[ast.stmt]] = [tree.body] + [
        node.body for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    total = 0
    for body in scopes:
        ok, runs = _runs_are_guarded(body, guarded=False)
        if not ok:
            return False
        total += runs
    return total > 0


def _base(history: History, script_dir: Path | None) -> Path:
    paths = [Path(r.path).parent for r in history.revisions]
    if script_dir is not None and all(p.is_relative_to(script_dir) for p in paths):
        return script_dir
    return Path(os.path.commonpath(paths)) if paths else Path("/")


def check_layout(
    history: History, captured: Sequence[CapturedRevision], script_dir: Path | None
) -> list[Violation]:
    """Every layout invariant the project breaks; empty when it is sound.

    `script_dir` is the Alembic script directory: phase folders are looked for below it, and its
    env.py must call the gate hook.
    """
    if not history.phased:
        return [
            Violation(
                "branch-roots",
                "",
                "the project has no expand/contract branches; "
                "run `expandcontract adopt` (existing history) or `expandcontract init` (new project)",
            )
        ]
    out = _branch_roots(history) + _branch_heads(history)
    base = _base(history, script_dir)
    for info in history.revisions:
        if info.declared_phase is DeclaredPhase.UNPHASED:
            out.append(_unphased(history, info))
        else:
            found = _folder(info, base)
            if found:
                out.append(found)
        for dep in info.depends_on:
            dep_phase = history.by_id[dep].declared_phase if dep in history.by_id else None
            if info.declared_phase is DeclaredPhase.EXPAND and dep_phase is DeclaredPhase.CONTRACT:
                out.append(
                    Violation(
                        "EC006",
                        info.path,
                        f"expand revision {info.revision} depends on contract "
                        f"revision {dep}: expand would wait for the rollout",
                    )
                )
    out += _recipes(history, captured)
    env_py = script_dir / "env.py" if script_dir is not None else None
    if env_py is not None and env_py.is_file() and not calls_gate_hook(env_py):
        out.append(
            Violation(
                "env-hook",
                str(env_py),
                "env.py does not call expandcontract's before_migrations(context); "
                "plain `alembic upgrade` would bypass the contract gate (see docs/adopt.md)",
            )
        )
    return out
