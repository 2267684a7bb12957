"""A rule's doc page (docs/rules/ECxxx-name.md), generated from the rule's docstring."""

from __future__ import annotations

import sys
from pathlib import Path

from expandcontract.rules.base import Rule
from expandcontract.rules.registry import ALL_RULES

REQUIRED_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "In Alembic")


def rule_page(rule: Rule) -> str:
    flags = []
    if rule.opt_in:
        flags.append("opt-in")
    if rule.gated:
        flags.append("gated in contract revisions")
    if rule.postgresql_only:
        flags.append("PostgreSQL")
    extra = f" · {' · '.join(flags)}" if flags else ""
    header = (
        f"# {rule.code} {rule.name}\n\n"
        f"{rule.summary[0].upper()}{rule.summary[1:]}.\n\n"
        f"Severity: **{rule.severity.value}**{extra}. "
        f"Select or ignore it as `{rule.code}` or `{rule.name}`; suppress one finding with "
        f"`# expandcontract: ignore[{rule.code}] -- reason`.\n"
    )
    return f"{header}\n{rule.doc.strip()}\n"


def write_rule_docs(folder: Path) -> list[Path]:
    """Write docs/rules/<code>-<name>.md for every rule and the index README.md; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for rule in ALL_RULES:
        path = folder / f"{rule.slug}.md"
        path.write_text(rule_page(rule), encoding="utf-8")
        written.append(path)
    index = folder / "README.md"
    index.write_text(rules_index(), encoding="utf-8")
    return [*written, index]


def rules_index() -> str:
    lines = [
        "# Lint rules",
        "",
        "Generated from the rules' docstrings (`python -m expandcontract.report.rule_docs docs/rules`).",
        "Opt-in rules run only when selected. Gated rules are allowed in contract revisions, which run",
        "behind the gate; there they are reported as `gated`, not as errors.",
        "",
        "| code | name | severity | summary |",
        "|---|---|---|---|",
    ]
    for rule in ALL_RULES:
        flags = " (opt-in)" if rule.opt_in else (" (gated in contract)" if rule.gated else "")
        lines.append(
            f"| [{rule.code}]({rule.slug}.md) | {rule.name} | {rule.severity.value}{flags} | {rule.summary} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rules")
    for written_path in write_rule_docs(target):
        print(written_path)
