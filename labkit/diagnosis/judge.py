"""From a run's curves to its findings and the one judge, ``verdict(run)``: the asker's failure,
another failure, or healthy. The panels, the lessons and ``diagnose`` all read it, so they cannot
disagree about a run. A run of a case (a History whose ``case`` is set) is judged by the case's
criteria, declared in words next to its symptom checks (``declare``; labkit.cases does it, and
diagnosis never imports the cases):

- **the asker's failure**: every symptom check holds; its finding (the case's ``code``) comes first;
- **another failure**: not all the symptom, but a rule fires or a health criterion is unmet (a
  suggestion that removes one symptom can leave the model untrained, underfit or judged on leaks);
- **healthy**: every health criterion holds and no rule fires; only this says "the failure is gone".

For a log with no case a failure is what the rules find, and no finding is "no failure found".
"""

from __future__ import annotations

import dataclasses
import html
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from ..history import History
from . import gradual, registry
from .finding import Finding, make_finding
from .logs import Curves, load_run
from .registry import Hit

FAILURE, OTHER, HEALTHY = "the asker's failure", "another failure", "healthy"
COLOURS = {FAILURE: "#b00", OTHER: "#a60", HEALTHY: "#070"}


class LogReadWarning(UserWarning):
    """How a log was read changes what its findings mean (runs split, rows left out, test read as
    validation)."""


# the notes of a log's reading that change what the findings mean: diagnose() warns with them
WARN_ABOUT = ("runs", "left out", "as the validation loss", "an excerpt", "bare list", "headerless")


def curve_input(curves: Curves) -> registry.CurveInput:
    """Return the curves as a rule's ``detect`` sees them (a log of steps only: its trend is the
    steps averaged into at most 60 points)."""
    return registry.CurveInput(
        train=curves.train_loss,
        val=curves.val_loss,
        steps=curves.step_loss,
        steps_per_epoch=curves.steps_per_epoch,
        mid_run=curves.mid_run,
        trend=list(curves.train_loss) or gradual.bins(curves.step_loss),
        val_metric=curves.val_metric,
    )


def _detect(kind: str, seen: Any, given: Callable[[Any], bool]) -> list[Hit]:
    """Return the hits of the registered rules of ``kind`` on ``seen``, in priority order (a rule
    whose ``needs`` are not ``given`` is skipped)."""
    rules = [r for r in registry.ordered(kind) if r.detect is not None]
    hits = [r.detect(seen) for r in rules if all(given(getattr(seen, n)) for n in r.needs)]
    return [h for h in hits if h is not None]


def curve_hits(curves: Curves) -> list[Hit]:
    """Return the hits of every registered curve rule on ``curves``, in priority order."""
    return _detect("curve", curve_input(curves), bool)


def setup_hits(
    curves: Curves,
    model: nn.Module | None = None,
    criterion: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> list[Hit]:
    """Return the hits of every registered check rule (setup_checks.py's and any added) on the
    model, criterion and optimizer given, in priority order."""
    for name, value, kind in (
        ("model", model, nn.Module),
        ("criterion", criterion, nn.Module),
        ("optimizer", optimizer, torch.optim.Optimizer),
    ):
        if value is not None and not isinstance(value, kind):
            raise TypeError(
                f"{name} must be a torch {kind.__name__} or None, got {type(value).__name__}"
            )
    setup = registry.SetupInput(model, criterion, optimizer, curve_input(curves))
    return _detect("check", setup, lambda part: part is not None)


def _join(old: Hit, new: Hit) -> Hit:
    return Hit(old.code, f"{old.evidence}; {new.evidence}", old.numbers | new.numbers)


def findings_of(
    curves: Curves,
    model: nn.Module | None,
    criterion: nn.Module | None,
    optimizer: torch.optim.Optimizer | None,
) -> list[Finding]:
    """Return the Findings of every curve rule and setup check on ``curves``, most likely first.

    A check that explains a curve finding (its Rule's ``cause_of``) adds its evidence to that
    finding. How the log was read, where it changes what the findings mean, is said as a
    LogReadWarning (at findings_of <- verdict <- diagnose <- its caller).
    """
    for note in curves.notes:
        if any(word in note for word in WARN_ABOUT):
            warnings.warn(f"run: {note}", LogReadWarning, stacklevel=4)
    merged: dict[str, Hit] = {}
    for hit in curve_hits(curves) + setup_hits(curves, model, criterion, optimizer):
        merged[hit.code] = _join(merged[hit.code], hit) if hit.code in merged else hit
    tables = registry.tables()
    for weaker, stronger in tables["SUBSUMED_BY"].items():
        if weaker in merged and any(code in merged for code in stronger):
            merged.pop(weaker)
    for weaker, stronger in tables["CAUSE_OF"].items():
        if weaker in merged and stronger in merged:
            merged[stronger] = _join(merged[stronger], merged.pop(weaker))
    hits = [merged[code] for code in tables["CODES"] if code in merged]
    return [make_finding(h.code, *_as_logged(curves, h), curves.mid_run) for h in hits]


def _as_logged(curves: Curves, hit: Hit) -> tuple[str, dict[str, float]]:
    """Return the hit's evidence and numbers with epochs counted as the log counts them (an excerpt
    from epoch 48 starts at 48); a log of steps only has logged points, not epochs."""
    offset = curves.first_epoch - 1
    evidence, numbers = hit.evidence, dict(hit.numbers)
    rule = registry.get(hit.code)
    if not curves.train_loss and curves.step_loss and rule is not None and "trend" in rule.needs:
        return evidence.replace("epochs", "logged points").replace("epoch", "logged point"), numbers
    if offset:
        evidence = re.sub(r"\bepoch (\d+)", lambda m: f"epoch {int(m.group(1)) + offset}", evidence)
        numbers = {k: v + offset if k.endswith("epoch") else v for k, v in numbers.items()}
    return evidence, numbers


@dataclass(frozen=True)
class Criteria:
    """What a case says about a run of it, in words: its symptom checks and its health criteria."""

    code: str  # the diagnosis code of the asker's failure (its rule's lesson is the case's)
    lesson: str  # the case's lesson notebook
    symptom: Callable[[History], dict[str, bool]]  # {check in words: holds}; all: the failure
    # {criterion in words, with its number: holds}; all = healthy
    health: Callable[[History], dict[str, bool]]


_CRITERIA: dict[str, Criteria] = {}


def declare(case: str, criteria: Criteria) -> None:
    """Declare (or replace) the criteria verdict() judges every History of ``case`` by."""
    if registry.get(criteria.code) is None:
        raise ValueError(
            f"criteria.code={criteria.code!r} is not a diagnosis code; allowed: "
            f"{', '.join(registry.codes())}"
        )
    _CRITERIA[case] = criteria


@dataclass(frozen=True)
class Verdict:
    """The one judgement of a run: its state, the findings behind it and the case's checks."""

    state: str  # FAILURE, OTHER or HEALTHY
    findings: tuple[Finding, ...]  # most likely first; empty exactly when the state is HEALTHY
    case: str = ""  # the case the run belongs to ("" for a log)
    symptom: dict[str, bool] = dataclasses.field(default_factory=dict)  # the case's symptom checks
    health: dict[str, bool] = dataclasses.field(default_factory=dict)  # the case's health criteria
    asker_code: str = ""  # the diagnosis code of the case's own failure ("" for a log)

    @property
    def code(self) -> str:
        """The code of the first finding ("" when healthy)."""
        return self.findings[0].code if self.findings else ""

    @property
    def lesson(self) -> str:
        """The lesson to open for the first finding ("" when healthy)."""
        return self.findings[0].lesson if self.findings else ""

    @property
    def headline(self) -> str:
        """The verdict in a few words, e.g. "the failure is there: The loss went negative"."""
        if self.state == HEALTHY:
            return (
                "healthy: the failure is gone" if self.case else "no failure found in these curves"
            )
        title = self.findings[0].title
        if self.state == FAILURE:
            return f"the failure is there: {title}" if self.case else f"failure: {title}"
        if self.code == self.asker_code:
            return f"still failing: {title}"
        return f"another failure: {title}"

    @property
    def reasons(self) -> list[str]:
        """What the headline rests on: the symptom checks that hold (the asker's failure), the
        evidence and the unmet criteria (another failure), or the health criteria (healthy)."""
        if self.state == FAILURE and self.case:
            return [name for name, ok in self.symptom.items() if ok]
        if self.state == HEALTHY:
            return list(self.health)
        unmet = [f"not met: {name}" for name, ok in self.health.items() if not ok]
        return [self.findings[0].evidence] * (self.code != UNMET) + unmet

    def __str__(self) -> str:
        return f"{self.headline} ({'; '.join(self.reasons)})" if self.reasons else self.headline

    def html(self) -> str:
        """Return the verdict as one HTML line: the headline in its state's colour, the reasons."""
        head = f"<b style='color:{COLOURS[self.state]}'>{html.escape(self.headline)}</b>"
        return head + (": " + html.escape("; ".join(self.reasons)) if self.reasons else "")


UNMET = "criteria-unmet"
registry.rule(  # no detect: verdict() makes this finding from the case's criteria
    UNMET,
    5,
    "The run does not meet its case's health criteria",
    "The asker's symptom checks do not all hold, but by the case's own criteria the run is still "
    "not a good one: a change that removes one symptom can leave the model untrained, underfit, or "
    "judged on data that leak.",
    (
        "Read the unmet criteria: each says what is still wrong",
        "Compare with the fix in the case's lesson",
    ),
    kind="check",
)


def verdict(
    run: Any,
    model: Any = None,
    criterion: Any = None,
    optimizer: Any = None,
    *,
    criteria: Criteria | None = None,
) -> Verdict:
    """Return the one Verdict on ``run`` (anything ``diagnose`` reads; the states: module
    docstring). ``criteria``: judge a History by these instead of its case's (a panel over a Case of
    its own)."""
    curves = load_run(run)
    findings = findings_of(curves, model, criterion, optimizer)
    found = criteria or (_CRITERIA.get(run.case) if isinstance(run, History) and run.case else None)
    if found is not None and not isinstance(run, History):
        raise TypeError(f"criteria judge a History; run is a {type(run).__name__}")
    if found is None:
        return Verdict(FAILURE if findings else HEALTHY, tuple(findings))
    symptom, health = found.symptom(run), found.health(run)
    judged = dict(case=run.case, symptom=symptom, health=health, asker_code=found.code)
    if symptom and all(symptom.values()):
        own = [f for f in findings if f.code == found.code]
        own = own or [make_finding(found.code, "; ".join(symptom))]
        return Verdict(FAILURE, (*own, *(f for f in findings if f.code != found.code)), **judged)
    if findings or not all(health.values()):
        unmet = "; ".join(name for name, ok in health.items() if not ok)
        if not findings:
            findings = [
                dataclasses.replace(make_finding(UNMET, f"not met: {unmet}"), lesson=found.lesson)
            ]
        return Verdict(OTHER, tuple(findings), **judged)
    return Verdict(HEALTHY, (), **judged)


def diagnose(
    run: Any, model: Any = None, criterion: Any = None, optimizer: Any = None
) -> list[Finding]:
    """Return the Findings for ``run``, most likely cause first; empty exactly when ``verdict``
    says healthy (a log with no case: when no rule fires).

    run: a History; a Keras ``history.history`` dict or any dict of lists; a list of records
    (Hugging Face ``log_history``) or of numbers; a pandas DataFrame; a path to a log of any name
    (Keras CSVLogger's ``training.log``, Lightning ``metrics.csv``, ``trainer_state.json``, a
    printout); or the text itself (CSV/JSON, or training output pasted from a notebook, a question).
    model, criterion, optimizer (optional): also check the output layer against the criterion,
    dropout rates, the learning rate and Adam's eps.
    """
    return list(verdict(run, model, criterion, optimizer).findings)
