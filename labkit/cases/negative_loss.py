"""Case 3: the loss goes negative and runs off to -8000 while accuracy falls (datascience post
57185).

The asker fed ``nn.NLLLoss`` the raw output of a CNN (4-channel images, 3 classes; here 54 / 45 /
1 %) trained with Adam at lr 1e-6; the thread's numbers: loss -1.906, -72.720, -573.684, -2662.921,
-8421.151, validation accuracy 0.056 then 0.014. NLLLoss expects log-probabilities and returns minus
the input at the target class, which has no floor: the target logit grows without bound while the
model ends up answering one class for everything. ``CrossEntropyLoss`` or a final ``LogSoftmax``
fixes it; class weights make the 1 % class visible to the loss. ``val_labels`` codes the validation
labels differently from the training ones (one way to get accuracy below chance).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data import imbalanced_images
from ..diagnosis import rules
from ..history import History
from ..knobs import Choice, Flag, IntRange, knob
from ..metrics import accuracy, recall
from ..models import conv2d_net
from ..train import Metric, Setup, make_loss
from ..view import View
from .base import DROPOUT, EPS, LR, Case, case_setup, data_seed, last, schedule_knob

CLASSES = 3


def predicted_share(cls: int) -> Metric:
    """Return the metric: the share of argmax predictions that are class ``cls``."""

    def metric(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (output.argmax(dim=1) == cls).float().mean()

    return metric


@dataclass(frozen=True)
class Knobs:
    loss: str = knob(
        "nll",
        Choice(("nll", "cross-entropy")),
        "criterion on the model's output: NLLLoss (as in the thread) or CrossEntropyLoss",
    )
    class_weights: bool = knob(False, Flag(), "weight each class by 1/frequency in the loss")
    lr: float = knob(3e-3, LR, "learning rate (the thread: Adam at 1e-6)")
    eps: float = knob(1e-8, EPS, "Adam epsilon")
    dropout: float = knob(0.0, DROPOUT, "dropout before the dense layers")
    epochs: int = knob(10, IntRange(1, 200), "passes over the training images")
    batch_size: int = knob(64, IntRange(1, 4096), "images per step")
    optimizer: str = knob("adam", Choice(("adam", "sgd", "momentum")), "optimizer")
    schedule: str = schedule_knob()
    log_softmax: bool = knob(
        False,
        Flag(),
        "end the model with LogSoftmax(dim=1), so NLLLoss gets the log-probabilities it expects",
    )
    val_labels: str = knob(
        "as stored",
        Choice(("as stored", "0 and 1 swapped")),
        "validation labels as stored, or coded differently from the training ones (classes "
        "0 and 1 swapped)",
    )


def build(k: Knobs, generator: torch.Generator) -> Setup:
    data = imbalanced_images(data_seed(generator))
    # val.csv written with another class coding than train.csv
    if k.val_labels == "0 and 1 swapped":
        data.y_val = torch.tensor([1, 0, 2])[data.y_val]
    weights = None
    if k.class_weights:
        counts = torch.bincount(data.y_train, minlength=CLASSES).float()
        weights = counts.sum() / (len(counts) * counts)
    head = nn.LogSoftmax(dim=1) if k.log_softmax else None
    model = conv2d_net(4, CLASSES, widths=(16, 32), dense=32, dropout=k.dropout, head=head)
    shares = {f"predicted_{c}": predicted_share(c) for c in range(CLASSES)}
    metrics = {"accuracy": accuracy, "recall_minority": recall(2), **shares}
    return case_setup(k, model, make_loss(k.loss, weights), data, metrics)


MAJORITY = 0.54  # share of the largest class
ACCURACY_MARGIN = 0.02  # "stuck at or below the majority class" allows this much above it


def checks(h: History) -> dict[str, bool]:
    negative = rules.negative_loss(h.train_loss, h.val_loss, h.step_loss, h.steps_per_epoch)
    return {
        "the loss goes below 0": negative is not None,
        "validation accuracy stuck at or below the majority class": bool(h.val_metric)
        and max(h.val_metric[1:] or h.val_metric) <= MAJORITY + ACCURACY_MARGIN,
    }


def health(h: History) -> dict[str, bool]:
    end, lowest = last(h.val_metric), min(h.step_loss, default=float("nan"))
    return {
        f"lowest step loss {lowest:.3g} (needs 0 or more)": lowest >= 0,
        f"validation accuracy ends at {end:.2f} (needs above {MAJORITY + ACCURACY_MARGIN:.2f}, "
        "the majority class's share)": end > MAJORITY + ACCURACY_MARGIN,
    }


CASE = Case(
    name="negative-loss",
    title="Why is my loss negative and getting more negative every epoch?",
    symptom="My loss went negative and keeps falling (-1.9, -72.7, -573.7, -2662.9, -8421.2) "
    "while my accuracy gets worse.",
    lesson="03_loss_goes_negative.ipynb",
    code="negative-loss",
    defaults=Knobs(),
    fixes={
        "cross-entropy": {"loss": "cross-entropy"},
        "log-softmax": {"log_softmax": True},
        "class weights": {"loss": "cross-entropy", "class_weights": True},
    },
    build=build,
    checks=checks,
    health=health,
    view=View(per="step", scale="symlog"),
)
