"""``labkit.explore``: an ipywidgets panel over one case: widgets -> ``labkit.runner`` -> plot.

A control per knob (labelled in words, its help as tooltip), a button per fix and try, and a reset.
A change asks the panel's ``Runner`` for a run (trained in a background thread, so the notebook
stays usable) and the panel draws what it reports: the new run over the previous one faded, a long
run's curves while it trains, progress, a status line in words and errors. Plots are PNG images
whose ``alt`` text says what the curves do and whether the symptom is there (that renders in every
front end); the key under them is page text, so it keeps its size when a narrow cell shrinks them.
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
from .knobs import require, value_words
from .runner import Event, Runner
from .widgetcompat import IPYWIDGETS_7, ShowsWidget, html_widget, tooltip

BACKENDS = ("auto", "image", "ipympl")
GHOST_ALPHA = 0.3
DPI = 80
FIGSIZE = (6.2, 3.2)  # inches: 496 px wide at DPI, beside 430 px of controls (or under them)
TITLE_CHARS = 34  # a longer plot title goes on two lines (one line of 10-point text over one plot)
# narrower, the plot goes under the controls (full width, shrunk when the cell is narrower still)
PLOT_MIN_PX = 480
# a try button's tooltip says why it is no fix
TRY_NOTE = "a suggestion that is not healthy on every seed we ran, so not called a fix"
NOTES = {"from the cache: no training": "shown from a run trained earlier, no training"}
_GREY = "<br><span style='color:#555'>{}</span>"  # a status note under the main line


class Panel(ShowsWidget):
    """Controls, fix buttons, a plot and a status line for one case; display it in a notebook.

    ``case`` is a name (``labkit.cases.names()``) or a Case; ``device`` None picks cuda, then mps,
    then cpu; ``backend`` is "image" (PNG, works everywhere), "ipympl" (an interactive canvas: needs
    ipympl in the front end, and Colab's custom widget manager on Colab) or "auto" (ipympl under
    ``%matplotlib widget``); ``precompute`` trains every run one control move away in the
    background; ``runs`` (Histories of this case and seed already trained) fill the cache.
    """

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
            self.case, seed, device, precompute=precompute, runs=runs, on_event=self._on_event
        )
        allowed = ", ".join(map(repr, BACKENDS))
        require(backend in BACKENDS, "backend", backend, allowed, "not allowed")
        self.backend = _pick_backend(backend)
        self.view = self.case.view  # per step/epoch and y scale of the loss plot
        self.errors: list[str] = []  # every error shown in the panel
        self.alt = ""  # the text alternative of the plot now shown
        self._specs = self.case.knob_specs()
        self._labels = self.case.knob_labels()
        self._defaults = {n: getattr(self.case.defaults, n) for n in self._specs}
        self._action = ""  # what the last fix or reset button changed, shown until the next change
        self._draw_lock = threading.Lock()  # one drawing at a time (matplotlib is not thread-safe)
        self._holding = False  # True while code sets the controls: no run per control
        self._status_text = ""  # the status line without its notes
        self._judged: tuple[History, Verdict] | None = None  # the last run judged, and its verdict
        self._build_widgets()
        self._request()

    seed = property(lambda self: self.runner.seed, doc="Seed of every run.")
    device = property(lambda self: self.runner.device, doc="The torch.device runs train on.")
    cache = property(lambda self: self.runner.cache, doc="Histories by ``runner.key``.")
    calls = property(lambda self: self.runner.calls, doc="Knobs of every training run started.")
    history = property(lambda self: self.runner.history, doc="The run now drawn.")
    ghost = property(lambda self: self.runner.previous, doc="The run drawn before it, faded.")
    figure = property(lambda self: self._figure, doc="The matplotlib Figure the panel draws on.")

    @property
    def knobs(self) -> dict[str, Any]:
        """Return the knob values the controls show now."""
        return {n: read(self._specs[n][0], w) for n, w in self.controls.items()}

    def checkbox_help(self) -> dict[str, str]:
        """Return each checkbox's words -> its help (ipywidgets 7 puts none in the page; the page
        script, ``widgetcompat.mends_js``, gives it, and names each slider handle by its label)."""
        if not IPYWIDGETS_7:
            return {}
        return {
            self.controls[n].description: help_text
            for n, (_, help_text) in self._specs.items()
            if isinstance(self.controls[n], widgets.Checkbox) and help_text
        }

    def set(self, **knobs: Any) -> None:
        """Set several controls at once (checked first), then run once."""
        self._set(knobs, action="")

    def apply_fix(self, name: str) -> None:
        """Show fix or try ``name``: the failing defaults with its overrides; the status says what
        changed, the verdict what the run shows (a try is fixed only if the criteria say so)."""
        overrides = self.case.overrides(name)
        target = self._defaults | overrides
        self.case.knobs(**target)  # a bad fix is reported before anything moves
        before = self.knobs
        changed = self._changes(before, overrides)
        restored = self._changes(before, {n: v for n, v in target.items() if n not in overrides})
        action = f"{'fix' if name in self.case.fixes else 'try'} “{html.escape(name)}”: " + (
            "; ".join(changed) or "its knobs were already set"
        )
        if restored:
            action += " · put back to the failing defaults: " + "; ".join(restored)
        self._set(target, action)

    def reset(self) -> None:
        """Go back to the failing defaults; the status says which knobs moved back."""
        restored = "; ".join(self._changes(self.knobs, self._defaults))
        self._set(dict(self._defaults), "reset: " + (restored or "already at the failing defaults"))

    def wait(self, timeout: float | None = None, precompute: bool = False) -> History | None:
        """Block until the latest change is drawn (and, with ``precompute``, the grid is trained);
        return the History. Raises TimeoutError after ``timeout`` seconds."""
        return self.runner.wait(timeout, precompute=precompute)

    def coverage(self) -> tuple[int, int]:
        """Return (control moves already trained, all control moves) from the knobs shown now."""
        return self.runner.coverage()

    def close(self, timeout: float | None = None) -> None:
        """Stop training and precomputing at the next epoch; the widgets stay."""
        self.runner.close(timeout)

    def _set(self, knobs: dict[str, Any], action: str) -> None:
        checked = dataclasses.asdict(self.case.knobs(**knobs))  # a bad knob raises first
        self._holding = True
        try:
            for name in knobs:
                show(self._specs[name][0], self.controls[name], checked[name], self._defaults[name])
        finally:
            self._holding = False
        self._action = action
        self._request()

    # ---- widgets ----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.controls = {
            n: control(n, spec, help_text, self._defaults[n], self._defaults[n], self._labels[n])
            for n, (spec, help_text) in self._specs.items()
        }
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.fix_buttons = {}
        for kind, group in (("fix", self.case.fixes), ("try", self.case.tries)):
            for name, overrides in group.items():
                what = "; ".join(self._words(n, v) for n, v in overrides.items())
                tip = f"sets {what}; every other knob back to the failing defaults"
                tip += "" if kind == "fix" else f" ({TRY_NOTE})"
                self.fix_buttons[name] = self._button(f"{kind}: {name}", tip, self.apply_fix, name)
        words, tip = "reset to the failing defaults", "every knob back to the failing defaults"
        self.reset_button = self._button(words, tip, self.reset)
        self.reset_button.button_style = "warning"
        self.progress = widgets.IntProgress(
            max=1,
            description="training",
            style=STYLE,
            layout=LAYOUT | {"visibility": "hidden"},
            **tooltip("how much of the run now training is done"),
        )
        self.status = html_widget(layout={"max_width": LAYOUT["max_width"]})
        self.error = html_widget(layout={"display": "none"})
        self._figure, self.plot = self._make_plot()
        self.key = html_widget(layout={"max_width": "100%"})  # page text under the plots
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
        # beside the controls while the cell has room for PLOT_MIN_PX of plot, else under them
        plot_column = widgets.VBox(
            [self.plot, self.key],
            layout={
                "flex": f"1 1 {PLOT_MIN_PX}px",
                "min_width": f"min({PLOT_MIN_PX}px, 100%)",
                "max_width": f"{round(FIGSIZE[0] * DPI)}px",
            },
        )
        row = {"display": "flex", "flex_flow": "row wrap", "align_items": "flex-start"}
        body = widgets.Box([controls, plot_column], layout=row | {"max_width": "100%"})
        self.widget = widgets.VBox(
            [title, body, buttons, self.status, self.error, style],
            layout={"max_width": "100%", "overflow": "hidden"},
        )

    def _button(self, words: str, tip: str, fn: Any, *args: Any) -> widgets.Button:
        button = widgets.Button(description=words, layout={"width": "auto"}, tooltip=tip)
        button.on_click(lambda _b: self._guarded(fn, *args))
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
        """Run a callback, showing any error in the panel (a callback's traceback would be lost)."""
        try:
            fn(*args)
        except Exception as exc:
            self._show_error(f"{type(exc).__name__}: {exc}")

    def _on_change(self, _change: dict) -> None:
        if not self._holding:
            self._action = ""  # the learner moved a control: the last button's note goes
            self._guarded(self._request)

    def _request(self) -> None:
        self.runner.request(**self.knobs)

    # ---- what the runner reports --------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """Draw and write what the runner reports (an error raised here comes back as an "error"
        event)."""
        if event.kind == "training":
            self._set_progress(0, event.total, "visible")
            self._set_status(f"training {self._describe(event.knobs)} …")
        elif event.kind == "progress":
            self._set_progress(event.done, event.total)
        elif event.kind == "live":
            with self._draw_lock:
                if event.knobs == self.runner.knobs:  # not a run a newer request replaced
                    self._draw(event.history, self.history, live=True)
        elif event.kind == "result":
            with self._draw_lock:
                if event.history is not self.history:
                    return  # a newer answer came in meanwhile; its own event draws it
                self._draw(event.history, self.ghost, live=False)
                self._show_error("")
                self._set_progress(0, 1, "hidden")
                self._set_status(self._summary(event.history, event.note))
        elif event.kind == "precompute":
            ahead = event.note
            if event.knob:
                values = ", ".join(value_words(self._specs[event.knob][0], v) for v in event.values)
                ahead = f"{self._labels[event.knob]} = {values}"
            self._set_note(
                f"training ahead in the background ({event.done} of {event.total} next moves "
                f"ready): {html.escape(ahead)}"
            )
        elif event.kind == "precomputed":
            ready, total = self.runner.coverage()
            every = "every next move is ready: any control or fix button redraws at once"
            self._set_note(every if ready == total else f"{ready} of {total} next moves ready")
        elif event.kind == "error":
            self._show_error(event.message)

    # ---- drawing ------------------------------------------------------------------------------
    def _draw(self, history: History, ghost: History | None, live: bool) -> None:
        fig, view = self._figure, self.view
        loss_ax, second_ax = fig.axes
        for ax in fig.axes:
            _clear(ax)
        drawn = bool(history.train_loss or history.step_loss)
        runs = [(history, 1.0, "now")] if drawn else []
        if ghost is not None and ghost is not history:
            runs.insert(0, (ghost, GHOST_ALPHA, "the run before"))
        for run, alpha, name in runs:
            style = {"alpha": alpha, "labels": [name], "legend": False}
            scale = view.scale if alpha == 1.0 else "linear"
            plots.plot_loss(run, loss_ax, per=view.per, scale=scale, **style)
            if view.second == "metric":
                plots.plot_metric(run, second_ax, **style)
            else:
                plots.plot_curve(run, view.second, second_ax, ylabel=view.second_title, **style)
        for ax in fig.axes:
            # each plot's title names its curve; a y label beside tick labels as wide as "0.708"
            # (a log axis over a narrow range) ran off the figure's left edge
            ax.set_ylabel("")
            # the axes fit the run now shown; the faded run before it may run off them
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
        title = (
            history.metric_name if view.second == "metric" else (view.second_title or view.second)
        )
        title += " · training…" if live else ""
        second_ax.set_title(textwrap.fill(title, TITLE_CHARS), fontsize="medium")  # two lines
        judged = str(self._verdict(history)) if drawn and not live else ""
        judged = judged[:1].upper() + judged[1:] + ". " if judged else ""
        self.alt = judged + plots.describe_figure(fig)
        if self.backend == "ipympl":
            fig.canvas.draw_idle()
            return
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})  # fast
        self.png = buffer.getvalue()
        self.plot.value = (
            f'<img src="data:image/png;base64,{base64.b64encode(self.png).decode("ascii")}" '
            f'alt="{html.escape(self.alt, quote=True)}" '
            'style="max-width:100%;height:auto;display:block">'
        )

    # ---- status, progress, errors ----------------------------------------------------------------
    def _words(self, name: str, value: Any) -> str:
        """Return a knob and its value in words: "learning rate 0.1"."""
        return f"{self._labels[name]} {value_words(self._specs[name][0], value)}"

    def _changes(self, before: dict[str, Any], target: dict[str, Any]) -> list[str]:
        """Return "learning rate 0.1 → 0.01" for each knob of ``target`` not as in ``before``."""
        return [
            f"{self._words(n, before[n])} → {value_words(self._specs[n][0], v)}"
            for n, v in target.items()
            if before[n] != v
        ]

    def _describe(self, knobs: dict[str, Any]) -> str:
        changed = [self._words(n, v) for n, v in knobs.items() if v != self._defaults[n]]
        return "with " + ", ".join(changed) if changed else "at the failing defaults"

    def _verdict(self, history: History) -> Verdict:
        """Judge each run once: the alt text and the status share it."""
        if self._judged is None or self._judged[0] is not history:
            self._judged = (history, verdict(history, criteria=self.case.criteria()))
        return self._judged[1]

    def _summary(self, history: History, note: str) -> str:
        diverged = (
            f" · <b style='color:#b00'>diverged to NaN/inf at step {history.diverged_step}</b>"
            if history.diverged
            else ""
        )
        knobs = {n: history.knobs.get(n, v) for n, v in self._defaults.items()}
        # the one judge, as the lessons and diagnose
        verdict_html = self._verdict(history).html()
        return f"Run {self._describe(knobs)} ({NOTES.get(note, note)}): {verdict_html}{diverged}"

    def _set_status(self, text: str) -> None:  # under the last button's note
        self._status_text = f"{self._action}<br>{text}" if self._action else text
        self.status.value = self._status_text

    def _set_note(self, text: str) -> None:
        self.status.value = self._status_text + _GREY.format(text)

    def _set_progress(self, value: int, total: int, visibility: str = "") -> None:
        if visibility:
            self.progress.layout.visibility = visibility
        self.progress.max = max(1, int(total))
        self.progress.value = min(int(value), self.progress.max)

    def _show_error(self, message: str = "") -> None:
        """Show ``message`` under the status line and keep it in ``errors``; "" hides the error."""
        if message:
            self.errors.append(message)
        style = "color:#b00;white-space:pre-wrap"
        self.error.value = f"<pre style='{style}'>{html.escape(message)}</pre>" if message else ""
        self.error.layout.display = None if message else "none"


def _figure() -> Figure:
    """Return the panel's figure: loss (left) and metric (right), laid out once (tight_layout per
    draw is slow)."""
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
    if ax.get_legend() is not None:
        ax.get_legend().remove()


def _pick_backend(backend: str) -> str:
    if backend == "auto":
        name = matplotlib.get_backend().lower()
        return "ipympl" if ("ipympl" in name or "widget" in name) else "image"
    if backend == "ipympl":
        try:
            import ipympl  # noqa: F401
        except ImportError as exc:
            raise ValueError(
                "backend='ipympl' needs the ipympl package (pip install ipympl); "
                "allowed without it: 'auto', 'image'"
            ) from exc
    return backend


explore = Panel  # ``labkit.explore(case, ...)``: a Panel over ``case``, shown as a cell's last line
