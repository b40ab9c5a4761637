"""Check a learner's training code (text, never run) for the threads' causes: NLLLoss with no
log_softmax (thread 002), a scaler fitted inside a loop (each window scaled by its own statistics:
thread 000) or before the train/validation split, Adam's default eps in a very long run with no
schedule (thread 003), a dense layer with far more weights than training samples.

Code pasted into a web page often loses its line breaks (as the threads' code has), so the checks
read tokens in order, not indentation; when the code parses, loops are found from the syntax tree.
"""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path
from typing import Any

from .finding import Finding, make_finding
from .registry import READING_CURVES, Hit, rule
from .texts import notebook_text, utf8

LONG_RUN_EPOCHS = 1000  # "a very long run": at least this many epochs
# a dense layer with more than this many weights per training sample is oversized
DENSE_WEIGHTS_PER_SAMPLE = 100
SCALER = r"\b\w*(?:Scaler|Normalizer|scaler|normalizer)\b"
SCHEDULES = re.compile(
    r"lr_scheduler|LearningRateScheduler|ReduceLROnPlateau|CosineAnnealing|StepLR|OneCycle|"
    r"ExponentialLR|ExponentialDecay|CosineDecay|PiecewiseConstantDecay|schedule",
    re.I,
)
SPLIT = re.compile(
    r"train_test_split\s*\(|random_split\s*\(|\bKFold\b|StratifiedKFold|TimeSeriesSplit|"
    r"validation_split\s*="
)
# the epoch count: "epochs = 3000", "n_epochs: 3000", "for epoch in range(3000)"
EPOCHS = (
    r"\b(?:n_|num_|max_|nb_)?epochs?\s*[=:]\s*(\d{1,12})(?!\d)",
    r"\bfor\s+\w*epoch\w*\s+in\s+range\s*\(\s*(\d{1,12})\s*\)",
)
ALLOWED = (
    "a path to a .py, .txt or .ipynb file (UTF-8), a string of code, or None (this "
    "notebook's cell history)"
)
# a layer size above this is not read (treated as unknown): no real layer is this wide
MAX_SIZE = 10**12
SIZE_OPS: dict[type, Any] = {
    ast.Mult: operator.mul,
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.FloorDiv: lambda a, b: a // b if b else None,  # x // 0: unknown, not an error
}


def read_source(source: str | Path | None) -> str:
    """Return the code of ``source`` (see ``check_code``); ValueError for a file that is not UTF-8
    text or a .ipynb that is not a notebook."""
    if source is None:
        try:
            shell = get_ipython()  # type: ignore[name-defined]  # noqa: F821
        except NameError:
            raise ValueError(
                "source is None but this is not a notebook: pass a file path or a string of code"
            ) from None
        return "\n".join(str(cell) for cell in shell.user_ns.get("In", []))
    one_line = isinstance(source, str) and "\n" not in source and len(source) < 4096
    if isinstance(source, Path) or (
        one_line and source.strip().endswith((".py", ".ipynb", ".txt"))
    ):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"source={str(path)!r}: no such file")
        raw, where = path.read_bytes(), f"source={str(path)!r}"
        if path.suffix.lower() == ".ipynb":
            return notebook_text(raw, where, ALLOWED, printed=False)
        text = utf8(raw, where, "save it as UTF-8", ALLOWED)
        return text.replace("\r\n", "\n").replace("\r", "\n")
    if not isinstance(source, str):
        raise TypeError(
            "source must be a path, a string of code or None (this notebook), got "
            f"{type(source).__name__}"
        )
    return source


def _nll(code: str) -> list[Hit]:
    uses_nll = re.search(r"NLLLoss\s*\(|nll_loss\s*\(", code)
    if not uses_nll or re.search(r"log_softmax|LogSoftmax", code):
        return []
    why = "the code uses NLLLoss but never applies log_softmax / LogSoftmax to the model's outputs"
    return [Hit("nll-without-log-softmax", why, {})]


def _fits(code: str) -> list[re.Match[str]]:
    """Return the scaler fits: ``X.fit(``, ``X.fit_transform(`` (X a scaler), ``Scaler().fit(``."""
    names = set(re.findall(rf"(\w+)\s*=\s*{SCALER}\s*\(", code))
    named = "|".join(map(re.escape, names)) or "(?!)"  # (?!) matches nothing
    pattern = rf"(?:{SCALER}\s*\([^()]*\)|\b(?:{named})\b)\s*\.\s*fit(?:_transform)?\s*\("
    return list(re.finditer(pattern, code))


def _fit_in_loop(code: str) -> bool:
    """Return whether a scaler is fitted inside a for/while loop: from the syntax tree when the code
    parses, else in token order (a loop opens before it in its function, no ``return`` between)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        for fit in _fits(code):
            before = code[: fit.start()]
            body = before[max(before.rfind("def "), 0) :]
            if re.search(r"\bfor\b[^:]*:|\bwhile\b[^:]*:", body) and not re.search(
                r"\breturn\b", body
            ):
                return True
        return False
    loops = (n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While)))
    return any(_fits(ast.unparse(stmt)) for loop in loops for stmt in loop.body)


def _scaling(code: str) -> list[Hit]:
    if _fit_in_loop(code):
        why = (
            "a scaler is fitted inside a loop: each window or sample is scaled by its own min/max "
            "(or mean/std), which removes the level that may predict the label"
        )
        return [Hit("per-sample-scaling", why, {})]
    split = SPLIT.search(code)
    # a fit on "...train..." data is fine
    fits = [
        f for f in _fits(code) if "train" not in code[f.end() : f.end() + 80].split(")")[0].lower()
    ]
    if fits and split and fits[0].start() < split.start():
        why = (
            f"a scaler is fitted (at character {fits[0].start()}) before the train/validation "
            "split: validation statistics leak into training"
        )
        return [Hit("scaler-before-split", why, {})]
    return []


rule(
    "per-sample-scaling",
    70,
    "A scaler is fitted on each sample or window on its own",
    "Scaling every window to 0-1 by its own min and max erases its level and range, which are "
    "often what predicts the label: the model can then only memorise noise, and validation "
    "loss rises from epoch 1.",
    (
        "Fit one scaler on the training split, then transform every window with it",
        "Or use differences / returns if the level must go, and check a simple baseline first",
    ),
    causes=(
        (
            "scaling each window on its own removed the signal",
            "fit one scaler on the training split and rerun: validation should now fall",
        ),
    ),
    case="rising-val-loss",
    kind="check",
)
rule(
    "scaler-before-split",
    80,
    "A scaler is fitted before the train/validation split",
    "Statistics computed on all the data include the validation data, so validation is "
    "no longer unseen.",
    ("Split first, fit the scaler on the training split only, then transform both",),
    causes=(
        (
            "validation statistics leaked into training",
            "split first, fit on the training split, rerun: validation gets (honestly) worse",
        ),
    ),
    case="rising-val-loss",
    kind="check",
)


def _adam(code: str) -> list[Hit]:
    calls = re.findall(r"\bAdam[W]?\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)", code)
    default_eps = [c for c in calls if not re.search(r"\b(?:eps|epsilon)\s*=", c)]
    epochs = max((int(v) for p in EPOCHS for v in re.findall(p, code, re.I)), default=0)
    if not default_eps or epochs < LONG_RUN_EPOCHS or SCHEDULES.search(code):
        return []
    why = (
        f"Adam with its default eps (1e-7 / 1e-8) for {epochs} epochs and no learning-rate schedule"
    )
    return [Hit("small-adam-eps", why, {"epochs": epochs})]


def _size(node: ast.AST) -> int | None:
    """Return the value of a layer size's syntax tree (int literals, ``* + - //`` and parentheses
    only); None for anything else or a value beyond ``MAX_SIZE``."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        value: int | None = node.value
    elif isinstance(node, ast.BinOp) and type(node.op) in SIZE_OPS:
        a, b = _size(node.left), _size(node.right)
        value = None if a is None or b is None else SIZE_OPS[type(node.op)](a, b)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _size(node.operand)
        value = -value if value is not None and isinstance(node.op, ast.USub) else value
    else:
        return None
    # bounded at every step: never huge
    return value if value is not None and abs(value) <= MAX_SIZE else None


def _product(expr: str) -> int | None:
    """Return the positive size written in ``expr`` (e.g. ``64*7*7``), else None (never run)."""
    expr = re.sub(r"^\s*(?:in_features|out_features)\s*=", "", expr).strip()
    if not expr or len(expr) > 100 or not re.fullmatch(r"[\d\s*()+\-/]+", expr):
        return None
    try:
        value = _size(ast.parse(expr, mode="eval").body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # e.g. a 4300-digit literal
        return None
    return value if value is not None and value > 0 else None


def _call_args(code: str, start: int, limit: int = 300) -> list[str]:
    """Return the top-level arguments of the call whose '(' ends just before ``start``; [] when it
    does not close within ``limit`` characters (a bounded time per call)."""
    args, depth, begin = [], 0, start
    for i, ch in enumerate(code[start : start + limit], start):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return args + [code[begin:i]]
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(code[begin:i])
            begin = i + 1
    return []


def _dense(code: str, train_samples: int | None) -> list[Hit]:
    if not train_samples:
        return []
    layers = [(0, 0, 0)]
    for call in re.finditer(r"\bLinear\s*\(", code):
        args = _call_args(code, call.end())
        n_in, n_out = (_product(args[0]), _product(args[1])) if len(args) > 1 else (None, None)
        if n_in and n_out:
            layers.append((n_in * n_out, n_in, n_out))
    weights, n_in, n_out = max(layers)
    if weights <= DENSE_WEIGHTS_PER_SAMPLE * train_samples:
        return []
    why = (
        f"Linear({n_in}, {n_out}) has {weights:,} weights for {train_samples:,} training samples "
        f"({weights / train_samples:,.0f} per sample)"
    )
    return [Hit("oversized-dense", why, {"weights": weights, "train_samples": train_samples})]


rule(  # lesson 00's overfitting run: 35 images, 3.9M weights
    "oversized-dense",
    90,
    "A dense layer with far more weights than training samples",
    "With thousands of weights per training sample the layer can memorise the training set; "
    "validation stops improving early and the run overfits (or, with too small a learning "
    "rate, barely moves).",
    (
        "Pool more before flattening (global average pooling)",
        "Use a smaller dense layer or a pretrained backbone",
        "Get more data or augment",
    ),
    causes=(
        (
            "the dense layer memorises the training set",
            "train on 100 samples: it will fit them perfectly; then shrink the layer and compare "
            "validation",
        ),
    ),
    lesson=READING_CURVES,
    kind="check",
)


def check_code(source: str | Path | None = None, train_samples: int | None = None) -> list[Finding]:
    """Return Findings for the threads' causes found in training code (none: an empty list).
    ``source``: a path to a .py or .ipynb file (UTF-8), a string of code, or None for this
    notebook's cell history. ``train_samples``: to check dense layers against (None: skip)."""
    if train_samples is not None and (
        isinstance(train_samples, bool) or not isinstance(train_samples, int) or train_samples <= 0
    ):
        raise ValueError(f"train_samples must be a positive int or None, got {train_samples!r}")
    code = read_source(source)
    hits = _nll(code) + _scaling(code) + _adam(code) + _dense(code, train_samples)
    return [make_finding(h.code, h.evidence, h.numbers) for h in hits]
