"""Case 5: training loss and accuracy get worse after some epoch.

The asker trained a 1D CNN on healthy vs disease signals (its layers, optimizer and rate only in
unreadable screenshots) and tried batch shuffling, class weights, focal loss and another learning
rate; none helped. This case is one plausible way to get the symptom, not theirs. With batch norm
after every conv, the loss does not change when a conv's weights are scaled, so weight decay keeps
shrinking them once the data gradient has faded, and the *effective* learning rate (lr / |w|^2)
keeps growing under a constant lr. Late in the run the steps become too big for the minimum the
model sits in: training loss and accuracy jump; the jump's large gradients grow the weights again,
and the cycle repeats. Decaying the learning rate removes it; early stopping only stops before it.
``measure=True`` records both after every epoch: ``history.extra["conv_norm"]`` (the three convs'
weights together) and ``["effective_lr"]`` (lr over their mean squared norm).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..data import signals
from ..diagnosis import gradual
from ..history import History
from ..knobs import Choice, Flag, FloatRange, IntRange, is_number, knob, require
from ..metrics import accuracy
from ..models import conv1d_net
from ..train import Setup, make_loss
from ..view import View
from .base import DROPOUT, EPS, LR, Case, case_setup, data_seed, early_stopping_knob, schedule_knob

# signals of 64 samples (3-4 beats each), noise sd 0.3
N_TRAIN, N_VAL, LENGTH, NOISE = 300, 200, 64, 0.3
WIDTHS = (8, 16, 16)  # channels of the three Conv1d -> BatchNorm -> ReLU blocks
FOCAL_GAMMA = 2.0  # the focal-loss package's BinaryFocalLoss(gamma=2), the usual choice
LOSS_OPTIONS = ("cross-entropy", "focal")


class FocalLoss(nn.Module):
    """Focal loss on two-class logits: cross-entropy times (1 - p_true)^gamma, so easy samples count
    less; ``weight`` (per class, as ``nn.CrossEntropyLoss``'s) weights each sample's term and the
    mean."""

    def __init__(self, gamma: float = FOCAL_GAMMA, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        require(is_number(gamma) and gamma >= 0, "gamma", gamma, "gamma >= 0")
        self.gamma = float(gamma)
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits, dim=1).gather(1, target[:, None])[:, 0]
        term = -((1 - logp.exp()) ** self.gamma) * logp
        if self.weight is None:
            return term.mean()
        w = self.weight[target]
        return (w * term).sum() / w.sum()


def make_case_loss(name: str, disease_weight: float) -> nn.Module:
    """Return the criterion ``name`` (one of LOSS_OPTIONS) with class weights (1,
    ``disease_weight``); 1 = unweighted."""
    Choice(LOSS_OPTIONS).check("loss", name)
    weight = None if disease_weight == 1.0 else torch.tensor([1.0, float(disease_weight)])
    return make_loss(name, weight) if name == "cross-entropy" else FocalLoss(FOCAL_GAMMA, weight)


def conv_probe(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """Return the norm of the batch-normalised convs' weights and the effective lr (lr / mean
    |w|^2)."""
    convs = [m.weight for m in model.modules() if isinstance(m, nn.Conv1d)]
    squares = torch.stack([w.pow(2).sum() for w in convs])
    norm, mean_square = torch.stack([squares.sum().sqrt(), squares.mean()]).tolist()
    return {"conv_norm": norm, "effective_lr": optimizer.param_groups[0]["lr"] / mean_square}


@dataclass(frozen=True)
class Knobs:
    schedule: str = schedule_knob(
        "learning-rate schedule (step: /10 at 50 % and 75 % of the run; cosine: down to 1 "
        "%; plateau: x0.3 when the training loss stalls)"
    )
    lr: float = knob(0.1, LR, "base learning rate")
    weight_decay: float = knob(
        1e-2,
        FloatRange(0.0, 0.1),
        "L2 weight decay; with batch norm it shrinks the conv weights, so the effective lr "
        "grows (0: off)",
    )
    optimizer: str = knob(
        "momentum",
        Choice(("momentum", "sgd", "adam")),
        "optimizer (momentum = SGD with momentum 0.9)",
    )
    eps: float = knob(1e-7, EPS, "Adam epsilon (Adam only; 1e-7 is Keras's default)")
    dropout: float = knob(0.0, DROPOUT, "dropout before the last layer (0: none)")
    loss: str = knob(
        "cross-entropy",
        Choice(LOSS_OPTIONS),
        "criterion: cross-entropy, or focal loss (gamma 2) as the asker tried",
    )
    disease_weight: float = knob(
        1.0,
        FloatRange(0.1, 10.0, log=True),
        "class weight of the disease class in the loss, healthy = 1 (1: no class weights)",
    )
    epochs: int = knob(150, IntRange(1, 2000), "passes over the 300 training signals")
    batch_size: int = knob(
        0,
        IntRange(0, N_TRAIN, zero="full batch"),
        f"signals per step, reshuffled every epoch; 0 = all {N_TRAIN} (full batch)",
    )
    early_stopping: int = early_stopping_knob(500)
    restore_best: bool = knob(
        False,
        Flag(),
        "at the end, put back the weights of the best validation epoch (Keras's "
        "restore_best_weights)",
    )
    measure: bool = knob(
        False,
        Flag(),
        "record the conv weight norm and the effective lr after every epoch (history.extra)",
    )


def build(k: Knobs, generator: torch.Generator) -> Setup:
    seed = data_seed(generator)
    model = conv1d_net(1, 2, widths=WIDTHS, batch_norm=True, dropout=k.dropout)
    data = signals(seed, n_train=N_TRAIN, n_val=N_VAL, length=LENGTH, noise=NOISE)
    loss, probe = make_case_loss(k.loss, k.disease_weight), conv_probe if k.measure else None
    return case_setup(k, model, loss, data, {"accuracy": accuracy}, probe=probe)


JUMP_FACTOR = 10.0  # training loss climbs above this multiple of its best so far
WARMUP_EPOCHS = 20  # rises before this epoch are early training, not the symptom
ACCURACY_DROP = 0.95  # training accuracy falls below this after having passed it
# healthy: the training set fit (the failing run and the fixes reach 1.0 before any jump) ...
FIT = 0.99


def first_jump(
    train_loss: list[float], factor: float = JUMP_FACTOR, after: int = WARMUP_EPOCHS
) -> int | None:
    """Return the first epoch (0-based, at or after ``after``) whose loss exceeds ``factor`` x the
    best before it."""
    best = float("inf")
    for i, v in enumerate(train_loss):
        if i >= after and v > factor * best:
            return i
        best = min(best, v)
    return None


def _first_at(acc: list[float], level: float) -> int | None:
    """Return the first epoch (0-based) whose accuracy reaches ``level``, or None."""
    return next((i for i, a in enumerate(acc) if a >= level), None)


def checks(h: History) -> dict[str, bool]:
    reached = _first_at(h.train_metric, ACCURACY_DROP)
    return {
        "training loss rises after its minimum": gradual.rises(h.train_loss) is not None,
        f"training accuracy drops below {ACCURACY_DROP} after reaching it": reached is not None
        and min(h.train_metric[reached:]) < ACCURACY_DROP,
    }


# healthy: the training set, once fit, stays fit to the end of a run that trained all its epochs
# (the asker's complaint is the drop, even when a long run recovers from it later)
def health(h: History) -> dict[str, bool]:
    acc = h.train_metric
    fit = _first_at(acc, FIT)
    low = min(acc[fit:]) if fit is not None else max(acc, default=float("nan"))
    epochs = h.knobs.get("epochs", len(h.train_loss))
    return {
        (
            f"training accuracy, once at {FIT} (the training set fit), stays at {ACCURACY_DROP} or "
            f"more (lowest after: {low:.2f})"
            if fit is not None
            else f"training accuracy reaches {FIT}, the training set fit (best: {low:.2f})"
        ): fit is not None and low >= ACCURACY_DROP,
        f"trained {h.num_epochs} of {epochs} epochs (needs all; a run stopped early cannot show "
        "whether the rise comes)": h.stopped_epoch is None,
    }


CASE = Case(
    name="train-loss-rises",
    title="Why do my training loss and accuracy get worse after some epoch?",
    symptom="My training loss went down nicely, then after some epoch it started going up and "
    "my training accuracy dropped.",
    lesson="05_training_loss_rises_later.ipynb",
    defaults=Knobs(),
    code="train-loss-rises",
    fixes={"step schedule": {"schedule": "step"}},
    # overfits on 1 of seeds 0-29 (benchmarks/RESULTS.md)
    tries={
        "cosine schedule": {"schedule": "cosine"},
        "reduce on plateau": {"schedule": "plateau"},
        "early stopping (hides it)": {"early_stopping": 10, "restore_best": True},
    },
    build=build,
    checks=checks,
    health=health,
    view=View(per="epoch", scale="log"),
)
