"""A run's curves in one line of words (for screen readers and for pasting back into a question),
and drawn with each finding marked at the epoch its evidence names (pure: no training)."""

from __future__ import annotations

import math
from typing import Any, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from ..plots import LEGEND
from .finding import Finding
from .logs import load_run
from .rules import Curve, _argmin, _finite

# the number in Finding.numbers naming the epoch to mark, per code (oscillations have no one epoch)
MARK_EPOCH = {
    "negative-loss": "first_negative_epoch",
    "flat-validation": "first_flat_epoch",
    "late-explosion": "jump_epoch",
    "diverged": "epoch",
    "train-loss-rises": "rise_epoch",
    "no-generalization": "best_epoch",
    "overfitting": "best_epoch",
}
LOG_SPAN = 1e3  # positive losses spanning more than this factor are drawn on a log axis


def _pct(a: float, b: float) -> str:
    """The change from a to b, in % of a's size (a fall is minus, also below zero)."""
    return f"{100 * (b - a) / abs(a):+.0f} %" if a else "n/a"


def describe_curves(train: Curve, val: Curve = (), steps: Curve = (), first_epoch: int = 1) -> str:
    """Return one line describing the curves, e.g. "validation lowest at epoch 6 (0.465), +9 % by
    epoch 10 while training fell 20 %" (epochs counted as the log counts them)."""
    parts: list[str] = []
    for name, curve in (("training", train), ("validation", val)):
        if not curve:
            continue
        good = _finite(curve)
        if not good:
            parts.append(f"{name} NaN/inf from epoch {first_epoch}")
            continue
        bad = "" if len(good) == len(curve) else f", NaN/inf from epoch {first_epoch + len(good)}"
        low, last = _argmin(good), len(good) - 1
        # a minimum inside the run (training: not at its last two epochs)
        if 0 < low < last if name == "validation" else low < last - 1:
            shape = f"lowest at epoch {first_epoch + low} ({good[low]:.4g}), "
            shape += f"{_pct(good[low], good[-1])} by epoch {first_epoch + last}"
        else:
            verb = "fell" if good[-1] < good[0] else "rose"
            shape = f"{verb} from {good[0]:.4g} to {good[-1]:.4g} ({_pct(good[0], good[-1])}) "
            shape += f"over epochs {first_epoch}-{first_epoch + last}"
        parts.append(f"{name} {shape}{bad}")
    if len(parts) == 2:  # validation first: it is what a reader of a training question looks at
        parts = [f"{parts[1]}, while {parts[0]}"]
    if not parts and steps:
        good = _finite(steps)
        low = _argmin(good) if good else 0
        parts.append(
            f"{len(steps)} logged steps: first {steps[0]:.4g}, lowest {good[low]:.4g} at step "
            f"{low + 1}, last {steps[-1]:.4g}"
        )
    return "; ".join(parts) or "no loss values"


def describe(run: Any) -> str:
    """Return the one-line description of ``run``'s curves (anything ``load_run`` reads)."""
    c = load_run(run)
    return describe_curves(c.train_loss, c.val_loss, c.step_loss, c.first_epoch)


def plot_findings(run: Any, findings: Sequence[Finding], ax: Axes | None = None) -> Axes:
    """Draw ``run``'s training/validation loss (anything ``load_run`` reads) and a labelled line at
    each finding's epoch (``findings``: what ``diagnose(run)`` returned), the legend outside on the
    right; the curves' one-line description goes in ``ax.description`` (the text alternative)."""
    curves = load_run(run)
    ax = ax if ax is not None else plt.gca()
    steps_only = not curves.train_loss and not curves.val_loss
    start = 1 if steps_only else curves.first_epoch
    shown = [
        ("train", curves.step_loss if steps_only else curves.train_loss, "-"),
        ("validation", curves.val_loss, "--"),
    ]
    values = [v for _, c, _ in shown for v in c if math.isfinite(v)]
    for i, (label, curve, style) in enumerate(shown):
        if curve:
            ax.plot(range(start, start + len(curve)), curve, color=f"C{i}", ls=style, label=label)
    if values and min(values) <= 0:
        tiny = min((abs(v) for v in values if v), default=1.0)
        ax.set_yscale("symlog", linthresh=max(tiny, 1e-30))
    elif values and max(values) > LOG_SPAN * min(values):
        ax.set_yscale("log")
    if not steps_only:  # a line at each finding's epoch (counted as the log counts them)
        named = [f for f in findings if MARK_EPOCH.get(f.code) in f.numbers]
        for i, f in enumerate(named):
            epoch = int(f.numbers[MARK_EPOCH[f.code]])
            ax.axvline(epoch, color=f"C{i + 3}", ls=":", lw=2, label=f"{f.code} (epoch {epoch})")
    ax.set_xlabel("logged step" if steps_only else "epoch")
    ax.set_ylabel("loss")
    ax.set_title(", ".join(f.code for f in findings) or "no failure found")
    ax.legend(**LEGEND)
    ax.description = describe(curves)  # type: ignore[attr-defined]
    return ax
