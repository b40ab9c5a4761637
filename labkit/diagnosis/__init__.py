"""Name the failure from the curves: ``diagnose(run)`` returns Findings, most likely cause first."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from . import checks, rules
from .finding import CHECK_CODES, CODES, CURVE_CODES, Finding, make_finding
from .logs import Curves, load_run
from .plot import plot_findings

# A finding made redundant by a stronger one about the same event: {dropped: stronger}.
SUBSUMED_BY = {"train-loss-rises": "late-explosion", "overfitting": "no-generalization"}
# A setup check that names the cause of a curve finding: its evidence joins that finding: {check: curve code}.
CAUSE_OF = {"nll-without-log-softmax": "negative-loss"}


def curve_hits(curves: Curves) -> list[rules.Hit]:
    """Return the hits of every rule on ``curves`` (rules whose curve is missing are skipped)."""
    train, val, steps, spe = curves.train_loss, curves.val_loss, curves.step_loss, curves.steps_per_epoch
    hits = [rules.diverged(train, val, steps, spe), rules.negative_loss(train, val, steps, spe)]
    if val:
        hits.append(rules.flat_validation(val))
    if train:
        hits += [rules.late_explosion(train), rules.oscillation(train), rules.train_loss_rises(train)]
    if train and val:
        hits += [rules.no_generalization(train, val), rules.overfitting(train, val)]
    return [h for h in hits if h is not None]


def setup_hits(curves: Curves, model: nn.Module | None = None, criterion: nn.Module | None = None,
               optimizer: torch.optim.Optimizer | None = None) -> list[rules.Hit]:
    """Return the hits of the model / criterion / optimizer checks."""
    for name, value, kind in (("model", model, nn.Module), ("criterion", criterion, nn.Module),
                              ("optimizer", optimizer, torch.optim.Optimizer)):
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{name} must be a torch {kind.__name__} or None, got {type(value).__name__}")
    hits: list[rules.Hit] = []
    if model is not None and criterion is not None:
        hits += checks.criterion_hits(model, criterion)
    if model is not None:
        hits += checks.dropout_hits(model)
    if optimizer is not None:
        steps = len(curves.step_loss) or curves.num_epochs * curves.steps_per_epoch
        hits += checks.optimizer_hits(optimizer, curves.train_loss or curves.step_loss, steps)
    return hits


def diagnose(run: Any, model: nn.Module | None = None, criterion: nn.Module | None = None,
             optimizer: torch.optim.Optimizer | None = None) -> list[Finding]:
    """Return the Findings for ``run``, most likely cause first; an empty list when nothing is wrong.

    Parameters
    ----------
    run:
        A History, a Keras ``history.history`` dict, a dict of lists, a pandas DataFrame, or a path to a
        CSV (Keras CSVLogger, Lightning metrics.csv) or JSON log.
    model, criterion, optimizer:
        Optional: also check the output layer against the criterion, dropout rates, the learning rate and
        Adam's eps. A check that explains a curve finding (NLLLoss without LogSoftmax: negative-loss)
        adds its evidence to that finding instead of being listed on its own.
    """
    curves = load_run(run)
    merged: dict[str, rules.Hit] = {}
    for hit in curve_hits(curves) + setup_hits(curves, model, criterion, optimizer):
        if hit.code in merged:
            old = merged[hit.code]
            hit = rules.Hit(hit.code, f"{old.evidence}; {hit.evidence}", old.numbers | hit.numbers)
        merged[hit.code] = hit
    for weaker, stronger in (*SUBSUMED_BY.items(), *CAUSE_OF.items()):
        if weaker in merged and stronger in merged:
            hit = merged.pop(weaker)
            if weaker in CAUSE_OF:
                old = merged[stronger]
                merged[stronger] = rules.Hit(stronger, f"{old.evidence}; {hit.evidence}", old.numbers | hit.numbers)
    return [make_finding(code, merged[code].evidence, merged[code].numbers) for code in CODES if code in merged]


__all__ = ["CHECK_CODES", "CODES", "CURVE_CODES", "Curves", "Finding", "checks", "curve_hits", "diagnose",
           "load_run", "make_finding", "plot_findings", "rules", "setup_hits"]
