"""Name the failure from the curves: ``diagnose(run)`` returns Findings, most likely cause first.

``run`` may be a History, a dict or list, a DataFrame, a log file, or the text of a log or printout;
``verdict(run)`` is the one judge (the asker's failure, another failure, or healthy);
``check_code(source)`` checks training code for the threads' causes; ``describe(run)`` gives the
curves in a line; ``paste_box()`` is lesson 06's paste-and-diagnose box. Each finding is declared
once, as a registered ``Rule`` (registry.py); CODES, CURVE_CODES, CHECK_CODES, SUBSUMED_BY and
CAUSE_OF are read from the registry on each lookup.
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

__all__ = (
    # the judge, its findings and how they are shown
    ["diagnose", "verdict", "Verdict", "FAILURE", "OTHER", "HEALTHY", "Criteria", "declare"]
    + ["Finding", "make_finding", "describe", "plot_findings", "paste_box", "check_code"]
    # reading a run, and the rules that read it
    + ["load_run", "Curves", "LogReadWarning", "CurveInput", "curve_hits", "setup_hits"]
    + ["Rule", "Hit", "register", "registered", "unregister", "rules", "gradual", "setup_checks"]
    # the vocabulary tables (read from the registry on each lookup)
    + ["CODES", "CURVE_CODES", "CHECK_CODES", "SUBSUMED_BY", "CAUSE_OF", "registry"]
)
