"""The docs stay true: the CLI reference matches the commands, and relative links lead somewhere."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from expandcontract.cli.main import cli
from expandcontract.cli.reference import REGENERATE, render_cli_reference

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = sorted([REPO / "README.md", *DOCS.glob("*.md"), *DOCS.glob("rules/*.md")])

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
    assert {
        "index.md",
        "tutorial.md",
        "phase-model.md",
        "adopt.md",
        "configuration.md",
        "cli.md",
        "linting.md",
        "ci.md",
    } <= names


def test_link_check_covers_the_rule_pages() -> None:
    assert DOCS / "rules" / "README.md" in PAGES
    assert DOCS / "rules" / "EC101-drop-column.md" in PAGES


def _hooks() -> list[dict[str, str]]:
    """.pre-commit-hooks.yaml as a list of flat mappings (the file uses no nesting beyond that)."""
    hooks: list[dict[str, str]] = []
    for line in (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            hooks.append({})
            line = line[2:]
        key, _, value = line.strip().partition(":")
        hooks[-1][key.strip()] = value.strip()
    return hooks


def test_pre_commit_hook_lints_revision_and_sql_files() -> None:
    (hook,) = _hooks()
    assert hook["id"] == "expandcontract-lint"
    assert hook["entry"] == "expandcontract lint"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] == "true"
    assert hook["require_serial"] == "true"  # one run: the revisions of a commit are one unreleased change
    files = re.compile(hook["files"])  # pre-commit matches with re.search on repo-relative paths
    linted = [
        "migrations/versions/expand/e1_4_order_status.py",
        "versions/abc123_add_note.py",
        "services/billing/db/versions/contract/c1_drop.py",
        "schema/0042_orders.sql",
    ]
    skipped = ["migrations/env.py", "src/versions_util.py", "README.md", "app/conversions/x.py", "a.sqlite"]
    assert [p for p in linted if not files.search(p)] == []
    assert [p for p in skipped if files.search(p)] == []


def test_ci_page_shows_the_hook_file_verbatim() -> None:
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert f"```yaml\n{hooks}```" in (DOCS / "ci.md").read_text(encoding="utf-8")


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


def test_linting_page_example_is_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/linting.md opens with `expandcontract lint` on the example plus one careless revision."""
    page = (DOCS / "linting.md").read_text(encoding="utf-8")
    revision = re.search(r"```python\n# (migrations/versions/expand/(\w+)\.py)\n(.*?)```", page, re.DOTALL)
    shown = re.search(r"```console\n\$ expandcontract lint\n(.*?)```", page, re.DOTALL)
    assert revision and shown, "docs/linting.md lost its opening example"
    path, rev, body = revision.groups()
    project = tmp_path / "shop"
    shutil.copytree(
        REPO / "migrations_example", project, ignore=shutil.ignore_patterns("*.db", "__pycache__")
    )
    (project / path).write_text(
        f'"""release 1.4.0: tidy orders\n\nRevision ID: {rev}\nRevises: e1_3_backfill_email\n"""\n\n'
        "from __future__ import annotations\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n"
        f'revision = "{rev}"\ndown_revision = "e1_3_backfill_email"\nbranch_labels = None\n'
        f"depends_on = None\n\n\n{body}\n\ndef downgrade() -> None:\n    pass\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(project)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = CliRunner().invoke(cli, ["lint", "--no-cache"])
    assert result.exit_code == 1, result.output
    assert result.output == shown.group(1), (
        "docs/linting.md's opening output is out of date; rerun it on a copy of migrations_example"
    )
