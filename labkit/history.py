"""What a training run recorded: plain lists plus the knobs, seed, device and wall time."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """Record of one run; the training loop fills it, plots and diagnosis only read it.

    Per-step lists have one entry per optimizer step, per-epoch lists one per finished epoch.
    A run that hit NaN/inf keeps everything up to and including the first bad step and sets
    ``diverged_step``/``diverged_epoch``.
    """

    case: str = ""  # case name, "" for a run built by hand
    knobs: dict[str, Any] = field(default_factory=dict)  # every knob value the run used
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
    wall_time: float = 0.0  # seconds spent in the training loop

    @property
    def num_epochs(self) -> int:
        """Return how many epochs finished."""
        return len(self.train_loss)

    @property
    def diverged(self) -> bool:
        """Return True when the run hit NaN/inf."""
        return self.diverged_step is not None

    def to_dict(self) -> dict[str, Any]:
        """Return a plain-dict copy (JSON-ready apart from NaN/inf floats)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Build a History from ``to_dict`` output, rejecting unknown keys."""
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict from History.to_dict(), got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"data has unknown History fields {unknown}; allowed: {sorted(names)}")
        return cls(**data)

    def to_json(self) -> str:
        """Return JSON text; NaN/inf are written as strings so any JSON reader accepts it."""
        return json.dumps(_encode(self.to_dict()))

    @classmethod
    def from_json(cls, text: str) -> History:
        """Build a History from ``to_json`` output."""
        return cls.from_dict(_decode(json.loads(text)))


_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _encode(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, str) and obj in _SPECIAL:
        return _SPECIAL[obj]
    if isinstance(obj, dict):
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj
