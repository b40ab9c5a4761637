"""Text -> records: sniff what a log file or a pasted string holds (JSON, JSON lines, a table,
numbers, a printout).

The extension is never trusted: Keras's default CSVLogger file is ``training.log``, people paste
logs into ``.txt`` files, Hugging Face writes ``trainer_state.json``. Tables may use ``,``, ``;``,
tabs, ``|`` or spaces, and ``;``/tab tables may use decimal commas.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import re
from typing import Any, Mapping

from . import cells, names, printouts, tables

SEPARATORS = (",", ";", "\t", "|")
# a column name: starts with a letter, no ':'/'='
HEADER_NAME = re.compile(r"[\"']?[A-Za-z_][\w \-/.()%]*[\"']?|")
# a table: at least this share of the lines after the header has the header's field count
TABLE_AGREEMENT = 0.8


def read_text(text: str, source: str) -> dict[str, Any]:
    """Return the keyword arguments of ``Curves`` for a log's whole text; raise ValueError saying
    what was found."""
    body = text.lstrip("\ufeff").strip()
    if not body:
        raise ValueError(
            f"run ({source}) is empty: expected a log (CSV, JSON, or printed training output)"
        )
    if body[0] in "{[":
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
            # one record per line: JSON lines (detectron2) or the
            if all(ln.startswith("{") for ln in lines):
                # Python dicts Hugging Face prints: {'loss': 0.43, 'epoch': 0.5}
                records = _records(lines)
                if records is not None:
                    return read_json(records, source)
        except RecursionError:
            raise ValueError(f"run ({source}): its JSON is nested too deeply to read") from None
        except ValueError as e:  # e.g. an integer of more than 4300 digits
            raise ValueError(
                f"run ({source}): its JSON holds a value that cannot be read: {e}"
            ) from None
        else:
            return read_json(data, source)
    lines = [ln for ln in body.splitlines() if ln.strip()]
    table = sniff_table(lines)
    if table is not None:
        columns, rows, decimal_comma, notes = table
        return tables.records_to_curves(columns, rows, source, decimal_comma, notes)
    numbers = headerless_numbers(lines, source)
    if numbers is not None:
        return numbers
    # a printout writes "nan"; a missing value is not one
    columns, rows, notes = printouts.parse(lines, source)
    return tables.records_to_curves(columns, rows, source, notes=notes, missing_is_nan=False)


def _records(lines: list[str]) -> list[Any] | None:
    """Return one dict per line (JSON, else a Python literal), or None when a line is neither."""
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            # literal_eval reads literals only (no names, calls or operators): user text is never
            # run
            try:
                out.append(ast.literal_eval(line))
            # (TypeError, RecursionError: logs.load_run names them)
            except (ValueError, SyntaxError):
                return None
    return out if all(isinstance(r, Mapping) for r in out) else None


def read_json(data: Any, source: str) -> dict[str, Any]:
    """Return Curves kwargs for parsed JSON: a dict of lists, HF ``trainer_state.json``, a list of
    records or numbers."""
    if isinstance(data, Mapping) and isinstance(data.get("log_history"), list):
        return read_json(data["log_history"], f"{source}, log_history")
    # {"history": {"loss": [...]}}
    if isinstance(data, Mapping) and isinstance(data.get("history"), Mapping):
        data = data["history"]
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        # HF's summary row: a whole-run mean, not a point
        rows = [r for r in data if "train_runtime" not in r]
        columns = list(dict.fromkeys(k for r in rows for k in r))
        notes = (
            ["left out the summary row (train_runtime, whole-run mean loss)"]
            if len(rows) < len(data)
            else []
        )
        return tables.records_to_curves(columns, rows, source, notes=notes)
    if isinstance(data, list) and data and all(not isinstance(v, (list, dict)) for v in data):
        return numbers_as_train_loss(data, source)
    if isinstance(data, Mapping):
        return {"mapping": data}
    kind = (
        f"a list of {type(data[0]).__name__}"
        if isinstance(data, list) and data
        else f"a JSON {type(data).__name__}"
    )
    raise ValueError(
        f'run ({source}) must hold a JSON object of curves (e.g. {{"loss": [...], '
        '"val_loss": [...]}}), '
        "a list of records (e.g. Hugging Face log_history) or a list of "
        f"numbers; got {kind}"
    )


def numbers_as_train_loss(values: list[Any], source: str) -> dict[str, Any]:
    parsed = []
    for i, v in enumerate(values):
        try:
            p = cells.parse(v)
        except ValueError as e:
            raise ValueError(f"run ({source})[{i}]: {e}") from None
        parsed.append(math.nan if p is None else p)
    return {
        "train_loss": tuple(parsed),
        "notes": ("read a bare list of numbers as the training loss, one per epoch",),
    }


def _split(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return line.split()
    return [c.strip() for c in next(csv.reader([line], delimiter=sep))]


def _is_number(cell: str, decimal_comma: bool = False) -> bool:
    try:
        cells.parse(cell, decimal_comma)
        return True
    except ValueError:
        return False


def sniff_table(lines: list[str]) -> tuple[list[str], list[dict[str, str]], bool, list[str]] | None:
    """Return (columns, rows, decimal_comma, notes) when ``lines`` are a table with a header line,
    else None."""
    best = None
    for sep in (*SEPARATORS, None):
        header = _split(lines[0], sep)
        if len(header) < 2 and not (
            len(lines) > 1
            and names.role(lines[0])
            and all(_is_number(ln.strip(), True) for ln in lines[1:])
        ):
            continue
        if not all(HEADER_NAME.fullmatch(h) for h in header) or not any(
            names.role(h) for h in header
        ):
            continue
        rest = [_split(ln, sep) for ln in lines[1:]]
        # a printed DataFrame: an unnamed index first
        if rest and all(len(r) == len(header) + 1 for r in rest):
            header = ["index", *header]
        agree = sum(len(r) == len(header) for r in rest)
        if rest and agree < TABLE_AGREEMENT * len(rest):
            continue
        if best is None or len(header) > len(best[1]):
            best = (sep, header, rest)
    if best is None:
        return None
    sep, header, rest = best
    columns = [h.strip() for h in header]
    normal = [names.normalise(c) for c in columns]

    def is_header(r: list[str]) -> bool:  # cheap test first: a data row starts with a number
        return bool(r) and r[0][:1].isalpha() and [names.normalise(c) for c in r] == normal

    rows, notes, header_rows = [], [], [i for i, r in enumerate(rest) if is_header(r)]
    rows = [
        dict(zip(columns, r))
        for i, r in enumerate(rest)
        if len(r) == len(columns) and not is_header(r)
    ]
    if header_rows:
        notes.append(
            f"the header line appears {len(header_rows) + 1} times (logs appended to one file)"
        )
        if not any(names.role(c) in ("epoch", "step") for c in columns):
            rows = [
                dict(zip(columns, r)) for r in rest[header_rows[-1] + 1 :] if len(r) == len(columns)
            ]
            notes.append(
                f"diagnosed the last of the {len(header_rows) + 1} runs only, never an "
                "average of them"
            )
    numeric = [c for c in columns if names.role(c)]
    decimal_comma = sep in (";", "\t", None, "|") and any(
        "," in r[c] and _is_number(r[c], True) for r in rows[:200] for c in numeric
    )
    return columns, rows, decimal_comma, notes


def headerless_numbers(lines: list[str], source: str) -> dict[str, Any] | None:
    """Return Curves kwargs for a bare column of numbers (or index + number), None when the lines
    are not numbers."""
    for sep in (None, ",", ";", "\t"):
        rows = [_split(ln, sep) for ln in lines]
        if not all(r and all(_is_number(c, sep != ",") for c in r) for r in rows):
            continue
        width = {len(r) for r in rows}
        values = [[cells.parse(c, sep != ",") for c in r] for r in rows]
        if width == {1}:
            return numbers_as_train_loss([r[0] for r in values], source)
        if width == {2}:
            first = [r[0] for r in values]
            if all(
                b is not None and a is not None and b - a == 1 for a, b in zip(first, first[1:])
            ):
                out = numbers_as_train_loss([r[1] for r in values], source)
                return out | {
                    "notes": ("read a headerless two-column table as (epoch, training loss)",)
                }
        raise ValueError(
            f"run ({source}) is a table of numbers with {max(width)} columns and no header line: "
            "add one naming the columns (e.g. 'epoch,loss,val_loss'); "
            f"found{cells.quote(chr(10).join(lines))}"
        )
    return None
