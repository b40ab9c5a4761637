"""Reading a log's text: one cell, which column is which, and what a text holds (JSON lines, a
table, bare numbers, a pasted printout), as rows for ``logs.records_to_curves``. The extension is
never trusted (Keras's CSVLogger writes ``training.log``, people paste logs into ``.txt`` files).
Tables may use ``,``, ``;``, tabs, ``|`` or spaces; ``;``/tab tables may use decimal commas.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import numbers
import re
from itertools import chain, groupby
from typing import Any, Callable, Mapping

# ---- one cell: a number, NaN/inf, or missing, written the same way in CSV, JSON and pasted text

WORDS: dict[str, float | None] = {  # missing (None), NaN and inf, as loggers write them
    **dict.fromkeys(("", "na", "n/a", "null", "none", "-", "--", "nat")),
    **dict.fromkeys(("nan", "-nan", "+nan", "nan(ind)", "-nan(ind)", "#num!"), math.nan),
    **dict.fromkeys(("inf", "+inf", "infinity", "+infinity", "1.#inf"), math.inf),
    **dict.fromkeys(("-inf", "-infinity", "-1.#inf"), -math.inf),
}
NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def parse(value: Any, decimal_comma: bool = False) -> float | None:
    """Return ``value`` as a float (NaN and inf included), None when nothing was logged; raise
    ValueError (the caller names the column) for text that is not a number."""
    if value is None:
        return None
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
    if low in WORDS:
        return WORDS[low]
    if decimal_comma and "," in text and "." not in text:
        text = text.replace(",", ".")
    if NUMBER.fullmatch(text):
        return float(text)
    found = NUMBER.search(low)
    if low.startswith("tensor(") and found:  # a printed torch scalar: tensor(0.4312, ...)
        return float(found.group())
    raise ValueError(f"{value!r} is not a number")


def parse_safe(value: Any, decimal_comma: bool = False) -> float | None:
    """Return ``parse(value)``, or None for anything that is not a number."""
    try:
        return parse(value, decimal_comma)
    except ValueError:
        return None


def parse_all(
    values: Any, error: Callable[[int, Any, ValueError], str], decimal_comma: bool = False
) -> list[float | None]:
    """Return ``parse`` of each value; raise ValueError(error(i, value, e)) at the first bad one."""
    out = []
    for i, v in enumerate(values):
        try:
            out.append(parse(v, decimal_comma))
        except ValueError as e:
            raise ValueError(error(i, v, e)) from None
    return out


def quote(text: str, lines: int = 3, width: int = 100) -> str:
    """Return at most ``lines`` lines of ``text``, cut to ``width`` characters, for an error."""
    all_rows = str(text).strip().splitlines()
    rows = [r if len(r) <= width else r[:width] + "..." for r in all_rows[:lines]]
    more = len(all_rows) - len(rows)
    return "\n    " + "\n    ".join(rows) + (f"\n    ... ({more} more lines)" if more > 0 else "")


# ---- a saved notebook (.ipynb): its cells, checked before anything reads them

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


def utf8(raw: bytes, where: str, advice: str, allowed: str) -> str:
    """Return ``raw`` decoded as UTF-8 (a BOM dropped), else raise a ValueError naming ``where``."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{where} is not UTF-8 text (byte {e.start} is {raw[e.start : e.start + 1]!r}): "
            f"{advice}; allowed: {allowed}"
        ) from None


def notebook_text(raw: bytes, where: str, allowed: str, printed: bool) -> str:
    """Return the code cells' sources of a saved notebook's bytes, or (``printed``) what they
    printed (streams and plain-text results, never a traceback); raise ValueError naming ``where``
    and what is ``allowed`` when the bytes are not UTF-8 JSON of a notebook."""
    text = utf8(raw, where, f"a notebook is UTF-8 JSON, {NOTEBOOK}", allowed)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:  # not JSON, a number too long, nesting too deep
        detail = str(e)
        if isinstance(e, json.JSONDecodeError):
            detail = f"{e.msg} at line {e.lineno}, column {e.colno}"
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
        _multiline(cell.get("source", ""), f"{where} cells[{i}].source", allowed)
    code = [(i, cell) for i, cell in enumerate(data["cells"]) if cell["cell_type"] == "code"]
    if not printed:
        return "\n".join(_multiline(cell.get("source", ""), "", allowed) for _, cell in code)
    out = []
    for i, cell in code:
        outputs = cell.get("outputs", [])
        for j, o in enumerate(outputs if isinstance(outputs, list) else []):
            if isinstance(o, dict) and o.get("output_type") == "stream":
                text = o.get("text", "")
            elif isinstance(o, dict) and isinstance(o.get("data"), dict):  # a result, a display
                text = o["data"].get("text/plain", "")
            else:
                continue  # an error's traceback, or not an output at all
            out.append(_multiline(text, f"{where} cells[{i}].outputs[{j}]", allowed))
    return "\n".join(out)


def _multiline(value: Any, where: str, allowed: str) -> str:
    """Return a notebook's multi-line string (source, output text): a str or a list of str."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    raise ValueError(
        f"{where} is {type(value).__name__}, not text (a string or a list of strings): the file is "
        f"not a notebook Jupyter saved; allowed: {allowed}"
    )


# ---- column and key names: which is the training loss, the validation loss, a step loss, ...
# People name them every way: loss, Train Loss, training-loss, train/loss, Val_Loss, valid_loss,
# eval_loss, test_loss, train_loss_step, val_loss_epoch. A name is normalised (lower case, spaces,
# dashes, slashes and dots to "_") and split into words; its role follows from the words.

TRAIN_WORDS = frozenset({"train", "training", "tr", "trn"})
VAL_WORDS = frozenset({"val", "valid", "validation", "eval", "evaluation", "dev", "vali"})
TEST_WORDS = frozenset({"test", "testing"})  # read as validation when a log has no validation loss
FILLER = frozenset("avg average mean total overall epoch running smooth smoothed set".split())
METRIC_WORDS = frozenset("acc accuracy top1 acc1 f1 auc dice iou miou map".split())
LR_NAMES = frozenset({"lr", "learning_rate", "learningrate", "lr_0", "lr_abs"})
EPOCH_NAMES = frozenset({"epoch", "epochs", "ep"})
STEP_NAMES = frozenset("step steps global_step iteration iter it batch trainer_global_step".split())
GLUED = re.compile(r"(train|training|val|valid|validation|test|eval|dev)(loss|acc|accuracy)")
# of two columns with one role, the one whose normalised name is first here wins, else the shortest
PREFERRED = (
    "loss train_loss training_loss train_loss_epoch loss_epoch val_loss validation_loss valid_loss "
    "val_loss_epoch eval_loss test_loss step_loss train_loss_step loss_step lr learning_rate"
).split()


def normalise(name: str) -> str:
    """Return ``name`` lower-cased, camelCase and glued words split (``TrainLoss``, ``valloss``),
    runs of spaces and ``-/.:`` replaced by one ``_``."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", str(name).strip().strip("'\""))
    text = re.sub(r"[\s\-/.:]+", "_", text.lower()).strip("_")
    return "_".join(GLUED.sub(r"\1_\2", w) if GLUED.fullmatch(w) else w for w in text.split("_"))


def role(name: str) -> str | None:
    """Return the role of a column name ("train_loss", "val_metric", "test_loss", "step_loss", "lr",
    "epoch", "step", ...), None for any other."""
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
        return "step_loss" if "step" in words and split == "train" else f"{split}_loss"
    if words and words[-1] in METRIC_WORDS | {"metric"} and not rest - METRIC_WORDS:
        return f"{split}_metric"
    return None


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


# ---- lines of text: one record per line, a table, bare numbers

SEPARATORS = (",", ";", "\t", "|")
HEADER_NAME = re.compile(r"[\"']?[A-Za-z_][\w \-/.()%]*[\"']?|")  # starts with a letter, no ':'/'='
# a table: at least this share of the lines after the header has the header's field count
TABLE_AGREEMENT = 0.8
BARE_NUMBERS = "read a bare list of numbers as the training loss, one per epoch"


def records(lines: list[str]) -> list[Any] | None:
    """Return one dict per line (JSON lines, or the Python dicts Hugging Face prints), else None."""
    if not all(ln.startswith("{") for ln in lines):
        return None
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            try:  # literals only (no names, calls or operators): user text is never run
                out.append(ast.literal_eval(line))
            except (ValueError, SyntaxError):  # (TypeError, RecursionError: load_run names them)
                return None
    return out if all(isinstance(r, Mapping) for r in out) else None


def _split(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return line.split()
    return [c.strip() for c in next(csv.reader([line], delimiter=sep))]


def _is_number(cell: str, decimal_comma: bool = False) -> bool:
    try:
        parse(cell, decimal_comma)
        return True
    except ValueError:
        return False


def sniff_table(lines: list[str]) -> tuple[list[str], list[dict[str, str]], bool, list[str]] | None:
    """Return (columns, rows, decimal_comma, notes) for a table with a header line, else None."""
    best = None
    one_column = (  # a table of one named column of numbers
        len(lines) > 1 and role(lines[0]) and all(_is_number(ln.strip(), True) for ln in lines[1:])
    )
    for sep in (*SEPARATORS, None):
        header = _split(lines[0], sep)
        if len(header) < 2 and not one_column:
            continue
        if not all(HEADER_NAME.fullmatch(h) for h in header) or not any(role(h) for h in header):
            continue
        rest = [_split(ln, sep) for ln in lines[1:]]
        if rest and all(len(r) == len(header) + 1 for r in rest):  # a printed DataFrame's index
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
    normal = [normalise(c) for c in columns]

    def is_header(r: list[str]) -> bool:  # cheap test first: a data row starts with a number
        return bool(r) and r[0][:1].isalpha() and [normalise(c) for c in r] == normal

    notes, header_rows = [], [i for i, r in enumerate(rest) if is_header(r)]
    if header_rows:
        runs = len(header_rows) + 1
        notes.append(f"the header line appears {runs} times (logs appended to one file)")
        if not any(role(c) in ("epoch", "step") for c in columns):  # no counter to split them by
            rest = rest[header_rows[-1] + 1 :]
            notes.append(f"diagnosed the last of the {runs} runs only, never an average of them")
    rows = [dict(zip(columns, r)) for r in rest if len(r) == len(columns) and not is_header(r)]
    numeric = [c for c in columns if role(c)]
    decimal_comma = sep in (";", "\t", None, "|") and any(
        "," in r[c] and _is_number(r[c], True) for r in rows[:200] for c in numeric
    )
    return columns, rows, decimal_comma, notes


def headerless_numbers(lines: list[str], source: str) -> tuple[list[Any], str] | None:
    """Return (training loss, note) for a bare column of numbers (or epoch + number), else None."""
    for sep in (None, ",", ";", "\t"):
        rows = [_split(ln, sep) for ln in lines]
        if not all(r and all(_is_number(c, sep != ",") for c in r) for r in rows):
            continue
        width = {len(r) for r in rows}
        values = [[parse(c, sep != ",") for c in r] for r in rows]
        if width == {1}:
            return [r[0] for r in values], BARE_NUMBERS
        first = [r[0] for r in values]
        if width == {2} and all(
            b is not None and a is not None and b - a == 1 for a, b in zip(first, first[1:])
        ):
            note = "read a headerless two-column table as (epoch, training loss)"
            return [r[1] for r in values], note
        raise ValueError(
            f"run ({source}) is a table of numbers with {max(width)} columns and no header line: "
            "add one naming the columns (e.g. 'epoch,loss,val_loss'); "
            f"found{quote(chr(10).join(lines))}"
        )
    return None


# ---- a pasted printout: the text people paste into a question about their training. Read: Keras
# progress output ("Epoch 3/50" then "... - loss: 0.43 - val_loss: 0.51"), common PyTorch prints
# ("Epoch: 1 Training Loss: 0.17 Validation Loss: 0.07", "Epoch 1/5.. Train loss: -1.906..Test loss:
# -1.412", "Train Epoch: 1 [6400/60000 (11%)]  Loss: 0.43"), key=value and key: value lines, logging
# lines with timestamps, TF step logs ("INFO:tensorflow:loss = 1.39, step = 100").

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
NOT_A_CURVE = frozenset("best min minimum lowest max target initial previous prev".split())
EVAL_LINE = re.compile(
    r"^[\W\d:,\-TZ]*(?:INFO\W*)?(test|val|valid|validation|eval|evaluation|dev)(?:ation)?\b(?!_)",
    re.I,
)


def _pairs(line: str) -> dict[str, float]:
    """Return ``{name: value}`` for each ``name: value`` / ``name=value`` / ``<...> loss value``."""
    out: dict[str, float] = {}
    for m in chain(PAIR.finditer(line), LOSS_SPACE.finditer(line)):
        words = m.group(1).split()
        for i in range(len(words)):  # the longest tail of the words that names something
            name = "_".join(words[i:])
            if set(normalise(" ".join(words[: i + 1])).split("_")) & NOT_A_CURVE:
                break  # "Best ValLoss: 1.05", "min val_loss = 0.3": a summary, not this epoch's
            r = role(name)
            if r is not None:
                key = normalise(name)  # "ValLoss" and "val_loss" in one printout: one curve
                if key not in out and r not in ("epoch", "step"):
                    out[key] = parse(m.group(2))  # NUM: a number, nan or inf, never missing
                break
    return out


def _trains(pairs: dict[str, float]) -> bool:
    return any(role(k) == "train_loss" for k in pairs)


def _restarts(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    """Return True when the counters go back between two printed lines (a new run)."""
    (e0, s0), (e1, s1) = before[:2], after[:2]
    if e0 is not None and e1 is not None and e1 < e0:
        return True
    return (e0 == e1) and s0 is not None and s1 is not None and s1 < s0


def _split_epochs(lines: list[str]) -> list[str]:
    """Return the lines, a line holding several epoch markers cut before each (a printout pasted
    into a web page often loses its line breaks: 'Epoch 1/5.. loss: -1.9 Epoch 2/5.. loss: -72')."""
    out = []
    for line in lines:
        starts = [m.start() for m in EPOCH.finditer(line)]
        if len(starts) < 2:
            out.append(line)
            continue
        out += [line[: starts[0]]] if starts[0] else []  # what comes before the first epoch
        out += [line[a:b] for a, b in zip(starts, starts[1:] + [len(line)])]
    return out


def printout(lines: list[str], source: str) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    """Return (columns, records, notes) for printed training output (ValueError: no loss found)."""
    parsed = []  # (epoch or None, step or None, progress line?, {name: value})
    epoch = None
    for line in _split_epochs(lines):
        m = EPOCH.search(line)
        epoch = int(m.group(1)) if m else epoch
        step_m = STEP.search(line)
        batch = next((b for b in BATCH.finditer(line) if not m or b.start() > m.end()), None)
        pairs = _pairs(line)
        split = EVAL_LINE.match(line)
        if split:  # "Test set: Average loss: 0.2": the prefix says which split its losses are
            word = "val" if split.group(1).lower()[:3] in ("val", "eva", "dev") else "test"
            pairs = {
                (f"{word}_{k}" if role(k) in ("train_loss", "train_metric") else k): v
                for k, v in pairs.items()
            }
        if pairs:
            step = int(step_m.group(1)) if step_m else int(batch.group(1)) if batch else None
            entry = (epoch, step, bool(PROGRESS.search(line)), pairs)
            # the same step printed twice (absl and tensorflow loggers both write it): once
            if step is None or not parsed or parsed[-1][:2] != entry[:2] or parsed[-1][3] != pairs:
                parsed.append(entry)
    if not parsed:
        raise ValueError(
            f"run ({source}): found no loss in the text. Expected a log file or path, CSV/JSON "
            "text, or printed training output with lines like 'Epoch 3/50 ... loss: 0.43 - "
            f"val_loss: 0.51' or 'epoch=3 train_loss=0.43'; found{quote(chr(10).join(lines))}"
        )
    notes: list[str] = []
    starts = [i for i in range(1, len(parsed)) if _restarts(parsed[i - 1], parsed[i])]
    if starts:  # runs appended to one log: read the last, never an average of them
        notes.append(
            f"the text holds {len(starts) + 1} runs one after another (the epoch or step counter "
            f"goes back at printed line {starts[-1] + 1}); read the last one only, never an "
            "average of them"
        )
        parsed = parsed[starts[-1] :]
    has_epochs = any(p[0] is not None for p in parsed)
    # several training-loss lines in one epoch, no progress bar: per-step prints (one run is left,
    # so each epoch's lines are consecutive)
    by_epoch = [list(group) for _, group in groupby(parsed, key=lambda p: p[0])]
    repeated = has_epochs and any(
        sum(_trains(p[3]) for p in group) > 1 and not any(p[2] for p in group) for group in by_epoch
    )
    records: list[dict[str, Any]] = []
    step_count, last_epoch, last_progress = 0, object(), False
    for epoch, step, progress, pairs in parsed:
        if epoch is None and has_epochs:
            continue  # lines before the first epoch line (model summary, setup)
        if _trains(pairs) and (step is not None or (repeated and not progress)):
            step_count += 1
            rec = {("loss_step" if role(k) == "train_loss" else k): v for k, v in pairs.items()}
            rec["step"] = step if step is not None and not has_epochs else step_count
            if has_epochs:
                rec["epoch"] = epoch
            records.append(rec)
        elif records and epoch == last_epoch and has_epochs and "step" not in records[-1]:
            # Keras: progress lines, then the epoch's final line: the last one wins
            if last_progress:
                records[-1].update(pairs)
            else:  # a later line of the same epoch adds what it has new, never overwrites
                records[-1].update({k: v for k, v in pairs.items() if k not in records[-1]})
        else:
            records.append({**pairs, **({"epoch": epoch} if has_epochs else {})})
        last_epoch, last_progress = epoch, progress
    if step_count and not has_epochs:
        for r in records:
            r.setdefault("step", None)
    columns = list(dict.fromkeys(k for r in records for k in r))
    per_step = f", {step_count} of them per step" if step_count else ""
    notes.append(f"read {len(records)} printed line(s){per_step}")
    return columns, records, notes
