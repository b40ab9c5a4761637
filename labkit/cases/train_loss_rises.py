"""Case 5: training loss and accuracy get worse after some epoch.

With batch norm after every conv, the loss does not change when a conv's weights are scaled, so
weight decay keeps shrinking them, and the *effective* learning rate (lr / |w|^2) keeps growing
under a constant lr. Early on that is harmless; late in the run, near a sharp minimum, the steps
become too big and training loss jumps up, taking training accuracy with it. A decaying
learning-rate schedule removes it; early stopping shows where a constant-lr run should stop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data import signals
from ..knobs import Choice, FloatRange, IntRange, knob
from ..metrics import accuracy
from ..models import conv1d_net
from ..history import History
from ..train import Setup, TrainConfig, make_loss
from .base import Case


@dataclass(frozen=True)
class Knobs:
    schedule: str = knob("constant", Choice(("constant", "step", "cosine", "plateau")), "learning-rate schedule", train=True)
    lr: float = knob(0.1, FloatRange(1e-5, 1.0, log=True), "base learning rate", train=True)
    weight_decay: float = knob(1e-2, FloatRange(0.0, 0.1), "L2 weight decay; with batch norm it shrinks the weights, so the effective lr grows", train=True)
    optimizer: str = knob("momentum", Choice(("momentum", "sgd", "adam")), "optimizer (momentum = SGD with momentum 0.9)", train=True)
    eps: float = knob(1e-8, FloatRange(1e-10, 1.0, log=True), "Adam epsilon (Adam only)", train=True)
    dropout: float = knob(0.0, FloatRange(0.0, 0.9), "dropout before the last layer")
    epochs: int = knob(250, IntRange(1, 5000), "passes over the 300 training signals", train=True)
    batch_size: int = knob(0, IntRange(0, 4096), "signals per step; 0 = all 300 (full batch)", train=True)
    early_stopping: int = knob(0, IntRange(0, 5000), "stop after this many epochs without a new best validation loss (0: off)", train=True)


def build(k: Knobs, generator: torch.Generator) -> Setup:
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    model = conv1d_net(1, 2, widths=(16, 32, 32), batch_norm=True, dropout=k.dropout)
    return Setup(model, make_loss("cross-entropy"), signals(seed), TrainConfig.from_knobs(k), {"accuracy": accuracy}, "accuracy")


RISE_FACTOR = 10.0  # training loss climbs above this multiple of its best so far
WARMUP_EPOCHS = 50  # rises before this epoch are early training, not the symptom
ACCURACY_DROP = 0.95  # training accuracy falls below this after having passed it


def checks(h: History) -> dict[str, bool]:
    """Return the named checks of the symptom: training loss rises well above its best, accuracy drops."""
    loss, acc = h.train_loss, h.train_metric
    best, rise, rise_at = float("inf"), 0.0, None
    for i, v in enumerate(loss):
        if i >= WARMUP_EPOCHS and best > 0 and v / best > rise:
            rise, rise_at = v / best, i
        best = min(best, v)
    reached = next((i for i, a in enumerate(acc) if a >= ACCURACY_DROP), None)
    return {
        "training loss rises after its minimum": rise > RISE_FACTOR,
        "training accuracy drops": reached is not None and min(acc[reached:]) < ACCURACY_DROP,
    }


CASE = Case(
    name="train-loss-rises",
    title="Why do my training loss and accuracy get worse after some epoch?",
    symptom="My training loss went down nicely, then after some epoch it started going up and my training accuracy dropped.",
    lesson="05_training_loss_rises_later.ipynb",
    defaults=Knobs(),
    fixes={
        "schedule": {"schedule": "cosine"},
        "step schedule (decays too late here)": {"schedule": "step"},
        "reduce on plateau": {"schedule": "plateau"},
        "early stopping": {"early_stopping": 30},
    },
    build=build,
    checks=checks,
)
