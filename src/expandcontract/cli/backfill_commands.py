"""`expandcontract backfill run|status|pause`: the batched backfills of `op.ec_backfill`, out of band."""

from __future__ import annotations

import datetime
import json

import click

from expandcontract import api
from expandcontract.cli.common import Invocation, json_option, pass_invocation, url_option


def _batches(count: int) -> str:
    return f"{count:,} batch" if count == 1 else f"{count:,} batches"


@click.group()
def backfill() -> None:
    """Run, watch and pause the batched backfills revisions started (op.ec_backfill)."""


@backfill.command("status")
@json_option
@url_option
@pass_invocation
def backfill_status(inv: Invocation, as_json: bool, url: str | None) -> None:
    """List every backfill with its progress. Exit 0 when all are done, 1 when some are not."""
    states = api.backfills(inv.settings(url=url))
    if as_json:
        rows = [
            {
                "name": s.name,
                "status": s.status,
                "table": s.spec.table,
                "schema": s.spec.schema,
                "rows_done": s.rows_done,
                "batches": s.batches,
                "batch_size": s.batch_size,
                "fraction": s.fraction,
                "finished_at": s.finished_at,
            }
            for s in states
        ]
        click.echo(json.dumps({"schema_version": 1, "backfills": rows}, indent=2))
    else:
        for s in states:
            share = f", {s.fraction:.1%} of the key range" if s.fraction is not None else ""
            when = (
                " at "
                + datetime.datetime.fromtimestamp(s.finished_at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
                if s.finished_at
                else ""
            )
            click.echo(f"{s.name}  {s.status}{when}  {s.rows_done:,} rows in {_batches(s.batches)}{share}")
        if not states:
            click.echo("no backfill yet")
    raise SystemExit(0 if all(s.status == "done" for s in states) else 1)


@backfill.command("run")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@url_option
@pass_invocation
def backfill_run(inv: Invocation, names: tuple[str, ...], url: str | None) -> None:
    """Run or resume backfills (every unfinished one without NAME), batch by batch, with progress.

    Exit 0 when they are done, 1 when one was paused.
    """
    from expandcontract.backfill import Progress

    states = api.run_backfills(inv.settings(url=url), names, Progress())
    for s in states:
        click.echo(f"{s.name}: {s.status}, {s.rows_done:,} rows in {_batches(s.batches)}")
    if not states:
        click.echo("nothing to run: every backfill is done")
    raise SystemExit(0 if all(s.status == "done" for s in states) else 1)


@backfill.command("pause")
@click.argument("name")
@url_option
@pass_invocation
def backfill_pause(inv: Invocation, name: str, url: str | None) -> None:
    """Stop a running backfill at its next batch; `backfill run NAME` resumes it."""
    state = api.pause_backfill(inv.settings(url=url), name)
    click.echo(f"{state.name}: {state.status}, {state.rows_done:,} rows so far")
