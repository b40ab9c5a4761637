"""Load a run from a labkit History, a Keras/plain dict, a pandas DataFrame, or a CSV/JSON log file."""

from __future__ import annotations

import csv
import json
import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..history import History

# Accepted names for each curve, first match wins (Keras, PyTorch Lightning, labkit).
TRAIN_KEYS = ("train_loss", "loss", "train_loss_epoch", "loss_epoch", "training_loss")
VAL_KEYS = ("val_loss", "val_loss_epoch", "validation_loss", "valid_loss")
STEP_KEYS = ("step_loss", "train_loss_step", "loss_step")
TRAIN_METRIC_KEYS = ("train_metric", "accuracy", "acc", "train_accuracy", "train_acc", "train_acc_epoch")
VAL_METRIC_KEYS = ("val_metric", "val_accuracy", "val_acc", "val_acc_epoch")
LR_KEYS = ("lr", "learning_rate")
_ROLES = {"train_loss": TRAIN_KEYS, "val_loss": VAL_KEYS, "train_metric": TRAIN_METRIC_KEYS,
          "val_metric": VAL_METRIC_KEYS, "lr": LR_KEYS}
_KNOWN_KEYS = frozenset(k for keys in (*_ROLES.values(), STEP_KEYS) for k in keys)
EXPECTED = ("a labkit History, a dict of lists (e.g. Keras history.history with 'loss', 'val_loss'), "
            "a pandas DataFrame, or a path to a .csv (Keras CSVLogger, Lightning metrics.csv) or .json log")


@dataclass(frozen=True)
class Curves:
    """The curves diagnosis reads: per-epoch lists, plus per-step losses when the log has them."""

    train_loss: tuple[float, ...] = ()  # training loss of each epoch
    val_loss: tuple[float, ...] = ()  # validation loss of each epoch
    step_loss: tuple[float, ...] = ()  # training loss of each (logged) step
    train_metric: tuple[float, ...] = ()  # e.g. training accuracy of each epoch
    val_metric: tuple[float, ...] = ()  # e.g. validation accuracy of each epoch
    lr: tuple[float, ...] = ()  # learning rate of each epoch
    steps_per_epoch: int = 1  # logged steps per epoch (approximate for subsampled step logs)
    source: str = ""  # what the curves were read from

    @property
    def num_epochs(self) -> int:
        """Return the number of epochs of the longest per-epoch loss curve."""
        return max(len(self.train_loss), len(self.val_loss))


def load_run(run: Any) -> Curves:
    """Return the Curves of ``run``; raise TypeError/ValueError saying what was expected.

    Parameters
    ----------
    run:
        A History, a dict of lists (Keras ``history.history``, plain lists, or ``History.to_dict()``),
        a pandas DataFrame, or a str/Path to a .csv or .json log. Files are parsed with csv/json only.
    """
    if isinstance(run, Curves):
        return run
    if isinstance(run, History):
        return _from_history(run)
    if isinstance(run, (str, Path)):
        return _from_file(Path(run))
    if type(run).__module__.split(".")[0] == "pandas" and hasattr(run, "to_dict") and hasattr(run, "columns"):
        columns = [str(c) for c in run.columns]
        rows = [{str(k): v for k, v in row.items()} for row in run.to_dict("records")]
        return _from_rows(columns, rows, source="DataFrame", nan_is_missing="step" in columns)
    if isinstance(run, Mapping):
        if {"knobs", "steps_per_epoch", "train_loss"} <= set(run):
            return _from_history(History.from_dict(dict(run)))
        return _from_mapping(run, source="dict")
    raise TypeError(f"run must be {EXPECTED}; got {type(run).__name__}")


def _from_history(h: History) -> Curves:
    curves = {"train_loss": h.train_loss, "val_loss": h.val_loss, "step_loss": h.step_loss,
              "train_metric": h.train_metric, "val_metric": h.val_metric, "lr": h.lr}
    values = {k: tuple(_numbers(v, f"run.{k}")) for k, v in curves.items()}
    if not values["train_loss"] and not values["step_loss"]:
        raise ValueError("run is a History with no loss yet: train_loss and step_loss are empty")
    return Curves(**values, steps_per_epoch=max(h.steps_per_epoch, 1), source=f"History {h.case}".strip())


def _from_file(path: Path) -> Curves:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValueError(f"run={str(path)!r} is not a .csv or .json log; run must be {EXPECTED}")
    if not path.is_file():
        raise FileNotFoundError(f"run={str(path)!r}: no such log file")
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as e:
            raise ValueError(f"run={str(path)!r} is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"run={str(path)!r} must hold a JSON object of curves (e.g. {{\"loss\": [...]}}), "
                             f"got a JSON {type(data).__name__}")
        return load_run(data) if {"knobs", "steps_per_epoch"} <= set(data) else _from_mapping(data, source=str(path))
    with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: drop the BOM Excel writes
        reader = csv.DictReader(f)
        rows = list(reader)
        columns = [c.strip() for c in reader.fieldnames or ()]
    rows = [{(k or "").strip(): v for k, v in row.items()} for row in rows]
    return _from_rows(columns, rows, source=str(path), nan_is_missing=False)


def _cell(value: Any, column: str, row: int, nan_is_missing: bool) -> float | None:
    """Return a cell as float, None when empty; raise ValueError when it is not a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"run: column {column!r} row {row + 1} holds {value!r}, not a number") from None
    number = _number(value, f"run[{column!r}]", row)
    return None if nan_is_missing and math.isnan(number) else number


def _from_rows(columns: list[str], rows: list[dict[str, Any]], source: str, nan_is_missing: bool) -> Curves:
    """Group a table log (one row per epoch, or Lightning's sparse rows) into per-epoch and per-step curves."""
    if not set(TRAIN_KEYS + VAL_KEYS + STEP_KEYS) & set(columns):
        raise ValueError(f"run ({source}) has no loss column: expected one of {TRAIN_KEYS + VAL_KEYS + STEP_KEYS}, "
                         f"got columns {columns}")
    known = [c for c in columns if c in _KNOWN_KEYS]  # other columns (timestamps, names) are never parsed
    grouped: dict[str, dict[Any, list[float]]] = {}
    for i, row in enumerate(rows):
        epoch = _cell(row.get("epoch"), "epoch", i, True) if "epoch" in columns else None
        key = i if epoch is None else int(epoch)
        for column in known:
            value = _cell(row.get(column), column, i, nan_is_missing)
            if value is not None:
                grouped.setdefault(column, {}).setdefault(key, []).append(value)
    per_epoch = {c: [sum(v) / len(v) for v in by_epoch.values()] for c, by_epoch in grouped.items()}
    per_step = {c: [x for v in by_epoch.values() for x in v] for c, by_epoch in grouped.items()
                if any(len(v) > 1 for v in by_epoch.values())}
    data: dict[str, list[float]] = dict(per_epoch)
    step_key = next((k for k in STEP_KEYS if k in grouped), None)
    train_key = next((k for k in TRAIN_KEYS if k in grouped), None)
    if step_key is None and train_key in per_step:  # a loss logged every step: keep the steps too
        data["step_loss"] = per_step[train_key]
    elif step_key is not None:
        data[step_key] = per_step.get(step_key, per_epoch[step_key])
    return _from_mapping(data, source=source)


def _from_mapping(data: Mapping[str, Any], source: str) -> Curves:
    """Pick each curve by its accepted names and check the curves are non-empty, numeric and of equal length."""
    values: dict[str, tuple[float, ...]] = {}
    names: dict[str, str] = {}
    for role, keys in (*_ROLES.items(), ("step_loss", STEP_KEYS)):
        key = next((k for k in keys if k in data), None)
        if key is None:
            continue
        seq = data[key]
        if hasattr(seq, "tolist") and not isinstance(seq, (str, bytes)):
            seq = seq.tolist()
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Iterable):
            raise ValueError(f"run[{key!r}] must be a list of numbers, got {type(seq).__name__}")
        values[role], names[role] = tuple(_numbers(seq, f"run[{key!r}]")), key
        if not values[role]:
            raise ValueError(f"run[{key!r}] is empty: a curve needs at least one number")
    if not {"train_loss", "val_loss", "step_loss"} & set(values):
        raise ValueError(f"run ({source}) has no loss curve: expected one of the keys "
                         f"{TRAIN_KEYS + VAL_KEYS + STEP_KEYS}, got {sorted(map(str, data))}")
    epoch_roles = [r for r in _ROLES if r in values]
    lengths = {names[r]: len(values[r]) for r in epoch_roles}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"run ({source}) has ragged curves: per-epoch curves must have one value per epoch, "
                         f"got lengths {lengths}")
    epochs = max(lengths.values(), default=0)
    steps = len(values.get("step_loss", ()))
    return Curves(**values, steps_per_epoch=max(steps // epochs, 1) if epochs and steps else 1, source=source)


def _number(value: Any, name: str, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}[{index}] is {value!r} ({type(value).__name__}), not a number: "
                         "curves must hold int or float values")
    return float(value)


def _numbers(seq: Iterable[Any], name: str) -> list[float]:
    return [_number(v, name, i) for i, v in enumerate(seq)]
