"""Core pieces: device, seeding, knobs, History, schedules, the loop's divergence handling,
plots."""

import importlib.metadata
import json
import math
import os
import subprocess
import sys

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import labkit  # noqa: E402
from labkit import cases, plots  # noqa: E402
from labkit.history import History  # noqa: E402
from labkit.schedules import LRSchedule, lr_at  # noqa: E402
from labkit.train import TrainConfig  # noqa: E402


def test_version_is_the_installed_one():
    # labkit.__version__ and pyproject.toml's version must move together
    assert labkit.__version__ == importlib.metadata.version("labkit")


def test_case_names_in_lesson_order():
    assert cases.names() == [
        "rising-val-loss",
        "oscillating-loss",
        "negative-loss",
        "adam-epsilon",
        "train-loss-rises",
    ]


@pytest.mark.parametrize("name", cases.names())
def test_case_contract(name):
    case = cases.get(name)
    assert case.title.endswith("?") and case.symptom
    assert case.lesson.endswith(".ipynb")
    assert case.fixes, "every case has at least one fix"
    for overrides in case.fixes.values():
        case.knobs(**overrides)  # every fix is a valid set of knobs
    with pytest.raises(Exception):
        case.defaults.lr = 1.0  # frozen
    for spec, help_text in case.knob_specs().values():
        assert help_text


def test_unknown_case_names_allowed_ones():
    with pytest.raises(ValueError, match="unknown case 'nope'.*rising-val-loss"):
        cases.get("nope")
    with pytest.raises(TypeError, match="name must be"):
        cases.get(3)


@pytest.mark.parametrize(
    "knobs, pattern",
    [
        ({"lr": -1.0}, r"lr=-1.0 is out of range; allowed: 1e-07 <= lr <= 1"),
        ({"lr": 0.0}, r"lr=0.0 is out of range"),
        ({"lr": float("nan")}, r"lr=nan is out of range"),
        ({"lr": float("inf")}, r"lr=inf is out of range"),
        ({"lr": "fast"}, r"lr must be a number"),
        ({"eps": 0.0}, r"eps=0.0 is out of range"),
        ({"dropout": 1.0}, r"dropout=1.0 is out of range; allowed: 0 <= dropout <= 0.9"),
        ({"dropout": -0.1}, r"dropout=-0.1 is out of range"),
        ({"epochs": 0}, r"epochs=0 is out of range"),
        ({"epochs": -3}, r"epochs=-3 is out of range"),
        ({"epochs": 2.5}, r"epochs must be an int"),
        ({"loss": "hinge"}, r"loss='hinge' is not allowed; allowed: 'nll', 'cross-entropy'"),
        ({"schedule": "warp"}, r"schedule='warp' is not allowed"),
        ({"optimizer": "lbfgs"}, r"optimizer='lbfgs' is not allowed"),
        ({"class_weights": "yes"}, r"class_weights must be True or False"),
        ({"colour": "red"}, r"unknown knob\(s\) 'colour'; allowed: loss, class_weights, lr"),
    ],
)
def test_bad_knobs_are_named(knobs, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        cases.get("negative-loss").run(**knobs)


def test_bad_normalization_and_seed_and_device():
    case = cases.get("rising-val-loss")
    with pytest.raises(
        ValueError,
        match="normalization='zscore' is not allowed; allowed: 'window', 'global', 'none'",
    ):
        case.run(normalization="zscore")
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*32\)"):
        case.run(seed=-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        case.run(seed=1.5)
    with pytest.raises(ValueError, match="device='tpu'"):
        case.run(device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU is available"):
            case.run(device="cuda")


def test_train_config_from_knobs_takes_the_knobs_named_like_its_fields():
    k = cases.get("adam-epsilon").knobs(lr=3e-2, epochs=7, schedule="cosine")
    assert TrainConfig.from_knobs(k) == TrainConfig(
        epochs=7, batch_size=64, optimizer="keras-adam", lr=3e-2, eps=1e-7, schedule="cosine"
    )


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: TrainConfig.from_knobs(cases.get("negative-loss").defaults, lr=0.1),
            ValueError,
            r"'lr' is both a knob of Knobs and a fixed field; allowed: fixed fields that are "
            r"not knobs \(betas, ",
        ),
        (
            lambda: TrainConfig.from_knobs(cases.get("negative-loss").defaults, momentum=0.5),
            ValueError,
            r"fixed field\(s\) 'momentum' are not TrainConfig fields; allowed: epochs, batch_size",
        ),
        (
            lambda: TrainConfig.from_knobs({"lr": 0.1}),
            TypeError,
            "knobs must be a knob dataclass instance",
        ),
    ],
)
def test_bad_train_knob_declarations_are_named(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_pick_device_default_is_available():
    dev = labkit.pick_device()
    assert dev.type in ("cpu", "cuda", "mps")
    assert labkit.pick_device("cpu") == torch.device("cpu")


def test_use_device_keeps_runs_on_the_cpu_on_a_gpu_machine(monkeypatch):
    """The lessons' choice (``labkit.use_device("cpu")``), on a fake GPU machine: without it a run
    would go to CUDA."""
    # a GPU machine, as far as labkit can tell
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert labkit.pick_device() == torch.device("cuda")
    try:
        labkit.use_device("cpu")
        assert labkit.pick_device() == torch.device("cpu")
        assert cases.get("negative-loss").run(seed=0, epochs=1).device == "cpu"
        assert labkit.pick_device("cuda") == torch.device("cuda")  # an explicit device still wins
    finally:
        labkit.use_device(None)
    assert labkit.pick_device() == torch.device("cuda")


def test_use_device_rejects_a_device_that_is_not_there():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="device='cuda' asked for CUDA"):
        labkit.use_device("cuda")


def small_run(**knobs):
    return cases.get("negative-loss").run(seed=3, device="cpu", epochs=3, **knobs)


def test_history_records_everything():
    h = small_run()
    assert h.case == "negative-loss" and h.seed == 3 and h.device == "cpu"
    assert h.num_epochs == 3 and len(h.val_loss) == 3 and len(h.lr) == 3
    assert len(h.step_loss) == len(h.grad_norm) == 3 * h.steps_per_epoch
    assert h.knobs["lr"] == 3e-3 and h.knobs["loss"] == "nll"
    assert "val_recall_minority" in h.extra and h.wall_time > 0
    assert all(g > 0 for g in h.grad_norm)


def test_history_json_round_trip_keeps_nan():
    h = small_run()
    h.val_loss[1] = math.nan
    h.train_loss[0] = math.inf
    text = h.to_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    back = History.from_json(text)
    assert math.isnan(back.val_loss[1]) and back.train_loss[0] == math.inf
    back.val_loss[1] = h.val_loss[1] = 0.0
    assert back == History.from_dict(h.to_dict()) == h
    with pytest.raises(ValueError, match="unknown History fields"):
        History.from_dict({"bogus": 1})


def test_same_seed_same_history_bitwise():
    a, b = small_run(), small_run()
    a.wall_time = b.wall_time = 0.0
    assert a.to_dict() == b.to_dict()
    c = cases.get("negative-loss").run(seed=4, device="cpu", epochs=3)
    assert c.step_loss != a.step_loss


def test_same_seed_same_history_in_a_fresh_process():
    code = (
        "import labkit, json; h = labkit.cases.get('train-loss-rises').run(seed=1, device='cpu', "
        "epochs=5);print(json.dumps(h.step_loss + h.val_loss))"
    )
    here = cases.get("train-loss-rises").run(seed=1, device="cpu", epochs=5)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == here.step_loss + here.val_loss


def test_divergence_is_recorded_not_raised():
    # NLLLoss on raw logits has no floor; with SGD momentum at lr=1 the logits overflow within a few
    # steps
    h = cases.get("negative-loss").run(
        seed=0, device="cpu", epochs=10, lr=1.0, optimizer="momentum"
    )
    assert h.diverged
    assert not math.isfinite(h.step_loss[-1])
    assert all(math.isfinite(v) for v in h.step_loss[:-1])
    assert h.diverged_step == len(h.step_loss) - 1 < 10 * h.steps_per_epoch
    assert h.diverged_epoch == h.num_epochs - 1 and math.isnan(h.train_loss[-1])
    ax = plots.plot_loss(h, plt.figure().gca(), per="step")
    marker = [
        line
        for line in ax.lines
        if line.get_label() == f"diverged (NaN/inf) after step {h.diverged_step}"
    ]
    assert marker and list(marker[0].get_xdata()) == [h.diverged_step]
    assert History.from_json(h.to_json()).diverged_step == h.diverged_step
    plt.close("all")


def test_lr_schedules_are_pure_and_decay():
    assert lr_at("constant", 0.1, 50, 100) == 0.1
    assert lr_at("step", 0.1, 49, 100) == 0.1 and lr_at("step", 0.1, 50, 100) == pytest.approx(0.01)
    assert lr_at("step", 0.1, 80, 100) == pytest.approx(0.001)
    cos = [lr_at("cosine", 0.1, e, 100) for e in range(100)]
    assert cos[0] == 0.1 and all(a >= b for a, b in zip(cos, cos[1:])) and cos[-1] < 0.01
    plateau = LRSchedule("plateau", 0.1, 100)
    for loss in [1.0, 0.5] + [0.5] * 4:  # patience is 3 epochs for a 100-epoch run
        plateau.step(loss)
    assert plateau.lr == pytest.approx(0.03)
    with pytest.raises(ValueError, match="schedule='x' is not allowed"):
        lr_at("x", 0.1, 0, 10)


def test_schedule_reaches_the_optimizer():
    h = cases.get("train-loss-rises").run(seed=0, device="cpu", epochs=8, schedule="step")
    assert h.lr == [0.1] * 4 + [pytest.approx(0.01)] * 2 + [pytest.approx(0.001)] * 2


def test_early_stopping_stops_and_marks_best():
    h = cases.get("rising-val-loss").run(
        seed=0, device="cpu", epochs=30, early_stopping=2, n_windows=1500
    )
    assert h.stopped_epoch is not None and h.num_epochs == h.stopped_epoch + 1 < 30
    assert h.best_epoch == min(range(h.num_epochs), key=h.val_loss.__getitem__)
    assert h.stopped_epoch - h.best_epoch == 2


def test_plot_loss_draws_the_recorded_numbers():
    a, b = small_run(), small_run(loss="cross-entropy")
    fig, ax = plt.subplots()
    plots.plot_loss([a, b], ax, labels=["nll", "ce"])
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines["nll training loss"].get_ydata()) == a.train_loss
    assert list(lines["ce validation loss"].get_ydata()) == b.val_loss
    assert list(lines["nll training loss"].get_xdata()) == [1, 2, 3]
    assert ax.get_yscale() == "linear"
    plots.plot_loss(a, ax, scale="log")
    assert ax.get_yscale() == "symlog", "a negative loss cannot go on a log axis"
    ax2 = plots.plot_loss(a, plt.figure().gca(), per="step", val=False)
    assert list(ax2.lines[0].get_ydata()) == a.step_loss
    fig = plots.compare([a, b], ["nll", "ce"])
    assert len(fig.axes) == 2 and list(fig.axes[1].lines[0].get_ydata()) == a.train_metric
    with pytest.raises(ValueError, match="per='batch' is not allowed"):
        plots.plot_loss(a, per="batch")
    with pytest.raises(ValueError, match="labels has 1 entries but there are 2"):
        plots.plot_loss([a, b], labels=["x"])
    plt.close("all")


# same seed on CUDA: cuDNN deterministic kernels; reductions may still round differently
CUDA_RTOL = 1e-4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
# the conv cases that differed before
@pytest.mark.parametrize("name", ["rising-val-loss", "train-loss-rises"])
def test_same_seed_on_cuda_agrees_within_tolerance(name):
    case = cases.get(name)
    a, b = (case.run(seed=2, device="cuda", epochs=5) for _ in range(2))
    assert a.device.startswith("cuda")
    assert a.step_loss == pytest.approx(b.step_loss, rel=CUDA_RTOL)


def test_a_cpu_run_uses_the_same_thread_count_on_any_machine():
    """Reductions split over more threads sum in another order: a 2-core laptop must see the tested
    History."""
    from labkit import runlock

    case = cases.get("negative-loss")
    before = torch.get_num_threads()
    seen = []
    try:
        torch.set_num_threads(2)  # a learner's 2-core laptop
        on_two = case.run(
            seed=0, device="cpu", epochs=2, on_epoch=lambda h: seen.append(torch.get_num_threads())
        )
        assert torch.get_num_threads() == 2  # the caller's setting comes back
        torch.set_num_threads(1)  # the test run that checked the lessons
        on_one = case.run(seed=0, device="cpu", epochs=2)
    finally:
        torch.set_num_threads(before)
    assert seen == [runlock.CPU_THREADS] * 2
    assert on_two.step_loss == on_one.step_loss and on_two.val_loss == on_one.val_loss


def test_a_run_skips_the_nan_fill_of_new_tensors_and_puts_the_callers_setting_back():
    """The fill only guards reads of unwritten memory (each case's same-seed test would catch such a
    read)."""
    import torch.utils.deterministic as det

    case = cases.get("adam-epsilon")
    seen, before = [], det.fill_uninitialized_memory
    try:
        det.fill_uninitialized_memory = True
        quick = case.run(
            seed=0,
            device="cpu",
            epochs=2,
            on_epoch=lambda h: seen.append(det.fill_uninitialized_memory),
        )
        assert det.fill_uninitialized_memory is True
    finally:
        det.fill_uninitialized_memory = before
    assert seen == [False, False] and quick.num_epochs == 2


@pytest.mark.parametrize("value, threads", [("2", 2), (None, 1)])
def test_labkit_threads_sets_the_cpu_threads_of_every_run(value, threads):
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_THREADS"}
    if value is not None:
        env["LABKIT_THREADS"] = value
    code = "from labkit import runlock; print(runlock.CPU_THREADS)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == str(threads)


def test_labkit_threads_rejects_what_is_not_a_thread_count():
    env = dict(os.environ, LABKIT_THREADS="two")
    done = subprocess.run(
        [sys.executable, "-c", "import labkit"], env=env, capture_output=True, text=True
    )
    assert (
        done.returncode != 0
        and "LABKIT_THREADS='two'" in done.stderr
        and "from 1 to 256" in done.stderr
    )


def test_help_starts_with_what_to_call_first_and_lists_the_lazy_names():
    """help(labkit) opens with a start-here example and lists explore, Panel and exercise (imported
    on first use)."""
    import pydoc

    text = pydoc.render_doc(labkit, renderer=pydoc.plaintext)
    description = text[text.index("DESCRIPTION") : text.index("PACKAGE CONTENTS")]
    assert description.split()[1:3] == ["Start", "here:"]
    for name in ("explore(", "diagnose(", "cases", "exercise"):
        assert name in description, name
    assert "explore(case" in text and "class Panel" in text  # documented in full, not only named
    assert {"explore", "Panel", "exercise"} <= set(dir(labkit))
