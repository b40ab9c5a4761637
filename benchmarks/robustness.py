"""Do the cases' claims hold wherever a learner runs them? The robustness matrix of issue 22.

A claim is the verdict the lessons and the panel state: each case's failing run is judged *the
asker's failure* and each fix *healthy* (``labkit.verdict``, the one judge). This script runs every
claim on seeds, with the learning rate moved x0.75 and x1.25 and the epochs x1.25 ("variants"), and
appends one line per run to a results file. The torch version and thread count are those of the
process: run it once per side venv (``/path/to/venv/bin/python benchmarks/robustness.py``) and with
``LABKIT_THREADS=2``. ``--table FILE...`` reads result files and prints the pass table that
RESULTS.md shows.

Run:  python benchmarks/robustness.py --out build/robust-2.13-1.txt [--seeds 0-29] [--variants
base,lr0.75]
      LABKIT_THREADS=2 python benchmarks/robustness.py --out build/robust-2.13-2.txt
      python benchmarks/robustness.py --table build/robust-*.txt
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import defaultdict

os.environ.setdefault("OMP_NUM_THREADS", os.environ.get("LABKIT_THREADS", "1"))

import torch  # noqa: E402
from _common import seed_range  # noqa: E402

from labkit import cases, runlock, verdict  # noqa: E402
from labkit.diagnosis.judge import FAILURE, HEALTHY  # noqa: E402

VARIANTS = {
    "base": ("lr", 1.0),
    "lr0.75": ("lr", 0.75),
    "lr1.25": ("lr", 1.25),
    "epochs1.25": ("epochs", 1.25),
}


def claims(case) -> list[tuple[str, dict, str]]:
    """(run label, knob overrides, the state the lessons claim) for the failing run and each fix."""
    return [("failing", {}, FAILURE)] + [
        (f"fix: {name}", case.overrides(name), HEALTHY) for name in case.fixes
    ]


def moved(case, overrides: dict, variant: str) -> dict:
    """``overrides`` with the variant's knob (lr or epochs) scaled from the run's own value."""
    knob, factor = VARIANTS[variant]
    if factor == 1.0:
        return dict(overrides)
    value = getattr(case.knobs(**overrides), knob)
    return {**overrides, knob: round(value * factor) if knob == "epochs" else value * factor}


def run(args: argparse.Namespace) -> None:
    where = f"torch {torch.__version__.split('+')[0]}, {runlock.CPU_THREADS} thread(s)"
    print(f"# {where}, {platform.machine()}, {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    with open(args.out, "a", encoding="utf-8") as out:
        for name in args.cases.split(","):
            case = cases.get(name)
            for label, overrides, claimed in claims(case):
                for variant in args.variants.split(","):
                    knobs = moved(case, overrides, variant)
                    for seed in seed_range(args.seeds):
                        judged = verdict(case.run(seed=seed, device="cpu", **knobs))
                        codes = ",".join(f.code for f in judged.findings) or "-"
                        fields = (where, name, label, variant, seed, claimed, judged.state, codes)
                        out.write("|".join(map(str, fields)) + "\n")
                        out.flush()
                    print(f"{name} {label} {variant} done", flush=True)


def table(files: list[str]) -> None:
    """Print the pass table: a row per claim, a column per torch x threads x variant (held/seeds),
    then the misses."""
    # (case, run) -> column -> [(seed, ok, what)]
    held: dict = defaultdict(lambda: defaultdict(list))
    columns: list[str] = []
    for path in files:
        for line in open(path, encoding="utf-8"):
            where, name, label, variant, seed, claimed, state, codes = line.rstrip("\n").split("|")
            column = where.replace(" thread(s)", " thr").replace("torch ", "") + (
                "" if variant == "base" else f", {variant}"
            )
            if column not in columns:
                columns.append(column)
            held[(name, label)][column].append((int(seed), state == claimed, f"{state} ({codes})"))
    print("| case | claim | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    misses = []
    for (name, label), by_column in held.items():
        cells = []
        for column in columns:
            runs = by_column.get(column, [])
            cells.append(f"{sum(r[1] for r in runs)}/{len(runs)}" if runs else "")
            misses += [
                f"{name} {label}, {column}, seed {s}: {what}" for s, good, what in runs if not good
            ]
        claimed = "the asker's failure" if label == "failing" else "healthy"
        print(f"| {name} | {label} is {claimed} | " + " | ".join(cells) + " |")
    print("\nruns whose verdict differs from the claim:" + ("" if misses else " none"))
    for miss in misses:
        print(f"- {miss}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="results file to append to")
    parser.add_argument("--seeds", default="0-29", help="seed range, e.g. 0-29")
    parser.add_argument("--cases", default=",".join(cases.names()))
    parser.add_argument(
        "--variants", default="base", help=f"comma-separated, from {', '.join(VARIANTS)}"
    )
    parser.add_argument(
        "--table", nargs="+", metavar="FILE", help="print the pass table of these result files"
    )
    args = parser.parse_args()
    if args.table:
        table(args.table)
    elif not args.out:
        parser.error("--out is needed to run (or --table to print)")
    else:
        unknown = set(args.variants.split(",")) - set(VARIANTS)
        if unknown:
            parser.error(
                f"--variants {', '.join(sorted(unknown))} not allowed; allowed: "
                f"{', '.join(VARIANTS)}"
            )
        run(args)
