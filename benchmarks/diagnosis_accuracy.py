"""Print how often diagnose() names each case's failure first, and whether main-fix runs stay clean.

Run: OMP_NUM_THREADS=1 python benchmarks/diagnosis_accuracy.py [--seeds 10]   (~100 runs, several minutes)
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from labkit import cases, diagnose  # noqa: E402
from labkit.diagnosis.finding import CODE_OF_CASE  # noqa: E402

# The code that must come first on each case's failing run lives in labkit.diagnosis.finding.CODE_OF_CASE.
EXPECTED = CODE_OF_CASE


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
            fixed = [f.code for f in diagnose(case.run(seed=seed, device="cpu", **case.fix(fix_name)))]
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 per case")
    main(parser.parse_args().seeds)
