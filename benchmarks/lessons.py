"""Run each lesson notebook top to bottom in a fresh kernel; print its wall time and the kernel's peak memory.

Peak memory is the kernel process's peak resident set size (``ru_maxrss``, read by one extra cell
appended after the lesson's last cell); goal <= 1 GB (Binder's cap is 2 GB). Wall time counts from
the kernel's start to the last cell's end. Lessons run one at a time, in this machine's Python.
Usage: python benchmarks/lessons.py [--lessons 01,03] [--timeout 900]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
GOAL_MB = 1024
MARK = "PEAK_RSS_KB="
PEAK_CELL = f"import resource; print('{MARK}' + str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))"


def run_lesson(path: Path, timeout: int) -> tuple[float, float | None]:
    """Return (wall seconds, peak resident MB of the kernel, None where it could not be read)."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    wall = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "stream")
    kb = next((int(line[len(MARK):]) for line in text.splitlines() if line.startswith(MARK)), None)
    # ru_maxrss is in kilobytes on Linux, bytes on macOS
    return wall, None if kb is None else kb / 1024 / (1024 if sys.platform == "darwin" else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lessons", default="", help="comma-separated prefixes, e.g. 01,03 (default: all)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args()
    wanted = [p for p in args.lessons.split(",") if p]
    paths = sorted(p for p in LESSONS.glob("*.ipynb") if not wanted or any(p.name.startswith(w) for w in wanted))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# lessons: wall time and kernel peak RSS, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"torch {torch.__version__}, python {platform.python_version()}, cores {os.cpu_count()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load average (1 min) at start {load:.2f}")
    print(f"{'lesson':48s} {'wall s':>7s} {'peak MB':>8s}  goal <= {GOAL_MB} MB")
    for path in paths:
        wall, peak = run_lesson(path, args.timeout)
        verdict = "n/a" if peak is None else ("met" if peak <= GOAL_MB else "NOT met")
        peak_text = "n/a" if peak is None else f"{peak:.0f}"
        print(f"{path.name:48s} {wall:7.1f} {peak_text:>8s}  {verdict}", flush=True)


if __name__ == "__main__":
    main()
