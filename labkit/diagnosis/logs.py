"""Load a run: a labkit History, a dict or list, a pandas DataFrame, a log file of any kind, or
pasted log text."""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..history import History
from . import cells, names, tables, texts

# Accepted names for each curve in a dict of lists, first match wins (Keras, PyTorch Lightning,
# labkit); any other name is read by its words (see names.py): "Train Loss", "valid_loss",
# "eval_loss", "test_loss", ...
TRAIN_KEYS = ("train_loss", "loss", "train_loss_epoch", "loss_epoch", "training_loss")
VAL_KEYS = ("val_loss", "val_loss_epoch", "validation_loss", "valid_loss")
STEP_KEYS = ("step_loss", "train_loss_step", "loss_step")
TRAIN_METRIC_KEYS = (
    "train_metric",
    "accuracy",
    "acc",
    "train_accuracy",
    "train_acc",
    "train_acc_epoch",
)
VAL_METRIC_KEYS = ("val_metric", "val_accuracy", "val_acc", "val_acc_epoch")
LR_KEYS = ("lr", "learning_rate")
_ROLES = {
    "train_loss": TRAIN_KEYS,
    "val_loss": VAL_KEYS,
    "train_metric": TRAIN_METRIC_KEYS,
    "val_metric": VAL_METRIC_KEYS,
    "lr": LR_KEYS,
}
CURVE_FIELDS = ("train_loss", "val_loss", "step_loss", "train_metric", "val_metric", "lr")
PLACE_FIELDS = ("first_epoch", "mid_run")
EXPECTED = (
    "a labkit History, a dict of lists (e.g. Keras history.history with 'loss', "
    "'val_loss') or of "
    "{epoch: value} dicts, a list of records (Hugging Face log_history) or "
    "numbers, a pandas DataFrame, a path "
    "to a log file (CSV of any extension: Keras CSVLogger's training.log, "
    "Lightning metrics.csv; JSON: "
    "trainer_state.json; a saved printout; a saved notebook, .ipynb, whose "
    "cells printed the training), or the "
    "log's text itself (CSV/JSON text, or pasted training output)"
)
COLUMN_FORMS = (
    "a list of numbers, one per epoch (e.g. [0.52, 0.47]), or a dict of epoch number -> "
    "number "
    "(e.g. {1: 0.52, 2: 0.47}; pandas' DataFrame.to_dict() gives {0: ..., 1: ...})"
)
PATH_SUFFIXES = (".csv", ".json", ".log", ".txt", ".tsv", ".jsonl", ".out", ".ipynb")


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
    # how the log was read: runs split, rows left out, names taken as which curve
    notes: tuple[str, ...] = ()
    # the epoch number of the first value (an excerpt pasted from epoch 48 starts at 48)
    first_epoch: int = 1
    # True when the log starts in the middle of a run (an excerpt): no "from the start" claims
    mid_run: bool = False

    @property
    def num_epochs(self) -> int:
        """Return the number of epochs of the longest per-epoch loss curve."""
        return max(len(self.train_loss), len(self.val_loss))


def load_run(run: Any) -> Curves:
    """Return the Curves of ``run``; raise TypeError/ValueError saying what was found and what was
    expected.

    Parameters
    ----------
    run:
        A History; a dict of lists (Keras ``history.history``, ``History.to_dict()``, Hugging Face
        ``trainer_state.json`` contents); a list of records or of numbers; a pandas DataFrame; a
        str/Path to a log file of any extension (its content is sniffed) or to a saved notebook
        (.ipynb: the output its cells printed is read); or a log's text itself (a str with a line
        break, or one that is not a file name): CSV/JSON text or pasted training output.

        A curve in a dict may also be a dict of epoch number -> value (``{"loss": {1: 0.5, 2:
        0.6}}``, pandas' ``DataFrame.to_dict()``, JSON ``{"loss": {"1": 0.5}}``): its values are
        read in epoch order, never its keys; epochs missing from one curve are gaps, and a curve
        starting at epoch 48 is an excerpt. Any other dict (keys that are not epoch numbers, values
        that are not numbers) raises a ValueError naming the curve.
    """
    if isinstance(run, Curves):
        return run
    if isinstance(run, History):
        return _from_history(run)
    if isinstance(run, Path) or (isinstance(run, str) and _looks_like_path(run)):
        return _from_file(Path(run))
    if isinstance(run, str):
        return _build(_read_text(run, "text"), "text")
    if isinstance(run, bytes):
        raise TypeError(f"run must be {EXPECTED}; got bytes: decode them first (run.decode())")
    if (
        type(run).__module__.split(".")[0] == "pandas"
        and hasattr(run, "to_dict")
        and hasattr(run, "columns")
    ):
        columns = [str(c) for c in run.columns]
        # Lightning's rows: NaN there is "not logged"
        sparse = any(names.role(c) == "step" for c in columns)
        rows = [
            {
                str(k): (None if sparse and isinstance(v, float) and math.isnan(v) else v)
                for k, v in row.items()
            }
            for row in run.to_dict("records")
        ]
        return _build(tables.records_to_curves(columns, rows, "DataFrame"), "DataFrame")
    if isinstance(run, Mapping):
        if {"knobs", "steps_per_epoch", "train_loss"} <= set(run):
            return _from_history(History.from_dict(dict(run)))
        return _build(texts.read_json(run, "dict"), "dict")
    if (
        isinstance(run, (list, tuple))
        and run
        and all(isinstance(r, Mapping) or not isinstance(r, (list, tuple, str)) for r in run)
        and not any(isinstance(r, bool) for r in run)
    ):
        if all(isinstance(r, Mapping) for r in run) or all(
            isinstance(r, numbers.Real) for r in run
        ):
            return _build(texts.read_json(list(run), "list"), "list")
    raise TypeError(f"run must be {EXPECTED}; got {type(run).__name__}")


def _looks_like_path(text: str) -> bool:
    """Return True for a str that names a file: one line, and an existing file or a log-like
    name."""
    if "\n" in text or "\r" in text or len(text) > 4096:
        return False
    stripped = text.strip()
    if not stripped or stripped[0] in "{[":
        return False
    try:
        if Path(stripped).is_file():
            return True
    except OSError:
        return False
    # a file name with spaces exists (checked above); text has spaces
    if any(ch.isspace() for ch in stripped):
        return False
    return Path(stripped).suffix.lower() in PATH_SUFFIXES or "/" in stripped or "\\" in stripped


def _read_text(text: str, source: str) -> dict[str, Any]:
    """Return ``texts.read_text``; a log's JSON nested too deep, or a Python literal that cannot be
    a record (a list as a dict key), is a ValueError too, never a RecursionError/TypeError."""
    try:
        return texts.read_text(text, source)
    except (RecursionError, TypeError) as e:
        raise ValueError(
            f"run ({source}) could not be read as a log ({type(e).__name__}: {str(e)[:100]}); "
            f"expected {EXPECTED}"
        ) from None


def _printed(found: list[dict[str, Any]], where: str) -> str:
    """Return what a notebook's code cells printed (streams and plain-text results), in cell
    order."""
    out = []
    for i, cell in enumerate(found):
        outputs = cell.get("outputs", []) if cell["cell_type"] == "code" else []
        for j, o in enumerate(outputs if isinstance(outputs, list) else []):
            if isinstance(o, dict) and o.get("output_type") == "stream":
                text = o.get("text", "")
            # execute_result, display_data
            elif isinstance(o, dict) and isinstance(o.get("data"), dict):
                text = o["data"].get("text/plain", "")
            else:
                continue  # an error's traceback, or not an output at all
            out.append(cells.multiline(text, f"{where} cells[{i}].outputs[{j}]", EXPECTED))
    return "\n".join(out)


def _build(kwargs: dict[str, Any], source: str) -> Curves:
    if "mapping" in kwargs:
        return _from_mapping(kwargs["mapping"], source)
    notes = tuple(kwargs.get("notes", ()))
    data = {k: v for k, v in kwargs.items() if k in CURVE_FIELDS}
    curves = _from_mapping(data, source, notes)
    place = {k: kwargs[k] for k in PLACE_FIELDS if k in kwargs}
    return replace(curves, **place) if place else curves


def _from_history(h: History) -> Curves:
    curves = {
        "train_loss": h.train_loss,
        "val_loss": h.val_loss,
        "step_loss": h.step_loss,
        "train_metric": h.train_metric,
        "val_metric": h.val_metric,
        "lr": h.lr,
    }
    values = {k: tuple(_numbers(v, f"run.{k}")) for k, v in curves.items()}
    if not values["train_loss"] and not values["step_loss"]:
        raise ValueError("run is a History with no loss yet: train_loss and step_loss are empty")
    return Curves(
        **values, steps_per_epoch=max(h.steps_per_epoch, 1), source=f"History {h.case}".strip()
    )


def _from_file(path: Path) -> Curves:
    if not path.is_file():
        raise FileNotFoundError(f"run={str(path)!r}: no such log file")
    raw = path.read_bytes()
    if path.suffix.lower() == ".ipynb":
        where = f"run={str(path)!r}"
        text = _printed(cells.notebook_cells(raw, where, EXPECTED), where)
        if not text.strip():
            raise ValueError(
                f"{where} is a notebook with no printed output: run the training cell and save it, "
                f"or pass the log file or the printed text instead; expected {EXPECTED}"
            )
        try:
            return _build(_read_text(text, f"{path}, printed output"), str(path))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    for encoding in ("utf-8-sig", "utf-16", "latin-1"):  # -sig: drop the BOM Excel writes
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if "\x00" in text[:1000]:
        raise ValueError(f"run={str(path)!r} is a binary file, not a log: expected {EXPECTED}")
    try:
        return _build(_read_text(text, str(path)), str(path))
    except ValueError as e:
        raise ValueError(f"run={str(path)!r}: {e}") from None


def _from_mapping(data: Mapping[str, Any], source: str, notes: tuple[str, ...] = ()) -> Curves:
    """Pick each curve by its name and check the curves are non-empty, numeric and of equal
    length."""
    chosen: dict[str, str] = {}
    for role, keys in (*_ROLES.items(), ("step_loss", STEP_KEYS)):
        key = next((k for k in keys if k in data), None)
        if key is not None:
            chosen[role] = key
    picked = names.pick([str(k) for k in data])
    if "val_loss" not in chosen and "val_loss" not in picked and "test_loss" in picked:
        picked["val_loss"] = picked["test_loss"]
        picked["val_metric"] = picked.get("test_metric", "")
        notes += (
            f"read {picked['test_loss']!r} as the validation loss (the run has no validation loss)",
        )
    for role, key in picked.items():
        if role in CURVE_FIELDS and role not in chosen and key:
            chosen[role] = key
    if not {"train_loss", "val_loss", "step_loss"} & set(chosen):
        raise ValueError(
            f"run ({source}) has no loss curve: expected a key like "
            f"{TRAIN_KEYS + VAL_KEYS + STEP_KEYS} (or 'Train Loss', 'eval_loss', 'test_loss'), got "
            f"{sorted(map(str, data))[:12]}"
        )
    if any(isinstance(data[key], Mapping) for key in chosen.values()):
        return _from_epoch_dicts(data, chosen, source, notes)
    values: dict[str, list[float | None]] = {}
    for role, key in chosen.items():
        seq = data[key]
        if hasattr(seq, "tolist") and not isinstance(seq, (str, bytes)):
            seq = seq.tolist()
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Iterable):
            raise ValueError(f"run[{key!r}] must be a list of numbers, got {type(seq).__name__}")
        values[role] = _numbers(seq, f"run[{key!r}]")
        if not values[role]:
            raise ValueError(f"run[{key!r}] is empty: a curve needs at least one number")
    epoch_roles = [r for r in _ROLES if r in values]
    lengths = {chosen[r]: len(values[r]) for r in epoch_roles}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"run ({source}) has ragged curves: per-epoch curves must have one value per epoch, "
            f"got lengths {lengths}"
        )
    # empty / NA / null cells: as in a CSV table
    if any(v is None for r in epoch_roles for v in values[r]):
        rows = [
            {"epoch": i, **{chosen[r]: values[r][i] for r in epoch_roles}}
            for i in range(max(lengths.values()))
        ]
        kwargs = tables.records_to_curves(
            ["epoch", *(chosen[r] for r in epoch_roles)], rows, source, notes=notes
        )
        if "step_loss" in values:
            kwargs["step_loss"] = tuple(math.nan if v is None else v for v in values["step_loss"])
        return _from_mapping(
            {k: v for k, v in kwargs.items() if k in CURVE_FIELDS},
            source,
            tuple(kwargs.get("notes", ())),
        )
    clean = {r: tuple(math.nan if x is None else x for x in v) for r, v in values.items()}
    epochs = max(lengths.values(), default=0)
    steps = len(clean.get("step_loss", ()))
    return Curves(
        **clean,
        steps_per_epoch=max(steps // epochs, 1) if epochs and steps else 1,
        source=source,
        notes=tuple(notes),
    )


def _epoch(key: Any) -> int | None:
    """Return ``key`` as an epoch number (an int >= 0, or its digits: JSON keys are strings), else
    None."""
    if isinstance(key, numbers.Integral) and not isinstance(key, bool) and 0 <= key <= 10**12:
        return int(key)
    if isinstance(key, str) and re.fullmatch(r"\s*[0-9]{1,12}\s*", key):
        return int(key)
    return None


def _from_epoch_dicts(
    data: Mapping[str, Any], chosen: dict[str, str], source: str, notes: tuple[str, ...]
) -> Curves:
    """Read curves given as dicts of epoch -> value: the values in epoch order (a missing epoch is a
    gap)."""
    by_role: dict[str, dict[int, float | None]] = {}
    for role, key in chosen.items():
        column = data[key]
        if not isinstance(column, Mapping):
            raise ValueError(
                f"run[{key!r}] is a {type(column).__name__} while other curves are dicts: give "
                f"every curve the same form, {COLUMN_FORMS}"
            )
        if not column:
            raise ValueError(f"run[{key!r}] is empty: a curve needs at least one number")
        epochs = {k: _epoch(k) for k in column}
        bad = next((k for k, e in epochs.items() if e is None), None)
        if bad is not None:
            raise ValueError(
                f"run[{key!r}] is a dict whose key {repr(bad)[:40]} is not an epoch number: a "
                f"curve must be {COLUMN_FORMS}"
            )
        if len(set(epochs.values())) < len(epochs):
            raise ValueError(
                f"run[{key!r}] names an epoch twice (e.g. 1 and '1'): a curve must be "
                f"{COLUMN_FORMS}"
            )
        values = {}
        for k, e in epochs.items():
            try:
                values[e] = cells.parse(column[k])
            except ValueError:
                raise ValueError(
                    f"run[{key!r}][{k!r}] is {repr(column[k])[:60]} ({type(column[k]).__name__}), "
                    f"not a number: a curve must be {COLUMN_FORMS}"
                ) from None
        by_role[role] = values
    steps = by_role.pop("step_loss", {})
    step_loss = tuple(math.nan if steps[k] is None else steps[k] for k in sorted(steps))
    notes += ("read the curves' dicts as epoch -> value, in epoch order",)
    if not {"train_loss", "val_loss"} & set(by_role):
        return _build({"step_loss": step_loss, "notes": notes}, source)
    rows = [
        {"epoch": e, **{r: v.get(e) for r, v in by_role.items()}}
        for e in sorted(set().union(*by_role.values()))
    ]
    kwargs = tables.records_to_curves(
        ["epoch", *by_role], rows, source, notes=notes, missing_is_nan=False
    )
    return _build({**kwargs, "step_loss": step_loss} if step_loss else kwargs, source)


def _numbers(seq: Iterable[Any], name: str) -> list[float | None]:
    out = []
    for i, v in enumerate(seq):
        try:
            out.append(cells.parse(v))
        except ValueError:
            raise ValueError(
                f"{name}[{i}] is {v!r} ({type(v).__name__}), not a number: curves must hold "
                "numbers (NaN/inf, 'nan', 'inf' and empty/NA/null cells are read too)"
            ) from None
    return out
