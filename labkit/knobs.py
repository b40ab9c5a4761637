"""Knob specs and the argument checks every labkit module shares.

Each case's knobs are a frozen dataclass whose fields carry a spec and a help line: panels build
their controls from the specs, ``validate`` names the knob and the allowed values of a bad one, and
``require``, ``must_be`` and ``Choice.check`` write most other argument errors in the same words.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any


def require(ok: bool, name: str, value: Any, allowed: str, verb: str = "out of range") -> None:
    """Raise ValueError "<name>=<value> is <verb>; allowed: <allowed>" unless ``ok``."""
    if not ok:
        raise ValueError(f"{name}={value!r} is {verb}; allowed: {allowed}")


def must_be(name: str, value: Any, kinds: type | tuple[type, ...], what: str) -> None:
    """Raise TypeError "<name> must be <what>, got <type>" unless ``value`` is one of ``kinds``."""
    if not isinstance(value, kinds):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")


def is_int(value: Any) -> bool:  # a bool is not an int here
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:  # an int or float, not a bool
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class FloatRange:
    """A float in [low, high]; ``log`` marks knobs that span decades (lr, eps)."""

    low: float
    high: float
    log: bool = False

    def check(self, name: str, value: Any) -> float:
        if not is_number(value):
            raise TypeError(
                f"{name} must be a number in [{self.low:g}, {self.high:g}], got "
                f"{type(value).__name__}"
            )
        value = float(value)
        ok = math.isfinite(value) and self.low <= value <= self.high
        require(ok, name, value, f"{self.low:g} <= {name} <= {self.high:g}")
        return value


@dataclass(frozen=True)
class IntRange:
    """An int in [low, high]; ``zero`` says in words what 0 means (e.g. "off", "full batch")."""

    low: int
    high: int
    zero: str = ""

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not is_int(value):
            raise TypeError(f"{name} must be an int in [{self.low}, {self.high}], got {value!r}")
        require(self.low <= value <= self.high, name, value, f"{self.low} <= {name} <= {self.high}")
        return value


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings."""

    options: tuple[str, ...]

    def check(self, name: str, value: Any) -> str:
        allowed = ", ".join(map(repr, self.options))
        require(value in self.options, name, value, allowed, "not allowed")
        return value


@dataclass(frozen=True)
class Flag:
    """A boolean."""

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")
        return value


Spec = FloatRange | IntRange | Choice | Flag

# What a panel calls each knob: words, not code names (a case can give its own: knob(label=...)).
LABELS = {
    "lr": "learning rate",
    "eps": "Adam epsilon",
    "batch_size": "batch size",
    "epochs": "epochs",
    "early_stopping": "early stopping patience",
    "restore_best": "restore the best epoch's weights",
    "n_windows": "number of windows",
    "class_weights": "class weights",
    "weight_decay": "weight decay",
    "log_softmax": "LogSoftmax layer at the end",
    "val_labels": "validation labels",
    "shuffle_labels": "shuffled labels (control)",
    "conv_dropout": "dropout after the convs",
    "dense_dropout": "dropout before the output",
    "dense": "dense layer width",
    "downscale": "shrink images by",
    "n_train": "training images",
    "disease_weight": "disease class weight",
    "measure": "measure weight norm",
    "world": "what sets the label",
    "normalization": "scaling",
    "differences": "first differences",
    "split": "validation split",
    "optimizer": "optimizer",
    "activation": "dense activation",
    "schedule": "learning-rate schedule",
    "model": "model",
    "loss": "loss",
    "pixels": "pixel values",
    "augment": "flips and shifts",
    "crop": "random resized crop",
    "dropout": "dropout",
}


# What a dropdown shows for each option, in words (the case still receives the code name).
OPTION_WORDS = {
    # losses
    "nll": "NLLLoss on raw outputs",
    "cross-entropy": "cross-entropy (softmax)",
    "keras-bce": "Keras binary cross-entropy",
    "bce": "BCELoss on the sigmoid",
    "bce-logits": "BCE with logits (raw output)",
    "logcosh": "log of cosh",
    "focal": "focal (gamma 2)",
    # optimizers and schedules
    "adam": "PyTorch Adam",
    "keras-adam": "Keras's Adam",
    "sgd": "plain SGD",
    "momentum": "SGD with momentum 0.9",
    "adadelta": "Adadelta (Keras defaults)",
    "constant": "constant rate",
    "step": "divided by 10 at 50 % and 75 %",
    "cosine": "cosine decay",
    "plateau": "cut when the loss stalls",
    # data and model
    "level": "one feature's level",
    "no-signal": "a random walk (no signal)",
    "window": "scaled per window",
    "global": "scaled by training statistics",
    "none": "not scaled",
    "chronological": "the latest windows",
    "shuffled": "random windows (they overlap)",
    "relu": "rectified linear (ReLU)",
    "tanh": "hyperbolic tangent (tanh)",
    "big": "big: Flatten into 512 units",
    "small": "small: global pooling",
    "pretrained": "pretrained backbone",
    "autoencoder": "autoencoder features",
    "standardized": "standardized (mean 0, sd 1)",
    "0-255": "raw 0 to 255",
}


def option_words(value: str) -> str:
    """Return what a dropdown shows for option ``value`` (an option already in words as is)."""
    return OPTION_WORDS.get(value, value)


def value_words(spec: Any, value: Any) -> str:
    """Return a knob value as a panel's status and buttons write it: "full batch", "on", "0.003"."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == 0 and getattr(spec, "zero", ""):
        return spec.zero  # IntRange: 0 in words ("full batch", "off")
    if isinstance(spec, Choice):
        return option_words(value)
    return f"{value:.2g}" if isinstance(value, float) else str(value)


def label(name: str, spec: Any = None, given: str = "") -> str:
    """Return the words a panel shows for knob ``name``; a number box says what its 0 means."""
    words = given or LABELS.get(name, name.replace("_", " "))
    zero = spec.zero if isinstance(spec, IntRange) and spec.low == 0 else ""
    return words + f" (0 = {zero})" if zero and f"0 = {zero}" not in words else words


def knob(default: Any, spec: Spec, help: str, *, label: str = "") -> Any:
    """Declare a knob: a dataclass field with its allowed values, a help line and the panel's label
    (default ``LABELS[name]``). A knob named like a ``TrainConfig`` field sets that field."""
    spec.check("default", default)
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {label!r}")
    return field(default=default, metadata={"spec": spec, "help": help, "label": label})


def specs(knobs_cls: type) -> dict[str, tuple[Any, str]]:
    """Return ``{name: (spec, help)}`` of a knob dataclass (class or instance)."""
    return {f.name: (f.metadata["spec"], f.metadata["help"]) for f in dataclasses.fields(knobs_cls)}


def labels(knobs_cls: type) -> dict[str, str]:
    """Return ``{name: label}``: the words each control of a knob dataclass shows."""
    fields = dataclasses.fields(knobs_cls)
    return {f.name: label(f.name, f.metadata["spec"], f.metadata.get("label", "")) for f in fields}


def validate(defaults: Any, overrides: dict[str, Any]) -> Any:
    """Return ``defaults`` with ``overrides`` applied after checking every name and value."""
    allowed = specs(defaults)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown knob(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}"
        )
    checked = {name: allowed[name][0].check(name, value) for name, value in overrides.items()}
    return dataclasses.replace(defaults, **checked)
