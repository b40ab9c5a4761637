"""Case 2: training loss oscillates while validation loss stays flat.

The asker trained a Keras CNN (three Dropout layers, a Dense(512) of 36.5M weights) on 35 training
and 10 test images of 80x130, at learning rates from 0.1 to 0.001. Here: 48x80 images, a 2.0M-weight
dense layer, three Dropout layers, a sigmoid output with Keras's ``binary_crossentropy`` (clipped at
1e-7: what such a model is normally compiled with, and what an answer recommends; the thread never
names its loss) and Adam at lr 0.1. The first big steps push the output logit far past 16.1, where
the clipped loss has exactly zero gradient: the model freezes. Its answers in evaluation mode no
longer change, so the validation loss is constant (about 16.12 x the share of validation images
wrong); in training mode the 0.9 dropout before the output redraws the dense units at every step
and flips some saturated answers, so the training loss (16.12 x wrong / 35) jumps between epochs.
A lower learning rate or augmentation unfreeze the big model, which stays far below the fix on new
images; a small model with global pooling learns on most seeds; a frozen backbone pretrained on
1500 stripe images at four *other* orientations, with a new head, is the most reliable.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data import Data, stripe_images, stripe_pretraining_images
from ..diagnosis import gradual, rules
from ..history import History
from ..knobs import Choice, Flag, FloatRange, IntRange, knob
from ..metrics import binary_accuracy
from ..models import backbone, conv_blocks, halved, keras_init, optional_dropout
from ..train import KERAS_CLIP, Probe, Setup, TrainConfig, fit, make_loss
from .base import DROPOUT, Case, case_setup, data_seed, schedule_knob

PRETRAIN_EPOCHS = 8
AUTOENCODER_EPOCHS = 60
BIG_WIDTHS = (16, 16)  # conv channels of the big model: Flatten(3840) -> Dense(512) = 2.0M weights
# 16.118: what one saturated wrong answer costs under Keras's clip
WRONG_COST = -math.log(KERAS_CLIP)
# |logit| beyond which the clipped loss has no gradient
SATURATED_LOGIT = math.log((1 - KERAS_CLIP) / KERAS_CLIP)


@dataclass(frozen=True)
class Knobs:
    model: str = knob(
        "big",
        Choice(("big", "small", "pretrained", "autoencoder")),
        "big: 2 convs -> Flatten(3840) -> Dense(512) -> 1 (2.0M weights); small: a "
        "bottleneck CNN with global pooling; pretrained: a frozen backbone trained on 1500 "
        "stripe images at 4 other orientations + a new head; autoencoder: a frozen encoder "
        "trained to reconstruct the 35 images + a new head",
    )
    lr: float = knob(
        0.1,
        FloatRange(1e-5, 1.0, log=True),
        "learning rate (the asker tried 0.1, 0.01, 0.005 and 0.001)",
    )
    optimizer: str = knob(
        "adam", Choice(("adam", "sgd", "momentum")), "optimizer (momentum: SGD with momentum 0.9)"
    )
    loss: str = knob(
        "keras-bce",
        Choice(("keras-bce", "bce", "bce-logits")),
        "keras-bce: Keras's binary_crossentropy on the sigmoid (clipped at 1e-7); bce: "
        "PyTorch BCELoss on the sigmoid; bce-logits: BCEWithLogitsLoss on the raw output",
    )
    conv_dropout: float = knob(
        0.25, DROPOUT, "dropout after each conv block (the thread's rates are not given)"
    )
    dense_dropout: float = knob(
        0.9,
        FloatRange(0.0, 0.95),
        "dropout before the output layer (Keras's CIFAR-10 example, whose layers the "
        "asker's match: 0.5)",
    )
    dense: int = knob(
        512,
        IntRange(0, 1024, zero="none"),
        "width of the dense layer after Flatten (big model); 0 removes it",
    )
    downscale: int = knob(1, IntRange(1, 4), "average-pool the 48x80 images by this factor first")
    pixels: str = knob(
        "standardized",
        Choice(("standardized", "0-255")),
        "inputs standardized, or raw 0-255 grey levels",
    )
    augment: bool = knob(False, Flag(), "random flips and shifts of every training batch")
    crop: bool = knob(
        False, Flag(), "random resized crop (60-100 % of each side) of every training batch"
    )
    n_train: int = knob(35, IntRange(10, 1000), "training images (the thread: 35)")
    epochs: int = knob(30, IntRange(1, 500), "passes over the training images")
    batch_size: int = knob(
        32, IntRange(1, 1000), "images per step (Keras's default: 32, so 35 images = 32 + 3)"
    )
    schedule: str = schedule_knob()


def flip_and_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Return the batch with random horizontal/vertical flips and shifts of up to 6 pixels
    (orientation kept)."""
    flips = torch.rand(len(x), 2, generator=generator).to(x.device) < 0.5
    x = torch.where(flips[:, 0, None, None, None], x.flip(3), x)
    x = torch.where(flips[:, 1, None, None, None], x.flip(2), x)
    dy, dx = (int(v) for v in torch.randint(-6, 7, (2,), generator=generator))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def resized_crop(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Return the batch cropped to a random window of 60-100 % of each side, resized back (one
    window a batch)."""
    h, w = x.shape[-2:]
    scale = float(torch.empty(()).uniform_(0.6, 1.0, generator=generator))
    ch, cw = max(2, round(h * scale)), max(2, round(w * scale))
    top = int(torch.randint(0, h - ch + 1, (), generator=generator))
    left = int(torch.randint(0, w - cw + 1, (), generator=generator))
    crop = x[..., top : top + ch, left : left + cw]
    return F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False)


def _both(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return resized_crop(flip_and_shift(x, generator), generator)


def big_net(shape: tuple[int, int], k: Knobs) -> nn.Sequential:
    """Return the asker's design, shrunk: 2 stride-2 convs with dropout -> Flatten -> Dense(k.dense)
    -> dropout -> 1."""
    flat = BIG_WIDTHS[-1] * halved(shape[0], len(BIG_WIDTHS)) * halved(shape[1], len(BIG_WIDTHS))
    layers = [*conv_blocks(1, BIG_WIDTHS, dropout=k.conv_dropout), nn.Flatten()]
    if k.dense:
        layers += [nn.Linear(flat, k.dense), nn.ReLU()]
        flat = k.dense
    return nn.Sequential(*layers, *optional_dropout(k.dense_dropout), nn.Linear(flat, 1))


def small_net(k: Knobs) -> nn.Sequential:
    """Return a bottleneck CNN: 3 stride-2 convs (8, 16, 16 channels) -> global average pool -> 1
    (3.6k weights)."""
    layers = conv_blocks(1, (8, 16, 16), dropout=k.conv_dropout)
    pooled = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), *optional_dropout(k.dense_dropout)]
    return nn.Sequential(*layers, *pooled, nn.Linear(16, 1))


class _AutoEncoder(nn.Sequential):
    """Encoder -> decoder, the output cropped to the input's size."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return super().forward(inputs)[..., : inputs.shape[-2], : inputs.shape[-1]]


def _prepare(x: torch.Tensor, downscale: int, pixels: str) -> torch.Tensor:
    if pixels != "standardized":
        # the standardized images have mean ~0 and sd ~1; as 8-bit grey levels: 128 + 42 x,
        # clipped and rounded
        x = (128 + 42 * x).clamp(0, 255).round()
    return F.avg_pool2d(x, downscale) if downscale > 1 else x


def _fit_on_cpu(seed: int, net: nn.Module, data: Data, loss: str, cfg: TrainConfig) -> None:
    """Train ``net`` on the CPU, for a frozen part of a case's model (nothing reads its History)."""
    criterion = make_loss(loss)  # also the metric
    setup = Setup(net, criterion, data, cfg, metrics={"loss": criterion}, metric_name="loss")
    cpu, generator = torch.device("cpu"), torch.Generator().manual_seed(seed)
    fit(setup, history=History(), device=cpu, generator=generator)


# Both run on a forked global RNG: whether the cache was warm must not change the caller's random
# state (the head's initial weights are drawn from it right after).
@functools.lru_cache(maxsize=8)
def _pretrained_state(seed: int, downscale: int, pixels: str) -> dict[str, torch.Tensor]:
    """Pretrain ``backbone(1, (16, 32))`` on 1500 stripe images at 4 other orientations, once per
    seed (0.5-2 s); return its weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x, y = stripe_pretraining_images(seed)
        net = nn.Sequential(backbone(1, (16, 32)), nn.Linear(32, 4))
        data = Data(_prepare(x, downscale, pixels), y)
        cfg = TrainConfig(epochs=PRETRAIN_EPOCHS, batch_size=64, optimizer="adam", lr=3e-3)
        _fit_on_cpu(seed, net, data, "cross-entropy", cfg)
    return {k: v.clone() for k, v in net[0].state_dict().items()}


@functools.lru_cache(maxsize=8)
def _encoder_state(seed: int, downscale: int, pixels: str, n_train: int) -> dict[str, torch.Tensor]:
    """Train a conv autoencoder to reconstruct the training images (no labels) once per seed;
    return its encoder's weights (they load into ``backbone(1, (16, 32))``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x = _prepare(stripe_images(seed, n_train=n_train).x_train, downscale, pixels)
        encoder = nn.Sequential(*conv_blocks(1, (16, 32)))
        decoder = nn.Sequential(
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1),
        )
        net = keras_init(_AutoEncoder(encoder, decoder))
        cfg = TrainConfig(epochs=AUTOENCODER_EPOCHS, batch_size=8, optimizer="adam", lr=3e-3)
        _fit_on_cpu(seed, net, Data(x, x), "mse", cfg)
    return {k: v.clone() for k, v in encoder.state_dict().items()}


def _mechanism_probe(logits_of: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Probe:
    """Return a probe: in evaluation mode, how many training images are wrong, how many are stuck,
    the largest |logit|."""

    def probe(model: nn.Module, _optimizer: torch.optim.Optimizer) -> dict[str, float]:
        model.eval()  # fit probes in training mode
        z = logits_of(x.to(next(model.parameters()).device))
        model.train()
        wrong = (z > 0).to(y.dtype) != y.to(z.device)
        return {
            "eval_wrong": float(wrong.sum()),
            "stuck_wrong": float((wrong & (z.abs() > SATURATED_LOGIT)).sum()),
            "max_abs_logit": float(z.abs().max()),
        }

    return probe


def build(k: Knobs, generator: torch.Generator) -> Setup:
    seed = data_seed(generator)
    raw = stripe_images(seed, n_train=k.n_train)
    x_train, x_val, x_test = (
        _prepare(x, k.downscale, k.pixels) for x in (raw.x_train, raw.x_val, raw.x_test)
    )
    data = Data(x_train, raw.y_train, x_val, raw.y_val, x_test, raw.y_test)
    params = None
    if k.model == "big":
        body = keras_init(big_net(tuple(data.x_train.shape[-2:]), k))
    elif k.model == "small":
        body = keras_init(small_net(k))
    else:
        features = backbone(1, (16, 32))
        if k.model == "pretrained":
            features.load_state_dict(_pretrained_state(seed, k.downscale, k.pixels))
        else:
            features.load_state_dict(_encoder_state(seed, k.downscale, k.pixels, k.n_train))
        features.requires_grad_(False)
        out = keras_init(nn.Linear(32, 1))
        body = nn.Sequential(features, *optional_dropout(k.dense_dropout), out)
        params = list(out.parameters())
    sigmoid = k.loss != "bce-logits"
    model = nn.Sequential(body, nn.Sigmoid()) if sigmoid else body
    probe = _mechanism_probe(body, data.x_train, data.y_train) if k.model == "big" else None
    augments = {(True, False): flip_and_shift, (False, True): resized_crop, (True, True): _both}
    metrics = {"accuracy": binary_accuracy(0.5 if sigmoid else 0.0)}
    more = {"augment": augments.get((k.augment, k.crop)), "params": params, "probe": probe}
    return case_setup(k, model, make_loss(k.loss), data, metrics, **more)


def train_swing(h: History) -> tuple[float, int]:
    """Return (range / mean level, number of direction changes) of the epoch training loss from
    epoch 2 on."""
    loss = h.train_loss[1:]
    if len(loss) < 3 or not all(map(math.isfinite, loss)):
        return 0.0, 0
    level = sum(loss) / len(loss)
    reversals = sum(1 for a, b, c in zip(loss, loss[1:], loss[2:]) if (b - a) * (c - b) < 0)
    return ((max(loss) - min(loss)) / level if level > 0 else 0.0), reversals


TEST_ACCURACY = 0.9  # healthy: the test accuracy lesson 02 states for the fix (chance is 0.5)


def checks(h: History) -> dict[str, bool]:
    flat = rules.flat_validation(h.val_loss, h.train_loss)
    return {
        "training loss swings between epochs": gradual.oscillation(h.train_loss) is not None,
        "validation loss is exactly flat (a frozen model)": flat is not None,
    }


def health(h: History) -> dict[str, bool]:
    acc = h.final.get("test_accuracy", float("nan"))
    return {f"test accuracy {acc:.2f} (needs at least {TEST_ACCURACY})": acc >= TEST_ACCURACY}


CASE = Case(
    name="oscillating-loss",
    title="Why does my training loss jump up and down while my validation loss stays flat?",
    symptom="With 35 training images my training loss oscillates wildly between epochs and my "
    "validation loss does not move at all.",
    lesson="02_training_loss_oscillates.ipynb",
    defaults=Knobs(),
    code="flat-validation",
    fixes={
        "pretrained backbone": dict(model="pretrained", lr=1e-2, dense_dropout=0.0, batch_size=8)
    },
    tries={
        "small model": {
            "model": "small",
            "lr": 1e-2,
            "conv_dropout": 0.0,
            "dense_dropout": 0.0,
            "batch_size": 8,
            "epochs": 60,
        },
        "lower learning rate": {"lr": 1e-3},
        "no dropout": {"conv_dropout": 0.0, "dense_dropout": 0.0},
    },
    build=build,
    checks=checks,
    health=health,
)
