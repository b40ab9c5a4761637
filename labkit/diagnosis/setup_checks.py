"""Setup checks (what UMLAUT does for Keras, here for PyTorch): each reads the model, criterion
and optimizer diagnose() was given (a ``SetupInput``) and returns a Hit or None, and is declared as
its rule's ``detect``, as the curve rules are; codecheck.py reads two of the same causes
(nll-without-log-softmax, small-adam-eps) from code text.
"""

from __future__ import annotations

import inspect
from typing import Callable

import torch
from torch import nn

from .registry import Hit, SetupInput, rule

MAX_DROPOUT = 0.5  # dropout above this drops most units every step
ADAM_EPS_RISK = 1e-8  # Adam eps at or below this leaves the effective learning rate uncapped
LONG_RUN_STEPS = 1000  # ... a risk on runs of at least this many steps ...
LOW_LOSS_FRACTION = 1e-4  # ... or once the loss falls below this share of its first value
MAX_LR = {"adaptive": 1e-2, "sgd": 1.0}  # learning rates above these are very high
_ADAPTIVE = tuple(
    getattr(torch.optim, n) for n in "Adam AdamW RMSprop Adagrad NAdam RAdam Adamax".split()
)
_DROPOUTS = tuple(
    getattr(nn, n)
    for n in "Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout".split()
)
# criterion: (the output layer it applies itself, the code when the model ends in it too)
DOUBLED = {
    nn.CrossEntropyLoss: (nn.Softmax, "softmax-before-cross-entropy"),
    nn.BCEWithLogitsLoss: (nn.Sigmoid, "sigmoid-before-bce-with-logits"),
}


def last_module(model: nn.Module) -> nn.Module:
    """Return the module that produces the output: nn.Sequential's last child, else the last
    registered leaf."""
    while isinstance(model, nn.Sequential) and len(model):
        model = model[-1]
    leaves = [m for m in model.modules() if not list(m.children())]
    return leaves[-1] if leaves else model


def _forward_calls(model: nn.Module, name: str) -> bool:
    """Return True when a hand-written ``forward`` mentions ``name`` (e.g. ``F.log_softmax``): its
    last op is unseen."""
    if isinstance(model, nn.Sequential) or type(model).forward is nn.Module.forward:
        return False
    try:
        return name in inspect.getsource(type(model).forward)
    except (OSError, TypeError):  # defined in a notebook cell or C: no source to read
        return False


def nll_without_log_softmax(s: SetupInput) -> Hit | None:
    """NLLLoss on a model that does not end in LogSoftmax (nor calls log_softmax in ``forward``)."""
    last = last_module(s.model)
    if (
        not isinstance(s.criterion, nn.NLLLoss)
        or isinstance(last, nn.LogSoftmax)
        or _forward_calls(s.model, "log_softmax")
    ):
        return None
    name = type(last).__name__
    why = f"NLLLoss expects log-probabilities, but the model ends in {name}, not LogSoftmax"
    return Hit("nll-without-log-softmax", why, {})


def doubled(criterion: type[nn.Module]) -> Callable[[SetupInput], Hit | None]:
    """Return the check for a model that ends in the output layer ``criterion`` applies itself."""
    layer, code = DOUBLED[criterion]

    def detect(s: SetupInput) -> Hit | None:
        if not (isinstance(s.criterion, criterion) and isinstance(last_module(s.model), layer)):
            return None
        evidence = f"the model ends in {layer.__name__} and the criterion is {criterion.__name__}"
        return Hit(code, evidence, {})

    return detect


rule(
    "nll-without-log-softmax",
    10,
    "NLLLoss without LogSoftmax at the end of the model",
    "NLLLoss takes log-probabilities and returns minus the value at the target class. Fed raw "
    "outputs, that is minus a logit, which has no floor: the loss can go negative and run off "
    "to minus infinity.",
    ("Use CrossEntropyLoss on raw logits", "Or end the model with LogSoftmax(dim=1)"),
    causes=(
        (
            "NLLLoss gets raw outputs",
            "add LogSoftmax(dim=1) (or use CrossEntropyLoss) and rerun one epoch: the loss stays "
            ">= 0",
        ),
    ),
    case="negative-loss",
    cause_of="negative-loss",  # its evidence joins a negative-loss finding
    kind="check",
    needs=("model", "criterion"),
    detect=nll_without_log_softmax,
)
rule(
    "softmax-before-cross-entropy",
    20,
    "Softmax before CrossEntropyLoss",
    "CrossEntropyLoss applies log-softmax itself; a softmax before it squashes the logits, so "
    "gradients shrink and learning stalls.",
    ("Remove the final Softmax and pass raw logits",),
    kind="check",
    needs=("model", "criterion"),
    detect=doubled(nn.CrossEntropyLoss),
)
rule(
    "sigmoid-before-bce-with-logits",
    30,
    "Sigmoid before BCEWithLogitsLoss",
    "BCEWithLogitsLoss applies the sigmoid itself; a second sigmoid squashes the outputs into "
    "(0.5, 0.73) and weakens the gradients.",
    ("Remove the final Sigmoid and pass raw outputs",),
    case="oscillating-loss",
    kind="check",
    needs=("model", "criterion"),
    detect=doubled(nn.BCEWithLogitsLoss),
)


def high_dropout(s: SetupInput) -> Hit | None:
    """A dropout layer that drops more than MAX_DROPOUT."""
    rates = [m.p for m in s.model.modules() if isinstance(m, _DROPOUTS) and m.p > MAX_DROPOUT]
    if not rates:
        return None
    evidence = f"{len(rates)} dropout layer(s) with p up to {max(rates):g} (> {MAX_DROPOUT})"
    return Hit("high-dropout", evidence, {"max_dropout": max(rates)})


rule(
    "high-dropout",
    40,
    "Dropout above 0.5",
    "Dropping more than half of the units each step makes training noisy and slow; the "
    "model may underfit.",
    ("Use dropout 0.1-0.5",),
    kind="check",
    needs=("model",),
    detect=high_dropout,
)


def small_adam_eps(s: SetupInput) -> Hit | None:
    """Adam's eps at or below ADAM_EPS_RISK on a long run or down to a very low loss (the training
    loss per epoch, or per step in a log of steps)."""
    opt = s.optimizer
    eps = min((float(g["eps"]) for g in opt.param_groups if "eps" in g), default=None)
    adam = isinstance(opt, (torch.optim.Adam, torch.optim.AdamW))
    if not (adam and eps is not None and eps <= ADAM_EPS_RISK):
        return None
    curves = s.curves
    steps = len(curves.steps) or max(len(curves.train), len(curves.val)) * curves.steps_per_epoch
    positive = [v for v in curves.train or curves.steps if v > 0]
    if steps >= LONG_RUN_STEPS:
        why = f"{steps} steps"
    elif positive and min(positive) <= LOW_LOSS_FRACTION * positive[0]:
        why = f"loss fell to {min(positive):.3g}"
    else:
        return None
    name = type(opt).__name__
    return Hit("small-adam-eps", f"{name} eps={eps:g} with {why}", {"eps": eps, "steps": steps})


rule(
    "small-adam-eps",
    50,
    "Risk: Adam eps <= 1e-8 on a long run or a very low loss",
    "With a tiny eps the effective learning rate lr / (sqrt(v) + eps) grows without bound as "
    "gradients shrink; long runs near a reachable minimum can then explode.",
    ("Raise eps (e.g. 1e-3)", "Decay the learning rate late in training"),
    causes=(
        (
            "Adam's effective step grows without bound near a minimum",
            "rerun the last stretch with eps=1e-3 (or a decaying schedule): it should stay down",
        ),
    ),
    case="adam-epsilon",
    kind="check",
    needs=("optimizer",),
    detect=small_adam_eps,
)


def high_lr(s: SetupInput) -> Hit | None:
    """A learning rate above MAX_LR for an adaptive optimizer or SGD."""
    kind = "adaptive" if isinstance(s.optimizer, _ADAPTIVE) else "sgd"
    lr = max(float(g.get("lr", 0.0)) for g in s.optimizer.param_groups)
    if not (isinstance(s.optimizer, (*_ADAPTIVE, torch.optim.SGD)) and lr > MAX_LR[kind]):
        return None
    return Hit(
        "high-lr", f"{type(s.optimizer).__name__} lr={lr:g} (> {MAX_LR[kind]:g})", {"lr": lr}
    )


rule(
    "high-lr",
    60,
    "Very high learning rate",
    "Steps this large often overshoot: the loss oscillates, explodes, or the model collapses "
    "to a constant output in the first steps.",
    ("Lower the learning rate 10x, or run a learning-rate finder",),
    case="oscillating-loss",
    kind="check",
    needs=("optimizer",),
    detect=high_lr,
)
