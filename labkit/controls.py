"""One ipywidget per knob spec, labelled in words, and the knob value read back from it. Each
control stops where ``labkit.moves`` says (the positions the runner trains ahead)."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from .knobs import IntRange, label, option_words
from .moves import kind, linear_step, log_positions, nearest
from .widgetcompat import tooltip

__all__ = ["CSS", "control", "read", "show"]

# A control is 420 px (+ ipywidgets' 2 px margin each side): a 160 px label and ~250 px of slider or
# dropdown, room for the longest option in words ("random windows (they overlap)") uncut.
STYLE = {"description_width": "160px"}
LAYOUT = {"width": "420px", "max_width": "calc(100% - 4px)"}
# For a panel's column of controls (class "labkit-controls"): a label longer than 160 px takes two
# lines instead of being cut; in a column squeezed below its 430 px each label goes above its
# control, so a dropdown shows its option uncut and a slider keeps its track (a container query).
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


def _log_stops(spec: Any, value: float, default: Any) -> tuple[list[tuple[str, float]], float]:
    """Return a log slider's options (readout 0.04, 0.0018, 1e-07; the case's ``default`` and
    ``value`` among the positions) and its position for ``value``."""
    positions = log_positions(spec, value if default is None else default, value)
    return [(f"{v:.2g}", v) for v in positions], positions[nearest(positions, value)]


def control(
    name: str, spec: Any, help_text: str, value: Any, default: Any = None, words: str = ""
) -> widgets.ValueWidget:
    """Return the widget for knob ``name`` of ``spec`` set to ``value`` (already checked), labelled
    ``words`` (default: ``labkit.knobs.label``), ``help_text`` as tooltip; a log slider keeps the
    case's ``default`` as a position."""
    common = dict(
        description=words or label(name, spec), style=STYLE, layout=LAYOUT, **tooltip(help_text)
    )
    control_kind = kind(spec)
    if control_kind == "checkbox":
        return widgets.Checkbox(value=value, indent=False, **common)
    if control_kind == "dropdown":
        options = [(option_words(o), o) for o in spec.options]
        return widgets.Dropdown(value=value, options=options, **common)
    common["continuous_update"] = False
    if control_kind == "log slider":
        options, value = _log_stops(spec, value, default)
        return widgets.SelectionSlider(options=options, value=value, **common)
    if control_kind == "words slider":  # 0 shown in words
        options = [(spec.zero, 0)] + [(str(i), i) for i in range(1, spec.high + 1)]
        return widgets.SelectionSlider(options=options, value=value, **common)
    bounds = dict(value=value, min=spec.low, max=spec.high, **common)
    if control_kind == "slider":
        return widgets.FloatSlider(step=linear_step(spec), readout_format=".3g", **bounds)
    return (widgets.IntSlider if control_kind == "int slider" else widgets.BoundedIntText)(**bounds)


def show(spec: Any, widget: widgets.ValueWidget, value: Any, default: Any = None) -> None:
    """Set ``widget`` to knob value ``value``; a log slider's positions are remade around it, so a
    value set from code (``panel.set(lr=0.05)``) is a position and the next stops stay the ones the
    runner trains ahead."""
    if kind(spec) == "log slider":
        options, value = _log_stops(spec, value, default)
        if [v for _, v in widget.options] != [v for _, v in options]:
            with widget.hold_trait_notifications():
                widget.options = options
    widget.value = value


def read(spec: Any, widget: widgets.ValueWidget) -> Any:
    """Return the knob value shown by ``widget``."""
    if isinstance(spec, IntRange):
        return int(widget.value)
    if kind(spec) in ("log slider", "slider"):
        return min(max(float(widget.value), spec.low), spec.high)
    return widget.value
