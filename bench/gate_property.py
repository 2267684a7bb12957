"""The contract gate against a model of the fleet, for many random sequences.

Runs the state machine of tests/gate/test_gate_property.py (random process starts, heartbeats,
graceful stops, crashes, clock jumps, manifest publications and gate checks on a simulated clock)
and, instead of stopping at the first disagreement, counts: sequences run, gate checks, the verdict
on each pending contract revision at each check, and the checks where the gate and the model
disagree (violations).

    python bench/gate_property.py [--sequences 10000] [--steps 50] [--first-seen-ties]

Exit status 0 when no gate check disagreed with the model, 1 otherwise (the first few are printed
with the steps that led to them).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

TEST_MODULE = Path(__file__).resolve().parent.parent / "tests" / "gate" / "test_gate_property.py"
SHOWN = 3  # violations printed in full


def load_property() -> ModuleType:
    """The test module, imported from its path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gate_property", TEST_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sequences", type=int, default=10_000, help="random sequences to run")
    parser.add_argument("--steps", type=int, default=50, help="actions per sequence")
    parser.add_argument(
        "--first-seen-ties",
        action="store_true",
        help="let two release ids be first seen at one instant (they have no order, which blocks)",
    )
    args = parser.parse_args()

    prop = load_property()
    tally = prop.Tally()

    class Counting(prop.GateMachine):
        pass

    Counting.tally = tally
    Counting.first_sightings_apart = not args.first_seen_ties
    # no example database: every run draws fresh sequences (and writes nothing to .hypothesis/)
    options = settings(
        prop.gate_settings(args.sequences, args.steps), database=None, phases=[Phase.generate, Phase.shrink]
    )
    start = time.perf_counter()
    run_state_machine_as_test(Counting, settings=options)
    elapsed = time.perf_counter() - start

    print(
        f"{tally.sequences:,} sequences ({tally.abandoned:,} more cut short by Hypothesis), "
        f"{tally.checks:,} gate checks ({tally.at_an_instant:,} exactly where a process's window ends), "
        f"{elapsed:.1f} s\n"
    )
    print(f"{'revision':24} {'allowed':>9} {'blocked':>9} {'no source':>9}")
    for variant in prop.VARIANTS:
        allowed, blocked, no_source = (
            tally.verdicts[(variant.name, outcome)]
            for outcome in ("allowed", "blocked", "blocked: no source")
        )
        print(f"{variant.name:24} {allowed:9,} {blocked:9,} {no_source:9,}")
    print(f"\n{len(tally.violations)} violation(s)")
    for violation in tally.violations[:SHOWN]:
        print(f"\n{violation}")
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
