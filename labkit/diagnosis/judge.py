"""One judge: ``verdict(run)`` says whether a run shows the asker's failure, another failure, or is
healthy.

The panel's status line, the lessons' verdict lines and ``diagnose`` all read this one function, so
they cannot disagree about the same run. For a run of a case (a History whose ``case`` is set) the
case's own criteria decide, declared in words by the case next to its symptom checks:

- **the asker's failure**: every symptom check of the case holds; its finding (the case's ``code``)
  comes first;
- **another failure**: the symptom is not all there, but a diagnosis rule fires or a health
  criterion is unmet (a suggestion that removes one symptom can leave the model untrained, underfit
  or judged on leaked data);
- **healthy**: every health criterion holds and no diagnosis rule fires. Only this state says
  "healthy" or "the failure is gone".

For a log with no case (a pasted printout, a CSV) there are no case criteria: a failure is what the
rules find, and a log with no finding is "no failure found", not "healthy".

Cases declare their criteria with ``declare`` (labkit.cases does, for all five, when it is
imported): diagnosis never imports the cases.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass
from typing import Any, Callable

from ..history import History
from . import registry
from .core import LogReadWarning, findings_of
from .finding import Finding, make_finding
from .logs import load_run

FAILURE, OTHER, HEALTHY = "the asker's failure", "another failure", "healthy"
STATES = (FAILURE, OTHER, HEALTHY)
COLOURS = {FAILURE: "#b00", OTHER: "#a60", HEALTHY: "#070"}


@dataclass(frozen=True)
class Criteria:
    """What a case says about a run of it, in words: its symptom checks and its health criteria."""

    code: str  # the diagnosis code of the asker's failure (its rule's lesson is the case's)
    lesson: str  # the case's lesson notebook
    # {check in words: holds}; all hold = the asker's failure
    symptom: Callable[[History], dict[str, bool]]
    # {criterion in words, with its number: holds}; all = healthy
    health: Callable[[History], dict[str, bool]]


_CRITERIA: dict[str, Criteria] = {}


def declare(case: str, criteria: Criteria) -> None:
    """Declare (or replace) the criteria of ``case``: verdict() judges every History of it by
    them."""
    if registry.get(criteria.code) is None:
        raise ValueError(
            f"criteria.code={criteria.code!r} is not a diagnosis code; allowed: "
            f"{', '.join(registry.codes())}"
        )
    _CRITERIA[case] = criteria


def criteria(case: str) -> Criteria | None:
    """Return the criteria declared for ``case``, or None."""
    return _CRITERIA.get(case)


@dataclass(frozen=True)
class Verdict:
    """The one judgement of a run: its state, the findings behind it and the case's checks, in
    words."""

    state: str  # FAILURE, OTHER or HEALTHY
    findings: tuple[Finding, ...]  # most likely first; empty exactly when the state is HEALTHY
    case: str = ""  # the case the run belongs to ("" for a log)
    symptom: dict[str, bool] = dataclasses.field(default_factory=dict)  # the case's symptom checks
    health: dict[str, bool] = dataclasses.field(default_factory=dict)  # the case's health criteria
    asker_code: str = ""  # the diagnosis code of the case's own failure ("" for a log)

    @property
    def code(self) -> str:
        """Return the code of the first finding ("" when healthy)."""
        return self.findings[0].code if self.findings else ""

    @property
    def lesson(self) -> str:
        """Return the lesson to open for the first finding ("" when healthy)."""
        return self.findings[0].lesson if self.findings else ""

    @property
    def headline(self) -> str:
        """Return the verdict in a few words, e.g. "the failure is there: The loss went
        negative"."""
        if self.state == HEALTHY:
            return (
                "healthy: the failure is gone" if self.case else "no failure found in these curves"
            )
        title = self.findings[0].title
        if self.state == FAILURE:
            return f"the failure is there: {title}" if self.case else f"failure: {title}"
        return (
            f"still failing: {title}"
            if self.code == self.asker_code
            else f"another failure: {title}"
        )

    @property
    def reasons(self) -> list[str]:
        """Return what the headline rests on, in words: the symptom checks that hold (the asker's
        failure), the evidence and the unmet criteria (another failure), or the health criteria
        (healthy)."""
        if self.state == FAILURE and self.case:
            return [name for name, ok in self.symptom.items() if ok]
        if self.state == HEALTHY:
            return list(self.health)
        unmet = [f"not met: {name}" for name, ok in self.health.items() if not ok]
        return [self.findings[0].evidence] * (self.code != UNMET) + unmet

    def __str__(self) -> str:
        return f"{self.headline} ({'; '.join(self.reasons)})" if self.reasons else self.headline

    def html(self) -> str:
        """Return the verdict as one HTML line: the headline in its state's colour, then the
        reasons."""
        head = f"<b style='color:{COLOURS[self.state]}'>{html.escape(self.headline)}</b>"
        return head + (": " + html.escape("; ".join(self.reasons)) if self.reasons else "")


UNMET = "criteria-unmet"
registry.register(
    registry.Rule(
        UNMET,
        5,
        "The run does not meet its case's health criteria",
        "The asker's symptom checks do not all hold, but by the case's own criteria the run is "
        "still not a good one: a change that removes one symptom can leave the model untrained, "
        "underfit, or judged on data that leak.",
        (
            "Read the unmet criteria: each says what is still wrong",
            "Compare with the fix in the case's lesson",
        ),
        kind="check",
    )
)  # no detect: verdict() makes this finding from the case's criteria


def verdict(
    run: Any,
    model: Any = None,
    criterion: Any = None,
    optimizer: Any = None,
    *,
    criteria: Criteria | None = None,
) -> Verdict:
    """Return the one Verdict on ``run`` (anything ``diagnose`` reads); see the module docstring for
    the states.

    ``criteria``: judge a History by these instead of those declared for its case (a panel over a
    Case of its own).
    """
    curves = load_run(run)
    findings = findings_of(curves, model, criterion, optimizer, stacklevel=3)
    found = criteria or (_CRITERIA.get(run.case) if isinstance(run, History) and run.case else None)
    if found is not None and not isinstance(run, History):
        raise TypeError(f"criteria judge a History; run is a {type(run).__name__}")
    if found is None:
        return Verdict(FAILURE if findings else HEALTHY, tuple(findings))
    symptom, health = found.symptom(run), found.health(run)
    if symptom and all(symptom.values()):
        own = [f for f in findings if f.code == found.code] or [
            make_finding(found.code, "; ".join(symptom))
        ]
        return Verdict(
            FAILURE,
            tuple(own + [f for f in findings if f.code != found.code]),
            run.case,
            symptom,
            health,
            found.code,
        )
    if findings or not all(health.values()):
        unmet = "; ".join(name for name, ok in health.items() if not ok)
        if not findings:
            findings = [
                dataclasses.replace(make_finding(UNMET, f"not met: {unmet}"), lesson=found.lesson)
            ]
        return Verdict(OTHER, tuple(findings), run.case, symptom, health, found.code)
    return Verdict(HEALTHY, (), run.case, symptom, health, found.code)


def diagnose(
    run: Any, model: Any = None, criterion: Any = None, optimizer: Any = None
) -> list[Finding]:
    """Return the Findings for ``run``, most likely cause first; an empty list exactly when
    ``verdict`` says the run is healthy (or, for a log with no case, when no rule fires).

    Parameters
    ----------
    run:
        A History; a Keras ``history.history`` dict or any dict of lists; a list of records (Hugging
        Face ``log_history``) or of numbers; a pandas DataFrame; a path to a log of any name (Keras
        CSVLogger's ``training.log``, Lightning ``metrics.csv``, ``trainer_state.json``, a saved
        printout); or the text itself: CSV/JSON text or training output pasted from a notebook or a
        question.
    model, criterion, optimizer:
        Optional: also check the output layer against the criterion, dropout rates, the learning
        rate and Adam's eps. A check that explains a curve finding (NLLLoss without LogSoftmax:
        negative-loss) adds its evidence to that finding instead of being listed on its own.
    """
    return list(verdict(run, model, criterion, optimizer).findings)


__all__ = [
    "COLOURS",
    "Criteria",
    "FAILURE",
    "HEALTHY",
    "LogReadWarning",
    "OTHER",
    "STATES",
    "UNMET",
    "Verdict",
    "criteria",
    "declare",
    "diagnose",
    "verdict",
]
