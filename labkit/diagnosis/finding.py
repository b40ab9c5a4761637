"""The Finding record: one diagnosed problem in words, made from its registered Rule by
``make_finding``, with how sure it is. The code tables (CODES, CASE_OF_CODE, ...) are read from the
registry on each lookup, so a rule registered later is in them too."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from . import registry
from .registry import LESSON_OF_CASE, LEVELS  # noqa: F401  (LESSON_OF_CASE: tests read it here)

__getattr__ = registry.live(__name__)

P = '<p style="margin:6px 0">'  # a paragraph of a card or answer
# prose wraps between words (a word longer than the line breaks rather than run off it)
WRAP = "line-height:1.45;white-space:normal;overflow-wrap:anywhere"

# Confidence is a word, not a number: no probability was measured. An unambiguous shape gets its
# Rule.sure; a gradual finding (its Rule.margin: by how much its numbers clear the thresholds, 1.0 =
# just at them) is "low" below MEDIUM_MARGIN (a close call: within 20 % of a threshold), "medium"
# below HIGH_MARGIN, "high" once it clears them by half again. An excerpt: one word lower.
MEDIUM_MARGIN, HIGH_MARGIN = 1.2, 1.5


def confidence(code: str, numbers: dict[str, float], mid_run: bool = False) -> str:
    """Return "high", "medium" or "low" for a finding of ``code`` with these numbers."""
    rule = registry.get(code)
    if rule is not None and rule.margin is not None:
        try:
            found = rule.margin(numbers)
        except (KeyError, ZeroDivisionError):
            found = 1.0
        level = 2 if found >= HIGH_MARGIN else 1 if found >= MEDIUM_MARGIN else 0
    else:
        level = LEVELS.index(rule.sure if rule is not None else "high")
    return LEVELS[max(level - mid_run, 0)]


def lesson_for(code: str) -> str:
    """Return the lesson notebook that teaches ``code``, or "" when none does."""
    rule = registry.get(code)
    return rule.lesson if rule else ""


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem: what it is, the numbers that show it, why it happens, what to try."""

    code: str  # one of CODES
    title: str  # one line in the learner's words
    evidence: str  # the numbers and epochs that triggered it
    numbers: dict[str, float] = field(default_factory=dict, hash=False)  # those numbers by name
    explanation: str = ""  # why it happens
    fixes: list[str] = field(default_factory=list, hash=False)  # what to try, best first
    lesson: str = ""  # lesson notebook to open, "" when none covers it
    confidence: str = "high"  # "high", "medium" or "low" (see ``confidence``)
    # ((cause, cheapest experiment that tells it apart), ...), likeliest first
    causes: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        lines = [
            f"[{self.code}] {self.title} (confidence {self.confidence})",
            f"  evidence: {self.evidence}",
            f"  why: {self.explanation}",
        ]
        lines += [f"  cause {i}: {c} -- test: {t}" for i, (c, t) in enumerate(self.causes, 1)]
        lines += [f"  try: {fix}" for fix in self.fixes]
        lines += [f"  lesson: {self.lesson}"] if self.lesson else []
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Return the finding as an HTML card in words, with a link to its lesson."""
        esc = html.escape
        parts = [
            f"{P}<b><code>{esc(self.code)}</code> {esc(self.title)}</b></p>",
            f"{P}How sure: {esc(self.confidence)}.</p>",
        ]
        if self.evidence:
            parts.append(f"{P}<b>In your numbers:</b> {esc(self.evidence)}</p>")
        if self.explanation:
            parts.append(f"{P}<b>Why:</b> {esc(self.explanation)}</p>")
        if self.causes:
            items = "".join(f"<li>{esc(c)}. <i>To tell:</i> {esc(t)}</li>" for c, t in self.causes)
            parts.append(
                f"{P}<b>What else fits these curves</b>, likeliest first, and the cheapest test:"
                f'</p><ol style="margin:4px 0">{items}</ol>'
            )
        if self.fixes:
            items = "".join(f"<li>{esc(f)}</li>" for f in self.fixes)
            parts.append(
                f'{P}<b>What to try</b>, best first:</p><ul style="margin:4px 0">{items}</ul>'
            )
        if self.lesson:  # relative: the lessons sit side by side (JupyterLab, Binder, a server)
            link = "color:var(--jp-content-link-color,#1565c0);text-decoration:underline"
            name, words = esc(self.lesson), esc(_lesson_words(self.lesson))
            parts.append(  # in words too for Colab; a widget's links look plain
                f'{P}<b>Open <a href="{name}" style="{link}">{words}</a></b> (the notebook {name} '
                "in the lessons folder).</p>"
            )
        else:
            parts.append(f"{P}No lesson covers it; start with what to try above.</p>")
        return (
            '<div style="border-left:4px solid var(--jp-warn-color1,#e65100);padding:2px 12px;'
            f'margin:10px 0;{WRAP}">{"".join(parts)}</div>'
        )


def _lesson_words(name: str) -> str:
    """A lesson's file in words: "05_training_loss_rises_later.ipynb" -> "lesson 05: training loss
    rises later"."""
    number, _, rest = name.removesuffix(".ipynb").partition("_")
    if number.isdigit() and rest:
        return f"lesson {number}: {rest.replace('_', ' ')}"
    return name.replace("_", " ")


def make_finding(
    code: str, evidence: str, numbers: dict[str, Any] | None = None, mid_run: bool = False
) -> Finding:
    """Return the Finding for ``code`` with its Rule's texts, lesson, causes and confidence
    (``mid_run``: the evidence comes from an excerpt of a run, which lowers it)."""
    rule = registry.get(code)
    if rule is None:
        raise ValueError(
            f"code={code!r} is not in the vocabulary; allowed: {', '.join(registry.codes())}"
        )
    numbers = dict(numbers or {})
    return Finding(
        code=code,
        title=rule.title,
        evidence=evidence,
        numbers=numbers,
        explanation=rule.explanation,
        fixes=list(rule.fixes),
        lesson=rule.lesson,
        confidence=confidence(code, numbers, mid_run),
        causes=rule.causes,
    )
