"""How sure, what else it could be, what to try next, and a one-line description of the curves.

Each finding gets: a confidence (how far its evidence clears the rule's thresholds, and whether the
log is an excerpt), the causes that fit the same curves ranked most likely first, each with the
cheapest experiment that tells it apart from the others, and a plain-text line describing the curves
(for screen readers and for pasting back into a question).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from . import registry
from .logs import load_run

# Confidence is a word, not a number: no probability was measured. An unambiguous shape (a rule
# without a margin) gets its Rule.sure; a gradual finding (a rule with a margin: by how much its
# numbers clear the rule's thresholds, 1.0 = just at them) is "low" below MEDIUM_MARGIN (a close
# call: within 20 % of a threshold), "medium" below HIGH_MARGIN, "high" once the evidence clears the
# thresholds by half again. An excerpt hides what came before: one word lower.
LEVELS = ("low", "medium", "high")
MEDIUM_MARGIN, HIGH_MARGIN = 1.2, 1.5


def margin(code: str, numbers: dict[str, float]) -> float:
    """Return by how much the evidence clears the rule's thresholds (>= 1), from the numbers the
    rule reported."""
    rule = registry.get(code)
    if rule is not None and rule.margin is not None:
        try:
            return rule.margin(numbers)
        except (KeyError, ZeroDivisionError):
            pass
    return 1.0


def confidence(code: str, numbers: dict[str, float], mid_run: bool = False) -> str:
    """Return "high", "medium" or "low" for a finding (setup checks read the setup itself: its
    Rule.sure)."""
    rule = registry.get(code)
    if rule is not None and rule.margin is not None:
        found = margin(code, numbers)
        level = 2 if found >= HIGH_MARGIN else 1 if found >= MEDIUM_MARGIN else 0
    else:
        level = LEVELS.index(rule.sure if rule is not None else "high")
    return LEVELS[max(level - mid_run, 0)]


def alternatives(code: str) -> tuple[tuple[str, str], ...]:
    """Return ((cause, experiment), ...) for ``code``, most likely first (its Rule's causes)."""
    rule = registry.get(code)
    return rule.causes if rule is not None else ()


def _pct(a: float, b: float) -> str:
    """The change from a to b, in % of a's size: a fall is minus, also below zero."""
    return f"{100 * (b - a) / abs(a):+.0f} %" if a else "n/a"


def describe_curves(
    train: Sequence[float],
    val: Sequence[float] = (),
    steps: Sequence[float] = (),
    first_epoch: int = 1,
) -> str:
    """Return one line describing the curves, e.g. "validation lowest at epoch 6 (0.465), +9 % by
    epoch 10 while training fell 20 %" (epochs counted as the log counts them)."""
    parts: list[str] = []

    def finite(c: Sequence[float]) -> list[float]:
        out = []
        for v in c:
            if not math.isfinite(v):
                break
            out.append(v)
        return out

    def epoch(i: int) -> int:
        return first_epoch + i

    for name, curve in (("training", train), ("validation", val)):
        if not curve:
            continue
        good = finite(curve)
        bad = "" if len(good) == len(curve) else f", NaN/inf from epoch {epoch(len(good))}"
        if not good:
            parts.append(f"{name} NaN/inf from epoch {epoch(0)}")
            continue
        low = min(range(len(good)), key=good.__getitem__)
        if (
            name == "validation"
            and 0 < low < len(good) - 1
            or name == "training"
            and low < len(good) - 1 - 1
        ):
            parts.append(
                f"{name} lowest at epoch {epoch(low)} ({good[low]:.4g}), "
                f"{_pct(good[low], good[-1])} by epoch {epoch(len(good) - 1)}{bad}"
            )
        else:
            verb = "fell" if good[-1] < good[0] else "rose"
            parts.append(
                f"{name} {verb} from {good[0]:.4g} to {good[-1]:.4g} ({_pct(good[0], good[-1])}) "
                f"over epochs {epoch(0)}-{epoch(len(good) - 1)}{bad}"
            )
    if len(parts) == 2:  # validation first: it is what a reader of a training question looks at
        parts = [f"{parts[1]}, while {parts[0]}"]
    if not parts and steps:
        good = finite(steps)
        low = min(range(len(good)), key=good.__getitem__) if good else 0
        parts.append(
            f"{len(steps)} logged steps: first {steps[0]:.4g}, lowest {good[low]:.4g} at step "
            f"{low + 1}, last {steps[-1]:.4g}"
        )
    return "; ".join(parts) or "no loss values"


def describe(run: Any) -> str:
    """Return the one-line description of ``run``'s curves (anything ``load_run`` reads)."""
    c = load_run(run)
    return describe_curves(c.train_loss, c.val_loss, c.step_loss, c.first_epoch)
