"""The rule pages stay true: docs/rules/ is what the rules' docstrings generate, and every rule has a
well-formed code, name, summary and doc, and at least one test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from expandcontract.report.rule_docs import REQUIRED_SECTIONS, rule_page, rules_index
from expandcontract.rules import contract, honesty, locking, phases, recipes, style, transactions
from expandcontract.rules.base import Rule
from expandcontract.rules.registry import ALL_RULES

REPO = Path(__file__).resolve().parent.parent
RULE_DOCS = REPO / "docs" / "rules"
RULE_TESTS = REPO / "tests" / "rules"
REGENERATE = ".venv/bin/python -m expandcontract.report.rule_docs docs/rules"

CODE = re.compile(r"EC\d{3}")
NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
SECTION = re.compile(r"^## (.+?)\s*$", re.MULTILINE)
FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)

# one family per hundred, one module per family (docs/rules/README.md, /work/shared/RULES.md)
FAMILIES = {
    "EC0": phases,
    "EC1": contract,
    "EC2": recipes,
    "EC3": locking,
    "EC4": transactions,
    "EC5": style,
    "EC9": honesty,
}


def by_code(rule: Rule) -> str:
    return rule.code


def sections(doc: str) -> dict[str, str]:
    """`## heading` -> the text under it, up to the next `## ` heading (headings in code do not count)."""
    masked = FENCED.sub(lambda m: re.sub(r"^## ", "   ", m.group(0), flags=re.MULTILINE), doc)
    found = list(SECTION.finditer(masked))
    out: dict[str, str] = {}
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(doc)
        out[match.group(1)] = doc[match.end() : end].strip()
    return out


# docs/rules/ is generated and current


@pytest.mark.parametrize("rule", ALL_RULES, ids=by_code)
def test_rule_page_is_current(rule: Rule) -> None:
    page = RULE_DOCS / f"{rule.slug}.md"
    assert page.is_file(), f"docs/rules/{page.name} is missing; generate it with `{REGENERATE}`"
    assert page.read_text(encoding="utf-8") == rule_page(rule), (
        f"docs/rules/{page.name} is out of date with {rule.code}'s docstring; regenerate with `{REGENERATE}`"
    )


def test_rule_index_is_current() -> None:
    index = RULE_DOCS / "README.md"
    assert index.is_file(), f"docs/rules/README.md is missing; generate it with `{REGENERATE}`"
    assert index.read_text(encoding="utf-8") == rules_index(), (
        f"docs/rules/README.md is out of date; regenerate it with `{REGENERATE}`"
    )


def test_no_stale_rule_pages() -> None:
    expected = {f"{rule.slug}.md" for rule in ALL_RULES} | {"README.md"}
    stale = sorted({p.name for p in RULE_DOCS.iterdir()} - expected)
    assert not stale, (
        f"docs/rules/ has pages of no rule (renamed or removed?), delete them: {', '.join(stale)}"
    )


# every rule is well-formed


def test_codes_and_names_are_unique() -> None:
    codes = [r.code for r in ALL_RULES]
    names = [r.name for r in ALL_RULES]
    assert sorted({c for c in codes if codes.count(c) > 1}) == []
    assert sorted({n for n in names if names.count(n) > 1}) == []


@pytest.mark.parametrize("rule", ALL_RULES, ids=by_code)
def test_code_name_and_summary(rule: Rule) -> None:
    assert CODE.fullmatch(rule.code), f"{rule.code}: a code is EC and three digits"
    assert NAME.fullmatch(rule.name), f"{rule.code}: {rule.name!r} is not kebab-case"
    assert rule.summary.strip() == rule.summary and rule.summary, f"{rule.code}: empty or padded summary"
    assert not rule.summary.endswith("."), f"{rule.code}: the page adds the summary's full stop"
    assert "\n" not in rule.summary, f"{rule.code}: the summary is one line"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_lives_in_its_module(family: str) -> None:
    module = FAMILIES[family]
    wrong = [r.code for r in module.RULES if r.family != family]
    assert module.RULES, f"no rules in {module.__name__}"
    assert not wrong, f"{module.__name__} holds {', '.join(wrong)}, which are not {family}xx"


def test_every_rule_is_in_a_family() -> None:
    assert {r.code[:3] for r in ALL_RULES} <= set(FAMILIES)
    assert len(ALL_RULES) == sum(len(m.RULES) for m in FAMILIES.values())


def test_family_traits() -> None:
    gated_outside_contract = [r.code for r in ALL_RULES if r.gated and r.family != "EC1"]
    default_style = [r.code for r in ALL_RULES if r.family == "EC5" and not r.opt_in]
    assert not gated_outside_contract, "only contract changes (EC1xx) are gated in contract revisions"
    assert not default_style, "style rules (EC5xx) are opt-in"


@pytest.mark.parametrize("rule", ALL_RULES, ids=by_code)
def test_doc_has_every_required_section(rule: Rule) -> None:
    found = sections(rule.doc)
    missing = [name for name in REQUIRED_SECTIONS if name not in found]
    empty = [name for name in REQUIRED_SECTIONS if name in found and not found[name]]
    assert not missing, f"{rule.code}'s docstring lacks `## {'`, `## '.join(missing)}`"
    assert not empty, f"{rule.code}'s docstring has empty sections: {', '.join(empty)}"
    order = [name for name in found if name in REQUIRED_SECTIONS]
    assert order == list(REQUIRED_SECTIONS), f"{rule.code}: sections out of order: {order}"


@pytest.mark.parametrize("rule", ALL_RULES, ids=by_code)
def test_every_rule_has_a_test(rule: Rule) -> None:
    tests = sorted(RULE_TESTS.glob("test_*.py"))
    assert tests, "tests/rules/ has no test files"
    mentioned = [p.name for p in tests if rule.code in p.read_text(encoding="utf-8")]
    assert mentioned, f"no test in tests/rules/test_*.py mentions {rule.code} ({rule.name})"


def test_sections_reads_headings_outside_code_only() -> None:
    doc = "## What it does\nFlags x.\n```python\n## not a heading\n```\n## Example\n`y`\n"
    assert sections(doc) == {"What it does": "Flags x.\n```python\n## not a heading\n```", "Example": "`y`"}
