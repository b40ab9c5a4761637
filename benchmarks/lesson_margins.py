"""Two lesson claims stated as rates, with the margin each assert keeps, per seed.

Lesson 02: the oscillating-loss failing run's model is frozen, the same training images wrong epoch
after epoch; but Adam's leftover momentum can still flip an answer after the gradient has gone.
For each seed: the last epoch at which the count of training images wrong (evaluation mode)
changes. The lesson asserts no change over the last 5 epochs of 30.

Lesson 05: the train-loss-rises failing run's validation accuracy declines before the jump; the
run without weight decay keeps it. For each seed: the decline (best before the jump minus the
accuracy just before it), and by how much the run without weight decay is above at that epoch
(the gap) as a share of the decline. The lesson counts the seeds whose decline passes 0.1 and, on
those, asserts a gap above half the decline.

The torch version and thread count are the process's: run once per venv and with
``LABKIT_THREADS=2``.

Run: python benchmarks/lesson_margins.py [--seeds 0-29]   (about 3 min on one quiet core)
"""

from __future__ import annotations

import argparse
import os

import torch
from _common import seed_range

from labkit import cases
from labkit.cases.train_loss_rises import first_jump

DECLINE = 0.1  # lesson 05: a decline counts when it passes this


def last_flip(wrong: list[float]) -> int:
    """Return the last epoch (1-based) at which ``wrong`` differs from the epoch before, or 1."""
    return max((e + 1 for e in range(1, len(wrong)) if wrong[e] != wrong[e - 1]), default=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-29")
    seeds = seed_range(parser.parse_args().seeds)
    threads = os.environ.get("LABKIT_THREADS", "1")
    print(f"# torch {torch.__version__}, {threads} thread(s), seeds {seeds[0]}-{seeds[-1]}")

    oscillating = cases.get("oscillating-loss")
    flips = {s: last_flip(oscillating.run(seed=s).extra["eval_wrong"]) for s in seeds}
    late = {s: e for s, e in flips.items() if e > 25}
    print(
        "lesson 02, last epoch the wrong count changes: at most 6 on "
        f"{sum(e <= 6 for e in flips.values())} "
        f"of {len(seeds)} seeds; after epoch 25 (the assert fails) on {sorted(late) or 'none'}; "
        f"by seed: {flips}"
    )

    rises = cases.get("train-loss-rises")
    shares, flat = {}, []
    for s in seeds:
        failing = rises.run(seed=s, measure=True)
        no_decay = rises.run(seed=s, measure=True, weight_decay=0.0)
        jump = first_jump(failing.train_loss)
        decline = max(failing.val_metric[:jump]) - failing.val_metric[jump - 1]
        gap = no_decay.val_metric[jump - 1] - failing.val_metric[jump - 1]
        if decline > DECLINE:
            shares[s] = gap / decline
        else:
            flat.append(s)
    worst = min(shares, key=shares.get)
    print(
        f"lesson 05, validation decline > {DECLINE} before the jump on {len(shares)} of "
        f"{len(seeds)} seeds (not on {flat}); the run without weight decay makes up at least "
        f"{shares[worst]:.0%} of it (seed {worst}); under half on "
        f"{sorted(s for s, v in shares.items() if v <= 0.5) or 'none'}"
    )


if __name__ == "__main__":
    main()
