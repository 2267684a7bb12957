"""The gate, end to end: which contract revisions are pending, what each removes, what the selected
sources see live, and the verdicts. `gate check`, `upgrade --phase contract` and the env.py hook all
come through `evaluate`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from expandcontract.db_messages import database_errors, one_line, safe_url
from expandcontract.errors import DatabaseError, UsageError
from expandcontract.gate.decision import PendingContract, Verdict, decide, manifest_lookup
from expandcontract.gate.evidence import SourceReport
from expandcontract.gate.manifest import Manifest
from expandcontract.gate.registry import Registry
from expandcontract.gate.release_order import ReleaseOrder
from expandcontract.gate.removals import removals_of
from expandcontract.history import History
from expandcontract.model import CapturedRevision
from expandcontract.settings import Settings


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """An engine on the project's database (no pool: each command is short)."""
    url = settings.require_url()
    try:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
        raise DatabaseError(f"invalid database URL {safe_url(url)}: {one_line(exc)}") from exc
    try:
        yield engine
    finally:
        engine.dispose()


def registry_of(settings: Settings, engine: Engine) -> Registry:
    return Registry(engine, schema=settings.gate.registry_schema, prefix=settings.gate.registry_prefix)


@dataclass(frozen=True)
class Evidence:
    reports: tuple[SourceReport, ...]
    manifests: Mapping[tuple[str, str], Manifest | None]  # every release the registry knows
    first_seen: Mapping[str, float]  # release id -> when the registry first saw it
    backfills: Mapping[str, tuple[str, int]] = field(default_factory=dict)  # name -> (status, rows)


def _kubernetes(settings: Settings, document: Mapping[str, Any] | None) -> SourceReport:
    from expandcontract.gate import kubernetes

    k8s = settings.gate.kubernetes
    if document is None:
        if not k8s.selector:
            return SourceReport(
                "kubernetes",
                problems=(
                    "nothing to read: pass --kubernetes-json (kubectl get deploy,sts,rs,pod -l SELECTOR "
                    "-o json) or set gate.kubernetes.selector",
                ),
            )
        document = kubernetes.fetch_from_api(k8s.namespace, k8s.selector)
    return kubernetes.rollout_report(document, release_label=k8s.release_label, container=k8s.container)


def gather(
    settings: Settings,
    engine: Engine,
    kubernetes_document: Mapping[str, Any] | None = None,
    fresh_database: bool = False,
) -> Evidence:
    """What every selected source says, and what the registry knows about releases."""
    from expandcontract.gate.source_attestation import attestation_report
    from expandcontract.gate.source_pg_activity import pg_activity_report
    from expandcontract.gate.source_registry import registry_report

    gate = settings.gate
    registry = registry_of(settings, engine)
    reports: list[SourceReport] = []
    with database_errors(str(engine.url), "read the gate's registry"), registry.snapshot() as conn:
        exists = registry.exists(conn)
        now = registry.now(conn)
        processes = registry.processes(conn) if exists else []
        releases = registry.releases(conn) if exists else []
        attestations = registry.attestations(conn) if exists else []
        backfills = _backfill_progress(conn, registry) if exists else {}
    for source in gate.sources:
        try:
            if source == "registry":
                # a database nothing was applied to has had no release running against it
                vouched = bool(processes) or fresh_database
                reports.append(
                    registry_report(processes, now, gate.drain_seconds, gate.min_soak_seconds, vouched)
                )
            elif source == "attestation":
                reports.append(attestation_report(releases, attestations))
            elif source == "pg_stat_activity":
                with engine.connect() as conn:
                    reports.append(pg_activity_report(conn))
            elif source == "kubernetes":
                reports.append(_kubernetes(settings, kubernetes_document))
        except Exception as exc:  # a source that fails blocks: never a silent pass
            reports.append(
                SourceReport(source, problems=(f"cannot be read ({type(exc).__name__}: {one_line(exc)})",))
            )
    return Evidence(
        reports=tuple(reports),
        manifests={(r.app, r.release): r.manifest for r in releases},
        first_seen={r.release: r.first_seen_at for r in reversed(releases)},
        backfills=backfills,
    )


def _backfill_progress(conn: Connection, registry: Registry) -> dict[str, tuple[str, int]]:
    t = registry.tables.backfills
    if not registry.exists(conn, t):
        return {}  # a registry from before backfills
    return {
        r.name: (r.status, r.rows_done) for r in conn.execute(sa.select(t.c.name, t.c.status, t.c.rows_done))
    }


def pending_contracts(
    history: History,
    captured: Sequence[CapturedRevision],
    backfills: Mapping[str, Sequence[tuple[str, str]]] | None = None,
) -> list[PendingContract]:
    """What each pending contract revision removes, in the order given (the order they would run),
    and the backfills it waits for."""
    ids = {c.info.revision for c in captured}
    out: list[PendingContract] = []
    for revision in captured:
        removals, untrusted = removals_of(revision)
        needs = history.ancestors([revision.info.revision]) & ids - {revision.info.revision}
        out.append(
            PendingContract(
                revision=revision.info.revision,
                path=revision.info.path,
                removals=tuple(removals),
                requires_release=revision.info.requires_release,
                untrusted=tuple(untrusted),
                needs=frozenset(needs),
                backfills=tuple((backfills or {}).get(revision.info.revision, ())),
            )
        )
    return out


@dataclass(frozen=True)
class GateReport:
    database: str  # the URL, password hidden
    pending: tuple[PendingContract, ...]
    verdicts: tuple[Verdict, ...]
    evidence: Evidence

    @property
    def exit_code(self) -> int:
        if not self.verdicts:
            return 3
        return 0 if all(v.allowed for v in self.verdicts) else 1


def evaluate(
    settings: Settings,
    history: History,
    captured: Sequence[CapturedRevision],
    engine: Engine,
    kubernetes_document: Mapping[str, Any] | None = None,
    fresh_database: bool = False,
    backfills: Mapping[str, Sequence[tuple[str, str]]] | None = None,
) -> GateReport:
    """Verdicts for the pending contract revisions `captured` (in the order they would run).
    `fresh_database`: no revision is applied yet, so no release can have run against it."""
    if kubernetes_document is not None and "kubernetes" not in settings.gate.sources:
        raise UsageError(
            '--kubernetes-json was given, but gate.sources does not include "kubernetes"; add it, '
            "or leave the option out"
        )
    pending = pending_contracts(history, captured, backfills)
    evidence = (
        gather(settings, engine, kubernetes_document, fresh_database) if pending else Evidence((), {}, {})
    )
    order = ReleaseOrder(settings.gate.release_order, evidence.first_seen)
    verdicts = decide(
        pending, evidence.reports, manifest_lookup(evidence.manifests), order, evidence.backfills
    )
    return GateReport(
        engine.url.render_as_string(hide_password=True),
        tuple(pending),
        tuple(verdicts),
        evidence,
    )
