"""The docs stay true: the CLI reference matches the commands, and relative links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from expandcontract.cli.reference import REGENERATE, render_cli_reference

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = sorted([REPO / "README.md", *DOCS.glob("*.md")])

FENCED = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, ...


def relative_links(markdown: str) -> list[str]:
    """Link targets that point into the repository (code is not scanned; anchors are dropped)."""
    text = INLINE_CODE.sub("", FENCED.sub("", markdown))
    targets = []
    for target in LINK.findall(text):
        if EXTERNAL.match(target) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def test_cli_reference_is_current() -> None:
    page = DOCS / "cli.md"
    assert page.is_file(), f"docs/cli.md is missing; generate it with `{REGENERATE}`"
    assert page.read_text(encoding="utf-8") == render_cli_reference(), (
        f"docs/cli.md is out of date with the CLI; regenerate it with `{REGENERATE}`"
    )


def test_every_docs_page_is_checked() -> None:
    names = {p.name for p in DOCS.glob("*.md")}
    assert {"index.md", "tutorial.md", "phase-model.md", "adopt.md", "configuration.md", "cli.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_point_at_existing_files(page: Path) -> None:
    broken = [
        target
        for target in relative_links(page.read_text(encoding="utf-8"))
        if not (page.parent / target).exists()
    ]
    assert not broken, f"{page.relative_to(REPO)} links to missing files: {', '.join(broken)}"


def test_relative_links_ignore_code_and_external_targets() -> None:
    markdown = (
        "See [the tutorial](tutorial.md#start) and [PEP 8](https://peps.python.org/pep-0008/).\n"
        "`[not](a-link.md)` and [top](#top)\n"
        "```toml\n[tool.expandcontract]\nx = [\"a\"](\"b.md\")\n```\n"
    )
    assert relative_links(markdown) == ["tutorial.md"]
