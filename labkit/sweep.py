"""Train a whole knob grid at once: stacked weights + ``vmap`` + a hand-written optimizer.

``sweep(case, {"lr": [...], "eps": [...]})`` builds every combination of the grid, groups the
ones that differ only in *hot* settings (lr, eps, weight decay, betas, schedule, early stopping)
and trains each group as one stacked model: the trainable weights of K models live in one (K, P)
tensor, one ``vmap``-ed forward runs all of them on the same batch (frozen weights are shared,
so a frozen backbone runs once), plain autograd of the summed losses gives every model its own
gradient, and ``functional_optim.StackedOptimizer`` applies K sets of hyper-parameters in a
handful of whole-tensor operations. Everything else is *cold* and runs one configuration at a
time, exactly as ``Case.run``:

- the model's structure and everything inside its modules (model choice, dropout rate: a
  module's constant that also changes the masks drawn), the loss (its type or class weights), the
  data (split, normalization, size), batch size, epochs, optimizer, augmentation;
- seeds: in labkit the seed also draws the data and the shuffling order, so each seed is its own
  group (the configurations of one seed are still stacked);
- groups of one configuration, and models on devices where stacking was measured not to pay
  (``VECTORIZE``, ``stacking_pays``; figures in benchmarks/RESULTS.md).

Each swept History has exactly the fields of ``Case.run``'s and matches the single run with the
same knobs and seed up to float rounding (batched kernels sum in another order; chaotic training
then lets runs drift apart, by a few percent after hundreds of steps). ``wall_time`` of a stacked
run is its group's loop time divided by the group's size. The loop reads from the device once
per epoch, like ``train.fit``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from .device import pick_device, seed_everything
from .functional_optim import Hyper, StackedOptimizer
from .history import History
from .schedules import LRSchedule
from .train import Data, fit

if TYPE_CHECKING:
    from .cases.base import Case, Setup

SEEDS = "seeds"  # grid key that sweeps the seed as one more dimension
MODES = ("auto", "always", "never")
HOT_TRAIN_FIELDS = ("lr", "eps", "betas", "weight_decay", "schedule", "early_stopping")  # per-model in a stack
# Where "auto" stacks (measured with benchmarks/sweep_speed.py, figures in benchmarks/RESULTS.md):
# "all" on CUDA, where labkit's small models are launch-bound; "frozen" on the CPU: only models
# with frozen weights, which a stack computes once for all K (5-6x); the others are compute-bound
# there and stacking measured 0.4x-1.7x (vmap turns K convolutions into one grouped convolution,
# slow on CPU). MPS: untested, sequential.
VECTORIZE = {"cpu": "frozen", "cuda": "all", "mps": "none"}
MIN_STACK = 2  # groups smaller than this run with Case.run
EVAL_CHUNK = 2048  # validation samples per stacked forward, as in train.evaluate

Key = tuple


def grid_keys(grid: dict[str, Sequence[Any]]) -> list[Key]:
    """Return the keys ``sweep`` will use: tuples of values in the grid's order, last knob fastest."""
    return list(itertools.product(*grid.values()))


def sweep(case: Case, grid: dict[str, Sequence[Any]], seed: int = 0, device: str | torch.device | None = None,
          progress: bool = False, mode: str = "auto", on_epoch: Callable[[], None] | None = None) -> dict[Key, History]:
    """Train every combination of ``grid`` and return ``{key: History}``.

    Parameters
    ----------
    grid:
        Knob name -> list of values (and optionally ``"seeds"`` -> list of seeds). Keys of the
        result are tuples of the values in the grid's order (``grid_keys``), e.g.
        ``sweep(case, {"lr": [1e-3, 1e-2], "eps": [1e-8]})`` -> ``{(1e-3, 1e-8): ..., (1e-2, 1e-8): ...}``.
    seed:
        The seed of every run when the grid has no ``"seeds"``.
    device:
        None picks cuda, then mps, then cpu.
    progress:
        Show a tqdm bar over configurations and one over each stacked group's epochs.
    mode:
        "auto" stacks where it was measured to pay off (``VECTORIZE``), "always" stacks every group
        of two or more, "never" runs everything one by one with ``Case.run``.
    on_epoch:
        Called after every epoch of every run, stacked or not; an exception it raises stops the sweep
        (panels use it to give way to the learner's own run).
    """
    from .cases.base import exclusive

    with exclusive():  # one run at a time per process: runs share torch's global RNG
        return _sweep(case, grid, seed, device, progress, mode, on_epoch)


def _sweep(case: Case, grid: dict[str, Sequence[Any]], seed: int, device: str | torch.device | None,
           progress: bool, mode: str, on_epoch: Callable[[], None] | None) -> dict[Key, History]:
    if not isinstance(grid, dict) or not grid:
        raise ValueError("grid must be a non-empty dict of knob -> list of values, e.g. {'lr': [1e-3, 1e-2]}")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not allowed; allowed: {', '.join(map(repr, MODES))}")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
    knob_grid = {n: list(v) for n, v in grid.items() if n != SEEDS}
    for values in itertools.product(*knob_grid.values()):  # names a bad knob or value before any training
        case.knobs(**dict(zip(knob_grid, values)))
    dev = pick_device(device)
    keys = grid_keys(grid)
    seeds = list(dict.fromkeys(grid.get(SEEDS, [seed])))
    stack = mode == "always" or (mode == "auto" and VECTORIZE.get(dev.type, "none") != "none")
    results: dict[tuple, History] = {}  # (seed, knob values) -> History
    bar = _bar(progress, len(keys), f"{case.name} sweep")
    hot: dict[str, dict[Any, dict[str, Any]]] = {}
    kept: _Built | None = None  # the grid's first configuration, built to decide; trained without building again
    if stack:
        kept = _Built.make(case, {n: v[0] for n, v in knob_grid.items()}, seeds[0], dev)
        if mode == "always" or stacking_pays(kept.setup, dev):
            hot = _hot_knobs(case, knob_grid, kept, seeds[0], dev)
    for s in seeds:
        cold = [n for n in knob_grid if n not in hot]
        hot_names = [n for n in knob_grid if n in hot]
        for cold_values in dict.fromkeys(itertools.product(*(knob_grid[n] for n in cold))):
            members = [dict(zip(cold, cold_values)) | dict(zip(hot_names, h))
                       for h in dict.fromkeys(itertools.product(*(knob_grid[n] for n in hot_names)))]
            built = kept if kept is not None and kept.knobs == members[0] and kept.seed == s else None
            kept = None  # any other build or run reseeds the global RNGs the kept build saved
            if len(members) >= MIN_STACK:
                changes = [{f: v for n in hot_names for f, v in hot[n][m[n]].items()} for m in members]
                for m, h in zip(members, _fit_stacked(case, members, changes, s, dev, progress, built, on_epoch)):
                    results[(s, tuple(m[n] for n in knob_grid))] = h
            else:
                m = members[0]
                results[(s, tuple(m[n] for n in knob_grid))] = (
                    _run_built(case, built, dev, progress, on_epoch) if built is not None
                    else case.run(seed=s, device=dev, progress=progress,
                                  on_epoch=None if on_epoch is None else lambda _h: on_epoch(), **m))
            bar.update(len(members))
    bar.close()
    out = {}
    for key in keys:
        values = dict(zip(grid, key))
        out[key] = results[(int(values.pop(SEEDS, seed)), tuple(values[n] for n in knob_grid))]
    return out


class _NoBar:
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


def _bar(progress: bool, total: int, desc: str) -> Any:
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


# --- which knobs are hot -----------------------------------------------------------------------

def _build(case: Case, knobs: dict[str, Any], seed: int, device: torch.device) -> tuple[Setup, torch.Generator]:
    """Build like Case.run does; the returned generator (and torch's global RNG) are left as fit would find them."""
    from .cases.base import _deterministic

    with _deterministic(device):
        generator = seed_everything(seed)
        return case.build(case.knobs(**knobs), generator), generator


@dataclasses.dataclass
class _Built:
    """A build kept for training later: the setup, its generator and the global RNG states fit would find."""

    knobs: dict[str, Any]
    seed: int
    setup: Setup
    generator: torch.Generator
    rng: tuple

    @classmethod
    def make(cls, case: Case, knobs: dict[str, Any], seed: int, device: torch.device) -> _Built:
        setup, generator = _build(case, knobs, seed, device)
        return cls(knobs, seed, setup, generator, (torch.get_rng_state(), np.random.get_state(), random.getstate()))

    def restore(self) -> tuple[Setup, torch.Generator]:
        """Put the global RNGs back as they were after this build (other builds reseeded them since)."""
        cpu, numpy_state, python_state = self.rng
        torch.set_rng_state(cpu)
        np.random.set_state(numpy_state)
        random.setstate(python_state)
        return self.setup, self.generator


def stacking_pays(setup: Setup, device: torch.device) -> bool:
    """Return True when "auto" stacks configurations of ``setup`` on ``device`` (see VECTORIZE)."""
    policy = VECTORIZE.get(device.type, "none")
    if policy != "frozen":
        return policy == "all"
    trainable = {id(p) for p in (setup.params if setup.params is not None else setup.model.parameters())
                 if p.requires_grad}
    return any(id(p) not in trainable for p in setup.model.parameters())


def _run_built(case: Case, built: _Built, device: torch.device, progress: bool,
               on_epoch: Callable[[], None] | None = None) -> History:
    """Finish ``Case.run`` from a kept build (the same History, without building again)."""
    from .cases.base import _deterministic

    with _deterministic(device):
        setup, generator = built.restore()
        k = case.knobs(**built.knobs)
        history = case.new_history(k, built.seed, device, setup)
        return fit(setup.model, setup.loss_fn, setup.data, setup.train, metrics=setup.metrics, history=history,
                   device=device, generator=generator, augment=setup.augment, params=setup.params,
                   progress=progress, on_epoch=None if on_epoch is None else lambda _h: on_epoch())


def _hot_knobs(case: Case, knob_grid: dict[str, list[Any]], kept: _Built, seed: int,
               device: torch.device) -> dict[str, dict[Any, dict[str, Any]]]:
    """Return {knob: {value: TrainConfig fields it sets}} for the knobs whose values change nothing but HOT
    fields; ``kept`` is the grid's first configuration, built.

    Builds make the data and can cost more than a short run, so few are made, next to the grid's
    first configuration: a knob named like a HOT field (``lr``) is probed with one other value and,
    when that value lands in the field and nothing else changes, is taken to map every value
    straight to the field; other knobs are probed with every value until one changes the model, the
    data or a cold setting. A knob found hot is taken to be hot for every value of the other knobs
    (labkit's knobs each map to their own fields). Two knobs setting the same field make the later one cold.
    """
    base, first = kept.knobs, kept.setup
    sig, state = _signature(first), first.model.state_dict()

    def probe(name: str, value: Any) -> dict[str, Any] | None:
        """Return the HOT fields ``name=value`` changes, or None when it changes anything else."""
        other, _ = _build(case, {**base, name: value}, seed, device)
        other_state = other.model.state_dict()
        if (_signature(other) != sig or not _same_data(first.data, other.data)
                or any(not torch.equal(state[k], other_state[k]) for k in state)):
            return None
        return {f: getattr(other.train, f) for f in HOT_TRAIN_FIELDS
                if getattr(other.train, f) != getattr(first.train, f)}

    hot: dict[str, dict[Any, dict[str, Any]]] = {}
    claimed: set[str] = set()
    for name, values in knob_grid.items():
        distinct = list(dict.fromkeys(values))
        changes: dict[Any, dict[str, Any]] | None = {distinct[0]: {}}
        if len(distinct) > 1:
            last = probe(name, distinct[-1])
            if last is None:
                continue
            if (name in HOT_TRAIN_FIELDS and last == {name: distinct[-1]}
                    and getattr(first.train, name) == distinct[0]):
                changes = {v: {name: v} for v in distinct}
            else:
                changes[distinct[-1]] = last
                for value in distinct[1:-1]:
                    found = probe(name, value)
                    if found is None:
                        changes = None
                        break
                    changes[value] = found
        if changes is None:
            continue
        fields = {f for c in changes.values() for f in c}
        if not fields & claimed:
            hot[name] = changes
            claimed |= fields
    return hot


def _signature(setup: Setup) -> tuple:
    """Return what must be equal for two setups to train as one stack (data and weights are compared separately)."""
    model = setup.model
    trainable = {id(p) for p in (setup.params if setup.params is not None else model.parameters())
                 if p.requires_grad}
    cfg = {k: v for k, v in dataclasses.asdict(setup.train).items() if k not in HOT_TRAIN_FIELDS}
    weight = getattr(setup.loss_fn, "weight", None)
    return (repr(model), tuple((n, tuple(p.shape), id(p) in trainable) for n, p in model.named_parameters()),
            tuple((n, tuple(b.shape)) for n, b in model.named_buffers()),
            repr(setup.loss_fn), None if weight is None else tuple(weight.tolist()),
            tuple(cfg.items()), tuple(setup.metrics), setup.metric_name, _fn_id(setup.augment),
            tuple(_fn_id(m) for m in setup.metrics.values()))


def _fn_id(fn: Callable | None) -> Any:
    """Identify a function by its code and closure values (builders return fresh closures)."""
    if fn is None:
        return None
    code = getattr(fn, "__code__", None)
    cells = tuple(c.cell_contents for c in (getattr(fn, "__closure__", None) or ()))
    return (code, cells) if code is not None else id(fn)


def _same_data(a: Data, b: Data) -> bool:
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        x, y = getattr(a, name), getattr(b, name)
        if (x is None) != (y is None) or (x is not None and (x.shape != y.shape or not torch.equal(x, y))):
            return False
    return True


# --- the stacked loop --------------------------------------------------------------------------

def _fit_stacked(case: Case, knob_sets: list[dict[str, Any]], changes: list[dict[str, Any]], seed: int,
                 device: torch.device, progress: bool, built: _Built | None = None,
                 on_epoch: Callable[[], None] | None = None) -> list[History]:
    """Train the K configurations of one group (equal but for HOT fields) as one stacked model.

    ``built`` is the group's first configuration already built (by ``_hot_knobs``), else None.
    """
    from .cases.base import _deterministic

    first, generator = built.restore() if built is not None else _build(case, knob_sets[0], seed, device)
    cfgs = [dataclasses.replace(first.train, **c) for c in changes]
    with _deterministic(device):
        histories = [case.new_history(case.knobs(**k), seed, device, first) for k in knob_sets]
        return _loop(first, cfgs, histories, generator, device, progress, on_epoch)


def _stacked_state(setup: Setup, k_models: int, device: torch.device) -> tuple[torch.Tensor, dict, dict, dict]:
    """Return K copies of the setup's model on ``device``: (flat, trainable, frozen, buffers).

    The trainable weights live in one (K, P) tensor ``flat``, row k holding model k's weights, and
    ``trainable`` maps names to views of it: the optimizer then updates all of them with a handful
    of whole-tensor operations instead of a dozen per weight tensor (what launch-bound GPUs pay for).
    """
    params, buffers = stack_module_state([setup.model] * k_models)
    trainable_ids = {id(p) for p in (setup.params if setup.params is not None else setup.model.parameters())
                     if p.requires_grad}
    names = [n for n, p in setup.model.named_parameters() if id(p) in trainable_ids]
    flat = torch.cat([params[n].detach().reshape(k_models, -1) for n in names], dim=1).to(device)
    views = _split(flat, [params[n].shape for n in names])
    trainable = {n: v.detach().requires_grad_(True) for n, v in zip(names, views)}
    frozen = {n: p.detach()[0].to(device) for n, p in params.items() if n not in trainable}  # one copy: unbatched
    return flat, trainable, frozen, {n: b.to(device) for n, b in buffers.items()}


def _split(flat: torch.Tensor, shapes: list[torch.Size]) -> list[torch.Tensor]:
    """Return views of the (K, P) ``flat`` with the given (K, ...) shapes, side by side along P."""
    views, offset = [], 0
    for shape in shapes:
        size = math.prod(shape[1:])
        views.append(flat[:, offset:offset + size].view(shape))
        offset += size
    return views


def _hyper_dtype(device: torch.device) -> torch.dtype:
    """float64 like torch.optim's Python floats; MPS has no float64."""
    return torch.float32 if device.type == "mps" else torch.float64


def _hyper(cfgs: list, lrs: list[float], device: torch.device) -> Hyper:
    def col(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=_hyper_dtype(device), device=device)

    return Hyper(lr=col(lrs), eps=col([c.eps for c in cfgs]), weight_decay=col([float(c.weight_decay) for c in cfgs]),
                 beta1=col([c.betas[0] for c in cfgs]), beta2=col([c.betas[1] for c in cfgs]))


def _loop(first: Setup, cfgs: list, histories: list[History], generator: torch.Generator,
          device: torch.device, progress: bool, on_epoch: Callable[[], None] | None = None) -> list[History]:
    """Mirror ``train.fit`` step for step, for K stacked copies of ``first.model`` with per-model ``cfgs``."""
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

    def one_model(p: dict, f: dict, b: dict, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = functional_call(model, (p, f, b), (xb,))
        return loss_fn(out, yb), metric(out.detach(), yb) * len(yb)

    def forward(p: dict, f: dict, b: dict, xb: torch.Tensor) -> torch.Tensor:
        return functional_call(model, (p, f, b), (xb,))

    # one mask per step shared by all models: they have one seed, so their single runs draw the same masks
    # frozen weights are the same in every model: unbatched, a frozen backbone runs once for all K
    train_step = vmap(one_model, in_dims=(0, None, 0, None, None), randomness="same")
    predict = vmap(forward, in_dims=(0, None, 0, None), randomness="same")

    n = len(data.x_train)
    bs = n if cfg.batch_size == 0 else min(cfg.batch_size, n)
    steps = math.ceil(n / bs)
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
        order = torch.randperm(n, generator=generator).to(device) if cfg.shuffle and steps > 1 else None
        metric_sum = torch.zeros(k_models, device=device)
        for step in range(steps):
            idx = order[step * bs:(step + 1) * bs] if order is not None else slice(step * bs, (step + 1) * bs)
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
        # one host sync per epoch, as in train.fit: per model, its step losses, step norms and metric
        records = torch.cat([step_loss.T, step_norm.T, (metric_sum / n)[:, None]], dim=1).tolist()
        val = _evaluate(predict, trainable, frozen, buffers, model, loss_fn, first.metrics,
                        data.x_val, data.y_val, live) if has_val else {}
        ended = []
        for i in list(live):
            h, r = histories[i], records[i]
            h.lr.append(lrs[i])
            if _record_epoch(h, epoch, steps, r[:steps], r[steps:2 * steps], r[-1], val.get(i), main_metric,
                             other_metrics, cfgs[i].early_stopping):
                live.remove(i)
                ended.append(i)
            else:
                schedules[i].step(h.train_loss[-1])
        # an early-stopped model trains on in the stack, unrecorded: test it now, as fit does when it stops
        _test(predict, trainable, frozen, buffers, model, loss_fn, first.metrics, data, histories, ended)
        if not live:
            break
        if on_epoch is not None:
            on_epoch()
    _test(predict, trainable, frozen, buffers, model, loss_fn, first.metrics, data, histories, live)
    wall = (time.perf_counter() - start) / k_models
    for h in histories:
        h.wall_time = wall
    return histories


def _record_epoch(h: History, epoch: int, steps: int, losses: list[float], norms: list[float], metric: float,
                  val: tuple[float, dict[str, float]] | None, main_metric: str, other_metrics: list[str],
                  early_stopping: int) -> bool:
    """Append one epoch to ``h`` exactly as ``train.fit`` does; return True when this run ends here."""
    bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
    if bad:
        h.step_loss += losses[:bad[0] + 1]
        h.grad_norm += norms[:bad[0] + 1]
        h.diverged_step, h.diverged_epoch = epoch * steps + bad[0], epoch
        h.train_loss.append(math.nan)
        h.train_metric.append(math.nan)
        if val is not None:
            h.val_loss.append(math.nan)
            h.val_metric.append(math.nan)
        return True
    h.step_loss += losses
    h.grad_norm += norms
    h.train_loss.append(sum(losses) / steps)
    h.train_metric.append(metric)
    if val is not None:
        val_loss, values = val
        h.val_loss.append(val_loss)
        h.val_metric.append(values[main_metric])
        for name in other_metrics:
            h.extra.setdefault(f"val_{name}", []).append(values[name])
        if not math.isfinite(val_loss):
            h.diverged_step, h.diverged_epoch = (epoch + 1) * steps - 1, epoch
            return True
        if h.best_epoch is None or val_loss < h.val_loss[h.best_epoch]:
            h.best_epoch = epoch
        if early_stopping and epoch - h.best_epoch >= early_stopping:
            h.stopped_epoch = epoch
            return True
    return False


def _test(predict: Callable, trainable: dict, frozen: dict, buffers: dict, model: nn.Module, loss_fn: nn.Module,
          metrics: dict, data: Data, histories: list[History], which: list[int]) -> None:
    """Record the test split's loss and metrics in ``final`` for the models in ``which`` that did not diverge."""
    which = [i for i in which if not histories[i].diverged]
    if data.x_test is None or not which:
        return
    test = _evaluate(predict, trainable, frozen, buffers, model, loss_fn, metrics, data.x_test, data.y_test, which)
    for i in which:
        test_loss, values = test[i]
        histories[i].final["test_loss"] = test_loss
        histories[i].final.update({f"test_{k}": v for k, v in values.items()})


@torch.no_grad()
def _evaluate(predict: Callable, trainable: dict, frozen: dict, buffers: dict, model: nn.Module,
              loss_fn: nn.Module, metrics: dict, x: torch.Tensor, y: torch.Tensor,
              which: list[int]) -> dict[int, tuple[float, dict[str, float]]]:
    """Return {model index: (loss, {metric: value})} for the models in ``which``, in eval mode."""
    if not which:
        return {}
    model.eval()
    out = torch.cat([predict(trainable, frozen, buffers, x[i:i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)],
                    dim=1)
    model.train()
    # losses and metrics per model, unbatched: metrics may index with masks, which vmap cannot
    values = torch.stack([torch.stack([loss_fn(out[i], y)] + [m(out[i], y) for m in metrics.values()])
                          for i in which]).tolist()
    return {i: (v[0], dict(zip(metrics, v[1:]))) for i, v in zip(which, values)}
