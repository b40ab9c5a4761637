"""Pasted printouts -> records: the text people paste into a question about their training.

Read: Keras progress output (``Epoch 3/50`` then ``... - loss: 0.43 - val_loss: 0.51``), common
PyTorch prints (``Epoch: 1 Training Loss: 0.17 Validation Loss: 0.07``, ``Epoch 1/5.. Train loss:
-1.906..Test loss: -1.412``, ``Train Epoch: 1 [6400/60000 (11%)]  Loss: 0.43``), ``key=value`` and
``key: value`` lines, logging lines with timestamps, TF step logs (``INFO:tensorflow:loss = 1.39,
step = 100``).
"""

from __future__ import annotations

import re
from typing import Any

from . import cells, names

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?nan\b|[-+]?inf(?:inity)?\b"
WORD = r"[A-Za-z][\w\-/]*"
PAIR = re.compile(rf"((?:{WORD}[ \t]+){{0,3}}{WORD})['\"]?\s*(?:[:=]|\bis\b)\s*({NUM})", re.I)
LOSS_SPACE = re.compile(rf"((?:{WORD}[ \t]+){{0,2}}(?:loss|acc|accuracy))[ \t]+({NUM})", re.I)
# an epoch/step number: a longer run of digits is no counter (and int() of it is slow)
COUNT = r"(\d{1,15})(?!\d)"
EPOCH = re.compile(rf"(?<![\w.])epoch['\"]?\s*[:=#\[(]?\s*{COUNT}(?:\s*(?:/|of)\s*{COUNT})?", re.I)
STEP = re.compile(rf"\b(?:step|iter|iteration|batch|it)\b\s*[:=#\[(]?\s*{COUNT}", re.I)
BATCH = re.compile(rf"\[\s*{COUNT}\s*/\s*{COUNT}")
PROGRESS = re.compile(r"\[[=>.]{3,}|\bETA\b|\d+(?:ms|s|us)/step", re.I)
COUNTERS = ("epoch", "step")
NOT_A_CURVE = frozenset(
    {"best", "min", "minimum", "lowest", "max", "target", "initial", "previous", "prev"}
)
EVAL_LINE = re.compile(
    r"^[\W\d:,\-TZ]*(?:INFO\W*)?(test|val|valid|validation|eval|evaluation|dev)(?:ation)?\b(?!_)",
    re.I,
)


def _pairs(line: str) -> dict[str, float]:
    """Return ``{name: value}`` for each ``name: value`` / ``name=value`` / ``<...> loss value`` in
    ``line``."""
    out: dict[str, float] = {}
    for pattern in (PAIR, LOSS_SPACE):
        for m in pattern.finditer(line):
            words = m.group(1).split()
            for i in range(len(words)):  # the longest tail of the words that names something
                name = "_".join(words[i:])
                if set(names.normalise(" ".join(words[: i + 1])).split("_")) & NOT_A_CURVE:
                    # "Best ValLoss: 1.05", "min val_loss = 0.3": a summary, not this epoch's value
                    break
                r = names.role(name)
                if r is not None:
                    # "ValLoss" and "val_loss" in one printout are one curve
                    key = names.normalise(name)
                    if key not in out and r not in COUNTERS:
                        value = cells.parse(m.group(2))
                        if value is not None:
                            out[key] = value
                    break
    return out


def _restarts(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    """Return True when the counters go back between two printed lines: a new run starts."""
    (e0, s0), (e1, s1) = before[:2], after[:2]
    if e0 is not None and e1 is not None and e1 < e0:
        return True
    return (e0 == e1) and s0 is not None and s1 is not None and s1 < s0


def split_epochs(lines: list[str]) -> list[str]:
    """Return the lines with any line holding several epoch markers cut before each (a printout
    pasted into a web page often loses its line breaks: 'Epoch 1/5.. Train loss: -1.9 Epoch 2/5..
    Train loss: -72.7')."""
    out = []
    for line in lines:
        starts = [m.start() for m in EPOCH.finditer(line)]
        if len(starts) < 2:
            out.append(line)
            continue
        out += [line[: starts[0]]] if starts[0] else []
        out += [line[a:b] for a, b in zip(starts, starts[1:] + [len(line)])]
    return out


def parse(lines: list[str], source: str) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    """Return (columns, records, notes) for printed training output; raise ValueError when no loss
    is found."""
    parsed = []  # (epoch or None, step or None, progress line?, {name: value})
    epoch = None
    for line in split_epochs(lines):
        m = EPOCH.search(line)
        if m:
            epoch = int(m.group(1))
        step_m = STEP.search(line)
        batch = next((b for b in BATCH.finditer(line) if not m or b.start() > m.end()), None)
        pairs = _pairs(line)
        split = EVAL_LINE.match(line)
        # "Test set: Average loss: 0.2": the line's prefix says which split its losses are
        if split:
            word = "val" if split.group(1).lower()[:3] in ("val", "eva", "dev") else "test"
            pairs = {
                (f"{word}_{k}" if names.role(k) in ("train_loss", "train_metric") else k): v
                for k, v in pairs.items()
            }
        if pairs:
            step = int(step_m.group(1)) if step_m else int(batch.group(1)) if batch else None
            entry = (epoch, step, bool(PROGRESS.search(line)), pairs)
            if (
                step is not None
                and parsed
                and parsed[-1][:2] == entry[:2]
                and parsed[-1][3] == pairs
            ):
                continue  # the same step printed twice (absl and tensorflow loggers both write it)
            parsed.append(entry)
    if not parsed:
        raise ValueError(
            f"run ({source}): found no loss in the text. Expected a log file or path, CSV/JSON "
            "text, or printed training output with lines like 'Epoch 3/50 ... loss: 0.43 - "
            f"val_loss: 0.51' or 'epoch=3 train_loss=0.43'; found{cells.quote(chr(10).join(lines))}"
        )
    records: list[dict[str, Any]] = []
    notes: list[str] = []
    starts = [i for i in range(1, len(parsed)) if _restarts(parsed[i - 1], parsed[i])]
    if starts:  # runs appended to one log: read the last, never an average of them
        notes.append(
            f"the text holds {len(starts) + 1} runs one after another (the epoch or step counter "
            f"goes back at printed line {starts[-1] + 1}); read the last one only, never an "
            "average of them"
        )
        parsed = parsed[starts[-1] :]
    # (run, epoch) -> lines; a run restarts when the epoch goes back
    by_epoch: dict[Any, list[tuple[Any, ...]]] = {}
    run, previous = 0, None
    for p in parsed:
        if p[0] is not None and previous is not None and p[0] < previous:
            run += 1
        previous = p[0] if p[0] is not None else previous
        by_epoch.setdefault((run, p[0]), []).append(p)
    has_epochs = any(p[0] is not None for p in parsed)
    step_count = 0
    last_epoch, last_progress = object(), False
    # several training-loss lines in one epoch, no progress bar: per-step prints
    repeated = has_epochs and any(
        sum(any(names.role(k) == "train_loss" for k in g[3]) for g in group) > 1
        and not any(g[2] for g in group)
        for group in by_epoch.values()
    )
    for epoch_value, step, progress, pairs in parsed:
        is_train = any(names.role(k) == "train_loss" for k in pairs)
        is_step = is_train and (step is not None or (repeated and not progress))
        if epoch_value is None and has_epochs:
            continue  # lines before the first epoch line (model summary, setup)
        if is_step:
            step_count += 1
            rec = {
                ("loss_step" if names.role(k) == "train_loss" else k): v for k, v in pairs.items()
            }
            rec["step"] = step if step is not None and not has_epochs else step_count
            if has_epochs:
                rec["epoch"] = epoch_value
            records.append(rec)
        elif records and epoch_value == last_epoch and has_epochs and "step" not in records[-1]:
            # Keras: progress lines, then the epoch's final line: the last one wins
            if last_progress:
                records[-1].update(pairs)
            else:  # a later line of the same epoch adds what it has new, never overwrites
                records[-1].update({k: v for k, v in pairs.items() if k not in records[-1]})
        else:
            records.append({**pairs, **({"epoch": epoch_value} if has_epochs else {})})
        last_epoch, last_progress = epoch_value, progress
    if step_count and not has_epochs:
        for r in records:
            r.setdefault("step", None)
    columns = list(dict.fromkeys(k for r in records for k in r))
    notes.append(
        f"read {len(records)} printed line(s)"
        + (f", {step_count} of them per step" if step_count else "")
    )
    return columns, records, notes
