"""Where a knob's control can go, and the runs one control move away from the knobs shown now.

The controls stop at these positions (``labkit.controls``) and the runner trains ahead the runs one
move away: a slider one or two positions either way, every other option of a dropdown, a toggled
checkbox, a number box one up or down, and every fix or try button. Widget-free.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

from .knobs import Choice, Flag, FloatRange, IntRange

LOG_STEP = 0.25  # log sliders move in quarter decades: 1e-3, 1.8e-3, 3.2e-3, 5.6e-3, 1e-2
# a linear slider has at least this many positions, on a round step (0.01 for 0..0.9)
LINEAR_STEPS = 90
# int knobs with a wider range get a number box: a slider cannot hit 1..50000 exactly
SLIDER_MAX_SPAN = 500
# a value this close to a log slider position replaces it (0.003 instead of 3.2e-3)
SNAP_DECADES = 0.1
# significant digits of float knobs in a cache key (a front end rounds 10**x its own way)
KEY_DIGITS = 4
REACH = 2  # a slider move is one or two positions either way
FIRST = ("lr", "eps")  # after the knob last moved and the fix buttons, what a learner touches first


def kind(spec: Any) -> str:
    """Return the control that shows a knob of ``spec``: "log slider", "slider", "int slider",
    "words slider" (0 in words), "number box", "dropdown" or "checkbox"."""
    if isinstance(spec, FloatRange):
        return "log slider" if spec.log else "slider"
    if isinstance(spec, IntRange):
        if spec.high - spec.low > SLIDER_MAX_SPAN:
            return "number box"
        return "words slider" if spec.zero and spec.low == 0 else "int slider"
    if isinstance(spec, Choice):
        return "dropdown"
    if isinstance(spec, Flag):
        return "checkbox"
    raise TypeError(
        f"spec {type(spec).__name__} is not allowed; allowed: FloatRange, IntRange, Choice, Flag"
    )


def log_positions(spec: FloatRange, *values: float) -> list[float]:
    """Return a log slider's positions: quarter decades across the range, ``values`` snapped in."""
    low, high = math.log10(spec.low), math.log10(spec.high)
    grid = [10 ** (low + i * LOG_STEP) for i in range(int(round((high - low) / LOG_STEP)) + 1)]
    for value in values:
        if value is None or not spec.low <= value <= spec.high:
            continue
        near = nearest(grid, value)
        if abs(math.log10(grid[near] / value)) <= SNAP_DECADES:
            grid[near] = value
        else:
            grid = sorted(grid + [value])
    return grid


def nearest(positions: list[float], value: float) -> int:
    """Return the index of the log slider position nearest ``value`` (in decades)."""
    return min(range(len(positions)), key=lambda i: abs(math.log10(positions[i] / value)))


def linear_step(spec: FloatRange) -> float:
    """Return a linear slider's step: the power of ten giving >= LINEAR_STEPS positions."""
    return 10 ** math.floor(math.log10((spec.high - spec.low) / LINEAR_STEPS))


def nearby(spec: Any, value: Any, default: Any = None) -> list[Any]:
    """Return the values one control move from ``value``, nearest first (+1, -1, +2, -2 positions;
    options); a log slider keeps the case's ``default`` as a position."""
    control = kind(spec)
    if control == "dropdown":
        return [o for o in spec.options if o != value]
    if control == "checkbox":
        return [not value]
    steps = [s * k for k in range(1, REACH + 1) for s in (1, -1)]
    if control == "log slider":
        positions = log_positions(spec, default, value)
        here = nearest(positions, value)
        return [positions[here + s] for s in steps if 0 <= here + s < len(positions)]
    if control == "slider":
        step = linear_step(spec)
        here = round((value - spec.low) / step)
        out = [round(spec.low + (here + s) * step, 12) for s in steps]
        return [v for v in out if spec.low - 1e-12 <= v <= spec.high + 1e-12]
    if control == "number box":
        steps = [1, -1]
    return [value + s for s in steps if spec.low <= value + s <= spec.high]


@dataclass(frozen=True)
class Move:
    """One control move: ``label`` says it in words, ``knobs`` are all the knobs after it."""

    label: str
    knob: str  # the knob moved ("" for a fix or try button)
    knobs: dict[str, Any]
    level: int  # 0: a fix or try button; 1: one position or any option; 2: two positions


def moves(case: Any, base: dict[str, Any], first: Sequence[str] = ()) -> list[Move]:
    """Return every control move from ``base`` once, most likely first: the knobs in ``first`` (the
    one just moved), the fix and try buttons (each applies its overrides to the failing defaults),
    one position or option of every knob (``FIRST`` knobs first, then the case's order), then two
    positions."""
    specs = case.knob_specs()
    defaults = dataclasses.asdict(case.defaults)
    touched = [n for n in dict.fromkeys(first) if n in specs]
    order = list(dict.fromkeys(touched + [n for n in FIRST if n in specs] + list(specs)))
    found: list[Move] = []
    seen = {key(base)}

    def add(label: str, knob: str, knobs: dict[str, Any], level: int) -> None:
        if key(knobs) not in seen:
            seen.add(key(knobs))
            found.append(Move(label, knob, knobs, level))

    def knob_moves(name: str, levels: tuple[int, ...]) -> None:
        single = kind(specs[name][0]) in ("dropdown", "checkbox", "number box")
        for i, value in enumerate(nearby(specs[name][0], base[name], defaults[name])):
            level = 1 if single or i < 2 else 2
            words = f"{value:.2g}" if isinstance(value, float) else repr(value)
            if level in levels:
                add(f"{name} = {words}", name, base | {name: value}, level)

    for name in touched:
        knob_moves(name, (1, 2))
    for word, buttons in (("fix", case.fixes), ("try", case.tries)):
        for button, overrides in buttons.items():
            add(f"{word}: {button}", "", defaults | dict(overrides), 0)
    for level in (1, 2):
        for name in order:
            knob_moves(name, (level,))
    return found


def key(knobs: dict[str, Any]) -> tuple:
    """Return the cache key of ``knobs``: sorted items, floats to KEY_DIGITS significant digits."""
    return tuple(
        (n, float(f"{v:.{KEY_DIGITS}g}") if isinstance(v, float) else v)
        for n, v in sorted(knobs.items())
    )
