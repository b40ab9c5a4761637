"""Column and key names: which column of a log is the training loss, the validation loss, a step
loss, ...

People name them every way: ``loss``, ``train_loss``, ``Train Loss``, ``training-loss``,
``train/loss``, ``val_loss``, ``Val_Loss``, ``valid_loss``, ``validation loss``, ``eval_loss``,
``test_loss``, ``train_loss_step``, ``val_loss_epoch``. A name is normalised (lower case, spaces,
dashes, slashes and dots to ``_``) and split into words; its role follows from the words.
"""

from __future__ import annotations

import re

TRAIN_WORDS = frozenset({"train", "training", "tr", "trn"})
VAL_WORDS = frozenset({"val", "valid", "validation", "eval", "evaluation", "dev", "vali"})
TEST_WORDS = frozenset({"test", "testing"})  # read as validation when a log has no validation loss
FILLER = frozenset(
    {"avg", "average", "mean", "total", "overall", "epoch", "running", "smooth", "smoothed", "set"}
)
METRIC_WORDS = frozenset(
    {"acc", "accuracy", "top1", "acc1", "f1", "auc", "dice", "iou", "miou", "map"}
)
LR_NAMES = frozenset({"lr", "learning_rate", "learningrate", "lr_0", "lr_abs"})
EPOCH_NAMES = frozenset({"epoch", "epochs", "ep"})
STEP_NAMES = frozenset(
    {"step", "steps", "global_step", "iteration", "iter", "it", "batch", "trainer_global_step"}
)
ROLES = (
    "train_loss",
    "val_loss",
    "test_loss",
    "step_loss",
    "train_metric",
    "val_metric",
    "test_metric",
    "lr",
)


GLUED = re.compile(r"(train|training|val|valid|validation|test|eval|dev)(loss|acc|accuracy)")


def normalise(name: str) -> str:
    """Return ``name`` lower-cased, camelCase and glued words split (``TrainLoss``, ``valloss``),
    runs of spaces, ``-``, ``/``, ``.`` and ``:`` replaced by one ``_``."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", str(name).strip().strip("'\""))
    text = re.sub(r"[\s\-/.:]+", "_", text.lower()).strip("_")
    return "_".join(GLUED.sub(r"\1_\2", w) if GLUED.fullmatch(w) else w for w in text.split("_"))


def role(name: str) -> str | None:
    """Return the role of a column name (one of ROLES, "epoch", "step"), or None for any other
    column."""
    norm = normalise(name)
    if norm in EPOCH_NAMES:
        return "epoch"
    if norm in STEP_NAMES:
        return "step"
    if norm in LR_NAMES or norm.endswith("_lr") or norm.startswith("lr_"):
        return "lr"
    words = [w for w in norm.split("_") if w]
    split = "val" if VAL_WORDS & set(words) else "test" if TEST_WORDS & set(words) else "train"
    rest = set(words) - TRAIN_WORDS - VAL_WORDS - TEST_WORDS - FILLER - {"step", "loss", "metric"}
    if "loss" in words and not rest:
        if "step" in words and split == "train":
            return "step_loss"
        return f"{split}_loss"
    if words and words[-1] in METRIC_WORDS | {"metric"} and not rest - METRIC_WORDS:
        return f"{split}_metric"
    return None


# When two columns have the same role, the one whose normalised name comes first here wins; then the
# shortest.
PREFERRED = (
    "loss",
    "train_loss",
    "training_loss",
    "train_loss_epoch",
    "loss_epoch",
    "val_loss",
    "validation_loss",
    "valid_loss",
    "val_loss_epoch",
    "eval_loss",
    "test_loss",
    "step_loss",
    "train_loss_step",
    "loss_step",
    "lr",
    "learning_rate",
)


def pick(columns: list[str]) -> dict[str, str]:
    """Return ``{role: column}`` for the columns that have a role, one column per role."""
    by_role: dict[str, list[str]] = {}
    for c in columns:
        r = role(c)
        if r is not None:
            by_role.setdefault(r, []).append(c)

    def rank(c: str) -> tuple[int, int]:
        n = normalise(c)
        return (PREFERRED.index(n) if n in PREFERRED else len(PREFERRED), len(n))

    return {r: min(cs, key=rank) for r, cs in by_role.items()}
