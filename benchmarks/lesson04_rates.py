"""Lesson 04's precomputed rates: does the adam-epsilon jump need large steps?

For each learning rate, runs the failing case (Keras's Adam, eps 1e-7, clipped binary_crossentropy)
for epochs = DISTANCE / lr, so that lr x epochs is the same as the lesson's 0.045 x 100 = 4.5, and
counts on how many seeds the loss falls and then jumps above 2 (``jump_epoch``). A run's first
epochs do not depend on its length, so one run to lr x epochs = 9 answers both 4.5 and 9. Also
counts, at lr 0.045, the seeds whose last 10 epochs are flat by epoch 100 (``plateau``), and the
seeds where eps 1e-2 is healthy (``labkit.verdict``).

``--eps`` instead runs the lesson's Adam eps values at its lr 0.045 x 100 epochs and counts, per
eps, the seeds that blow up as the lesson defines it (the loss jumps after falling and its last 10
epochs all stay above 2) and the seeds ``labkit.verdict`` calls the asker's failure or healthy.

Run: python benchmarks/lesson04_rates.py [--seeds 0-29] [--far-seeds 0-9]   (one thread; about 25
min on one quiet core)
     python benchmarks/lesson04_rates.py --eps [--seeds 0-29]                (about 5 min)
"""

from __future__ import annotations

import argparse

import torch
from _common import seed_range

from labkit import cases, verdict
from labkit.cases.adam_epsilon import blows_up, jump_epoch, plateau

DISTANCE = 4.5  # lr x epochs of the lesson's failing run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-29", help="seeds run to lr x epochs = 4.5")
    parser.add_argument(
        "--far-seeds", default="0-9", help="seeds run on to lr x epochs = 9 (a subset of --seeds)"
    )
    parser.add_argument("--eps", action="store_true", help="the lesson's eps values instead")
    args = parser.parse_args()
    seeds, far = seed_range(args.seeds), set(seed_range(args.far_seeds))
    case = cases.get("adam-epsilon")
    if args.eps:
        return eps_table(case, seeds)
    print(
        f"torch {torch.__version__}; seeds {args.seeds}, on to lr x epochs = {2 * DISTANCE:g} "
        f"for {args.far_seeds}"
    )
    print(
        "| lr | epochs (lr x epochs 4.5) | jumped by 4.5 | jumped by 9 | jump epochs |\n"
        "|---|---|---|---|---|"
    )
    for lr in (0.045, 0.035, 0.03, 0.02, 0.01):
        epochs = round(DISTANCE / lr)
        near, later, when = [], [], []
        for seed in seeds:
            loss = case.run(
                seed=seed, lr=lr, epochs=2 * epochs if seed in far else epochs
            ).train_loss
            jump = jump_epoch(loss[:epochs])
            near.append(jump is not None)
            if seed in far:
                later.append(jump_epoch(loss) is not None)
            if jump_epoch(loss) is not None:
                when.append(jump_epoch(loss) + 1)
        span = f"{min(when)}-{max(when)}" if when else "-"
        print(
            f"| {lr:g} | {epochs} | {sum(near)}/{len(near)} | {sum(later)}/{len(later)} | {span} |",
            flush=True,
        )
    flat = sum(plateau(case.run(seed=s).train_loss) is not None for s in seeds)
    healthy = [s for s in seeds if verdict(case.run(seed=s, eps=1e-2)).state == "healthy"]
    print(f"\nlr 0.045 x 100 epochs: last 10 epochs flat on {flat}/{len(seeds)} seeds")
    print(
        f"eps 1e-2: healthy on {len(healthy)}/{len(seeds)} seeds; not on "
        f"{sorted(set(seeds) - set(healthy))}"
    )


EPS = (
    1e-8,
    1e-7,
    1e-4,
    1e-3,
    1e-2,
)  # the lesson's variants (1e-7: Keras's default, the failing run)


def eps_table(case, seeds: list[int]) -> None:
    """Print, per eps, on how many seeds the run blows up (the lesson's test) and its verdicts."""
    print(f"torch {torch.__version__}; lr 0.045 x 100 epochs; seeds {seeds[0]}-{seeds[-1]}")
    print("| eps | blows up | the asker's failure | healthy | seeds that do not blow up |")
    print("|---|---|---|---|---|")
    for eps in EPS:
        blew, failing, healthy = [], 0, 0
        for seed in seeds:
            h = case.run(seed=seed, eps=eps)
            blew.append(blows_up(h.train_loss))
            state = verdict(h).state
            failing += state == "the asker's failure"
            healthy += state == "healthy"
        calm = [s for s, b in zip(seeds, blew) if not b]
        print(
            f"| {eps:g} | {sum(blew)}/{len(seeds)} | {failing}/{len(seeds)} | "
            f"{healthy}/{len(seeds)} | {', '.join(map(str, calm)) or '-'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
