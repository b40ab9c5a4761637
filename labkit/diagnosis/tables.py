"""Records -> Curves: group a log's rows (a CSV table, JSON records, parsed printout lines) into
loss curves.

One code path for every table-like log: Keras CSVLogger (one row per epoch), Lightning
``metrics.csv`` (sparse rows: steps and epochs, fit then validate/test stages), Hugging Face
``log_history`` (fractional epochs, eval rows), pasted printouts. Appended runs (the epoch or step
counter goes back) are split and the last one is diagnosed, never averaged together.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Mapping, Sequence

from . import cells, names

Row = Mapping[str, Any]
# a validation curve logged at fewer than this share of the epochs (or < 3) is left out
MIN_VAL_COVERAGE = 0.2
LOSS_ROLES = ("train_loss", "val_loss", "step_loss")
# a step log whose first logged step is beyond this many logging intervals starts mid-run
EXCERPT_STEPS = 10


def _key(value: Any) -> float | None:
    try:
        v = cells.parse(value)
    except ValueError:
        return None
    return v if v is not None and math.isfinite(v) else None


def split_runs(rows: Sequence[Row], counter: str | None) -> list[tuple[int, list[Row]]]:
    """Return ``[(first row index, rows)]``: a new segment starts where ``counter`` (epoch or step)
    goes back."""
    if counter is None:
        return [(0, list(rows))]
    segments: list[tuple[int, list[Row]]] = [(0, [])]
    last = None
    for i, row in enumerate(rows):
        k = _key(row.get(counter))
        if k is not None and last is not None and k < last:
            segments.append((i, []))
        if k is not None:
            last = k
        segments[-1][1].append(row)
    return [s for s in segments if s[1]]


def _values(
    rows: Sequence[Row], column: str, decimal_comma: bool, source: str, offset: int
) -> list[float | None]:
    out = []
    for i, row in enumerate(rows):
        try:
            out.append(cells.parse(row.get(column), decimal_comma))
        except ValueError as e:
            raise ValueError(
                f"run ({source}): column {column!r} row {offset + i + 1}: {e}"
            ) from None
    return out


def _epoch_keys(rows: Sequence[Row], epoch_col: str | None, step_col: str | None) -> list[Any]:
    """Return one group key per row: its epoch (fractional epochs: the epoch they fall in), else its
    row index."""
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


def records_to_curves(
    columns: Sequence[str],
    rows: Sequence[Row],
    source: str,
    decimal_comma: bool = False,
    notes: Sequence[str] = (),
    missing_is_nan: bool = True,
) -> dict[str, Any]:
    """Return the keyword arguments of ``Curves`` for a log given as rows of ``{column: cell}``.

    ``missing_is_nan``: in a table with one row per epoch, empty cells after a loss's last value are
    NaN (loggers that cannot write NaN leave the cell empty); False for printouts, which print "nan"
    themselves.
    """
    notes = list(notes)
    chosen = names.pick(list(columns))
    if not set(LOSS_ROLES + ("test_loss",)) & set(chosen):
        shown = ", ".join(map(repr, list(columns)[:12])) + (" ..." if len(columns) > 12 else "")
        raise ValueError(
            f"run ({source}) has no loss column: expected a name like 'loss', 'train_loss', "
            f"'val_loss', 'Validation Loss', 'eval_loss' or 'test_loss'; found columns {shown}"
        )
    if "val_loss" not in chosen and "test_loss" in chosen:
        chosen["val_loss"], chosen["val_metric"] = (
            chosen.pop("test_loss"),
            chosen.pop("test_metric", None),
        )
        notes.append(
            f"read {chosen['val_loss']!r} as the validation loss (the log has no validation loss)"
        )
        if chosen["val_metric"] is None:
            del chosen["val_metric"]
    epoch_col, step_col = chosen.get("epoch"), chosen.get("step")
    segments = split_runs(rows, epoch_col or step_col)
    trained = [
        (start, seg)
        for start, seg in segments
        if any(
            cells.parse_safe(r.get(chosen.get(k))) is not None
            for r in seg
            for k in ("train_loss", "step_loss")
            if chosen.get(k)
        )
    ]
    if not trained:
        trained = segments
    if len(trained) > 1:
        start = trained[-1][0]
        notes.append(
            f"the log holds {len(trained)} runs appended one after another (the "
            f"{epoch_col or step_col} counter restarts at row {start + 1}); diagnosed the last one "
            "only, never an average of them"
        )
    last_start, seg = trained[-1]
    stages = [s for s in segments if s[0] > last_start]
    if stages:
        notes.append(
            f"left out {sum(len(s) for _, s in stages)} row(s) after the last training rows (a "
            "validate/test stage)"
        )
    return _group(
        chosen, seg, epoch_col, step_col, source, decimal_comma, last_start, notes, missing_is_nan
    )


def _group(
    chosen: dict[str, str],
    rows: list[Row],
    epoch_col: str | None,
    step_col: str | None,
    source: str,
    decimal_comma: bool,
    offset: int,
    notes: list[str],
    missing_is_nan: bool = True,
) -> dict[str, Any]:
    keys = _epoch_keys(rows, epoch_col, step_col)
    order = list(dict.fromkeys(keys))
    position = {k: i for i, k in enumerate(order)}
    rows_per_key = Counter(keys)
    dense = len(order) == len(rows)
    cols = {
        r: _values(rows, c, decimal_comma, source, offset)
        for r, c in chosen.items()
        if r not in ("epoch", "step")
    }
    per_epoch: dict[str, dict[Any, float]] = {}
    per_step: dict[str, list[float]] = {}
    for r, vals in cols.items():
        groups: dict[Any, list[float]] = {}
        for k, v in zip(keys, vals):
            if v is not None:
                groups.setdefault(k, []).append(v)
        per_epoch[r] = {
            k: (math.nan if any(math.isnan(x) for x in g) else sum(g) / len(g))
            for k, g in groups.items()
        }
        per_step[r] = [v for v in vals if v is not None]
        filled = {k for k, v in zip(keys, vals) if v is not None}
        last = max((position[k] for k in groups), default=-1)
        # logged every n epochs: a later gap is one more gap
        gaps = any(k not in filled for k in order[:last])
        # empty cells after the last value: NaN (diverged)
        if missing_is_nan and dense and r in LOSS_ROLES and groups and not gaps:
            written = {
                k
                for k, row in zip(keys, rows)
                if any(cells.parse_safe(v) is not None for v in row.values())
            }
            for k in order[last + 1 :]:
                if k not in filled and k in written:
                    per_epoch[r][k] = math.nan
    out: dict[str, Any] = {}
    step_loss: list[float] = []
    if "step_loss" in per_step:
        step_loss = per_step.pop("step_loss")
        per_epoch.pop("step_loss")
    elif (
        "train_loss" in per_step
        and not dense
        and any(rows_per_key[k] > 1 for k in per_epoch["train_loss"])
    ):
        step_loss = per_step["train_loss"]
    # a step log with no epochs (TF, HF without epochs)
    if epoch_col is None and step_col is not None:
        steps = step_loss or per_step.get("train_loss", [])
        if steps:
            numbers = [k for k in (_key(r.get(step_col)) for r in rows) if k is not None]
            gap = min((b - a for a, b in zip(numbers, numbers[1:]) if b > a), default=1)
            mid = bool(numbers) and numbers[0] > EXCERPT_STEPS * gap
            notes.append(
                "no epochs in the log: read the logged steps"
                + (f" (it starts at step {numbers[0]:g}: an excerpt)" if mid else "")
            )
            return {"step_loss": tuple(steps), "mid_run": mid, "notes": tuple(notes)}
    if "train_loss" not in per_epoch and step_loss and epoch_col is not None:
        per_epoch["train_loss"] = {k: v for k, v in _step_means(keys, cols["step_loss"]).items()}
        notes.append("training loss per epoch: the mean of its logged steps")
    epochs = [
        k for k in order if any(k in per_epoch.get(r, {}) for r in ("train_loss", "val_loss"))
    ]
    val = per_epoch.get("val_loss", {})
    train = per_epoch.get("train_loss", {})
    if val and train:
        covered = [k for k in epochs if k in val]
        if len(covered) < 3 or len(covered) < MIN_VAL_COVERAGE * len(epochs):
            if len(covered) < len(epochs):
                notes.append(
                    f"validation loss logged at only {len(covered)} of {len(epochs)} "
                    "epochs: left out"
                )
                per_epoch.pop("val_loss")
                per_epoch.pop("val_metric", None)
    loss_roles = [r for r in ("train_loss", "val_loss") if r in per_epoch]
    kept = [k for k in epochs if all(k in per_epoch[r] for r in loss_roles)]
    kept_set = set(kept)
    trailing = [
        k
        for k in epochs[len(kept) :]
        if k not in kept_set and k not in per_epoch.get("train_loss", {})
    ]
    if (
        kept
        and trailing
        and epochs[-len(trailing) :] == trailing
        and position[kept[-1]] < position[trailing[0]]
    ):
        notes.append(
            f"left out the last {len(trailing)} epoch key(s): validation/test rows with no "
            "training (a validate/test stage after fit)"
        )
        epochs = epochs[: len(epochs) - len(trailing)]
    if len(kept) < len(epochs):
        dropped = [k for k in epochs if k not in kept_set]  # as the log numbers them
        notes.append(
            f"left out {len(dropped)} epoch(s) where not every loss was logged "
            f"(epochs {', '.join(map(str, dropped[:6]))}{' ...' if len(dropped) > 6 else ''})"
        )
    for r, by_epoch in per_epoch.items():
        if r in loss_roles or all(k in by_epoch for k in kept):
            values = tuple(by_epoch[k] for k in kept)
            if values:
                out[r] = values
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


def _step_means(keys: list[Any], values: list[float | None]) -> dict[Any, float]:
    groups: dict[Any, list[float]] = {}
    for k, v in zip(keys, values):
        if v is not None:
            groups.setdefault(k, []).append(v)
    return {
        k: (math.nan if any(math.isnan(x) for x in g) else sum(g) / len(g))
        for k, g in groups.items()
    }
