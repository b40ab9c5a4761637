"""Lesson 04 (adam-epsilon): Keras's Adam, the thread's clipped loss, the jump-and-plateau and its
mechanism.

The failing run's numeric signature (falls, jumps, stays up at 16.03 x the share stuck wrong), the
fix and the smaller rate run as far are checked on two of seeds 0-29; every one of these claims held
on all of seeds 0-29 with torch 2.13 (the failing run's and eps 1e-2's also with torch 2.14). The
lesson itself runs on seeds 1-4 in tests/test_lesson_seeds.py.
"""

import math

import pytest
import torch

from labkit import cases
from labkit.cases.adam_epsilon import CLIP, blows_up, jump_epoch, line_net, plateau
from labkit.optim import KerasAdam, effective_step, sqrt_v
from labkit.train import TrainConfig, make_loss, make_optimizer

SEEDS = [3, 7]
STUCK_LOSS = 16.03  # the clipped binary_crossentropy of one confidently wrong image, float32


def keras_adam_reference(w, grads, lr, eps, b1=0.9, b2=0.999):
    """The update exactly as the thread's answer (and Keras 2.x) writes it, in float64 Python."""
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr_t * m / (math.sqrt(v) + eps)
    return w


@pytest.mark.parametrize("eps", [1e-7, 1e-2])
def test_keras_adam_is_the_answers_formula(eps):
    grads = [0.3, -1.2, 0.05, 2.0, -0.7, 1e-4]
    p = torch.nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
    opt = KerasAdam([p], lr=0.1, eps=eps)
    for g in grads:
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    assert p.item() == pytest.approx(keras_adam_reference(0.5, grads, 0.1, eps), rel=1e-12)
    # the probe's effective step is the factor that multiplies m in the last update
    t = len(grads)
    lr_t = 0.1 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
    assert effective_step(opt).item() == pytest.approx(
        lr_t / (opt.state[p]["exp_avg_sq"].sqrt().item() + eps)
    )
    assert sqrt_v(opt).item() == pytest.approx(opt.state[p]["exp_avg_sq"].sqrt().item())


def test_keras_adam_differs_from_torch_adam_only_in_where_eps_goes():
    # with eps tiny against sqrt(v) both forms take the same steps
    torch.manual_seed(0)
    a, b = torch.nn.Parameter(torch.randn(5)), None
    b = torch.nn.Parameter(a.detach().clone())
    ka, ta = KerasAdam([a], lr=1e-2, eps=1e-12), torch.optim.Adam([b], lr=1e-2, eps=1e-12)
    for _ in range(10):
        g = torch.randn(5)
        a.grad, b.grad = g.clone(), g.clone()
        ka.step(), ta.step()
    torch.testing.assert_close(a.detach(), b.detach())


def test_make_optimizer_builds_keras_adam_and_bad_values_are_named():
    p = [torch.nn.Parameter(torch.zeros(2))]
    opt = make_optimizer(p, TrainConfig(optimizer="keras-adam", lr=0.04, eps=1e-7))
    assert isinstance(opt, KerasAdam) and opt.param_groups[0]["eps"] == 1e-7
    with pytest.raises(ValueError, match="lr=-1"):
        KerasAdam(p, lr=-1)
    with pytest.raises(ValueError, match="eps=0"):
        KerasAdam(p, eps=0)
    case = cases.get("adam-epsilon")
    with pytest.raises(ValueError, match="eps=0.0 is out of range"):
        case.knobs(eps=0.0)
    with pytest.raises(ValueError, match="optimizer='rmsprop' is not allowed"):
        case.knobs(optimizer="rmsprop")


def test_knob_ranges_cover_the_thread():
    case = cases.get("adam-epsilon")
    # the asker's lr and batch, the answer's default eps
    case.knobs(lr=1e-5, eps=1e-8, batch_size=256, epochs=4680)
    for eps in (1e-7, 1e-4, 1e-3, 1e-2):
        case.knobs(eps=eps)
    case.knobs(lr=1e-7, loss="logcosh", optimizer="sgd")


def test_clipped_loss_gives_a_stuck_image_zero_gradient():
    logits = torch.tensor([[-20.0, 20.0]], requires_grad=True)
    loss = make_loss("keras-bce")(torch.softmax(logits, dim=1), torch.tensor([[1.0, 0.0]]))
    loss.backward()
    assert loss.item() == pytest.approx(STUCK_LOSS, abs=0.01) and torch.all(logits.grad == 0)


def test_line_net_is_the_askers_layers():
    net = line_net()
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["ReLU", "LinearConvs", "MaxPool2d", "Flatten", "Linear", "Softmax"]
    # the asker's two convolutions, nothing between them
    first, second = net[1].first, net[1].second
    assert (first.in_channels, first.out_channels, first.kernel_size) == (1, 8, (8, 8))
    assert (second.in_channels, second.out_channels, second.kernel_size) == (8, 16, (8, 8))
    assert net(torch.zeros(3, 1, 16, 16)).shape == (3, 2)
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 3 and all(torch.all(m.bias == 0) for m in layers)


@pytest.mark.parametrize("seed", SEEDS)
def test_failing_run_falls_jumps_and_plateaus_with_images_stuck_wrong(seed):
    case = cases.get("adam-epsilon")
    h = case.run(seed=seed, device="cpu")
    loss, e = h.train_loss, h.extra
    assert all(case.checks(h).values()), case.checks(h)
    low, jump = loss.index(min(loss)), jump_epoch(loss)
    assert h.train_metric[low] > 0.9 and h.train_metric[-1] < 0.7
    assert e["stuck_wrong"][low] < 0.05 and e["stuck_wrong"][-1] > 0.25
    assert min(loss[-10:]) > 5 * math.log(2)  # stays up; flat by epoch 100 on most seeds, not all
    # the plateau is the clipped loss of the stuck images, nothing else
    assert loss[-1] == pytest.approx(STUCK_LOSS * e["stuck_wrong"][-1], rel=0.05)
    # the answer's premise does not hold: v grows, and neither the median nor the largest effective
    # step explodes
    assert e["sqrt_v_median"][jump - 1] > 1.25 * e["sqrt_v_median"][0]
    assert e["step_median"][jump - 1] < 5 * e["step_median"][0]
    knobs = case.knobs()
    assert max(e["step_max"][:jump]) < 0.01 * knobs.lr / knobs.eps
    assert -math.log(CLIP) < max(e["max_logit_gap"][:jump])


@pytest.mark.parametrize("seed", SEEDS)
def test_smaller_steps_fix_it_and_the_loss_from_logits_recovers(seed):
    case = cases.get("adam-epsilon")
    h = case.run(seed=seed, device="cpu", **case.overrides("smaller learning rate"))
    assert not case.shows_symptom(h)
    assert jump_epoch(h.train_loss) is None and h.train_metric[-1] > 0.95
    # eps 1e-2 is a try, not a fix: healthy on most seeds, not all (and which ones depends on the
    # torch version); what holds on every seed is how it works: it cuts Adam's effective step, as a
    # smaller rate does
    failing = case.run(seed=seed, device="cpu")
    big_eps = case.run(seed=seed, device="cpu", **case.overrides("larger epsilon (the answer)"))
    jump = jump_epoch(failing.train_loss)
    cut = [a / b for a, b in zip(failing.extra["step_median"][:jump], big_eps.extra["step_median"])]
    assert min(cut) > 2 and max(big_eps.extra["sqrt_v_median"][:jump]) < 1e-2
    # from the logits there is no clip: spikes may come, but nothing stays stuck and no plateau
    # forms
    ce = case.run(seed=seed, device="cpu", **case.overrides("loss from the logits (spikes remain)"))
    assert not case.shows_symptom(ce) and plateau(ce.train_loss) is None
    assert ce.extra["stuck_wrong"][-1] < 0.2 and ce.train_metric[-1] > 0.8


def test_a_smaller_rate_run_as_far_does_not_jump():
    # lesson 04's "does the jump need large steps?": lr 0.01 for 450 epochs, lr x epochs as in the
    # failing run
    h = cases.get("adam-epsilon").run(seed=SEEDS[1], device="cpu", lr=0.01, epochs=450)
    assert (
        jump_epoch(h.train_loss) is None
        and h.train_metric[-1] > 0.95
        and h.extra["stuck_wrong"][-1] == 0
    )


@pytest.mark.parametrize("eps", [1e-8, 1e-4, 1e-3])
def test_raising_eps_as_far_as_1e_3_still_blows_up(eps):
    case = cases.get("adam-epsilon")
    loss = case.run(seed=SEEDS[0], device="cpu", eps=eps).train_loss
    # lesson 04's "falls, jumps, stays up"
    assert blows_up(loss)


def test_same_knobs_and_seed_give_the_same_history():
    case = cases.get("adam-epsilon")
    a, b = (case.run(seed=1, device="cpu", epochs=3).to_dict() for _ in range(2))
    a.pop("wall_time"), b.pop("wall_time")
    assert a == b


def test_plateau_and_jump_helpers():
    assert jump_epoch([0.7, 0.1, 0.05, 3.0, 8.0]) == 3
    assert jump_epoch([0.7, 0.6, 3.0]) is None  # never fell below 0.3 x the start first
    assert plateau([0.7] + [8.0] * 10) == pytest.approx(8.0)
    assert plateau([0.7] + [8.0] * 9 + [1.0]) is None
    # blown up: a jump, then the last 10 epochs above 2, flat or not
    assert blows_up([0.7, 0.1] + [3.0, 8.0] * 5) and not blows_up([0.7, 0.1] + [8.0] * 9 + [1.0])
    assert not blows_up([0.7, 0.6] + [8.0] * 10)  # never fell first


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_keras_adam_fused_kernel_and_the_per_tensor_ops_agree(weight_decay, monkeypatch):
    import labkit.optim as optim

    torch.manual_seed(0)
    start = [torch.randn(3, 4, dtype=torch.float64), torch.randn(5, dtype=torch.float64)]
    grads = [[torch.randn_like(w) for w in start] for _ in range(5)]
    finals = []
    for fused in (True, False):
        monkeypatch.setattr(optim, "_fusable", lambda params, grads, fused=fused: fused)
        params = [torch.nn.Parameter(w.clone()) for w in start]
        opt = KerasAdam(params, lr=0.05, eps=1e-3, weight_decay=weight_decay)
        for gs in grads:
            for p, g in zip(params, gs):
                p.grad = g.clone()
            opt.step()
        finals.append([p.detach() for p in params])
    for a, b in zip(*finals):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_keras_adam_uses_the_fused_kernel_only_where_torch_has_it(monkeypatch):
    import labkit.optim as optim

    params = [torch.nn.Parameter(torch.zeros(3))]
    grads = [torch.ones(3)]
    assert optim._fusable(params, grads)  # every torch labkit allows (2.11+) runs it on the CPU
    monkeypatch.delattr(torch, "_fused_adam_")
    assert not optim._fusable(params, grads)  # a torch without it: the per-tensor ops
    monkeypatch.undo()
    assert not optim._fusable(
        [torch.nn.Parameter(torch.zeros(3, dtype=torch.float16))], [torch.ones(3)]
    )
