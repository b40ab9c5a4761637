"""Each case lesson's "How far these results hold" table says what the measured runs say.

The table is precomputed (the runs take ~20 min): ``benchmarks/robustness.py --variants
lr0.75,lr1.25,epochs1.25 --seeds 0-29`` wrote benchmarks/results/robustness-2.13-1-variants.txt
(torch 2.13, one thread), and every count in the lessons' tables is checked against that file.
"""

import re
from collections import Counter
from pathlib import Path

import pytest

from labkit import cases

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "robustness-2.13-1-variants.txt"
COLUMNS = {"lr x 0.75": "lr0.75", "lr x 1.25": "lr1.25", "epochs x 1.25": "epochs1.25"}
ROW = re.compile(r"^# \| (failing defaults|fix: [^|]+?) \| (the asker's failure|healthy) \|(.*)\|$")


def measured() -> tuple[Counter, Counter]:
    """(held, runs) per (case, run label, variant) in the results file."""
    held, runs = Counter(), Counter()
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        _, case, label, variant, _, claimed, state, _ = line.split("|")
        runs[(case, label, variant)] += 1
        held[(case, label, variant)] += state == claimed
    return held, runs


@pytest.mark.parametrize("name", cases.names())
def test_the_lessons_robustness_table_matches_the_measured_runs(name):
    case = cases.get(name)
    text = (ROOT / "lessons" / "py" / case.lesson.replace(".ipynb", ".py")).read_text("utf-8")
    section = text.split("# ## How far these results hold", 1)
    assert len(section) == 2, f"{case.lesson} has no 'How far these results hold' section"
    lines = section[1].split("# %%", 1)[0].splitlines()
    header = next(line for line in lines if line.startswith("# | run | judged |"))
    variants = [COLUMNS[c.strip()] for c in header.strip("# |").split("|")[2:]]
    rows = [m for line in lines if (m := ROW.match(line))]
    labels = {"failing defaults": "failing"} | {f"fix: {f}": f"fix: {f}" for f in case.fixes}
    assert sorted(labels[m[1]] for m in rows) == sorted(labels.values()), "one row per claim"
    held, runs = measured()
    for m in rows:
        label = labels[m[1]]
        assert m[2] == ("the asker's failure" if label == "failing" else "healthy")
        for variant, cell in zip(variants, m[3].split("|")):
            key = (name, label, variant)
            assert runs[key] == 30, f"{key}: {runs[key]} runs in {RESULTS.name}, not seeds 0-29"
            assert cell.strip() == f"{held[key]} of 30", f"{case.lesson}, {m[1]}, {variant}"
