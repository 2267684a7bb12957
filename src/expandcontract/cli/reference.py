"""The CLI reference (docs/cli.md), rendered from the click commands themselves.

Regenerate the page after changing a command, an option or a help text:

    python -m expandcontract.cli.reference > docs/cli.md

tests/test_docs.py fails while the page and the commands disagree.
"""

from __future__ import annotations

import inspect
import sys

import click

from expandcontract.cli.main import EXIT_ERROR, EXIT_FINDINGS, cli
from expandcontract.status import EXIT_CONTRACT_PENDING, EXIT_EXPAND_PENDING, EXIT_UP_TO_DATE

PROG_NAME = "expandcontract"
REGENERATE = "python -m expandcontract.cli.reference > docs/cli.md"

# What each exit code means; the numbers come from the code that returns them.
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_UP_TO_DATE, "Success. For `status`: the database is up to date."),
    (
        EXIT_FINDINGS,
        "Findings: `check` found layout problems, or `upgrade` stopped at a contract revision the "
        "gate blocked (`expandcontract: blocked: ...` on stderr).",
    ),
    (
        EXIT_ERROR,
        "Usage, configuration or runtime error: one line on stderr (`expandcontract: error: ...`). "
        "Wrong options and arguments also exit 2. A bug in expandcontract itself is one line too "
        "(`expandcontract: internal error: ...`); set `EXPANDCONTRACT_DEBUG=1` to see its traceback.",
    ),
    (
        EXIT_EXPAND_PENDING,
        "`status` only: expand (or baseline/unphased) revisions are pending; run "
        "`expandcontract upgrade --phase expand` before deploying.",
    ),
    (
        EXIT_CONTRACT_PENDING,
        "`status` only: only contract revisions are pending; run "
        "`expandcontract upgrade --phase contract` after the rollout.",
    ),
)


def _paragraphs(text: str) -> list[str]:
    """A click help text as Markdown paragraphs (click's `\\b` blocks stay verbatim)."""
    text = inspect.cleandoc(text.split("\f", 1)[0])
    out: list[str] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        if block.startswith("\b"):
            out.append("```text\n" + block[1:].strip("\n") + "\n```")
        else:
            out.append(" ".join(line.strip() for line in block.splitlines()))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _context(command: click.Command, name: str, parent: click.Context | None = None) -> click.Context:
    return click.Context(command, info_name=name, parent=parent, **command.context_settings)


def _is_help(param: click.Parameter, ctx: click.Context) -> bool:
    return isinstance(param, click.Option) and set(param.opts) == set(ctx.help_option_names)


def _option_lines(command: click.Command, ctx: click.Context, *, with_help: bool = False) -> list[str]:
    lines: list[str] = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden:
            continue
        if _is_help(param, ctx) and not with_help:
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        lines.append(f"- `{names}`: {' '.join(help_text.split())}")
    return lines


def _argument_lines(command: click.Command, ctx: click.Context) -> list[str]:
    lines: list[str] = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Argument):
            continue
        facts = ["required" if param.required else "optional"]
        default = param.get_default(ctx, call=False)
        if default not in (None, ()) and not callable(default) and type(default).__name__ != "Sentinel":
            facts.append(f"default: `{default}`")
        lines.append(f"- `{param.make_metavar(ctx)}`: {', '.join(facts)}")
    return lines


def _command_section(command: click.Command, ctx: click.Context) -> list[str]:
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines = [f"## {ctx.command_path}", "", "```text", usage, "```", ""]
    for paragraph in _paragraphs(command.help or command.short_help or ""):
        lines += [paragraph, ""]
    arguments = _argument_lines(command, ctx)
    if arguments:
        lines += ["Arguments:", "", *arguments, ""]
    options = _option_lines(command, ctx)
    if options:
        lines += ["Options:", "", *options, ""]
    return lines


def render_cli_reference() -> str:
    """The whole CLI reference as Markdown: exit codes, global options, then every command, sorted."""
    root = _context(cli, PROG_NAME)
    commands: list[tuple[str, click.Command]] = []
    for name in sorted(cli.list_commands(root)):
        command = cli.get_command(root, name)
        if command is not None and not command.hidden:
            commands.append((name, command))

    lines = [
        "# CLI reference",
        "",
        "<!-- Generated from the commands' own help texts; do not edit by hand. Regenerate with:",
        f"     {REGENERATE} -->",
        "",
        *_paragraphs(cli.help or ""),
        "",
        "Every command prints its help with `-h` or `--help`. Settings (which Alembic project, which",
        "database) are resolved as described in [Configuration](configuration.md).",
        "",
        "## Exit codes",
        "",
        "| code | meaning |",
        "|---|---|",
        *(f"| {code} | {_cell(meaning)} |" for code, meaning in EXIT_CODES),
        "",
        "## Commands",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for name, command in commands:
        summary = next(iter(_paragraphs(command.help or command.short_help or "")), "")
        anchor = f"{PROG_NAME}-{name}"
        lines.append(f"| [`{name}`](#{anchor}) | {_cell(summary)} |")
    usage = " ".join([root.command_path, *cli.collect_usage_pieces(root)])
    lines += [
        "",
        "## Global options",
        "",
        "```text",
        usage,
        "```",
        "",
        "Global options go before the command name, for example",
        f"`{PROG_NAME} --config ci/expandcontract.toml check`.",
        "",
        *_option_lines(cli, root, with_help=True),
        "",
    ]
    for name, command in commands:
        lines += _command_section(command, _context(command, name, parent=root))
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_cli_reference())
