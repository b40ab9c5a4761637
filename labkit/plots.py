"""Pure plotting functions: Histories in, Axes out. They never train and never change a History."""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .history import History

PER = ("epoch", "step")
SCALES = ("linear", "log", "symlog")


def _as_list(histories: History | Sequence[History]) -> list[History]:
    if isinstance(histories, History):
        return [histories]
    items = list(histories)
    if not items or not all(isinstance(h, History) for h in items):
        raise TypeError("histories must be a History or a non-empty sequence of Histories")
    return items


def _labels(histories: list[History], labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        return [h.case or f"run {i}" for i, h in enumerate(histories)] if len(histories) > 1 else [""]
    if len(labels) != len(histories):
        raise ValueError(f"labels has {len(labels)} entries but there are {len(histories)} histories")
    return list(labels)


def _check(per: str, scale: str) -> None:
    if per not in PER:
        raise ValueError(f"per={per!r} is not allowed; allowed: {', '.join(map(repr, PER))}")
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r} is not allowed; allowed: {', '.join(map(repr, SCALES))}")


def _apply_scale(ax: Axes, scale: str, values: Iterable[float]) -> None:
    finite = [v for v in values if math.isfinite(v)]
    if scale == "log" and finite and min(finite) <= 0:
        scale = "symlog"  # a log axis cannot show a negative loss; symlog can
    if scale == "symlog":
        small = min((abs(v) for v in finite if v != 0), default=1.0)
        ax.set_yscale("symlog", linthresh=max(small, 1e-30))
    else:
        ax.set_yscale(scale)


def _mark_divergence(ax: Axes, h: History, per: str, color: str) -> None:
    if not h.diverged:
        return
    xs = range(len(h.step_loss)) if per == "step" else range(len(h.train_loss))
    ys = h.step_loss if per == "step" else h.train_loss
    last = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
    x = h.diverged_step if per == "step" else h.diverged_epoch + 1
    y = last[-1][1] if last else 0.0
    ax.plot([x], [y], marker="X", markersize=12, color=color, linestyle="none", label="diverged (NaN/inf)")
    ax.annotate("diverged", (x, y), textcoords="offset points", xytext=(6, 6), color=color)


def plot_loss(histories: History | Sequence[History], ax: Axes | None = None, *, per: str = "epoch",
              scale: str = "linear", labels: Sequence[str] | None = None, val: bool = True,
              alpha: float = 1.0) -> Axes:
    """Draw training (solid) and validation (dashed) loss of one or more runs on ``ax``.

    Parameters
    ----------
    per:
        "epoch" (x = epochs 1..N) or "step" (every optimizer step; validation is per epoch so it is
        drawn at each epoch's last step).
    scale:
        "linear", "log" (switches to symlog when a loss is <= 0) or "symlog".
    alpha:
        Opacity, e.g. 0.25 for a faded "ghost" of the previous run.
    """
    _check(per, scale)
    hs = _as_list(histories)
    names = _labels(hs, labels)
    ax = ax if ax is not None else plt.gca()
    values: list[float] = []
    for i, (h, name) in enumerate(zip(hs, names)):
        color = f"C{i}"
        prefix = f"{name} " if name else ""
        if per == "step":
            ax.plot(range(1, len(h.step_loss) + 1), h.step_loss, color=color, alpha=alpha, lw=1,
                    label=f"{prefix}train")
            values += h.step_loss
            val_x = [(e + 1) * h.steps_per_epoch for e in range(len(h.val_loss))]
        else:
            ax.plot(range(1, len(h.train_loss) + 1), h.train_loss, color=color, alpha=alpha,
                    label=f"{prefix}train")
            values += h.train_loss
            val_x = list(range(1, len(h.val_loss) + 1))
        if val and h.val_loss:
            ax.plot(val_x, h.val_loss, color=color, alpha=alpha, ls="--", label=f"{prefix}validation")
            values += h.val_loss
        if alpha == 1.0:
            _mark_divergence(ax, h, per, color)
    _apply_scale(ax, scale, values)
    ax.set_xlabel("step" if per == "step" else "epoch")
    ax.set_ylabel("loss")
    if alpha == 1.0:
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_metric(histories: History | Sequence[History], ax: Axes | None = None, *,
                labels: Sequence[str] | None = None, val: bool = True, alpha: float = 1.0) -> Axes:
    """Draw the per-epoch training (solid) and validation (dashed) metric of one or more runs."""
    hs = _as_list(histories)
    names = _labels(hs, labels)
    ax = ax if ax is not None else plt.gca()
    for i, (h, name) in enumerate(zip(hs, names)):
        prefix = f"{name} " if name else ""
        ax.plot(range(1, len(h.train_metric) + 1), h.train_metric, color=f"C{i}", alpha=alpha,
                label=f"{prefix}train")
        if val and h.val_metric:
            ax.plot(range(1, len(h.val_metric) + 1), h.val_metric, color=f"C{i}", alpha=alpha, ls="--",
                    label=f"{prefix}validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(hs[0].metric_name)
    if alpha == 1.0:
        ax.legend(loc="best", fontsize="small")
    return ax


def compare(histories: Sequence[History], labels: Sequence[str] | None = None, *, per: str = "epoch",
            scale: str = "linear", title: str = "", figsize: tuple[float, float] = (11, 3.8)) -> Figure:
    """Return a figure with loss (left) and metric (right) of several runs side by side."""
    hs = _as_list(histories)
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize)
    plot_loss(hs, left, per=per, scale=scale, labels=labels)
    plot_metric(hs, right, labels=labels)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
