"""Case 1: validation loss rises from epoch 1, even with lots of data.

A thread turned 28 features x 28-day windows into 28x28 images and min-max scaled each row
*inside its own window*. The label (in [-1, 1], sign matters) depends on the *level* of one
feature, and per-window scaling maps every row to [0, 1] whatever its level, so the only thing
that predicts the label is erased. The net can still drive training loss down by memorising
noise, so validation loss rises from the first epochs. Scaling each feature with statistics
of the training split ("global") keeps the level and fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data import NORMALIZATIONS, SPLITS, window_images
from ..knobs import Choice, FloatRange, IntRange, knob
from ..metrics import sign_accuracy
from ..models import flat_conv2d_net
from ..history import History
from ..train import Setup, TrainConfig, make_loss
from .base import Case


@dataclass(frozen=True)
class Knobs:
    normalization: str = knob("window", Choice(NORMALIZATIONS), "how each 28x28 window is scaled: inside the window (as in the thread), by training-split statistics, or not at all")
    split: str = knob("chronological", Choice(SPLITS), "validation = the latest windows, or a random subset of overlapping windows (leaks)")
    lr: float = knob(1e-3, FloatRange(1e-5, 1.0, log=True), "Adam learning rate", train=True)
    eps: float = knob(1e-8, FloatRange(1e-10, 1.0, log=True), "Adam epsilon", train=True)
    dropout: float = knob(0.0, FloatRange(0.0, 0.9), "dropout before the dense layers")
    epochs: int = knob(12, IntRange(1, 200), "passes over the training windows", train=True)
    batch_size: int = knob(64, IntRange(1, 4096), "windows per step", train=True)
    optimizer: str = knob("adam", Choice(("adam", "sgd", "momentum")), "optimizer", train=True)
    schedule: str = knob("constant", Choice(("constant", "step", "cosine", "plateau")), "learning-rate schedule", train=True)
    early_stopping: int = knob(0, IntRange(0, 200), "stop after this many epochs without a new best validation loss (0: off)", train=True)
    n_windows: int = knob(3000, IntRange(200, 20000), "number of overlapping windows (days - 27)")


def build(k: Knobs, generator: torch.Generator) -> Setup:
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    data = window_images(seed, normalization=k.normalization, split=k.split, n_windows=k.n_windows)
    model = flat_conv2d_net((1, 28, 28), 1, widths=(16, 32), dense=64, dropout=k.dropout, head=nn.Tanh())
    return Setup(model, make_loss("mse"), data, TrainConfig.from_knobs(k), {"sign_accuracy": sign_accuracy}, "sign accuracy")


VAL_RISE_FACTOR = 1.0  # last validation loss above the first epoch's
TRAIN_FALL_FACTOR = 0.5  # last training loss below half the first epoch's
EARLY_MIN_EPOCHS = 3  # the validation minimum lies in the first epochs


def checks(h: History) -> dict[str, bool]:
    """Return the named checks of the symptom: train falls, val rises from the start, above baseline."""
    val, train = h.val_loss, h.train_loss
    baseline = h.final.get("baseline_val_loss", float("inf"))
    return {
        "training loss falls": len(train) > 1 and train[-1] < TRAIN_FALL_FACTOR * train[0],
        "validation loss rises from the first epochs": len(val) > 1 and val[-1] > VAL_RISE_FACTOR * val[0]
        and min(range(len(val)), key=val.__getitem__) < EARLY_MIN_EPOCHS,
        "validation ends above the predict-the-mean baseline": bool(val) and val[-1] > baseline,
    }


CASE = Case(
    name="rising-val-loss",
    title="Why does my validation loss rise from the first epoch, even with lots of data?",
    symptom="My training loss goes down but my validation loss goes up from epoch 1, even though I have thousands of samples.",
    lesson="01_validation_loss_rises_from_epoch_1.ipynb",
    defaults=Knobs(),
    fixes={
        "global normalization": {"normalization": "global"},
        "shuffled split (hides it)": {"split": "shuffled"},
    },
    build=build,
    checks=checks,
)
