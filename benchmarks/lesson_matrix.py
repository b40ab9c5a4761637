"""Do the lessons' asserts hold wherever a learner runs them? Every lesson, top to bottom, on many
seeds.

Each lesson notebook runs in a fresh kernel with ``LABKIT_SEED`` set to each seed and
``LABKIT_THREADS`` to this process's value (default 1); a lesson passes when every cell runs, its
asserts included. One line per (lesson, seed) is appended to ``--out``: the kernel's torch version,
the threads, the seed, the lesson, ``pass`` or the failing cell with its error, the wall time in
seconds and the kernel's peak memory in MB. The torch version is the kernel's (the kernel runs this
Python, so run the script once per side venv). ``--jobs 2`` runs two kernels side by side (use it
with one thread). Kernels are driven by the blocking client of tests/run_notebook.py (nbclient's
asyncio client stalled, RESULTS.md "A stalled kernel"). ``--table FILE...`` reads result files and
prints the pass table that RESULTS.md shows (a run repeated in a later file, e.g. after a fix,
counts as its later outcome).

Run:  python benchmarks/lesson_matrix.py --out build/lessons-2.13-1.txt --seeds 0-29 --jobs 2
      LABKIT_THREADS=2 /path/to/venv-2.11/bin/python benchmarks/lesson_matrix.py --out
      build/lessons-2.11-2.txt python benchmarks/lesson_matrix.py --table build/lessons-*.txt
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from pathlib import Path

from _common import seed_range

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from run_notebook import CellError, run_notebook  # noqa: E402  (tests/run_notebook.py: the blocking client)

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
PEAK = "PEAK_RSS_KB="
PEAK_CELL = (
    f"import resource; print('{PEAK}' + str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))"
)


def run_lesson(path: Path, seed: int, timeout: int = 600) -> tuple[str, str, float, str]:
    """Run ``path`` on ``seed`` in a fresh kernel; return (torch version, outcome, wall seconds, the
    kernel's peak resident memory in MB at the end, "-" when the lesson failed before it). The
    kernel runs this Python, so its torch is this process's."""
    start, peak = time.perf_counter(), "-"
    try:
        printed = run_notebook(
            path, env={"LABKIT_SEED": str(seed)}, timeout=timeout, extra_cells=(PEAK_CELL,)
        )
        outcome = "pass"
        kb = next(
            (line[len(PEAK) :] for line in printed[-1].splitlines() if line.startswith(PEAK)), None
        )
        peak = f"{int(kb) / 1024:.0f}" if kb else "-"  # on Linux ru_maxrss is in kilobytes
    except CellError as exc:
        outcome = f"FAIL code {' '.join(str(exc).split())}"[:260]
    except TimeoutError:
        outcome = f"FAIL a cell ran longer than {timeout} s"
    return version("torch").split("+")[0], outcome, time.perf_counter() - start, peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", help="results file to append to")
    parser.add_argument("--seeds", default="0-29", help="first-last, e.g. 0-29")
    parser.add_argument(
        "--lessons", default="", help="comma-separated prefixes, e.g. 01,05 (default: all)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="kernels side by side")
    parser.add_argument(
        "--timeout", type=int, default=600, help="seconds a cell may run before the lesson fails"
    )
    parser.add_argument(
        "--table", nargs="+", metavar="FILE", help="print the pass table of these result files"
    )
    args = parser.parse_args()
    if args.table:
        return table(args.table)
    if not args.out:
        parser.error("--out FILE is needed (or --table FILE...)")
    threads = os.environ.get("LABKIT_THREADS", "1")
    wanted = [p for p in args.lessons.split(",") if p]
    paths = sorted(
        p
        for p in LESSONS.glob("*.ipynb")
        if not wanted or any(p.name.startswith(w) for w in wanted)
    )
    done = set()
    if Path(args.out).exists():  # a stopped run goes on where it stopped
        done = {
            tuple(line.split("\t")[2:4])
            for line in Path(args.out).read_text().splitlines()
            if line.strip()
        }
    todo = [
        (path, seed)
        for seed in seed_range(args.seeds)
        for path in paths
        if (str(seed), path.stem) not in done
    ]
    print(
        f"{len(todo)} lesson runs to do, {len(done)} already in {args.out}; threads {threads}",
        flush=True,
    )
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            (path, seed, pool.submit(run_lesson, path, seed, args.timeout)) for path, seed in todo
        ]
        for path, seed, future in futures:
            version, outcome, wall, peak = future.result()
            line = f"{version}\t{threads}\t{seed}\t{path.stem}\t{outcome}\t{wall:.0f}\t{peak}"
            print(line, flush=True)
            with open(args.out, "a") as out:
                out.write(line + "\n")


def table(files: list[str]) -> None:
    """Print lessons x (torch, threads) with passes/runs and the seed ranges run, every failure,
    then each lesson's median wall time and largest peak memory."""
    runs, costs = defaultdict(dict), defaultdict(list)
    # a (lesson, seed) run again in a later file (after a fix) counts as its later outcome
    for name in files:
        for line in Path(name).read_text().splitlines():
            if line.strip():
                version, threads, seed, lesson, outcome, wall, peak = (line.split("\t") + ["-"])[:7]
                runs[(version, threads)].setdefault(lesson, {})[int(seed)] = outcome
                costs[lesson].append((float(wall), float(peak) if peak != "-" else 0.0))
    fails = [
        f"- {lesson}, torch {version}, {threads} thr, seed {seed}: {outcome}"
        for (version, threads), col in sorted(runs.items())
        for lesson, seeds in sorted(col.items())
        for seed, outcome in sorted(seeds.items())
        if outcome != "pass"
    ]
    columns = sorted(runs)
    lessons = sorted({lesson for col in runs.values() for lesson in col})
    print("| lesson | " + " | ".join(f"{v}, {t} thr" for v, t in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for lesson in lessons:
        cells = []
        for col in columns:
            seeds = runs[col].get(lesson, {})
            passed = sum(outcome == "pass" for outcome in seeds.values())
            cells.append(f"{passed}/{len(seeds)} ({min(seeds)}-{max(seeds)})" if seeds else "-")
        print(f"| {lesson} | " + " | ".join(cells) + " |")
    print("\nruns that failed:" if fails else "\nno run failed")
    print("\n".join(fails))
    print("\n| lesson | runs | wall s, median (max) | peak MB, largest |\n|---|---|---|---|")
    for lesson in lessons:
        walls, peaks = sorted(w for w, _ in costs[lesson]), [p for _, p in costs[lesson]]
        peak = f"{max(peaks):.0f}" if max(peaks) else "-"
        print(
            f"| {lesson} | {len(walls)} | {walls[len(walls) // 2]:.0f} ({walls[-1]:.0f}) | {peak} |"
        )


if __name__ == "__main__":
    main()
