"""Precision and recall of `expandcontract lint` on the labelled corpus in bench/lint_corpus/.

Every case (an Alembic history or a SQL script, written for this project) is built in a temporary folder
and linted through the public API; the codes it raises are compared with its label, the exact set of codes
the revisions under test must raise. Per rule: a labelled code that is raised is a true positive, a raised
code that is not labelled a false positive, a labelled code that is not raised a false negative.

    python bench/lint_accuracy.py [--theme locking] [-k not_null] [--verbose] [--cases]

Exit status 0 when the targets are met (overall precision and recall >= 0.97, no rule below 0.9, every
rule of the catalog labelled in at least one case), 1 otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lint_corpus import THEMES, all_cases
from lint_corpus.builder import run_case
from lint_corpus.case import Case

from expandcontract.rules.registry import ALL_RULES

OVERALL_TARGET = 0.97
RULE_TARGET = 0.9


@dataclass(frozen=True)
class Outcome:
    case: Case
    got: frozenset[str]
    details: tuple[str, ...]  # "CODE severity: message" of every finding
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.got == self.case.expected


def run_all(cases: list[Case], shared_cache: bool = True) -> list[Outcome]:
    out: list[Outcome] = []
    scratch = Path(tempfile.mkdtemp(prefix="ec-lint-accuracy-"))
    cache = scratch / "capture-cache" if shared_cache else None
    try:
        for index, case in enumerate(cases):
            root = scratch / f"{index:04d}"
            root.mkdir()
            try:
                result = run_case(case, root, cache)
            except Exception as exc:  # a broken case or a crash of the linter: both must be seen
                last = traceback.format_exception_only(exc)[-1].strip()
                out.append(Outcome(case, frozenset(), (), error=last))
                continue
            details = tuple(f"{f.code} {f.severity.value}: {f.message}" for f in result.findings)
            out.append(Outcome(case, frozenset(f.code for f in result.findings), details))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def _ratio(value: float | None) -> str:
    return "   -" if value is None else f"{value:.3f}"


def tallies(outcomes: list[Outcome]) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    for outcome in outcomes:
        expected, got = outcome.case.expected, outcome.got
        for code in expected | got:
            tally = out.setdefault(code, Tally())
            if code in expected and code in got:
                tally.tp += 1
            elif code in got:
                tally.fp += 1
            else:
                tally.fn += 1
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--theme", choices=THEMES, action="append", help="only these corpus files")
    parser.add_argument("-k", dest="pattern", default="", help="only cases whose name contains this")
    parser.add_argument("--verbose", action="store_true", help="print every finding of mismatching cases")
    parser.add_argument("--cases", action="store_true", help="list every case with its label and result")
    args = parser.parse_args()

    cases = [c for c in all_cases() if (not args.theme or c.theme in args.theme) and args.pattern in c.name]
    start = time.perf_counter()
    outcomes = run_all(cases)
    elapsed = time.perf_counter() - start

    if args.cases:
        for o in outcomes:
            mark = "ok  " if o.ok else "MISS"
            print(f"{mark} {o.case.theme:12} {o.case.name:60} {' '.join(sorted(o.case.expected)) or '-'}")
        print()

    per_rule = tallies(outcomes)
    positives = Counter(code for o in outcomes for code in o.case.expected)
    catalog = [r.code for r in ALL_RULES]
    unknown = sorted(set(per_rule) - set(catalog))
    safe = sum(1 for o in outcomes if not o.case.expected)
    print(f"{len(outcomes)} cases ({safe} safe twins labelled with no code), {elapsed:.1f} s\n")
    print(f"{'rule':7} {'cases':>5} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}")
    failing: list[str] = []
    for code in [*catalog, *unknown]:
        tally = per_rule.get(code, Tally())
        flag = ""
        low = [v for v in (tally.precision, tally.recall) if v is not None and v < RULE_TARGET]
        if low:
            flag = "  < target"
            failing.append(f"{code} below {RULE_TARGET}")
        if not positives[code] and not args.theme and not args.pattern:
            flag += "  (no positive case)"
            failing.append(f"{code} has no positive case")
        print(
            f"{code:7} {positives[code]:5d} {tally.tp:4d} {tally.fp:4d} {tally.fn:4d} "
            f"{_ratio(tally.precision):>9} {_ratio(tally.recall):>7}{flag}"
        )
    total = Tally(
        tp=sum(t.tp for t in per_rule.values()),
        fp=sum(t.fp for t in per_rule.values()),
        fn=sum(t.fn for t in per_rule.values()),
    )
    print(
        f"{'overall':7} {sum(positives.values()):5d} {total.tp:4d} {total.fp:4d} {total.fn:4d} "
        f"{_ratio(total.precision):>9} {_ratio(total.recall):>7}"
    )
    for name, value in (("precision", total.precision), ("recall", total.recall)):
        if value is not None and value < OVERALL_TARGET:
            failing.append(f"overall {name} {value:.3f} < {OVERALL_TARGET}")

    wrong = [o for o in outcomes if not o.ok]
    print(f"\n{len(wrong)} mismatching case(s)")
    for o in wrong:
        expected = " ".join(sorted(o.case.expected)) or "-"
        if o.error:
            print(f"  {o.case.theme}/{o.case.name}: expected {expected}, ERROR {o.error}")
            failing.append(f"{o.case.name} failed to run")
            continue
        got = " ".join(sorted(o.got)) or "-"
        extra = " ".join(sorted(o.got - o.case.expected))
        missing = " ".join(sorted(o.case.expected - o.got))
        diff = ", ".join(p for p in (f"+{extra}" if extra else "", f"-{missing}" if missing else "") if p)
        print(f"  {o.case.theme}/{o.case.name}: expected {expected}, got {got}  ({diff})")
        if o.case.note:
            print(f"      note: {o.case.note}")
        if args.verbose:
            for line in o.details:
                print(f"      {line}")
    if failing:
        print("\ntargets not met: " + "; ".join(dict.fromkeys(failing)))
        return 1
    print("\ntargets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
