"""Draw a run's loss curves with each finding marked at the epoch its evidence names (pure: no
training)."""

from __future__ import annotations

import math
from typing import Any, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from .advice import describe_curves
from .finding import Finding
from .logs import load_run

# The number in Finding.numbers that names the epoch to mark, per code (oscillations have no single
# epoch).
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


def marked_epochs(findings: Sequence[Finding]) -> dict[str, int]:
    """Return ``{code: epoch}`` for the findings that name an epoch (counted as the log counts
    them)."""
    return {
        f.code: int(f.numbers[MARK_EPOCH[f.code]])
        for f in findings
        if f.code in MARK_EPOCH and MARK_EPOCH[f.code] in f.numbers
    }


def plot_findings(run: Any, findings: Sequence[Finding], ax: Axes | None = None) -> Axes:
    """Draw training/validation loss per epoch and a labelled vertical line at each finding's epoch,
    the legend outside the axes (right); a one-line text description of the curves goes in
    ``ax.description`` (for a text alternative, or for pasting back into a question).

    Parameters
    ----------
    run:
        Anything ``load_run`` accepts (History, dict, DataFrame, log path or text, Curves).
    findings:
        The output of ``diagnose(run)``.
    """
    curves = load_run(run)
    ax = ax if ax is not None else plt.gca()
    first = curves.first_epoch
    steps_only = not curves.train_loss and not curves.val_loss
    shown = [
        ("train", curves.step_loss if steps_only else curves.train_loss, "-"),
        ("validation", curves.val_loss, "--"),
    ]
    values = [v for _, c, _ in shown for v in c if math.isfinite(v)]
    for i, (label, curve, style) in enumerate(shown):
        if curve:
            start = 1 if steps_only else first
            ax.plot(range(start, start + len(curve)), curve, color=f"C{i}", ls=style, label=label)
    if values and min(values) <= 0:
        ax.set_yscale(
            "symlog", linthresh=max(min((abs(v) for v in values if v), default=1.0), 1e-30)
        )
    elif values and max(values) > LOG_SPAN * min(values):
        ax.set_yscale("log")
    if not steps_only:
        for i, (code, epoch) in enumerate(marked_epochs(findings).items()):
            ax.axvline(epoch, color=f"C{i + 3}", ls=":", lw=2, label=f"{code} (epoch {epoch})")
    ax.set_xlabel("logged step" if steps_only else "epoch")
    ax.set_ylabel("loss")
    ax.set_title(", ".join(f.code for f in findings) or "no failure found")
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        fontsize="small",
        frameon=False,
    )
    description = describe_curves(curves.train_loss, curves.val_loss, curves.step_loss, first)
    ax.description = description  # type: ignore[attr-defined]
    return ax
