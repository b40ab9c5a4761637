"""One cell of a log: a number, NaN/inf, or missing, written the same way in CSV, JSON and pasted
text; and the cells of a saved notebook (.ipynb), checked before anything reads them."""

from __future__ import annotations

import json
import math
import numbers
import re
from typing import Any

MISSING = None  # a cell with nothing logged: empty, NA, null, None
MISSING_WORDS = frozenset({"", "na", "n/a", "null", "none", "-", "--", "nat"})
NAN_WORDS = frozenset({"nan", "-nan", "+nan", "nan(ind)", "-nan(ind)", "#num!"})
INF_WORDS = {
    "inf": math.inf,
    "+inf": math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-inf": -math.inf,
    "-infinity": -math.inf,
    "1.#inf": math.inf,
    "-1.#inf": -math.inf,
}
NOTEBOOK = "a JSON object with a 'cells' list, as Jupyter, Colab and VS Code save a .ipynb file"
JSON_KINDS = {
    "list": "a JSON list",
    "str": "a JSON string",
    "int": "a JSON number",
    "float": "a JSON number",
    "bool": "a JSON true/false",
    "NoneType": "JSON null",
    "dict": "a JSON object with no 'cells' list",
}
NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def quote(text: str, lines: int = 3, width: int = 100) -> str:
    """Return at most ``lines`` lines of ``text``, each cut to ``width`` characters, for an error
    message."""
    rows = [
        r if len(r) <= width else r[:width] + "..." for r in str(text).strip().splitlines()[:lines]
    ]
    more = len(str(text).strip().splitlines()) - len(rows)
    return "\n    " + "\n    ".join(rows) + (f"\n    ... ({more} more lines)" if more > 0 else "")


def parse(value: Any, decimal_comma: bool = False) -> float | None:
    """Return ``value`` as a float (NaN and inf included), MISSING (None) when nothing was logged.

    Raise ValueError (without naming the column: the caller does) when it is text that is not a
    number.
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a bool, not a number")
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy / torch scalars
        return parse(value.item(), decimal_comma)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} ({type(value).__name__}) is not a number")
    text = value.strip().strip('"').strip("'").strip()
    low = text.lower()
    if low in MISSING_WORDS:
        return MISSING
    if low in NAN_WORDS:
        return math.nan
    if low in INF_WORDS:
        return INF_WORDS[low]
    if decimal_comma and "," in text and "." not in text:
        text = text.replace(",", ".")
    if NUMBER.fullmatch(text):
        return float(text)
    # a printed torch scalar: tensor(0.4312, ...)
    if low.startswith("tensor(") and NUMBER.search(low):
        return float(NUMBER.search(low).group())  # type: ignore[union-attr]
    raise ValueError(f"{value!r} is not a number")


def parse_safe(value: Any) -> float | None:
    """Return ``parse(value)``, or MISSING for anything that is not a number."""
    try:
        return parse(value)
    except ValueError:
        return MISSING


def notebook_cells(raw: bytes, where: str, allowed: str) -> list[dict[str, Any]]:
    """Return the cells of a saved notebook given as its file's bytes.

    Raise ValueError naming ``where`` (e.g. ``source='train.ipynb'``) and what is ``allowed`` when
    the bytes are not UTF-8, not JSON, or JSON that is not a notebook (a list, or an object with no
    'cells' list).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{where} is not UTF-8 text (byte {e.start} is {raw[e.start : e.start + 1]!r}): a "
            f"notebook is UTF-8 JSON, {NOTEBOOK}; allowed: {allowed}"
        ) from None
    try:
        data = json.loads(text)
    # not JSON, a number too long to read, nesting too deep
    except (ValueError, RecursionError) as e:
        detail = (
            f"{e.msg} at line {e.lineno}, column {e.colno}"
            if isinstance(e, json.JSONDecodeError)
            else str(e)
        )
        raise ValueError(
            f"{where} is not a notebook: it is not JSON ({detail[:120]}); a notebook is "
            f"{NOTEBOOK}; allowed: {allowed}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        got = JSON_KINDS.get(type(data).__name__, type(data).__name__)
        raise ValueError(
            f"{where} is not a notebook ({NOTEBOOK}): it holds {got}; allowed: {allowed}"
        )
    for i, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise ValueError(
                f"{where} is not a notebook: cells[{i}] is not a cell (a JSON object with "
                f"'cell_type' and 'source'); allowed: {allowed}"
            )
        multiline(cell.get("source", ""), f"{where} cells[{i}].source", allowed)
    return data["cells"]


def multiline(value: Any, where: str, allowed: str) -> str:
    """Return a notebook's multi-line string (a cell's source, an output's text): a str or a list of
    str."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    raise ValueError(
        f"{where} is {type(value).__name__}, not text (a string or a list of strings): the file is "
        f"not a notebook Jupyter saved; allowed: {allowed}"
    )
