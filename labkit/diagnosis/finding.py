"""The fixed vocabulary of findings, their texts, the code -> case (lesson) map, and the Finding record."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from .. import cases

# Curve codes, most likely cause first: diagnose() sorts findings in this order. A specific cause comes
# before the symptoms it produces: a frozen model (flat validation) makes the training loss swing with each
# batch's class mix, and a late explosion is a training-loss rise, so those are listed after them.
CURVE_CODES = ("negative-loss", "flat-validation", "late-explosion", "diverged", "oscillation",
               "train-loss-rises", "no-generalization", "overfitting")
# Setup codes: risks found in the model / criterion / optimizer that no curve code names.
CHECK_CODES = ("nll-without-log-softmax", "softmax-before-cross-entropy", "sigmoid-before-bce-with-logits", "high-dropout",
               "small-adam-eps", "high-lr")
CODES = CURVE_CODES + CHECK_CODES

# The one place a code maps to a case; the lesson to open is that case's ``lesson``.
CASE_OF_CODE = {
    "negative-loss": "negative-loss",
    "nll-without-log-softmax": "negative-loss",
    "no-generalization": "rising-val-loss",
    "flat-validation": "oscillating-loss",
    "oscillation": "oscillating-loss",
    "high-lr": "oscillating-loss",
    "sigmoid-before-bce-with-logits": "oscillating-loss",
    "late-explosion": "adam-epsilon",
    "small-adam-eps": "adam-epsilon",
    "train-loss-rises": "train-loss-rises",
    "overfitting": "train-loss-rises",  # lesson 05 shows early stopping at the best validation epoch
}

# The code each case's failing run must get first (oscillating-loss: its frozen model is the cause, the swings
# a symptom, so flat-validation comes first and oscillation after it). Tests and the accuracy benchmark use it.
CODE_OF_CASE = {"rising-val-loss": "no-generalization", "oscillating-loss": "flat-validation",
                "negative-loss": "negative-loss", "adam-epsilon": "late-explosion",
                "train-loss-rises": "train-loss-rises"}

_TEXT: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "negative-loss": (
        "The loss went negative",
        "Cross-entropy, NLL, BCE and MSE cannot be below 0. NLLLoss fed raw logits (no LogSoftmax) returns minus "
        "the target logit, which has no floor, so the optimiser drives it to minus infinity.",
        ("Use CrossEntropyLoss on raw logits (or add LogSoftmax before NLLLoss)",
         "Check that the criterion gets what it expects: logits, log-probabilities or probabilities")),
    "flat-validation": (
        "Validation loss is exactly constant: the model gives the same answer to everything",
        "A validation loss that does not move at all means the predictions do not change: the model collapsed to "
        "a constant output (e.g. a saturated sigmoid, whose gradient is exactly 0) and stopped learning.",
        ("Lower the learning rate", "Use BCEWithLogitsLoss on raw outputs instead of sigmoid + BCELoss",
         "Use a smaller model or a pretrained backbone when you have very few images")),
    "late-explosion": (
        "The loss exploded by orders of magnitude after a long smooth descent",
        "With Adam, the step is lr / (sqrt(v) + eps). Near a reachable minimum the gradients, and so sqrt(v), "
        "keep shrinking; with a tiny eps nothing caps the effective learning rate, until the minimum becomes "
        "unstable and the loss jumps. Look at the loss on a log axis.",
        ("Raise Adam's eps (e.g. 1e-3 to 1e-2)", "Decay the learning rate late in training",
         "Stop training once the loss is low enough")),
    "diverged": (
        "The loss became NaN or infinite",
        "Some step produced an overflow (too large a step, log(0), division by 0), and every later value is NaN.",
        ("Lower the learning rate or clip gradients", "Check the inputs and targets for NaN/inf",
         "Use numerically stable losses (CrossEntropyLoss, BCEWithLogitsLoss)")),
    "oscillation": (
        "Training loss swings up and down between epochs",
        "The loss jumps back and forth instead of settling: steps too large for the problem, or a frozen model "
        "whose loss only changes with which samples land in each batch.",
        ("Lower the learning rate", "Use a larger batch", "Check whether validation loss is frozen too")),
    "train-loss-rises": (
        "Training loss rises after reaching its minimum",
        "The loss was low, then climbed well above its best. The effective learning rate became too large for "
        "where the model is (e.g. weight decay shrinking batch-normalised weights), so steps overshoot.",
        ("Use a decaying learning-rate schedule (cosine, step, reduce-on-plateau)",
         "Use early stopping and keep the best epoch", "Lower the learning rate or the weight decay")),
    "no-generalization": (
        "Validation loss rises from the first epochs while training loss falls",
        "The model learns nothing that carries over to new data, only noise it memorises. Often the signal that "
        "predicts the label was removed by preprocessing (e.g. scaling each sample on its own), or the validation "
        "data come from a different distribution.",
        ("Check the preprocessing: scale with statistics of the training split, not per sample",
         "Check that the validation split is drawn like the training data (and does not leak)",
         "Check that the inputs actually predict the labels (a simple baseline)")),
    "overfitting": (
        "Overfitting: validation loss turned up while training loss kept falling",
        "After a point the model fits details of the training set that do not generalise.",
        ("Early stopping at the best validation epoch", "More data or augmentation",
         "Regularise: weight decay, dropout, a smaller model")),
    "nll-without-log-softmax": (
        "NLLLoss without LogSoftmax at the end of the model",
        "NLLLoss takes log-probabilities and returns minus the value at the target class. Fed raw outputs, that is "
        "minus a logit, which has no floor: the loss can go negative and run off to minus infinity.",
        ("Use CrossEntropyLoss on raw logits", "Or end the model with LogSoftmax(dim=1)")),
    "softmax-before-cross-entropy": (
        "Softmax before CrossEntropyLoss",
        "CrossEntropyLoss applies log-softmax itself; a softmax before it squashes the logits, so gradients shrink "
        "and learning stalls.",
        ("Remove the final Softmax and pass raw logits",)),
    "sigmoid-before-bce-with-logits": (
        "Sigmoid before BCEWithLogitsLoss",
        "BCEWithLogitsLoss applies the sigmoid itself; a second sigmoid squashes the outputs into (0.5, 0.73) and "
        "weakens the gradients.",
        ("Remove the final Sigmoid and pass raw outputs",)),
    "high-dropout": (
        "Dropout above 0.5",
        "Dropping more than half of the units each step makes training noisy and slow; the model may underfit.",
        ("Use dropout 0.1-0.5",)),
    "small-adam-eps": (
        "Risk: Adam eps <= 1e-8 on a long run or a very low loss",
        "With a tiny eps the effective learning rate lr / (sqrt(v) + eps) grows without bound as gradients shrink; "
        "long runs near a reachable minimum can then explode.",
        ("Raise eps (e.g. 1e-3)", "Decay the learning rate late in training")),
    "high-lr": (
        "Very high learning rate",
        "Steps this large often overshoot: the loss oscillates, explodes, or the model collapses to a constant "
        "output in the first steps.",
        ("Lower the learning rate 10x, or run a learning-rate finder",)),
}


def lesson_for(code: str) -> str:
    """Return the lesson notebook of the case ``code`` maps to, or "" when none does."""
    name = CASE_OF_CODE.get(code)
    return cases.get(name).lesson if name else ""


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem: what it is, the numbers that show it, why it happens, and what to try."""

    code: str  # one of CODES
    title: str  # one line in the learner's words
    evidence: str  # the numbers and epochs that triggered it
    numbers: dict[str, float] = field(default_factory=dict, hash=False)  # those numbers by name
    explanation: str = ""  # why it happens
    fixes: list[str] = field(default_factory=list, hash=False)  # what to try, best first
    lesson: str = ""  # lesson notebook to open, "" when none covers it

    def __str__(self) -> str:
        lines = [f"[{self.code}] {self.title}", f"  evidence: {self.evidence}", f"  why: {self.explanation}"]
        lines += [f"  try: {fix}" for fix in self.fixes]
        lines += [f"  lesson: {self.lesson}"] if self.lesson else []
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        fixes = "".join(f"<li>{esc(f)}</li>" for f in self.fixes)
        lesson = f"<p>Open <code>{esc(self.lesson)}</code></p>" if self.lesson else ""
        return (f"<div><p><b><code>{esc(self.code)}</code> {esc(self.title)}</b></p>"
                f"<p><i>Evidence:</i> {esc(self.evidence)}</p><p>{esc(self.explanation)}</p>"
                f"<ul>{fixes}</ul>{lesson}</div>")


def make_finding(code: str, evidence: str, numbers: dict[str, Any] | None = None) -> Finding:
    """Return the Finding for ``code`` with its standard title, explanation, fixes and lesson."""
    if code not in _TEXT:
        raise ValueError(f"code={code!r} is not in the vocabulary; allowed: {', '.join(CODES)}")
    title, explanation, fixes = _TEXT[code]
    return Finding(code, title, evidence, dict(numbers or {}), explanation, list(fixes), lesson_for(code))
