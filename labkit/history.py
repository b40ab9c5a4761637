"""What a training run recorded: plain lists plus the knobs, seed, device and wall time."""

from __future__ import annotations

import dataclasses
import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .knobs import must_be


# the generated repr would print every list: thousands of numbers in a notebook
@dataclass(repr=False)
class History:
    """Record of one run; the training loop fills it, plots and diagnosis only read it.

    Per-step lists have one entry per optimizer step, per-epoch lists one per finished epoch.
    A run that hit NaN/inf keeps everything up to and including the first bad step and sets
    ``diverged_step``/``diverged_epoch``.
    """

    case: str = ""  # case name, "" for a run built by hand
    knobs: dict[str, Any] = field(default_factory=dict)  # every knob value the run used
    changed: dict[str, Any] = field(default_factory=dict)  # knobs that differ from the defaults
    seed: int = 0  # seed passed to the run
    device: str = "cpu"  # device the run trained on
    metric_name: str = "accuracy"  # what train_metric / val_metric measure
    steps_per_epoch: int = 1  # optimizer steps in one epoch
    step_loss: list[float] = field(default_factory=list)  # training loss of every step
    grad_norm: list[float] = field(default_factory=list)  # global gradient L2 norm of every step
    lr: list[float] = field(default_factory=list)  # learning rate used in each epoch
    train_loss: list[float] = field(default_factory=list)  # mean step loss of each epoch
    val_loss: list[float] = field(default_factory=list)  # validation loss after each epoch
    train_metric: list[float] = field(default_factory=list)  # metric on the epoch's batches
    val_metric: list[float] = field(default_factory=list)  # metric on the validation split
    extra: dict[str, list[float]] = field(default_factory=dict)  # case-specific per-epoch curves
    final: dict[str, float] = field(default_factory=dict)  # end-of-run numbers (e.g. test loss)
    diverged_step: int | None = None  # first step whose loss was NaN/inf
    diverged_epoch: int | None = None  # epoch (0-based) that step belongs to
    stopped_epoch: int | None = None  # epoch after which early stopping ended the run
    best_epoch: int | None = None  # epoch (0-based) with the lowest validation loss
    restored_epoch: int | None = None  # epoch whose weights restore_best put back at the end
    wall_time: float = 0.0  # seconds spent in the training loop

    @property
    def num_epochs(self) -> int:
        """Return how many epochs finished."""
        return len(self.train_loss)

    @property
    def diverged(self) -> bool:
        """Return True when the run hit NaN/inf."""
        return self.diverged_step is not None

    def summary(self) -> list[tuple[str, str]]:
        """Return (label, text) rows: case, changed knobs, epochs, losses, divergence, stop."""
        changed = ", ".join(f"{k}={_short(v)}" for k, v in self.changed.items())
        planned = self.knobs.get("epochs")
        of = f" of {planned}" if isinstance(planned, int) and planned != self.num_epochs else ""
        rows = [
            ("case", self.case or "(built by hand)"),
            ("knobs changed from the defaults", changed or "none"),
            ("epochs", f"{self.num_epochs}{of}"),
        ]
        curves = {"training loss": self.train_loss, "validation loss": self.val_loss}
        for label, curve in curves.items():
            finite = [(v, i) for i, v in enumerate(curve) if math.isfinite(v)]
            if finite:
                best, at = min(finite)
                text = f"best {_short(best)} (epoch {at + 1}), final {_short(curve[-1])}"
                rows += [(label, text)]
        if self.diverged:
            where = f"at step {self.diverged_step} (epoch {self.diverged_epoch + 1})"
            rows += [("diverged", f"{where}: the loss became NaN or infinite")]
        if self.stopped_epoch is not None:
            rows += [("early stopping", f"stopped after epoch {self.stopped_epoch + 1}")]
        if self.restored_epoch is not None:
            text = f"restored from epoch {self.restored_epoch + 1}, the best validation epoch"
            rows += [("weights", text)]
        return rows

    def __repr__(self) -> str:
        """Return one short line (never the recorded lists)."""
        return "History(" + "; ".join(f"{label}: {text}" for label, text in self.summary()) + ")"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
            for label, text in self.summary()
        )
        return f"<table><caption style='text-align:left'><b>History</b></caption>{rows}</table>"

    def to_dict(self) -> dict[str, Any]:
        """Return a plain-dict copy (JSON-ready apart from NaN/inf floats)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Build a History from ``to_dict`` output, rejecting unknown keys."""
        must_be("data", data, dict, "a dict from History.to_dict()")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"data has unknown History fields {unknown}; allowed: {sorted(names)}")
        return cls(**data)

    def to_json(self) -> str:
        """Return JSON text; NaN/inf are written as strings so any JSON reader accepts it."""
        return json.dumps(_map(self.to_dict(), _encode))

    @classmethod
    def from_json(cls, text: str) -> History:
        """Build a History from ``to_json`` output."""
        return cls.from_dict(_map(json.loads(text), _decode))


def _short(value: Any) -> str:
    """Return ``value`` in a few characters (floats to 3 significant digits)."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return repr(value) if isinstance(value, str) else str(value)


def _map(obj: Any, leaf: Callable[[Any], Any]) -> Any:
    """Return ``obj`` with ``leaf`` applied to every value inside its dicts and lists."""
    if isinstance(obj, dict):
        return {k: _map(v, leaf) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_map(v, leaf) for v in obj]
    return leaf(obj)


def _encode(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    return value


_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value in _SPECIAL:
        return _SPECIAL[value]
    return value
