"""Pure plotting functions: Histories in, Axes out; they never train and never change a History.

Legends sit outside the axes, to the right (one entry per run, then the line styles once), so they
never cover a curve; a log or symlog y axis says so in its label and gets a few decade ticks that do
not overlap. ``show``, in place of ``plt.show()``, displays a figure with ``describe_figure``'s
words as its text alternative for screen readers.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogFormatterSciNotation, NullLocator

from .history import History
from .knobs import Choice, must_be
from .view import PER, SCALES

MAX_TICKS = 7  # on a symlog axis: more would overlap at the panel's size
LEGEND = dict(
    loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small", frameon=False
)


def _runs(
    histories: History | Sequence[History], labels: Sequence[str] | None
) -> tuple[list[History], list[str]]:
    """Return the Histories as a list and each run's label ("" for a single run without labels)."""
    hs = [histories] if isinstance(histories, History) else list(histories)
    if not hs or not all(isinstance(h, History) for h in hs):
        raise TypeError("histories must be a History or a non-empty sequence of Histories")
    if labels is None:
        return hs, [h.case or f"run {i}" for i, h in enumerate(hs)] if len(hs) > 1 else [""]
    if len(labels) != len(hs):
        raise ValueError(f"labels has {len(labels)} entries but there are {len(hs)} histories")
    return hs, list(labels)


def _apply_scale(ax: Axes, scale: str, values: Iterable[float]) -> str:
    """Set the y scale for ``values`` and every curve already on ``ax``; return the words the axis
    label adds."""
    drawn = [float(y) for line in ax.lines for y in line.get_ydata()]
    finite = [v for v in [*values, *drawn] if math.isfinite(v)]
    if scale == "log" and finite and min(finite) <= 0:
        scale = "symlog"  # a log axis cannot show a negative loss; symlog can
    if scale == "symlog":
        small = max(min((abs(v) for v in finite if v != 0), default=1.0), 1e-30)
        linthresh = 10 ** math.floor(math.log10(small))
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.yaxis.set_major_locator(FixedLocator(symlog_ticks(finite, linthresh)))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
        threshold = _power_of_ten(linthresh, 0, mathtext=False)
        return f"symlog y axis: log beyond ±{threshold}, linear inside"
    ax.set_yscale(scale)
    if scale == "log":
        ax.yaxis.set_major_formatter(_ShortLogLabels())
        ax.yaxis.set_minor_formatter(_ShortLogLabels(labelOnlyBase=False))
    return "log y axis" if scale == "log" else ""


class _ShortLogLabels(LogFormatterSciNotation):
    """The log ticks matplotlib labels (minor ones too when the axis spans about a decade), written
    short: "0.05", not "5 x 10^-2", which the panel's narrow plots cut off at the left edge."""

    def __call__(self, x: float, pos: Any = None) -> str:
        if x <= 0 or not super().__call__(x, pos):
            return ""
        return _power_of_ten(x) if abs(math.log10(x) - round(math.log10(x))) < 1e-9 else f"{x:g}"


def symlog_ticks(values: Sequence[float], linthresh: float) -> list[float]:
    """Return 0 and powers of ten spanning ``values``, at most MAX_TICKS in all, one stride for
    both signs (decades take equal room on a symlog axis: one stride keeps them evenly apart)."""
    low = math.floor(math.log10(linthresh))
    # the highest decade inside the data on each side (a tick above the data would not show)
    tops = {
        sign: math.floor(math.log10(reach))
        for sign in (1, -1)
        if (reach := max((sign * v for v in values if sign * v > 0), default=0.0)) > 0
    }
    span = sum(max(1, top - low) for top in tops.values())
    stride = max(1, math.ceil(span / (MAX_TICKS - 1)))
    ticks = [0.0]
    for sign, top in tops.items():
        # not within a decade of ±linthresh: on screen that sits right next to 0
        decades = list(range(top, low + 1, -stride)) or [max(top, low + 1)]
        ticks += [sign * 10.0**d for d in decades]
    return sorted(ticks)


def _power_of_ten(value: float, _pos: Any = None, mathtext: bool = True) -> str:
    if value == 0:
        return "0"
    exponent = math.log10(abs(value))
    sign = "-" if value < 0 else ""
    if abs(exponent - round(exponent)) > 1e-9:
        return f"{value:.2g}"
    k = int(round(exponent))
    if -2 <= k <= 3:
        return f"{sign}{10.0**k:g}"
    return f"${sign}10^{{{k}}}$" if mathtext else f"{sign}1e{k}"


def _legend(ax: Axes, names: list[str], val: bool, diverged: bool) -> None:
    """One entry per named run (its colour), then the line styles once: outside the axes, right."""
    handles = [Line2D([], [], color=f"C{i}", label=name) for i, name in enumerate(names) if name]
    if val:
        handles.append(Line2D([], [], color="0.35", label="training"))
        handles.append(Line2D([], [], color="0.35", ls="--", label="validation"))
    if diverged:
        handles.append(
            Line2D([], [], color="0.35", marker="X", ls="none", label="diverged (NaN/inf)")
        )
    if handles:
        ax.legend(handles=handles, **LEGEND)


def panel_key(fig: Figure) -> str:
    """Return one key for all plots of ``fig`` naming only the line styles drawn: "solid: training",
    "dashed: validation", "faded: the run before"."""
    lines = [line for ax in fig.axes for line in ax.lines if line.get_visible()]
    styles = [
        ("solid: training", bool(lines)),
        ("dashed: validation", any(line.get_linestyle() == "--" for line in lines)),
        ("faded: the run before", any((line.get_alpha() or 1.0) < 1.0 for line in lines)),
    ]
    return " · ".join(words for words, drawn in styles if drawn)


def _mark_divergence(ax: Axes, h: History, per: str, color: str) -> None:
    if not h.diverged:
        return
    finite = [y for y in (h.step_loss if per == "step" else h.train_loss) if math.isfinite(y)]
    x = h.diverged_step if per == "step" else h.diverged_epoch + 1
    y = finite[-1] if finite else 0.0
    label = f"diverged (NaN/inf) after {per} {x}"
    ax.plot([x], [y], marker="X", markersize=12, color=color, linestyle="none", label=label)
    ax.annotate("diverged", (x, y), textcoords="offset points", xytext=(6, 6), color=color)


def plot_loss(
    histories: History | Sequence[History],
    ax: Axes | None = None,
    *,
    per: str = "epoch",
    scale: str = "linear",
    labels: Sequence[str] | None = None,
    val: bool = True,
    alpha: float = 1.0,
    legend: bool = True,
) -> Axes:
    """Draw training (solid) and validation (dashed) loss of one or more runs on ``ax``.

    ``per``: "epoch" or "step" (every optimizer step; validation, measured per epoch, is drawn at
    each epoch's last step). ``scale``: "linear", "log" (symlog when a loss is <= 0) or "symlog".
    ``alpha`` < 1 draws a faded "ghost" of an earlier run, without legend or divergence mark;
    ``legend`` draws the legend outside the axes, to the right. x: epochs 1..N (or steps).
    """
    Choice(PER).check("per", per)
    Choice(SCALES).check("scale", scale)
    hs, names = _runs(histories, labels)
    ax = ax if ax is not None else plt.gca()
    values: list[float] = []
    for i, (h, name) in enumerate(zip(hs, names)):
        color, prefix = f"C{i}", f"{name} " if name else ""
        train = h.step_loss if per == "step" else h.train_loss
        step = h.steps_per_epoch if per == "step" else 1  # x of each epoch's end
        lw = 1 if per == "step" else None
        label = f"{prefix}training loss"
        ax.plot(range(1, len(train) + 1), train, color=color, alpha=alpha, lw=lw, label=label)
        values += train
        if val and h.val_loss:
            val_x = [(e + 1) * step for e in range(len(h.val_loss))]
            label = f"{prefix}validation loss"
            ax.plot(val_x, h.val_loss, color=color, alpha=alpha, ls="--", label=label)
            values += h.val_loss
        if alpha == 1.0:
            _mark_divergence(ax, h, per, color)
    note = _apply_scale(ax, scale, values)
    ax.set_xlabel(("step" if per == "step" else "epoch") + (f"\n({note})" if note else ""))
    ax.set_ylabel("loss")
    if alpha == 1.0 and legend:
        _legend(ax, names, val and any(h.val_loss for h in hs), any(h.diverged for h in hs))
    return ax


def plot_metric(
    histories: History | Sequence[History],
    ax: Axes | None = None,
    *,
    labels: Sequence[str] | None = None,
    val: bool = True,
    alpha: float = 1.0,
    legend: bool = True,
) -> Axes:
    """Draw the per-epoch training (solid) and validation (dashed) metric of one or more runs."""
    hs, names = _runs(histories, labels)
    ax = ax if ax is not None else plt.gca()
    for i, (h, name) in enumerate(zip(hs, names)):
        prefix = f"{name} " if name else ""
        curves = [("training", h.train_metric, "-")]
        curves += [("validation", h.val_metric, "--")] if val and h.val_metric else []
        for split, curve, ls in curves:
            label = f"{prefix}{split} {h.metric_name}"
            ax.plot(range(1, len(curve) + 1), curve, color=f"C{i}", alpha=alpha, ls=ls, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(hs[0].metric_name)
    if alpha == 1.0 and legend:
        _legend(ax, names, val and any(h.val_metric for h in hs), False)
    return ax


def plot_curve(
    histories: History | Sequence[History],
    name: str,
    ax: Axes | None = None,
    *,
    labels: Sequence[str] | None = None,
    ylabel: str = "",
    alpha: float = 1.0,
    legend: bool = True,
) -> Axes:
    """Draw the per-epoch curve ``History.extra[name]`` of one or more runs (runs without it are
    skipped)."""
    hs, names = _runs(histories, labels)
    ax = ax if ax is not None else plt.gca()
    for i, (h, run) in enumerate(zip(hs, names)):
        values = h.extra.get(name, [])
        label = f"{run} {ylabel or name}".strip()
        ax.plot(range(1, len(values) + 1), values, color=f"C{i}", alpha=alpha, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or name)
    if alpha == 1.0 and legend:
        _legend(ax, names, False, False)
    return ax


def compare(
    histories: Sequence[History],
    labels: Sequence[str] | None = None,
    *,
    per: str = "epoch",
    scale: str = "linear",
    title: str = "",
    figsize: tuple[float, float] = (11, 3.8),
) -> Figure:
    """Return a figure with loss (left) and metric (right) of several runs side by side; one legend,
    at the right."""
    hs, names = _runs(histories, labels)
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize, layout="constrained")
    plot_loss(hs, left, per=per, scale=scale, labels=labels, legend=False)
    plot_metric(hs, right, labels=labels, legend=False)
    _legend(right, names, any(h.val_loss for h in hs), any(h.diverged for h in hs))
    if title:
        fig.suptitle(title)
    return fig


def _words(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else ("NaN" if math.isnan(value) else f"{value}")


def _describe_line(line: Line2D, xlabel: str) -> str:
    xs, ys = list(line.get_xdata()), [float(y) for y in line.get_ydata()]
    name = line.get_label()
    # axhline / axvline (axes coordinates)
    if len(xs) == 2 and not line.get_transform().contains_branch(line.axes.transData):
        if xs[0] == xs[1]:
            return f"{name}: a vertical line at {xlabel} {float(xs[0]):g}"
        if ys[0] == ys[1]:
            return f"{name}: a horizontal line at {_words(ys[0])}"
    pairs = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
    if not pairs:
        return f"{name}: no finite values"
    if len(pairs) == 1:
        return f"{name}: {_words(pairs[0][1])} at {xlabel} {pairs[0][0]:g}"
    low, high = min(pairs, key=lambda p: p[1]), max(pairs, key=lambda p: p[1])
    text = (
        f"{name}: starts at {_words(pairs[0][1])}, lowest {_words(low[1])} at {xlabel} {low[0]:g}, "
        f"highest {_words(high[1])} at {xlabel} {high[0]:g}, ends at {_words(pairs[-1][1])}"
    )
    bad = [x for x, y in zip(xs, ys) if not math.isfinite(y)]
    return text + (f"; NaN/inf from {xlabel} {bad[0]:g}" if bad else "")


def describe_figure(fig: Figure) -> str:
    """Return the figure in words: per plot its title and axes, per labelled curve where it starts,
    peaks, bottoms and ends."""
    parts = []
    if fig.get_suptitle():
        parts.append(fig.get_suptitle() + ".")
    for ax in fig.axes:
        lines = [ln for ln in ax.lines if ln.get_label()[:1] != "_" and len(ln.get_xdata())]
        if not lines:
            continue
        xlabel, _, note = (ax.get_xlabel() or "x").partition("\n")
        title = " ".join(ax.get_title().split())  # a title wrapped over two lines: one
        # no y label (the panel's plots: the title names the curve): the title is the y axis
        ylabel = (ax.get_ylabel() or title or "y") + (f" {note}" if note else "")
        faded = [ln for ln in lines if (ln.get_alpha() or 1.0) < 1.0]
        text = f"{title}: " if title and ax.get_ylabel() else ""
        text += f"{ylabel} against {xlabel}. "
        text += "; ".join(_describe_line(ln, xlabel) for ln in lines if ln not in faded)
        if faded:
            curves = f"{len(faded)} faded curve{'s' if len(faded) > 1 else ''}"
            text += f" (plus {curves} of the previous run)"
        parts.append(text + ".")
    return " ".join(parts) or "An empty figure."


@dataclass(eq=False)
class FigureImage:
    """A rendered figure with its text alternative: an ``<img alt=...>`` and a "text version" line
    under it."""

    png: bytes
    alt: str

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        alt = html.escape(self.alt, quote=True)
        return (
            f'<figure style="margin:0"><img src="data:image/png;base64,{data}" alt="{alt}" '
            'style="max-width:100%;height:auto"><details>'
            '<summary style="font-size:small;color:#555">text version of this figure</summary>'
            f"<p style='font-size:small'>{html.escape(self.alt)}</p></details></figure>"
        )

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return f"<figure: {self.alt[:200]}{'…' if len(self.alt) > 200 else ''}>"


def render(fig: Figure, note: str = "") -> FigureImage:
    """Return ``fig`` as a PNG with its text alternative (``note`` first: where the symptom is)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    alt = (note.strip() + " " if note.strip() else "") + describe_figure(fig)
    return FigureImage(buffer.getvalue(), alt)


def show(fig: Figure | None = None, note: str = "") -> None:
    """Display ``fig`` (default: the current figure) with its text alternative, then close it; use
    instead of plt.show(). ``note``, a sentence that says what to see (where the symptom is), comes
    before the curves' description."""
    from IPython.display import display

    fig = plt.gcf() if fig is None else fig
    must_be("fig", fig, Figure, "a matplotlib Figure or None")
    must_be("note", note, str, "a str")
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")  # room for the legends outside the axes
    image = render(fig, note)
    plt.close(fig)
    display(image)
