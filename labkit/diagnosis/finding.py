"""The Finding record, and the vocabulary tables read from the rules' registry.

Every code is declared once, as a ``registry.Rule`` next to its detect function (rules.py, gradual.py, checks.py,
codecheck.py). The tables here (CURVE_CODES, CHECK_CODES, CODES, CASE_OF_CODE, LESSON_OF_CODE) are read from the
registry whenever they are looked up, so a rule registered later is in them too. Diagnosis imports nothing from
``labkit.cases`` (no import cycle, not even a lazy one): the lessons are data (registry.LESSON_OF_CASE), and
tests/test_diagnosis_cases.py checks them against each case's ``lesson``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from . import advice, registry
from .registry import LESSON_OF_CASE, READING_CURVES  # noqa: F401  (read here by tests and lessons)

# The code each case's failing run must get first (oscillating-loss: its frozen model is the cause, the swings
# a symptom, so flat-validation comes first and oscillation after it). Tests and the accuracy benchmark use it.
CODE_OF_CASE = {"rising-val-loss": "no-generalization", "oscillating-loss": "flat-validation",
                "negative-loss": "negative-loss", "adam-epsilon": "late-explosion",
                "train-loss-rises": "train-loss-rises"}

# Read from the registry on each lookup (registry.tables): CURVE_CODES (most likely cause first), CHECK_CODES,
# CODES, CASE_OF_CODE (the case each code is the failure of) and LESSON_OF_CODE (the one code -> lesson table).
__getattr__ = registry.live(__name__, ("CURVE_CODES", "CHECK_CODES", "CODES", "CASE_OF_CODE", "LESSON_OF_CODE"))


def lesson_for(code: str) -> str:
    """Return the lesson notebook that teaches ``code``, or "" when none does."""
    rule = registry.get(code)
    return rule.lesson if rule else ""


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem: what it is, the numbers that show it, why it happens, and what to try."""

    code: str  # one of CODES
    title: str  # one line in the learner's words
    evidence: str  # the numbers and epochs that triggered it
    numbers: dict[str, float] = field(default_factory=dict, hash=False)  # those numbers by name
    explanation: str = ""  # why it happens
    fixes: list[str] = field(default_factory=list, hash=False)  # what to try, best first
    lesson: str = ""  # lesson notebook to open, "" when none covers it
    confidence: float = 1.0  # 0-1: how far the evidence clears the rule's thresholds (lower for excerpts)
    causes: tuple[tuple[str, str], ...] = ()  # ((cause, cheapest experiment that tells it apart), ...), likeliest first

    @property
    def sure(self) -> str:
        """Return the confidence in a word: "high", "medium" or "low"."""
        return advice.word(self.confidence)

    @property
    def next_experiment(self) -> str:
        """Return the cheapest experiment that tells the likeliest cause from the others ("" when none is listed)."""
        return self.causes[0][1] if self.causes else ""

    def __str__(self) -> str:
        lines = [f"[{self.code}] {self.title} (confidence {self.sure}, {self.confidence:.2f})",
                 f"  evidence: {self.evidence}", f"  why: {self.explanation}"]
        lines += [f"  cause {i}: {cause} -- test: {test}" for i, (cause, test) in enumerate(self.causes, 1)]
        lines += [f"  try: {fix}" for fix in self.fixes]
        lines += [f"  lesson: {self.lesson}"] if self.lesson else []
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        fixes = "".join(f"<li>{esc(f)}</li>" for f in self.fixes)
        lesson = f"<p>Open <code>{esc(self.lesson)}</code></p>" if self.lesson else ""
        causes = "".join(f"<li>{esc(c)} <i>Test:</i> {esc(t)}</li>" for c, t in self.causes)
        causes = f"<p>Possible causes, likeliest first:</p><ol>{causes}</ol>" if causes else ""
        return (f"<div><p><b><code>{esc(self.code)}</code> {esc(self.title)}</b> (confidence {esc(self.sure)})</p>"
                f"<p><i>Evidence:</i> {esc(self.evidence)}</p><p>{esc(self.explanation)}</p>{causes}"
                f"<ul>{fixes}</ul>{lesson}</div>")


def make_finding(code: str, evidence: str, numbers: dict[str, Any] | None = None, mid_run: bool = False) -> Finding:
    """Return the Finding for ``code`` with its standard title, explanation, fixes, lesson, confidence and causes.

    ``mid_run``: the evidence comes from an excerpt of a run (lowers the confidence).
    """
    rule = registry.get(code)
    if rule is None:
        raise ValueError(f"code={code!r} is not in the vocabulary; allowed: {', '.join(registry.codes())}")
    numbers = dict(numbers or {})
    return Finding(code, rule.title, evidence, numbers, rule.explanation, list(rule.fixes), rule.lesson,
                   advice.confidence(code, numbers, mid_run), advice.alternatives(code))
