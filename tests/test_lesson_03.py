"""Lesson 03 (negative-loss, datascience post 57185): each claim the lesson makes, on seeds it did
not print.

The lesson asserts the same on LABKIT_SEED; these pin the case's numeric signatures and the fixes'.
"""

import math

import pytest

from labkit import cases
from labkit.exercise import answer_text

CASE = cases.get("negative-loss")


def shares(h):
    return [h.extra[f"val_predicted_{c}"][-1] for c in range(3)]


@pytest.mark.parametrize("seed", [3, 6])
def test_failing_run_answers_one_class_and_runs_off_like_a_power_of_the_step(seed):
    h = CASE.run(seed=seed, device="cpu")
    assert h.train_loss[0] < 0 and all(b < a for a, b in zip(h.train_loss, h.train_loss[1:]))
    assert min(h.step_loss) < -1000
    s = shares(h)
    assert abs(sum(s) - 1) < 1e-6 and max(s) >= 0.99 and s[2] == 0.0  # one big class for everything
    # accuracy = that class's share
    assert abs(h.val_metric[-1] - (0.54, 0.45)[s.index(max(s))]) < 0.01
    assert max(h.extra["val_recall_minority"]) == 0.0
    # the run-off's second half is a straight line on log-log axes with slope about 5, not an
    # exponential
    n = len(h.step_loss)
    xs = [math.log(t) for t in range(n // 2 + 1, n + 1)]
    ys = [math.log(-v) for v in h.step_loss[n // 2 :]]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    assert 4.0 < slope < 6.5


@pytest.mark.parametrize("seed", [4])
def test_the_askers_learning_rate_only_slows_it(seed):
    tiny = CASE.run(seed=seed, device="cpu", lr=1e-6)
    assert all(b < a for a, b in zip(tiny.train_loss, tiny.train_loss[1:]))
    assert -0.01 < tiny.train_loss[-1] - tiny.train_loss[0] < 0
    slow = CASE.run(seed=seed, device="cpu", lr=1e-3)
    assert min(slow.step_loss) < -500


def test_sgd_runs_off_to_a_recorded_non_finite_loss():
    h = CASE.run(seed=11, device="cpu", optimizer="momentum", lr=0.01, epochs=30)
    assert h.diverged and h.diverged_step < 10 * h.steps_per_epoch
    assert not math.isfinite(h.step_loss[-1]) and all(math.isfinite(v) for v in h.step_loss[:-1])
    assert math.isnan(h.train_loss[-1]) and h.num_epochs == h.diverged_epoch + 1


@pytest.mark.parametrize("seed", [2])
def test_log_softmax_is_cross_entropy_and_both_fix_it(seed):
    ce = CASE.run(seed=seed, device="cpu", **CASE.overrides("cross-entropy"))
    ls = CASE.run(seed=seed, device="cpu", **CASE.overrides("log-softmax"))
    assert max(abs(a - b) for a, b in zip(ce.step_loss, ls.step_loss)) < 1e-4
    for h in (ce, ls):
        assert not CASE.shows_symptom(h) and min(h.step_loss) >= 0 and h.val_metric[-1] > 0.95
        s = shares(h)
        assert 0.5 < s[0] < 0.6 and 0.4 < s[1] < 0.5


@pytest.mark.parametrize("seed", [7])
def test_swapped_validation_labels_put_a_good_model_below_chance(seed):
    h = CASE.run(seed=seed, device="cpu", loss="cross-entropy", val_labels="0 and 1 swapped")
    assert h.train_metric[-1] > 0.95 and h.val_metric[-1] < 0.05


@pytest.mark.parametrize("seed", [6, 12])
def test_class_weights_find_more_of_the_rare_class_than_cross_entropy(seed):
    def recall(h):
        return sum(h.extra["val_recall_minority"][-3:]) / 3

    ce = CASE.run(seed=seed, device="cpu", **CASE.overrides("cross-entropy"))
    w = CASE.run(seed=seed, device="cpu", **CASE.overrides("class weights"))
    # the your-turn answer
    nll_w = CASE.run(seed=seed, device="cpu", log_softmax=True, class_weights=True)
    assert recall(w) > recall(ce) and recall(w) > 0.5 and w.val_metric[-1] > 0.95
    assert min(nll_w.step_loss) >= 0 and recall(nll_w) >= 0.5


def test_knobs_cover_the_thread_and_reject_bad_values():
    k = CASE.knobs(lr=1e-6, batch_size=16, epochs=5)  # the thread's values
    assert (k.lr, k.batch_size, k.epochs) == (1e-6, 16, 5)
    with pytest.raises(ValueError, match=r"lr=1e-08 is out of range; allowed: 1e-07 <= lr <= 1"):
        CASE.knobs(lr=1e-8)
    with pytest.raises(
        ValueError,
        match=r"val_labels='shuffled' is not allowed; allowed: 'as stored', '0 and 1 swapped'",
    ):
        CASE.knobs(val_labels="shuffled")
    with pytest.raises(TypeError, match="log_softmax must be True or False"):
        CASE.knobs(log_softmax=1)


def test_same_knobs_and_seed_give_the_same_history():
    a = CASE.run(seed=1, device="cpu", epochs=2, val_labels="0 and 1 swapped", log_softmax=True)
    b = CASE.run(seed=1, device="cpu", epochs=2, val_labels="0 and 1 swapped", log_softmax=True)
    assert a.step_loss == b.step_loss and a.val_loss == b.val_loss and a.extra == b.extra


def test_reference_answers_solve_the_exercises():
    assert "-8421.151 * 10 / 172" in answer_text("03-plotted-loss")
    assert '{"log_softmax": True, "class_weights": True}' in answer_text("03-nll-knobs")


def test_the_plotted_loss_check_runs_the_reference_answer():
    from pathlib import Path

    import jupytext

    from labkit.exercise import run_answer

    expected = run_answer("03-plotted-loss")["plotted_epoch5"]
    assert abs(expected - (-8421.151 * 10 / math.ceil(2746 / 16))) < 0.1
    lesson = Path(__file__).resolve().parents[1] / "lessons" / "py" / "03_loss_goes_negative.py"
    [check] = [
        c.source for c in jupytext.read(lesson).cells if c.source.startswith("plotted_epoch5 = ...")
    ]
    # neither the value nor the formula
    assert "8421" not in check and "172" not in check and "2746" not in check
