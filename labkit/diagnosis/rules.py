"""The sudden shapes (divergence, negative loss, flat validation, late explosion, no generalization,
rising loss) and the thresholds gradual.py shares.

Each rule is a pure function of loss curves returning a Hit or None, its finding declared under it
with ``rule(...)``. Epochs in evidence are 1-based, as on the plots' x axis.
"""

from __future__ import annotations

import math
from itertools import takewhile
from statistics import median
from typing import Callable, Iterator, Sequence

from .registry import READING_CURVES, Hit, rule

Curve = Sequence[float]

# Every threshold says what sets it.
NEGATIVE_TOLERANCE = 1e-6  # a loss below -this is negative (round-off gives -1e-9 for an exact 0)
ROUND_OFF = 1e-7  # below this share of the first loss: float32 round-off (epsilon ~1.2e-7)
SMOOTH_EPOCHS = 3  # epochs averaged to smooth epoch-to-epoch noise (validation minimum, end level)
# risen: ends (mean of the last SMOOTH_EPOCHS) 10 % above its low, twice the few-% chance move of a
# loss on fixed data between epochs (no-generalization, overfitting, a rise)
TREND_RISE = 1.1
VISIBLE = 0.01  # visible on a linear axis from the first loss: 1 % of it (~2 px of a 250 px plot)

# flat validation: values within this share of the last one count as equal (learning moves more) ...
FLAT_RTOL = 1e-5
FLAT_MIN_EPOCHS = SMOOTH_EPOCHS  # ... for at least this many epochs at the end (the fewest judged)
FLAT_MIN_FRACTION = 0.5  # ... and for at least this share of the run (a model that froze for good)
FLAT_EARLY_EPOCHS = SMOOTH_EPOCHS  # ... and it went flat within this many epochs from the start,
# or it stays above this share of the first value: a collapsed model is no better than an untrained
# one, while a converged run (or typed-in rounded numbers) ends far below. An excerpt flat from its
# first line is flagged only when training still moves: both constant is a converged run too.
FLAT_NO_BETTER = 0.5

# late explosion: a jump of this many powers of ten (30x) above the lowest loss so far. Batch noise
# stays within a few times the level; Keras's clipped BCE caps a sample's loss at 16.1, so a model
# that learnt to ~0.1 can jump at most ~2 orders (lesson 04's runs jump 1.8-3.5)
LATE_JUMP_ORDERS = 1.5
# no recovery: median log10(loss) after the jump stays this far (or the jump's size) above it ...
LATE_AFTER_ORDERS = 2.0
# ... and the run ends (log10 mean of the last SMOOTH_EPOCHS) at least this share of the way from
# that lowest to the peak: coming more than half-way back is recovering (lesson 05), not explosion
LATE_KEEPS = 0.5
LATE_START_FRACTION = 0.2  # "late": the jump comes after this share of the run ...
LATE_MIN_POINTS = 5  # ... and after this many points (before that a run is still warming up) ...
# ... after a descent of this many powers of ten from the first loss (to a third: it had learnt)
LATE_DESCENT_ORDERS = 0.5
# a plateau (said in the evidence): the last this many epochs (or 10 % of the run, if more) all
# within PLATEAU_RTOL of their largest value (a training model moves more)
PLATEAU_EPOCHS = 5
PLATEAU_RTOL = 1e-3

# "never learned": validation never gets more than this share below its first epoch. A loss on fixed
# data moves a few % between epochs by chance; learning that carries over lowers it far more (lesson
# 06's printout by 36 %, rising-val-loss's fix by more than half). It ends TREND_RISE above its low
NO_GEN_DIP = 0.1
# ... while training loss ends below this share of its first value: the model fits the training set
# (a 20 % fall is several times a plateau's wobble), so the flat validation is not an idle model
NO_GEN_TRAIN_FALL = 0.8
NO_GEN_MIN_EPOCHS = 5  # fewer are too few for a trend (the last SMOOTH_EPOCHS follow the first two)
# a validation accuracy at or below this may be chance: a balanced two-class problem's chance level,
# the highest of any balanced problem (more classes: lower)
CHANCE = 0.5
# learning that carries over: validation accuracy ends (mean of the last SMOOTH_EPOCHS) this far
# above both CHANCE and its first epoch: 10 points, two standard deviations of an accuracy on 100
# samples
METRIC_GAIN = 0.1

# rising-loss: training loss ends this many times its first value (20 %, beyond a plateau's wobble)
CLIMB_FACTOR = 1.2
CLIMB_SHARE = 0.75  # ... and this share of its epoch-to-epoch moves go up (3 of 4: not noise)
CLIMB_MIN_EPOCHS = 4  # ... over at least this many epochs (three moves)


def _finite(curve: Curve) -> list[float]:
    """The curve up to (not including) its first NaN/inf."""
    return [float(v) for v in takewhile(math.isfinite, curve)]


def _smooth(curve: Curve) -> list[float]:
    """Centred means over SMOOTH_EPOCHS (fewer at the ends)."""
    half = SMOOTH_EPOCHS // 2
    windows = [curve[max(0, i - half) : i + half + 1] for i in range(len(curve))]
    return [sum(w) / len(w) for w in windows]


def _tail(curve: Curve) -> float:
    """The mean of the last SMOOTH_EPOCHS values: the level the run ends at."""
    return sum(curve[-SMOOTH_EPOCHS:]) / len(curve[-SMOOTH_EPOCHS:])


def _argmin(curve: Curve) -> int:
    return min(range(len(curve)), key=curve.__getitem__)


def _paired(train_loss: Curve, val_loss: Curve) -> tuple[list[float], list[float]]:
    """Both curves cut to the epochs where both are still finite."""
    n = min(len(_finite(train_loss)), len(_finite(val_loss)))
    return list(train_loss[:n]), list(val_loss[:n])


def _rise_margin(numbers: dict[str, float]) -> float:
    """By how much the validation loss's rise clears TREND_RISE (no-generalization, overfitting)."""
    return numbers["last_val"] / numbers["best_val"] / TREND_RISE


def _first(curve: Curve, test: Callable[[float], bool]) -> int | None:
    """Return the index of the first value of ``curve`` that passes ``test``, or None."""
    return next((i for i, v in enumerate(curve) if test(v)), None)


def _firsts(
    test: Callable[[float], bool], train: Curve, val: Curve, steps: Curve, steps_per_epoch: int
) -> tuple[int | None, int | None, int | None]:
    """Return the first epoch index of training (its steps included) and of validation that
    passes ``test``, and the first such step's index (None: none does)."""
    train_at, val_at, step = _first(train, test), _first(val, test), _first(steps, test)
    if step is not None:
        at = step // max(steps_per_epoch, 1)
        train_at = at if train_at is None else min(train_at, at)
    return train_at, val_at, step


def diverged(
    train_loss: Curve, val_loss: Curve = (), step_loss: Curve = (), steps_per_epoch: int = 1
) -> Hit | None:
    """Return a ``diverged`` hit when any loss is NaN or infinite."""
    train, val, step = _firsts(
        lambda v: not math.isfinite(v), train_loss, val_loss, step_loss, steps_per_epoch
    )
    found = {k: v for k, v in (("training", train), ("validation", val)) if v is not None}
    if not found:
        return None
    name, epoch = min(found.items(), key=lambda kv: kv[1])
    where = f" (step {step + 1})" if step is not None and name == "training" else ""
    numbers = {"epoch": epoch + 1} | ({"step": step + 1} if step is not None else {})
    return Hit("diverged", f"{name} loss became NaN/inf at epoch {epoch + 1}{where}", numbers)


rule(
    "diverged",
    40,
    "The loss became NaN or infinite",
    "Some step produced an overflow (too large a step, log(0), division by 0), and every later "
    "value is NaN.",
    (
        "Lower the learning rate or clip gradients",
        "Check the inputs and targets for NaN/inf",
        "Use numerically stable losses (CrossEntropyLoss, BCEWithLogitsLoss)",
    ),
    causes=(
        (
            "a learning rate too high: the weights overflow",
            "rerun with lr/10 (or clip gradients at 1.0)",
        ),
        (
            "NaN/inf or extreme values in the inputs or targets",
            "check every batch: torch.isfinite(x).all() and torch.isfinite(y).all()",
        ),
        (
            "log(0) or division by 0 in a hand-written loss",
            "use CrossEntropyLoss / BCEWithLogitsLoss instead",
        ),
    ),
    lesson=READING_CURVES,  # lesson 00's "Divergence" section: no case covers NaN/inf
    detect=lambda c: diverged(c.train, c.val, c.steps, c.steps_per_epoch),
)


def negative_loss(
    train_loss: Curve, val_loss: Curve = (), step_loss: Curve = (), steps_per_epoch: int = 1
) -> Hit | None:
    """Return a ``negative-loss`` hit when a loss that must be >= 0 went below 0."""

    def below(v: float) -> bool:  # -inf is an overflow (diverged), not a loss that went negative
        return -math.inf < v < -NEGATIVE_TOLERANCE

    train, val, step = _firsts(below, train_loss, val_loss, step_loss, steps_per_epoch)
    if train is None and val is None:
        return None
    first = min(i for i in (train, val) if i is not None)
    at_step = step is not None and step // max(steps_per_epoch, 1) == first
    lowest = min(v for c in (train_loss, val_loss, step_loss) for v in c if math.isfinite(v))
    return Hit(
        "negative-loss",
        f"loss went below 0 at epoch {first + 1}{f' (step {step + 1})' if at_step else ''} "
        f"and reached {lowest:.4g}",
        {"first_negative_epoch": first + 1, "lowest_loss": lowest},
    )


rule(
    "negative-loss",
    10,
    "The loss went negative",
    "Cross-entropy, NLL, BCE and MSE cannot be below 0. NLLLoss fed raw logits (no LogSoftmax) "
    "returns minus the target logit, which has no floor, so the optimiser drives it to minus "
    "infinity.",
    (
        "Use CrossEntropyLoss on raw logits (or add LogSoftmax before NLLLoss)",
        "Check that the criterion gets what it expects: logits, log-probabilities or probabilities",
    ),
    causes=(
        (
            "NLLLoss (or a log-likelihood) fed raw outputs instead of log-probabilities",
            "print exp(output).sum(dim=1) for one batch: if the rows do not sum to 1, LogSoftmax "
            "is missing",
        ),
        (
            "a loss that is negative by design (Gaussian NLL, a contrastive objective)",
            "check the loss's formula: if it can go below 0, a negative value is not a failure",
        ),
    ),
    case="negative-loss",
    detect=lambda c: negative_loss(c.train, c.val, c.steps, c.steps_per_epoch),
)


def flat_validation(val_loss: Curve, train_loss: Curve = (), mid_run: bool = False) -> Hit | None:
    """Return a ``flat-validation`` hit when validation loss stays constant to FLAT_RTOL for the end
    of the run."""
    val = _finite(val_loss)
    if len(val) < FLAT_MIN_EPOCHS or abs(val[-1]) < 1e-12:
        return None
    last, start = val[-1], len(val) - 1
    while start > 0 and abs(val[start - 1] - last) <= FLAT_RTOL * abs(last):
        start -= 1
    length = len(val) - start
    if length < FLAT_MIN_EPOCHS or length < FLAT_MIN_FRACTION * len(val):
        return None
    if start >= FLAT_EARLY_EPOCHS and abs(last) < FLAT_NO_BETTER * abs(val[0]):
        return None
    train = _finite(train_loss)[start : len(val)]
    still = not train or max(train) - min(train) <= FLAT_RTOL * max(abs(v) for v in train)
    if mid_run and start == 0 and still:
        return None
    spread = max(val[start:]) - min(val[start:])
    return Hit(
        "flat-validation",
        f"validation loss stayed at {last:.6g} (spread {spread:.2g}) from epoch "
        f"{start + 1} to {len(val)}",
        {"first_flat_epoch": start + 1, "last_epoch": len(val), "value": last, "spread": spread},
    )


# A specific cause comes before the symptoms it produces: a frozen model (flat validation) makes the
# training loss swing with each batch's class mix, so flat-validation is listed before oscillation.
rule(
    "flat-validation",
    20,
    "Validation loss is exactly constant: the model gives the same answer to everything",
    "A validation loss that does not move at all means the predictions do not change: the model "
    "collapsed to a constant output (e.g. a saturated sigmoid, whose gradient is exactly 0) and "
    "stopped learning.",
    (
        "Lower the learning rate",
        "Use BCEWithLogitsLoss on raw outputs instead of sigmoid + BCELoss",
        "Use a smaller model or a pretrained backbone when you have very few images",
    ),
    causes=(
        (
            "the model collapsed to one answer for every input (saturated sigmoid, dead ReLUs, too "
            "high a learning rate)",
            "predict 10 validation images: identical outputs mean a collapsed model",
        ),
        (
            "the pipeline cannot learn at all (labels misaligned, weights frozen, optimizer not "
            "stepping)",
            "train on 100 samples: a pipeline that cannot overfit them is broken",
        ),
        (
            "validation is computed wrongly (the same batch, the model not in eval mode, a stale "
            "copy)",
            "evaluate the training set with the validation code: it should match the training loss",
        ),
    ),
    case="oscillating-loss",
    needs=("val",),
    detect=lambda c: flat_validation(c.val, c.train, c.mid_run),
)


def late_explosion(train_loss: Curve, mid_run: bool = False) -> Hit | None:
    """Return a ``late-explosion`` hit: a long descent, then a jump by orders of magnitude that does
    not recover (``mid_run``: an excerpt, whose descent came before it, need not show one)."""
    loss = _finite(train_loss)
    if len(loss) <= LATE_MIN_POINTS or min(loss) < 0 or loss[0] <= 0:
        return None
    logs = [math.log10(max(v, 1e-300)) for v in loss]
    # a spike the run came back from is not it: the first jump that stays up is
    for i, low, low_at in _jumps(logs, LATE_JUMP_ORDERS, math.log10(ROUND_OFF * loss[0])):
        after, peak = median(logs[i:]), max(loss[i:])
        late = i >= max(LATE_START_FRACTION * len(logs), LATE_MIN_POINTS)
        if not late or not (mid_run or logs[0] - low >= LATE_DESCENT_ORDERS):
            continue
        kept = after - low >= min(LATE_AFTER_ORDERS, logs[i] - low)
        if not kept or _tail(logs) - low < LATE_KEEPS * (math.log10(peak) - low):
            continue
        # a plateau: the last epochs repeat one loss to within PLATEAU_RTOL
        tail = loss[-max(PLATEAU_EPOCHS, len(loss) // 10) :]
        top = max(tail)
        plateau = len(loss) > PLATEAU_EPOCHS and top > 0 and top - min(tail) <= PLATEAU_RTOL * top
        stays = (
            f"then sat on a plateau at {loss[-1]:.4g}"
            if plateau
            else f"stayed {after - low:.1f} orders above its low"
        )
        return Hit(
            "late-explosion",
            f"loss fell to {10**low:.3g} by epoch {low_at + 1}, jumped {logs[i] - low:.1f} orders "
            f"of magnitude at epoch {i + 1} (peak {peak:.3g}) and {stays}",
            {
                "low": 10**low,
                "low_epoch": low_at + 1,
                "jump_epoch": i + 1,
                "peak": peak,
                "orders_after": after - low,
                "plateau": float(plateau),
            },
        )
    return None


def _jumps(logs: list[float], orders: float, floor: float) -> Iterator[tuple[int, float, int]]:
    """Yield (index, lowest log10 loss before it, its index) where the loss first rises ``orders``
    above the low so far (the points after it, still up, belong to the same jump)."""
    low, low_at, up = logs[0], 0, False
    for i, v in enumerate(logs):
        above = v > low + orders and v > floor
        if above and not up:
            yield i, low, low_at
        up = above
        if v < low:
            low, low_at = v, i


# A late explosion is a training-loss rise (and swings): listed before them, it subsumes them.
rule(
    "late-explosion",
    30,
    "The loss exploded after a long smooth descent and did not come back",
    "After a long descent the weights and outputs have grown large, and one step throws some "
    "samples far onto the wrong side. With a loss computed from clipped probabilities (Keras's "
    "binary_crossentropy on a softmax clips them at 1e-7) such a sample gets exactly zero gradient "
    "and is never pulled back: the loss jumps and sits on a plateau. Lesson 04 measured that "
    "Adam's sqrt(v) does not shrink there, so a larger eps helps only when it is large enough to "
    "shrink the step (1e-2 there; 1e-3 still blew up). Look at the loss on a log axis.",
    (
        "Lower the learning rate (or decay it late in training)",
        "Compute the loss from the logits (no clip: a wrong sample always gets a gradient)",
        "Raise Adam's eps only as a step-size cap: it must be large next to sqrt(v) (1e-2 in "
        "lesson 04)",
    ),
    causes=(
        (
            "a step too large for how far the weights have grown: it throws samples onto the wrong "
            "side",
            "rerun from a checkpoint before the jump with the learning rate divided by 4: if it "
            "stays down, it was the step size",
        ),
        (
            "a clipped loss on probabilities gives those samples zero gradient, so they never come "
            "back",
            "count the samples whose probability for their true class is below the clip (1e-7) "
            "after the jump: if that share stays up, the clip froze them",
        ),
        (
            "Adam's eps too small next to sqrt(v)",
            "print the median of sqrt(v) before the jump: if it is far above eps, eps is not what "
            "lets the step grow",
        ),
    ),
    case="adam-epsilon",
    needs=("trend",),
    detect=lambda c: late_explosion(c.trend, c.mid_run),
    sure="medium",
)


def learned(val_loss: Curve, val_metric: Curve = ()) -> bool:
    """Return True when the validation curves show learning that carries over: the smoothed
    validation loss (a dip of one epoch can be chance) got more than NO_GEN_DIP below its first
    epoch, or the validation accuracy ends METRIC_GAIN above chance and its first epoch."""
    val, metric = _finite(val_loss), _finite(val_metric)
    if val and min(_smooth(val)) < (1 - NO_GEN_DIP) * val[0]:
        return True
    return len(metric) >= SMOOTH_EPOCHS and _tail(metric) >= max(CHANCE, metric[0]) + METRIC_GAIN


def no_generalization(
    train_loss: Curve, val_loss: Curve, mid_run: bool = False, val_metric: Curve = ()
) -> Hit | None:
    """Return a ``no-generalization`` hit: validation never improves and ends higher, while training
    loss falls. Nothing for an excerpt (``mid_run``: its first epoch is not the run's); learning
    that carries over (``learned``) is overfitting's shape."""
    train, val = _paired(train_loss, val_loss)
    n = len(val)
    if mid_run or n < NO_GEN_MIN_EPOCHS or min(val) <= 0 or train[0] <= 0:
        return None
    if learned(val, val_metric[:n]):
        return None
    best, end = _argmin(val), _tail(val)
    if end < TREND_RISE * val[best] or train[-1] > NO_GEN_TRAIN_FALL * train[0]:
        return None
    return Hit(
        "no-generalization",
        f"validation loss never got more than {100 * NO_GEN_DIP:.0f} % below epoch 1's "
        f"{val[0]:.4g} (lowest {val[best]:.4g}, epoch {best + 1}) and rose to {val[-1]:.4g} by "
        f"epoch {n}, while training loss fell from {train[0]:.4g} to {train[-1]:.4g}",
        {
            "best_epoch": best + 1,
            "best_val": val[best],
            "last_val": val[-1],
            "first_train": train[0],
            "last_train": train[-1],
        },
    )


rule(
    "no-generalization",
    70,
    "Validation loss never improves and rises while training loss falls",
    "The model learns nothing that carries over to new data, only noise it memorises. Often the "
    "signal that predicts the label was removed by preprocessing (e.g. scaling each sample on its "
    "own), or the validation data come from a different distribution.",
    (
        "Check the preprocessing: scale with statistics of the training split, not per sample",
        "Check that the validation split is drawn like the training data (and does not leak)",
        "Check that the inputs actually predict the labels (a simple baseline)",
    ),
    causes=(
        (
            "preprocessing removed the signal that predicts the label (e.g. scaling each sample or "
            "window on its own)",
            "shuffled-label control: train on shuffled labels; if validation behaves the same, the "
            "inputs carry no signal the model uses",
        ),
        (
            "validation data drawn differently from the training data (other period, other source, "
            "leakage)",
            "validate on a random slice of the training data: if that is fine, the split is the "
            "problem",
        ),
        (
            "far too few samples for the model",
            "train on 100 samples: it should overfit them; then add data",
        ),
    ),
    case="rising-val-loss",
    needs=("train", "val"),
    detect=lambda c: no_generalization(c.train, c.val, c.mid_run, c.val_metric),
    margin=_rise_margin,
)


def rising_loss(train_loss: Curve) -> Hit | None:
    """Return a ``rising-loss`` hit: the training loss climbs from its first epoch on (never below
    it)."""
    loss = _finite(train_loss)
    if len(loss) < CLIMB_MIN_EPOCHS or min(loss) <= 0 or _argmin(loss) != 0:
        return None
    ups = sum(b > a for a, b in zip(loss, loss[1:]))
    if loss[-1] < CLIMB_FACTOR * loss[0] or ups < CLIMB_SHARE * (len(loss) - 1):
        return None
    return Hit(
        "rising-loss",
        f"training loss rose from {loss[0]:.4g} to {loss[-1]:.4g} "
        f"({loss[-1] / loss[0]:.2f}x), up in {ups} of {len(loss) - 1} "
        "epochs, never below epoch 1",
        {"first": loss[0], "last": loss[-1], "ups": ups, "epochs": len(loss)},
    )


rule(
    "rising-loss",
    55,
    "Training loss rises from the start",
    "Each epoch makes the training loss worse: the steps move the weights uphill. The usual causes "
    "are a learning rate far too high, a loss whose sign is flipped (maximised instead of "
    "minimised), or targets that change from epoch to epoch.",
    (
        "Lower the learning rate 10x",
        "Check that the optimiser minimises the loss (its sign, maximize=False)",
        "Check that the targets stay fixed and match the inputs",
    ),
    causes=(
        (
            "a learning rate far too high",
            "rerun with lr/10: if the loss falls, the steps were too large",
        ),
        (
            "the loss is maximised (a sign flipped in a hand-written loss or optimiser)",
            "print the loss before and after one step on one batch: it should go down",
        ),
        (
            "targets that change or do not belong to their inputs",
            "train on 100 fixed samples: it should overfit them",
        ),
    ),
    lesson=READING_CURVES,
    needs=("trend",),
    subsumed_by=("late-explosion", "train-loss-rises"),
    detect=lambda c: rising_loss(c.trend),
)
