"""Hand-written SGD / momentum / Adam / AdamW over stacked weights, one hyper-parameter set per
model.

Every tensor has a leading model dimension K. The maths follows ``torch.optim``'s single-tensor
code line for line, so a stacked run matches K separate runs up to float rounding; the
hyper-parameters are float64 tensors of shape (K,) on the device, so no step reads from the host.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

MOMENTUM = 0.9  # labkit's "momentum" optimizer, as in train.make_optimizer
ADADELTA_RHO = 0.95  # labkit's "adadelta" (Keras's rho), as in train.make_optimizer


@dataclass
class Hyper:
    """Per-model hyper-parameters, each a float64 tensor of shape (K,) on the training device."""

    lr: torch.Tensor
    eps: torch.Tensor
    weight_decay: torch.Tensor
    beta1: torch.Tensor
    beta2: torch.Tensor


class StackedOptimizer:
    """Update a list of stacked parameters (K, ...) in place from their stacked gradients.

    Parameters
    ----------
    name:
        One of "sgd", "momentum", "adam", "adamw", "adadelta" (train.OPTIMIZERS but keras-adam).
    params:
        Tensors of shape (K, ...), one row per model (labkit.sweep passes a single (K, P) tensor
        holding every weight, so a step is a handful of whole-tensor operations).
    hyper:
        Per-model hyper-parameters; change the learning rates between steps with ``set_lr``.
    """

    def __init__(self, name: str, params: list[torch.Tensor], hyper: Hyper):
        if name not in ("sgd", "momentum", "adam", "adamw", "adadelta"):
            raise ValueError(
                f"optimizer={name!r} is not allowed; allowed: 'sgd', 'momentum', 'adam', "
                "'adamw', 'adadelta'"
            )
        self.name, self.params, self.hyper = name, params, hyper
        self.step_count = 0
        self.state: list[list[torch.Tensor]] = []  # per parameter: [buf] or [exp_avg, exp_avg_sq]
        # per-model constants as (K, 1) columns in the weights' dtype, cast once (lr: in set_lr)
        dtype = params[0].dtype
        self._eps = self._column(hyper.eps, dtype)
        self._wd = self._column(hyper.weight_decay, dtype)
        self._any_decay = bool((hyper.weight_decay != 0).any())  # one read at set-up, none per step
        self._beta1 = self._column(hyper.beta1, dtype)
        self._one_minus_beta1 = self._column(1 - hyper.beta1, dtype)
        self._beta2 = self._column(hyper.beta2, dtype)
        self._one_minus_beta2 = self._column(1 - hyper.beta2, dtype)
        self.set_lr(hyper.lr)

    @staticmethod
    def _column(value: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return value.to(dtype).view(-1, 1)

    def set_lr(self, lr: torch.Tensor) -> None:
        """Use the (K,) float64 learning rates ``lr`` from the next step on (schedules change it per
        epoch)."""
        self.hyper.lr = lr
        dtype = self.params[0].dtype
        self._lr = self._column(lr, dtype)
        # adamw's decoupled decay
        self._decay = self._column(1 - lr * self.hyper.weight_decay, dtype)

    @staticmethod
    def _per_model(column: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Return a (K, 1) column as (K, 1, ..., 1), to broadcast over one model's slice of ``like``
        (a view)."""
        return column.view(-1, *([1] * (like.dim() - 1)))

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        """Apply one update with ``grads`` (same shapes as the parameters)."""
        self.step_count += 1
        if self.name in ("sgd", "momentum"):
            self._sgd(grads)
        elif self.name == "adadelta":
            self._adadelta(grads)
        else:
            self._adam(grads)

    def _adadelta(self, grads: list[torch.Tensor]) -> None:
        if not self.state:
            self.state = [[torch.zeros_like(p), torch.zeros_like(p)] for p in self.params]
        for p, g, (square_avg, acc_delta) in zip(self.params, grads, self.state):
            if self._any_decay:
                g = g.addcmul(self._per_model(self._wd, p), p)
            eps = self._per_model(self._eps, p)
            square_avg.mul_(ADADELTA_RHO).addcmul_(g, g, value=1 - ADADELTA_RHO)
            delta = (acc_delta + eps).sqrt_().div_((square_avg + eps).sqrt_()).mul_(g)
            acc_delta.mul_(ADADELTA_RHO).addcmul_(delta, delta, value=1 - ADADELTA_RHO)
            p.sub_(self._per_model(self._lr, p) * delta)

    def _sgd(self, grads: list[torch.Tensor]) -> None:
        first = not self.state
        for i, (p, g) in enumerate(zip(self.params, grads)):
            d_p = g.addcmul(self._per_model(self._wd, p), p) if self._any_decay else g
            if self.name == "momentum":
                if first:
                    self.state.append([d_p.clone()])
                else:
                    self.state[i][0].mul_(MOMENTUM).add_(d_p)
                d_p = self.state[i][0]
            p.sub_(self._per_model(self._lr, p) * d_p)

    def _adam(self, grads: list[torch.Tensor]) -> None:
        h, t = self.hyper, self.step_count
        if not self.state:
            self.state = [[torch.zeros_like(p), torch.zeros_like(p)] for p in self.params]
        # bias corrections in float64 like torch.optim's Python floats, then one cast each
        dtype = self.params[0].dtype
        step_size = self._column(h.lr / (1 - h.beta1**t), dtype)
        bias2_sqrt = self._column((1 - h.beta2**t).sqrt(), dtype)
        for p, g, (exp_avg, exp_avg_sq) in zip(self.params, grads, self.state):
            if self.name == "adamw":
                p.mul_(self._per_model(self._decay, p))
            elif self._any_decay:
                g = g.addcmul(self._per_model(self._wd, p), p)
            exp_avg.lerp_(g, self._per_model(self._one_minus_beta1, p))
            exp_avg_sq.mul_(self._per_model(self._beta2, p)).addcmul_(
                g, g * self._per_model(self._one_minus_beta2, p)
            )
            denom = (
                exp_avg_sq.sqrt()
                .div_(self._per_model(bias2_sqrt, p))
                .add_(self._per_model(self._eps, p))
            )
            p.sub_(exp_avg.mul(self._per_model(step_size, p)).div_(denom))
