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
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(markdown: str) -> str:
    """The Markdown without fenced code blocks (headings and links inside them do not count)."""
    return FENCED.sub("", markdown)


def relative_links(markdown: str) -> list[str]:
    """Link targets that point into the repository, `file#anchor` or `#anchor` (code is not scanned)."""
    text = INLINE_CODE.sub("", _prose(markdown))
    return [target for target in LINK.findall(text) if not EXTERNAL.match(target)]


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for heading in HEADING.findall(_prose(markdown)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def test_cli_reference_is_current() -> None:
    page = DOCS / "cli.md"
    assert page.is_file(), f"docs/cli.md is missing; generate it with `{REGENERATE}`"
    assert page.read_text(encoding="utf-8") == render_cli_reference(), (
        f"docs/cli.md is out of date with the CLI; regenerate it with `{REGENERATE}`"
    )


def test_the_docs_pages_exist() -> None:
    names = {p.name for p in DOCS.glob("*.md")}
    assert {"index.md", "tutorial.md", "phase-model.md", "adopt.md", "configuration.md", "cli.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_point_at_existing_files(page: Path) -> None:
    broken = []
    for target in relative_links(page.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(REPO)} has broken links: {', '.join(broken)}"


def test_relative_links_ignore_code_and_external_targets() -> None:
    markdown = (
        "See [the tutorial](tutorial.md#start) and [PEP 8](https://peps.python.org/pep-0008/).\n"
        "`[not](a-link.md)` and [top](#top)\n"
        '```toml\n[tool.expandcontract]\nx = ["a"]("b.md")\n```\n'
    )
    assert relative_links(markdown) == ["tutorial.md#start", "#top"]


def test_anchors_follow_github_headings() -> None:
    markdown = "# Top\n## What `check` enforces\n## The env.py lines\n```sh\n# not a heading\n```\n## Top\n"
    assert anchors(markdown) == {"top", "what-check-enforces", "the-envpy-lines", "top-1"}
