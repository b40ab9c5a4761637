"""K configurations at once (labkit.sweep, stacked + vmap) vs the same K runs one by one (Case.run).

Per configuration row: K learning rates around the case's default on shortened runs, timed side
by side in this one process (best of --repeats): the K sequential runs, the stacked sweep
(mode="always"), their ratio (whole call, builds included) and the training loops' ratio (sum of
History.wall_time), what "auto" does on this device, and the largest relative difference between
the stacked and the single histories' step losses (float rounding, grown by chaotic training).
Usage: python benchmarks/sweep_speed.py [--device cpu|cuda] [--k 8 32] [--repeats 1] [--rows a,b]
[--threads 1]
       [--time-auto]
"""

from __future__ import annotations

import argparse
import math

from _common import best_of, header, load_now, set_threads

from labkit import cases
from labkit.device import seed_everything
from labkit.sweep import VECTORIZE, stacking_pays, sweep

# shortened runs: long enough that per-run set-up does not dominate, short enough for < 5 min on 2
# cores
ROWS = {
    "rising-val-loss": ("rising-val-loss", {"epochs": 2}),
    "oscillating-loss": ("oscillating-loss", {"epochs": 10}),
    "oscillating-pretrained": ("oscillating-loss", {"epochs": 10, "model": "pretrained"}),
    "negative-loss": ("negative-loss", {"epochs": 3}),
    "adam-epsilon": ("adam-epsilon", {"epochs": 300}),
    "train-loss-rises": ("train-loss-rises", {"epochs": 40}),
}


def max_rel_diff(a: list[float], b: list[float]) -> float:
    d = [
        abs(x - y) / max(abs(x), abs(y), 1e-6)
        for x, y in zip(a, b)
        if math.isfinite(x) and math.isfinite(y)
    ]
    return max(d, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default=None)
    parser.add_argument("--k", type=int, nargs="+", default=[8])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument(
        "--time-auto",
        action="store_true",
        help="also time mode='auto' (the default) against the sequential runs",
    )
    args = parser.parse_args()
    set_threads(args.threads)
    dev = header(
        "sweep speed: K stacked configurations vs K sequential Case.run calls", args.device
    )
    print(f"# auto mode on {dev.type} stacks: {VECTORIZE.get(dev.type, 'none')} models")
    print(
        f"{'row':22s} {'K':>3s} {'sequential s':>12s} {'stacked s':>10s} {'speed-up':>8s} "
        f"{'loops':>7s} {'auto':>7s} {'max rel diff':>12s}  load"
    )
    for row in args.rows.split(","):
        name, knobs = ROWS[row]
        case = cases.get(name)
        # warm caches (pretrained backbone) outside timings
        case.run(seed=0, device=dev, **{**knobs, "epochs": 1})
        auto = (
            "stack"
            if stacking_pays(case.build(case.knobs(**knobs), seed_everything(0)), dev)
            else "seq"
        )
        base_lr = case.knobs(**knobs).lr
        for k in args.k:
            lrs = [base_lr * 2 ** ((i - k / 2) / max(k / 4, 1)) for i in range(k)]
            lrs = [min(max(lr, 1e-5), 1.0) for lr in lrs]
            grid = {**{n: [v] for n, v in knobs.items()}, "lr": lrs}
            singles: list = []
            stacked: dict = {}
            t_seq = best_of(
                lambda: singles.__setitem__(
                    slice(None), [case.run(seed=0, device=dev, lr=lr, **knobs) for lr in lrs]
                ),
                args.repeats,
                dev,
            )
            t_vec = best_of(
                lambda: stacked.update(sweep(case, grid, device=dev, mode="always")),
                args.repeats,
                dev,
            )
            loops = sum(h.wall_time for h in singles) / sum(h.wall_time for h in stacked.values())
            if args.time_auto:
                t_auto = best_of(lambda: sweep(case, grid, device=dev), args.repeats, dev)
                auto_note = f"{auto} {t_seq / t_auto:.2f}x"
            else:
                auto_note = auto
            diff = max(
                max_rel_diff(h.step_loss, s.step_loss) for h, s in zip(stacked.values(), singles)
            )
            print(
                f"{row:22s} {k:3d} {t_seq:12.2f} {t_vec:10.2f} {t_seq / t_vec:7.2f}x {loops:6.2f}x "
                f"{auto_note:>7s} {diff:12.1e}  {load_now()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
