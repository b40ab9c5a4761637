"""Each case reproduces its failure by its numeric signature, and each fix removes it, on several seeds.

Seeds 0-2 were looked at while the cases were designed; 5 and 8 were not, and benchmarks/robustness.py
checks 10 seeds (its tally is in the closing notes).
"""

import math

import pytest

from labkit import cases

SEEDS = [0, 5, 8]


def run(name, seed, fix=None, **knobs):
    case = cases.get(name)
    overrides = case.fix(fix) if fix else {}
    return case, case.run(seed=seed, device="cpu", **{**overrides, **knobs})


@pytest.mark.parametrize("seed", SEEDS)
def test_rising_val_loss(seed):
    case, h = run("rising-val-loss", seed)
    assert case.symptom_checks(h) == dict.fromkeys(case.symptom_checks(h), True)
    baseline = h.final["baseline_val_loss"]
    assert h.val_loss[-1] > h.val_loss[0] and h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert h.val_loss[-1] > baseline
    _, fixed = run("rising-val-loss", seed, "global normalization")
    assert not case.shows_symptom(fixed)
    assert fixed.val_loss[-1] < 0.5 * baseline
    assert fixed.val_metric[-1] > 0.85  # the sign of the target is predicted
    # a shuffled split of overlapping windows leaks: validation looks far better than the honest split
    _, leaky = run("rising-val-loss", seed, "shuffled split (hides it)")
    assert min(leaky.val_loss) < 0.6 * min(h.val_loss)
    assert leaky.val_loss[-1] < leaky.val_loss[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_oscillating_loss(seed):
    case, h = run("oscillating-loss", seed)
    assert all(case.symptom_checks(h).values()), case.symptom_checks(h)
    assert max(h.val_loss[1:]) - min(h.val_loss[1:]) < 1e-6  # validation exactly flat
    assert max(h.train_loss) - min(h.train_loss) > 2.0  # epoch loss moves with the batch class mix
    assert h.final["test_accuracy"] < 0.6  # a constant answer
    _, pre = run("oscillating-loss", seed, "pretrained backbone")
    assert not case.shows_symptom(pre)
    assert pre.final["test_accuracy"] >= 0.9 and pre.final["test_loss"] < 0.5
    # the true effect of a lower lr: the oscillation stops, but the big model memorises the 35 images
    _, low = run("oscillating-loss", seed, "lower learning rate")
    assert not case.shows_symptom(low)
    assert low.train_loss[-1] < 0.05 and low.final["test_accuracy"] < 0.75


@pytest.mark.parametrize("seed", SEEDS)
def test_negative_loss(seed):
    case, h = run("negative-loss", seed)
    assert all(case.symptom_checks(h).values()), case.symptom_checks(h)
    assert min(h.step_loss) < -1000 and h.train_loss[-1] < h.train_loss[2] < 0
    assert max(h.val_metric) <= 0.56
    assert max(h.extra["val_recall_minority"]) == 0.0
    _, ce = run("negative-loss", seed, "cross-entropy")
    assert not case.shows_symptom(ce)
    assert min(ce.step_loss) >= 0 and ce.val_metric[-1] > 0.9
    _, weighted = run("negative-loss", seed, "class weights")
    assert not case.shows_symptom(weighted)
    recall = weighted.extra["val_recall_minority"]
    assert sum(recall[-3:]) / 3 > 0.3  # the 1 % class is found; it swings between epochs, hence the mean


@pytest.mark.parametrize("seed", SEEDS)
def test_adam_epsilon(seed):
    case, h = run("adam-epsilon", seed)
    assert all(case.symptom_checks(h).values()), case.symptom_checks(h)
    _, fixed = run("adam-epsilon", seed, "larger epsilon")
    assert not case.shows_symptom(fixed)
    assert min(fixed.train_loss) < 1e-2 * fixed.train_loss[0]  # it still trains
    assert all(math.isfinite(v) for v in fixed.train_loss)


@pytest.mark.parametrize("seed", SEEDS)
def test_train_loss_rises(seed):
    case, h = run("train-loss-rises", seed)
    assert all(case.symptom_checks(h).values()), case.symptom_checks(h)
    _, fixed = run("train-loss-rises", seed, "schedule")
    assert not case.shows_symptom(fixed)
    assert fixed.train_loss[-1] < 2 * min(fixed.train_loss) and min(fixed.train_metric[-50:]) >= 0.99
    _, stopped = run("train-loss-rises", seed, "early stopping")
    assert stopped.stopped_epoch is not None and stopped.num_epochs < h.num_epochs
