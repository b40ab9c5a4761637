"""Widgets that make a learner think: ``predict`` before the key experiment (its ``verdict`` says
nothing of the result until the learner picks, and follows the pick, also after "Run All"),
``check`` a "your turn" answer, ``reference`` shows the reference answer kept in
``labkit/answers/<key>.md`` (so no cell gives it away), ``run_answer`` runs its Python block for a
check cell. None raises on a missing answer: a lesson run top to bottom goes on and says what is
missing. ``reopen_hint`` makes each widget of a reopened saved lesson say "run this cell again"
instead of "Error displaying widget: model not found" (a widget lives in its kernel).
"""

from __future__ import annotations

import html
import re
from importlib import resources
from typing import Any, Callable, Sequence

import ipywidgets as widgets

from .knobs import require
from .widgetcompat import ShowsWidget, html_widget, tooltip

# JupyterLab's widget renderer, finding no model, writes its error as plain text into the output's
# own node (class jupyter-widgets, no child element); a live widget always has child elements. Old
# browsers without :has() show the error as before.
_REOPENED_CSS = """<style>
.jp-OutputArea-output.jupyter-widgets:not(:has(*)) { font-size: 0; }
.jp-OutputArea-output.jupyter-widgets:not(:has(*))::after {
  content: "A widget was here: run this cell again to bring it back.";
  font-size: var(--jp-content-font-size1, 14px);
  color: var(--jp-ui-font-color2, #57606a);
}
</style>"""
NOT_ANSWERED = "Not answered yet: replace the ... with your answer, then run this cell again."
_PICK_FIRST = (
    "Pick an answer above: this line then says what the run shows and whether it agrees with you."
)


def _html(text: str, ok: bool | None) -> str:
    mark, color = {True: ("✔ ", "#1a7f37"), False: ("✘ ", "#b3261e"), None: ("", "#57606a")}[ok]
    return f"<span style='color:{color}'>{mark}{html.escape(text)}</span>"


class Prediction(ShowsWidget):
    """A multiple-choice question asked before an experiment; ``verdict`` compares the pick with the
    result (``predict`` makes one)."""

    def __init__(self, question: str, options: Sequence[str]) -> None:
        if not isinstance(question, str) or not question.strip():
            raise ValueError("question must be a non-empty str")
        options = list(options)
        ok = all(isinstance(o, str) and o for o in options) and len(set(options)) == len(options)
        if len(options) < 2 or not ok:
            raise ValueError(
                f"options must be two or more distinct non-empty strings, got {options!r}"
            )
        self.question, self.options = question, options
        self.choice = widgets.RadioButtons(
            options=options,
            value=None,
            description="your prediction",
            style={"description_width": "initial"},
            layout={"width": "max-content", "max_width": "100%"},
            **tooltip("the answer you expect before the run"),
        )
        self.widget = widgets.VBox(
            [html_widget(f"<b>Predict first.</b> {html.escape(question)}"), self.choice]
        )
        self._verdicts: list[tuple[widgets.HTML, str, str]] = []
        self.choice.observe(lambda _c: self._update(), names="value")

    @property
    def picked(self) -> str | None:
        return self.choice.value

    def verdict(self, actual: str, why: str = "") -> widgets.HTML:
        """Return a line that says whether the pick matches ``actual`` (one of the options), with
        ``why``."""
        allowed = ", ".join(map(repr, self.options))
        require(actual in self.options, "actual", actual, allowed, "not one of the options")
        line = html_widget()
        self._verdicts.append((line, actual, why))
        self._update()
        return line

    def _update(self) -> None:
        picked = self.picked
        for line, actual, why in self._verdicts:
            because = f" {why}" if why else ""
            if picked is None:  # the result stays hidden until a pick, also after Run All
                line.value = _html(_PICK_FIRST, None)
            elif picked == actual:
                line.value = _html(f"Your prediction held: {actual}.{because}", True)
            else:
                missed = f"You predicted “{picked}”; the run shows: {actual}.{because}"
                line.value = _html(missed, False)


def predict(question: str, options: Sequence[str]) -> Prediction:
    """Return a Prediction: display it before the experiment, call ``.verdict(actual)`` after."""
    return Prediction(question, options)


def check(answer: Any, test: Callable[[Any], bool], right: str, wrong: str) -> widgets.HTML:
    """Return feedback on ``answer``: ``right`` when ``test(answer)`` holds, else ``wrong`` (a
    hint).

    ``answer`` left as ``...`` (or None) is reported as not answered; an error raised by ``test`` is
    shown as a wrong answer with the error's text, so a typo never stops the notebook.
    """
    if answer is ... or answer is None:
        return html_widget(_html(NOT_ANSWERED, False))
    try:
        ok = bool(test(answer))
    except Exception as exc:  # shown, not raised: the learner's answer may be of any type
        return html_widget(
            _html(f"{wrong} (Checking your answer raised {type(exc).__name__}: {exc})", False)
        )
    return html_widget(_html(right if ok else wrong, ok))


def reopen_hint() -> None:
    """Display the invisible style, saved with the notebook, that says "run this cell again"."""
    from IPython.display import HTML, display

    display(HTML(_REOPENED_CSS))


def answer_text(key: str) -> str:
    """Return the reference answer stored as ``labkit/answers/<key>.md``."""
    ok = isinstance(key, str) and key and "/" not in key and "\\" not in key
    ok = ok and not key.startswith(".")
    require(ok, "key", key, "a file name in labkit/answers without .md", "not allowed")
    folder = resources.files("labkit") / "answers"
    path = folder / f"{key}.md"
    if not path.is_file():
        files = folder.iterdir() if folder.is_dir() else []
        known = sorted(p.name[:-3] for p in files if p.name.endswith(".md"))
        raise ValueError(
            f"key={key!r} has no reference answer; allowed: {', '.join(known) or '(none)'}"
        )
    return path.read_text(encoding="utf-8")


def run_answer(key: str, **names: Any) -> dict[str, Any]:
    """Run the ```python block of the reference answer ``key`` with ``names`` defined; return what
    it defines (a check cell compares with it without showing it). Only labkit's own answer files
    run (``answer_text`` allows no path), never a learner's text."""
    block = re.search(r"```python\n(.*?)```", answer_text(key), re.DOTALL)
    if block is None:
        raise ValueError(f"key={key!r}: its reference answer has no ```python block to run")
    namespace = dict(names)
    exec(compile(block.group(1), f"labkit/answers/{key}.md", "exec"), namespace)  # noqa: S102 (our own file)
    return namespace


def reference(key: str) -> widgets.VBox:
    """Return a button that shows the reference answer ``key`` when pressed (and hides it again)."""
    page = f"<pre style='white-space:pre-wrap'>{html.escape(answer_text(key))}</pre>"
    button = widgets.Button(
        description="Show the reference answer",
        tooltip="reveals one way to solve it",
        layout={"width": "auto"},
    )
    shown = html_widget(layout={"display": "none"})

    def toggle(_b: Any) -> None:
        hidden = shown.layout.display == "none"
        shown.value = page if hidden else ""
        shown.layout.display = None if hidden else "none"
        button.description = "Hide the reference answer" if hidden else "Show the reference answer"

    button.on_click(toggle)
    return widgets.VBox([button, shown])
