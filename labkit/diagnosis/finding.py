"""The fixed vocabulary of findings, their texts, the code -> lesson table, and the Finding record.

Diagnosis imports nothing from ``labkit.cases`` (no import cycle, not even a lazy one): the lesson that
teaches each finding is written out here as data, and tests/test_diagnosis_cases.py checks it against each
case's ``lesson``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from . import advice

# Curve codes, most likely cause first: diagnose() sorts findings in this order. A specific cause comes
# before the symptoms it produces: a frozen model (flat validation) makes the training loss swing with each
# batch's class mix, and a late explosion is a training-loss rise, so those are listed after them.
CURVE_CODES = ("negative-loss", "flat-validation", "late-explosion", "diverged", "oscillation",
               "train-loss-rises", "no-generalization", "overfitting", "validation-oscillation")
# Setup codes: risks found in the model / criterion / optimizer that no curve code names.
CHECK_CODES = ("nll-without-log-softmax", "softmax-before-cross-entropy", "sigmoid-before-bce-with-logits", "high-dropout",
               "small-adam-eps", "high-lr", "per-sample-scaling", "scaler-before-split", "oversized-dense")
CODES = CURVE_CODES + CHECK_CODES

# Which case (thread) each code is the failure of: the five cases' names, written out (tests check them).
CASE_OF_CODE = {
    "negative-loss": "negative-loss",
    "nll-without-log-softmax": "negative-loss",
    "no-generalization": "rising-val-loss",
    "per-sample-scaling": "rising-val-loss",
    "scaler-before-split": "rising-val-loss",
    "flat-validation": "oscillating-loss",
    "oscillation": "oscillating-loss",
    "validation-oscillation": "oscillating-loss",
    "high-lr": "oscillating-loss",
    "sigmoid-before-bce-with-logits": "oscillating-loss",
    "late-explosion": "adam-epsilon",
    "small-adam-eps": "adam-epsilon",
    "train-loss-rises": "train-loss-rises",
}

# The lesson notebook of each case (must equal ``cases.get(name).lesson``; tests/test_diagnosis_cases.py checks).
LESSON_OF_CASE = {
    "rising-val-loss": "01_validation_loss_rises_from_epoch_1.ipynb",
    "oscillating-loss": "02_training_loss_oscillates.ipynb",
    "negative-loss": "03_loss_goes_negative.ipynb",
    "adam-epsilon": "04_loss_explodes_after_long_training.ipynb",
    "train-loss-rises": "05_training_loss_rises_later.ipynb",
}
READING_CURVES = "00_reading_loss_curves.ipynb"  # lesson 00: healthy, underfitting, overfitting, divergence

# The one table saying which lesson teaches which finding. Codes no case covers go to lesson 00 where it
# teaches them: NaN/inf (its "Divergence" section) and overfitting (its "Overfitting" section: training
# falls, validation turns up). Not lesson 05: it shows that a *training* loss that rises is not overfitting;
# not lesson 01: its validation loss rises from epoch 1 because preprocessing removed the signal, and it
# rules overfitting out as the cause.
LESSON_OF_CODE = {code: LESSON_OF_CASE[case] for code, case in CASE_OF_CODE.items()} | {
    "diverged": READING_CURVES,
    "overfitting": READING_CURVES,
    "oversized-dense": READING_CURVES,  # lesson 00's overfitting run: 35 images, 3.9M weights
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
    "validation-oscillation": (
        "Validation loss swings up and down while training loss does not",
        "Validation jumps between epochs with no trend while training behaves: the validation set is small or unlike "
        "the training data, batch-norm statistics differ between train and eval mode, or the steps are so large that "
        "each epoch ends at a different point of a sharp valley.",
        ("Enlarge or stratify the validation set (or average over several)", "Lower the learning rate",
         "Check batch-norm / dropout behaviour in eval mode and that validation gets the same preprocessing")),
    "per-sample-scaling": (
        "A scaler is fitted on each sample or window on its own",
        "Scaling every window to 0-1 by its own min and max erases its level and range, which are often what "
        "predicts the label: the model can then only memorise noise, and validation loss rises from epoch 1.",
        ("Fit one scaler on the training split, then transform every window with it",
         "Or use differences / returns if the level must go, and check a simple baseline first")),
    "scaler-before-split": (
        "A scaler is fitted before the train/validation split",
        "Statistics computed on all the data include the validation data, so validation is no longer unseen.",
        ("Split first, fit the scaler on the training split only, then transform both",)),
    "oversized-dense": (
        "A dense layer with far more weights than training samples",
        "With thousands of weights per training sample the layer can memorise the training set; validation stops "
        "improving early and the run overfits (or, with too small a learning rate, barely moves).",
        ("Pool more before flattening (global average pooling)", "Use a smaller dense layer or a pretrained backbone",
         "Get more data or augment")),
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
    """Return the lesson notebook that teaches ``code``, or "" when none does."""
    return LESSON_OF_CODE.get(code, "")


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
    confidence: float = 1.0  # 0-1: how far the evidence clears the rule's thresholds (lower for excerpts)
    causes: tuple[tuple[str, str], ...] = ()  # ((cause, cheapest experiment that tells it apart), ...), likeliest first

    @property
    def sure(self) -> str:
        """Return the confidence in a word: "high", "medium" or "low"."""
        return advice.word(self.confidence)

    @property
    def next_experiment(self) -> str:
        """Return the cheapest experiment that tells the likeliest cause from the others ("" when none is listed)."""
        return self.causes[0][1] if self.causes else ""

    def __str__(self) -> str:
        lines = [f"[{self.code}] {self.title} (confidence {self.sure}, {self.confidence:.2f})",
                 f"  evidence: {self.evidence}", f"  why: {self.explanation}"]
        lines += [f"  cause {i}: {cause} -- test: {test}" for i, (cause, test) in enumerate(self.causes, 1)]
        lines += [f"  try: {fix}" for fix in self.fixes]
        lines += [f"  lesson: {self.lesson}"] if self.lesson else []
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        fixes = "".join(f"<li>{esc(f)}</li>" for f in self.fixes)
        lesson = f"<p>Open <code>{esc(self.lesson)}</code></p>" if self.lesson else ""
        causes = "".join(f"<li>{esc(c)} <i>Test:</i> {esc(t)}</li>" for c, t in self.causes)
        causes = f"<p>Possible causes, likeliest first:</p><ol>{causes}</ol>" if causes else ""
        return (f"<div><p><b><code>{esc(self.code)}</code> {esc(self.title)}</b> (confidence {esc(self.sure)})</p>"
                f"<p><i>Evidence:</i> {esc(self.evidence)}</p><p>{esc(self.explanation)}</p>{causes}"
                f"<ul>{fixes}</ul>{lesson}</div>")


def make_finding(code: str, evidence: str, numbers: dict[str, Any] | None = None, mid_run: bool = False) -> Finding:
    """Return the Finding for ``code`` with its standard title, explanation, fixes, lesson, confidence and causes.

    ``mid_run``: the evidence comes from an excerpt of a run (lowers the confidence).
    """
    if code not in _TEXT:
        raise ValueError(f"code={code!r} is not in the vocabulary; allowed: {', '.join(CODES)}")
    title, explanation, fixes = _TEXT[code]
    numbers = dict(numbers or {})
    return Finding(code, title, evidence, numbers, explanation, list(fixes), lesson_for(code),
                   advice.confidence(code, numbers, mid_run), advice.alternatives(code))
