"""The training loop: pre-stacked tensors on one device, a History out, nothing drawn or printed."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from .history import History
from .schedules import SCHEDULES, LRSchedule

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
LOSSES = ("mse", "bce", "bce-logits", "nll", "cross-entropy", "logcosh")

Metric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
EpochHook = Callable[[History], None]


@dataclass(frozen=True)
class TrainConfig:
    """How to train; every field is checked by the case knobs before it gets here."""

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

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1)
        _check_int("batch_size", self.batch_size, 0)
        _check_int("early_stopping", self.early_stopping, 0)
        _check_positive("lr", self.lr)
        _check_positive("eps", self.eps)
        if not (isinstance(self.weight_decay, (int, float)) and 0 <= self.weight_decay < math.inf):
            raise ValueError(f"weight_decay={self.weight_decay!r} is out of range; allowed: 0 <= weight_decay < inf")
        if len(self.betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas={self.betas!r} is out of range; allowed: two numbers in [0, 1)")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} is not allowed; allowed: {', '.join(map(repr, OPTIMIZERS))}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r} is not allowed; allowed: {', '.join(map(repr, SCHEDULES))}")


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name}={value!r} is out of range; allowed: {name} >= {low}")


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    if not (0 < value < math.inf):
        raise ValueError(f"{name}={value!r} is out of range; allowed: 0 < {name} < inf")


@dataclass
class Data:
    """Pre-stacked tensors of one case; ``fit`` moves them to the device once."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict)  # e.g. the predict-the-mean baseline

    def to(self, device: torch.device) -> Data:
        """Return a copy with every tensor on ``device``."""
        move = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in vars(self).items()}
        return Data(**move)


class LogCoshLoss(nn.Module):
    """Mean log(cosh(pred - target)); a series for tiny errors so float32 does not round them to 0."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        d = pred - target
        small = d * d / 2 - d**4 / 12
        return torch.where(d.abs() < 1e-2, small, torch.log(torch.cosh(d.clamp(-20, 20)))).mean()


def make_loss(name: str, class_weights: torch.Tensor | None = None) -> nn.Module:
    """Return the criterion called ``name`` (one of LOSSES)."""
    if name == "mse":
        return nn.MSELoss()
    if name == "bce":
        return nn.BCELoss()
    if name == "bce-logits":
        return nn.BCEWithLogitsLoss()
    if name == "nll":
        return nn.NLLLoss(weight=class_weights)
    if name == "cross-entropy":
        return nn.CrossEntropyLoss(weight=class_weights)
    if name == "logcosh":
        return LogCoshLoss()
    raise ValueError(f"loss={name!r} is not allowed; allowed: {', '.join(map(repr, LOSSES))}")


def make_optimizer(params: Any, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Return the optimizer named by ``cfg.optimizer``."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "momentum":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, eps=cfg.eps, betas=cfg.betas, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, eps=cfg.eps, betas=cfg.betas, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer={cfg.optimizer!r} is not allowed; allowed: {', '.join(map(repr, OPTIMIZERS))}")


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor,
             metrics: dict[str, Metric], chunk: int = 2048) -> tuple[float, dict[str, float]]:
    """Return (loss, {metric: value}) of ``model`` on (x, y) in eval mode, restoring train mode."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i:i + chunk]) for i in range(0, len(x), chunk)])
    loss = loss_fn(out, y)
    values = torch.stack([loss] + [m(out, y) for m in metrics.values()]).tolist()
    model.train(was_training)
    return values[0], dict(zip(metrics, values[1:]))


def _grad_norm(params: list[nn.Parameter]) -> torch.Tensor:
    norms = [p.grad.detach().norm() for p in params if p.grad is not None]
    return torch.stack(norms).norm() if norms else torch.zeros(())


def fit(model: nn.Module, loss_fn: nn.Module, data: Data, cfg: TrainConfig, *,
        metrics: dict[str, Metric], history: History, device: torch.device,
        generator: torch.Generator, augment: Augment | None = None,
        params: list[nn.Parameter] | None = None, progress: bool = False,
        on_epoch: EpochHook | None = None) -> History:
    """Train ``model`` and fill ``history``; stop cleanly on NaN/inf or early stopping.

    Parameters
    ----------
    metrics:
        Name -> function(output, target) returning a 0-d tensor; the first is the main metric
        (``train_metric``/``val_metric``), the others go to ``history.extra`` as ``val_<name>``.
    generator:
        CPU generator for shuffling and augmentation, so a seed fixes the whole run.
    params:
        Parameters to train (default: all of ``model``), e.g. only the head of a frozen backbone.
    on_epoch:
        Called with the History after every epoch (live plots); must not change it.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(data, Data):
        raise TypeError(f"data must be a labkit.train.Data, got {type(data).__name__}")
    if len(data.x_train) == 0 or len(data.x_train) != len(data.y_train):
        raise ValueError(f"data.x_train and data.y_train must be non-empty and of equal length, "
                         f"got {len(data.x_train)} and {len(data.y_train)}")
    model.to(device)
    data = data.to(device)
    params = [p for p in (params if params is not None else model.parameters()) if p.requires_grad]
    opt = make_optimizer(params, cfg)
    schedule = LRSchedule(cfg.schedule, cfg.lr, cfg.epochs)
    n = len(data.x_train)
    bs = n if cfg.batch_size == 0 else min(cfg.batch_size, n)
    steps = math.ceil(n / bs)
    history.steps_per_epoch = steps
    main_metric, *other_metrics = list(metrics)
    has_val = data.x_val is not None
    step_loss = torch.empty(steps, device=device)
    step_norm = torch.empty(steps, device=device)
    epochs = range(cfg.epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc=history.case or "training", leave=False)
    start = time.perf_counter()
    model.train()
    for epoch in epochs:
        lr = schedule.lr
        for group in opt.param_groups:
            group["lr"] = lr
        order = torch.randperm(n, generator=generator).to(device) if cfg.shuffle and steps > 1 else None
        metric_sum = torch.zeros((), device=device)
        for step in range(steps):
            idx = order[step * bs:(step + 1) * bs] if order is not None else slice(step * bs, (step + 1) * bs)
            xb, yb = data.x_train[idx], data.y_train[idx]
            if augment is not None:
                xb = augment(xb, generator)
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            step_norm[step] = _grad_norm(params)
            opt.step()
            step_loss[step] = loss.detach()
            metric_sum += metrics[main_metric](out.detach(), yb) * len(yb)
        # one host sync per epoch: read the whole epoch's step records at once
        records = torch.cat([step_loss, step_norm, metric_sum.reshape(1)]).tolist()
        losses, norms, epoch_metric = records[:steps], records[steps:2 * steps], records[-1] / n
        history.lr.append(lr)
        bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
        if bad:
            history.step_loss += losses[:bad[0] + 1]
            history.grad_norm += norms[:bad[0] + 1]
            history.diverged_step = epoch * steps + bad[0]
            history.diverged_epoch = epoch
            history.train_loss.append(math.nan)
            history.train_metric.append(math.nan)
            if has_val:
                history.val_loss.append(math.nan)
                history.val_metric.append(math.nan)
            break
        history.step_loss += losses
        history.grad_norm += norms
        history.train_loss.append(sum(losses) / steps)
        history.train_metric.append(epoch_metric)
        if has_val:
            val_loss, values = evaluate(model, loss_fn, data.x_val, data.y_val, metrics)
            history.val_loss.append(val_loss)
            history.val_metric.append(values[main_metric])
            for name in other_metrics:
                history.extra.setdefault(f"val_{name}", []).append(values[name])
            if not math.isfinite(val_loss):
                history.diverged_step = (epoch + 1) * steps - 1
                history.diverged_epoch = epoch
                break
            if history.best_epoch is None or val_loss < history.val_loss[history.best_epoch]:
                history.best_epoch = epoch
        schedule.step(history.train_loss[-1])
        if on_epoch is not None:
            on_epoch(history)
        if cfg.early_stopping and has_val and epoch - history.best_epoch >= cfg.early_stopping:
            history.stopped_epoch = epoch
            break
    if data.x_test is not None and not history.diverged:
        test_loss, values = evaluate(model, loss_fn, data.x_test, data.y_test, metrics)
        history.final["test_loss"] = test_loss
        history.final.update({f"test_{k}": v for k, v in values.items()})
    history.wall_time = time.perf_counter() - start
    return history
