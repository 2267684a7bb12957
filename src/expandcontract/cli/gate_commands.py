"""The contract gate's commands: `manifest`, `registry`, `gate` and `release`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import click

from expandcontract import api
from expandcontract.cli.backfill_commands import backfill
from expandcontract.cli.common import F, Invocation, json_option, pass_invocation, url_option
from expandcontract.errors import UsageError


def kubernetes_json_option(fn: F) -> F:
    return click.option(
        "--kubernetes-json",
        metavar="FILE",
        help="`kubectl get deploy,sts,rs,pod -l SELECTOR -o json` output (`-` for stdin), for the "
        "kubernetes source; without it the source asks the Kubernetes API (gate.kubernetes.selector).",
    )(fn)


def read_kubernetes(source: str | None) -> dict[str, Any] | None:
    if source is None:
        return None
    from expandcontract.gate.kubernetes import read_kubectl_json

    return read_kubectl_json(source)


def _git_release() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


# --- manifest --------------------------------------------------------------------------------------


@click.group()
def manifest() -> None:
    """Build and publish release manifests (the tables and columns a release uses)."""


@manifest.command("build")
@click.option(
    "--metadata", "metadata_spec", required=True, metavar="MODULE:ATTR", help="The release's MetaData."
)
@click.option("--release", metavar="ID", help="The release id (default: the git commit, short).")
@click.option("--app", default="", metavar="NAME", help="The application's name (as it registers).")
@click.option(
    "--extra",
    multiple=True,
    metavar="TABLE.COLUMN",
    help="A use the models do not show (raw SQL): table.column, schema.table.column or table.*.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout."
)
@pass_invocation
def manifest_build(
    inv: Invocation,
    metadata_spec: str,
    release: str | None,
    app: str,
    extra: tuple[str, ...],
    output: Path | None,
) -> None:
    """Write the JSON manifest of a release's SQLAlchemy MetaData (see docs/gate.md)."""
    release = release or _git_release()
    if not release:
        raise UsageError("manifest build needs --release ID (no git commit to default to here)")
    folders = (Path.cwd(), inv.settings().project_dir)
    built = api.build_manifest(metadata_spec, release, app=app, extras=extra, search=folders)
    if output is None:
        click.echo(built.dumps(), nl=False)
        return
    output.write_text(built.dumps(), encoding="utf-8")
    tables = len(built.tables)
    columns = sum(len(t.columns) for t in built.tables.values())
    click.echo(f"wrote {output}: release {built.release}, {tables} tables, {columns} columns", err=True)


@manifest.command("publish")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@url_option
@pass_invocation
def manifest_publish(inv: Invocation, file: Path, url: str | None) -> None:
    """Store a manifest FILE in the registry (creating the registry if needed)."""
    from expandcontract.gate.manifest import read_manifest

    built = read_manifest(file)
    changed = api.publish_manifest(inv.settings(url=url), built)
    name = f"{built.app}@{built.release}" if built.app else built.release
    click.echo(
        f"published the manifest of {name}"
        if changed
        else f"the registry already has this manifest of {name}"
    )


# --- registry --------------------------------------------------------------------------------------


@click.group()
def registry() -> None:
    """The gate's registry of releases, processes, attestations and audit log."""


@registry.command("init")
@url_option
@pass_invocation
def registry_init(inv: Invocation, url: str | None) -> None:
    """Create the registry's tables in the application's database (idempotent)."""
    click.echo(f"registry ready: {api.registry_init(inv.settings(url=url))}")


@registry.command("audit")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@json_option
@url_option
@pass_invocation
def registry_audit(inv: Invocation, limit: int, as_json: bool, url: str | None) -> None:
    """Show the newest audit log entries: gate decisions, overrides, retirements."""
    import datetime
    import json

    entries = api.audit_log(inv.settings(url=url), limit)
    if as_json:
        click.echo(json.dumps({"schema_version": 1, "entries": entries}, indent=2))
        return
    for entry in entries:
        when = datetime.datetime.fromtimestamp(entry["at"], datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        verdict = {True: " allowed", False: " BLOCKED", None: ""}[entry["allowed"]]
        revision = f" {entry['revision']}" if entry["revision"] else ""
        click.echo(f"{when}Z  {entry['action']}{revision}{verdict}  by {entry['actor']}: {entry['reason']}")


# --- gate ------------------------------------------------------------------------------------------


@click.group()
def gate() -> None:
    """The contract gate: may the pending contract revisions run?"""


@gate.command("check")
@json_option
@kubernetes_json_option
@url_option
@pass_invocation
def gate_check(inv: Invocation, as_json: bool, kubernetes_json: str | None, url: str | None) -> None:
    """Judge every pending contract revision against the evidence of what runs.

    Exit 0: every pending contract revision may run; 1: some are blocked (each with the release,
    process and object); 2: error; 3: nothing pending.
    """
    from expandcontract.report import gate as gate_report

    report = api.gate_check(inv.settings(url=url), read_kubernetes(kubernetes_json))
    click.echo(gate_report.to_json(report) if as_json else gate_report.to_text(report))
    raise SystemExit(report.exit_code)


# --- release ---------------------------------------------------------------------------------------


@click.group()
def release() -> None:
    """Record and query releases: retire one, or ask whether one can still be deployed."""


@release.command("retire")
@click.argument("release_id", metavar="RELEASE")
@click.option("--reason", required=True, metavar="TEXT", help="How you know it is gone (audited).")
@click.option(
    "--app", default="", metavar="NAME", help="Only this application's release (default: every app's)."
)
@url_option
@pass_invocation
def release_retire(inv: Invocation, release_id: str, reason: str, app: str, url: str | None) -> None:
    """Attest that RELEASE no longer runs anywhere (for the attestation source)."""
    api.retire_release(inv.settings(url=url), release_id, reason, app=app)
    click.echo(f"recorded: release {release_id} retired ({reason.strip()})")


@release.command("can-deploy")
@click.argument("release_id", metavar="RELEASE")
@click.option("--app", default="", metavar="NAME", help="The application (when several publish manifests).")
@click.option(
    "--manifest",
    "manifest_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the release's manifest from this file instead of the registry.",
)
@json_option
@url_option
@pass_invocation
def release_can_deploy(
    inv: Invocation, release_id: str, app: str, manifest_file: Path | None, as_json: bool, url: str | None
) -> None:
    """Can RELEASE run against the schema as applied now? Exit 0 yes, 1 no (with what it misses)."""
    from expandcontract.gate.manifest import read_manifest
    from expandcontract.report.gate import can_deploy_json

    given = read_manifest(manifest_file) if manifest_file is not None else None
    missing = api.can_deploy(inv.settings(url=url), release_id, app=app, manifest=given)
    if as_json:
        click.echo(can_deploy_json(release_id, missing))
    elif missing:
        click.echo(f"release {release_id} cannot be deployed: the schema no longer has what it uses:")
        for line in missing:
            click.echo(f"  - {line}")
    else:
        click.echo(f"release {release_id} can be deployed: everything it uses is in the schema")
    raise SystemExit(1 if missing else 0)


GATE_COMMANDS = (manifest, registry, gate, release, backfill)
