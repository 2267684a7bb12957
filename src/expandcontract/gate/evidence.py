"""What a rollout source reports: which releases it sees live, and why it cannot vouch (if so)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sighting:
    """One piece of evidence that a release is live."""

    source: str  # "registry", "pg_stat_activity", "kubernetes" or "attestation"
    app: str  # the application ("" when the source cannot tell)
    release: str
    what: str  # the process, sessions or pod that shows it, for messages: "pod shop-7d9-x (terminating)"


@dataclass(frozen=True)
class SourceReport:
    """Everything one source says. Any `problems` block every contract revision (fail safe)."""

    source: str
    sightings: tuple[Sighting, ...] = ()
    problems: tuple[str, ...] = ()  # one line each: why this source cannot vouch for the rollout now
