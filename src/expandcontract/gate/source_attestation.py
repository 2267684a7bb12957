"""The `attestation` source, for platforms the tool cannot observe: every release the registry has
seen (published, registered, or named in an attestation) is live until someone records, with a
reason, that it is retired (`expandcontract release retire`)."""

from __future__ import annotations

from collections.abc import Sequence

from expandcontract.gate.evidence import Sighting, SourceReport
from expandcontract.gate.registry import Attestation, Release

SOURCE = "attestation"


def attestation_report(releases: Sequence[Release], attestations: Sequence[Attestation]) -> SourceReport:
    if not releases:
        return SourceReport(
            SOURCE,
            problems=(
                "the registry knows no release, so nothing shows what runs; publish each release's "
                "manifest when you deploy it (expandcontract manifest publish)",
            ),
        )
    sightings = tuple(
        Sighting(SOURCE, r.app, r.release, "known to the registry and not retired")
        for r in releases
        if not _retired(r, attestations)
    )
    return SourceReport(SOURCE, sightings)


def _retired(release: Release, attestations: Sequence[Attestation]) -> bool:
    """Retired (for its app, or for every app) after it was last deployed: a release deployed
    again after its retirement (a rollback) runs again."""
    retired_at = [
        a.at
        for a in attestations
        if a.state == "retired" and a.release == release.release and a.app in ("", release.app)
    ]
    if not retired_at:
        return False
    return release.last_deployed_at is None or max(retired_at) > release.last_deployed_at
