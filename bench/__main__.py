"""``python -m bench [--quick | --full] [--only NAME ...] [--output PATH]``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import billing_run, http_api, preview, seat_change
from bench.harness import (
    DEFAULT,
    FULL,
    QUICK,
    Result,
    Sizes,
    not_measured,
    print_table,
    write_json,
)

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

# Every name the report carries, in order: (unit, target, measure or None when not built yet).
CASES: dict[str, tuple[str, str, Callable[[Sizes], Result] | None]] = {
    seat_change.SQLITE: (
        seat_change.UNIT,
        seat_change.TARGETS[seat_change.SQLITE],
        seat_change.run_sqlite,
    ),
    seat_change.POSTGRES: (
        seat_change.UNIT,
        seat_change.TARGETS[seat_change.POSTGRES],
        seat_change.run_postgres,
    ),
    http_api.NAME: (http_api.UNIT, http_api.TARGET, http_api.run),
    billing_run.POSTGRES: (
        billing_run.UNIT,
        billing_run.TARGETS[billing_run.POSTGRES],
        billing_run.run_postgres,
    ),
    billing_run.SQLITE: (
        billing_run.UNIT,
        billing_run.TARGETS[billing_run.SQLITE],
        billing_run.run_sqlite,
    ),
    "preview_latency": (preview.UNIT, preview.TARGET, preview.run),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny inputs (the smoke test)")
    size.add_argument("--full", action="store_true", help="the large inputs")
    parser.add_argument("--only", action="append", choices=sorted(CASES), help="run only NAME")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args(argv)
    sizes, mode = (
        (QUICK, "quick") if args.quick else (FULL, "full") if args.full else (DEFAULT, "default")
    )
    results: list[Result] = []
    for name, (unit, target, measure) in CASES.items():
        if measure is None or (args.only and name not in args.only):
            results.append(not_measured(name, unit, target))
        else:
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            results.append(measure(sizes))
            seconds = time.perf_counter() - started
            results[-1].extra["wall_seconds"] = round(seconds, 1)
            print(f"bench: {name} took {seconds:.0f} s", file=sys.stderr, flush=True)
    print_table(results)
    write_json(args.output, results, mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
