"""Draw a run's loss curves with each finding marked at the epoch its evidence names (pure: no training)."""

from __future__ import annotations

import math
from typing import Any, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from .finding import Finding
from .logs import load_run

# The number in Finding.numbers that names the epoch to mark, per code (oscillation has no single epoch).
MARK_EPOCH = {"negative-loss": "first_negative_epoch", "flat-validation": "first_flat_epoch",
              "late-explosion": "jump_epoch", "diverged": "epoch", "train-loss-rises": "rise_epoch",
              "no-generalization": "best_epoch", "overfitting": "best_epoch"}
LOG_SPAN = 1e3  # positive losses spanning more than this factor are drawn on a log axis


def marked_epochs(findings: Sequence[Finding]) -> dict[str, int]:
    """Return ``{code: epoch}`` for the findings that name an epoch (1-based)."""
    return {f.code: int(f.numbers[MARK_EPOCH[f.code]]) for f in findings
            if f.code in MARK_EPOCH and MARK_EPOCH[f.code] in f.numbers}


def plot_findings(run: Any, findings: Sequence[Finding], ax: Axes | None = None) -> Axes:
    """Draw training/validation loss per epoch and a labelled vertical line at each finding's epoch.

    Parameters
    ----------
    run:
        Anything ``load_run`` accepts (History, dict, DataFrame, log path, Curves).
    findings:
        The output of ``diagnose(run)``.
    """
    curves = load_run(run)
    ax = ax if ax is not None else plt.gca()
    values = [v for c in (curves.train_loss, curves.val_loss) for v in c if math.isfinite(v)]
    if curves.train_loss:
        ax.plot(range(1, len(curves.train_loss) + 1), curves.train_loss, color="C0", label="train")
    if curves.val_loss:
        ax.plot(range(1, len(curves.val_loss) + 1), curves.val_loss, color="C1", ls="--", label="validation")
    if values and min(values) <= 0:
        ax.set_yscale("symlog", linthresh=max(min((abs(v) for v in values if v), default=1.0), 1e-30))
    elif values and max(values) > LOG_SPAN * min(values):
        ax.set_yscale("log")
    for i, (code, epoch) in enumerate(marked_epochs(findings).items()):
        ax.axvline(epoch, color=f"C{i + 3}", ls=":", lw=2, label=f"{code} (epoch {epoch})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(", ".join(f.code for f in findings) or "no failure found")
    ax.legend(loc="best", fontsize="small")
    return ax
