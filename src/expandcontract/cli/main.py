"""The `expandcontract` command: a thin shell over `expandcontract.api`.

Exit codes: 0 success; 1 findings (check violations, a contract revision the gate blocked);
2 usage, configuration or runtime error (one line on stderr); status adds 3 (expand pending) and
4 (contract pending).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from expandcontract import __version__, api
from expandcontract.cli.common import (
    Invocation,
    json_option,
    pass_invocation,
    script_location_option,
    url_option,
)
from expandcontract.cli.gate_commands import GATE_COMMANDS, kubernetes_json_option, read_kubernetes
from expandcontract.errors import ContractBlocked, ExpandContractError, UsageError
from expandcontract.gate.hook import blocked_message
from expandcontract.model import Severity, WrittenLayout
from expandcontract.report import classify as classify_report
from expandcontract.report import lint as lint_report
from expandcontract.report import status as status_report
from expandcontract.report.paths import shown
from expandcontract.report.rule_docs import rule_page
from expandcontract.rules.registry import ALL_RULES, find_rule
from expandcontract.rules.suppression import review_markers_in
from expandcontract.settings import Settings

if TYPE_CHECKING:
    from expandcontract.gate.decision import Verdict

EXIT_FINDINGS = 1
EXIT_ERROR = 2
DEBUG_ENV = "EXPANDCONTRACT_DEBUG"


class ExpandContractGroup(click.Group):
    """Turns the project's errors into one line on stderr and exit code 2 (1 for a gate refusal)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ContractBlocked as exc:
            click.echo(f"expandcontract: blocked: {exc}", err=True)
            ctx.exit(EXIT_FINDINGS)
        except ExpandContractError as exc:
            click.echo(f"expandcontract: error: {exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "expandcontract"
            click.echo(f"expandcontract: error: {exc.format_message()} (see `{command} --help`)", err=True)
            ctx.exit(EXIT_ERROR)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # the reader stopped early (`expandcontract rule | head`): nothing left to say to it
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(EXIT_FINDINGS)
        except Exception as exc:
            # a bug of ours: still one line, unless asked for the traceback
            if os.environ.get(DEBUG_ENV):
                raise
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            click.echo(
                f"expandcontract: internal error: {type(exc).__name__}: {detail} "
                f"(rerun with {DEBUG_ENV}=1 for the traceback, and please report it)",
                err=True,
            )
            ctx.exit(EXIT_ERROR)


@click.group(cls=ExpandContractGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A pyproject.toml (its [tool.expandcontract] table) or a TOML file of settings. Default: "
    "the closest folder, from here up, with a pyproject.toml holding [tool.expandcontract] or with "
    "Alembic's own configuration (alembic.ini, [tool.alembic]).",
)
@click.version_option(__version__, prog_name="expandcontract")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Zero-downtime expand/contract migrations for Alembic."""
    ctx.obj = Invocation(config=config)


def _print_layout(written: WrittenLayout) -> None:
    for path in written.created:
        click.echo(f"  wrote {shown(path)}")
    click.echo(
        f"common root {written.root}; expand branch root {written.expand_root}; "
        f"contract branch root {written.contract_root}"
    )
    for note in written.notes:
        click.echo(f"todo: {note}")


@cli.command()
@click.argument("directory", default="migrations", metavar="[DIR]")
@click.option("--url", metavar="URL", help="Database URL to write into alembic.ini as sqlalchemy.url.")
def init(directory: str, url: str | None) -> None:
    """Create a new Alembic environment laid out for phases in DIR (default: migrations).

    Writes alembic.ini, DIR/env.py (already calling the gate hook), DIR/versions/ with the common root
    revision, and DIR/versions/expand/ and DIR/versions/contract/ with the two branch roots.
    """
    written = api.init(Path.cwd(), directory, url or "")
    _print_layout(written)


@cli.command()
@click.option(
    "--merge",
    is_flag=True,
    help="If the history has several heads, write a merge revision of them and use it as the common root.",
)
@pass_invocation
def adopt(inv: Invocation, merge: bool) -> None:
    """Phase an existing Alembic project: its current head becomes the common root.

    Writes the expand and contract branch roots (empty revisions) and their folders; no existing
    revision changes, so nothing already applied to a database runs again. Running it again is a no-op.
    """
    written = api.adopt(inv.settings(), merge=merge)
    if written is None:
        click.echo("already adopted: the project has its expand and contract branches")
        return
    _print_layout(written)


@cli.command()
@click.option("-m", "--message", required=True, help="What the revision does.")
@click.option(
    "--phase",
    type=click.Choice(["expand", "contract"]),
    help="expand: runs before the code deploy; contract: after the rollout, behind the gate.",
)
@click.option(
    "--completes",
    metavar="REV",
    help="For a contract revision: the expand revision it completes (becomes its depends_on).",
)
@click.option(
    "--autogenerate",
    is_flag=True,
    help="Compare the models with the database (env.py's target_metadata) and write the expand "
    "revision and the contract revision, each change as its zero-downtime recipe.",
)
@click.option(
    "--rename",
    "renames",
    multiple=True,
    metavar="TABLE.OLD:NEW",
    help="With --autogenerate: this dropped and added column pair is a rename (or say "
    'info={"renamed_from": "old"} on the new Column).',
)
@url_option
@pass_invocation
def revision(
    inv: Invocation,
    message: str,
    phase: str | None,
    completes: str | None,
    autogenerate: bool,
    renames: tuple[str, ...],
    url: str | None,
) -> None:
    """Write a new revision at the head of the expand or contract branch, in that branch's folder.

    For a contract revision without --completes, the expand revisions it may complete are offered
    at a prompt (or listed on stderr when there is no terminal). With --autogenerate, both halves
    are written from the model changes (no --phase).
    """
    if autogenerate:
        if phase or completes:
            raise UsageError("--autogenerate writes both phases: leave out --phase and --completes")
        paths = api.autogenerate(inv.settings(url=url), message, renames)
        for path in paths:
            click.echo(f"wrote {shown(path)}")
            for line, _, why in review_markers_in(path.read_text(encoding="utf-8")):
                click.echo(f"  {shown(path)}:{line}: left for review: {why}", err=True)
        if not paths:
            click.echo("no changes: the models match the database")
        return
    if renames:
        raise UsageError("--rename goes with --autogenerate")
    if phase is None:
        raise UsageError("give --phase expand|contract (or --autogenerate)")
    settings = inv.settings(url=url)
    if phase == "contract" and completes is None:
        completes = _offer_completion(settings)
    path = api.revision(settings, message, phase, completes)
    click.echo(f"wrote {shown(path)}")


def _offer_completion(settings: Settings) -> str | None:
    candidates = api.completion_candidates(settings)
    if not candidates:
        return None
    if not sys.stdin.isatty():
        listed = ", ".join(f"{c.revision} ({c.message})" for c in candidates[:5])
        click.echo(
            f"note: if this revision completes an expand revision, pass --completes REV ({listed})", err=True
        )
        return None
    click.echo("Does this contract revision complete an expand revision? It will then depend on it.")
    for number, candidate in enumerate(candidates, 1):
        click.echo(f"  {number}. {candidate.revision}  {candidate.message}")
    choice = click.prompt("Number (Enter for none)", default="", show_default=False)
    if not choice.strip():
        return None
    if not choice.strip().isdigit() or not 1 <= int(choice) <= len(candidates):
        raise click.BadParameter(f"{choice!r} is not one of 1..{len(candidates)}", param_hint="completion")
    return candidates[int(choice) - 1].revision


@cli.command()
@script_location_option
@json_option
@pass_invocation
def classify(inv: Invocation, script_location: Path | None, as_json: bool) -> None:
    """Read every revision offline and print its declared and inferred phase and each change (file:line).

    Never runs the project's env.py. Revisions that cannot run offline are read from their source.
    """
    results = api.classify(inv.settings(script_location=script_location))
    click.echo(classify_report.to_json(results) if as_json else classify_report.to_text(results))


@cli.command()
@script_location_option
@pass_invocation
def check(inv: Invocation, script_location: Path | None) -> None:
    """Check the phase layout (for CI); exit 1 if an invariant is broken.

    Branch labels only on the two branch roots, which grow from one common root; one head per
    branch; every revision on one branch and in its branch's folder; a contract revision that
    removes a column an expand revision copies from (a backfill) depends on that expand revision;
    env.py calls the gate hook before every run_migrations(). Never runs env.py.
    """
    violations = api.check(inv.settings(script_location=script_location))
    for violation in violations:
        click.echo(
            str(violation).replace(violation.path, shown(violation.path), 1)
            if violation.path
            else str(violation).lstrip(": ")
        )
    if violations:
        click.echo(f"{len(violations)} layout problem(s)")
        raise SystemExit(EXIT_FINDINGS)
    click.echo("layout ok")


@cli.command()
@click.option(
    "--phase",
    type=click.Choice(["expand", "contract", "all"]),
    required=True,
    help="expand: to expand@head (before the deploy); contract: to contract@head (after the "
    "rollout, behind the gate); all: to every head.",
)
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it (offline, from the base).")
@click.option(
    "--force",
    is_flag=True,
    help="Run contract revisions the gate blocks; needs --reason, recorded in the audit log.",
)
@click.option("--reason", metavar="TEXT", help="Why --force is right (recorded with who and when).")
@kubernetes_json_option
@url_option
@pass_invocation
def upgrade(
    inv: Invocation,
    phase: str,
    sql: bool,
    force: bool,
    reason: str | None,
    kubernetes_json: str | None,
    url: str | None,
) -> None:
    """Apply one phase with Alembic's own upgrade.

    Contract revisions are put to the contract gate first: those before the first blocked one run,
    the blocked one and what follows wait (exit 1, with the reasons). One contract run at a time.
    """
    if force and not (reason or "").strip():
        raise UsageError("--force needs --reason: say why running blocked revisions is safe")
    if reason and not force:
        raise UsageError("--reason goes with --force")
    result = api.upgrade(
        inv.settings(url=url),
        phase,  # type: ignore[arg-type]
        sql=sql,
        on_verdict=_print_verdict,
        force_reason=reason.strip() if force and reason else None,
        kubernetes_document=read_kubernetes(kubernetes_json),
    )
    if sql:  # the SQL printed stops before the blocked revision: say so, and fail like a real run
        if result.stopped_before is not None:
            raise ContractBlocked(
                f"the SQL stops before {result.stopped_before}: {blocked_message(list(result.blocked))}"
            )
        return
    if result.applied:
        reached = result.applied[-1].revision if result.stopped_before else result.target
        click.echo(f"applied {len(result.applied)} revision(s) up to {reached}:")
        for info in result.applied:
            click.echo(f"  {info.revision}  {info.declared_phase.value:<8}  {info.message}")
    else:
        click.echo(f"nothing to apply: already at {result.target}")
    if result.forced:
        click.echo(
            f"forced past the gate ({len(result.blocked)} blocked revision(s)); recorded in the audit log"
        )
    if result.stopped_before is not None:
        raise ContractBlocked(
            f"stopped before {result.stopped_before}: {blocked_message(list(result.blocked))}"
        )


def _print_verdict(verdict: Verdict) -> None:
    state = "allowed" if verdict.allowed else "BLOCKED"
    why = "; ".join(verdict.reasons) or "no live release uses what it removes"
    click.echo(f"gate: {verdict.revision} {state} ({why})", err=True)


@cli.command()
@url_option
@json_option
@pass_invocation
def status(inv: Invocation, url: str | None, as_json: bool) -> None:
    """Show applied and pending revisions per branch.

    Exit 0: up to date; 3: expand revisions pending (run them before deploying); 4: only contract
    revisions pending; 2: the database or the project cannot be read.
    """
    report = api.status(inv.settings(url=url))
    click.echo(status_report.to_json(report) if as_json else status_report.to_text(report))
    raise SystemExit(report.exit_code)


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    """`--select EC1,EC3 --select drop-column` -> ("EC1", "EC3", "drop-column")."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _format(given: str | None) -> str:
    if given:
        return given
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


@cli.command()
@click.argument("targets", nargs=-1, metavar="[REVISION_RANGE | FILE.py | FILE.sql | -]...")
@click.option("--since", metavar="GIT_REF", help="Only revision files added or modified since this git ref.")
@click.option("--select", multiple=True, metavar="CODES", help="Rules to run (codes, prefixes or names).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rules not to run.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Rules to add (e.g. opt-in ones).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(lint_report.FORMATS),
    help="Output format. Default: text, or github when GITHUB_ACTIONS=true.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--postgresql-version", type=click.IntRange(9, 99), help="Target server major version.")
@click.option("--no-cache", is_flag=True, help="Read every revision again (ignore .expandcontract_cache).")
@script_location_option
@pass_invocation
def lint(
    inv: Invocation,
    targets: tuple[str, ...],
    since: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_select: tuple[str, ...],
    output_format: str | None,
    strict: bool,
    postgresql_version: int | None,
    no_cache: bool,
    script_location: Path | None,
) -> None:
    """Lint migrations for destructive and locking changes, knowing each revision's phase.

    With no TARGETS, every revision of the project after the branch point (and after `start-after`).
    A revision range (abc123:head), revision files (as pre-commit passes them), .sql files, or - for
    SQL on stdin (`alembic upgrade a:b --sql | expandcontract lint -`) narrow it.

    Exit 0: no errors; 1: errors (with --strict, warnings too); 2: usage or configuration error.
    """
    settings = inv.settings(script_location=script_location)
    stdin = sys.stdin.read() if "-" in targets else ""
    request = api.LintRequest(
        targets=targets,
        since=since,
        select=_codes(select),
        ignore=_codes(ignore),
        extend_select=_codes(extend_select),
        postgresql_version=postgresql_version,
        stdin=stdin,
        cache=not no_cache,
    )
    result = api.lint(settings, request)
    chosen = _format(output_format)
    if chosen == "json":
        click.echo(lint_report.to_json(result))
    elif chosen == "sarif":
        click.echo(lint_report.to_sarif(result))
    elif chosen == "github":
        click.echo(lint_report.to_github(result))
    else:
        click.echo(lint_report.to_text(result, colour=sys.stdout.isatty()))
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    if any(f.severity in failing for f in result.findings):
        raise SystemExit(EXIT_FINDINGS)


for command in GATE_COMMANDS:
    cli.add_command(command)


@cli.command()
@click.argument("code", required=False, metavar="[CODE]")
def rule(code: str | None) -> None:
    """List every lint rule, or explain one (by code or name): the text of its doc page."""
    if code is None:
        for item in ALL_RULES:
            flags = " (opt-in)" if item.opt_in else ""
            click.echo(f"{item.code}  {item.name:<30} {item.severity.value:<8} {item.summary}{flags}")
        return
    found = find_rule(code)
    if found is None:
        raise UsageError(f"no rule {code!r}; `expandcontract rule` lists them")
    click.echo(rule_page(found).rstrip("\n"))


def main() -> None:
    cli(prog_name="expandcontract")
