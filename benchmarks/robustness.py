"""How robust is each reproduction? Run every case's failing defaults and each fix on many seeds.

Prints, per case and run kind, on how many seeds the symptom checks hold, plus each run's key
numbers and wall time. Usage: python benchmarks/robustness.py [--seeds 10] [--cases a,b] [--fixes all|main]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from labkit import cases


def key_numbers(h) -> str:
    parts = []
    if h.val_loss:
        parts.append(f"val {h.val_loss[0]:.3g}->{h.val_loss[-1]:.3g}")
    parts.append(f"train min {min(h.train_loss):.3g} last {h.train_loss[-1]:.3g}")
    if h.val_metric:
        parts.append(f"val {h.metric_name} {h.val_metric[-1]:.3f}")
    parts += [f"{k} {v:.3g}" for k, v in h.final.items()]
    for k, v in h.extra.items():
        parts.append(f"{k}[-3:] {sum(v[-3:]) / 3:.2f}")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--cases", default=",".join(cases.names()))
    parser.add_argument("--fixes", choices=("all", "main", "none"), default="main")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(f"# robustness: torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, device {args.device}, {time.strftime('%Y-%m-%d')}")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for name in args.cases.split(","):
        case = cases.get(name)
        fixes = {"all": list(case.fixes), "main": list(case.fixes)[:1], "none": []}[args.fixes]
        for label, knobs in [("failing defaults", {})] + [(f"fix: {f}", case.overrides(f)) for f in fixes]:
            shown, times = 0, []
            for seed in seeds:
                start = time.perf_counter()
                h = case.run(seed=seed, device=args.device, **knobs)
                times.append(time.perf_counter() - start)
                checks = case.symptom_checks(h)
                shown += all(checks.values())
                failed = [k for k, v in checks.items() if not v]
                print(f"  {name:17s} {label:30s} seed {seed:2d} symptom={'YES' if not failed else 'no '} "
                      f"{time.perf_counter() - start:5.2f}s  {key_numbers(h)}"
                      + (f"  (not: {'; '.join(failed)})" if failed and label == "failing defaults" else ""))
            print(f"{name:17s} {label:30s} symptom on {shown}/{len(seeds)} seeds; "
                  f"run time median {sorted(times)[len(times) // 2]:.2f}s, max {max(times):.2f}s", flush=True)


if __name__ == "__main__":
    main()
