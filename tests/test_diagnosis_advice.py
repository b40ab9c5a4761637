"""How sure, what else, what next, and the one-line description; the paste box of lesson 06."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from labkit import diagnose  # noqa: E402
from labkit.diagnosis import CODES, CURVE_CODES, describe, make_finding, plot_findings  # noqa: E402
from labkit.diagnosis.finding import confidence  # noqa: E402

TRAIN = [0.9, 0.8, 0.72, 0.66, 0.62, 0.6, 0.585, 0.57, 0.56, 0.55]
VAL = [0.6, 0.52, 0.49, 0.475, 0.468, 0.465, 0.48, 0.5, 0.52, 0.54]


def test_every_curve_finding_has_ranked_causes_with_experiments():
    for code in CODES:
        f = make_finding(code, "e")
        assert f.confidence in ("high", "medium", "low")
        if code in CURVE_CODES:
            assert f.causes and all(cause and test for cause, test in f.causes), code
    assert "100 samples" in make_finding("flat-validation", "e").causes[1][1]
    assert "shuffled-label" in make_finding("no-generalization", "e").causes[0][1]


def test_confidence_follows_the_margin_and_excerpts():
    weak = confidence("overfitting", {"last_val": 1.12, "best_val": 1.0})  # just past the 10 % rise
    strong = confidence("overfitting", {"last_val": 1.8, "best_val": 1.0})
    assert (weak, strong) == ("low", "high")
    assert (confidence("diverged", {}), confidence("diverged", {}, mid_run=True)) == (
        "high",
        "medium",
    )
    # no lower word
    assert confidence("overfitting", {"last_val": 1.12, "best_val": 1.0}, mid_run=True) == "low"
    # a word, no decimal
    assert not any(ch.isdigit() for ch in str(make_finding("diverged", "e")).split("\n")[0])


def test_findings_print_confidence_causes_and_lesson():
    text = str(diagnose({"loss": TRAIN, "val_loss": VAL})[0])
    assert text.startswith("[overfitting]") and "confidence" in text and "cause 1:" in text
    assert "lesson: 00_reading_loss_curves.ipynb" in text


def test_one_line_description():
    line = describe({"loss": TRAIN, "val_loss": VAL})
    assert line.startswith(
        "validation lowest at epoch 6 (0.465), +16 % by epoch 10, while training fell"
    )
    assert "-39 %" in line and "\n" not in line
    assert "NaN/inf from epoch 3" in describe({"loss": [1.0, 0.5, float("nan")]})
    assert describe("Step 10: loss=1.0\nStep 20: loss=0.5\nStep 30: loss=0.7\n").startswith(
        "3 logged steps"
    )
    assert "epochs 48-50" in describe(
        "Epoch 48: loss=0.5\nEpoch 49: loss=0.4\nEpoch 50: loss=0.3\n"
    )


def test_plot_carries_the_description():
    run = {"loss": TRAIN, "val_loss": VAL}
    fig, ax = plt.subplots()
    try:
        plot_findings(run, diagnose(run), ax)
        assert ax.description == describe(run)
        # not drawn under the axes (it ran over the x label): it is the figure's text alternative
        assert not ax.texts
        from labkit import plots

        assert plots.render(fig, ax.description).alt.startswith(describe(run))
    finally:
        plt.close(fig)


def test_paste_box_runs_diagnose_on_the_pasted_text():
    pytest.importorskip("ipywidgets")
    from labkit.diagnosis import paste_box

    box = paste_box()
    box.text.value = (
        "Epoch 1/5.. Train loss: -1.906..Test loss: -1.412 Epoch 2/5.. Train loss: "
        "-72.720..Test loss: -52.5"
    )
    box.run()
    # words, as HTML
    assert "negative-loss" in box.answer.value and "The loss went negative" in box.answer.value
    # the curves: an image with its text alternative, which names the finding's mark
    assert box.plot.value.count("<img") == 1 and 'alt="' in box.plot.value
    assert "negative" in box.plot.value.split('alt="')[1].split('"')[0]
    box.text.value = "no numbers here"
    box.run()
    assert "Could not read it" in box.answer.value and box.plot.value == ""
    plt.close("all")


def test_a_fall_is_a_minus_also_below_zero():
    from labkit.diagnosis.plot import describe_curves

    line = describe_curves([-1.906, -72.72], [-1.412, -52.5])
    assert "validation fell from -1.412 to -52.5 (-3618 %)" in line
    assert "training fell from -1.906 to -72.72 (-3715 %)" in line
    assert "(+50 %)" in describe_curves([0.2, 0.3])
