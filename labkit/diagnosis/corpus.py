"""Score diagnose() on a labelled corpus of real logs (a folder with a manifest.json): recall and
false alarms. A failure counts as named when its label's code comes first; a healthy log, when
nothing is found.

The two corpora: tests/data/real_logs/ (the rules were written and tuned while these were known) and
tests/data/real_logs_heldout/ (labelled by someone else after the thresholds were frozen on
2026-12-06; scored apart).
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from .judge import HEALTHY, LogReadWarning, diagnose  # a healthy log's label is the verdict's word

# a label's kind -> the finding code naming it (labels use the vocabulary's words where one exists)
CODE_OF_KIND = {"val-oscillation": "validation-oscillation"}


def score(folder: str | Path) -> dict[str, Any]:
    """Return per-log results and totals for the corpus in ``folder``."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    rows = []
    for entry in manifest["logs"]:
        with warnings.catch_warnings():  # how each log was read is in its notes: codes suffice
            warnings.simplefilter("ignore", LogReadWarning)
            codes = [f.code for f in diagnose(folder / entry["file"])]
        kind = entry["kind"]
        expected = CODE_OF_KIND.get(kind, kind)
        # named: the right code first; exact: the right code anywhere; a healthy log: none found
        named = codes[:1] == [expected] if kind != HEALTHY else not codes
        exact = expected in codes if kind != HEALTHY else not codes
        rows.append(dict(file=entry["file"], kind=kind, codes=codes, named=named, exact=exact))
    failures = [r for r in rows if r["kind"] != HEALTHY]
    healthy = [r for r in rows if r["kind"] == HEALTHY]
    per_kind = {}  # kind: (named, exact, logs)
    for k, n in sorted(Counter(r["kind"] for r in rows).items()):
        of_kind = [r for r in rows if r["kind"] == k]
        per_kind[k] = (sum(r["named"] for r in of_kind), sum(r["exact"] for r in of_kind), n)
    alarms = Counter(c for r in healthy for c in r["codes"])
    per_code: dict[str, list[int]] = {}
    for r in rows:  # each code: fired on its own kind, on another failure, on a healthy run
        for c in r["codes"]:
            own = CODE_OF_KIND.get(r["kind"], r["kind"]) == c
            per_code.setdefault(c, [0, 0, 0])[0 if own else 2 if r["kind"] == HEALTHY else 1] += 1
    return {
        "rows": rows,
        "failures": len(failures),
        "named": sum(r["named"] for r in failures),
        "healthy": len(healthy),
        "false_alarms": sum(bool(r["codes"]) for r in healthy),
        "per_kind": per_kind,
        "alarm_codes": dict(alarms),
        "per_code": {c: tuple(v) for c, v in sorted(per_code.items())},
    }
