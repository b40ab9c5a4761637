"""Case 1: validation loss rises from epoch 1, even with lots of data.

A thread (datascience.stackexchange.com/q/82054) turned 28 features x 28-day windows into 28x28
images, min-max scaled each row *inside its own window*, and regressed a label in [-1, 1] whose sign
matters: validation loss rose from the first epoch. In ``world="level"`` the label depends on the
*level* of one feature, which per-window scaling maps to [0, 1] whatever it was, so the net can only
memorise noise; scaling with training-split statistics ("global") keeps the level and fixes it. In
``world="no-signal"`` the label is the next day's move of a random walk, which the past window says
nothing about: validation loss rises whatever the scaling. The asker reports that training-split
scaling gave about the same curves, which fits this world (or a cause beyond scaling) better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data import MAX_WINDOWS, NORMALIZATIONS, SPLITS, WORLDS, window_images
from ..diagnosis import rules
from ..history import History
from ..knobs import Choice, Flag, IntRange, knob
from ..metrics import sign_accuracy
from ..models import conv_blocks
from ..train import Setup, make_loss
from .base import (
    DROPOUT,
    EPS,
    LR,
    Case,
    case_setup,
    data_seed,
    early_stopping_knob,
    last,
    schedule_knob,
)

ACTIVATIONS = ("relu", "tanh")


@dataclass(frozen=True)
class Knobs:
    world: str = knob(
        "level",
        Choice(WORLDS),
        "what the label is: set by one feature's level (per-window scaling erases it), or "
        "the next day's move of a random walk (nothing in the past window predicts it)",
    )
    normalization: str = knob(
        "window",
        Choice(NORMALIZATIONS),
        "how each 28x28 window is scaled: inside the window (as in the thread), by "
        "training-split statistics, or not at all",
    )
    differences: bool = knob(
        False,
        Flag(),
        "use each feature's day-to-day change (first differences, tried in the thread) "
        "before scaling",
    )
    split: str = knob(
        "chronological",
        Choice(SPLITS),
        "validation = the latest windows, or a random subset of overlapping windows (leaks)",
    )
    shuffle_labels: bool = knob(
        False,
        Flag(),
        "the control: train on labels shuffled among the training windows (validation "
        "keeps the true ones)",
    )
    optimizer: str = knob(
        "adam",
        Choice(("adam", "adadelta", "sgd", "momentum")),
        "optimizer (the thread used Keras's Adadelta, then Adam)",
    )
    lr: float = knob(2e-3, LR, "learning rate (the thread: Adadelta at 1e-3 and 1e-4)")
    eps: float = knob(
        1e-7,
        EPS,
        "Adam / Adadelta epsilon (Keras's default 1e-7)",
        label="epsilon (Adam, Adadelta)",
    )
    dropout: float = knob(
        0.0, DROPOUT, "dropout before each dense layer (the thread: 0.25 and 0.5, more, none)"
    )
    activation: str = knob(
        "relu",
        Choice(ACTIVATIONS),
        "activation of the 64-unit dense layer (a comment suggested tanh)",
    )
    epochs: int = knob(
        10, IntRange(1, 3000), "passes over the training windows (the thread: 100-3000)"
    )
    batch_size: int = knob(64, IntRange(1, 4096), "windows per step (the thread: 32-3500)")
    schedule: str = schedule_knob()
    early_stopping: int = early_stopping_knob(3000)
    n_windows: int = knob(
        2500,
        IntRange(200, MAX_WINDOWS),
        "number of overlapping windows (days - 27; the thread: about 60,000 and 250,000)",
    )


def model(dropout: float = 0.0, activation: str = "relu") -> nn.Sequential:
    """Return the thread's MNIST-style regressor, shrunk: two convs -> Flatten -> Dense(128) ->
    Dense(64) -> 1 (linear, as in the thread).

    Stride-2 convs (8, 16 channels) stand in for the thread's Conv(32) -> Conv(64) -> MaxPool(4)
    (several times faster on a small CPU); ``dropout`` goes before each dense layer, ``activation``
    is the 64-unit layer's.
    """
    Choice(ACTIVATIONS).check("activation", activation)
    act = nn.ReLU() if activation == "relu" else nn.Tanh()
    return nn.Sequential(
        *conv_blocks(1, (8, 16)),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(16 * 7 * 7, 128),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(128, 64),
        act,
        nn.Dropout(dropout),
        nn.Linear(64, 1),
    )


def build(k: Knobs, generator: torch.Generator) -> Setup:
    data = window_images(
        data_seed(generator),
        normalization=k.normalization,
        split=k.split,
        n_windows=k.n_windows,
        world=k.world,
        differences=k.differences,
        shuffle_labels=k.shuffle_labels,
    )
    net = model(k.dropout, k.activation)
    return case_setup(k, net, make_loss("mse"), data, {"sign_accuracy": sign_accuracy})


def effective_samples(labels: np.ndarray | torch.Tensor, max_lag: int = 200) -> float:
    """Return about how many independent samples a time-ordered label series holds: n / (1 + 2 x
    the sum of its autocorrelations up to the first lag below 0.05); repeating neighbours count
    once."""
    y = np.asarray(labels, dtype=float).reshape(-1)
    if y.size < 3:
        raise ValueError(f"labels must hold at least 3 values, got {y.size}")
    y = y - y.mean()
    var = float((y * y).mean())
    if var == 0:
        return 1.0
    total = 0.0
    for lag in range(1, min(max_lag, y.size - 1)):
        rho = float((y[:-lag] * y[lag:]).mean()) / var
        if rho < 0.05:
            break
        total += rho
    return y.size / (1 + 2 * total)


def checks(h: History) -> dict[str, bool]:
    baseline = h.final.get("baseline_val_loss", float("inf"))
    shape = rules.no_generalization(h.train_loss, h.val_loss, val_metric=h.val_metric)
    return {
        "validation loss never gets 10 % below epoch 1 and ends 10 % above its lowest "
        "while training loss falls": shape is not None,
        "validation ends above the predict-the-mean baseline": bool(h.val_loss)
        and h.val_loss[-1] > baseline,
    }


def health(h: History) -> dict[str, bool]:
    baseline = h.final.get("baseline_val_loss", float("nan"))
    end = last(h.val_loss)
    return {
        f"validation loss ends at {end:.3g} (needs below the predict-the-mean "
        f"baseline, {baseline:.3g})": end < baseline,
        "validated on the latest windows (needs a chronological split; a shuffled split of "
        "overlapping windows leaks)": h.knobs.get("split") == "chronological",
    }


CASE = Case(
    name="rising-val-loss",
    title="Why does my validation loss rise from the first epoch, even with lots of data?",
    symptom="My training loss goes down but my validation loss goes up from epoch 1, even "
    "though I have thousands of samples.",
    lesson="01_validation_loss_rises_from_epoch_1.ipynb",
    code="no-generalization",
    defaults=Knobs(),
    fixes={"global normalization": {"normalization": "global"}},
    tries={"shuffled split (hides it)": {"split": "shuffled"}},
    build=build,
    checks=checks,
    health=health,
)
