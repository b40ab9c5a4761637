"""Sweeps: a stacked grid gives the same Histories as one Case.run per configuration.

Runs are short (a few epochs) because stacked and single runs sum in another order and chaotic
training then lets them drift apart (a few percent after hundreds of steps); at these lengths
they agree to REL_TOL. The last part checks each case's declaration of which knobs may be stacked
(``knob(..., train=True)``) by building with two values. Nothing here times anything: speed lives in
benchmarks/.
"""

import dataclasses
import itertools
import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from labkit import cases, plots  # noqa: E402
from labkit.device import seed_everything  # noqa: E402
from labkit.functional_optim import Hyper, StackedOptimizer  # noqa: E402
from labkit.knobs import Choice, Flag, IntRange, specs, train_knobs  # noqa: E402
from labkit.runlock import deterministic  # noqa: E402
from labkit.stacked import fit_stacked  # noqa: E402
from labkit.sweep import grid_keys, stacking_pays, sweep  # noqa: E402
from labkit.train import HOT_TRAIN_FIELDS, TrainConfig, hot_knobs  # noqa: E402

REL_TOL = 5e-3  # stacked vs single run, pointwise, on runs of a few epochs (measured: <= 1e-3)
ABS_TOL = 1e-4  # for losses that cross zero (NLL on raw logits)
PER_EPOCH = ("train_loss", "val_loss", "train_metric", "val_metric", "lr")
PER_STEP = ("step_loss", "grad_norm")
EVENTS = ("diverged_step", "diverged_epoch", "stopped_epoch", "best_epoch", "steps_per_epoch")


def close(a, b):
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def assert_same_run(swept, single):
    assert swept.to_dict().keys() == single.to_dict().keys()
    for name in PER_EPOCH + PER_STEP:
        a, b = getattr(swept, name), getattr(single, name)
        assert len(a) == len(b), name
        assert all(close(x, y) for x, y in zip(a, b)), (name, a, b)
    for name in EVENTS:
        assert getattr(swept, name) == getattr(single, name), name
    assert swept.extra.keys() == single.extra.keys()
    assert swept.final.keys() == single.final.keys()
    assert all(close(swept.final[k], single.final[k]) for k in single.final)
    assert (swept.case, swept.knobs, swept.seed, swept.device, swept.metric_name) == (
        single.case,
        single.knobs,
        single.seed,
        single.device,
        single.metric_name,
    )


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def check_against_single_runs(case_name, grid, mode="always", device="cpu"):
    case = cases.get(case_name)
    result = sweep(case, grid, mode=mode, device=device)
    assert list(result) == grid_keys(grid)
    for key, history in result.items():
        knobs = dict(zip(grid, key))
        seed = knobs.pop("seeds", 0)
        assert_same_run(history, case.run(seed=seed, device=device, **knobs))
    return result


@pytest.mark.parametrize("device", DEVICES)
def test_adam_lr_and_eps_grid_matches_single_runs(device):
    # with dropout: the stacked models share each step's mask, as their single runs (one seed) draw
    # the same
    check_against_single_runs(
        "negative-loss",
        {"dropout": [0.3], "epochs": [2], "lr": [1e-3, 3e-3], "eps": [1e-8, 1e-3]},
        device=device,
    )


def test_batch_norm_model_with_momentum_and_weight_decay_matches():
    check_against_single_runs(
        "train-loss-rises", {"epochs": [5], "lr": [0.05, 0.1], "weight_decay": [0.0, 1e-2]}
    )


def test_schedules_including_plateau_are_per_model():
    result = check_against_single_runs(
        "adam-epsilon",
        {"epochs": [60], "eps": [1e-8, 1e-2], "schedule": ["constant", "cosine", "plateau"]},
    )
    assert result[(60, 1e-8, "cosine")].lr[-1] < result[(60, 1e-8, "constant")].lr[-1]


def test_frozen_backbone_and_augmentation_match():
    # the first pretrained build of a process reseeds torch's RNG inside its (cached) pretraining,
    # so it draws other head weights than later builds; warm the cache so every run here sees the
    # same
    cases.get("oscillating-loss").run(device="cpu", model="pretrained", epochs=1)
    check_against_single_runs(
        "oscillating-loss",
        {"model": ["pretrained"], "augment": [True], "epochs": [3], "lr": [1e-2, 3e-2]},
    )


def test_early_stopping_is_per_model():
    result = check_against_single_runs(
        "rising-val-loss", {"n_windows": [200], "epochs": [8], "early_stopping": [0, 2]}
    )
    assert result[(200, 8, 2)].stopped_epoch is not None
    assert result[(200, 8, 0)].num_epochs == 8


def test_divergence_is_recorded_per_model():
    # NLLLoss on raw logits has no floor: SGD momentum at lr=1 overflows within a few epochs,
    # lr=1e-3 does not
    result = check_against_single_runs(
        "negative-loss", {"optimizer": ["momentum"], "epochs": [6], "lr": [1e-3, 1.0]}
    )
    assert result[("momentum", 6, 1.0)].diverged
    assert (
        not result[("momentum", 6, 1e-3)].diverged and result[("momentum", 6, 1e-3)].num_epochs == 6
    )


def test_seeds_are_a_dimension_and_keys_follow_the_grid_order():
    case = cases.get("adam-epsilon")
    result = case.sweep(lr=[1e-2, 3e-2], seeds=[0, 1], epochs=[5], device="cpu")
    assert list(result) == list(itertools.product([1e-2, 3e-2], [0, 1], [5]))
    for (lr, seed, _), history in result.items():
        assert history.seed == seed and history.knobs["lr"] == lr
        assert_same_run(history, case.run(seed=seed, device="cpu", lr=lr, epochs=5))


def test_structural_knobs_run_one_by_one_exactly():
    case = cases.get("negative-loss")
    result = case.sweep(loss=["nll", "cross-entropy"], epochs=[1], device="cpu")
    for (loss, _), history in result.items():
        single = case.run(device="cpu", loss=loss, epochs=1).to_dict()
        swept = history.to_dict()
        swept.pop("wall_time"), single.pop("wall_time")
        assert swept == single


def without_wall_time(history):
    d = history.to_dict()
    d.pop("wall_time")
    return d


def test_auto_runs_compute_bound_models_one_by_one_on_cpu_exactly():
    case = cases.get("negative-loss")
    result = case.sweep(epochs=[1], lr=[1e-3, 3e-3], device="cpu")
    for (_, lr), history in result.items():
        assert without_wall_time(history) == without_wall_time(
            case.run(device="cpu", epochs=1, lr=lr)
        )


@pytest.mark.parametrize("model, stacks", [("pretrained", True), ("small", False)])
def test_auto_stacks_frozen_backbones_on_cpu(model, stacks):
    case = cases.get("oscillating-loss")
    setup = case.build(case.knobs(model=model), seed_everything(0))
    assert stacking_pays(setup, torch.device("cpu")) is stacks


@pytest.mark.parametrize("device", DEVICES)
def test_no_host_reads_per_step(monkeypatch, device):
    """The stacked loop reads from the device once per epoch (plus validation), never once per
    step."""
    reads = []
    for name in ("item", "tolist", "__bool__", "__float__", "__int__"):
        original = getattr(torch.Tensor, name)
        monkeypatch.setattr(
            torch.Tensor,
            name,
            lambda self, *a, _f=original, _n=name: reads.append(_n) or _f(self, *a),
        )
    case = cases.get("negative-loss")  # 16 steps per epoch
    result = sweep(case, {"epochs": [2], "lr": [1e-3, 3e-3]}, device=device, mode="always")
    monkeypatch.undo()
    steps = result[(2, 1e-3)].steps_per_epoch
    assert "tolist" in reads and steps >= 10 and len(reads) < steps, reads


def test_mode_never_is_case_run():
    case = cases.get("adam-epsilon")
    result = sweep(case, {"epochs": [3], "lr": [1e-2, 2e-2]}, mode="never", device="cpu")
    assert result[(3, 2e-2)].step_loss == case.run(device="cpu", epochs=3, lr=2e-2).step_loss


def test_progress_bars_do_not_change_results():
    case = cases.get("adam-epsilon")
    quiet = case.sweep(epochs=[4], lr=[1e-2, 2e-2], device="cpu")
    loud = case.sweep(epochs=[4], lr=[1e-2, 2e-2], device="cpu", progress=True)
    assert [h.step_loss for h in quiet.values()] == [h.step_loss for h in loud.values()]


def test_swept_histories_plot_like_single_runs():
    result = cases.get("adam-epsilon").sweep(epochs=[5], eps=[1e-8, 1e-2], device="cpu")
    fig = plots.compare(list(result.values()), labels=[f"eps={k[1]:g}" for k in result])
    fig.canvas.draw()
    plt.close(fig)


@pytest.mark.parametrize(
    "grid, error, pattern",
    [
        ({}, ValueError, "non-empty dict"),
        ({"lr": []}, ValueError, "non-empty list"),
        ({"lr": 1e-3}, ValueError, "non-empty list"),
        ({"loss": "mse"}, ValueError, "non-empty list"),
        ({"learning_rate": [1e-3]}, ValueError, "unknown knob"),
        ({"lr": [1e-3, 5.0]}, ValueError, "lr=5.0 is out of range"),
    ],
)
def test_bad_grids_are_named(grid, error, pattern):
    with pytest.raises(error, match=pattern):
        sweep(cases.get("adam-epsilon"), grid, device="cpu")


def test_bad_mode_is_named():
    with pytest.raises(ValueError, match="mode='fast' is not allowed"):
        sweep(cases.get("adam-epsilon"), {"lr": [1e-3]}, mode="fast")


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw"])
def test_stacked_optimizer_matches_torch_optim(name):
    """Three models with their own lr, eps and weight decay vs three torch.optim optimizers."""
    torch.manual_seed(0)
    lrs, epss, wds = [1e-2, 3e-2, 1e-1], [1e-8, 1e-3, 1e-1], [0.0, 1e-2, 1e-1]
    start = [torch.randn(3, 4, 5), torch.randn(3, 5)]
    targets = [torch.randn(4, 5), torch.randn(5)]
    stacked = [p.clone() for p in start]

    def f64(v):
        return torch.tensor(v, dtype=torch.float64)

    hyper = Hyper(
        lr=f64(lrs),
        eps=f64(epss),
        weight_decay=f64(wds),
        beta1=f64([0.9] * 3),
        beta2=f64([0.999] * 3),
    )
    opt = StackedOptimizer(name, stacked, hyper)
    singles = []
    for k in range(3):
        params = [p[k].clone().requires_grad_(True) for p in start]
        kwargs = {"lr": lrs[k], "weight_decay": wds[k]}
        if name == "momentum":
            torch_opt = torch.optim.SGD(params, momentum=0.9, **kwargs)
        elif name == "sgd":
            torch_opt = torch.optim.SGD(params, **kwargs)
        else:
            cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
            torch_opt = cls(params, eps=epss[k], **kwargs)
        singles.append((params, torch_opt))
    for _ in range(20):
        # gradient of the squared distance
        opt.step([2 * (p - t) for p, t in zip(stacked, targets)])
        for params, torch_opt in singles:
            torch_opt.zero_grad()
            sum(((p - t) ** 2).sum() for p, t in zip(params, targets)).backward()
            torch_opt.step()
    for k, (params, _) in enumerate(singles):
        for p_stacked, p_single in zip(stacked, params):
            # float32 rounding of the per-model scalars
            torch.testing.assert_close(p_stacked[k], p_single.detach(), rtol=1e-4, atol=1e-5)


def test_on_epoch_hook_runs_every_epoch_and_can_stop_the_sweep():
    from labkit import sweep as sweep_module

    case = cases.get("negative-loss")
    seen = []
    sweep_module.sweep(
        case, {"lr": [1e-3, 3e-3], "epochs": [2]}, on_epoch=lambda: seen.append(1), mode="always"
    )
    assert len(seen) == 2  # stacked: one call per epoch of the stack

    class Stop(Exception):
        pass

    def stop():
        raise Stop

    with pytest.raises(Stop):
        sweep_module.sweep(case, {"lr": [1e-3, 3e-3], "epochs": [2]}, on_epoch=stop, mode="never")


# --- the hot-knob declaration -------------------------------------------------------------------
# sweep stacks the knobs a case declares train=True and named like a HOT TrainConfig field, without
# building each value: these tests build with two values of every train=True knob and check that
# nothing but that field changes (the probing sweep once did on every call).


def other_value(spec, value):
    """Return an allowed value of ``spec`` other than ``value``."""
    if isinstance(spec, Choice):
        return next(o for o in spec.options if o != value)
    if isinstance(spec, Flag):
        return not value
    if isinstance(spec, IntRange):
        return value + 1 if value < spec.high else value - 1
    middle = math.sqrt(spec.low * spec.high) if spec.log else (spec.low + spec.high) / 2
    return middle if middle != value else spec.high


def build(case, knobs, seed=0):
    """Build as Case.run does; return the setup and the RNG states the training loop would start
    from."""
    with deterministic(torch.device("cpu")):
        generator = seed_everything(seed)
        setup = case.build(case.knobs(**knobs), generator)
    return setup, (generator.get_state(), torch.get_rng_state())


def fn_id(fn):
    """Identify a function by its code and closure values (builds return fresh closures)."""
    if fn is None or not hasattr(fn, "__code__"):
        return fn
    return fn.__code__, tuple(c.cell_contents for c in (fn.__closure__ or ()))


def differences(case, base, name, value):
    """Return what changes between builds of ``base`` and ``base`` with ``name=value``,
    TrainConfig.<name> aside."""
    (a, rng_a), (b, rng_b) = build(case, base), build(case, {**base, name: value})
    found = []
    if repr(a.model) != repr(b.model):
        found.append("model structure")
    else:
        sa, sb = a.model.state_dict(), b.model.state_dict()
        if any(not torch.equal(sa[k], sb[k]) for k in sa):
            found.append("initial weights")
    trained = [
        [
            n
            for n, p in s.model.named_parameters()
            if p.requires_grad and (s.params is None or any(p is q for q in s.params))
        ]
        for s in (a, b)
    ]
    if trained[0] != trained[1]:
        found.append("trained parameters")
    for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        x, y = getattr(a.data, field), getattr(b.data, field)
        if (x is None) != (y is None) or (
            x is not None and (x.shape != y.shape or not torch.equal(x, y))
        ):
            found.append(f"data.{field}")
    if a.data.info != b.data.info:
        found.append("data.info")
    la, lb = a.loss_fn.state_dict(), b.loss_fn.state_dict()
    if (
        repr(a.loss_fn) != repr(b.loss_fn)
        or la.keys() != lb.keys()
        or any(not torch.equal(la[k], lb[k]) for k in la)
    ):
        found.append("loss")
    if [(k, fn_id(m)) for k, m in a.metrics.items()] != [
        (k, fn_id(m)) for k, m in b.metrics.items()
    ]:
        found.append("metrics")
    if a.metric_name != b.metric_name:
        found.append("metric_name")
    if fn_id(a.augment) != fn_id(b.augment):
        found.append("augment")
    if any(not torch.equal(x, y) for x, y in zip(rng_a, rng_b)):
        found.append("random state after the build")
    if name in {f.name for f in dataclasses.fields(TrainConfig)}:
        if getattr(b.train, name) != getattr(case.knobs(**{**base, name: value}), name):
            found.append(f"TrainConfig.{name} is not the knob's value")
        if dataclasses.replace(b.train, **{name: getattr(a.train, name)}) != a.train:
            found.append("other TrainConfig fields")
    elif a.train != b.train:
        found.append("TrainConfig")
    return found


def bases(case):
    """The default knobs and every fix: builds take other paths there (e.g. a frozen pretrained
    backbone)."""
    return [{}] + [case.overrides(f) for f in case.fixes]


@pytest.mark.parametrize("name", cases.names())
def test_train_knobs_change_nothing_but_their_config_field(name):
    case = cases.get(name)
    knob_specs = specs(case.defaults)
    declared = train_knobs(case.defaults)
    assert set(hot_knobs(case.defaults)) == set(declared) & set(HOT_TRAIN_FIELDS)
    assert {"lr", "schedule"} <= set(hot_knobs(case.defaults)), "every case stacks lr and schedule"
    for base in bases(case):
        # warms caches (the pretrained backbone) so both builds below find them warm
        build(case, base)
        for knob in declared:
            start = getattr(case.knobs(**base), knob)
            value = other_value(knob_specs[knob][0], start)
            assert differences(case, base, knob, value) == [], (base, knob, value)


@pytest.mark.parametrize(
    "name, knob, changed",
    [
        ("negative-loss", "dropout", "model structure"),
        ("negative-loss", "class_weights", "loss"),
        ("adam-epsilon", "loss", "loss"),
        ("rising-val-loss", "n_windows", "data.x_train"),
        ("rising-val-loss", "normalization", "data.x_train"),
        ("oscillating-loss", "augment", "augment"),
        ("oscillating-loss", "model", "model structure"),
        ("train-loss-rises", "dropout", "model structure"),
    ],
)
def test_the_declaration_check_sees_cold_knobs(name, knob, changed):
    """Knobs the builds read themselves are not declared train=True, and the check above would see
    them."""
    case = cases.get(name)
    assert knob not in train_knobs(case.defaults)
    spec = specs(case.defaults)[knob][0]
    assert changed in differences(case, {}, knob, other_value(spec, getattr(case.defaults, knob)))


def test_the_declaration_check_sees_a_build_that_reads_a_train_knob():
    """A build that also used lr elsewhere (here: to scale its inputs) would break the declaration;
    the check says so."""
    case = cases.get("negative-loss")

    def reads_lr(k, generator):
        setup = case.build(k, generator)
        setup.data.x_train = setup.data.x_train * k.lr
        return setup

    lying = dataclasses.replace(case, build=reads_lr)
    assert differences(lying, {}, "lr", 1e-2) == ["data.x_train"]


def test_the_stacked_loop_records_with_fits_recorder():
    from labkit import stacked, train

    assert stacked.record_epoch is train.record_epoch and stacked.record_test is train.record_test


def test_fit_stacked_refuses_configs_that_differ_in_cold_fields():
    case = cases.get("adam-epsilon")
    setup, _ = build(case, {"epochs": 2})
    cfgs = [setup.train, dataclasses.replace(setup.train, epochs=3)]
    with pytest.raises(
        ValueError, match=r"cfgs\[1\] differs from cfgs\[0\] in epochs; allowed to differ: lr"
    ):
        fit_stacked(
            setup, cfgs, [None, None], device=torch.device("cpu"), generator=torch.Generator()
        )
