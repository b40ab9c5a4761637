"""How long each case's failing run takes (trained, not read from a cache), side by side in one
process.

Per case: the failing defaults at seed 0, timed end to end (build + training + History) over
--repeats runs after one warm-up run of the process (torch's first deterministic run imports
extra modules, ~3 s once), median and max; goal <= 2 s on 2 cores. Also the main fix's run.
Usage: python benchmarks/case_times.py [--device cpu] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import header, load_now, set_threads

from labkit import cases

GOAL_S = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    set_threads(args.threads)
    dev = header("case run times: each case's failing run and main fix, end to end", args.device)
    print(
        f"{'case':17s} {'run':32s} {'median s':>8s} {'max s':>6s} {'train s':>7s}  goal <= "
        f"{GOAL_S:g} s  load"
    )
    for name in cases.names():
        case = cases.get(name)
        main_fix = next(iter(case.fixes))
        for label, knobs in [
            ("failing defaults", {}),
            (f"fix: {main_fix}", case.overrides(main_fix)),
        ]:
            times, loops = [], []
            for _ in range(args.repeats):
                start = time.perf_counter()
                history = case.run(seed=0, device=dev, **knobs)
                times.append(time.perf_counter() - start)
                loops.append(history.wall_time)
            median = statistics.median(times)
            print(
                f"{name:17s} {label:32s} {median:8.2f} {max(times):6.2f} "
                f"{statistics.median(loops):7.2f}  {'met' if median <= GOAL_S else 'NOT met':>12s} "
                f" {load_now()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
