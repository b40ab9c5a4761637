"""How sure, what else it could be, what to try next, and a one-line description of the curves.

Each finding gets: a confidence (how far its evidence clears the rule's thresholds, and whether the log is an
excerpt), the causes that fit the same curves ranked most likely first, each with the cheapest experiment that
tells it apart from the others, and a plain-text line describing the curves (for screen readers and for pasting
back into a question).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from . import gradual, rules
from .logs import load_run

# Ranked causes that fit each finding's curves, each with the cheapest experiment that tells it apart.
CAUSES: dict[str, tuple[tuple[str, str], ...]] = {
    "negative-loss": (
        ("NLLLoss (or a log-likelihood) fed raw outputs instead of log-probabilities",
         "print exp(output).sum(dim=1) for one batch: if the rows do not sum to 1, LogSoftmax is missing"),
        ("a loss that is negative by design (Gaussian NLL, a contrastive objective)",
         "check the loss's formula: if it can go below 0, a negative value is not a failure")),
    "flat-validation": (
        ("the model collapsed to one answer for every input (saturated sigmoid, dead ReLUs, too high a learning rate)",
         "predict 10 validation images: identical outputs mean a collapsed model"),
        ("the pipeline cannot learn at all (labels misaligned, weights frozen, optimizer not stepping)",
         "train on 100 samples: a pipeline that cannot overfit them is broken"),
        ("validation is computed wrongly (the same batch, the model not in eval mode, a stale copy)",
         "evaluate the training set with the validation code: it should match the training loss")),
    "late-explosion": (
        ("Adam's eps too small: near a minimum the effective step lr / (sqrt(v) + eps) grows without bound",
         "rerun from a checkpoint before the jump with eps=1e-3: if it stays down, eps was the cause"),
        ("a learning rate too high for the end of training", "rerun from that checkpoint with lr/10")),
    "diverged": (
        ("a learning rate too high: the weights overflow", "rerun with lr/10 (or clip gradients at 1.0)"),
        ("NaN/inf or extreme values in the inputs or targets",
         "check every batch: torch.isfinite(x).all() and torch.isfinite(y).all()"),
        ("log(0) or division by 0 in a hand-written loss", "use CrossEntropyLoss / BCEWithLogitsLoss instead")),
    "oscillation": (
        ("steps too large for the problem", "halve the learning rate: if the swings shrink, the steps were too large"),
        ("a frozen model whose loss only follows each batch's class mix",
         "look at validation loss: exactly constant means the model is frozen (flat-validation)"),
        ("tiny batches or a tiny dataset", "double the batch size: if the swings halve, it is batch noise")),
    "validation-oscillation": (
        ("a small or unrepresentative validation set",
         "evaluate one checkpoint on two halves of the validation set: if the halves differ as much as the epochs "
         "do, the set is too small"),
        ("steps so large that every epoch ends at a different point", "halve the learning rate"),
        ("batch-norm or dropout behaving differently in eval mode",
         "evaluate the training set in eval mode: if it is much worse than the training loss, check model.eval()")),
    "train-loss-rises": (
        ("an effective learning rate grown too large late in training (weight decay shrinking batch-normalised "
         "weights, no schedule)", "halve the learning rate from the best epoch on: if the rise goes away, it was "
                                  "the step size"),
        ("the training data change over time (curriculum, unshuffled or drifting data)",
         "train two epochs on a fixed subset: a loss that still rises is the optimiser, not the data")),
    "no-generalization": (
        ("preprocessing removed the signal that predicts the label (e.g. scaling each sample or window on its own)",
         "shuffled-label control: train on shuffled labels; if validation behaves the same, the inputs carry no "
         "signal the model uses"),
        ("validation data drawn differently from the training data (other period, other source, leakage)",
         "validate on a random slice of the training data: if that is fine, the split is the problem"),
        ("far too few samples for the model", "train on 100 samples: it should overfit them; then add data")),
    "overfitting": (
        ("the model fits details of the training set that do not generalise",
         "keep the best epoch (early stopping) and add weight decay or augmentation: if the turn comes later, "
         "it was overfitting"),
        ("validation data unlike the training data", "compare the losses of a random training slice held out")),
}
CAUSES.update({
    "per-sample-scaling": (("scaling each window on its own removed the signal",
                            "fit one scaler on the training split and rerun: validation should now fall"),),
    "scaler-before-split": (("validation statistics leaked into training",
                             "split first, fit on the training split, rerun: validation gets (honestly) worse"),),
    "oversized-dense": (("the dense layer memorises the training set",
                         "train on 100 samples: it will fit them perfectly; then shrink the layer and compare "
                         "validation"),),
    "small-adam-eps": (("Adam's effective step grows without bound near a minimum",
                        "rerun the last stretch with eps=1e-3 (or a decaying schedule): it should stay down"),),
    "nll-without-log-softmax": (("NLLLoss gets raw outputs", "add LogSoftmax(dim=1) (or use CrossEntropyLoss) and "
                                 "rerun one epoch: the loss stays >= 0"),),
})

# Confidence from the margin by which the evidence clears its thresholds (1.0 = just at the threshold).
SURE = {"negative-loss": 0.95, "diverged": 0.95, "flat-validation": 0.85, "late-explosion": 0.8}  # unambiguous shapes
BASE, FULL_MARGIN, CAP = 0.45, 0.5, 0.9  # gradual findings: BASE at the threshold, CAP once the evidence clears it
# by FULL_MARGIN (50 %), linear in between
GRADUAL = ("oscillation", "validation-oscillation", "train-loss-rises", "no-generalization", "overfitting")
EXCERPT_PENALTY = 0.1  # an excerpt hides what came before: a little less sure
WORDS = ((0.8, "high"), (0.6, "medium"), (0.0, "low"))


def margin(code: str, numbers: dict[str, float]) -> float:
    """Return by how much the evidence clears the rule's thresholds (>= 1), from the numbers the rule reported."""
    try:
        if code == "overfitting":
            return numbers["last_val"] / numbers["best_val"] / gradual.DRIFT_RISE
        if code == "train-loss-rises":
            return numbers.get("factor", numbers["risen_to"] / numbers["best"]) / gradual.CREEP_RISE
        if code == "no-generalization":
            return numbers["last_val"] / numbers["best_val"] / rules.NO_GEN_VAL_RISE
        if code in ("oscillation", "validation-oscillation"):
            return numbers["swings"] / max(gradual.ZIGZAG_REVERSALS, gradual.ZIGZAG_RATE * (numbers["epochs"] - 1))
    except (KeyError, ZeroDivisionError):
        pass
    return 1.0


def confidence(code: str, numbers: dict[str, float], mid_run: bool = False) -> float:
    """Return a confidence in [0, 1] for a finding (setup checks read the setup itself: high)."""
    if code in SURE:
        value = SURE[code]
    elif code in GRADUAL:
        value = BASE + (CAP - BASE) * min(max(margin(code, numbers) - 1.0, 0.0) / FULL_MARGIN, 1.0)
    else:
        value = 0.9
    return round(max(value - (EXCERPT_PENALTY if mid_run else 0.0), 0.05), 2)


def word(value: float) -> str:
    """Return "high", "medium" or "low" for a confidence."""
    return next(w for limit, w in WORDS if value >= limit)


def alternatives(code: str) -> tuple[tuple[str, str], ...]:
    """Return ((cause, experiment), ...) for ``code``, most likely first."""
    return CAUSES.get(code, ())


def _pct(a: float, b: float) -> str:
    return f"{100 * (b / a - 1):+.0f} %" if a else "n/a"


def describe_curves(train: Sequence[float], val: Sequence[float] = (), steps: Sequence[float] = (),
                    first_epoch: int = 1) -> str:
    """Return one line describing the curves, e.g. "validation lowest at epoch 6 (0.465), +9 % by epoch 10 while
    training fell 20 %" (epochs counted as the log counts them)."""
    parts: list[str] = []

    def finite(c: Sequence[float]) -> list[float]:
        out = []
        for v in c:
            if not math.isfinite(v):
                break
            out.append(v)
        return out

    def epoch(i: int) -> int:
        return first_epoch + i

    for name, curve in (("training", train), ("validation", val)):
        if not curve:
            continue
        good = finite(curve)
        bad = "" if len(good) == len(curve) else f", NaN/inf from epoch {epoch(len(good))}"
        if not good:
            parts.append(f"{name} NaN/inf from epoch {epoch(0)}")
            continue
        low = min(range(len(good)), key=good.__getitem__)
        if name == "validation" and 0 < low < len(good) - 1 or name == "training" and low < len(good) - 1 - 1:
            parts.append(f"{name} lowest at epoch {epoch(low)} ({good[low]:.4g}), {_pct(good[low], good[-1])} by "
                         f"epoch {epoch(len(good) - 1)}{bad}")
        else:
            verb = "fell" if good[-1] < good[0] else "rose"
            parts.append(f"{name} {verb} from {good[0]:.4g} to {good[-1]:.4g} ({_pct(good[0], good[-1])}) over "
                         f"epochs {epoch(0)}-{epoch(len(good) - 1)}{bad}")
    if len(parts) == 2:  # validation first: it is what a reader of a training question looks at
        parts = [f"{parts[1]}, while {parts[0]}"]
    if not parts and steps:
        good = finite(steps)
        low = min(range(len(good)), key=good.__getitem__) if good else 0
        parts.append(f"{len(steps)} logged steps: first {steps[0]:.4g}, lowest {good[low]:.4g} at step {low + 1}, "
                     f"last {steps[-1]:.4g}")
    return "; ".join(parts) or "no loss values"


def describe(run: Any) -> str:
    """Return the one-line description of ``run``'s curves (anything ``load_run`` reads)."""
    c = load_run(run)
    return describe_curves(c.train_loss, c.val_loss, c.step_loss, c.first_epoch)
