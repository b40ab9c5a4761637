"""The training loop: a ``Setup`` on one device in, a History out, nothing drawn or printed.

``fit`` is the one training loop of labkit (every case's run, panel move and sweep);
``record_epoch`` is its per-epoch bookkeeping.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .data import Data
from .history import History
from .knobs import Choice, is_int, is_number, must_be, require
from .optim import KerasAdam, check_adam
from .schedules import SCHEDULES, LRSchedule

# keras-adam: labkit.optim.KerasAdam; adadelta: Keras defaults (rho 0.95)
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "keras-adam", "adadelta")
LOSSES = ("mse", "bce", "bce-logits", "keras-bce", "nll", "cross-entropy", "logcosh")

# Keras's epsilon in binary_crossentropy: outputs are clipped to [KERAS_CLIP, 1 - KERAS_CLIP]
KERAS_CLIP = 1e-7

Metric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
EpochHook = Callable[[History], None]
# (model, optimizer) -> {name: value}: a case's own per-epoch measurement, recorded in History.extra
Probe = Callable[[nn.Module, torch.optim.Optimizer], dict[str, float]]


@dataclass(frozen=True)
class TrainConfig:
    """How to train; cases build it from their knobs with ``from_knobs``. Every field is checked."""

    epochs: int = 10  # passes over the training split
    batch_size: int = 64  # samples per step; 0 means the whole training split (full batch)
    optimizer: str = "adam"  # one of OPTIMIZERS; "momentum" is SGD with momentum 0.9
    lr: float = 1e-3  # base learning rate, written into param_groups every epoch
    eps: float = 1e-8  # Adam epsilon (ignored by SGD)
    betas: tuple[float, float] = (0.9, 0.999)  # Adam moment decay rates
    weight_decay: float = 0.0  # L2 penalty (decoupled for adamw)
    schedule: str = "constant"  # one of schedules.SCHEDULES
    early_stopping: int = 0  # patience in epochs on validation loss; 0 switches it off
    shuffle: bool = True  # reshuffle the training split every epoch
    # at the end, put back the weights of the best validation epoch (Keras's restore_best_weights)
    restore_best: bool = False

    def __post_init__(self) -> None:
        for name, low in (("epochs", 1), ("batch_size", 0), ("early_stopping", 0)):
            value = getattr(self, name)
            if not is_int(value):
                raise TypeError(f"{name} must be an int >= {low}, got {value!r}")
            require(value >= low, name, value, f"{name} >= {low}")
        for name in ("lr", "eps"):
            value = getattr(self, name)
            if not is_number(value):
                raise TypeError(f"{name} must be a positive number, got {value!r}")
            require(0 < value < math.inf, name, value, f"0 < {name} < inf")
        if not isinstance(self.restore_best, bool):
            raise TypeError(f"restore_best must be True or False, got {self.restore_best!r}")
        check_adam(self.weight_decay, self.betas)
        Choice(OPTIMIZERS).check("optimizer", self.optimizer)
        Choice(SCHEDULES).check("schedule", self.schedule)

    @classmethod
    def from_knobs(cls, knobs: Any, **fixed: Any) -> TrainConfig:
        """Return the config of a case's ``knobs`` (every knob named like a field) plus ``fixed``
        fields, e.g. ``from_knobs(k, batch_size=0)``; a field given both ways is an error."""
        if not dataclasses.is_dataclass(knobs) or isinstance(knobs, type):
            raise TypeError(
                "knobs must be a knob dataclass instance (a case's Knobs), got "
                f"{type(knobs).__name__}"
            )
        names = [f.name for f in dataclasses.fields(knobs) if f.name in _FIELDS]
        unknown = sorted(set(fixed) - set(_FIELDS))
        if unknown:
            raise ValueError(
                f"fixed field(s) {', '.join(map(repr, unknown))} are not TrainConfig fields; "
                f"allowed: {', '.join(_FIELDS)}"
            )
        clash = [n for n in fixed if n in names]
        if clash:
            raise ValueError(
                f"{', '.join(map(repr, clash))} is both a knob of {type(knobs).__name__} and a "
                "fixed field; allowed: fixed fields that are not knobs "
                f"({', '.join(n for n in _FIELDS if n not in names)})"
            )
        return cls(**{n: getattr(knobs, n) for n in names}, **fixed)


_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))


@dataclass
class Setup:
    """Everything one run needs, built from knobs by a case's ``build`` function."""

    model: nn.Module
    loss_fn: nn.Module
    data: Data
    train: TrainConfig
    metrics: dict[str, Metric]  # first one is the main metric
    metric_name: str  # how the main metric is shown ("accuracy", "sign accuracy")
    augment: Augment | None = None
    params: list[nn.Parameter] | None = None  # None: train every parameter
    probe: Probe | None = None  # measured after every epoch into history.extra

    def __post_init__(self) -> None:
        must_be("model", self.model, nn.Module, "a torch.nn.Module")
        must_be("loss_fn", self.loss_fn, nn.Module, "a torch.nn.Module (e.g. make_loss('mse'))")
        must_be("data", self.data, Data, "a labkit.data.Data")
        must_be("train", self.train, TrainConfig, "a labkit.train.TrainConfig")
        what = "None or a function(model, optimizer) -> dict"
        must_be("probe", self.probe, (type(None), Callable), what)
        m = self.metrics
        if not isinstance(m, dict) or not m or not all(map(callable, m.values())):
            raise ValueError(
                f"metrics must be a non-empty dict of name -> function(output, target), got {m!r}"
            )


class KerasBCELoss(nn.Module):
    """Keras 2.x ``binary_crossentropy`` on probabilities clipped to [clip, 1 - clip].

    Outside the clip the gradient is exactly 0, so a confidently wrong output costs a fixed
    -log(1e-7) = 16.1 and can never be corrected; the mean runs over every output (Keras: the last
    axis, then the batch), so it works for one sigmoid output or a softmax with one-hot targets.
    """

    def __init__(self, clip: float = KERAS_CLIP) -> None:
        super().__init__()
        ok = isinstance(clip, float) and 0 < clip < 0.5
        require(ok, "clip", clip, "a float with 0 < clip < 0.5")
        self.clip = clip

    def forward(self, prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = prob.clamp(self.clip, 1 - self.clip)
        target = target.to(p.dtype)
        return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


class LogCoshLoss(nn.Module):
    """Mean log(cosh(pred - target)); a series for tiny errors, which float32 would round to 0."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        d = pred - target
        small = d * d / 2 - d**4 / 12
        return torch.where(d.abs() < 1e-2, small, torch.log(torch.cosh(d.clamp(-20, 20)))).mean()


_UNWEIGHTED = {
    "mse": nn.MSELoss,
    "bce": nn.BCELoss,
    "bce-logits": nn.BCEWithLogitsLoss,
    "keras-bce": KerasBCELoss,
    "logcosh": LogCoshLoss,
}


def make_loss(name: str, class_weights: torch.Tensor | None = None) -> nn.Module:
    """Return the criterion called ``name`` (one of LOSSES); nll and cross-entropy take
    ``class_weights``."""
    Choice(LOSSES).check("loss", name)
    if name in _UNWEIGHTED:
        return _UNWEIGHTED[name]()
    return (nn.NLLLoss if name == "nll" else nn.CrossEntropyLoss)(weight=class_weights)


def make_optimizer(params: Any, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Return the optimizer named by ``cfg.optimizer``."""
    name, lr, wd = cfg.optimizer, cfg.lr, cfg.weight_decay
    if name in ("sgd", "momentum"):
        momentum = 0.9 if name == "momentum" else 0
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    if name == "adadelta":  # Keras's rho 0.95 (torch's default: 0.9)
        return torch.optim.Adadelta(params, lr=lr, rho=0.95, eps=cfg.eps, weight_decay=wd)
    adam = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "keras-adam": KerasAdam}[name]
    return adam(params, lr=lr, eps=cfg.eps, betas=cfg.betas, weight_decay=wd)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loss_fn: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    metrics: dict[str, Metric],
    chunk: int = 2048,
) -> tuple[float, dict[str, float]]:
    """Return (loss, {metric: value}) of ``model`` on (x, y) in eval mode, restoring train mode."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i : i + chunk]) for i in range(0, len(x), chunk)])
    loss = loss_fn(out, y)
    values = torch.stack([loss] + [m(out, y) for m in metrics.values()]).tolist()
    model.train(was_training)
    return values[0], dict(zip(metrics, values[1:]))


def _grad_norm(params: list[nn.Parameter]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]  # a gradient never carries a graph here
    return torch.stack(torch._foreach_norm(grads)).norm() if grads else torch.zeros(())


def record_epoch(
    history: History,
    epoch: int,
    lr: float,
    step_losses: list[float],
    step_norms: list[float],
    metric: float,
    val: tuple[float, dict[str, float]] | None,
    main_metric: str,
    other_metrics: list[str],
    early_stopping: int,
    batch_sizes: Sequence[int] = (),
) -> bool:
    """Append one finished epoch to ``history``; return True when the run ends with it.

    A NaN/inf step loss keeps the steps up to and including the first bad one and ends the run, as
    does a NaN/inf validation loss or ``early_stopping`` epochs without a new best validation loss.
    ``metric`` is the main metric over the epoch's batches; ``val`` is (loss, {metric: value}) on
    the validation split, or None; metrics other than the main one go to ``extra``.
    """
    steps = len(step_losses)
    history.lr.append(lr)
    bad = [i for i, v in enumerate(step_losses) if not math.isfinite(v)]
    if bad:
        history.step_loss += step_losses[: bad[0] + 1]
        history.grad_norm += step_norms[: bad[0] + 1]
        history.diverged_step, history.diverged_epoch = epoch * steps + bad[0], epoch
        history.train_loss.append(math.nan)
        history.train_metric.append(math.nan)
        if val is not None:
            history.val_loss.append(math.nan)
            history.val_metric.append(math.nan)
        return True
    history.step_loss += step_losses
    history.grad_norm += step_norms
    history.train_loss.append(epoch_loss(step_losses, batch_sizes))
    history.train_metric.append(metric)
    if val is None:
        return False
    val_loss, values = val
    history.val_loss.append(val_loss)
    history.val_metric.append(values[main_metric])
    for name in other_metrics:
        history.extra.setdefault(f"val_{name}", []).append(values[name])
    if not math.isfinite(val_loss):
        history.diverged_step, history.diverged_epoch = (epoch + 1) * steps - 1, epoch
        return True
    if history.best_epoch is None or val_loss < history.val_loss[history.best_epoch]:
        history.best_epoch = epoch
    if early_stopping and epoch - history.best_epoch >= early_stopping:
        history.stopped_epoch = epoch
        return True
    return False


def epoch_loss(step_losses: Sequence[float], batch_sizes: Sequence[int] = ()) -> float:
    """Return the epoch's training loss: the mean over samples (each step's loss weighted by its
    batch size, as Keras and the usual PyTorch idiom do): a short last batch counts its samples."""
    # equal weights: the plain mean, so a full-batch loss is the step's loss exactly
    if len(set(batch_sizes)) <= 1:
        return sum(step_losses) / len(step_losses)
    if len(batch_sizes) != len(step_losses):
        raise ValueError(
            f"batch_sizes must give one size per step loss, got {len(batch_sizes)} for "
            f"{len(step_losses)}"
        )
    return sum(loss * size for loss, size in zip(step_losses, batch_sizes)) / sum(batch_sizes)


def batch_sizes(n: int, batch_size: int) -> list[int]:
    """Return every step's batch size for ``n`` samples in batches of ``batch_size`` (0: one)."""
    bs = n if batch_size == 0 else min(batch_size, n)
    return [min(bs, n - start) for start in range(0, n, bs)]


def bar(items: Iterable[Any], desc: str, show: bool) -> Iterable[Any]:
    """Return ``items`` with a tqdm progress bar labelled ``desc`` when ``show``."""
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, leave=False)


def fit(
    setup: Setup,
    *,
    history: History,
    device: torch.device,
    generator: torch.Generator,
    progress: bool = False,
    on_epoch: EpochHook | None = None,
) -> History:
    """Train ``setup.model`` and fill ``history``; stop cleanly on NaN/inf or early stopping.

    The first metric of ``setup.metrics`` is the main one (``train_metric``/``val_metric``), the
    others go to ``history.extra`` as ``val_<name>``; ``setup.params`` limits training to some
    parameters (e.g. the head of a frozen backbone). ``generator`` (CPU) draws the shuffling and
    augmentation, so a seed fixes the whole run. ``on_epoch`` is called with the History after
    every epoch, the last one included (live plots), and must not change it.
    """
    must_be("setup", setup, Setup, "a labkit.train.Setup (what a case's build returns)")
    data, cfg, metrics = setup.data, setup.train, setup.metrics
    if len(data.x_train) == 0 or len(data.x_train) != len(data.y_train):
        raise ValueError(
            f"data.x_train and data.y_train must be non-empty and of equal length, "
            f"got {len(data.x_train)} and {len(data.y_train)}"
        )
    # .to(device) on the loss moves its class weights
    model, loss_fn, data = setup.model.to(device), setup.loss_fn.to(device), data.to(device)
    trained = setup.params if setup.params is not None else model.parameters()
    params = [p for p in trained if p.requires_grad]
    opt = make_optimizer(params, cfg)
    schedule = LRSchedule(cfg.schedule, cfg.lr, cfg.epochs)
    n = len(data.x_train)
    sizes = batch_sizes(n, cfg.batch_size)
    bs, steps = sizes[0], len(sizes)
    history.steps_per_epoch = steps
    best_state: dict[str, torch.Tensor] | None = None
    main_metric, *other_metrics = list(metrics)
    # every step's loss and gradient norm on the device, read with one host sync per epoch
    step_loss = torch.empty(steps, device=device)
    step_norm = torch.empty(steps, device=device)
    start = time.perf_counter()
    model.train()
    for epoch in bar(range(cfg.epochs), history.case or "training", progress):
        lr = schedule.lr
        for group in opt.param_groups:
            group["lr"] = lr
        shuffle = cfg.shuffle and steps > 1
        order = torch.randperm(n, generator=generator).to(device) if shuffle else None
        metric_sum = torch.zeros((), device=device)
        for step in range(steps):
            rows = slice(step * bs, (step + 1) * bs)
            if order is None:
                xb, yb = data.x_train[rows], data.y_train[rows]
            else:  # rows by index_select: ~2x faster than indexing
                idx = order[rows]
                xb, yb = data.x_train.index_select(0, idx), data.y_train.index_select(0, idx)
            if setup.augment is not None:
                xb = setup.augment(xb, generator)
            out = model(xb)
            loss = loss_fn(out, yb)
            # opt.zero_grad(set_to_none=True) without its overhead: opt holds exactly params
            for p in params:
                p.grad = None
            loss.backward()
            step_norm[step] = _grad_norm(params)
            opt.step()
            step_loss[step] = loss.detach()
            metric_sum += metrics[main_metric](out.detach(), yb) * len(yb)
        # one host sync per epoch
        records = torch.cat([step_loss, step_norm, metric_sum.reshape(1)]).tolist()
        step_losses = records[:steps]
        step_norms = records[steps : 2 * steps]
        metric = records[-1] / n
        # evaluated even after a NaN step (then unused): eval mode draws nothing, so the run stays
        # the same
        val = None
        if data.x_val is not None:
            val = evaluate(model, loss_fn, data.x_val, data.y_val, metrics)
        ended = record_epoch(
            history,
            epoch,
            lr,
            step_losses,
            step_norms,
            metric,
            val,
            main_metric,
            other_metrics,
            cfg.early_stopping,
            sizes,
        )
        if setup.probe is not None:
            with torch.no_grad():  # a measurement: never part of the graph
                probed = setup.probe(model, opt)
            for name, value in probed.items():
                history.extra.setdefault(name, []).append(float(value))
        if cfg.restore_best and history.best_epoch == epoch and not history.diverged:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if on_epoch is not None:
            on_epoch(history)
        if ended:
            break
        schedule.step(history.train_loss[-1])
    restore = best_state is not None and history.best_epoch != history.num_epochs - 1
    if restore and not history.diverged:
        model.load_state_dict(best_state)  # the test split below then measures the restored weights
        history.restored_epoch = history.best_epoch
    if data.x_test is not None and not history.diverged:
        # the test split's loss and metrics: test_loss, test_<metric>
        test_loss, values = evaluate(model, loss_fn, data.x_test, data.y_test, metrics)
        history.final["test_loss"] = test_loss
        history.final.update({f"test_{k}": v for k, v in values.items()})
    history.wall_time = time.perf_counter() - start
    return history
