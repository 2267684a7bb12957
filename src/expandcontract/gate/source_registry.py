"""The `registry` source: processes that registered themselves and keep a heartbeat.

A process is live while its last heartbeat is younger than its TTL; one that deregistered (a
graceful shutdown) still serves in-flight requests for `drain-seconds`; and with `min-soak-seconds`
a process counts until it has been gone that long too.
"""

from __future__ import annotations

from collections.abc import Sequence

from expandcontract.gate.evidence import Sighting, SourceReport
from expandcontract.gate.registry import Process

SOURCE = "registry"


def _ago(seconds: float) -> str:
    return f"{seconds:.0f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def process_state(process: Process, now: float, drain_seconds: float, soak_seconds: float) -> str | None:
    """Why the process still counts as live at `now`, or None when it no longer does."""
    if process.stopped_at is None:
        expires = process.heartbeat_at + process.ttl_seconds
        if now < expires:
            return f"heartbeat {_ago(now - process.heartbeat_at)}"
        gone_at, how = expires, "heartbeats stopped"
    else:
        drained = process.stopped_at + drain_seconds
        if now < drained:
            return f"stopped {_ago(now - process.stopped_at)}, draining for {drain_seconds:.0f} s"
        gone_at, how = drained, "stopped"
    if now < gone_at + soak_seconds:
        return f"{how}, gone {_ago(now - gone_at)}; min-soak-seconds is {soak_seconds:.0f}"
    return None


def registry_report(
    processes: Sequence[Process], now: float, drain_seconds: float, soak_seconds: float, ever_registered: bool
) -> SourceReport:
    if not ever_registered:
        return SourceReport(
            SOURCE,
            problems=(
                "no process has ever registered, so the registry cannot show which releases run; call "
                "expandcontract.runtime.register() at application start-up, or choose other gate.sources",
            ),
        )
    sightings = []
    for process in processes:
        state = process_state(process, now, drain_seconds, soak_seconds)
        if state is not None:
            sightings.append(
                Sighting(SOURCE, process.app, process.release, f"{process.describe()} ({state})")
            )
    return SourceReport(SOURCE, tuple(sightings))
