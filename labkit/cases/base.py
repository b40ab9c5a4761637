"""The Case contract: knobs in, a History out."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
from torch import nn

from ..device import pick_device, seed_everything
from ..history import History
from ..knobs import specs, validate
from ..train import Augment, Data, EpochHook, Metric, TrainConfig, fit


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


@dataclass(frozen=True)
class Case:
    """One documented failure: its story, failing knobs, fixes, and how to build a run."""

    name: str  # id used by cases.get()
    title: str  # the question a learner would search for
    symptom: str  # one sentence in the learner's words
    lesson: str  # notebook file in lessons/
    defaults: Any  # frozen knob dataclass; its values reproduce the failure
    fixes: dict[str, dict[str, Any]]  # fix name -> knob overrides; the first is the main fix
    build: Callable[[Any, torch.Generator], Setup]  # (knobs, CPU generator) -> Setup, on the CPU
    checks: Callable[[History], dict[str, bool]]  # named numeric checks; all True = the symptom is there

    def knobs(self, **overrides: Any) -> Any:
        """Return the default knobs with ``overrides`` applied, after checking them."""
        return validate(self.defaults, overrides)

    def knob_specs(self) -> dict[str, tuple[Any, str]]:
        """Return ``{knob: (spec, help)}`` in declaration order."""
        return specs(self.defaults)

    def fix(self, name: str) -> dict[str, Any]:
        """Return the knob overrides of fix ``name``."""
        if name not in self.fixes:
            raise ValueError(f"fix={name!r} is not a fix of {self.name!r}; allowed: {', '.join(map(repr, self.fixes))}")
        return dict(self.fixes[name])

    def symptom_checks(self, history: History) -> dict[str, bool]:
        """Return this case's named numeric checks of ``history`` (all True: the failure is there)."""
        return self.checks(history)

    def shows_symptom(self, history: History) -> bool:
        """Return True when every symptom check holds for ``history``."""
        return all(self.checks(history).values())

    def run(self, seed: int = 0, device: str | torch.device | None = None, *, progress: bool = False,
            on_epoch: EpochHook | None = None, **knobs: Any) -> History:
        """Train once with the default knobs changed by ``knobs`` and return the History.

        Parameters
        ----------
        seed:
            Fixes the data, the initial weights, shuffling and dropout.
        device:
            None picks cuda, then mps, then cpu.
        progress:
            Show a tqdm progress bar over epochs.
        on_epoch:
            Called with the growing History after each epoch (for live plots).
        """
        k = self.knobs(**knobs)
        dev = pick_device(device)
        with exclusive(), _deterministic(dev):
            generator = seed_everything(seed)
            setup = self.build(k, generator)
            history = self.new_history(k, seed, dev, setup)
            return fit(setup.model, setup.loss_fn, setup.data, setup.train, metrics=setup.metrics,
                       history=history, device=dev, generator=generator, augment=setup.augment,
                       params=setup.params, progress=progress, on_epoch=on_epoch)

    def new_history(self, knobs: Any, seed: int, device: torch.device, setup: Setup) -> History:
        """Return the empty History a run of ``knobs`` on ``setup`` starts from (shared with labkit.sweep)."""
        history = History(case=self.name, knobs=dataclasses.asdict(knobs), seed=int(seed), device=str(device),
                          metric_name=setup.metric_name)
        if "baseline_val_loss" in setup.data.info:
            history.final["baseline_val_loss"] = float(setup.data.info["baseline_val_loss"])
        return history

    def sweep(self, seed: int = 0, device: str | torch.device | None = None, progress: bool = False,
              **grid: Any) -> dict[tuple, History]:
        """Train every combination of ``grid`` (knob -> list, optionally ``seeds=[...]``); see labkit.sweep."""
        from ..sweep import sweep

        return sweep(self, grid, seed=seed, device=device, progress=progress)


_RUN_LOCK = threading.RLock()
_waiting = [0]  # threads waiting for _RUN_LOCK
_waiting_lock = threading.Lock()


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """Hold the process-wide run lock: runs seed and draw from torch's global RNG, so two at once would mix."""
    with _waiting_lock:
        _waiting[0] += 1
    try:
        _RUN_LOCK.acquire()
    finally:
        with _waiting_lock:
            _waiting[0] -= 1
    try:
        yield
    finally:
        _RUN_LOCK.release()


def others_waiting() -> bool:
    """Return True when some thread is waiting to start a run (a background run should give way)."""
    return _waiting[0] > 0


@contextlib.contextmanager
def _deterministic(device: torch.device) -> Iterator[None]:
    """Use deterministic kernels for the run, restoring the caller's settings afterwards.

    CPU and CUDA turn on ``torch.use_deterministic_algorithms``; on CUDA only as a warning (``warn_only``),
    so an op without a deterministic CUDA kernel warns instead of stopping a learner's run (no case uses
    one: tests/test_cuda_determinism.py records every op each case runs). CUDA also gets deterministic cuDNN
    convolutions without benchmarking and the cuBLAS workspace setting that PyTorch's reproducibility
    notes ask for (read when PyTorch first sets up cuBLAS in the process).
    """
    if device.type not in ("cpu", "cuda"):
        yield
        return
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]
