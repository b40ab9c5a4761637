"""The Finding record, and the vocabulary tables read from the rules' registry.

Every code is declared once, as a ``registry.Rule`` next to its detect function (rules.py,
gradual.py, setup_checks.py, codecheck.py). The tables here (CURVE_CODES, CHECK_CODES, CODES,
CASE_OF_CODE, LESSON_OF_CODE) are read from the registry whenever they are looked up, so a rule
registered later is in them too. Diagnosis imports nothing from ``labkit.cases`` (no import cycle,
not even a lazy one): the lessons are data (registry.LESSON_OF_CASE), and
tests/test_diagnosis_cases.py checks them against each case's ``lesson``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from . import advice, registry
from .registry import LESSON_OF_CASE, READING_CURVES  # noqa: F401  (read here by tests and lessons)

# Read from the registry on each lookup (registry.tables): CURVE_CODES (most likely cause first),
# CHECK_CODES, CODES, CASE_OF_CODE (the case each code is the failure of) and LESSON_OF_CODE (the
# one code -> lesson table).
__getattr__ = registry.live(
    __name__, ("CURVE_CODES", "CHECK_CODES", "CODES", "CASE_OF_CODE", "LESSON_OF_CODE")
)


def lesson_for(code: str) -> str:
    """Return the lesson notebook that teaches ``code``, or "" when none does."""
    rule = registry.get(code)
    return rule.lesson if rule else ""


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem: what it is, the numbers that show it, why it happens, and what to
    try."""

    code: str  # one of CODES
    title: str  # one line in the learner's words
    evidence: str  # the numbers and epochs that triggered it
    numbers: dict[str, float] = field(default_factory=dict, hash=False)  # those numbers by name
    explanation: str = ""  # why it happens
    fixes: list[str] = field(default_factory=list, hash=False)  # what to try, best first
    lesson: str = ""  # lesson notebook to open, "" when none covers it
    # "high", "medium" or "low": how far the evidence clears the rule's thresholds (a word:
    # no probability was measured; lower for excerpts, see advice.confidence)
    confidence: str = "high"
    # ((cause, cheapest experiment that tells it apart), ...), likeliest first
    causes: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        lines = [
            f"[{self.code}] {self.title} (confidence {self.confidence})",
            f"  evidence: {self.evidence}",
            f"  why: {self.explanation}",
        ]
        lines += [
            f"  cause {i}: {cause} -- test: {test}"
            for i, (cause, test) in enumerate(self.causes, 1)
        ]
        lines += [f"  try: {fix}" for fix in self.fixes]
        lines += [f"  lesson: {self.lesson}"] if self.lesson else []
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Return the finding as an HTML card in words: title, confidence, evidence, why, causes,
        fixes, lesson link."""
        esc, p = html.escape, '<p style="margin:6px 0">'
        # a widget's links look plain
        link = "color:var(--jp-content-link-color,#1565c0);text-decoration:underline"
        causes = "".join(f"<li>{esc(c)}. <i>To tell:</i> {esc(t)}</li>" for c, t in self.causes)
        causes = (
            f"{p}<b>What else fits these curves</b>, likeliest first, and the cheapest "
            "test:</p>"
            f'<ol style="margin:4px 0">{causes}</ol>'
            if causes
            else ""
        )
        fixes = "".join(f"<li>{esc(f)}</li>" for f in self.fixes)
        fixes = (
            f'{p}<b>What to try</b>, best first:</p><ul style="margin:4px 0">{fixes}</ul>'
            if fixes
            else ""
        )
        # relative: the lessons sit side by side (JupyterLab, Binder, a local server); words for
        # Colab
        if self.lesson:
            name = esc(self.lesson)
            lesson = (
                f'{p}<b>Open <a href="{name}" '
                f'style="{link}">{esc(_lesson_words(self.lesson))}</a></b> '
                f"(the notebook {name} in the lessons folder).</p>"
            )
        else:
            lesson = f"{p}No lesson covers it; start with what to try above.</p>"
        return (
            '<div style="border-left:4px solid var(--jp-warn-color1,#e65100);padding:2px '
            "12px;margin:10px 0;"
            f'line-height:1.45;white-space:normal;overflow-wrap:anywhere">'
            f"{p}<b><code>{esc(self.code)}</code> {esc(self.title)}</b></p>"
            f"{p}How sure: {esc(self.confidence)}.</p>"
            + (f"{p}<b>In your numbers:</b> {esc(self.evidence)}</p>" if self.evidence else "")
            + (f"{p}<b>Why:</b> {esc(self.explanation)}</p>" if self.explanation else "")
            + f"{causes}{fixes}{lesson}</div>"
        )


def _lesson_words(name: str) -> str:
    """Return a lesson's file name in words: "05_training_loss_rises_later.ipynb" -> "lesson 05:
    training loss rises later"."""
    number, _, rest = name.removesuffix(".ipynb").partition("_")
    return (
        f"lesson {number}: {rest.replace('_', ' ')}"
        if number.isdigit() and rest
        else name.replace("_", " ")
    )


def make_finding(
    code: str, evidence: str, numbers: dict[str, Any] | None = None, mid_run: bool = False
) -> Finding:
    """Return the Finding for ``code`` with its standard title, explanation, fixes, lesson,
    confidence and causes.

    ``mid_run``: the evidence comes from an excerpt of a run (lowers the confidence).
    """
    rule = registry.get(code)
    if rule is None:
        raise ValueError(
            f"code={code!r} is not in the vocabulary; allowed: {', '.join(registry.codes())}"
        )
    numbers = dict(numbers or {})
    return Finding(
        code,
        rule.title,
        evidence,
        numbers,
        rule.explanation,
        list(rule.fixes),
        rule.lesson,
        advice.confidence(code, numbers, mid_run),
        advice.alternatives(code),
    )
