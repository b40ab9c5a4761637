"""Print the one judge's verdict (labkit.verdict) on every case's failing run, fixes and tries over
seeds, as the markdown table in RESULTS.md; with --corpus, score diagnose() on the real-log corpora
instead (< 2 s).

Run: python benchmarks/diagnosis_accuracy.py [--first 0 --seeds 30]   (5 cases x 30 seeds x ~5 runs:
~25 min, 1 core)
     python benchmarks/diagnosis_accuracy.py --first 30 --seeds 30 --fixes-only   (seeds never
     looked at before) python benchmarks/diagnosis_accuracy.py --corpus     (tests/data/real_logs
     and, apart, real_logs_heldout)
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from labkit import cases, verdict  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def table(first: int, seeds: int, fixes_only: bool, names: list[str]) -> None:
    """Print, per case and run (failing, each fix, each try), how many seeds got each verdict, and
    which seeds when a verdict is the minority."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    print("| case | run | verdicts over seeds (state (codes); seeds when not all) |\n|---|---|---|")
    for name in names:
        case = cases.get(name)
        runs = [("failing", {})] + [(f"fix: {n}", o) for n, o in case.fixes.items()]
        runs += [] if fixes_only else [(f"try: {n}", o) for n, o in case.tries.items()]
        for label, overrides in runs:
            found = defaultdict(list)
            for seed in range(first, first + seeds):
                judged = verdict(case.run(seed=seed, device="cpu", **overrides))
                codes = ", ".join(f.code for f in judged.findings)
                found[judged.state + (f" ({codes})" if codes else "")].append(seed)
            parts = [
                f"{len(s)}/{seeds} {state}"
                + ("" if len(s) > seeds / 2 else f" (seeds {', '.join(map(str, s))})")
                for state, s in sorted(found.items(), key=lambda kv: -len(kv[1]))
            ]
            print(f"| {name} | {label} | {'; '.join(parts)} |", flush=True)
    print(f"\nseeds {first}-{first + seeds - 1}; {time.perf_counter() - start:.0f} s")


def corpus() -> None:
    """Print, for each real-log corpus apart, each log's label and findings, and the right code
    first per kind."""
    from labkit.diagnosis.corpus import HEALTHY, score

    for folder in ("real_logs", "real_logs_heldout"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = score(DATA / folder)
        print(f"== tests/data/{folder}")
        for r in result["rows"]:
            mark = "ok  " if r["named"] else ("MISS" if r["kind"] != HEALTHY else "FALSE ALARM")
            print(f"{mark:11} {r['kind']:17} {', '.join(r['codes']) or '-':45} {r['file']}")
        print(f"\n{'label':18} {'logs':>4} {'right code first':>17} {'right code anywhere':>20}")
        for kind, (first, anywhere, n) in result["per_kind"].items():
            shown = f"{n - first} alarm(s)" if kind == HEALTHY else f"{first}/{n}"
            print(f"{kind:18} {n:>4} {shown:>17} {f'{anywhere}/{n}':>20}")
        print(
            f"\n{'code':24} {'fired':>5} {'on its own kind':>16} {'on other failures':>18} "
            f"{'on healthy':>11}"
        )
        for code, (own, other, healthy) in result["per_code"].items():
            print(f"{code:24} {own + other + healthy:>5} {own:>16} {other:>18} {healthy:>11}")
        print(
            f"\nfailures with the right code first: {result['named']}/{result['failures']} "
            f"({100 * result['named'] / result['failures']:.0f} %); healthy logs with a finding: "
            f"{result['false_alarms']}/{result['healthy']}; false alarms by code: "
            f"{result['alarm_codes'] or 'none'}\n"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0, help="first seed")
    parser.add_argument("--seeds", type=int, default=30, help="number of seeds per run")
    parser.add_argument(
        "--fixes-only", action="store_true", help="the failing run and the fixes, no tries"
    )
    parser.add_argument(
        "--cases", nargs="*", default=cases.names(), choices=cases.names(), help="cases to run"
    )
    parser.add_argument(
        "--corpus", action="store_true", help="score the real-log corpora instead of the cases"
    )
    args = parser.parse_args()
    corpus() if args.corpus else table(args.first, args.seeds, args.fixes_only, args.cases)
