"""Load a run (a labkit History, a dict or list, a pandas DataFrame, a log file of any kind, or
pasted log text) into the ``Curves`` diagnosis reads. Every table-like log goes through one path,
``records_to_curves``: Keras CSVLogger (one row per epoch), Lightning ``metrics.csv`` (sparse rows,
fit then validate/test stages), Hugging Face ``log_history`` (fractional epochs), pasted printouts
(texts.py reads the text). Appended runs are split and the last one is diagnosed, never averaged.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..history import History
from . import texts
from .texts import parse_all, parse_safe, pick

# Accepted names for each curve in a dict of lists, first match wins (Keras, PyTorch Lightning,
# labkit); any other name is read by its words (texts.role): "Train Loss", "eval_loss", ...
KEYS = {
    role: tuple(keys.split())
    for role, keys in {
        "train_loss": "train_loss loss train_loss_epoch loss_epoch training_loss",
        "val_loss": "val_loss val_loss_epoch validation_loss valid_loss",
        "train_metric": "train_metric accuracy acc train_accuracy train_acc train_acc_epoch",
        "val_metric": "val_metric val_accuracy val_acc val_acc_epoch",
        "lr": "lr learning_rate",
        "step_loss": "step_loss train_loss_step loss_step",
    }.items()
}
EPOCH_ROLES = ("train_loss", "val_loss", "train_metric", "val_metric", "lr")
CURVE_FIELDS = ("train_loss", "val_loss", "step_loss", "train_metric", "val_metric", "lr")
LOSS_ROLES = ("train_loss", "val_loss", "step_loss")
EXPECTED = (
    "a labkit History, a dict of lists (e.g. Keras history.history with 'loss', 'val_loss') or of "
    "{epoch: value} dicts, a list of records (Hugging Face log_history) or numbers, a pandas "
    "DataFrame, a path to a log file (CSV of any extension: Keras CSVLogger's training.log, "
    "Lightning metrics.csv; JSON: trainer_state.json; a saved printout; a saved notebook, .ipynb, "
    "whose cells printed the training), or the log's text itself (CSV/JSON text, or pasted "
    "training output)"
)
COLUMN_FORMS = (
    "a list of numbers, one per epoch (e.g. [0.52, 0.47]), or a dict of epoch number -> number "
    "(e.g. {1: 0.52, 2: 0.47}; pandas' DataFrame.to_dict() gives {0: ..., 1: ...})"
)
PATH_SUFFIXES = (".csv", ".json", ".log", ".txt", ".tsv", ".jsonl", ".out", ".ipynb")
# a validation curve logged at fewer than this share of the epochs (or < 3) is left out
MIN_VAL_COVERAGE = 0.2
# a step log whose first logged step is beyond this many logging intervals starts mid-run
EXCERPT_STEPS = 10


@dataclass(frozen=True)
class Curves:
    """The curves diagnosis reads: per-epoch lists, plus per-step losses when the log has them."""

    train_loss: tuple[float, ...] = ()
    val_loss: tuple[float, ...] = ()
    step_loss: tuple[float, ...] = ()  # training loss of each (logged) step
    train_metric: tuple[float, ...] = ()  # e.g. training accuracy of each epoch
    val_metric: tuple[float, ...] = ()
    lr: tuple[float, ...] = ()
    steps_per_epoch: int = 1  # logged steps per epoch (approximate for subsampled step logs)
    source: str = ""  # what the curves were read from
    notes: tuple[str, ...] = ()  # how the log was read: runs split, rows left out, names taken
    first_epoch: int = 1  # the epoch number of the first value (an excerpt from epoch 48: 48)
    mid_run: bool = False  # the log starts in the middle of a run: no "from the start" claims

    @property
    def num_epochs(self) -> int:
        """The number of epochs of the longest per-epoch loss curve."""
        return max(len(self.train_loss), len(self.val_loss))


def load_run(run: Any) -> Curves:
    """Return the Curves of ``run``; raise TypeError/ValueError saying what was found and what was
    expected (``EXPECTED``). A str is a path when it is one line naming a file (its content is
    sniffed, whatever the extension; a .ipynb is read by what its cells printed), else the log's
    text. A curve in a dict may be a dict of epoch -> value (pandas' ``to_dict()``): read in epoch
    order, a missing epoch is a gap, and a curve starting at epoch 48 is an excerpt."""
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
    if type(run).__module__.split(".")[0] == "pandas" and hasattr(run, "columns"):
        columns = [str(c) for c in run.columns]
        sparse = any(texts.role(c) == "step" for c in columns)

        def cell(v: Any) -> Any:  # Lightning: in a log of steps, NaN is "not logged"
            return None if sparse and isinstance(v, float) and math.isnan(v) else v

        rows = [{str(k): cell(v) for k, v in row.items()} for row in run.to_dict("records")]
        return _build(records_to_curves(columns, rows, "DataFrame"), "DataFrame")
    if isinstance(run, Mapping):
        if {"knobs", "steps_per_epoch", "train_loss"} <= set(run):
            return _from_history(History.from_dict(dict(run)))
        return _build(_read_json(run, "dict"), "dict")
    if isinstance(run, (list, tuple)) and run and not any(isinstance(r, bool) for r in run):
        records = all(isinstance(r, Mapping) for r in run)
        if records or all(isinstance(r, numbers.Real) for r in run):  # or bare numbers
            return _build(_read_json(list(run), "list"), "list")
    raise TypeError(f"run must be {EXPECTED}; got {type(run).__name__}")


def _looks_like_path(text: str) -> bool:
    """A str names a file when it is one line, and an existing file or a log-like name."""
    stripped = text.strip()
    if "\n" in text or "\r" in text or len(text) > 4096 or not stripped or stripped[0] in "{[":
        return False
    try:
        if Path(stripped).is_file():
            return True
    except OSError:
        return False
    if any(ch.isspace() for ch in stripped):  # a file name with spaces exists (checked above)
        return False
    return Path(stripped).suffix.lower() in PATH_SUFFIXES or "/" in stripped or "\\" in stripped


def _from_history(h: History) -> Curves:
    values = {k: tuple(_numbers(getattr(h, k), f"run.{k}")) for k in CURVE_FIELDS}
    if not values["train_loss"] and not values["step_loss"]:
        raise ValueError("run is a History with no loss yet: train_loss and step_loss are empty")
    source = f"History {h.case}".strip()
    return Curves(**values, steps_per_epoch=max(h.steps_per_epoch, 1), source=source)


def _from_file(path: Path) -> Curves:
    if not path.is_file():
        raise FileNotFoundError(f"run={str(path)!r}: no such log file")
    raw, where = path.read_bytes(), f"run={str(path)!r}"
    if path.suffix.lower() == ".ipynb":
        text = texts.notebook_text(raw, where, EXPECTED, printed=True)
        if not text.strip():
            raise ValueError(
                f"{where} is a notebook with no printed output: run the training cell and save it, "
                f"or pass the log file or the printed text instead; expected {EXPECTED}"
            )
        source = f"{path}, printed output"
    else:
        for encoding in ("utf-8-sig", "utf-16", "latin-1"):  # -sig: drop the BOM Excel writes
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                pass
        if "\x00" in text[:1000]:
            raise ValueError(f"{where} is a binary file, not a log: expected {EXPECTED}")
        source = str(path)
    try:
        return _build(_read_text(text, source), str(path))
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def _read_text(text: str, source: str) -> dict[str, Any]:
    """Return the Curves keyword arguments for a log's whole text: JSON, JSON lines, a table, bare
    numbers, else a printout. A JSON nested too deep, or a Python literal that cannot be a record (a
    list as a dict key), is a ValueError too, never a RecursionError/TypeError."""
    try:
        body = text.lstrip("\ufeff").strip()
        if not body:
            raise ValueError(
                f"run ({source}) is empty: expected a log (CSV, JSON, or printed training output)"
            )
        if body[0] in "{[":
            try:
                data = json.loads(body)
            except json.JSONDecodeError:
                records = texts.records([ln.strip() for ln in body.splitlines() if ln.strip()])
                if records is not None:  # one record per line
                    return _read_json(records, source)
            except RecursionError:
                raise ValueError(f"run ({source}): its JSON is nested too deeply to read") from None
            except ValueError as e:  # e.g. an integer of more than 4300 digits
                raise ValueError(
                    f"run ({source}): its JSON holds a value that cannot be read: {e}"
                ) from None
            else:
                return _read_json(data, source)
        lines = [ln for ln in body.splitlines() if ln.strip()]
        if (table := texts.sniff_table(lines)) is not None:
            columns, rows, decimal_comma, notes = table
            return records_to_curves(columns, rows, source, decimal_comma, notes)
        if (numbers := texts.headerless_numbers(lines, source)) is not None:
            return _train_loss_only(*numbers, source)
        columns, rows, notes = texts.printout(lines, source)
        # a printout writes "nan": a missing value is not one
        return records_to_curves(columns, rows, source, notes=notes, missing_is_nan=False)
    except (RecursionError, TypeError) as e:
        raise ValueError(
            f"run ({source}) could not be read as a log ({type(e).__name__}: {str(e)[:100]}); "
            f"expected {EXPECTED}"
        ) from None


def _read_json(data: Any, source: str) -> dict[str, Any]:
    """Return Curves kwargs for parsed JSON (a dict of lists, HF trainer_state.json, records)."""
    if isinstance(data, Mapping) and isinstance(data.get("log_history"), list):
        return _read_json(data["log_history"], f"{source}, log_history")
    if isinstance(data, Mapping) and isinstance(data.get("history"), Mapping):
        data = data["history"]  # {"history": {"loss": [...]}}
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        rows = [r for r in data if "train_runtime" not in r]  # HF's summary: a whole-run mean
        columns = list(dict.fromkeys(k for r in rows for k in r))
        notes = ["left out the summary row (train_runtime, whole-run mean loss)"]
        notes = notes if len(rows) < len(data) else []
        return records_to_curves(columns, rows, source, notes=notes)
    if isinstance(data, list) and data and all(not isinstance(v, (list, dict)) for v in data):
        return _train_loss_only(data, texts.BARE_NUMBERS, source)
    if isinstance(data, Mapping):
        return {"mapping": data}
    kind = f"a JSON {type(data).__name__}"
    if isinstance(data, list) and data:
        kind = f"a list of {type(data[0]).__name__}"
    raise ValueError(
        f'run ({source}) must hold a JSON object of curves (e.g. {{"loss": [...], "val_loss": '
        "[...]}), a list of records (e.g. Hugging Face log_history) or a list of numbers; got "
        f"{kind}"
    )


def _train_loss_only(values: list[Any], note: str, source: str) -> dict[str, Any]:
    """Bare numbers: the training loss, one per epoch."""
    parsed = parse_all(values, lambda i, v, e: f"run ({source})[{i}]: {e}")
    return {"train_loss": _nan(parsed), "notes": (note,)}


def _nan(values: Iterable[float | None]) -> tuple[float, ...]:
    return tuple(math.nan if v is None else v for v in values)


def _build(kwargs: dict[str, Any], source: str) -> Curves:
    """Return the Curves of Curves kwargs, or of a JSON object of curves ({"mapping": data})."""
    if "mapping" in kwargs:
        return _from_mapping(kwargs["mapping"], source)
    notes = tuple(kwargs.get("notes", ()))
    curves = _from_mapping({k: v for k, v in kwargs.items() if k in CURVE_FIELDS}, source, notes)
    place = {k: kwargs[k] for k in ("first_epoch", "mid_run") if k in kwargs}
    return replace(curves, **place) if place else curves


def _numbers(seq: Iterable[Any], name: str) -> list[float | None]:
    return parse_all(
        seq,
        lambda i, v, e: (
            f"{name}[{i}] is {v!r} ({type(v).__name__}), not a number: curves must "
            "hold numbers (NaN/inf, 'nan', 'inf' and empty/NA/null cells are read too)"
        ),
    )


def _from_mapping(data: Mapping[str, Any], source: str, notes: tuple[str, ...] = ()) -> Curves:
    """Pick each curve by its name; check the curves are non-empty, numeric, of equal length."""
    chosen = {}
    for role, keys in KEYS.items():
        key = next((k for k in keys if k in data), None)
        if key is not None:
            chosen[role] = key
    picked = pick([str(k) for k in data])
    if "val_loss" not in chosen and (note := _test_as_val(picked, "run")):
        notes += (note,)
    chosen.update({r: k for r, k in picked.items() if r in CURVE_FIELDS and r not in chosen})
    if not set(LOSS_ROLES) & set(chosen):
        raise ValueError(
            f"run ({source}) has no loss curve: expected a key like "
            f"{KEYS['train_loss'] + KEYS['val_loss'] + KEYS['step_loss']} (or 'Train Loss', "
            f"'eval_loss', 'test_loss'), got {sorted(map(str, data))[:12]}"
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
    epoch_roles = [r for r in EPOCH_ROLES if r in values]
    lengths = {chosen[r]: len(values[r]) for r in epoch_roles}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"run ({source}) has ragged curves: per-epoch curves must have one value per epoch, "
            f"got lengths {lengths}"
        )
    epochs = max(lengths.values(), default=0)
    if any(v is None for r in epoch_roles for v in values[r]):  # empty cells: as in a CSV table
        names = [chosen[r] for r in epoch_roles]
        rows = [
            {"epoch": i, **{chosen[r]: values[r][i] for r in epoch_roles}} for i in range(epochs)
        ]
        kwargs = records_to_curves(["epoch", *names], rows, source, notes=notes)
        if "step_loss" in values:
            kwargs["step_loss"] = _nan(values["step_loss"])
        return _from_mapping(
            {k: v for k, v in kwargs.items() if k in CURVE_FIELDS}, source, kwargs["notes"]
        )
    steps = len(values.get("step_loss", ()))
    per_epoch = max(steps // epochs, 1) if epochs and steps else 1
    clean = {r: _nan(v) for r, v in values.items()}
    return Curves(**clean, steps_per_epoch=per_epoch, source=source, notes=tuple(notes))


def _test_as_val(chosen: dict[str, str], what: str) -> str | None:
    """Take the test curves of ``chosen`` ({role: column}) as the validation ones when the ``what``
    (run, log) has no validation loss; return the note saying so."""
    if "val_loss" in chosen or "test_loss" not in chosen:
        return None
    chosen["val_loss"] = chosen.pop("test_loss")
    metric = chosen.pop("test_metric", None)
    if metric is None:
        chosen.pop("val_metric", None)
    else:
        chosen["val_metric"] = metric
    return f"read {chosen['val_loss']!r} as the validation loss (the {what} has no validation loss)"


def _epoch(key: Any) -> int | None:
    """Return ``key`` as an epoch number (an int >= 0, or its digits: JSON keys are strings)."""
    if isinstance(key, numbers.Integral) and not isinstance(key, bool) and 0 <= key <= 10**12:
        return int(key)
    if isinstance(key, str) and re.fullmatch(r"\s*[0-9]{1,12}\s*", key):
        return int(key)
    return None


def _from_epoch_dicts(
    data: Mapping[str, Any], chosen: dict[str, str], source: str, notes: tuple[str, ...]
) -> Curves:
    """Read curves given as dicts of epoch -> value, in epoch order (a missing epoch is a gap)."""
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
        epochs = [_epoch(k) for k in column]
        bad = [k for k, e in zip(column, epochs) if e is None]
        if bad:
            raise ValueError(
                f"run[{key!r}] is a dict whose key {repr(bad[0])[:40]} is not an epoch number: a "
                f"curve must be {COLUMN_FORMS}"
            )
        if len(set(epochs)) < len(epochs):
            raise ValueError(
                f"run[{key!r}] names an epoch twice (e.g. 1 and '1'): a curve must be "
                f"{COLUMN_FORMS}"
            )
        ks = list(column)
        values = parse_all(
            column.values(),
            lambda i, v, e: (
                f"run[{key!r}][{ks[i]!r}] is {repr(v)[:60]} ({type(v).__name__}), "
                f"not a number: a curve must be {COLUMN_FORMS}"
            ),
        )
        by_role[role] = dict(zip(epochs, values))
    steps = by_role.pop("step_loss", {})
    step_loss = _nan(steps[k] for k in sorted(steps))
    notes += ("read the curves' dicts as epoch -> value, in epoch order",)
    if not {"train_loss", "val_loss"} & set(by_role):
        return _build({"step_loss": step_loss, "notes": notes}, source)
    rows = [
        {"epoch": e, **{r: v.get(e) for r, v in by_role.items()}}
        for e in sorted(set().union(*by_role.values()))
    ]
    kwargs = records_to_curves(["epoch", *by_role], rows, source, notes=notes, missing_is_nan=False)
    return _build({**kwargs, "step_loss": step_loss} if step_loss else kwargs, source)


# ---- rows -> curves: one path for every table-like log

Row = Mapping[str, Any]


def _key(value: Any) -> float | None:
    v = parse_safe(value)
    return v if v is not None and math.isfinite(v) else None  # a counter: finite or none


def _split_runs(rows: Sequence[Row], counter: str | None) -> list[tuple[int, list[Row]]]:
    """Return [(first row index, rows)]: a segment starts where ``counter`` goes back."""
    if counter is None:
        return [(0, list(rows))]
    segments: list[tuple[int, list[Row]]] = [(0, [])]
    last = -math.inf
    for i, row in enumerate(rows):
        k = _key(row.get(counter))
        if k is not None and k < last:
            segments.append((i, []))
        if k is not None:
            last = k
        segments[-1][1].append(row)
    return [s for s in segments if s[1]]


def _epoch_keys(rows: Sequence[Row], epoch_col: str | None) -> list[Any]:
    """Return each row's epoch (a fractional epoch: the one it falls in), else its row index."""
    if epoch_col is None:
        return list(range(len(rows)))
    raw = [_key(r.get(epoch_col)) for r in rows]
    fractional = any(v is not None and v != int(v) for v in raw)
    keys, last = [], None
    for v in raw:
        if v is not None:
            last = max(math.ceil(v) - 1, 0) if fractional else int(v)
        keys.append(last if last is not None else -1)
    return keys


def _means(keys: list[Any], values: list[float | None]) -> dict[Any, float]:
    """Return the mean of each key's logged values (NaN when one of them is NaN)."""
    groups: dict[Any, list[float]] = {}
    for k, v in zip(keys, values):
        if v is not None:
            groups.setdefault(k, []).append(v)
    return {k: math.nan if any(map(math.isnan, g)) else sum(g) / len(g) for k, g in groups.items()}


def records_to_curves(
    columns: Sequence[str],
    rows: Sequence[Row],
    source: str,
    decimal_comma: bool = False,
    notes: Sequence[str] = (),
    missing_is_nan: bool = True,
) -> dict[str, Any]:
    """Return the Curves kwargs for a log given as rows of ``{column: cell}``. ``missing_is_nan``:
    in a table with one row per epoch, empty cells after a loss's last value are NaN (loggers that
    cannot write NaN leave the cell empty); False for printouts, which print "nan" themselves."""
    notes = list(notes)
    chosen = pick(list(columns))
    if not set(LOSS_ROLES + ("test_loss",)) & set(chosen):
        shown = ", ".join(map(repr, list(columns)[:12])) + (" ..." if len(columns) > 12 else "")
        raise ValueError(
            f"run ({source}) has no loss column: expected a name like 'loss', 'train_loss', "
            f"'val_loss', 'Validation Loss', 'eval_loss' or 'test_loss'; found columns {shown}"
        )
    if not rows:
        raise ValueError(
            f"run ({source}) has column names ({', '.join(map(repr, list(columns)[:12]))}) but no "
            "rows under them: expected one row of numbers per epoch or step"
        )
    if note := _test_as_val(chosen, "log"):
        notes.append(note)
    epoch_col, step_col = chosen.get("epoch"), chosen.get("step")
    segments = _split_runs(rows, epoch_col or step_col)
    losses = [chosen[k] for k in ("train_loss", "step_loss") if chosen.get(k)]
    trained = [
        s for s in segments if any(parse_safe(r.get(c)) is not None for r in s[1] for c in losses)
    ] or segments
    if len(trained) > 1:
        notes.append(
            f"the log holds {len(trained)} runs appended one after another (the "
            f"{epoch_col or step_col} counter restarts at row {trained[-1][0] + 1}); diagnosed the "
            "last one only, never an average of them"
        )
    start, rows = trained[-1]
    stages = [s for s in segments if s[0] > start]
    if stages:
        notes.append(
            f"left out {sum(len(s) for _, s in stages)} row(s) after the last training rows (a "
            "validate/test stage)"
        )
    keys = _epoch_keys(rows, epoch_col)
    order = list(dict.fromkeys(keys))
    dense = len(order) == len(rows)  # one row per epoch
    cols = {
        r: parse_all(
            [row.get(c) for row in rows],
            lambda i, v, e: f"run ({source}): column {c!r} row {start + i + 1}: {e}",
            decimal_comma,
        )
        for r, c in chosen.items()
        if r not in ("epoch", "step")
    }
    per_epoch = {r: _means(keys, vals) for r, vals in cols.items()}
    per_step = {r: [v for v in vals if v is not None] for r, vals in cols.items()}
    if missing_is_nan and dense:  # empty cells after a loss's last value: NaN (it diverged)
        written = {
            k for k, row in zip(keys, rows) if any(parse_safe(v) is not None for v in row.values())
        }
        for logged in (per_epoch[r] for r in LOSS_ROLES if r in per_epoch):
            last = max((i for i, k in enumerate(order) if k in logged), default=-1)
            # logged every n epochs: a later gap is one more gap
            if logged and all(k in logged for k in order[:last]):
                logged.update({k: math.nan for k in order[last + 1 :] if k in written})
    step_loss = per_step.pop("step_loss", [])
    per_epoch.pop("step_loss", None)
    train, rows_per_epoch = per_epoch.get("train_loss", {}), Counter(keys)
    # several rows of one epoch: the rows are steps
    if "step_loss" not in cols and any(rows_per_epoch[k] > 1 for k in train):
        step_loss = per_step["train_loss"]
    if epoch_col is None and step_col is not None:  # a step log with no epochs (TF, HF)
        steps = step_loss or per_step.get("train_loss", [])
        if steps:
            at = [k for k in (_key(r.get(step_col)) for r in rows) if k is not None]
            gap = min((b - a for a, b in zip(at, at[1:]) if b > a), default=1)
            mid = bool(at) and at[0] > EXCERPT_STEPS * gap
            excerpt = f" (it starts at step {at[0]:g}: an excerpt)" if mid else ""
            notes.append(f"no epochs in the log: read the logged steps{excerpt}")
            return {"step_loss": tuple(steps), "mid_run": mid, "notes": tuple(notes)}
    if "train_loss" not in per_epoch and step_loss and epoch_col is not None:
        per_epoch["train_loss"] = _means(keys, cols["step_loss"])
        notes.append("training loss per epoch: the mean of its logged steps")
    return _align(per_epoch, order, step_loss, epoch_col, notes)


def _align(
    per_epoch: dict[str, dict[Any, float]],
    order: list[Any],
    step_loss: list[float],
    epoch_col: str | None,
    notes: list[str],
) -> dict[str, Any]:
    """Return the Curves kwargs of per-epoch values: the epochs where every loss was logged."""
    epochs = [
        k for k in order if any(k in per_epoch.get(r, {}) for r in ("train_loss", "val_loss"))
    ]
    if per_epoch.get("val_loss") and per_epoch.get("train_loss"):
        covered = sum(k in per_epoch["val_loss"] for k in epochs)
        if (covered < 3 or covered < MIN_VAL_COVERAGE * len(epochs)) and covered < len(epochs):
            notes.append(
                f"validation loss logged at only {covered} of {len(epochs)} epochs: left out"
            )
            per_epoch.pop("val_loss")
            per_epoch.pop("val_metric", None)
    loss_roles = [r for r in ("train_loss", "val_loss") if r in per_epoch]
    kept = [k for k in epochs if all(k in per_epoch[r] for r in loss_roles)]
    kept_set = set(kept)
    train = per_epoch.get("train_loss", {})
    trailing = [k for k in epochs[len(kept) :] if k not in kept_set and k not in train]
    if kept and trailing and epochs[-len(trailing) :] == trailing:
        notes.append(
            f"left out the last {len(trailing)} epoch key(s): validation/test rows with no "
            "training (a validate/test stage after fit)"
        )
        epochs = epochs[: -len(trailing)]
    if len(kept) < len(epochs):
        dropped = [k for k in epochs if k not in kept_set]  # as the log numbers them
        notes.append(
            f"left out {len(dropped)} epoch(s) where not every loss was logged "
            f"(epochs {', '.join(map(str, dropped[:6]))}{' ...' if len(dropped) > 6 else ''})"
        )
    out: dict[str, Any] = {  # the loss curves have every kept epoch; other curves if complete
        r: tuple(v[k] for k in kept)
        for r, v in per_epoch.items()
        if kept and all(k in v for k in kept)
    }
    if step_loss:
        out["step_loss"] = tuple(step_loss)
    if epoch_col is not None and kept and isinstance(kept[0], int):
        out["first_epoch"] = max(kept[0], 1)
        out["mid_run"] = kept[0] > 1
        if kept[0] > 1:
            notes.append(
                f"the log starts at epoch {kept[0]}: an excerpt, so nothing is said about "
                "the first epochs"
            )
    return {**out, "notes": tuple(notes)}
