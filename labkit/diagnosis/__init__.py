"""Name the failure from the curves: ``diagnose(run)`` returns Findings, most likely cause first.

``run`` may be a History, a dict or list, a DataFrame, a log file of any kind, or the text of a log or printout;
``check_code(source)`` checks training code for the threads' causes; ``describe(run)`` gives a one-line text
description of the curves; ``paste_box()`` is the paste-and-diagnose box of lesson 06.
"""

from __future__ import annotations

from . import checks, gradual, rules
from .advice import describe
from .codecheck import check_code
from .core import CAUSE_OF, SUBSUMED_BY, LogReadWarning, curve_hits, diagnose, setup_hits
from .finding import CHECK_CODES, CODES, CURVE_CODES, Finding, make_finding
from .logs import Curves, load_run
from .plot import plot_findings
from .widget import paste_box

__all__ = ["CHECK_CODES", "CODES", "CURVE_CODES", "Curves", "Finding", "LogReadWarning", "check_code", "checks", "curve_hits",
           "describe", "diagnose", "gradual", "load_run", "make_finding", "paste_box", "plot_findings", "rules",
           "setup_hits"]
