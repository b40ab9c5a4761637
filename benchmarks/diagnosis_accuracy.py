"""Print how often diagnose() names each case's failure first, and whether main-fix runs stay clean; with
--corpus, score it on the real-log corpus instead (recall per labelled kind, false alarms per code; < 1 s).

Run: OMP_NUM_THREADS=1 python benchmarks/diagnosis_accuracy.py [--seeds 10]   (~100 runs, several minutes)
     python benchmarks/diagnosis_accuracy.py --corpus                          (tests/data/real_logs)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from labkit import cases, diagnose  # noqa: E402
# The code that must come first on each case's failing run: the case's own ``code``.
EXPECTED = {name: cases.get(name).code for name in cases.names()}


def main(seeds: int) -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    totals = {"hit": 0, "fail runs": 0, "clean fix": 0, "fix runs": 0}
    print(f"{'case':18} {'seed':>4}  {'failing run: codes (first = top)':50} main fix run: codes")
    for name in cases.names():
        case = cases.get(name)
        fix_name = next(iter(case.fixes))
        hits = clean = 0
        for seed in range(seeds):
            fail = [f.code for f in diagnose(case.run(seed=seed, device="cpu"))]
            fixed = [f.code for f in diagnose(case.run(seed=seed, device="cpu", **case.overrides(fix_name)))]
            ok = bool(fail) and fail[0] == EXPECTED[name]
            hits, clean = hits + ok, clean + (not fixed)
            mark = "ok " if ok else "MISS"
            print(f"{name:18} {seed:>4}  {mark} {', '.join(fail) or '-':45} {', '.join(fixed) or '(none)'}", flush=True)
        print(f"{name:18} top code {EXPECTED[name]!r}: {hits}/{seeds}; fix {fix_name!r} clean: {clean}/{seeds}\n")
        totals["hit"] += hits
        totals["clean fix"] += clean
        totals["fail runs"] += seeds
        totals["fix runs"] += seeds
    thread = {"loss": [-1.9, -72.7, -573.7, -2662.9, -8421.2]}  # the negative-loss thread's five epochs
    print(f"negative-loss thread's own numbers as a Keras dict: {[f.code for f in diagnose(thread)]}")
    print(f"overall: right code first {totals['hit']}/{totals['fail runs']} "
          f"({100 * totals['hit'] / totals['fail runs']:.0f} %), main-fix runs without findings "
          f"{totals['clean fix']}/{totals['fix runs']} ({100 * totals['clean fix'] / totals['fix runs']:.0f} %); "
          f"{time.perf_counter() - start:.0f} s")


def corpus() -> None:
    """Print, for the real-log corpus, each log's label and findings, recall per kind and false alarms per code."""
    from labkit.diagnosis.corpus import HEALTHY, score

    result = score(Path(__file__).resolve().parents[1] / "tests" / "data" / "real_logs")
    for r in result["rows"]:
        mark = "ok  " if r["named"] else ("MISS" if r["kind"] != HEALTHY else "FALSE ALARM")
        print(f"{mark:11} {r['kind']:17} {', '.join(r['codes']) or '-':45} {r['file']}")
    print(f"\n{'label':18} {'logs':>4} {'any finding':>12} {'its own code':>13}")
    for kind, (named, exact, n) in result["per_kind"].items():
        shown = f"{n - named} alarm(s)" if kind == HEALTHY else f"{named}/{n}"
        print(f"{kind:18} {n:>4} {shown:>12} {f'{exact}/{n}':>13}")
    print(f"\n{'code':24} {'fired':>5} {'on its own kind':>16} {'on other failures':>18} {'on healthy':>11}")
    for code, (own, other, healthy) in result["per_code"].items():
        print(f"{code:24} {own + other + healthy:>5} {own:>16} {other:>18} {healthy:>11}")
    print(f"\nfailures named (any finding): {result['named']}/{result['failures']} "
          f"({100 * result['named'] / result['failures']:.0f} %); healthy runs with a finding: "
          f"{result['false_alarms']}/{result['healthy']}; false alarms by code: {result['alarm_codes'] or 'none'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per case")
    parser.add_argument("--corpus", action="store_true", help="score the real-log corpus instead of the cases")
    args = parser.parse_args()
    corpus() if args.corpus else main(args.seeds)
