"""``labkit.explore``: an ipywidgets panel over one case: widgets -> ``labkit.runner`` -> plot.

One control per knob, one button per fix and a reset. A change asks the panel's ``Runner`` for a run
(it trains in a background thread, so the notebook stays usable; a newer change cancels a run in
progress; results are cached by knob values; the ``lr``/``eps`` slider positions around the current
values are trained ahead) and the panel draws what the runner reports: the new run with the previous
one as a faded ghost, the curves of a long run while it trains, progress, status and errors. How a
case's loss is drawn (per step or epoch, y scale) comes from ``case.view``.

Plots are PNG images in an ``ipywidgets.Image`` by default: that renders in every front end
(JupyterLab, Binder, Colab, VS Code). ``backend="ipympl"`` draws on an interactive canvas instead;
"auto" picks it only when the notebook already runs ``%matplotlib widget``.
"""

from __future__ import annotations

import html
import io
import threading
from typing import Any, Iterable

import ipywidgets as widgets
import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import cases, plots
from .cases.base import Case
from .controls import control, read
from .history import History
from .runner import Event, Runner

BACKENDS = ("auto", "image", "ipympl")
GHOST_ALPHA = 0.3
DPI = 80
FIGSIZE = (8, 3.3)  # inches: 640 px wide at DPI, beside 340 px of controls


class Panel:
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
        Train the ``lr``/``eps`` slider positions around the current values in the background.
    runs:
        Histories of this case and seed already trained (e.g. earlier in the lesson): they fill the
        cache, so the panel shows them without training again.
    """

    def __init__(self, case: str | Case, seed: int = 0, device: Any = None, backend: str = "auto",
                 precompute: bool = True, runs: Iterable[History] = ()) -> None:
        self.case = case if isinstance(case, Case) else cases.get(case)
        # checks seed, device, precompute and runs; reports to _on_event once a request is made
        self.runner = Runner(self.case, seed=seed, device=device, precompute=precompute, runs=runs,
                             on_event=self._on_event)
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r} is not allowed; allowed: {', '.join(map(repr, BACKENDS))}")
        self.backend = _pick_backend(backend)
        self.view = self.case.view  # per step/epoch and y scale of the loss plot
        self.errors: list[str] = []  # every error shown in the panel
        self._specs = self.case.knob_specs()
        self._defaults = {n: getattr(self.case.defaults, n) for n in self._specs}
        self._draw_lock = threading.Lock()  # one drawing at a time (matplotlib is not thread-safe)
        self._holding = False
        self._status_text = ""
        self._build_widgets()
        self._request()

    # ---- public API -------------------------------------------------------------------------
    seed = property(lambda self: self.runner.seed, doc="Seed of every run.")
    device = property(lambda self: self.runner.device, doc="The torch.device runs train on.")
    cache = property(lambda self: self.runner.cache, doc="Histories by knob values (``runner.key``).")
    calls = property(lambda self: self.runner.calls, doc="Knobs of every training run started, in order.")
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
        self.case.knobs(**knobs)  # ValueError/TypeError naming the knob before anything changes
        self._holding = True
        try:
            for name, value in knobs.items():
                self.controls[name].value = value
        finally:
            self._holding = False
        self._request()

    def apply_fix(self, name: str) -> None:
        """Show fix ``name``: the failing defaults with the fix's overrides."""
        self.set(**(self._defaults | self.case.fix(name)))

    def reset(self) -> None:
        """Go back to the failing defaults."""
        self.set(**self._defaults)

    def wait(self, timeout: float | None = None, precompute: bool = False) -> History | None:
        """Block until the latest change is drawn (and, with ``precompute``, the grid is trained); return the History.

        Raises TimeoutError after ``timeout`` seconds.
        """
        return self.runner.wait(timeout, precompute=precompute)

    def close(self, timeout: float | None = None) -> None:
        """Stop training and precomputing (a run in progress stops at its next epoch); the widgets stay."""
        self.runner.close(timeout)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ---- widgets ----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.controls = {n: control(n, spec, help_text, self._defaults[n])
                         for n, (spec, help_text) in self._specs.items()}
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.fix_buttons = {}
        for name in self.case.fixes:
            button = widgets.Button(description=f"fix: {name}", tooltip=f"apply {name}: {self.case.fixes[name]}",
                                    layout={"width": "auto"})
            button.on_click(lambda _b, n=name: self._guarded(self.apply_fix, n))
            self.fix_buttons[name] = button
        self.reset_button = widgets.Button(description="reset to the failing defaults", button_style="warning",
                                           layout={"width": "auto"})
        self.reset_button.on_click(lambda _b: self._guarded(self.reset))
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="training", layout={"width": "330px"})
        self.status = widgets.HTML()
        self.error = widgets.HTML(layout={"display": "none"})
        self._figure, self.plot = self._make_plot()
        controls = widgets.VBox(list(self.controls.values()) + [self.progress],
                                layout={"min_width": "340px", "flex": "0 0 auto"})  # never squeezed by the plot
        buttons = widgets.HBox(list(self.fix_buttons.values()) + [self.reset_button],
                               layout={"flex_flow": "row wrap"})
        title = widgets.HTML(f"<b>{html.escape(self.case.title)}</b>")
        self.widget = widgets.VBox([title, widgets.HBox([controls, self.plot]), buttons, self.status, self.error])

    def _make_plot(self) -> tuple[Figure, widgets.DOMWidget]:
        if self.backend == "ipympl":
            from ipympl.backend_nbagg import Canvas, FigureManager

            figure = _figure()
            canvas = Canvas(figure)
            FigureManager(canvas, 0)
            canvas.header_visible = False
            return figure, canvas
        figure = _figure()
        FigureCanvasAgg(figure)
        return figure, widgets.Image(format="png", layout={"width": f"{FIGSIZE[0] * DPI}px", "max_width": "100%",
                                                           "height": "auto"})

    def _guarded(self, fn: Any, *args: Any) -> None:
        """Run a callback, showing any error in the panel instead of losing it."""
        try:
            fn(*args)
        except Exception as exc:  # shown, not raised: a button callback's traceback would be lost
            self._show_error(f"{type(exc).__name__}: {exc}")

    def _on_change(self, _change: dict) -> None:
        if not self._holding:
            self._guarded(self._request)

    def _request(self) -> None:
        self.runner.request(**self.knobs)

    # ---- what the runner reports ------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        """Draw and write what the runner reports (an error raised here comes back as an "error" event)."""
        if event.kind == "training":
            self._set_progress(0, event.total)
            self._set_status(f"training {self._describe(event.knobs)} …")
        elif event.kind == "progress":
            self._set_progress(event.done, event.total)
        elif event.kind == "live":
            with self._draw_lock:
                if event.knobs == self.runner.knobs:  # not a run a newer request just replaced (drawn already)
                    self._draw(event.history, self.history, live=True)
        elif event.kind == "result":
            with self._draw_lock:
                if event.history is not self.history:
                    return  # a newer answer came in meanwhile; its own event draws it
                self._draw(event.history, self.ghost, live=False)
                self._clear_error()
                self._set_status(self._summary(event.history, event.note))
        elif event.kind == "precompute":
            self._set_status(f"{self._status_text} · precomputing {event.knob} = "
                             f"{', '.join(f'{v:.2g}' for v in event.values)} in the background", keep=True)
        elif event.kind == "precomputed":
            self._set_status(self._status_text, keep=True)
        elif event.kind == "error":
            self._show_error(event.message)

    # ---- drawing ------------------------------------------------------------------------------
    def _draw(self, history: History, ghost: History | None, live: bool) -> None:
        fig = self._figure
        per, scale = self.view.per, self.view.scale
        loss_ax, metric_ax = fig.axes
        for ax in (loss_ax, metric_ax):
            _clear(ax)
        if ghost is not None and ghost is not history:
            plots.plot_loss(ghost, loss_ax, per=per, scale="linear", alpha=GHOST_ALPHA, labels=["previous"])
            plots.plot_metric(ghost, metric_ax, alpha=GHOST_ALPHA, labels=["previous"])
        if history.train_loss or history.step_loss:
            plots.plot_loss(history, loss_ax, per=per, scale=scale, labels=["now"] if ghost is not None else None)
            plots.plot_metric(history, metric_ax, labels=["now"] if ghost is not None else None)
        for ax in (loss_ax, metric_ax):
            ax.relim()
            ax.autoscale_view()
        loss_ax.set_title("loss (faded: previous run)" if ghost is not None else "loss", fontsize="medium")
        metric_ax.set_title(history.metric_name + (" · training…" if live else ""), fontsize="medium")
        if self.backend == "ipympl":
            fig.canvas.draw_idle()
        else:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=DPI)
            self.plot.value = buffer.getvalue()

    # ---- status, progress, errors ----------------------------------------------------------------
    def _describe(self, knobs: dict[str, Any]) -> str:
        changed = {n: v for n, v in knobs.items() if v != self._defaults[n]}
        zero = {n: getattr(spec, "zero", "") for n, (spec, _h) in self._specs.items()}  # IntRange: 0 in words
        return "at the failing defaults" if not changed else "with " + ", ".join(
            f"{n}={v:.3g}" if isinstance(v, float) else f"{n}: {zero[n]}" if v == 0 and zero.get(n)
            else f"{n}={v}" for n, v in changed.items())

    def _summary(self, history: History, note: str) -> str:
        checks = self.case.symptom_checks(history)
        ticks = "; ".join(f"{'✔' if ok else '✘'} {html.escape(name)}" for name, ok in checks.items())
        verdict = ("<b style='color:#b00'>the failure is there</b>" if all(checks.values())
                   else "<b style='color:#070'>the failure is gone</b>")  # a check alone (e.g. "loss falls") is no failure
        diverged = (f" · <b style='color:#b00'>diverged to NaN/inf at step {history.diverged_step}</b>"
                    if history.diverged else "")
        return f"{self._describe({n: history.knobs.get(n, v) for n, v in self._defaults.items()})} ({note}): {verdict} — {ticks}{diverged}"

    def _set_status(self, text: str, keep: bool = False) -> None:
        if not keep:
            self._status_text = text
        self.status.value = text

    def _set_progress(self, value: int, total: int) -> None:
        self.progress.max = max(1, int(total))
        self.progress.value = min(int(value), self.progress.max)

    def _show_error(self, message: str) -> None:
        self.errors.append(message)
        self.error.value = f"<pre style='color:#b00;white-space:pre-wrap'>{html.escape(message)}</pre>"
        self.error.layout.display = None

    def _clear_error(self) -> None:
        self.error.value = ""
        self.error.layout.display = "none"


def _figure() -> Figure:
    """Return the panel's figure: loss (left) and metric (right), laid out once (tight_layout per draw is slow)."""
    figure = Figure(figsize=FIGSIZE, dpi=DPI)
    figure.subplots(1, 2)
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.9, wspace=0.25)
    return figure


def _clear(ax: Axes) -> None:
    """Remove the curves, marks and legend of ``ax`` but keep its axes and ticks (``cla`` rebuilds them:
    a slider move over the precomputed grid took 0.08 s with it, 0.055-0.062 s without)."""
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
                raise ValueError("backend='ipympl' needs the ipympl package (pip install ipympl); "
                                 "allowed without it: 'auto', 'image'") from exc
        return backend
    name = matplotlib.get_backend().lower()
    return "ipympl" if ("ipympl" in name or "widget" in name) else "image"


def explore(case: str | Case, seed: int = 0, device: Any = None, backend: str = "auto",
            precompute: bool = True, runs: Iterable[History] = ()) -> Panel:
    """Return a Panel over ``case`` (display it as a cell's last line); see Panel for the arguments."""
    return Panel(case, seed=seed, device=device, backend=backend, precompute=precompute, runs=runs)
