"""Run every case's failing defaults and main fix on a device (CUDA by default) and report.

Prints, per case: symptom checks on each seed, wall time per run (first run includes CUDA
warm-up, reported separately), and run-to-run agreement on the device (same seed twice).
Usage: python benchmarks/gpu_check.py [--device cuda] [--seeds 3]
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from labkit import cases


def max_rel_diff(a: list[float], b: list[float]) -> float:
    diffs = [
        abs(x - y) / max(abs(x), abs(y), 1e-30)
        for x, y in zip(a, b)
        if math.isfinite(x) and math.isfinite(y)
    ]
    return max(diffs, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    print(f"# device check: {name}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")
    warm = cases.get("negative-loss").run(seed=0, device=args.device, epochs=1)
    print(f"warm-up run: {warm.wall_time:.2f}s on {warm.device}")
    for case_name in cases.names():
        case = cases.get(case_name)
        main_fix = next(iter(case.fixes))
        for label, knobs in [("failing", {}), (f"fix: {main_fix}", case.overrides(main_fix))]:
            shown, times = 0, []
            for seed in range(args.seeds):
                start = time.perf_counter()
                h = case.run(seed=seed, device=args.device, **knobs)
                times.append(time.perf_counter() - start)
                assert h.device.startswith(args.device.split(":")[0]), h.device
                shown += case.shows_symptom(h)
            again = case.run(seed=0, device=args.device, **knobs)
            first = case.run(seed=0, device=args.device, **knobs)
            print(
                f"{case_name:17s} {label:34s} symptom {shown}/{args.seeds}  run time median "
                f"{sorted(times)[len(times) // 2]:.2f}s  same-seed max rel diff of step losses "
                f"{max_rel_diff(first.step_loss, again.step_loss):.2g}",
                flush=True,
            )


if __name__ == "__main__":
    main()
