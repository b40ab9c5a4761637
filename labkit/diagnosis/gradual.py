"""The slow shapes: oscillation (``standout_swings`` or a zig-zag, ``swings``), train-loss-rises (a
``sudden_rise`` or a ``creep``), overfitting and validation oscillation.

Pure functions of loss curves returning a Hit or None, each declared once with ``rule(...)``. A rise
must also stand out of the curve's own noise (the median epoch-to-epoch change), so a noisy plateau
is not a trend. The thresholds were frozen before the held-out logs (tests/data/real_logs_heldout/)
were scored (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
from statistics import median

from .registry import READING_CURVES, Hit, rule
from .rules import (
    NO_GEN_MIN_EPOCHS,
    SMOOTH_EPOCHS,
    TREND_RISE,
    VISIBLE,
    Curve,
    _argmin,
    _finite,
    _paired,
    _rise_margin,
    _smooth,
    _tail,
    learned,
)

# a swing: a peak that rises from the turning point before it and falls to the one after it by this
# share of the curve's range (a climb over two epochs and a fall over one is one swing) ...
OSC_PROMINENCE = 0.2
# ... and by this share of the loss there (smaller wobbles are batch noise: an epoch mean over many
# batches moves a few % on a plateau)
OSC_MIN_RELATIVE = 0.05
OSC_SWING_RATE = 0.1  # oscillation: a swing per 10 epochs or more (a pattern, not an incident)
OSC_MIN_SWINGS = 3  # ... and at least this many (two could be chance; "again and again" is three)

# a sudden rise: training loss climbs to this multiple of its lowest so far (batch noise moves an
# epoch mean within ~1.5x; three times is a jump no noise makes) ...
RISE_FACTOR = 3.0
RISE_MIN_EPOCHS = 2  # ... for at least this many epochs in a row (one bad epoch is noise)
# ... after it had fallen below this share of its first value (halved: it had learnt, not a warm-up
# bump), to at least VISIBLE of its first value (not round-off), and it ends (mean of the last
# SMOOTH_EPOCHS) TREND_RISE above its best before the rise (a spike it came back from is not)
RISE_DESCENT = 0.5

# a rise counts when at least this many times the median epoch-to-epoch change from the minimum on
# (an early spike must not hide a later trend): a trend outgrows the curve's typical single step by
# half again, or one ordinary step up would make it
NOISE_MULTIPLE = 1.5

# a turn (creep, overfitting): the curve ends TREND_RISE above its smoothed minimum at least this
# many points after it (SMOOTH_EPOCHS: one smoothed point's span)
TURN_AFTER = SMOOTH_EPOCHS
# a creep needs this many points (a minimum, TURN_AFTER after it and the last SMOOTH_EPOCHS fit)
CREEP_MIN_POINTS = 6
# overfitting: as validation turns, training loss ends below this share of its level at the minimum
# (still falls) and by at least VISIBLE of its first value: a converged model whose training loss no
# longer moves on a linear axis fits nothing new (rising-val-loss's fix: 0.0022 -> 0.0015 of 0.15)
OVERFIT_TRAIN_FALL = 0.9
# ... and the rise is this share of the first validation loss (round-off near 0: large ratios)
OVERFIT_VISIBLE = 0.02

# a zig-zag move: an epoch-to-epoch change of at least this share of the median level (a training
# loss averages over dropout, augmentation and changing weights: a plateau wobbles 10-20 %) ...
ZIGZAG_MOVE = 0.25
# ... of validation: this share (fixed data in eval mode: a 10 % jump back and forth means the
# model itself jumps between epochs)
ZIGZAG_VAL_MOVE = 0.1
ZIGZAG_REVERSALS = OSC_MIN_SWINGS  # at least this many moves reverse the one before ...
ZIGZAG_RATE = 0.3  # ... and at least this many per point (training loss)
# ... (validation loss) at least every other epoch: a converged model's validation wiggle turns less
# (at 0.3, rising-val-loss's fix on seed 26 and negative-loss's class weights on seed 8 oscillated)
ZIGZAG_VAL_RATE = 0.5
# ... and the typical move is this share of the curve's range (not a wobble on a long descent)
ZIGZAG_RANGE_SHARE = 0.15


def noise(curve: Curve) -> float:
    """Return the median absolute change between consecutive points of ``curve``."""
    steps = [abs(b - a) for a, b in zip(curve, curve[1:])]
    return median(steps) if steps else 0.0


def _turn(
    curve: list[float], steady_counts: bool = False
) -> tuple[list[float], int, float, float] | None:
    """Return (the smoothed curve, its minimum's index, the rise after it, the noise) when ``curve``
    ends (mean of the last SMOOTH_EPOCHS) TREND_RISE above that minimum, TURN_AFTER points or more
    after it, by NOISE_MULTIPLE times its noise from there on (``steady_counts``: or up every point
    since: the steps are then the trend itself); else None."""
    smooth = _smooth(curve)
    best = _argmin(smooth)
    end = _tail(curve)
    if len(curve) - 1 - best < TURN_AFTER or end < TREND_RISE * smooth[best]:
        return None
    rise, wobble = end - smooth[best], noise(curve[max(best - 1, 0) :])
    steady = steady_counts and all(y > x for x, y in zip(curve[best:], curve[best + 1 :]))
    if rise < NOISE_MULTIPLE * wobble and not steady:
        return None
    return smooth, best, rise, wobble


def creep(train_loss: Curve, mid_run: bool = False) -> Hit | None:
    """Return a ``train-loss-rises`` hit when the smoothed training loss climbs back above its
    minimum and stays (in a whole run, not ``mid_run``, after going down first)."""
    loss = _finite(train_loss)
    if len(loss) < CREEP_MIN_POINTS or min(loss) <= 0 or (not mid_run and _argmin(loss) == 0):
        return None
    if (turn := _turn(loss)) is None:
        return None
    smooth, best, rise, wobble = turn
    end = _tail(loss)
    # back at its best at the end: a bump; invisible on a linear axis: round-off near 0 (1e-16 ->
    # 5e-16); neither is a rise
    if min(loss[-SMOOTH_EPOCHS:]) <= smooth[best] or rise < VISIBLE * loss[0]:
        return None
    return Hit(
        "train-loss-rises",
        f"training loss was lowest around epoch {best + 1} ({smooth[best]:.4g}, "
        f"{SMOOTH_EPOCHS}-epoch mean) and ended at {end:.4g} ({end / smooth[best]:.2f}x), "
        + (
            f"a rise {rise / wobble:.1f}x its epoch-to-epoch noise"
            if rise < 100 * wobble
            else "far above its epoch-to-epoch noise"
        ),
        {
            "best": smooth[best],
            "best_epoch": best + 1,
            "rise_epoch": best + 2,
            "risen_to": end,
            "factor": end / smooth[best],
        },
    )


def sudden_rise(train_loss: Curve) -> Hit | None:
    """Return a ``train-loss-rises`` hit when training loss jumps well above its lowest value and
    stays there."""
    loss = _finite(train_loss)
    if len(loss) < 3 or min(loss) < 0 or loss[0] <= 0:
        return None
    best, best_at, streak = loss[0], 0, 0
    for i, v in enumerate(loss):
        risen = best <= RISE_DESCENT * loss[0] and v >= max(RISE_FACTOR * best, VISIBLE * loss[0])
        streak = streak + 1 if risen else 0
        if streak >= RISE_MIN_EPOCHS and _tail(loss) >= TREND_RISE * best:
            start = i - streak + 1
            return Hit(
                "train-loss-rises",
                f"training loss reached {best:.4g} at epoch {best_at + 1}, then rose to "
                f"{loss[start]:.4g} ({loss[start] / best:.0f}x) at epoch {start + 1}",
                {
                    "best": best,
                    "best_epoch": best_at + 1,
                    "rise_epoch": start + 1,
                    "risen_to": loss[start],
                },
            )
        if v < best:
            best, best_at = v, i
    return None


def rises(train_loss: Curve, mid_run: bool = False) -> Hit | None:
    """Return a ``train-loss-rises`` hit for a sudden rise or a gradual one (a creep)."""
    return sudden_rise(train_loss) or creep(train_loss, mid_run)


rule(
    "train-loss-rises",
    60,
    "Training loss rises after reaching its minimum",
    "The loss was low, then climbed well above its best. The effective learning rate became too "
    "large for where the model is (e.g. weight decay shrinking batch-normalised weights), so steps "
    "overshoot.",
    (
        "Use a decaying learning-rate schedule (cosine, step, reduce-on-plateau)",
        "Use early stopping and keep the best epoch",
        "Lower the learning rate or the weight decay",
    ),
    causes=(
        (
            "an effective learning rate grown too large late in training (weight decay shrinking "
            "batch-normalised weights, no schedule)",
            "halve the learning rate from the best epoch on: if the rise goes away, it was the "
            "step size",
        ),
        (
            "the training data change over time (curriculum, unshuffled or drifting data)",
            "train two epochs on a fixed subset: a loss that still rises is the optimiser, not the "
            "data",
        ),
    ),
    case="train-loss-rises",
    needs=("trend",),
    subsumed_by=("late-explosion",),
    detect=lambda c: rises(c.trend, c.mid_run),
    margin=lambda n: n.get("factor", n["risen_to"] / n["best"]) / TREND_RISE,
)


def overfitting(
    train_loss: Curve, val_loss: Curve, mid_run: bool = False, val_metric: Curve = ()
) -> Hit | None:
    """Return an ``overfitting`` hit: validation loss turns up after a minimum (beyond its own
    noise) while training loss keeps falling. In a whole run (not ``mid_run``) the validation curves
    must show learning first (``learned``): one that never improved is no-generalization's shape."""
    train, val = _paired(train_loss, val_loss)
    n = len(val)
    if n < NO_GEN_MIN_EPOCHS or min(val) <= 0 or (not mid_run and not learned(val, val_metric[:n])):
        return None
    if (turn := _turn(val, steady_counts=True)) is None:
        return None
    smooth_val, best, rise, _ = turn
    smooth_train, end_val, end_train = _smooth(train), _tail(val), _tail(train)
    if (
        end_train > OVERFIT_TRAIN_FALL * smooth_train[best]
        or smooth_train[best] - end_train < VISIBLE * train[0]
        or rise < OVERFIT_VISIBLE * val[0]
    ):
        return None
    return Hit(
        "overfitting",
        f"validation loss was lowest around epoch {best + 1} ({smooth_val[best]:.4g}, "
        f"{SMOOTH_EPOCHS}-epoch mean) and ended {100 * (end_val / smooth_val[best] - 1):.0f} % "
        f"higher ({end_val:.4g}) by epoch {n}, while training loss kept falling "
        f"({smooth_train[best]:.4g} -> {end_train:.4g})",
        {
            "best_epoch": best + 1,
            "best_val": smooth_val[best],
            "last_val": end_val,
            "train_at_best": smooth_train[best],
            "last_train": end_train,
        },
    )


# Overfitting has no case: lesson 00 teaches it (training falls, validation turns up). Not lesson
# 05: a *training* loss that rises is not overfitting; not lesson 01: its validation loss rises from
# epoch 1 because preprocessing removed the signal, and it rules overfitting out.
rule(
    "overfitting",
    80,
    "Overfitting: validation loss turned up while training loss kept falling",
    "After a point the model fits details of the training set that do not generalise.",
    (
        "Early stopping at the best validation epoch",
        "More data or augmentation",
        "Regularise: weight decay, dropout, a smaller model",
    ),
    causes=(
        (
            "the model fits details of the training set that do not generalise",
            "keep the best epoch (early stopping) and add weight decay or augmentation: if the "
            "turn comes later, it was overfitting",
        ),
        (
            "validation data unlike the training data",
            "compare the losses of a random training slice held out",
        ),
    ),
    lesson=READING_CURVES,
    needs=("train", "val"),
    subsumed_by=("no-generalization",),
    detect=lambda c: overfitting(c.train, c.val, c.mid_run, c.val_metric),
    margin=_rise_margin,
)


def zigzag(curve: Curve, move: float = ZIGZAG_MOVE, rate: float = ZIGZAG_RATE) -> int | None:
    """Return how often ``curve`` reverses direction by ``move`` of its level, when it zig-zags
    (often enough for ``rate``, by moves of ZIGZAG_RANGE_SHARE of its range), else None."""
    values = _finite(curve)
    if len(values) < 5 or min(values) <= 0:
        return None
    level = median(values)
    moves = [b - a for a, b in zip(values, values[1:]) if abs(b - a) >= move * level]
    reversals = sum(1 for a, b in zip(moves, moves[1:]) if (a > 0) != (b > 0))
    span = max(values) - min(values)
    share = median(abs(m) for m in moves) / span if moves and span > 0 else 0.0
    if reversals < max(ZIGZAG_REVERSALS, rate * (len(values) - 1)) or share < ZIGZAG_RANGE_SHARE:
        return None
    return reversals


def swings(train_loss: Curve) -> Hit | None:
    """Return an ``oscillation`` hit when training loss zig-zags up and down with no trend (epochs
    or smoothed steps)."""
    if (reversals := zigzag(train_loss)) is None:
        return None
    loss = _finite(train_loss)
    return Hit(
        "oscillation",
        f"training loss reversed direction {reversals} times in {len(loss)} epochs by more than "
        f"{100 * ZIGZAG_MOVE:.0f} % of its level, between {min(loss):.4g} and {max(loss):.4g}",
        {"swings": reversals, "epochs": len(loss), "low": min(loss), "high": max(loss)},
    )


def standout_swings(train_loss: Curve) -> Hit | None:
    """Return an ``oscillation`` hit when training loss swings up and down between epochs, again and
    again, each swing standing out of the curve's range."""
    loss = _finite(train_loss)
    runs = [v for i, v in enumerate(loss) if i == 0 or v != loss[i - 1]]  # a plateau is one point
    if len(runs) < 3:
        return None
    span = max(loss[1:]) - min(loss[1:])  # epoch 1 mixes in the untrained start: left out
    # the curve's turning points (where it changes direction), with its two ends
    between = [b for a, b, c in zip(runs, runs[1:], runs[2:]) if (b - a) * (c - b) < 0]
    turns = [runs[0], *between, runs[-1]]
    peaks = [
        i
        for i in range(1, len(turns) - 1)
        if min(turns[i] - turns[i - 1], turns[i] - turns[i + 1])
        >= max(OSC_PROMINENCE * span, OSC_MIN_RELATIVE * abs(turns[i]))
    ]
    if len(peaks) < max(OSC_MIN_SWINGS, OSC_SWING_RATE * (len(loss) - 1)):
        return None
    return Hit(
        "oscillation",
        f"training loss swung up and back down {len(peaks)} times in {len(loss)} epochs, "
        f"between {min(loss):.4g} and {max(loss):.4g}",
        {"swings": len(peaks), "epochs": len(loss), "low": min(loss), "high": max(loss)},
    )


def oscillation(train_loss: Curve) -> Hit | None:
    """Return an ``oscillation`` hit for swings that stand out or a zig-zag."""
    return standout_swings(train_loss) or swings(train_loss)


def _swing_margin(numbers: dict[str, float]) -> float:
    return numbers["swings"] / max(ZIGZAG_REVERSALS, ZIGZAG_RATE * (numbers["epochs"] - 1))


rule(
    "oscillation",
    50,
    "Training loss swings up and down between epochs",
    "The loss jumps back and forth instead of settling: steps too large for the problem, or a "
    "frozen model whose loss only changes with which samples land in each batch.",
    (
        "Lower the learning rate",
        "Use a larger batch",
        "Check whether validation loss is frozen too",
    ),
    causes=(
        (
            "steps too large for the problem",
            "halve the learning rate: if the swings shrink, the steps were too large",
        ),
        (
            "a frozen model whose loss only follows each batch's class mix",
            "look at validation loss: exactly constant means the model is frozen (flat-validation)",
        ),
        (
            "tiny batches or a tiny dataset",
            "double the batch size: if the swings halve, it is batch noise",
        ),
    ),
    case="oscillating-loss",
    needs=("trend",),
    subsumed_by=("late-explosion",),
    detect=lambda c: oscillation(c.trend),
    margin=_swing_margin,
)


def validation_swings(train_loss: Curve, val_loss: Curve) -> Hit | None:
    """Return a ``validation-oscillation`` hit: validation zig-zags while training loss does not."""
    reversals = zigzag(val_loss, ZIGZAG_VAL_MOVE, ZIGZAG_VAL_RATE)
    if reversals is None or zigzag(train_loss) is not None:
        return None
    val = _finite(val_loss)
    return Hit(
        "validation-oscillation",
        f"validation loss reversed direction {reversals} times in {len(val)} epochs by more than "
        f"{100 * ZIGZAG_VAL_MOVE:.0f} % of its level (between {min(val):.4g} and {max(val):.4g}) "
        "while training loss did not swing",
        {"swings": reversals, "epochs": len(val), "low": min(val), "high": max(val)},
    )


rule(
    "validation-oscillation",
    90,
    "Validation loss swings up and down while training loss does not",
    "Validation jumps between epochs with no trend while training behaves: the validation set is "
    "small or unlike the training data, batch-norm statistics differ between train and eval mode, "
    "or the steps are so large that each epoch ends at a different point of a sharp valley.",
    (
        "Enlarge or stratify the validation set (or average over several)",
        "Lower the learning rate",
        "Check batch-norm / dropout behaviour in eval mode and that validation gets the same "
        "preprocessing",
    ),
    causes=(
        (
            "a small or unrepresentative validation set",
            "evaluate one checkpoint on two halves of the validation set: if the halves differ as "
            "much as the epochs do, the set is too small",
        ),
        ("steps so large that every epoch ends at a different point", "halve the learning rate"),
        (
            "batch-norm or dropout behaving differently in eval mode",
            "evaluate the training set in eval mode: if it is much worse than the training loss, "
            "check model.eval()",
        ),
    ),
    case="oscillating-loss",
    needs=("train", "val"),
    detect=lambda c: validation_swings(c.train, c.val),
    margin=_swing_margin,
)


def bins(step_loss: Curve, points: int = 60) -> list[float]:
    """Return ``step_loss`` averaged in consecutive bins so that at most ``points`` remain (a bin
    with a NaN/inf is NaN)."""
    values = list(step_loss)
    size = math.ceil(len(values) / points) if len(values) > points else 1
    chunks = [values[i : i + size] for i in range(0, len(values), size)]
    return [sum(c) / len(c) if all(map(math.isfinite, c)) else math.nan for c in chunks]
