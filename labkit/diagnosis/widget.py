"""Lesson 06's paste box: paste a log or a printout, press the button, read the findings and the
plot. The answer and the plot are HTML widgets, not Outputs: JupyterLab at times dropped text
printed into an Output (issue 21), and classic Notebook 6.5.7 with ipywidgets 7 (closest to Colab's)
draws none."""

from __future__ import annotations

import html
import re
import warnings
from typing import Any

from .finding import WRAP, P

FRAME = f'<div style="{WRAP}">{{}}</div>'
MUTED = '<p style="margin:6px 0;color:var(--jp-ui-font-color2,#666)">'
EMPTY = f"{P}Paste a log into the box first, then press <b>Diagnose</b>.</p>"


def unreadable_html(message: str) -> str:
    """Return why the text could not be read, in words, with the start of what was pasted."""
    # the argument's name means nothing here
    message = re.sub(r"^run \(text\)\s*:?\s*", "", message.strip())
    reason, found, pasted = message.partition("; found\n")
    reason = reason[:1].upper() + reason[1:]
    quoted = ""
    if found:
        lines = "\n".join(line.strip() for line in pasted.splitlines())
        quoted = (
            f'{P}The start of what you pasted:</p><blockquote style="margin:4px 0 4px 16px;'
            f'white-space:pre-wrap">{html.escape(lines)}</blockquote>'
        )
    return (
        f"{P}<b>Could not read it</b> as a training log. "
        f"{html.escape(reason.rstrip('.'))}.</p>{quoted}"
    )


def answer_html(findings: list[Any], description: str, notes: tuple[str, ...] | list[str]) -> str:
    """Return the answer to a paste that was read: the curves in a line, how the text was read, each
    finding's card or "No failure found"."""
    parts = [f"{P}<b>Your curves:</b> {html.escape(description.rstrip('.'))}.</p>"]
    if notes:
        parts.append(f"{MUTED}How the text was read: {html.escape('; '.join(notes))}.</p>")
    if findings:
        count = f"{len(findings)} findings, likeliest first" if len(findings) > 1 else "One finding"
        parts.append(f"{P}<b>{count}:</b></p>")
        parts += [f._repr_html_() for f in findings]
    else:
        parts.append(
            f"{P}<b>No failure found</b> in these curves: none of the documented failures "
            "matches them.</p>"
        )
    return "".join(parts)


def paste_box(rows: int = 12) -> Any:
    """Return an ipywidgets box: a Textarea (``rows`` lines) to paste a log into, a "Diagnose"
    button, the answer (HTML widget ``box.answer``: the findings, or why the text could not be read)
    and the curves (HTML widget ``box.plot``: the image and its text version)."""
    try:
        import ipywidgets as widgets
    except ImportError as e:  # Binder and Colab ship ipywidgets; a bare Python may not
        raise ImportError("paste_box needs ipywidgets: pip install ipywidgets") from e
    from matplotlib.figure import Figure

    from ..plots import render
    from ..widgetcompat import html_widget
    from .judge import LogReadWarning, diagnose
    from .logs import load_run
    from .plot import describe, plot_findings

    wide = widgets.Layout(width="98%")  # 100% + its margin overflows the cell
    text = widgets.Textarea(
        placeholder="Paste a log here: Keras output, a PyTorch printout, a CSV or JSON log ...",
        layout=wide,
        rows=rows,
    )
    button = widgets.Button(description="Diagnose", button_style="primary")
    answer, plot = html_widget(layout=wide), html_widget(layout=wide)

    # a widget's value: shown in a kernel's front end, readable in a test
    def say(body: str) -> None:
        answer.value = FRAME.format(body)

    def run(_: Any = None) -> None:
        plot.value = ""
        if not text.value.strip():
            say(EMPTY)
            return
        try:
            with warnings.catch_warnings():  # the answer says how the text was read itself
                warnings.simplefilter("ignore", LogReadWarning)
                curves = load_run(text.value)  # read once: the answer and the plot use it
                findings = diagnose(curves)
        except (ValueError, TypeError) as e:
            say(unreadable_html(str(e)))
            return
        # the answer first: it stays shown even if drawing the plot fails
        say(answer_html(findings, describe(curves), curves.notes))
        fig = Figure(figsize=(7, 3.5), layout="constrained")  # no pyplot: nothing shown twice
        ax = plot_findings(curves, findings, fig.add_subplot())
        plot.value = render(fig, ax.description)._repr_html_()  # with its text alternative

    button.on_click(run)
    box = widgets.VBox([text, button, answer, plot])
    box.run = run  # type: ignore[attr-defined]  # lets a test (or a notebook) press the button
    box.text, box.answer, box.plot = text, answer, plot  # type: ignore[attr-defined]
    return box
