"""Each case's runs timed in two versions of labkit side by side: this tree and an earlier commit.

A refactor must not make a run slower. This script checks out ``--base`` (a git ref) into
a temporary folder with ``git worktree``, starts one worker process per tree (each imports its own
labkit, same torch, same thread count) and asks them in turn, A B A B, for the same run: every
case's failing defaults and each of its fixes at seed 0 on the CPU. It prints the median time of
each run in both trees, their ratio (this tree / base), and whether the two Histories are the
same number for number (wall time aside).
Usage: python benchmarks/compare_trees.py --base 45c6933 [--repeats 3] [--threads N] [--cases a,b]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from _common import load_now

ROOT = pathlib.Path(__file__).resolve().parent.parent

# runs in each tree's own process: reads one JSON request per line, answers one JSON line
WORKER = r"""
import hashlib, json, sys, time
import torch
threads = int(sys.argv[1])
if threads:
    torch.set_num_threads(threads)
from labkit import cases
cases.get("negative-loss").run(seed=0, device="cpu", epochs=1)  # one-time imports, untimed
for line in sys.stdin:
    req = json.loads(line)
    case = cases.get(req["case"])
    knobs = case.overrides(req["fix"]) if req["fix"] else {}
    start = time.perf_counter()
    h = case.run(seed=0, device="cpu", **knobs)
    took = time.perf_counter() - start
    d = h.to_dict()
    d.pop("wall_time", None)
    digest = hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()
    print(json.dumps({"s": took, "hash": digest}), flush=True)
"""


def worktree(ref: str) -> pathlib.Path:
    """Return a checkout of ``ref`` in the temporary folder, made once."""
    path = pathlib.Path(tempfile.gettempdir()) / f"labkit-base-{ref}"
    if not path.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(path), ref],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return path


class Worker:
    """One process that trains runs with the labkit of ``tree``."""

    def __init__(self, tree: pathlib.Path, threads: int) -> None:
        env = dict(os.environ, PYTHONPATH=str(tree))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(threads)],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, case: str, fix: str) -> dict:
        self.proc.stdin.write(json.dumps({"case": case, "fix": fix}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker stopped on {case} {fix or 'failing defaults'}")
        return json.loads(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git ref of the earlier version")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--cases", default="", help="comma-separated case names; all by default")
    args = parser.parse_args()
    from labkit import cases

    names = args.cases.split(",") if args.cases else cases.names()

    base = worktree(args.base)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "labkit"], cwd=ROOT, capture_output=True
    )
    print(f"# run times, this tree ({head}{' + changes' if dirty.stdout else ''}) / {args.base}")
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, cores {os.cpu_count()}, "
        f"threads {args.threads or 'default'}, {args.repeats} runs each, A B A B; {load_now()}"
    )
    new, old = Worker(ROOT, args.threads), Worker(base, args.threads)
    print(f"{'case':17s} {'run':34s} {'base s':>7s} {'this s':>7s} {'ratio':>6s}  same History")
    ratios = []
    for name in names:
        case = cases.get(name)
        for fix in ["", *case.fixes]:
            times: dict[str, list[float]] = {"old": [], "new": []}
            hashes = set()
            for _ in range(args.repeats):
                for key, worker in (("old", old), ("new", new)):
                    answer = worker.run(name, fix)
                    times[key].append(answer["s"])
                    hashes.add(answer["hash"])
            t_old, t_new = statistics.median(times["old"]), statistics.median(times["new"])
            ratios.append(t_new / t_old)
            same = len(hashes) == 1
            label = f"fix: {fix}" if fix else "failing defaults"
            print(
                f"{name:17s} {label[:34]:34s} {t_old:7.2f} {t_new:7.2f} {t_new / t_old:6.2f}  "
                f"{'yes' if same else 'no'}",
                flush=True,
            )
    print(f"# ratio this / base: median {statistics.median(ratios):.2f}, max {max(ratios):.2f}")


if __name__ == "__main__":
    main()
