"""The loop's epoch numbers: a sample-weighted training loss, a case's own per-epoch probe, restored
best weights."""

import copy
import math

import pytest
import torch
from torch import nn

from labkit.data import Data
from labkit.history import History
from labkit.metrics import accuracy
from labkit.train import Setup, TrainConfig, batch_sizes, epoch_loss, fit


def _setup(lr=1e-3, epochs=3, batch_size=8, probe=None, restore_best=False, n=35, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] > 0).long()
    xv = torch.randn(20, 4, generator=g)
    data = Data(x, y, xv, (xv[:, 0] > 0).long(), x_test=xv, y_test=(xv[:, 0] > 0).long())
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, restore_best=restore_best)
    return Setup(
        model, nn.CrossEntropyLoss(), data, cfg, {"accuracy": accuracy}, "accuracy", probe=probe
    )


def _fit(setup, seed=0):
    return fit(
        setup,
        history=History(),
        device=torch.device("cpu"),
        generator=torch.Generator().manual_seed(seed),
    )


def test_batch_sizes_cover_every_sample_once():
    assert batch_sizes(35, 8) == [8, 8, 8, 8, 3]
    assert batch_sizes(35, 0) == [35]
    assert batch_sizes(35, 100) == [35]


def test_epoch_loss_weights_each_step_by_its_samples():
    assert epoch_loss([1.0, 1.0, 1.0, 1.0, 10.0], [8, 8, 8, 8, 3]) == pytest.approx((32 + 30) / 35)
    # equal batches: the plain mean, exactly
    assert epoch_loss([0.1, 0.3], [5, 5]) == (0.1 + 0.3) / 2
    with pytest.raises(ValueError, match="batch_sizes"):
        epoch_loss([1.0, 2.0, 3.0], [8, 3])


def test_a_frozen_model_has_a_constant_epoch_loss_despite_a_short_last_batch():
    """lr=1e-30 freezes the weights; the shuffled 3-sample last batch must not make the epoch loss
    swing."""
    h = _fit(_setup(lr=1e-30, epochs=6))
    spread = max(h.train_loss) - min(h.train_loss)
    assert spread < 1e-6, h.train_loss
    steps = h.step_loss  # ... while the unweighted mean of the step losses does swing
    means = [sum(steps[i : i + 5]) / 5 for i in range(0, len(steps), 5)]
    assert max(means) - min(means) > 1e-3


def test_probe_is_recorded_every_epoch():
    calls = []

    def probe(model, opt):
        calls.append(opt.param_groups[0]["lr"])
        return {"weight_norm": float(sum(p.norm() ** 2 for p in model.parameters()) ** 0.5)}

    h = _fit(_setup(probe=probe, epochs=4))
    assert len(h.extra["weight_norm"]) == h.num_epochs == 4 == len(calls)
    assert all(math.isfinite(v) and v > 0 for v in h.extra["weight_norm"])
    with pytest.raises(TypeError, match="probe"):
        Setup(*list(_setup().__dict__.values())[:6], probe="not a function")


def test_restore_best_puts_back_the_best_validation_epochs_weights():
    # a too-high learning rate makes validation loss wander; restore_best must test the best epoch's
    # weights
    h = _fit(_setup(lr=0.5, epochs=12, restore_best=True))
    assert h.best_epoch is not None and h.best_epoch < h.num_epochs - 1, h.val_loss
    assert h.restored_epoch == h.best_epoch
    # validation and test are the same split here: the test loss is the best epoch's validation loss
    assert h.final["test_loss"] == pytest.approx(h.val_loss[h.best_epoch], rel=1e-6)
    plain = _fit(_setup(lr=0.5, epochs=12))
    assert plain.restored_epoch is None and plain.final["test_loss"] == pytest.approx(
        plain.val_loss[-1], rel=1e-6
    )
    assert "restored from epoch" in repr(h)
    with pytest.raises(TypeError, match="restore_best"):
        TrainConfig(restore_best=1)


def test_keras_bce_matches_bce_inside_the_clip_and_freezes_outside():
    from labkit.train import make_loss

    loss = make_loss("keras-bce")
    p = torch.tensor([[0.3], [0.9]], requires_grad=True)
    y = torch.tensor([[0.0], [1.0]])
    assert loss(p, y).item() == pytest.approx(nn.BCELoss()(p, y).item(), rel=1e-6)
    wrong = torch.tensor([[1.0 - 1e-9], [0.0]], requires_grad=True)  # saturated on the wrong side
    value = loss(wrong, y)
    value.backward()
    # float32 rounds 1 - 1e-7 to 1 - 1.19e-7: a wrong output costs 16.12 (p clipped at 1e-7) or
    # 15.94 (at 1 - 1e-7)
    upper = 1 - torch.tensor(1 - 1e-7, dtype=torch.float32).item()
    # Keras's 16.03
    assert value.item() == pytest.approx((-math.log(1e-7) - math.log(upper)) / 2, rel=1e-5)
    assert wrong.grad.abs().max().item() == 0.0  # exactly no gradient: it can never recover
    with pytest.raises(ValueError, match="clip"):
        type(loss)(clip=0.7)


def test_the_recorded_gradient_norm_is_the_norm_of_all_gradients_together():
    # train._grad_norm uses torch's private _foreach_norm (one call for every tensor): it must be
    # the public norm of all the gradients laid end to end, a parameter without a gradient skipped
    from labkit.train import _grad_norm

    torch.manual_seed(0)
    params = [
        nn.Parameter(torch.randn(3, 4)),
        nn.Parameter(torch.randn(5)),
        nn.Parameter(torch.randn(2)),
    ]
    for p in params[:2]:
        p.grad = torch.randn_like(p)
    want = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in params[:2]]))
    torch.testing.assert_close(_grad_norm(params), want)
    assert _grad_norm([nn.Parameter(torch.zeros(2))]).item() == 0.0  # no gradient yet
    # the loop records it: the first step's norm is the full-batch gradient's norm at the start
    setup = _setup(batch_size=35)
    start = copy.deepcopy(setup.model)
    setup.loss_fn(start(setup.data.x_train), setup.data.y_train).backward()
    want = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in start.parameters()]))
    assert _fit(setup).grad_norm[0] == pytest.approx(want.item(), rel=1e-5)
