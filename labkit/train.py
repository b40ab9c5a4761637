"""The training loop: a ``Setup`` on one device in, a History out, nothing drawn or printed.

``fit`` is the one training loop of labkit (every case's run, every panel move, every sweep);
``record_epoch`` is its per-epoch bookkeeping.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from .data import Data
from .history import History
from .schedules import SCHEDULES, LRSchedule

# keras-adam: labkit.optim.KerasAdam; adadelta: Keras defaults (rho 0.95)
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "keras-adam", "adadelta")
LOSSES = ("mse", "bce", "bce-logits", "keras-bce", "nll", "cross-entropy", "logcosh")

Metric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
EpochHook = Callable[[History], None]
# (model, optimizer) -> {name: value}: a case's own per-epoch measurement, recorded in History.extra
Probe = Callable[[nn.Module, torch.optim.Optimizer], dict[str, float]]


@dataclass(frozen=True)
class TrainConfig:
    """How to train; cases build it from their knobs with ``from_knobs``, and every field is checked
    here."""

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
        _check_int("epochs", self.epochs, 1)
        _check_int("batch_size", self.batch_size, 0)
        _check_int("early_stopping", self.early_stopping, 0)
        _check_positive("lr", self.lr)
        _check_positive("eps", self.eps)
        if not isinstance(self.restore_best, bool):
            raise TypeError(f"restore_best must be True or False, got {self.restore_best!r}")
        if not (isinstance(self.weight_decay, (int, float)) and 0 <= self.weight_decay < math.inf):
            raise ValueError(
                f"weight_decay={self.weight_decay!r} is out of range; allowed: 0 <= "
                "weight_decay < inf"
            )
        if len(self.betas) != 2 or not all(
            isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas
        ):
            raise ValueError(
                f"betas={self.betas!r} is out of range; allowed: two numbers in [0, 1)"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer={self.optimizer!r} is not allowed; allowed: "
                f"{', '.join(map(repr, OPTIMIZERS))}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"schedule={self.schedule!r} is not allowed; allowed: "
                f"{', '.join(map(repr, SCHEDULES))}"
            )

    @classmethod
    def from_knobs(cls, knobs: Any, **fixed: Any) -> TrainConfig:
        """Return the config of a case's ``knobs``: every knob named like a field, plus the case's
        ``fixed`` fields.

        e.g. ``TrainConfig.from_knobs(k, batch_size=0)`` for a case that always trains full-batch; a
        field given both ways is an error, so each field is set in one place.
        """
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
    # measured after every epoch into history.extra
    probe: Probe | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(self.model).__name__}")
        if not isinstance(self.loss_fn, nn.Module):
            raise TypeError(
                "loss_fn must be a torch.nn.Module (e.g. make_loss('mse')), got "
                f"{type(self.loss_fn).__name__}"
            )
        if not isinstance(self.data, Data):
            raise TypeError(f"data must be a labkit.data.Data, got {type(self.data).__name__}")
        if not isinstance(self.train, TrainConfig):
            raise TypeError(
                f"train must be a labkit.train.TrainConfig, got {type(self.train).__name__}"
            )
        if self.probe is not None and not callable(self.probe):
            raise TypeError(
                "probe must be None or a function(model, optimizer) -> dict, got "
                f"{type(self.probe).__name__}"
            )
        if (
            not isinstance(self.metrics, dict)
            or not self.metrics
            or not all(map(callable, self.metrics.values()))
        ):
            raise ValueError(
                "metrics must be a non-empty dict of name -> function(output, target), "
                f"got {self.metrics!r}"
            )


class KerasBCELoss(nn.Module):
    """Keras 2.x ``binary_crossentropy`` on probabilities: clipped to [clip, 1 - clip] before the
    log.

    Outside the clip the gradient is exactly 0, so a confidently wrong output costs a fixed
    -log(1e-7) = 16.1 and can never be corrected; the mean runs over every output (Keras: the last
    axis, then the batch), so it works for one sigmoid output or a softmax over classes with one-hot
    targets.
    """

    def __init__(self, clip: float = 1e-7) -> None:
        super().__init__()
        if not (isinstance(clip, float) and 0 < clip < 0.5):
            raise ValueError(f"clip={clip!r} is out of range; allowed: a float with 0 < clip < 0.5")
        self.clip = clip

    def forward(self, prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = prob.clamp(self.clip, 1 - self.clip)
        target = target.to(p.dtype)
        return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


class LogCoshLoss(nn.Module):
    """Mean log(cosh(pred - target)); a series for tiny errors so float32 does not round them to
    0."""

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
    if name == "keras-bce":
        return KerasBCELoss()
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
        return torch.optim.Adam(
            params, lr=cfg.lr, eps=cfg.eps, betas=cfg.betas, weight_decay=cfg.weight_decay
        )
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(
            params, lr=cfg.lr, eps=cfg.eps, betas=cfg.betas, weight_decay=cfg.weight_decay
        )
    # Keras's rho (0.95; torch's default is 0.9), eps from the config (Keras: 1e-7)
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(
            params, lr=cfg.lr, rho=0.95, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.optimizer == "keras-adam":
        from .optim import KerasAdam

        return KerasAdam(
            params, lr=cfg.lr, eps=cfg.eps, betas=cfg.betas, weight_decay=cfg.weight_decay
        )
    raise ValueError(
        f"optimizer={cfg.optimizer!r} is not allowed; allowed: {', '.join(map(repr, OPTIMIZERS))}"
    )


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
    # one op for all norms
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
    does a NaN/inf validation loss; ``early_stopping`` epochs without a new best validation loss end
    it too. ``metric`` is the main metric over the epoch's batches, ``val`` (loss, {metric: value})
    on the validation split or None when there is none; metrics other than the main one go to
    ``extra``. The epoch's training loss is the mean over samples (each step's loss weighted by
    ``batch_sizes``, as Keras and the usual PyTorch idiom compute it): a short last batch counts for
    its samples only.
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
    """Return the sample-weighted mean of the step losses (the plain mean when every batch is the
    same size)."""
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
    """Return the size of every step's batch when ``n`` samples are cut into batches of
    ``batch_size`` (0: one batch)."""
    bs = n if batch_size == 0 else min(batch_size, n)
    return [min(bs, n - start) for start in range(0, n, bs)]


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

    Parameters
    ----------
    setup:
        Model, loss, data, TrainConfig and metrics: the first metric is the main one
        (``train_metric``/``val_metric``), the others go to ``history.extra`` as ``val_<name>``;
        ``setup.params`` limits training to some parameters (e.g. the head of a frozen backbone).
    generator:
        CPU generator for shuffling and augmentation, so a seed fixes the whole run.
    on_epoch:
        Called with the History after every epoch, the last one included (live plots); must not
        change it.
    """
    if not isinstance(setup, Setup):
        raise TypeError(
            "setup must be a labkit.train.Setup (what a case's build returns), got "
            f"{type(setup).__name__}"
        )
    data, cfg, metrics = setup.data, setup.train, setup.metrics
    if len(data.x_train) == 0 or len(data.x_train) != len(data.y_train):
        raise ValueError(
            f"data.x_train and data.y_train must be non-empty and of equal length, "
            f"got {len(data.x_train)} and {len(data.y_train)}"
        )
    # loss: class weights
    model, loss_fn, augment = setup.model.to(device), setup.loss_fn.to(device), setup.augment
    data = data.to(device)
    params = [
        p
        for p in (setup.params if setup.params is not None else model.parameters())
        if p.requires_grad
    ]
    opt = make_optimizer(params, cfg)
    schedule = LRSchedule(cfg.schedule, cfg.lr, cfg.epochs)
    n = len(data.x_train)
    sizes = batch_sizes(n, cfg.batch_size)
    bs, steps = sizes[0], len(sizes)
    history.steps_per_epoch = steps
    best_state: dict[str, torch.Tensor] | None = None
    main_metric, *other_metrics = list(metrics)
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
        order = (
            torch.randperm(n, generator=generator).to(device) if cfg.shuffle and steps > 1 else None
        )
        metric_sum = torch.zeros((), device=device)
        for step in range(steps):
            idx = (
                order[step * bs : (step + 1) * bs]
                if order is not None
                else slice(step * bs, (step + 1) * bs)
            )
            # rows by index_select: ~2x faster
            xb, yb = (
                (data.x_train[idx], data.y_train[idx])
                if order is None
                else (data.x_train.index_select(0, idx), data.y_train.index_select(0, idx))
            )
            if augment is not None:
                xb = augment(xb, generator)
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
        # evaluated even after a NaN step (then unused): eval mode draws nothing, so the run stays
        # the same
        val = (
            evaluate(model, loss_fn, data.x_val, data.y_val, metrics)
            if data.x_val is not None
            else None
        )
        ended = record_epoch(
            history,
            epoch,
            lr,
            records[:steps],
            records[steps : 2 * steps],
            records[-1] / n,
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
    if (
        best_state is not None
        and not history.diverged
        and history.best_epoch != history.num_epochs - 1
    ):
        model.load_state_dict(best_state)  # the test split below then measures the restored weights
        history.restored_epoch = history.best_epoch
    if data.x_test is not None and not history.diverged:
        # the test split's loss and metrics: test_loss, test_<metric>
        test_loss, values = evaluate(model, loss_fn, data.x_test, data.y_test, metrics)
        history.final["test_loss"] = test_loss
        history.final.update({f"test_{k}": v for k, v in values.items()})
    history.wall_time = time.perf_counter() - start
    return history
