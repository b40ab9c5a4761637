"""The stacked training loop: K copies of one model, each with its own hot settings, trained as one.

The trainable weights of the K models live in one (K, P) tensor, one ``vmap``-ed forward runs all
of them on the same batch (frozen weights are shared, so a frozen backbone runs once), plain
autograd of the summed losses gives every model its own gradient, and
``functional_optim.StackedOptimizer`` applies K sets of hyper-parameters in a handful of
whole-tensor operations. The loop mirrors ``train.fit`` step for step and records every epoch with
the same ``train.record_epoch``; it reads from the device once per epoch, like ``fit``.
labkit.sweep decides what to stack.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from .data import Data
from .functional_optim import Hyper, StackedOptimizer
from .history import History
from .schedules import LRSchedule
from .train import HOT_TRAIN_FIELDS, Setup, TrainConfig, batch_sizes, record_epoch, record_test

EVAL_CHUNK = 2048  # validation samples per stacked forward, as in train.evaluate


def fit_stacked(
    setup: Setup,
    cfgs: list[TrainConfig],
    histories: list[History],
    *,
    device: torch.device,
    generator: torch.Generator,
    progress: bool = False,
    on_epoch: Callable[[], None] | None = None,
) -> list[History]:
    """Train K stacked copies of ``setup.model``, model k with ``cfgs[k]``, and fill
    ``histories[k]``.

    ``cfgs`` may differ only in HOT_TRAIN_FIELDS; ``setup.train`` is not used. ``on_epoch`` is
    called after every epoch of the stack; an exception it raises stops the loop.
    """
    if not cfgs or len(cfgs) != len(histories):
        raise ValueError(
            f"cfgs and histories must be non-empty and of equal length, got {len(cfgs)} "
            f"and {len(histories)}"
        )
    cold = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in HOT_TRAIN_FIELDS]
    for i, c in enumerate(cfgs):
        differ = [f for f in cold if getattr(c, f) != getattr(cfgs[0], f)]
        if differ:
            raise ValueError(
                f"cfgs[{i}] differs from cfgs[0] in {', '.join(differ)}; "
                f"allowed to differ: {', '.join(HOT_TRAIN_FIELDS)}"
            )
    if setup.probe is not None or cfgs[0].restore_best:
        raise ValueError(
            "a setup with a probe or restore_best cannot be stacked: run it with train.fit "
            "(labkit.sweep does so by itself)"
        )
    return _loop(setup, cfgs, histories, generator, device, progress, on_epoch)


def _stacked_state(
    setup: Setup, k_models: int, device: torch.device
) -> tuple[torch.Tensor, dict, dict, dict]:
    """Return K copies of the setup's model on ``device``: (flat, trainable, frozen, buffers).

    The trainable weights live in one (K, P) tensor ``flat``, row k holding model k's weights, and
    ``trainable`` maps names to views of it: the optimizer then updates all of them with a handful
    of whole-tensor operations instead of a dozen per weight tensor (what launch-bound GPUs pay
    for).
    """
    params, buffers = stack_module_state([setup.model] * k_models)
    trainable_ids = {
        id(p)
        for p in (setup.params if setup.params is not None else setup.model.parameters())
        if p.requires_grad
    }
    names = [n for n, p in setup.model.named_parameters() if id(p) in trainable_ids]
    flat = torch.cat([params[n].detach().reshape(k_models, -1) for n in names], dim=1).to(device)
    views = _split(flat, [params[n].shape for n in names])
    trainable = {n: v.detach().requires_grad_(True) for n, v in zip(names, views)}
    # one copy: unbatched
    frozen = {n: p.detach()[0].to(device) for n, p in params.items() if n not in trainable}
    return flat, trainable, frozen, {n: b.to(device) for n, b in buffers.items()}


def _split(flat: torch.Tensor, shapes: list[torch.Size]) -> list[torch.Tensor]:
    """Return views of the (K, P) ``flat`` with the given (K, ...) shapes, side by side along P."""
    views, offset = [], 0
    for shape in shapes:
        size = math.prod(shape[1:])
        views.append(flat[:, offset : offset + size].view(shape))
        offset += size
    return views


def _hyper_dtype(device: torch.device) -> torch.dtype:
    """float64 like torch.optim's Python floats; MPS has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


def _hyper(cfgs: list[TrainConfig], lrs: list[float], device: torch.device) -> Hyper:
    def col(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=_hyper_dtype(device), device=device)

    return Hyper(
        lr=col(lrs),
        eps=col([c.eps for c in cfgs]),
        weight_decay=col([float(c.weight_decay) for c in cfgs]),
        beta1=col([c.betas[0] for c in cfgs]),
        beta2=col([c.betas[1] for c in cfgs]),
    )


def _loop(
    first: Setup,
    cfgs: list[TrainConfig],
    histories: list[History],
    generator: torch.Generator,
    device: torch.device,
    progress: bool,
    on_epoch: Callable[[], None] | None,
) -> list[History]:
    """Mirror ``train.fit`` step for step, for K stacked copies of ``first.model`` with per-model
    ``cfgs``."""
    k_models = len(cfgs)
    cfg = cfgs[0]
    model, loss_fn, data = first.model.to(device), first.loss_fn.to(device), first.data.to(device)
    flat, trainable, frozen, buffers = _stacked_state(first, k_models, device)
    params = list(trainable.values())
    main_metric, *other_metrics = list(first.metrics)
    metric = first.metrics[main_metric]
    schedules = [LRSchedule(c.schedule, c.lr, c.epochs) for c in cfgs]
    hyper = _hyper(cfgs, [sch.lr for sch in schedules], device)
    opt = StackedOptimizer(cfg.optimizer, [flat], hyper)

    def one_model(
        p: dict, f: dict, b: dict, xb: torch.Tensor, yb: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = functional_call(model, (p, f, b), (xb,))
        return loss_fn(out, yb), metric(out.detach(), yb) * len(yb)

    def forward(p: dict, f: dict, b: dict, xb: torch.Tensor) -> torch.Tensor:
        return functional_call(model, (p, f, b), (xb,))

    # one mask per step shared by all models: they have one seed, so their single runs draw the same
    # masks frozen weights are the same in every model: unbatched, a frozen backbone runs once for
    # all K
    train_step = vmap(one_model, in_dims=(0, None, 0, None, None), randomness="same")
    predict = vmap(forward, in_dims=(0, None, 0, None), randomness="same")

    n = len(data.x_train)
    bs = n if cfg.batch_size == 0 else min(cfg.batch_size, n)
    sizes = batch_sizes(n, cfg.batch_size)
    steps = len(sizes)
    step_loss = torch.empty(steps, k_models, device=device)
    step_norm = torch.empty(steps, k_models, device=device)
    flat_grad = torch.empty_like(flat)
    grad_views = _split(flat_grad, [p.shape for p in params])
    has_val = data.x_val is not None
    live = list(range(k_models))  # models still recording (not diverged, not early-stopped)
    for h in histories:
        h.steps_per_epoch = steps
    epochs = range(cfg.epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc=f"{histories[0].case} x{k_models} stacked", leave=False)
    start = time.perf_counter()
    model.train()
    for epoch in epochs:
        lrs = [sch.lr for sch in schedules]
        opt.set_lr(torch.tensor(lrs, dtype=_hyper_dtype(device), device=device))
        order = (
            torch.randperm(n, generator=generator).to(device) if cfg.shuffle and steps > 1 else None
        )
        metric_sum = torch.zeros(k_models, device=device)
        for step in range(steps):
            idx = (
                order[step * bs : (step + 1) * bs]
                if order is not None
                else slice(step * bs, (step + 1) * bs)
            )
            xb, yb = data.x_train[idx], data.y_train[idx]
            if first.augment is not None:
                xb = first.augment(xb, generator)
            losses, metric_values = train_step(trainable, frozen, buffers, xb, yb)
            grads = torch.autograd.grad(losses.sum(), params)
            for view, g in zip(grad_views, grads):
                view.copy_(g)  # one strided copy each (weight gradients come out transposed)
            step_norm[step] = flat_grad.norm(dim=1)
            opt.step([flat_grad])
            step_loss[step] = losses.detach()
            metric_sum += metric_values
        # one host sync per epoch, as in train.fit: per model, its step losses, step norms and
        # metric
        records = torch.cat([step_loss.T, step_norm.T, (metric_sum / n)[:, None]], dim=1).tolist()
        val = (
            _evaluate(
                predict,
                trainable,
                frozen,
                buffers,
                model,
                loss_fn,
                first.metrics,
                data.x_val,
                data.y_val,
                live,
            )
            if has_val
            else {}
        )
        ended = []
        for i in list(live):
            r = records[i]
            if record_epoch(
                histories[i],
                epoch,
                lrs[i],
                r[:steps],
                r[steps : 2 * steps],
                r[-1],
                val.get(i),
                main_metric,
                other_metrics,
                cfgs[i].early_stopping,
                sizes,
            ):
                live.remove(i)
                ended.append(i)
            else:
                schedules[i].step(histories[i].train_loss[-1])
        # an early-stopped model trains on in the stack, unrecorded: test it now, as fit does when
        # it stops
        _test(
            predict,
            trainable,
            frozen,
            buffers,
            model,
            loss_fn,
            first.metrics,
            data,
            histories,
            ended,
        )
        if on_epoch is not None:
            on_epoch()
        if not live:
            break
    _test(predict, trainable, frozen, buffers, model, loss_fn, first.metrics, data, histories, live)
    wall = (time.perf_counter() - start) / k_models
    for h in histories:
        h.wall_time = wall
    return histories


def _test(
    predict: Callable,
    trainable: dict,
    frozen: dict,
    buffers: dict,
    model: nn.Module,
    loss_fn: nn.Module,
    metrics: dict,
    data: Data,
    histories: list[History],
    which: list[int],
) -> None:
    """Record the test split's loss and metrics in ``final`` for the models in ``which`` that did
    not diverge."""
    which = [i for i in which if not histories[i].diverged]
    if data.x_test is None or not which:
        return
    test = _evaluate(
        predict,
        trainable,
        frozen,
        buffers,
        model,
        loss_fn,
        metrics,
        data.x_test,
        data.y_test,
        which,
    )
    for i in which:
        record_test(histories[i], test[i])


@torch.no_grad()
def _evaluate(
    predict: Callable,
    trainable: dict,
    frozen: dict,
    buffers: dict,
    model: nn.Module,
    loss_fn: nn.Module,
    metrics: dict,
    x: torch.Tensor,
    y: torch.Tensor,
    which: list[int],
) -> dict[int, tuple[float, dict[str, float]]]:
    """Return {model index: (loss, {metric: value})} for the models in ``which``, in eval mode."""
    if not which:
        return {}
    model.eval()
    out = torch.cat(
        [
            predict(trainable, frozen, buffers, x[i : i + EVAL_CHUNK])
            for i in range(0, len(x), EVAL_CHUNK)
        ],
        dim=1,
    )
    model.train()
    # losses and metrics per model, unbatched: metrics may index with masks, which vmap cannot
    values = torch.stack(
        [
            torch.stack([loss_fn(out[i], y)] + [m(out[i], y) for m in metrics.values()])
            for i in which
        ]
    ).tolist()
    return {i: (v[0], dict(zip(metrics, v[1:]))) for i, v in zip(which, values)}
