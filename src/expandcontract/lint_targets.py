"""Which revisions a lint run reports on: a revision range, files changed since a git ref, the
revision files named on the command line, and `start-after`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from expandcontract.errors import UsageError
from expandcontract.history import History


def _resolve(history: History, name: str, side: str) -> set[str]:
    """The revisions `name` stands for: `base` (none), `head`/`heads`, `label@head`, an id or its prefix."""
    key = name.strip()
    if key == "base":
        return set()
    if key in ("head", "heads"):
        return set(history.heads)
    if key.endswith("@head"):
        label = key[: -len("@head")]
        branch = _descendants(history, {r.revision for r in history.revisions if label in r.branch_labels})
        heads = [r for r in branch if not any(c in branch for c in history.children.get(r, ()))]
        if not heads:
            raise UsageError(f"no branch labelled {label!r} in the {side} of the revision range")
        return set(heads)
    found = [r for r in history.by_id if r.startswith(key)]
    if len(found) != 1:
        problem = "matches no revision" if not found else f"is ambiguous ({', '.join(sorted(found)[:4])})"
        raise UsageError(f"revision {key!r} in the {side} of the revision range {problem}")
    return set(found)


def _descendants(history: History, roots: set[str]) -> set[str]:
    out = set(roots)
    stack = list(roots)
    while stack:
        for child in history.children.get(stack.pop(), ()):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def revision_range(history: History, spec: str) -> set[str]:
    """`lower:upper`, as Alembic reads it: what upgrading from `lower` to `upper` applies."""
    lower, sep, upper = spec.partition(":")
    if not sep or not upper:
        raise UsageError(f"revision range {spec!r} must look like `abc123:head` or `base:expand@head`")
    below = history.ancestors(_resolve(history, lower or "base", "lower end"))
    chosen = history.ancestors(_resolve(history, upper, "upper end")) - below
    if not chosen:
        raise UsageError(
            f"revision range {spec!r} selects no revision: its upper end must come after its lower end"
        )
    return chosen


def after_start(history: History, start_after: str) -> set[str]:
    """Every revision except `start_after` and its ancestors (legacy history)."""
    found = [r for r in history.by_id if r.startswith(start_after)]
    if len(found) != 1:
        raise UsageError(
            f"start-after = {start_after!r} matches {len(found) or 'no'} revision(s); give one revision id"
        )
    return set(history.by_id) - history.ancestors(found)


def _git(args: Iterable[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise UsageError(f"--since needs git, which could not be run ({exc.strerror})") from exc


def _branch(ref: str) -> str:
    return ref.removeprefix("refs/remotes/").removeprefix("origin/")


def changed_since(ref: str, cwd: Path) -> set[Path]:
    """Files added or modified since `ref` (from where the branch left it), committed or not."""
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise UsageError(f"--since {ref}: {cwd} is not inside a git repository")
    root = Path(top.stdout.strip())
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd).returncode != 0:
        raise UsageError(
            f"--since {ref}: no such git ref here; in a shallow CI clone fetch it first "
            f"(git fetch --depth=50 origin +{_branch(ref)}:refs/remotes/origin/{_branch(ref)}, "
            "or check out with fetch-depth: 0)"
        )
    base = _git(["merge-base", ref, "HEAD"], cwd)
    start = base.stdout.strip() if base.returncode == 0 and base.stdout.strip() else ref
    diff = _git(["diff", "--name-only", "--diff-filter=ACMR", start], cwd)
    if diff.returncode != 0:
        first = (diff.stderr.strip().splitlines() or ["no output"])[0]
        raise UsageError(f"--since {ref}: git diff failed ({first})")
    untracked = _git(["ls-files", "--others", "--exclude-standard"], root)  # relative to root, like diff
    names = diff.stdout.splitlines() + untracked.stdout.splitlines()
    return {(root / name).resolve() for name in names if name.strip()}
