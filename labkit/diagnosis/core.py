"""Run every curve rule and setup check on a run's curves and merge what they found into
Findings."""

from __future__ import annotations

import re
import warnings

import torch
from torch import nn

from . import gradual, registry, rules, setup_checks
from .finding import Finding, make_finding
from .logs import Curves

# Read from the registry on each lookup (registry.tables; each Rule declares its own): SUBSUMED_BY,
# a finding made redundant by a stronger one about the same event: {dropped: the stronger codes};
# CAUSE_OF, a setup check that names the cause of a curve finding, whose evidence joins that
# finding: {check: curve code}; TREND_CODES.
__getattr__ = registry.live(__name__, ("SUBSUMED_BY", "CAUSE_OF", "TREND_CODES"))


class LogReadWarning(UserWarning):
    """How a log was read changes what its findings mean (runs split, rows left out, test read as
    validation)."""


# Notes about how a log was read that change what the findings mean: said as a LogReadWarning by
# diagnose().
WARN_ABOUT = ("runs", "left out", "as the validation loss", "an excerpt", "bare list", "headerless")


def curve_input(curves: Curves) -> registry.CurveInput:
    """Return the curves as a rule's ``detect`` sees them.

    A log with per-step losses only (no epochs) is read through its steps, averaged into at most 60
    points.
    """
    train, steps = curves.train_loss, curves.step_loss
    trend = list(train) or (gradual.bins(steps) if steps else [])
    return registry.CurveInput(
        train,
        curves.val_loss,
        steps,
        curves.steps_per_epoch,
        curves.mid_run,
        trend,
        curves.val_metric,
    )


def curve_hits(curves: Curves) -> list[rules.Hit]:
    """Return the hits of every registered curve rule on ``curves``, in priority order (a rule whose
    ``needs`` names a missing curve is skipped)."""
    seen = curve_input(curves)
    hits = [
        rule.detect(seen)
        for rule in registry.ordered("curve")
        if rule.detect is not None and all(getattr(seen, need) for need in rule.needs)
    ]
    return [h for h in hits if h is not None]


def setup_hits(
    curves: Curves,
    model: nn.Module | None = None,
    criterion: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> list[rules.Hit]:
    """Return the hits of the model / criterion / optimizer checks (setup_checks.py's, then each
    check Rule's detect)."""
    for name, value, kind in (
        ("model", model, nn.Module),
        ("criterion", criterion, nn.Module),
        ("optimizer", optimizer, torch.optim.Optimizer),
    ):
        if value is not None and not isinstance(value, kind):
            raise TypeError(
                f"{name} must be a torch {kind.__name__} or None, got {type(value).__name__}"
            )
    hits: list[rules.Hit] = []
    if model is not None and criterion is not None:
        hits += setup_checks.criterion_hits(model, criterion)
    if model is not None:
        hits += setup_checks.dropout_hits(model)
    if optimizer is not None:
        steps = len(curves.step_loss) or curves.num_epochs * curves.steps_per_epoch
        hits += setup_checks.optimizer_hits(optimizer, curves.train_loss or curves.step_loss, steps)
    setup = registry.SetupInput(model, criterion, optimizer, curve_input(curves))
    # checks declared with a detect of their own
    found = [
        rule.detect(setup)
        for rule in registry.ordered("check")
        if rule.detect is not None and all(getattr(setup, need) is not None for need in rule.needs)
    ]
    return hits + [h for h in found if h is not None]


def findings_of(
    curves: Curves,
    model: nn.Module | None = None,
    criterion: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    stacklevel: int = 2,
) -> list[Finding]:
    """Return the Findings of every curve rule and setup check on ``curves``, most likely cause
    first.

    A check that explains a curve finding (NLLLoss without LogSoftmax: negative-loss) adds its
    evidence to that finding instead of being listed on its own. How the log was read, where it
    changes what the findings mean, is said as a LogReadWarning (``stacklevel`` points it at the
    caller's caller). ``verdict`` and ``diagnose`` (judge.py) call this; they add what a case's own
    criteria say.
    """
    for note in curves.notes:  # what a reader of the findings must know about how the log was read
        if any(word in note for word in WARN_ABOUT):
            warnings.warn(f"run: {note}", LogReadWarning, stacklevel=stacklevel + 1)
    merged: dict[str, rules.Hit] = {}
    for hit in curve_hits(curves) + setup_hits(curves, model, criterion, optimizer):
        if hit.code in merged:
            old = merged[hit.code]
            hit = rules.Hit(hit.code, f"{old.evidence}; {hit.evidence}", old.numbers | hit.numbers)
        merged[hit.code] = hit
    for weaker, stronger in registry.subsumed_by().items():
        if weaker in merged and any(code in merged for code in stronger):
            merged.pop(weaker)
    for weaker, stronger in registry.cause_of().items():
        if weaker in merged and stronger in merged:
            hit, old = merged.pop(weaker), merged[stronger]
            merged[stronger] = rules.Hit(
                stronger, f"{old.evidence}; {hit.evidence}", old.numbers | hit.numbers
            )
    return [
        make_finding(code, *_as_logged(curves, code, merged[code]), curves.mid_run)
        for code in registry.codes()
        if code in merged
    ]


def _as_logged(curves: Curves, code: str, hit: rules.Hit) -> tuple[str, dict[str, float]]:
    """Return the hit's evidence and numbers with epochs counted as the log counts them (an excerpt
    from epoch 48 starts at 48), and, for a log of steps only, its points called logged points, not
    epochs."""
    offset = curves.first_epoch - 1
    evidence, numbers = hit.evidence, dict(hit.numbers)
    rule = registry.get(code)
    if not curves.train_loss and curves.step_loss and rule is not None and "trend" in rule.needs:
        return evidence.replace("epochs", "logged points").replace("epoch", "logged point"), numbers
    if offset:
        evidence = re.sub(r"\bepoch (\d+)", lambda m: f"epoch {int(m.group(1)) + offset}", evidence)
        numbers = {k: v + offset if k.endswith("epoch") else v for k, v in numbers.items()}
    return evidence, numbers
