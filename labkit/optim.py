"""Keras's Adam as a torch optimizer, and what Adam's step really is (for probes).

PyTorch bias-corrects v and then adds eps: ``lr * m_hat / (sqrt(v_hat) + eps)``. Keras (2.x and
tf.keras) folds both corrections into the rate and adds eps (default 1e-7, PyTorch's 1e-8) to the
*uncorrected* sqrt(v), the formula the thread's answer quotes:

    lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
    w   <- w - lr_t * m / (sqrt(v) + eps)
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch

from .knobs import is_number, require


def check_adam(weight_decay: Any, betas: Any) -> None:
    """Check the Adam arguments that ``KerasAdam`` and ``train.TrainConfig`` share."""
    wd = weight_decay
    require(is_number(wd) and 0 <= wd < math.inf, "weight_decay", wd, "0 <= weight_decay < inf")
    ok = len(betas) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)
    require(ok, "betas", betas, "two numbers in [0, 1)")


class KerasAdam(torch.optim.Optimizer):
    """Adam as Keras writes it (see above); ``weight_decay`` is an L2 term added to the gradient,
    as ``torch.optim.Adam`` does."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-7,
        weight_decay: float = 0.0,
    ) -> None:
        for name, value in (("lr", lr), ("eps", eps)):
            require(is_number(value) and 0 < value < math.inf, name, value, f"0 < {name} < inf")
        check_adam(weight_decay, betas)
        super().__init__(
            params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        )

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # noqa: D102 - torch.optim.Optimizer.step
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr = group["lr"]
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            if group["weight_decay"]:
                grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if not state:
                    state.update(
                        step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p)
                    )
                state["step"] += 1
            m, v = [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]
            steps = {s["step"] for s in states}
            if _fusable(params, grads) and len(steps) == 1:
                # one fused kernel for all the group's tensors (~2x faster on a CPU). It adds eps to
                # the bias-corrected root, so eps / c2 there (c2 = sqrt(1 - beta2**t)) is Keras's
                # eps on the uncorrected one: sqrt(v) / c2 + eps / c2 = (sqrt(v) + eps) / c2.
                t = steps.pop()
                state_steps = [torch.tensor(float(t), device=params[0].device)] * len(params)
                eps = group["eps"] / math.sqrt(1 - beta2**t)
                hyper = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps}
                # weight_decay 0: the decay is already in grads
                flags = {"weight_decay": 0.0, "amsgrad": False, "maximize": False}
                torch._fused_adam_(params, grads, m, v, [], state_steps, **hyper, **flags)
                continue
            # one call per operation over all the group's tensors, not 7 small ops per tensor
            torch._foreach_mul_(m, beta1)
            torch._foreach_add_(m, grads, alpha=1 - beta1)
            torch._foreach_mul_(v, beta2)
            torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
            denom = torch._foreach_sqrt(v)
            torch._foreach_add_(denom, group["eps"])
            rates = [
                -lr * math.sqrt(1 - beta2 ** s["step"]) / (1 - beta1 ** s["step"]) for s in states
            ]
            torch._foreach_addcdiv_(params, m, denom, rates)
        return loss


def _fusable(params: list[torch.Tensor], grads: list[torch.Tensor]) -> bool:
    """Whether torch's fused Adam kernel takes these tensors: dense float32/64 tensors of one dtype,
    all on one CPU or CUDA device."""
    p = params[0]
    if not hasattr(torch, "_fused_adam_") or p.dtype not in (torch.float32, torch.float64):
        return False
    tensors = [*params, *grads]
    alike = all(t.device == p.device and t.dtype == p.dtype and not t.is_sparse for t in tensors)
    return p.device.type in ("cpu", "cuda") and alike


def effective_step(optimizer: torch.optim.Optimizer) -> torch.Tensor | None:
    """Return every weight's effective step, the factor its m is multiplied by, as one flat tensor
    (None before the first step): lr_t / (sqrt(v) + eps) for ``KerasAdam``, lr / (1 - beta1^t) /
    (sqrt(v / (1 - beta2^t)) + eps) for ``torch.optim.Adam``/``AdamW``, lr for plain SGD (no v)."""
    adam = isinstance(optimizer, (KerasAdam, torch.optim.Adam))
    parts = []
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if not adam:
                parts.append(torch.full((p.numel(),), float(group["lr"]), device=p.device))
            elif "exp_avg_sq" in state:
                (beta1, beta2), t, v = group["betas"], float(state["step"]), state["exp_avg_sq"]
                if isinstance(optimizer, KerasAdam):
                    lr_t = group["lr"] * math.sqrt(1 - beta2**t) / (1 - beta1**t)
                    parts.append((lr_t / (v.sqrt() + group["eps"])).flatten())
                else:
                    denom = (v / (1 - beta2**t)).sqrt() + group["eps"]
                    parts.append((group["lr"] / (1 - beta1**t) / denom).flatten())
    return torch.cat(parts) if parts else None


def sqrt_v(optimizer: torch.optim.Optimizer) -> torch.Tensor | None:
    """Return every weight's sqrt(v) (Adam's running RMS gradient) as one flat tensor, or None."""
    parts = [
        optimizer.state[p]["exp_avg_sq"].sqrt().flatten()
        for group in optimizer.param_groups
        for p in group["params"]
        if "exp_avg_sq" in optimizer.state.get(p, {})
    ]
    return torch.cat(parts) if parts else None
