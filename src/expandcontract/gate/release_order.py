"""Which of two release ids is later: PEP 440 or semver when the ids parse, else the order in which
the registry first saw them (`gate.release-order` picks one; "auto" tries them in that order).

Only dotted ids count as versions ("1.4.0", "2026.11.3"): a short git commit such as "5012345"
parses as a PEP 440 version, but its digits say nothing about which was deployed first."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from packaging.version import InvalidVersion, Version

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

Key = tuple[object, ...]


def _dotted(release: str) -> bool:
    # "5012345" or "1234b67" (short git commits) parse as versions; only a dotted id is one
    return "." in release


def _pep440(release: str) -> Key | None:
    if not _dotted(release):
        return None
    try:
        return (Version(release),)
    except InvalidVersion:
        return None


def _semver(release: str) -> Key | None:
    match = _SEMVER.match(release) if _dotted(release) else None
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    # a pre-release sorts before its release; identifiers compare numerically, then as text
    parts: tuple[object, ...] = (
        (1,) if pre is None else (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    )
    return (int(major), int(minor), int(patch), parts)


class ReleaseOrder:
    """Compares release ids the configured way; None when two ids cannot be compared."""

    def __init__(self, mode: str, first_seen: Mapping[str, float]) -> None:
        self.mode = mode
        self.first_seen = dict(first_seen)  # release id -> when the registry first saw it

    def _keyers(self, ids: Sequence[str]) -> Callable[[str], Key | None] | None:
        registration: Callable[[str], Key | None] = lambda r: (  # noqa: E731
            (self.first_seen[r],) if r in self.first_seen else None
        )
        candidates: dict[str, Callable[[str], Key | None]] = {
            "pep440": _pep440,
            "semver": _semver,
            "registration": registration,
        }
        if self.mode != "auto":
            return candidates[self.mode]
        for keyer in (_pep440, _semver, registration):
            if all(keyer(i) is not None for i in ids):
                return keyer
        return None

    def compare(self, a: str, b: str) -> int | None:
        """-1, 0 or 1 as `a` is older than, the same as, or newer than `b`; None if unknown."""
        if a == b:
            return 0
        keyer = self._keyers([a, b])
        if keyer is None:
            return None
        ka, kb = keyer(a), keyer(b)
        if ka is None or kb is None:
            return None
        if ka == kb and keyer not in (_pep440, _semver):
            return None  # two ids first seen at the same instant: no order, not "the same"
        return (ka > kb) - (ka < kb)
