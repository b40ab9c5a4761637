"""One ipywidget per knob spec, and the knob value read back from it; panels.py lays them out.

Log sliders move in ``LOG_STEP`` (quarter decades: 1e-3, 1.8e-3, 3.2e-3, 5.6e-3, 1e-2), the positions
labkit.runner trains ahead.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets

from .knobs import Choice, Flag, FloatRange, IntRange
from .runner import LOG_STEP  # log sliders stop where the runner precomputes

SLIDER_MAX_SPAN = 500  # int knobs with a wider range get a text box: a slider cannot hit 1..50000 exactly
LINEAR_STEPS = 90  # positions of a linear slider (dropout 0..0.9 in steps of 0.01)
STYLE = {"description_width": "initial"}  # show the whole knob name, not a truncated one
LAYOUT = {"width": "330px"}


def control(name: str, spec: Any, help_text: str, value: Any) -> widgets.ValueWidget:
    """Return the widget for one knob, set to ``value``.

    Parameters
    ----------
    name:
        Knob name, used as the description.
    spec:
        The knob's FloatRange, IntRange, Choice or Flag.
    help_text:
        Shown as the tooltip.
    value:
        Starting value (already checked by the case).
    """
    common = dict(description=name, tooltip=help_text, style=STYLE, layout=LAYOUT)
    if isinstance(spec, FloatRange) and spec.log:
        low, high = math.log10(spec.low), math.log10(spec.high)
        return widgets.FloatLogSlider(value=value, base=10, min=low, max=high, step=LOG_STEP,
                                      readout_format=".2e", continuous_update=False, **common)
    if isinstance(spec, FloatRange):
        return widgets.FloatSlider(value=value, min=spec.low, max=spec.high, step=(spec.high - spec.low) / LINEAR_STEPS,
                                   readout_format=".3g", continuous_update=False, **common)
    if isinstance(spec, IntRange) and spec.zero and spec.low == 0 and spec.high <= SLIDER_MAX_SPAN:
        options = [(spec.zero, 0)] + [(str(i), i) for i in range(1, spec.high + 1)]  # 0 shown in words
        return widgets.SelectionSlider(options=options, value=value, continuous_update=False, **common)
    if isinstance(spec, IntRange) and spec.high - spec.low <= SLIDER_MAX_SPAN:
        return widgets.IntSlider(value=value, min=spec.low, max=spec.high, continuous_update=False, **common)
    if isinstance(spec, IntRange):
        return widgets.BoundedIntText(value=value, min=spec.low, max=spec.high, continuous_update=False, **common)
    if isinstance(spec, Choice):
        return widgets.Dropdown(value=value, options=list(spec.options), **common)
    if isinstance(spec, Flag):
        return widgets.Checkbox(value=value, indent=False, **common)
    raise TypeError(f"knob {name!r} has spec {type(spec).__name__}; allowed: FloatRange, IntRange, Choice, Flag")


def read(spec: Any, widget: widgets.ValueWidget) -> Any:
    """Return the knob value shown by ``widget`` (a log slider's 10**x is clamped back into range)."""
    if isinstance(spec, FloatRange):
        return min(max(float(widget.value), spec.low), spec.high)
    if isinstance(spec, IntRange):
        return int(widget.value)
    return widget.value
