"""Name the failure from the curves: ``diagnose(run)`` returns Findings, most likely cause first.

``run`` may be a History, a dict or list, a DataFrame, a log file of any kind, or the text of a log
or printout; ``verdict(run)`` is the one judge (the asker's failure, another failure, or healthy)
that diagnose, the panels and the lessons read; ``check_code(source)`` checks training code for the
threads' causes; ``describe(run)`` gives a one-line text description of the curves; ``paste_box()``
is the paste-and-diagnose box of lesson 06.

Each finding is declared once, as a ``Rule`` registered next to its detect function (registry.py).
CODES, CURVE_CODES, CHECK_CODES, SUBSUMED_BY and CAUSE_OF are read from the registry on each lookup.
"""

from __future__ import annotations

from . import gradual, registry, rules, setup_checks
from .codecheck import check_code
from .finding import Finding, make_finding
from .judge import (
    FAILURE,
    HEALTHY,
    OTHER,
    Criteria,
    LogReadWarning,
    Verdict,
    curve_hits,
    declare,
    diagnose,
    setup_hits,
    verdict,
)
from .logs import Curves, load_run
from .plot import describe, plot_findings
from .registry import CurveInput, Hit, Rule, register, registered, unregister
from .widget import paste_box

__getattr__ = registry.live(__name__)

__all__ = [
    "CAUSE_OF",
    "CHECK_CODES",
    "CODES",
    "CURVE_CODES",
    "Criteria",
    "Curves",
    "FAILURE",
    "Finding",
    "HEALTHY",
    "Hit",
    "LogReadWarning",
    "OTHER",
    "Rule",
    "SUBSUMED_BY",
    "Verdict",
    "CurveInput",
    "check_code",
    "setup_checks",
    "curve_hits",
    "declare",
    "describe",
    "diagnose",
    "gradual",
    "load_run",
    "make_finding",
    "paste_box",
    "plot_findings",
    "register",
    "registered",
    "registry",
    "rules",
    "setup_hits",
    "unregister",
    "verdict",
]
