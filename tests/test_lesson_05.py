"""Lesson 05 (train-loss-rises, thread "Why does train data performance deteriorate dramatically?").

The lesson asserts its claims on LABKIT_SEED; these pin the case's numeric signature, the mechanism
(weight decay shrinks batch-normalised weights, the effective lr grows), each suggestion's effect
and the knobs' errors, on seeds the lesson does not print by default.
"""

import pytest
import torch

from labkit import cases, verdict
from labkit.cases.train_loss_rises import N_TRAIN, FocalLoss, first_jump, make_case_loss
from labkit.exercise import answer_text

CASE = cases.get("train-loss-rises")


def run(seed, **knobs):
    return CASE.run(seed=seed, device="cpu", **knobs)


def fit_epoch(h):
    return h.train_metric.index(1.0)


@pytest.mark.parametrize("seed", [3, 7])
def test_failing_run_jumps_late_after_the_effective_lr_has_grown(seed):
    h = run(seed, measure=True)
    j, fit = first_jump(h.train_loss), fit_epoch(h)
    assert j is not None and 60 <= j and fit < j
    assert h.train_loss[j] > 10 * min(h.train_loss[:j])
    assert min(h.train_metric[j:]) < 0.95
    norm, eff = h.extra["conv_norm"], h.extra["effective_lr"]
    assert len(norm) == len(eff) == h.num_epochs
    assert norm[j - 1] < 0.85 * norm[fit] and eff[j - 1] > 1.4 * eff[fit]
    assert norm[-1] > norm[j - 1]  # the jump's large gradients grow the weights back


@pytest.mark.parametrize("seed", [3])
def test_without_weight_decay_nothing_shrinks_and_nothing_jumps(seed):
    h = run(seed, measure=True, weight_decay=0.0)
    fit = fit_epoch(h)
    assert first_jump(h.train_loss) is None and not CASE.shows_symptom(h)
    assert h.extra["effective_lr"][-1] <= h.extra["effective_lr"][fit]
    assert h.train_loss[-1] < 0.005


def test_measure_records_without_changing_the_run():
    plain, measured = run(2, epochs=6), run(2, epochs=6, measure=True)
    assert plain.train_loss == measured.train_loss and plain.val_loss == measured.val_loss
    assert "effective_lr" not in plain.extra and len(measured.extra["effective_lr"]) == 6
    lr = measured.lr[-1]
    assert measured.extra["effective_lr"][-1] == pytest.approx(
        lr * 3 / measured.extra["conv_norm"][-1] ** 2, rel=1e-5
    )


@pytest.mark.parametrize("seed", [6])
def test_schedules(seed):
    h = run(seed)
    j = first_jump(h.train_loss)
    for fix in ("cosine schedule", "step schedule"):
        fixed = run(seed, **CASE.overrides(fix))
        assert first_jump(fixed.train_loss) is None and fixed.train_metric[-1] == 1.0
    plateau = run(seed, **CASE.overrides("reduce on plateau"))
    # cut too early: underfit
    assert first_jump(plateau.train_loss) is None and plateau.train_loss[-1] > 0.3
    stopped = run(seed, **CASE.overrides("early stopping (hides it)"))
    assert stopped.stopped_epoch < j and stopped.restored_epoch == stopped.best_epoch


@pytest.mark.parametrize("seed", [2])
def test_adam_and_dropout_remove_the_jump_in_150_epochs_but_fit_less_tightly(seed):
    floor = min(run(seed).train_loss)
    adam = run(seed, optimizer="adam", lr=1e-3)
    assert first_jump(adam.train_loss) is None and adam.train_loss[-1] > 3 * floor
    dropped = run(seed, dropout=0.5)
    assert first_jump(dropped.train_loss) is None and min(dropped.train_loss) > 2 * floor


@pytest.mark.parametrize("seed", [9])
def test_the_askers_tries_still_jump(seed):
    # what lesson 05 claims of each try: the loss jumps and the run is not healthy. Not the whole
    # symptom at the end: a long run may recover after its jump (answer 2's "left alone it
    # recovers"): on seed 9 the focal and lr 0.03 runs do with torch 2.13's AVX2 kernels (an AMD
    # EPYC without AVX-512), but not with its plain ones (ATEN_CPU_CAPABILITY=default) nor on the
    # machines of earlier CI runs, where this test asserted the whole symptom and passed
    base = first_jump(run(seed).train_loss)
    tries = [
        dict(batch_size=100, epochs=250),
        dict(disease_weight=3.0, epochs=250),
        dict(loss="focal", epochs=250),
        dict(lr=0.03, epochs=500),
    ]
    for knobs in tries:
        h = run(seed, **knobs)
        assert first_jump(h.train_loss) is not None, knobs
        assert verdict(h).state != "healthy", knobs
    assert first_jump(h.train_loss) > base  # the lower rate: a later jump


@pytest.mark.parametrize("seed", [4])
def test_the_your_turn_answer_works(seed):
    assert "1e-3" in answer_text("05-weight-decay")
    h = run(seed, weight_decay=1e-3)
    assert first_jump(h.train_loss) is None and h.train_metric[-1] == 1.0


def test_focal_loss_is_cross_entropy_at_gamma_0_and_down_weights_easy_samples():
    logits = torch.tensor([[2.0, -1.0], [0.1, 0.3], [-3.0, 3.0]])
    target = torch.tensor([0, 1, 0])
    ce = torch.nn.functional.cross_entropy(logits, target)
    assert FocalLoss(0.0)(logits, target).item() == pytest.approx(ce.item(), rel=1e-6)
    assert FocalLoss(2.0)(logits, target).item() < ce.item()
    w = torch.tensor([1.0, 3.0])
    weighted_ce = torch.nn.functional.cross_entropy(logits, target, weight=w)
    assert FocalLoss(0.0, w)(logits, target).item() == pytest.approx(weighted_ce.item(), rel=1e-6)
    assert isinstance(make_case_loss("cross-entropy", 1.0), torch.nn.CrossEntropyLoss)
    with pytest.raises(ValueError, match="loss='mse'"):
        make_case_loss("mse", 1.0)
    with pytest.raises(ValueError, match="gamma"):
        FocalLoss(-1.0)


def test_knob_ranges_cover_the_thread_and_reject_bad_input_by_name():
    CASE.knobs(lr=1e-7, eps=1e-7, batch_size=0, early_stopping=0, weight_decay=0.0)  # allowed
    for bad, name in (
        ({"lr": 1e-8}, "lr"),
        ({"batch_size": N_TRAIN + 1}, "batch_size"),
        ({"loss": "bce"}, "loss"),
        ({"disease_weight": 0.0}, "disease_weight"),
        ({"dropout": 0.95}, "dropout"),
        ({"restore_best": 1}, "restore_best"),
    ):
        with pytest.raises((ValueError, TypeError), match=name):
            CASE.knobs(**bad)


def test_deterministic_on_the_cpu():
    a, b = (
        run(1, epochs=5, loss="focal", disease_weight=2.0),
        run(1, epochs=5, loss="focal", disease_weight=2.0),
    )
    assert (
        a.train_loss == b.train_loss
        and a.val_loss == b.val_loss
        and a.train_metric == b.train_metric
    )


def test_the_panel_shows_the_rise_on_a_log_axis_and_says_full_batch_and_off_in_words():
    from labkit.controls import control, read

    # a linear axis flattens a rise from 0.01 next to validation spikes
    assert CASE.view.scale == "log"
    specs = CASE.knob_specs()
    for name, word, other in (("batch_size", "full batch", 100), ("early_stopping", "off", 30)):
        spec, help_text = specs[name]
        widget = control(name, spec, help_text, 0)
        assert widget._options_labels[0] == word and read(spec, widget) == 0
        widget.value = other
        assert widget.label == str(other) and read(spec, widget) == other
