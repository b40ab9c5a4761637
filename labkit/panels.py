"""``labkit.explore``: an ipywidgets panel over one case: widgets -> ``labkit.runner`` -> plot.

One control per knob, labelled in words with the knob's help as its tooltip (ipywidgets 7 or 8), one
button per fix and a reset. A change asks the panel's ``Runner`` for a run (it trains in a
background thread, so the notebook stays usable; a newer change cancels a run in progress; results
are cached by knob values; every run one control move away is trained ahead, see ``labkit.moves``)
and the panel draws what the runner reports: the new run with the previous one as a faded ghost, the
curves of a long run while it trains, progress (hidden between runs), a status line in words and
errors. How a case's loss is drawn (per step or epoch, y scale, which second plot) comes from
``case.view``.

Plots are PNG images inside an ``ipywidgets.HTML`` ``<img>`` whose ``alt`` text says what the curves
do and whether the symptom is there (for screen readers); that renders in every front end
(JupyterLab, Binder, Colab, VS Code). ``backend="ipympl"`` draws on an interactive canvas instead;
"auto" picks it only when the notebook already runs ``%matplotlib widget``. The controls sit left of
the plots and go above them when the cell is narrower than about 920 px (the plot keeps >= 480 px).
The key under the plots ("solid: training · dashed: validation") is text in the page, not in the
image, so it keeps the page's font size when a narrow cell shrinks the image.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import textwrap
import threading
from typing import Any, Iterable

import ipywidgets as widgets
import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import cases, plots
from .cases.base import Case
from .controls import CSS, LAYOUT, STYLE, control, read, show
from .diagnosis import Verdict, verdict
from .history import History
from .knobs import value_words
from .runner import Event, Runner
from .widgetcompat import IPYWIDGETS_7, ShowsWidget, html_widget, tooltip

BACKENDS = ("auto", "image", "ipympl")
GHOST_ALPHA = 0.3
DPI = 80
# inches: 496 px wide at DPI, beside 430 px of controls (or under them when narrow)
FIGSIZE = (6.2, 3.2)
TITLE_CHARS = 34  # a longer plot title goes on two lines (one line of 10-point text over one plot)
# narrower, the plot goes under the controls (full width, shrunk when the cell is narrower still)
PLOT_MIN_PX = 480
NOTES = {"from the cache: no training": "shown from a run trained earlier, no training"}


class Panel(ShowsWidget):
    """Controls, fix buttons, a plot and a status line for one case; display it in a notebook.

    Parameters
    ----------
    case:
        A case name (``labkit.cases.names()``) or a Case.
    seed:
        Seed of every run of the panel (an int >= 0).
    device:
        None picks cuda, then mps, then cpu.
    backend:
        "auto", "image" (PNG, works everywhere) or "ipympl" (interactive canvas; needs ipympl in the
        front end, and Colab's custom widget manager on Colab).
    precompute:
        Train every run one control move away in the background (``labkit.moves``).
    runs:
        Histories of this case and seed already trained (e.g. earlier in the lesson): they fill the
        cache, so the panel shows them without training again.
    """

    mends = True  # shown with ``widgetcompat.MENDS_JS``: each slider handle named by its label

    def checkbox_help(self) -> dict[str, str]:
        """ipywidgets 7 puts no checkbox help in the page: the page script gives each its help."""
        if not IPYWIDGETS_7:
            return {}
        return {
            self.controls[n].description: help_text
            for n, (_, help_text) in self._specs.items()
            if isinstance(self.controls[n], widgets.Checkbox) and help_text
        }

    def __init__(
        self,
        case: str | Case,
        seed: int = 0,
        device: Any = None,
        backend: str = "auto",
        precompute: bool = True,
        runs: Iterable[History] = (),
    ) -> None:
        self.case = case if isinstance(case, Case) else cases.get(case)
        # checks seed, device, precompute and runs; reports to _on_event once a request is made
        self.runner = Runner(
            self.case,
            seed=seed,
            device=device,
            precompute=precompute,
            runs=runs,
            on_event=self._on_event,
        )
        if backend not in BACKENDS:
            raise ValueError(
                f"backend={backend!r} is not allowed; allowed: {', '.join(map(repr, BACKENDS))}"
            )
        self.backend = _pick_backend(backend)
        self.view = self.case.view  # per step/epoch and y scale of the loss plot
        self.errors: list[str] = []  # every error shown in the panel
        self._specs = self.case.knob_specs()
        self._labels = self.case.knob_labels()
        self._defaults = {n: getattr(self.case.defaults, n) for n in self._specs}
        self._action = ""  # what the last fix or reset button changed, shown until the next change
        self.alt = ""  # the text alternative of the plot now shown
        self._draw_lock = threading.Lock()  # one drawing at a time (matplotlib is not thread-safe)
        self._holding = False
        self._status_text = ""
        self._judged: tuple[History, Verdict] | None = None  # the last run judged, and its verdict
        self._build_widgets()
        self._request()

    # ---- public API -------------------------------------------------------------------------
    seed = property(lambda self: self.runner.seed, doc="Seed of every run.")
    device = property(lambda self: self.runner.device, doc="The torch.device runs train on.")
    cache = property(
        lambda self: self.runner.cache, doc="Histories by knob values (``runner.key``)."
    )
    calls = property(
        lambda self: self.runner.calls, doc="Knobs of every training run started, in order."
    )
    history = property(lambda self: self.runner.history, doc="The run now drawn.")
    ghost = property(lambda self: self.runner.previous, doc="The run drawn before it, faded.")

    @property
    def knobs(self) -> dict[str, Any]:
        """Return the knob values the controls show now."""
        return {n: read(self._specs[n][0], w) for n, w in self.controls.items()}

    @property
    def figure(self) -> Figure:
        """Return the matplotlib Figure the panel draws on."""
        return self._figure

    def set(self, **knobs: Any) -> None:
        """Set several controls at once (checked first), then run once."""
        self._set(knobs, action="")

    def _set(self, knobs: dict[str, Any], action: str) -> None:
        # ValueError/TypeError naming the knob first
        checked = dataclasses.asdict(self.case.knobs(**knobs))
        self._holding = True
        try:
            for name in knobs:
                show(self._specs[name][0], self.controls[name], checked[name], self._defaults[name])
        finally:
            self._holding = False
        self._action = action
        self._request()

    def apply_fix(self, name: str) -> None:
        """Show fix or try ``name``: the failing defaults with its overrides; the status says what
        changed and the verdict says what the run shows (a try's run is not called fixed unless the
        case's criteria say so)."""
        overrides = self.case.overrides(name)
        before = self.knobs
        target = self._defaults | overrides
        self.case.knobs(**target)  # a bad fix is reported before anything moves
        changed = [self._change(n, before[n], v) for n, v in overrides.items() if before[n] != v]
        restored = [
            self._change(n, before[n], v)
            for n, v in target.items()
            if n not in overrides and before[n] != v
        ]
        action = f"{'fix' if name in self.case.fixes else 'try'} “{html.escape(name)}”: " + (
            "; ".join(changed) or "its knobs were already set"
        )
        if restored:
            action += " · put back to the failing defaults: " + "; ".join(restored)
        self._set(target, action)

    def reset(self) -> None:
        """Go back to the failing defaults; the status says which knobs moved back."""
        before = self.knobs
        restored = [
            self._change(n, before[n], v) for n, v in self._defaults.items() if before[n] != v
        ]
        self._set(
            dict(self._defaults),
            "reset: " + ("; ".join(restored) or "already at the failing defaults"),
        )

    def _change(self, name: str, old: Any, new: Any) -> str:
        return (
            f"{self._labels[name]} {self._value_words(name, old)} → {self._value_words(name, new)}"
        )

    def wait(self, timeout: float | None = None, precompute: bool = False) -> History | None:
        """Block until the latest change is drawn (and, with ``precompute``, the grid is trained);
        return the History.

        Raises TimeoutError after ``timeout`` seconds.
        """
        return self.runner.wait(timeout, precompute=precompute)

    def coverage(self) -> tuple[int, int]:
        """Return (control moves already trained, all control moves) from the knobs shown now."""
        return self.runner.coverage()

    def close(self, timeout: float | None = None) -> None:
        """Stop training and precomputing (a run in progress stops at its next epoch); the widgets
        stay."""
        self.runner.close(timeout)

    # ---- widgets ----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.controls = {
            n: control(n, spec, help_text, self._defaults[n], self._defaults[n], self._labels[n])
            for n, (spec, help_text) in self._specs.items()
        }
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        # try: a suggestion that does not fix it here
        kinds = {"fix": self.case.fixes, "try": self.case.tries}
        self.fix_buttons = {
            name: self._fix_button(kind, name, overrides)
            for kind, group in kinds.items()
            for name, overrides in group.items()
        }
        self.reset_button = widgets.Button(
            description="reset to the failing defaults",
            button_style="warning",
            layout={"width": "auto"},
            tooltip="every knob back to the failing defaults",
        )
        self.reset_button.on_click(lambda _b: self._guarded(self.reset))
        self.progress = widgets.IntProgress(
            value=0,
            min=0,
            max=1,
            description="training",
            style=STYLE,
            layout=LAYOUT | {"visibility": "hidden"},
            **tooltip("how much of the run now training is done"),
        )
        self.status = html_widget(layout={"max_width": LAYOUT["max_width"]})
        self.error = html_widget(layout={"display": "none"})
        self._figure, self.plot = self._make_plot()
        # the key: page text under the plots, readable at any width (``plots.panel_key``)
        self.key = html_widget(layout={"max_width": "100%"})
        controls = widgets.VBox(
            list(self.controls.values()) + [self.progress],
            layout={"width": "430px", "max_width": "100%", "flex": "0 0 auto"},
        )
        controls.add_class("labkit-controls")  # what controls.CSS styles
        buttons = widgets.HBox(
            list(self.fix_buttons.values()) + [self.reset_button],
            layout={"flex_flow": "row wrap", "max_width": "100%"},
        )
        title = html_widget(f"<b>{html.escape(self.case.title)}</b>")
        style = html_widget(CSS, layout={"display": "none"})  # the controls' CSS, not shown
        # beside the controls while the cell has room for PLOT_MIN_PX of plot, else under them,
        # full width
        plot_column = widgets.VBox(
            [self.plot, self.key],
            layout={
                "flex": f"1 1 {PLOT_MIN_PX}px",
                "min_width": f"min({PLOT_MIN_PX}px, 100%)",
                "max_width": f"{round(FIGSIZE[0] * DPI)}px",
            },
        )
        body = widgets.Box(
            [controls, plot_column],
            layout={
                "display": "flex",
                "flex_flow": "row wrap",
                "align_items": "flex-start",
                "max_width": "100%",
            },
        )
        self.widget = widgets.VBox(
            [title, body, buttons, self.status, self.error, style],
            layout={"max_width": "100%", "overflow": "hidden"},
        )

    def _fix_button(self, kind: str, name: str, overrides: dict[str, Any]) -> widgets.Button:
        what = "; ".join(
            f"{self._labels[n]} {self._value_words(n, v)}" for n, v in overrides.items()
        )
        note = (
            ""
            if kind == "fix"
            else " (a suggestion that is not healthy on every seed we ran, so not called a fix)"
        )
        button = widgets.Button(
            description=f"{kind}: {name}",
            layout={"width": "auto"},
            tooltip=f"sets {what}; every other knob back to the failing defaults{note}",
        )
        button.on_click(lambda _b: self._guarded(self.apply_fix, name))
        return button

    def _make_plot(self) -> tuple[Figure, widgets.DOMWidget]:
        figure = _figure()
        if self.backend == "ipympl":
            from ipympl.backend_nbagg import Canvas, FigureManager

            canvas = Canvas(figure)
            FigureManager(canvas, 0)
            canvas.header_visible = False
            canvas.layout.max_width = "100%"
            return figure, canvas
        FigureCanvasAgg(figure)
        return figure, html_widget(layout={"max_width": "100%"})

    def _guarded(self, fn: Any, *args: Any) -> None:
        """Run a callback, showing any error in the panel instead of losing it."""
        try:
            fn(*args)
        except Exception as exc:  # shown, not raised: a button callback's traceback would be lost
            self._show_error(f"{type(exc).__name__}: {exc}")

    def _on_change(self, _change: dict) -> None:
        if not self._holding:
            # the learner moved a control: the last button's note no longer applies
            self._action = ""
            self._guarded(self._request)

    def _request(self) -> None:
        self.runner.request(**self.knobs)

    # ---- what the runner reports
    # ------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """Draw and write what the runner reports (an error raised here comes back as an "error"
        event)."""
        if event.kind == "training":
            self.progress.layout.visibility = "visible"
            self._set_progress(0, event.total)
            self._set_status(self._with_action(f"training {self._describe(event.knobs)} …"))
        elif event.kind == "progress":
            self._set_progress(event.done, event.total)
        elif event.kind == "live":
            with self._draw_lock:
                # not a run a newer request just replaced (drawn already)
                if event.knobs == self.runner.knobs:
                    self._draw(event.history, self.history, live=True)
        elif event.kind == "result":
            with self._draw_lock:
                if event.history is not self.history:
                    return  # a newer answer came in meanwhile; its own event draws it
                self._draw(event.history, self.ghost, live=False)
                self._clear_error()
                self.progress.layout.visibility = "hidden"
                self._set_progress(0, 1)
                self._set_status(self._with_action(self._summary(event.history, event.note)))
        elif event.kind == "precompute":
            self._set_status(
                f"{self._status_text}<br><span style='color:#555'>training ahead in the background "
                f"({event.done} of {event.total} next moves ready): "
                f"{html.escape(self._ahead(event))}</span>",
                keep=True,
            )
        elif event.kind == "precomputed":
            ready, total = self.runner.coverage()
            more = (
                "every next move is ready: any control or fix button redraws at once"
                if ready == total
                else f"{ready} of {total} next moves ready"
            )
            self._set_status(
                f"{self._status_text}<br><span style='color:#555'>{more}</span>", keep=True
            )
        elif event.kind == "error":
            self._show_error(event.message)

    # ---- drawing ------------------------------------------------------------------------------
    def _draw(self, history: History, ghost: History | None, live: bool) -> None:
        fig = self._figure
        per, scale, second = self.view.per, self.view.scale, self.view.second
        loss_ax, second_ax = fig.axes
        for ax in (loss_ax, second_ax):
            _clear(ax)
        ghost = ghost if ghost is not None and ghost is not history else None
        runs = [(ghost, GHOST_ALPHA, "the run before")] if ghost is not None else []
        if history.train_loss or history.step_loss:
            runs.append((history, 1.0, "now"))
        for run, alpha, name in runs:
            plots.plot_loss(
                run,
                loss_ax,
                per=per,
                scale=scale if alpha == 1.0 else "linear",
                alpha=alpha,
                labels=[name],
                legend=False,
            )
            if second == "metric":
                plots.plot_metric(run, second_ax, alpha=alpha, labels=[name], legend=False)
            else:
                plots.plot_curve(
                    run,
                    second,
                    second_ax,
                    alpha=alpha,
                    labels=[name],
                    legend=False,
                    ylabel=self.view.second_title,
                )
                second_ax.set_ylabel("")  # the plot's title names it
        # the axes fit the run now shown; the faded run before it may run off them
        for ax in (loss_ax, second_ax):
            ghosts = [line for line in ax.lines if line.get_alpha() == GHOST_ALPHA]
            for line in ghosts:
                line.set_visible(False)
            ax.relim(visible_only=True)
            ax.autoscale_view()
            for line in ghosts:
                line.set_visible(True)
        key = plots.panel_key(fig)  # names only the line styles drawn
        self.key.value = f'<span style="color:#4d4d4d">{html.escape(key)}</span>'
        loss_ax.set_title("loss", fontsize="medium")
        second_name = (
            history.metric_name if second == "metric" else (self.view.second_title or second)
        )
        title = second_name + (" · training…" if live else "")
        # in two lines rather than cut
        second_ax.set_title(textwrap.fill(title, TITLE_CHARS), fontsize="medium")
        judged = (
            str(self._verdict(history))
            if not live and (history.train_loss or history.step_loss)
            else ""
        )
        self.alt = (
            judged[:1].upper() + judged[1:] + ". " if judged else ""
        ) + plots.describe_figure(fig)
        if self.backend == "ipympl":
            fig.canvas.draw_idle()
        else:
            buffer = io.BytesIO()
            # fast to encode
            fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
            self.png = buffer.getvalue()
            data = base64.b64encode(self.png).decode("ascii")
            self.plot.value = (
                f'<img src="data:image/png;base64,{data}" '
                f'alt="{html.escape(self.alt, quote=True)}" '
                'style="max-width:100%;height:auto;display:block">'
            )

    # ---- status, progress, errors ----------------------------------------------------------------
    def _value_words(self, name: str, value: Any) -> str:
        return value_words(self._specs[name][0], value)

    def _describe(self, knobs: dict[str, Any]) -> str:
        changed = [n for n, v in knobs.items() if v != self._defaults[n]]
        return (
            "at the failing defaults"
            if not changed
            else "with "
            + ", ".join(f"{self._labels[n]} {self._value_words(n, knobs[n])}" for n in changed)
        )

    # judged once per run: the alt text and the status share it
    def _verdict(self, history: History) -> Verdict:
        if self._judged is None or self._judged[0] is not history:
            self._judged = (history, verdict(history, criteria=self.case.criteria()))
        return self._judged[1]

    def _summary(self, history: History, note: str) -> str:
        diverged = (
            f" · <b style='color:#b00'>diverged to NaN/inf at step {history.diverged_step}</b>"
            if history.diverged
            else ""
        )
        how = NOTES.get(note, note)
        knobs = {n: history.knobs.get(n, v) for n, v in self._defaults.items()}
        return (
            f"Run {self._describe(knobs)} "
            # the one judge, as the lessons and diagnose
            f"({how}): {self._verdict(history).html()}{diverged}"
        )

    def _with_action(self, text: str) -> str:
        return f"{self._action}<br>{text}" if self._action else text

    def _ahead(self, event: Event) -> str:
        if not event.knob:
            return event.note
        return f"{self._labels[event.knob]} = " + ", ".join(
            self._value_words(event.knob, v) for v in event.values
        )

    def _set_status(self, text: str, keep: bool = False) -> None:
        if not keep:
            self._status_text = text
        self.status.value = text

    def _set_progress(self, value: int, total: int) -> None:
        self.progress.max = max(1, int(total))
        self.progress.value = min(int(value), self.progress.max)

    def _show_error(self, message: str) -> None:
        self.errors.append(message)
        self.error.value = (
            f"<pre style='color:#b00;white-space:pre-wrap'>{html.escape(message)}</pre>"
        )
        self.error.layout.display = None

    def _clear_error(self) -> None:
        self.error.value = ""
        self.error.layout.display = "none"


def _figure() -> Figure:
    """Return the panel's figure: loss (left) and metric (right), laid out once (tight_layout per
    draw is slow). No legend covers a curve: one key for both plots sits under the figure, as page
    text (``Panel.key``)."""
    figure = Figure(figsize=FIGSIZE, dpi=DPI)
    figure.subplots(1, 2)
    # room for a title in two lines above, the axis label below
    figure.subplots_adjust(left=0.1, right=0.98, bottom=0.2, top=0.85, wspace=0.3)
    return figure


def _clear(ax: Axes) -> None:
    """Remove the curves, marks and legend of ``ax`` but keep its axes and ticks (``cla`` rebuilds
    them: a slider move over the precomputed grid took 0.08 s with it, 0.055-0.062 s without)."""
    for artist in [*ax.lines, *ax.texts, *ax.collections, *ax.patches]:
        artist.remove()
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()


def _pick_backend(backend: str) -> str:
    if backend != "auto":
        if backend == "ipympl":
            try:
                import ipympl  # noqa: F401
            except ImportError as exc:
                raise ValueError(
                    "backend='ipympl' needs the ipympl package (pip install ipympl); "
                    "allowed without it: 'auto', 'image'"
                ) from exc
        return backend
    name = matplotlib.get_backend().lower()
    return "ipympl" if ("ipympl" in name or "widget" in name) else "image"


def explore(
    case: str | Case,
    seed: int = 0,
    device: Any = None,
    backend: str = "auto",
    precompute: bool = True,
    runs: Iterable[History] = (),
) -> Panel:
    """Return a Panel over ``case`` (display it as a cell's last line); see Panel for the
    arguments."""
    return Panel(case, seed=seed, device=device, backend=backend, precompute=precompute, runs=runs)
