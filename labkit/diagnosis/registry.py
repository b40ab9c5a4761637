"""The registry of diagnosis rules: each finding is declared once, as a ``Rule``, next to its detect
function.

A Rule carries everything about one vocabulary code: its priority, title, explanation, fixes, ranked
causes with the experiment that tells each apart, its lesson, which curves it needs, its detect
function, what it subsumes and how sure it is. ``register(Rule(...))`` in the rule's module is the
whole of adding one: diagnose() runs it, and the code tables (CURVE_CODES, CASE_OF_CODE,
LESSON_OF_CODE ...), texts, causes and confidence all read the registry.

The built-in rules live in rules.py and gradual.py (curve rules), setup_checks.py (setup checks) and
codecheck.py (code checks). This module imports nothing from the package: every other module of it
may import this one.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple, Sequence

# curve: read from the loss curves; check: read from the model/criterion/optimizer/code
RULE_KINDS = ("curve", "check")

# The lesson notebook of each case (must equal ``cases.get(name).lesson``;
# tests/test_diagnosis_cases.py checks). Diagnosis imports nothing from ``labkit.cases`` (no import
# cycle, not even a lazy one): it is written out here.
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
    """The curves as a curve rule's ``detect`` sees them (epochs 1-based; empty when the log has
    none)."""

    train: Sequence[float]  # training loss per epoch
    val: Sequence[float]  # validation loss per epoch
    steps: Sequence[float]  # training loss per step
    steps_per_epoch: int
    mid_run: bool  # the log is an excerpt of a longer run
    # the training loss per epoch, or, for a log of steps only, its steps in <= 60 bins
    trend: Sequence[float]
    # validation accuracy (or the log's validation metric) per epoch
    val_metric: Sequence[float] = ()


class SetupInput(NamedTuple):
    """What a setup check's ``detect`` sees: what was passed to diagnose() (None when not given),
    and the curves."""

    model: Any  # torch.nn.Module | None
    criterion: Any  # torch.nn.Module | None
    optimizer: Any  # torch.optim.Optimizer | None
    curves: CurveInput


@dataclass(frozen=True)
class Rule:
    """One finding, declared once: its vocabulary code, texts, causes, lesson, and (curve rules) how
    it is found."""

    code: str  # the vocabulary code, e.g. "late-explosion"
    # priority within its kind: diagnose() lists lower first (a specific cause before its symptoms)
    order: int
    title: str  # one line in the learner's words
    explanation: str  # why it happens
    fixes: tuple[str, ...]  # what to try, best first
    # ((cause, cheapest experiment telling it apart), ...), likeliest first
    causes: tuple[tuple[str, str], ...] = ()
    # the case (thread) whose failure this is: its lesson is that case's (LESSON_OF_CASE)
    case: str = ""
    # the lesson notebook, when no case covers the code ("" when no lesson teaches it)
    lesson: str = ""
    kind: str = "curve"  # "curve" or "check"
    # what ``detect`` needs: CurveInput fields that must be non-empty (curve rules, e.g.
    needs: tuple[str, ...] = ()
    # ("train", "val")), or SetupInput fields that must be given (checks, e.g. ("model",
    # "criterion")) the Hit, or None: from a CurveInput (curve rules) or a SetupInput (checks; the
    # built-in checks have none: core.setup_hits calls setup_checks.py's functions, codecheck reads
    # code)
    detect: Callable[[Any], Hit | None] | None = None
    # dropped when any of these codes is found too (a stronger, same event)
    subsumed_by: tuple[str, ...] = ()
    # checks: the curve code this check explains; its evidence joins that finding
    cause_of: str = ""
    # confidence of an unambiguous finding, in a word (ignored when ``margin`` is given)
    sure: str = "high"
    # gradual findings: by how much the numbers clear
    # the rule's thresholds (1.0 = just at them); the confidence then grows with it
    # (advice.confidence)
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
        if self.sure not in ("low", "medium", "high"):
            raise ValueError(f"{self.code}: sure={self.sure!r}; allowed: 'low', 'medium', 'high'")
        if self.case and not self.lesson:
            object.__setattr__(self, "lesson", LESSON_OF_CASE[self.case])


_RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    """Add ``rule`` to the vocabulary (diagnose() runs it from now on) and return it."""
    if rule.code in _RULES:
        raise ValueError(f"code={rule.code!r} is already registered")
    _RULES[rule.code] = rule
    return rule


def unregister(code: str) -> Rule:
    """Remove the rule for ``code`` and return it."""
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
    """Return the rule for ``code``, or None when no rule has it."""
    return _RULES.get(code)


def ordered(kind: str | None = None) -> list[Rule]:
    """Return the rules, curve rules first, each kind by ``order`` (ties: in the order they were
    registered)."""
    rules = sorted(_RULES.values(), key=lambda r: (RULE_KINDS.index(r.kind), r.order))
    return [r for r in rules if kind is None or r.kind == kind]


def codes(kind: str | None = None) -> tuple[str, ...]:
    """Return the vocabulary codes, most likely cause first (diagnose() sorts its findings in this
    order)."""
    return tuple(r.code for r in ordered(kind))


def subsumed_by() -> dict[str, tuple[str, ...]]:
    """Return {weaker code: the stronger codes that make it redundant}."""
    return {r.code: r.subsumed_by for r in ordered() if r.subsumed_by}


def cause_of() -> dict[str, str]:
    """Return {check code: the curve code whose cause it names}."""
    return {r.code: r.cause_of for r in ordered() if r.cause_of}


def tables() -> dict[str, Any]:
    """Return the vocabulary tables, read from the rules registered now (finding, core and the
    package serve them as module attributes: ``finding.CURVE_CODES`` is
    ``tables()["CURVE_CODES"]``)."""
    # most likely cause first: diagnose() sorts its findings in this order
    return {
        "CURVE_CODES": codes("curve"),
        "CHECK_CODES": codes("check"),  # risks in the model / criterion / optimizer / code
        "CODES": codes(),  # curve codes first, then check codes
        # the case each code is the failure of
        "CASE_OF_CODE": {r.code: r.case for r in ordered() if r.case},
        # which lesson teaches each code
        "LESSON_OF_CODE": {r.code: r.lesson for r in ordered() if r.lesson},
        "SUBSUMED_BY": subsumed_by(),
        "CAUSE_OF": cause_of(),
        # read from a step-only
        "TREND_CODES": tuple(r.code for r in ordered("curve") if "trend" in r.needs),
    }
    # log's binned steps: their evidence then says "logged points", not "epochs"


def live(module: str, names: tuple[str, ...]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` (PEP 562) that reads ``names`` from ``tables()`` on each
    lookup, so a rule registered later is in them too."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return tables()[name]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
