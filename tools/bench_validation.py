"""In-process timings of validation, review and rendering for the shipped example designs.

Usage::

    python tools/bench_validation.py            # table, 500 runs after 20 warm-ups
    python tools/bench_validation.py -n 2000 --json

For each design (every shipped example, plus an empty design) it times, over N runs after W
warm-ups:

- ``evaluate``: ``findings.evaluate(design, settings)``, the full rule set;
- ``review``: ``quality.review(design, settings)`` (evaluate plus quality bar and step status);
- ``render``: ``artifacts.render_design(...)``, all seven artifacts.

The first call of each operation on each design is reported separately (``first``, all taken
before any timed run): the very first one includes process-wide warm-up (template compilation,
lazily filled caches).

Targets are checked here, not by timed assertions in the tests (timings on shared CI machines
are noisy): ``--check`` exits 1 when the median of ``evaluate`` on a complete example exceeds
``--target-ms`` (default 5 ms).

Developer script: never imported by the package.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial

from ml_systemization.artifacts import render_design
from ml_systemization.examples import EXAMPLES, example_design
from ml_systemization.findings import evaluate, registry
from ml_systemization.model import Design
from ml_systemization.quality import review
from ml_systemization.render import Renderer
from ml_systemization.settings import RuleSettings

EMPTY = "(empty design)"
OPERATIONS = ("evaluate", "review", "render")


@dataclass(frozen=True)
class Timing:
    design: str
    operation: str
    runs: int
    first_ms: float
    median_ms: float
    p90_ms: float
    p99_ms: float


def _percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile (q in (0, 100]) of an ascending list."""
    rank = math.ceil(q / 100 * len(sorted_ms))
    return sorted_ms[min(max(rank, 1), len(sorted_ms)) - 1]


def _ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1e6


def _operations(
    design: Design, settings: RuleSettings, renderer: Renderer
) -> dict[str, Callable[[], object]]:
    return {
        "evaluate": partial(evaluate, design, settings),
        "review": partial(review, design, settings),
        "render": partial(
            render_design, renderer, design, design_id="bench", revision=1, rules=settings
        ),
    }


def bench(*, runs: int, warmups: int) -> list[Timing]:
    """Time the three operations on every shipped example and an empty design."""
    settings = RuleSettings()
    renderer = Renderer()
    registry()  # importing the rule modules is start-up cost, not validation cost
    designs: dict[str, Design] = {name: example_design(name) for name in EXAMPLES}
    designs[EMPTY] = Design.model_validate({})
    ops = {name: _operations(design, settings, renderer) for name, design in designs.items()}
    # One call of everything first: the very first one pays for process-wide warm-up (lazily
    # filled caches, template compilation), so no later row is measured cold.
    first = {(name, op): _ms(fn) for name, by_op in ops.items() for op, fn in by_op.items()}
    results = []
    for name, by_op in ops.items():
        for operation in OPERATIONS:
            fn = by_op[operation]
            for _ in range(warmups):
                fn()
            samples = sorted(_ms(fn) for _ in range(runs))
            results.append(
                Timing(
                    design=name,
                    operation=operation,
                    runs=runs,
                    first_ms=first[name, operation],
                    median_ms=statistics.median(samples),
                    p90_ms=_percentile(samples, 90),
                    p99_ms=_percentile(samples, 99),
                )
            )
    return results


def table(results: list[Timing]) -> str:
    """A markdown table of the results."""
    lines = [
        "| design | operation | first ms | median ms | p90 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for t in results:
        lines.append(
            f"| {t.design} | {t.operation} | {t.first_ms:.2f} | {t.median_ms:.3f} "
            f"| {t.p90_ms:.3f} | {t.p99_ms:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=500, help="timed runs (default 500)")
    parser.add_argument("-w", "--warmups", type=int, default=20, help="warm-ups (default 20)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a complete design misses the target"
    )
    parser.add_argument(
        "--target-ms", type=float, default=5.0, help="median target of evaluate (default 5)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmups < 0:
        parser.error("--runs must be >= 1 and --warmups >= 0")
    results = bench(runs=args.runs, warmups=args.warmups)
    misses = [
        t
        for t in results
        if t.operation == "evaluate" and t.design != EMPTY and t.median_ms > args.target_ms
    ]
    if args.json:
        payload = {
            "python": platform.python_version(),
            "runs": args.runs,
            "warmups": args.warmups,
            "target_ms": args.target_ms,
            "results": [asdict(t) for t in results],
        }
        print(json.dumps(payload, indent=2))
    else:
        print(f"Python {platform.python_version()}, {args.runs} runs after {args.warmups} warm-ups")
        print()
        print(table(results))
        for t in misses:
            print(f"\nMISS: evaluate on {t.design}: {t.median_ms:.3f} ms > {args.target_ms} ms")
    return 1 if args.check and misses else 0


if __name__ == "__main__":
    sys.exit(main())
