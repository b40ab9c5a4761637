"""Case 4: the loss falls for a long time, then shoots up by orders of magnitude (Adam's epsilon).

Adam moves each weight by lr * m / (sqrt(v) + eps), where v is a running mean of squared
gradients. When a model can reach zero loss (here: 64 line images regressed onto one-hot targets
with MSE), the gradients and so sqrt(v) keep shrinking for a long time while the model sits still
near the minimum. The *effective* per-weight learning rate lr / (sqrt(v) + eps) therefore keeps
growing: with eps=1e-8 nothing caps it, since sqrt(v) is still ~2e-5, 2000x larger than eps. Once
the effective step is too large for the minimum's curvature (Adam with beta1=0.9 is stable while
sharpness x effective lr < 2(1+beta1)/(1-beta1) = 38; measured: 6 at step 100, 39 at the jump) the
minimum becomes unstable and the loss shoots up by 10-16 orders of magnitude in a few dozen steps,
then settles and bursts again. A larger eps (1e-2) caps the effective lr at lr/eps, so it stays
smooth; cross-entropy has no reachable minimum, so there is nothing to overshoot. logcosh, which
the thread reported as "working", behaves like MSE near zero and jumps too on these linear outputs.

The thread's own setup (2-way softmax + BCE) has no reachable minimum and did not blow up in any
prototype; regression onto one-hot targets is the closest version that fails robustly (20/20 seeds).
The jump is only visible on a log axis (its peak is ~0.5 % of the first loss), or on a linear axis
over the late part of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data import line_images
from ..history import History
from ..knobs import Choice, FloatRange, IntRange, knob
from ..metrics import one_hot_accuracy
from ..models import mlp
from ..train import Setup, TrainConfig, make_loss
from ..view import View
from .base import Case


@dataclass(frozen=True)
class Knobs:
    eps: float = knob(1e-8, FloatRange(1e-10, 1.0, log=True), "Adam epsilon: added to sqrt(v) in each step's denominator", train=True)
    lr: float = knob(1e-2, FloatRange(1e-5, 1.0, log=True), "Adam learning rate", train=True)
    loss: str = knob("mse", Choice(("mse", "cross-entropy", "logcosh")), "loss between the raw outputs and the one-hot targets")
    epochs: int = knob(3000, IntRange(1, 50000), "full-batch steps (one step per epoch: 64 images)", train=True)
    optimizer: str = knob("adam", Choice(("adam", "sgd", "momentum")), "optimizer", train=True)
    schedule: str = knob("constant", Choice(("constant", "step", "cosine", "plateau")), "learning-rate schedule", train=True)


def build(k: Knobs, generator: torch.Generator) -> Setup:
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    train = TrainConfig.from_knobs(k, batch_size=0)  # full batch: one step per epoch
    return Setup(mlp((1024, 64, 2)), make_loss(k.loss), line_images(seed), train,
                 {"accuracy": one_hot_accuracy}, "accuracy")


LOW_LOSS = 1e-6  # "a very low loss": the minimum falls below this fraction of the first loss
JUMP_FACTOR = 1e3  # the loss jumps above this multiple of its lowest value so far ...
JUMP_FLOOR = 1e-6  # ... and above this fraction of the first loss (ignores float32 wobble near 1e-17)
SMOOTH_FRACTION = 0.3  # the jump comes after at least this fraction of the run


def jump_step(loss: list[float]) -> int | None:
    """Return the first step after SMOOTH_FRACTION of the run where the loss jumps, or None."""
    if not loss:
        return None
    runmin = loss[0]
    for i, v in enumerate(loss):
        if i >= SMOOTH_FRACTION * len(loss) and v > JUMP_FACTOR * runmin and v > JUMP_FLOOR * loss[0]:
            return i
        runmin = min(runmin, v)
    return None


def checks(h: History) -> dict[str, bool]:
    """Return the named checks of the symptom: a long descent to a tiny loss, then a late jump."""
    loss = h.train_loss
    return {
        "loss gets very low": bool(loss) and min(loss) < LOW_LOSS * loss[0],
        "then jumps 1000x above its lowest, late in the run": jump_step(loss) is not None,
    }


CASE = Case(
    name="adam-epsilon",
    title="Why does my loss suddenly shoot up after 1500 good epochs?",
    symptom="My loss fell smoothly for about 1500 epochs, then suddenly shot up by orders of magnitude.",
    lesson="04_loss_explodes_after_long_training.ipynb",
    defaults=Knobs(),
    fixes={
        "larger epsilon": {"eps": 1e-2},
        "cross-entropy loss": {"loss": "cross-entropy"},
        "logcosh loss (does not help here)": {"loss": "logcosh"},
    },
    build=build,
    checks=checks,
    view=View(per="step", scale="log"),
)
