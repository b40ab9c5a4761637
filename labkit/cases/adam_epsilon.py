"""Case 4: the loss falls for a long time, then shoots up and stays up (thread 003, "Adam's
epsilon").

The thread's setup, shrunk to run in under two seconds: 384 + 384 16x16 images of solid vs broken
1-pixel lines (``data.broken_line_images``), the asker's network (``line_net``), Keras 2.x
``binary_crossentropy`` on the softmax outputs (clipped to [1e-7, 1 - 1e-7]: ``train.KerasBCELoss``)
and Keras's Adam (``optim.KerasAdam``: eps added to the uncorrected sqrt(v)), batches of 64, lr
0.045 for 100 epochs (the asker: lr 1e-5 on 250k 32x32 images for 1500 epochs).

What happens (seeds 0-9): the loss is lowest between epochs 19 and 42 and shoots up between epochs
37 and 63 (1-based; 37-79 over seeds 0-29, benchmarks/lesson04_rates.py): the weights and logits
have grown so large that one step throws some samples far onto the wrong side, where the softmax
output for their true class is below the clip and the clipped loss gives *exactly zero* gradient.
Within a few epochs every sample of one class is stuck, the network answers one class for
everything, and the loss sits near half of -log(1e-7) = 16.1 (7.3-8.0 over seeds 0-9). A bigger eps
does not save it (the asker's "changing epsilon still blows up"); a loss computed from the logits
(no clip) or a smaller learning rate does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data import broken_line_images
from ..diagnosis import rules
from ..history import History
from ..knobs import Choice, IntRange, knob
from ..metrics import one_hot_accuracy
from ..models import LinearConvs, keras_init
from ..optim import effective_step, sqrt_v
from ..train import KERAS_CLIP, Probe, Setup, make_loss
from ..view import View
from .base import EPS, LR, Case, case_setup, data_seed, last, schedule_knob

CLIP = KERAS_CLIP  # outputs are clipped to [CLIP, 1 - CLIP] by Keras's binary_crossentropy
IMAGES = 768  # training images: half solid lines, half broken


@dataclass(frozen=True)
class Knobs:
    eps: float = knob(
        1e-7, EPS, "Adam epsilon: added to sqrt(v) in each step's denominator (Keras default 1e-7)"
    )
    lr: float = knob(0.045, LR, "learning rate (the asker: 1e-5 on far more data)")
    loss: str = knob(
        "keras-bce",
        Choice(("keras-bce", "cross-entropy", "logcosh")),
        "keras-bce: Keras binary_crossentropy on the softmax outputs (clipped); cross-entropy: "
        "from the logits (no softmax layer, no clip); logcosh: Keras logcosh on the softmax "
        "outputs",
    )
    optimizer: str = knob(
        "keras-adam",
        Choice(("keras-adam", "adam", "sgd", "momentum")),
        "keras-adam: eps added to the uncorrected sqrt(v), as Keras; adam: PyTorch's form",
    )
    batch_size: int = knob(
        64,
        IntRange(0, IMAGES, zero="full batch"),
        f"images per step (0: all {IMAGES}; the asker used 256)",
    )
    epochs: int = knob(
        100,
        IntRange(1, 5000),
        f"passes over the {IMAGES} images ({IMAGES // 64} steps each at batch 64)",
    )
    schedule: str = schedule_knob()


def line_net(softmax: bool = True) -> nn.Sequential:
    """Return the asker's network, shrunk for 16x16 images: ReLU -> Conv(8, 8x8) -> Conv(16, 8x8) ->
    pool -> Dense(2) [-> softmax], with Keras's init (glorot-uniform kernels, zero biases).

    No activation between the convolutions (as in the thread): ``models.LinearConvs`` trains the two
    (``net[1].first``, ``net[1].second``) as the one convolution they make, about 1.7x faster.
    """
    convs = LinearConvs(nn.Conv2d(1, 8, 8), nn.Conv2d(8, 16, 8))
    layers = [nn.ReLU(), convs, nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 2)]
    return keras_init(nn.Sequential(*layers, *([nn.Softmax(dim=1)] if softmax else [])))


PROBED = ("step_median", "step_max", "sqrt_v_median", "stuck_wrong", "max_logit_gap")


def make_probe(x: torch.Tensor, y: torch.Tensor) -> Probe:
    """Return the probe that measures the mechanism after every epoch, on the training images ``x``,
    targets ``y``.

    - step_median / step_max: the effective step lr_t / (sqrt(v) + eps) over all weights (Adam's
      per-weight learning rate; SGD: lr);
    - sqrt_v_median: the median of sqrt(v), the quantity the thread's answer says shrinks (NaN for
      SGD);
    - stuck_wrong: share of the images whose softmax output for the true class is below the clip
      (1e-7): the clipped loss gives them exactly zero gradient;
    - max_logit_gap: the largest |difference of the two logits| over the images.
    """
    truth = y.argmax(dim=1)

    def probe(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, float]:
        device = next(model.parameters()).device
        xs, ts = x.to(device), truth.to(device)
        body = model[:-1] if isinstance(model[-1], nn.Softmax) else model
        logits = body(xs)
        p_true = torch.softmax(logits, dim=1).gather(1, ts[:, None]).squeeze(1)
        step, root = effective_step(optimizer), sqrt_v(optimizer)
        nan = torch.tensor(float("nan"))
        values = [
            _median(step).cpu() if step is not None else nan,
            step.max().cpu() if step is not None else nan,
            _median(root).cpu() if root is not None else nan,
            (p_true < CLIP).float().mean().cpu(),
            (logits[:, 0] - logits[:, 1]).abs().max().cpu(),
        ]
        return dict(zip(PROBED, torch.stack(values).tolist()))

    return probe


def build(k: Knobs, generator: torch.Generator) -> Setup:
    data = broken_line_images(data_seed(generator), n=IMAGES // 2)
    model = line_net(softmax=k.loss != "cross-entropy")
    probe = make_probe(data.x_train, data.y_train)
    return case_setup(
        k, model, make_loss(k.loss), data, {"accuracy": one_hot_accuracy}, probe=probe
    )


FALL = 0.3  # the loss first falls below this fraction of its first epoch's value ...
JUMP = 2.0  # ... then, later, rises above this (about 3x the first epoch's 0.69) ...
TAIL_EPOCHS = 10  # ... and its last TAIL_EPOCHS epochs all stay above JUMP ...
PLATEAU_SPREAD = 0.1  # ... within this fraction of their mean: flat


def jump_epoch(loss: list[float]) -> int | None:
    """Return the first epoch (0-based) after the loss's lowest point so far at which it exceeds
    JUMP, or None."""
    low = 0
    for i, v in enumerate(loss):
        if v > JUMP and loss[low] < FALL * loss[0]:
            return i
        if v < loss[low]:
            low = i
    return None


def blows_up(loss: list[float]) -> bool:
    """Return True when the loss falls, jumps (``jump_epoch``) and its last TAIL_EPOCHS epochs all
    stay above JUMP, flat or not: lesson 04's "falls, jumps and stays up"."""
    return jump_epoch(loss) is not None and min(loss[-TAIL_EPOCHS:]) > JUMP


def plateau(loss: list[float]) -> float | None:
    """Return the mean of the last TAIL_EPOCHS epochs when they are all above JUMP and flat, else
    None."""
    tail = loss[-TAIL_EPOCHS:]
    if len(tail) < TAIL_EPOCHS or min(tail) <= JUMP:
        return None
    mean = sum(tail) / len(tail)
    return mean if max(tail) - min(tail) <= PLATEAU_SPREAD * mean else None


# healthy: training accuracy at the end (the failing run ends below 0.7, the fixes above 0.9)
ACCURACY = 0.9
# healthy: at most this share of the images stuck wrong at the end (one failing run: about half)
STUCK = 0.01


def checks(h: History) -> dict[str, bool]:
    stuck = h.extra.get("stuck_wrong", [])
    return {
        "the loss falls, shoots up and stays up": rules.late_explosion(h.train_loss) is not None,
        "images stuck wrong at the end (zero gradient)": bool(stuck) and stuck[-1] > STUCK,
    }


def health(h: History) -> dict[str, bool]:
    acc, stuck = last(h.train_metric), last(h.extra.get("stuck_wrong", []))
    return {
        f"training accuracy ends at {acc:.2f} (needs at least {ACCURACY})": acc >= ACCURACY,
        f"{stuck:.1%} of the images stuck wrong at the end (needs at most {STUCK:.0%})": stuck
        <= STUCK,
    }


CASE = Case(
    name="adam-epsilon",
    title="Why does my loss suddenly shoot up after 1500 good epochs?",
    symptom="My loss fell steadily for about 1500 epochs, then suddenly shot up and plateaued.",
    lesson="04_loss_explodes_after_long_training.ipynb",
    code="late-explosion",
    defaults=Knobs(),
    fixes={"smaller learning rate": {"lr": 0.01}},
    # eps 1e-2: healthy on 28 of seeds 0-29 with torch 2.13, 30 with 2.14 (RESULTS.md)
    tries={
        "larger epsilon (the answer)": {"eps": 1e-2},
        "loss from the logits (spikes remain)": {"loss": "cross-entropy"},
        "logcosh (the asker's fix)": {"loss": "logcosh"},
    },
    build=build,
    checks=checks,
    health=health,
    view=View(second="stuck_wrong", second_title="share of images stuck wrong (zero gradient)"),
)


def _median(values: torch.Tensor) -> torch.Tensor:
    """Return the (lower) median as torch.median does, through kthvalue: median has no deterministic
    CUDA kernel, and kthvalue selects in linear time (a sort cost the probe ~15x more), NaNs
    counting as the largest."""
    flat = values.flatten()
    return flat.kthvalue((flat.numel() - 1) // 2 + 1).values
