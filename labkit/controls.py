"""One ipywidget per knob spec, labelled in words, and the knob value read back from it; panels.py
lays them out.

Where each control can stop comes from ``labkit.moves`` (the positions the runner trains ahead):
log sliders stop at quarter decades (1e-3, 1.8e-3, 3.2e-3, 5.6e-3, 1e-2) with the case's default
among them, linear sliders on a round step, and an int knob whose 0 means something ("full batch",
"off") says so in words.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets

from .knobs import IntRange, label, option_words
from .moves import LOG_STEP, kind, linear_step, log_positions
from .widgetcompat import tooltip

__all__ = ["CSS", "LOG_STEP", "control", "read", "show"]

# A control is 420 px: a 160 px label (a longer one takes two lines, see CSS) and ~250 px of slider
# or dropdown, room for the longest option in words ("random windows (they overlap)") uncut.
STYLE = {"description_width": "160px"}
# ipywidgets adds a 2 px margin each side
LAYOUT = {"width": "420px", "max_width": "calc(100% - 4px)"}
# For a column of controls with the class "labkit-controls" (a panel's), in a <style> the panel
# carries: a label longer than its 160 px takes two lines instead of being cut; when the column is
# squeezed below its 430 px (a cell narrower than that) each label goes above its control, so a
# dropdown still shows its option uncut and a slider keeps its track (a CSS container query; a
# browser without them keeps the labels beside).
CSS = """<style>
.labkit-controls { container-type: inline-size; }
.labkit-controls .widget-inline-hbox:not(.widget-checkbox) {
  height: auto !important; min-height: var(--jp-widgets-inline-height, 28px); align-items: center;
}
.labkit-controls .widget-inline-hbox:not(.widget-checkbox) > .widget-label {
  white-space: normal; line-height: 1.25; height: auto;
}
.labkit-controls .widget-inline-hbox > select { min-height: var(--jp-widgets-inline-height, 28px); }
@container (max-width: 429px) {
  .labkit-controls .widget-inline-hbox:not(.widget-checkbox) { flex-wrap: wrap; }
  .labkit-controls .widget-inline-hbox:not(.widget-checkbox) > .widget-label {
    flex: 0 0 100%; width: auto !important; max-width: none !important; text-align: left;
  }
}
</style>"""


def number_words(value: float) -> str:
    """Return a log slider's readout: 0.04, 0.0018, 1e-07."""
    return f"{value:.2g}"


def control(
    name: str, spec: Any, help_text: str, value: Any, default: Any = None, words: str = ""
) -> widgets.ValueWidget:
    """Return the widget for one knob, set to ``value``.

    Parameters
    ----------
    name:
        Knob name (the label in words comes from ``labkit.knobs.label`` unless ``words`` is given).
    spec:
        The knob's FloatRange, IntRange, Choice or Flag.
    help_text:
        Shown as the tooltip ("" for none).
    value:
        Starting value (already checked by the case).
    default:
        The case's default: a log slider keeps it as a position (default: ``value``).
    """
    common = dict(
        description=words or label(name, spec), style=STYLE, layout=LAYOUT, **tooltip(help_text)
    )
    control_kind = kind(spec)
    if control_kind == "log slider":
        positions = log_positions(spec, value if default is None else default, value)
        options = [(number_words(v), v) for v in positions]
        return widgets.SelectionSlider(
            options=options, value=_nearest(positions, value), continuous_update=False, **common
        )
    if control_kind == "slider":
        return widgets.FloatSlider(
            value=value,
            min=spec.low,
            max=spec.high,
            step=linear_step(spec),
            readout_format=".3g",
            continuous_update=False,
            **common,
        )
    if control_kind == "words slider":
        # 0 shown in words
        options = [(spec.zero, 0)] + [(str(i), i) for i in range(1, spec.high + 1)]
        return widgets.SelectionSlider(
            options=options, value=value, continuous_update=False, **common
        )
    if control_kind == "int slider":
        return widgets.IntSlider(
            value=value, min=spec.low, max=spec.high, continuous_update=False, **common
        )
    if control_kind == "number box":
        return widgets.BoundedIntText(
            value=value, min=spec.low, max=spec.high, continuous_update=False, **common
        )
    if control_kind == "dropdown":
        return widgets.Dropdown(
            value=value, options=[(option_words(o), o) for o in spec.options], **common
        )
    return widgets.Checkbox(value=value, indent=False, **common)


def show(spec: Any, widget: widgets.ValueWidget, value: Any, default: Any = None) -> None:
    """Set ``widget`` to knob value ``value``; a log slider's positions become ``log_positions(spec,
    default, value)``.

    So a value set from code (``panel.set(lr=0.05)``) becomes a position, and the slider's next
    stops stay the ones ``labkit.moves`` plans (and the runner trains ahead).
    """
    if kind(spec) == "log slider":
        positions = log_positions(spec, value if default is None else default, value)
        if [v for _, v in widget.options] != positions:
            with widget.hold_trait_notifications():
                widget.options = [(number_words(v), v) for v in positions]
        value = _nearest(positions, value)
    widget.value = value


def read(spec: Any, widget: widgets.ValueWidget) -> Any:
    """Return the knob value shown by ``widget``."""
    if isinstance(spec, IntRange):
        return int(widget.value)
    if kind(spec) in ("log slider", "slider"):
        return min(max(float(widget.value), spec.low), spec.high)
    return widget.value


def _nearest(positions: list[float], value: float) -> float:
    return min(positions, key=lambda v: abs(math.log10(v / value)))
