"""Diagnosis: each rule on hand-made curves, loading every log format, Findings, setup checks,
thread numbers."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import labkit  # noqa: E402
from labkit import History, cases, diagnose  # noqa: E402
from labkit.diagnosis import (
    CODES,
    CURVE_CODES,
    Finding,
    gradual,
    load_run,
    make_finding,
    plot_findings,
    rules,
)  # noqa: E402
from labkit.diagnosis.finding import CASE_OF_CODE, LESSON_OF_CODE  # noqa: E402

EXAMPLES = resources.files("labkit") / "examples"
SMOOTH = [1.0 * 0.8**e for e in range(30)]  # a healthy, smoothly falling loss

# The threads' own numbers, typed in as Keras history.history dicts (made up where the thread gave
# none).
THREADS = {
    "negative-loss": {"loss": [-1.9, -72.7, -573.7, -2662.9, -8421.2]},
    "no-generalization": {
        "loss": [0.69, 0.61, 0.52, 0.41, 0.30, 0.21, 0.14, 0.09],
        "val_loss": [0.70, 0.72, 0.77, 0.83, 0.91, 0.99, 1.08, 1.17],
    },
    "flat-validation": {
        "loss": [7.7, 9.1, 6.9, 8.9, 7.0, 9.2, 6.6, 8.8, 7.1, 9.0],
        "val_loss": [7.6246] * 10,
        "acc": [0.5] * 10,
        "val_acc": [0.5] * 10,
    },
    # jumps and stays up
    "late-explosion": {"loss": [0.3 * 0.98**e for e in range(1500)] + [3e-3] * 300},
    "train-loss-rises": {
        "loss": [0.69, 0.45, 0.3, 0.2, 0.12, 0.08, 0.05, 0.04, 0.035, 0.03, 0.2, 0.35, 0.3, 0.28],
        "accuracy": [0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.99, 0.99, 0.9, 0.8, 0.82, 0.83],
    },
}


# ---- rules, one at a time, on hand-made curves ----


def test_diverged_rule():
    assert rules.diverged([1.0, 0.5, float("nan")]).numbers["epoch"] == 3
    assert (
        rules.diverged([1.0, 0.5], step_loss=[1, 1, 1, float("inf")], steps_per_epoch=2).numbers[
            "step"
        ]
        == 4
    )
    assert rules.diverged(SMOOTH, SMOOTH) is None


def test_negative_loss_rule():
    hit = rules.negative_loss([0.5, -0.1, -4.0])
    assert hit.code == "negative-loss" and hit.numbers == {
        "first_negative_epoch": 2,
        "lowest_loss": -4.0,
    }
    assert (
        rules.negative_loss(
            [0.5, 0.2], step_loss=[0.5, 0.4, 0.1, -0.01], steps_per_epoch=2
        ).numbers["first_negative_epoch"]
        == 2
    )
    # round-off around 0 is not negative
    assert rules.negative_loss(SMOOTH, SMOOTH, [0.0, 1e-9, -1e-9]) is None


def test_flat_validation_rule():
    hit = rules.flat_validation([0.9] + [0.6931] * 9)
    assert hit.numbers["first_flat_epoch"] == 2 and hit.numbers["spread"] == 0
    assert rules.flat_validation(SMOOTH) is None
    # flat for only the last quarter
    assert rules.flat_validation(SMOOTH[:20] + [SMOOTH[19]] * 5) is None
    assert rules.flat_validation([0.7, 0.7]) is None  # too few epochs
    # keras#6132: identical for all of a 3-epoch run
    assert rules.flat_validation([1.0082] * 3) is not None
    # an excerpt of a converged run
    assert rules.flat_validation([0.0265] * 6, [0.0266] * 6, mid_run=True) is None
    assert (
        rules.flat_validation([0.2] * 6, [0.19, 0.187, 0.184, 0.182, 0.179, 0.177], mid_run=True)
        is not None
    )
    # typed in with 2 decimals: flat, but far below 0.7
    converged = [0.7, 0.5, 0.4, 0.35, 0.32, 0.31] + [0.3] * 8
    assert rules.flat_validation(converged) is None
    # flat from epoch 3: collapsed early
    assert rules.flat_validation([9.0, 3.0] + [0.6931] * 12) is not None


def test_oscillation_rule():
    swinging = [2.3, 1.5, 1.9, 1.2, 1.8, 1.1, 1.7, 1.0, 1.6, 1.1]
    assert gradual.standout_swings(swinging).numbers["swings"] == 4
    plateaus = [39.2, 47.5, 47.5, 39.2, 35.0, 43.3, 35.0, 39.2, 39.2, 35.0, 43.3, 35.0]
    # equal neighbours (a plateau) count as one point
    assert gradual.standout_swings(plateaus) is not None
    assert gradual.standout_swings(SMOOTH) is None
    noisy_tail = [1.0, 0.3, 0.1, 0.05, 0.03, 0.035, 0.028, 0.033, 0.025, 0.03, 0.024]
    assert gradual.standout_swings(noisy_tail) is None  # small wobble after a big descent
    converged = [0.5, 0.101, 0.099, 0.102, 0.098, 0.101, 0.097, 0.1, 0.096, 0.099, 0.095, 0.098]
    # 3 % batch noise on a flat floor (below OSC_MIN_RELATIVE)
    assert gradual.standout_swings(converged) is None
    one_spike = SMOOTH[:15] + [0.9] + SMOOTH[15:]
    assert gradual.standout_swings(one_spike) is None


def test_late_explosion_rule():
    loss = THREADS["late-explosion"]["loss"]
    hit = rules.late_explosion(loss)
    assert hit.numbers["jump_epoch"] == 1501 and hit.numbers["orders_after"] > 2
    # one spike, then back down: a blip, not an explosion
    recovers = loss[:1500] + [3e-3] + loss[1500 - 200 : 1500]
    assert rules.late_explosion(recovers) is None
    early = [0.3, 0.01, 5.0, 4.0, 4.5, 4.2, 4.1, 4.0, 3.9, 3.8]  # jumps before the descent was long
    assert rules.late_explosion(early) is None
    # jumps far below the first loss: round-off
    roundoff = [0.3 * 0.9**e for e in range(300)] + [1e-13] * 100
    assert rules.late_explosion(roundoff) is None
    assert rules.late_explosion(SMOOTH) is None and rules.late_explosion([-1.0] * 10) is None


def test_train_loss_rises_rule():
    hit = gradual.sudden_rise(THREADS["train-loss-rises"]["loss"])
    assert hit.numbers["best_epoch"] == 10 and hit.numbers["rise_epoch"] == 11
    # warm-up bump before any descent
    assert gradual.sudden_rise([0.7, 2.5, 2.4, 1.0, 0.5, 0.3, 0.2]) is None
    # one bad epoch
    assert gradual.sudden_rise(SMOOTH[:10] + [SMOOTH[9] * 4] + SMOOTH[10:]) is None
    # rises too small to see
    assert gradual.sudden_rise([1.0, 1e-6, 1e-6, 5e-6, 5e-6, 5e-6]) is None


def test_no_generalization_rule():
    t = THREADS["no-generalization"]
    hit = rules.no_generalization(t["loss"], t["val_loss"])
    assert hit.numbers["best_epoch"] == 1
    assert rules.no_generalization(SMOOTH, SMOOTH) is None
    assert rules.no_generalization([0.7] * 8, t["val_loss"]) is None  # training loss does not fall
    # validation never improved: not a turn
    assert gradual.overfitting(t["loss"], t["val_loss"]) is None
    # one noisy dip at epoch 4
    dip = [0.53, 0.535, 0.567, 0.523, 0.661, 0.64, 0.719, 0.715, 0.677, 0.664]
    falls = [0.426, 0.418, 0.37, 0.301, 0.218, 0.129, 0.064, 0.034, 0.018, 0.011]
    # only 1 % below epoch 1: never learned
    assert rules.no_generalization(falls, dip).numbers["best_epoch"] == 4
    # learning that carries over is overfitting, not no-generalization (lesson 06's Keras printout)
    train, val = (
        [0.6931, 0.512, 0.3904, 0.2811, 0.1905, 0.1102],
        [0.6927, 0.531, 0.442, 0.465, 0.538, 0.647],
    )
    assert (
        rules.no_generalization(train, val) is None
        and gradual.overfitting(train, val).code == "overfitting"
    )
    # validation loss never improves, but accuracy climbs well above chance
    flat = [0.70, 0.71, 0.72, 0.75, 0.79, 0.83]
    assert rules.no_generalization(train, flat) is not None
    assert rules.no_generalization(train, flat, val_metric=[0.5, 0.6, 0.7, 0.75, 0.78, 0.8]) is None
    # to chance
    assert (
        rules.no_generalization(train, flat, val_metric=[0.31, 0.45, 0.5, 0.52, 0.5, 0.51])
        is not None
    )


def test_overfitting_rule():
    train = [1.0 * 0.85**e for e in range(20)]
    val = [0.9 * 0.85**e + 0.3 for e in range(10)] + [0.3 + 0.04 * e for e in range(1, 11)]
    hit = gradual.overfitting(train, val)
    assert hit.code == "overfitting" and 10 <= hit.numbers["best_epoch"] <= 12
    noisy = [0.9 * 0.85**e + 0.3 + (0.03 if e % 2 else 0) for e in range(20)]
    assert gradual.overfitting(train, noisy) is None
    assert gradual.overfitting([0.3] * 20, val) is None  # training loss is not falling
    rounded = [0.69, 0.47, 0.3, 0.22, 0.14, 0.1, 0.07, 0.06, 0.04, 0.03, 0.03, 0.02] + [
        0.01,
        0.02,
    ] * 4
    assert gradual.overfitting(train, rounded) is None  # 0.01 -> 0.02 is rounding, not a rise
    # training no longer moves on a linear axis
    converged = [1.0 * 0.5**e for e in range(10)] + [0.0015] * 10
    # its validation wiggles are not fitting anything new
    assert gradual.overfitting(converged, val) is None


def test_rising_loss_rule():
    assert [f.code for f in diagnose({"loss": [1, 2, 3, 4, 5, 6]})] == ["rising-loss"]
    # went down first: train-loss-rises' shape
    assert rules.rising_loss([1.0, 0.9, 1.3, 1.5, 1.8]) is None
    # a wobbling plateau, not a climb
    assert rules.rising_loss([1.0, 1.05, 1.0, 1.06, 1.02, 1.07]) is None
    assert rules.rising_loss([1.0, 1.1, 1.2]) is None  # too few epochs to call a trend


# ---- loading runs ----


def _history() -> History:
    return History(
        train_loss=[1.0, 0.5, 0.25],
        val_loss=[1.1, 0.6, 0.3],
        step_loss=[1.2, 0.8, 0.6, 0.4, 0.3, 0.2],
        steps_per_epoch=2,
        train_metric=[0.5, 0.7, 0.9],
        val_metric=[0.5, 0.6, 0.8],
        lr=[0.1] * 3,
    )


def test_load_history_and_its_dict():
    c = load_run(_history())
    assert c.train_loss == (1.0, 0.5, 0.25) and c.step_loss[-1] == 0.2 and c.steps_per_epoch == 2
    assert load_run(_history().to_dict()).val_loss == c.val_loss


def test_load_keras_dict_aliases():
    c = load_run(
        {
            "loss": [1.0, 0.5],
            "val_loss": [1.1, 0.6],
            "acc": [0.5, 0.7],
            "val_acc": [0.4, 0.6],
            "lr": [0.01, 0.01],
            "mae": [3, 2],
        }
    )
    assert c.train_metric == (0.5, 0.7) and c.val_metric == (0.4, 0.6) and c.lr == (0.01, 0.01)
    assert load_run({"val_loss": [1.0, 0.9]}).val_loss == (1.0, 0.9)


def test_load_dataframe():
    pd = pytest.importorskip("pandas")
    c = load_run(pd.DataFrame({"loss": [1.0, 0.5], "val_loss": [1.1, float("nan")]}))
    assert (
        c.train_loss == (1.0, 0.5)
        and diagnose(pd.DataFrame({"loss": [1.0, float("nan")]}))[0].code == "diverged"
    )
    lightning = pd.read_csv(EXAMPLES / "lightning_metrics.csv")
    assert (
        load_run(lightning).train_loss
        == load_run(str(EXAMPLES / "lightning_metrics.csv")).train_loss
    )


def test_load_shipped_examples():
    keras = load_run(str(EXAMPLES / "keras_csvlogger.csv"))
    assert len(keras.train_loss) == len(keras.val_loss) == 12 and keras.lr[0] == 0.001
    lightning = load_run(Path(str(EXAMPLES / "lightning_metrics.csv")))
    assert (
        len(lightning.train_loss) == 20
        and len(lightning.step_loss) == 80
        and lightning.steps_per_epoch == 4
    )
    assert len(load_run(str(EXAMPLES / "late_explosion.json")).train_loss) == 100
    codes = {
        name: [f.code for f in diagnose(str(EXAMPLES / name))]
        for name in ("keras_csvlogger.csv", "lightning_metrics.csv", "late_explosion.json")
    }
    assert codes == {
        "keras_csvlogger.csv": ["no-generalization"],
        "lightning_metrics.csv": ["overfitting"],
        "late_explosion.json": ["late-explosion"],
    }


def test_csv_ignores_other_columns_and_a_bom(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text(
        "\ufeffepoch,loss,val_loss,time,note\n0,1.0,1.1,12:00,start\n1,0.5,0.6,12:01,\n",
        encoding="utf-8",
    )
    assert load_run(p).val_loss == (1.1, 0.6)
    with pytest.raises(FileNotFoundError, match="run="):
        diagnose(tmp_path / "missing.csv")


def test_keras_history_as_dataframe_and_numpy():
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    t = THREADS["no-generalization"]
    assert [f.code for f in diagnose(pd.DataFrame(t))] == ["no-generalization"]
    assert [f.code for f in diagnose({k: np.array(v, dtype=np.float32) for k, v in t.items()})] == [
        "no-generalization"
    ]


def test_csv_with_nan_and_per_step_loss(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("epoch,step,train_loss\n0,1,1.0\n0,2,0.8\n1,3,0.6\n1,4,nan\n")
    c = load_run(p)
    assert c.step_loss[:3] == (1.0, 0.8, 0.6) and len(c.train_loss) == 2
    assert diagnose(p)[0].numbers == {"epoch": 2, "step": 4}


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (42, TypeError, "dict of lists"),
        ([[0.5], [0.4]], TypeError, "dict of lists"),
        (b"loss,0.5", TypeError, "decode"),
        ({}, ValueError, "no loss curve"),
        ({"accuracy": [0.5]}, ValueError, "no loss curve"),
        ({"loss": []}, ValueError, "empty"),
        ({"loss": [1.0, 0.5], "val_loss": [1.0]}, ValueError, "ragged"),
        ({"loss": [1.0, "low"]}, ValueError, "not a number"),
        ({"loss": [1.0, True]}, ValueError, "not a number"),
        ({"loss": "1.0, 0.5"}, ValueError, "list of numbers"),
        (History(), ValueError, "no loss"),
    ],
)
def test_load_rejects(bad, error, words):
    with pytest.raises(error, match=words) as info:
        diagnose(bad)
    assert "run" in str(info.value)  # the message names the argument


def test_load_rejects_files(tmp_path):
    (tmp_path / "a.csv").write_text("epoch,accuracy\n0,0.5\n")
    (tmp_path / "b.csv").write_text("epoch,loss\n0,abc\n")
    (tmp_path / "c.txt").write_text("hello world\nno numbers here")
    (tmp_path / "d.json").write_text("[[1.0, 0.5], [0.4, 0.3]]")
    (tmp_path / "e.bin").write_bytes(b"\x00\x01\x02" * 10)
    for name, words in (
        ("a.csv", "no loss column"),
        ("b.csv", "not a number"),
        ("c.txt", "found no loss"),
        ("d.json", "JSON object"),
        ("e.bin", "binary"),
    ):
        with pytest.raises(ValueError, match=words) as info:
            diagnose(tmp_path / name)
        assert "run" in str(info.value)


# ---- Findings ----


def test_vocabulary_and_case_map():
    assert CURVE_CODES == (
        "negative-loss",
        "flat-validation",
        "late-explosion",
        "diverged",
        "oscillation",
        "rising-loss",
        "train-loss-rises",
        "no-generalization",
        "overfitting",
        "validation-oscillation",
    )
    assert set(CASE_OF_CODE) <= set(CODES) and set(CASE_OF_CODE.values()) == set(cases.names())
    # each case's failure code is its own
    assert all(CASE_OF_CODE[cases.get(n).code] == n for n in cases.names())
    assert set(LESSON_OF_CODE) <= set(CODES)
    for code in CODES:
        f = make_finding(code, "e")
        assert f.title and f.explanation and f.fixes
        assert f.lesson == LESSON_OF_CODE.get(code, "")
        if code in CASE_OF_CODE:
            assert f.lesson == cases.get(CASE_OF_CODE[code]).lesson
    # NaN/inf and overfitting are taught in lesson 00; lesson 05 says a rising training loss is NOT
    # overfitting
    assert (
        LESSON_OF_CODE["diverged"]
        == LESSON_OF_CODE["overfitting"]
        == "00_reading_loss_curves.ipynb"
    )
    lessons = ROOT / "lessons"
    assert all((lessons / name).is_file() for name in LESSON_OF_CODE.values())
    with pytest.raises(ValueError, match="vocabulary"):
        make_finding("bad-code", "e")


def test_finding_is_frozen_and_renders():
    f = diagnose(THREADS["negative-loss"])[0]
    assert isinstance(f, Finding) and f.lesson == cases.get("negative-loss").lesson
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.code = "x"  # type: ignore[misc]
    assert str(f).startswith("[negative-loss]") and "-8421" in str(f)
    assert "<b><code>negative-loss</code>" in f._repr_html_()
    assert "&lt;b&gt;" in make_finding("diverged", "<b>")._repr_html_()


@pytest.mark.parametrize("code", sorted(THREADS))
def test_thread_numbers(code):
    found = [f.code for f in diagnose(THREADS[code])]
    assert found[0] == code
    assert set(found) <= set(CURVE_CODES)


def test_flat_validation_comes_before_oscillation():
    assert [f.code for f in diagnose(THREADS["flat-validation"])] == [
        "flat-validation",
        "oscillation",
    ]


def test_healthy_runs_have_no_findings():
    assert diagnose({"loss": SMOOTH, "val_loss": [v + 0.05 for v in SMOOTH]}) == []
    # stuck, but no listed failure
    assert diagnose({"loss": [0.7, 0.69, 0.695, 0.69, 0.688, 0.69]}) == []
    assert diagnose(_history()) == []


# ---- setup checks ----


def test_checks_on_model_criterion_optimizer():
    run = {"loss": SMOOTH}
    net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.7), nn.Linear(8, 3))
    found = diagnose(
        run,
        model=net,
        criterion=nn.NLLLoss(),
        optimizer=torch.optim.Adam(net.parameters(), lr=0.03),
    )
    assert [f.code for f in found] == ["nll-without-log-softmax", "high-dropout", "high-lr"]
    assert found[0].lesson == cases.get("negative-loss").lesson
    assert "Linear" in found[0].evidence
    ok = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1))
    assert (
        diagnose(
            run,
            model=ok,
            criterion=nn.NLLLoss(),
            optimizer=torch.optim.SGD(ok.parameters(), lr=0.1),
        )
        == []
    )
    soft = nn.Sequential(nn.Linear(4, 3), nn.Sequential(nn.Softmax(dim=1)))
    assert (
        diagnose(run, model=soft, criterion=nn.CrossEntropyLoss())[0].code
        == "softmax-before-cross-entropy"
    )
    sig = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())
    assert (
        diagnose(run, model=sig, criterion=nn.BCEWithLogitsLoss())[0].code
        == "sigmoid-before-bce-with-logits"
    )
    assert diagnose(run, optimizer=torch.optim.SGD(ok.parameters(), lr=2.0))[0].code == "high-lr"


def test_checks_walk_custom_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 3)
            self.out = nn.Softmax(dim=1)

        def forward(self, x):
            return self.out(self.body(x))

    assert (
        diagnose({"loss": SMOOTH}, model=Net(), criterion=nn.CrossEntropyLoss())[0].code
        == "softmax-before-cross-entropy"
    )

    # its forward applies log_softmax itself: the last registered layer is Linear
    class LogNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.out = nn.Linear(4, 3)

        def forward(self, x):
            return torch.log_softmax(self.out(x), dim=1)

    assert diagnose({"loss": SMOOTH}, model=LogNet(), criterion=nn.NLLLoss()) == []
    assert (
        diagnose({"loss": SMOOTH}, model=nn.Linear(4, 3), criterion=nn.NLLLoss())[0].code
        == "nll-without-log-softmax"
    )
    with pytest.raises(TypeError, match="criterion"):
        diagnose({"loss": SMOOTH}, model=Net(), criterion="nll")


def test_adam_eps_risk_only_on_long_or_very_low_runs():
    p = [nn.Parameter(torch.zeros(1))]
    adam = torch.optim.Adam(p, lr=1e-3)
    assert diagnose({"loss": SMOOTH}, optimizer=adam) == []  # 30 epochs, loss only 1000x lower
    long_run = diagnose({"loss": [1.0 * 0.9995**e for e in range(1200)]}, optimizer=adam)
    assert [f.code for f in long_run] == ["small-adam-eps"] and long_run[0].lesson == cases.get(
        "adam-epsilon"
    ).lesson
    assert (
        diagnose(
            {"loss": [1.0 * 0.9995**e for e in range(1200)]},
            optimizer=torch.optim.Adam(p, lr=1e-3, eps=1e-3),
        )
        == []
    )
    merged = diagnose(THREADS["late-explosion"], optimizer=adam)
    assert [f.code for f in merged] == ["late-explosion", "small-adam-eps"]


def test_nll_check_merges_with_the_curve_finding():
    net = nn.Sequential(nn.Linear(4, 3))
    found = diagnose(THREADS["negative-loss"], model=net, criterion=nn.NLLLoss())
    assert (
        [f.code for f in found] == ["negative-loss"]
        and "LogSoftmax" in found[0].evidence
        and "-8421" in found[0].evidence
    )


# ---- plot ----


def test_plot_marks_finding_epochs():
    run = THREADS["no-generalization"]
    fig, ax = plt.subplots()
    try:
        out = plot_findings(run, diagnose(run), ax)
        assert out is ax and [line.get_xdata()[0] for line in ax.lines[2:]] == [1]
        assert "no-generalization" in ax.get_title()
        plot_findings(THREADS["negative-loss"], diagnose(THREADS["negative-loss"]), ax)
        assert ax.get_yscale() == "symlog"
    finally:
        plt.close(fig)


def test_package_exports():
    assert labkit.diagnose is diagnose and "diagnose" in labkit.__all__
    assert json.loads((EXAMPLES / "late_explosion.json").read_text())["loss"][0] > 0


# ---- lesson 06 ----

LESSON = "06_diagnose_your_own_run.ipynb"
ROOT = Path(__file__).resolve().parents[1]


def test_lesson_06_is_paired_and_in_sync():
    # The lesson is a jupytext pair (.ipynb + py:percent .py); its example logs come from
    # tools/make_examples.py.
    meta = pytest.importorskip("test_lessons_meta")
    problems = meta.pair_differences(ROOT / "lessons" / LESSON)
    assert not problems, (
        "\n".join(problems) + f"\nrun: {meta.sync_command(ROOT / 'lessons' / LESSON)}"
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_examples.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "check",
    [
        "test_stored_clean",
        "test_first_cells",
        "test_badges",
        "test_tags_not_comment_markers",
        "test_structure",
    ],
)
def test_lesson_06_meets_the_lesson_checks(check):
    # tests/test_lessons_meta.py lists lessons 00-05 only
    meta = pytest.importorskip("test_lessons_meta")
    getattr(meta, check)(LESSON)


def test_each_check_on_its_own():
    from labkit.diagnosis import registry
    from labkit.diagnosis import setup_checks as checks

    def check(code, model=None, criterion=None, optimizer=None, train=(), spe=1):
        """Run the registered check ``code`` as diagnose() does: through its rule's detect."""
        curves = registry.CurveInput(train, (), (), spe, False, train)
        hit = registry.get(code).detect(registry.SetupInput(model, criterion, optimizer, curves))
        assert hit is None or hit.code == code
        return hit

    # at the threshold: fine
    assert check("high-dropout", nn.Sequential(nn.Dropout(checks.MAX_DROPOUT))) is None
    hit = check("high-dropout", nn.Sequential(nn.Dropout2d(0.8)))
    assert hit.numbers == {"max_dropout": 0.8}
    p = [nn.Parameter(torch.zeros(1))]
    assert check("high-lr", optimizer=torch.optim.Adam(p, lr=checks.MAX_LR["adaptive"])) is None
    assert check("high-lr", optimizer=torch.optim.RMSprop(p, lr=0.1)).numbers == {"lr": 0.1}
    assert check("high-lr", optimizer=torch.optim.SGD(p, lr=checks.MAX_LR["sgd"])) is None
    assert check("high-lr", optimizer=torch.optim.SGD(p, lr=1.5)) is not None
    adam = torch.optim.Adam(p, lr=1e-3, eps=checks.ADAM_EPS_RISK)
    # short (2 epochs of LONG_RUN_STEPS / 2 - 1 steps), loss not low; then one step more per epoch
    short = checks.LONG_RUN_STEPS // 2 - 1
    assert check("small-adam-eps", optimizer=adam, train=[1.0, 0.5], spe=short) is None
    hit = check("small-adam-eps", optimizer=adam, train=[1.0, 0.5], spe=short + 1)
    assert hit.numbers == {"eps": checks.ADAM_EPS_RISK, "steps": checks.LONG_RUN_STEPS}
    low = [1.0, checks.LOW_LOSS_FRACTION / 2]
    assert check("small-adam-eps", optimizer=adam, train=low) is not None
    bigger = torch.optim.Adam(p, lr=1e-3, eps=checks.ADAM_EPS_RISK * 2)
    assert check("small-adam-eps", optimizer=bigger, train=low) is None
    log_softmax = nn.Sequential(nn.Linear(2, 2), nn.LogSoftmax(dim=1))
    assert check("nll-without-log-softmax", log_softmax, nn.NLLLoss()) is None
    assert check("nll-without-log-softmax", nn.Sequential(nn.Linear(2, 2)), nn.NLLLoss())
    linear = nn.Sequential(nn.Linear(2, 2))
    assert check("softmax-before-cross-entropy", linear, nn.CrossEntropyLoss()) is None
    softmax = nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=1))
    assert check("softmax-before-cross-entropy", softmax, nn.CrossEntropyLoss())
    sigmoid = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    assert check("sigmoid-before-bce-with-logits", sigmoid, nn.BCEWithLogitsLoss())
    assert check("sigmoid-before-bce-with-logits", sigmoid, nn.BCELoss()) is None
    assert (
        checks.last_module(
            nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Softmax(dim=1)))
        ).__class__
        is nn.Softmax
    )
