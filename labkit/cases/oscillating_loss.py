"""Case 2: training loss oscillates while validation loss stays flat.

35 training images, a model whose dense layer after Flatten has millions of weights, a sigmoid
output with ``nn.BCELoss`` and Adam at a high learning rate. The first big steps push the
output unit into saturation: the sigmoid returns exactly 0 or 1, its gradient is exactly zero,
and the model is frozen into a constant answer. Validation loss is then exactly constant, and
the epoch's training loss only jumps with the class mix of each shuffled batch (BCELoss clamps
log(0) at -100, so every wrong saturated answer costs 100).

Fixes and their true effect: a lower learning rate stops the collapse but the big model then
memorises the 35 images; a small bottleneck model generalises better; flips and shifts help the
small model; a backbone pretrained on a larger related set (frozen, only a head trained) is the
most reliable, because 35 images are too few to learn features from.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn

from ..data import Data, stripe_images, stripe_pretraining_images
from ..knobs import Choice, Flag, FloatRange, IntRange, knob
from ..metrics import accuracy, binary_accuracy
from ..models import backbone, conv2d_net, flat_conv2d_net
from ..train import Setup, TrainConfig, fit, make_loss
from ..history import History
from .base import Case

MODELS = ("big", "small", "pretrained")
PRETRAIN_EPOCHS = 4


@dataclass(frozen=True)
class Knobs:
    model: str = knob("big", Choice(MODELS), "big: 2 convs -> Flatten(7680) -> Dense(512) (3.9M weights); small: a bottleneck CNN with global pooling; pretrained: a frozen backbone trained on 2000 related images + a new head")
    lr: float = knob(3e-2, FloatRange(1e-5, 1.0, log=True), "Adam learning rate", train=True)
    eps: float = knob(1e-8, FloatRange(1e-10, 1.0, log=True), "Adam epsilon", train=True)
    augment: bool = knob(False, Flag(), "random flips and shifts of every training batch")
    dropout: float = knob(0.0, FloatRange(0.0, 0.9), "dropout before the dense layers")
    loss: str = knob("bce", Choice(("bce", "bce-logits")), "sigmoid + BCELoss (as in the thread) or BCEWithLogitsLoss on raw outputs")
    epochs: int = knob(30, IntRange(1, 500), "passes over the 35 training images", train=True)
    batch_size: int = knob(8, IntRange(1, 35), "images per step", train=True)
    optimizer: str = knob("adam", Choice(("adam", "sgd", "momentum")), "optimizer", train=True)
    schedule: str = knob("constant", Choice(("constant", "step", "cosine", "plateau")), "learning-rate schedule", train=True)


def flip_and_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Return the batch with random horizontal/vertical flips and shifts of up to 6 pixels."""
    n = len(x)
    flips = torch.rand(n, 2, generator=generator).to(x.device) < 0.5
    x = torch.where(flips[:, 0, None, None, None], x.flip(3), x)
    x = torch.where(flips[:, 1, None, None, None], x.flip(2), x)
    dy, dx = (int(v) for v in torch.randint(-6, 7, (2,), generator=generator))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


@functools.lru_cache(maxsize=8)
def _pretrained_state(seed: int) -> dict[str, torch.Tensor]:
    """Pretrain the backbone on the larger 4-orientation set once per seed (0.5-1 s).

    Runs on a forked global RNG: whether the cache was warm must not change the caller's random state
    (the head's initial weights are drawn from it right after).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x, y = stripe_pretraining_images(seed)
        net = nn.Sequential(backbone(1, (16, 32)), nn.Linear(32, 4))
        cfg = TrainConfig(epochs=PRETRAIN_EPOCHS, batch_size=64, optimizer="adam", lr=3e-3)
        setup = Setup(net, make_loss("cross-entropy"), Data(x, y), cfg, {"accuracy": accuracy}, "accuracy")
        fit(setup, history=History(), device=torch.device("cpu"), generator=torch.Generator().manual_seed(seed))
    return {k: v.clone() for k, v in net[0].state_dict().items()}


def build(k: Knobs, generator: torch.Generator) -> Setup:
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    data = stripe_images(seed)
    head = nn.Sigmoid() if k.loss == "bce" else None
    params = None
    if k.model == "big":
        model = flat_conv2d_net((1, 48, 80), 1, widths=(16, 32), dense=512, dropout=k.dropout, head=head)
    elif k.model == "small":
        model = conv2d_net(1, 1, widths=(8, 16, 16), dense=0, dropout=k.dropout, head=head)
    else:
        features = backbone(1, (16, 32))
        features.load_state_dict(_pretrained_state(seed))
        features.requires_grad_(False)
        out = nn.Linear(32, 1)
        layers = [features, nn.Dropout(k.dropout), out] + ([head] if head is not None else [])
        model = nn.Sequential(*layers)
        params = list(out.parameters())
    threshold = 0.5 if k.loss == "bce" else 0.0
    return Setup(model, make_loss(k.loss), data, TrainConfig.from_knobs(k), {"accuracy": binary_accuracy(threshold)},
                 "accuracy", augment=flip_and_shift if k.augment else None, params=params)


FLAT_VAL_RANGE = 1e-6  # validation loss this constant after the first epoch = a frozen model
STEP_SWING = 10.0  # mean jump of the training loss between consecutive steps


def checks(h: History) -> dict[str, bool]:
    """Return the named checks of the symptom: training loss jumps, validation loss exactly flat."""
    steps, val = h.step_loss, h.val_loss[1:]
    swing = sum(abs(a - b) for a, b in zip(steps, steps[1:])) / max(len(steps) - 1, 1)
    return {
        "training loss jumps between steps": swing > STEP_SWING,
        "validation loss is flat": len(val) > 1 and max(val) - min(val) < FLAT_VAL_RANGE,
    }


CASE = Case(
    name="oscillating-loss",
    title="Why does my training loss jump up and down while my validation loss stays flat?",
    symptom="With 35 training images my training loss oscillates wildly between epochs and my validation loss does not move at all.",
    lesson="02_training_loss_oscillates.ipynb",
    defaults=Knobs(),
    fixes={
        "pretrained backbone": {"model": "pretrained", "lr": 2e-2},
        "lower learning rate": {"lr": 3e-4},
        "small model": {"model": "small", "lr": 1e-2},
        "small model + augmentation": {"model": "small", "lr": 1e-2, "augment": True},
        "big model + augmentation": {"augment": True, "lr": 3e-4},
    },
    build=build,
    checks=checks,
)
