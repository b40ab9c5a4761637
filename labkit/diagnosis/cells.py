"""One cell of a log: a number, NaN/inf, or missing, written the same way in CSV, JSON and pasted text."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

MISSING = None  # a cell with nothing logged: empty, NA, null, None
MISSING_WORDS = frozenset({"", "na", "n/a", "null", "none", "-", "--", "nat"})
NAN_WORDS = frozenset({"nan", "-nan", "+nan", "nan(ind)", "-nan(ind)", "#num!"})
INF_WORDS = {"inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf, "-inf": -math.inf,
             "-infinity": -math.inf, "1.#inf": math.inf, "-1.#inf": -math.inf}
NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def quote(text: str, lines: int = 3, width: int = 100) -> str:
    """Return at most ``lines`` lines of ``text``, each cut to ``width`` characters, for an error message."""
    rows = [r if len(r) <= width else r[:width] + "..." for r in str(text).strip().splitlines()[:lines]]
    more = len(str(text).strip().splitlines()) - len(rows)
    return "\n    " + "\n    ".join(rows) + (f"\n    ... ({more} more lines)" if more > 0 else "")


def parse(value: Any, decimal_comma: bool = False) -> float | None:
    """Return ``value`` as a float (NaN and inf included), MISSING (None) when nothing was logged.

    Raise ValueError (without naming the column: the caller does) when it is text that is not a number.
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
    if low.startswith("tensor(") and NUMBER.search(low):  # a printed torch scalar: tensor(0.4312, ...)
        return float(NUMBER.search(low).group())  # type: ignore[union-attr]
    raise ValueError(f"{value!r} is not a number")


def parse_safe(value: Any) -> float | None:
    """Return ``parse(value)``, or MISSING for anything that is not a number."""
    try:
        return parse(value)
    except ValueError:
        return MISSING
