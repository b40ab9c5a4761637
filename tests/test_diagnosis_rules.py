"""The rules' registry: a diagnosis rule is declared once, as a Rule, and that is all diagnose()
needs."""

from __future__ import annotations

import math

import pytest
from torch import nn

import labkit.diagnosis
from labkit import diagnose
from labkit.diagnosis import (
    CHECK_CODES,
    CODES,
    CURVE_CODES,
    Hit,
    Rule,
    finding,
    registered,
    registry,
)
from labkit.diagnosis.finding import confidence

# stuck at chance, then NaN: only "diverged" among the built-in rules
STUCK = {"loss": [0.6931] * 6 + [math.nan]}


def stuck_at_chance(curves: registry.CurveInput) -> Hit | None:
    """A throwaway rule: the training loss never moved from ln 2 (chance for two classes)."""
    finite = [v for v in curves.train if math.isfinite(v)]
    if len(finite) >= 5 and max(abs(v - math.log(2)) for v in finite) < 1e-3:
        return Hit(
            "stuck-at-chance",
            f"training loss stayed at {finite[-1]:.4g} = ln 2 for {len(finite)} epochs",
            {"epochs": len(finite)},
        )
    return None


def stuck_rule(order: int, **extra) -> Rule:
    return Rule(
        "stuck-at-chance",
        order,
        "Training loss stuck at chance",
        "The model predicts 50/50 for everything.",
        ("Check that the labels reach the loss",),
        causes=(("labels all one class", "print the label counts of one batch"),),
        case="oscillating-loss",
        needs=("train",),
        detect=stuck_at_chance,
        **extra,
    )


def test_one_declaration_is_all_a_rule_takes():
    assert [f.code for f in diagnose(STUCK)] == ["diverged"]
    with registered(stuck_rule(order=5, sure="medium")):  # before every built-in curve code
        found = diagnose(STUCK)
        assert [f.code for f in found] == ["stuck-at-chance", "diverged"]
        f = found[0]
        assert (
            f.title == "Training loss stuck at chance"
            and f.explanation == "The model predicts 50/50 for everything."
        )
        assert f.evidence == "training loss stayed at 0.6931 = ln 2 for 6 epochs" and f.numbers == {
            "epochs": 6
        }
        assert f.fixes == ["Check that the labels reach the loss"] and f.confidence == "medium"
        assert (
            f.lesson
            == "02_training_loss_oscillates.ipynb"
            == finding.LESSON_OF_CODE["stuck-at-chance"]
        )
        assert f.causes == (("labels all one class", "print the label counts of one batch"),)
        assert (
            finding.CURVE_CODES[0] == "stuck-at-chance"
            and finding.CASE_OF_CODE["stuck-at-chance"] == "oscillating-loss"
        )
        # the package's tables read the registry too
        assert labkit.diagnosis.CODES[0] == "stuck-at-chance"
    assert [f.code for f in diagnose(STUCK)] == [
        "diverged"
    ] and "stuck-at-chance" not in finding.CODES
    # last, and dropped when the run diverged
    with registered(stuck_rule(order=95, subsumed_by=("diverged",))):
        assert [f.code for f in diagnose(STUCK)] == ["diverged"]
        assert [f.code for f in diagnose({"loss": [0.6931] * 6})] == ["stuck-at-chance"]
    assert diagnose({"loss": [0.6931] * 6}) == []


def test_a_setup_check_is_declared_once_too():
    def no_weights(setup: registry.SetupInput) -> Hit | None:
        return (
            None
            if any(True for _ in setup.model.parameters())
            else Hit("no-weights", "the model has no weights", {})
        )

    rule = Rule(
        "no-weights",
        99,
        "A model with no weights",
        "Nothing can be learnt.",
        ("Add a layer",),
        lesson="00_reading_loss_curves.ipynb",
        kind="check",
        needs=("model",),
        detect=no_weights,
        cause_of="negative-loss",
    )
    run = {"loss": [0.5, -0.1, -4.0]}
    with registered(rule):
        assert [f.code for f in diagnose({"loss": [1.0, 0.5, 0.3]}, model=nn.Identity())] == [
            "no-weights"
        ]
        assert diagnose({"loss": [1.0, 0.5, 0.3]}) == []  # no model given: the check needs one
        assert diagnose(run, model=nn.Linear(2, 2)) == diagnose(run)
        # it names negative-loss's cause: its evidence joins that finding
        merged = diagnose(run, model=nn.Identity())
        assert [f.code for f in merged] == ["negative-loss"] and merged[0].evidence.endswith(
            "; the model has no weights"
        )
        assert confidence("no-weights", {}) == "high"


def test_the_tables_come_from_the_rules():
    rules = registry.ordered()
    # each code once, the curve codes (likeliest first, by their rule's order) before the checks
    assert CODES == CURVE_CODES + CHECK_CODES and len(set(CODES)) == len(CODES)
    orders = [registry.get(code).order for code in CURVE_CODES]
    assert orders == sorted(orders) and {registry.get(c).kind for c in CHECK_CODES} == {"check"}
    assert all(r.kind == "curve" for r in rules[: len(CURVE_CODES)]) and all(
        r.detect for r in rules if r.kind == "curve"
    )
    assert {r.code: r.case for r in rules if r.case} == finding.CASE_OF_CODE
    for r in rules:
        f = finding.make_finding(r.code, "e")
        assert (f.title, f.explanation, tuple(f.fixes), f.lesson, f.causes) == (
            r.title,
            r.explanation,
            r.fixes,
            r.lesson,
            r.causes,
        )


def test_rules_are_checked_when_declared():
    with pytest.raises(ValueError, match="detect"):
        Rule("x", 1, "t", "e", ())  # a curve rule without a detect function
    with pytest.raises(ValueError, match="needs"):
        Rule("x", 1, "t", "e", (), needs=("validation",), detect=stuck_at_chance)
    with pytest.raises(ValueError, match="case"):
        Rule("x", 1, "t", "e", (), case="no-such-case", detect=stuck_at_chance)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Rule("diverged", 1, "t", "e", (), detect=stuck_at_chance))
    assert registry.get("diverged").title == "The loss became NaN or infinite"
