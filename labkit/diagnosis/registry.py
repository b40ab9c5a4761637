"""The vocabulary: each finding is declared once, as a ``Rule`` registered next to its detect
function (curve rules in rules.py and gradual.py, checks in setup_checks.py and codecheck.py).
Registering is the whole of adding one: diagnose() runs it, and the code tables, texts, causes and
confidence all read the registry. This module imports nothing from the package (no cycle).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple, Sequence

# curve: read from the loss curves; check: read from the model/criterion/optimizer/code
RULE_KINDS = ("curve", "check")
LEVELS = ("low", "medium", "high")  # a finding's confidence, in words (finding.confidence)

# The lesson of each case (must equal ``cases.get(name).lesson``: tests/test_diagnosis_cases.py
# checks). Written out here because diagnosis never imports labkit.cases (no cycle, not even lazy).
LESSON_OF_CASE = {
    "rising-val-loss": "01_validation_loss_rises_from_epoch_1.ipynb",
    "oscillating-loss": "02_training_loss_oscillates.ipynb",
    "negative-loss": "03_loss_goes_negative.ipynb",
    "adam-epsilon": "04_loss_explodes_after_long_training.ipynb",
    "train-loss-rises": "05_training_loss_rises_later.ipynb",
}
# lesson 00: healthy, underfitting, overfitting, divergence
READING_CURVES = "00_reading_loss_curves.ipynb"


class Hit(NamedTuple):
    """What one rule found: a vocabulary code, a one-line evidence, and the numbers behind it."""

    code: str
    evidence: str
    numbers: dict[str, float]


class CurveInput(NamedTuple):
    """The curves as a curve rule's ``detect`` sees them (epochs 1-based; empty when not logged)."""

    train: Sequence[float]  # training loss per epoch
    val: Sequence[float]  # validation loss per epoch
    steps: Sequence[float]  # training loss per step
    steps_per_epoch: int
    mid_run: bool  # the log is an excerpt of a longer run
    trend: Sequence[float]  # training loss per epoch; a log of steps only: its steps in <= 60 bins
    val_metric: Sequence[float] = ()  # validation accuracy (or the log's metric) per epoch


class SetupInput(NamedTuple):
    """What a check's ``detect`` sees: what diagnose() got (None if not given), and the curves."""

    model: Any  # torch.nn.Module | None
    criterion: Any  # torch.nn.Module | None
    optimizer: Any  # torch.optim.Optimizer | None
    curves: CurveInput


@dataclass(frozen=True)
class Rule:
    """One finding, declared once: its code, texts, causes, lesson, and how it is found."""

    code: str  # the vocabulary code, e.g. "late-explosion"
    order: int  # priority in its kind: lower listed first (a specific cause before its symptoms)
    title: str  # one line in the learner's words
    explanation: str  # why it happens
    fixes: tuple[str, ...]  # what to try, best first
    causes: tuple[tuple[str, str], ...] = ()  # ((cause, cheapest test), ...), likeliest first
    case: str = ""  # the case (thread) whose failure this is: its lesson is the case's
    lesson: str = ""  # the lesson, when no case covers the code ("" when no lesson teaches it)
    kind: str = "curve"  # one of RULE_KINDS
    # the CurveInput fields that must be non-empty (curve rules), or the SetupInput fields that must
    # be given (checks), e.g. ("train", "val") or ("model", "criterion")
    needs: tuple[str, ...] = ()
    # CurveInput or SetupInput -> Hit or None (codecheck's checks have none: they read code text)
    detect: Callable[[Any], Hit | None] | None = None
    subsumed_by: tuple[str, ...] = ()  # dropped when one of these (a stronger, same event) is found
    cause_of: str = ""  # checks: the curve code this check explains; its evidence joins that one
    sure: str = "high"  # confidence of an unambiguous finding (ignored when ``margin`` is given)
    # gradual findings: by how much the numbers clear the thresholds (1.0 = just at them)
    margin: Callable[[dict[str, float]], float] | None = None

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"{self.code}: kind={self.kind!r}; allowed: {', '.join(RULE_KINDS)}")
        if self.kind == "curve" and self.detect is None:
            raise ValueError(f"{self.code}: a curve rule needs a detect function")
        fields = CurveInput._fields if self.kind == "curve" else SetupInput._fields
        if unknown := [n for n in self.needs if n not in fields]:
            raise ValueError(f"{self.code}: needs {unknown}; allowed: {', '.join(fields)}")
        if self.case and self.case not in LESSON_OF_CASE:
            raise ValueError(
                f"{self.code}: case={self.case!r}; allowed: {', '.join(LESSON_OF_CASE)}"
            )
        if self.sure not in LEVELS:
            allowed = ", ".join(map(repr, LEVELS))
            raise ValueError(f"{self.code}: sure={self.sure!r}; allowed: {allowed}")
        if self.case and not self.lesson:
            object.__setattr__(self, "lesson", LESSON_OF_CASE[self.case])


_RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    """Add ``rule`` to the vocabulary (diagnose() runs it from now on) and return it."""
    if rule.code in _RULES:
        raise ValueError(f"code={rule.code!r} is already registered")
    _RULES[rule.code] = rule
    return rule


def rule(
    code: str,
    order: int,
    title: str,
    explanation: str,
    fixes: tuple[str, ...],
    causes: tuple[tuple[str, str], ...] = (),
    **fields: Any,
) -> Rule:
    """Register and return a Rule (``fields``: its other fields, e.g. ``case``, ``detect``)."""
    return register(Rule(code, order, title, explanation, fixes, causes, **fields))


def unregister(code: str) -> Rule:
    return _RULES.pop(code)


@contextmanager
def registered(rule: Rule) -> Iterator[Rule]:
    """Register ``rule`` for the duration of a ``with`` block (tests, experiments)."""
    register(rule)
    try:
        yield rule
    finally:
        unregister(rule.code)


def get(code: str) -> Rule | None:
    return _RULES.get(code)


def ordered(kind: str | None = None) -> list[Rule]:
    """Return the rules, curve rules first, each kind by ``order`` (ties: as registered)."""
    rules = sorted(_RULES.values(), key=lambda r: (RULE_KINDS.index(r.kind), r.order))
    return [r for r in rules if kind is None or r.kind == kind]


def codes(kind: str | None = None) -> tuple[str, ...]:
    """Return the codes, most likely cause first (diagnose() sorts its findings in this order)."""
    return tuple(r.code for r in ordered(kind))


def tables() -> dict[str, Any]:
    """Return the vocabulary tables, read from the rules registered now."""
    rules = ordered()
    return {
        "CURVE_CODES": codes("curve"),
        "CHECK_CODES": codes("check"),  # risks in the model / criterion / optimizer / code
        "CODES": codes(),  # curve codes first, then check codes
        "CASE_OF_CODE": {r.code: r.case for r in rules if r.case},  # whose failure it is
        "LESSON_OF_CODE": {r.code: r.lesson for r in rules if r.lesson},  # who teaches it
        # {weaker code: the stronger codes that make it redundant}
        "SUBSUMED_BY": {r.code: r.subsumed_by for r in rules if r.subsumed_by},
        # {check code: the curve code whose cause it names}
        "CAUSE_OF": {r.code: r.cause_of for r in rules if r.cause_of},
    }


def live(module: str) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` (PEP 562) that reads the ``tables()`` on each lookup, so a
    rule registered later is in them too."""

    def __getattr__(name: str) -> Any:
        if name in (found := tables()):
            return found[name]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
