"""A paste box for lesson 06: paste a log or a printout, press the button, read the findings and the plot."""

from __future__ import annotations

import warnings
from typing import Any


def paste_box(rows: int = 12) -> Any:
    """Return an ipywidgets box: a Textarea to paste a training log or printout into, a button, and an output
    area where ``diagnose(text)`` prints each finding (or why the text could not be read) and draws the curves.

    Parameters
    ----------
    rows:
        Height of the text box in lines.
    """
    try:
        import ipywidgets as widgets
    except ImportError as e:  # Binder and Colab ship ipywidgets; a bare Python may not
        raise ImportError("paste_box needs ipywidgets: pip install ipywidgets") from e
    import matplotlib.pyplot as plt

    from .advice import describe
    from .core import LogReadWarning, diagnose
    from .logs import load_run
    from ..plots import show
    from .plot import plot_findings

    text = widgets.Textarea(placeholder="Paste a log here: Keras output, a PyTorch printout, a CSV or JSON log ...",
                            layout=widgets.Layout(width="98%"), rows=rows)  # 100% + its margin overflows the cell
    button = widgets.Button(description="Diagnose", button_style="primary")
    out = widgets.Output()

    def say(message: str) -> None:  # append_stdout works in a kernel and outside one (tests)
        out.append_stdout(message + "\n")

    def run(_: Any = None) -> None:
        out.clear_output()
        if not text.value.strip():
            say("Paste a log into the box first.")
            return
        try:
            with warnings.catch_warnings():  # the box prints how the text was read itself, below
                warnings.simplefilter("ignore", LogReadWarning)
                findings = diagnose(text.value)
        except (ValueError, TypeError) as e:
            say(f"Could not read it: {e}")
            return
        say(describe(text.value))
        for note in load_run(text.value).notes:
            say(f"(read: {note})")
        for f in findings:
            say(f"{f}\n")
        if not findings:
            say("No failure found in these curves.")
        with out:
            fig, ax = plt.subplots(figsize=(7, 3.5))
            plot_findings(text.value, findings, ax)
            show(fig, ax.description)  # with its text alternative

    button.on_click(run)
    box = widgets.VBox([text, button, out])
    box.run = run  # type: ignore[attr-defined]  # lets a test (or a notebook) press the button
    box.text, box.output = text, out  # type: ignore[attr-defined]
    return box
