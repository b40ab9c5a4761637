"""Case 4: the loss falls for a long time, then shoots up and plateaus (Adam's epsilon).

Adam divides each step by sqrt(v) + eps, where v is a running mean of squared gradients. Near a
minimum with zero loss the gradients, and so sqrt(v), shrink towards 0, but the normalised step
m / sqrt(v) stays about lr in size. Once sqrt(v) falls below eps=1e-8... it doesn't: eps is far
smaller still, so steps stay ~lr long after the loss sits at 1e-15, and one unlucky step throws
the model far from the minimum. A larger eps (1e-3..1e-2) makes the step shrink with the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data import line_images
from ..knobs import Choice, FloatRange, IntRange, knob
from ..metrics import one_hot_accuracy
from ..models import mlp
from ..train import TrainConfig, make_loss
from .base import Case, Setup


@dataclass(frozen=True)
class Knobs:
    eps: float = knob(1e-8, FloatRange(1e-10, 1.0, log=True), "Adam epsilon: added to sqrt(v) in the step's denominator")
    lr: float = knob(3e-3, FloatRange(1e-5, 1.0, log=True), "Adam learning rate")
    loss: str = knob("mse", Choice(("mse", "logcosh")), "loss between the outputs and the one-hot targets")
    epochs: int = knob(4000, IntRange(1, 50000), "full-batch steps (one step per epoch)")
    optimizer: str = knob("adam", Choice(("adam", "sgd", "momentum")), "optimizer")
    schedule: str = knob("constant", Choice(("constant", "step", "cosine", "plateau")), "learning-rate schedule")


def build(k: Knobs, generator: torch.Generator) -> Setup:
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    train = TrainConfig(epochs=k.epochs, batch_size=0, optimizer=k.optimizer, lr=k.lr, eps=k.eps,
                        schedule=k.schedule)
    return Setup(mlp((1024, 64, 2)), make_loss(k.loss), line_images(seed), train,
                 {"accuracy": one_hot_accuracy}, "accuracy")


CASE = Case(
    name="adam-epsilon",
    title="Why does my loss suddenly shoot up after 1500 good epochs?",
    symptom="My loss fell smoothly for about 1500 epochs, then suddenly shot up and stayed on a plateau.",
    lesson="04_loss_explodes_after_long_training.ipynb",
    defaults=Knobs(),
    fixes={
        "larger epsilon": {"eps": 1e-3},
        "logcosh loss": {"loss": "logcosh"},
    },
    build=build,
)
