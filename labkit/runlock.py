"""One run at a time per process, on deterministic kernels.

Runs seed and draw from torch's global RNG, so two at once (a panel's background precompute and a
learner's run) would mix their random streams: ``exclusive`` holds a process-wide lock around each
run, and ``others_waiting`` lets a background run see that someone wants the lock and give way.
``deterministic`` turns on the kernel settings that make a seed fix the run, and on the CPU runs
on ``CPU_THREADS`` threads: a reduction split over more threads sums in another order, so the same
seed would give a different History on a 2-core laptop than on the 1-thread test run that checked
the lesson's claims (a 350-epoch run of lesson 05 jumped once with 2 threads, twice with 1). The
lessons' claims must hold either way: ``LABKIT_THREADS=2`` (read at import) runs every CPU run on
two threads, as the robustness benchmark and one of CI's seed runs do.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator

import torch
import torch.utils.deterministic


def _threads_from_env() -> int:
    text = os.environ.get("LABKIT_THREADS", "1")
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise ValueError(
            f"LABKIT_THREADS={text!r} is not allowed; allowed: a whole number of threads from 1 to "
            "256"
        )
    return int(text)


# torch intra-op threads of every CPU run: the same History on any machine
CPU_THREADS = _threads_from_env()
# re-entrant: an on_epoch hook may itself call Case.run, which takes it again
_RUN_LOCK = threading.RLock()
_waiting = 0  # threads blocked in exclusive(), waiting for _RUN_LOCK
_waiting_lock = threading.Lock()


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """Hold the process-wide run lock for the duration of the block."""
    global _waiting
    with _waiting_lock:
        _waiting += 1
    try:
        _RUN_LOCK.acquire()
    finally:
        with _waiting_lock:
            _waiting -= 1
    try:
        yield
    finally:
        _RUN_LOCK.release()


def others_waiting() -> bool:
    """Return True when some thread is waiting to start a run (a background run should give way)."""
    return _waiting > 0


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Use deterministic kernels for the block, restoring the caller's settings afterwards.

    CPU and CUDA turn on ``torch.use_deterministic_algorithms``; on CUDA only as a warning
    (``warn_only``), so an op without a deterministic CUDA kernel warns instead of stopping a
    learner's run (no case uses one: tests/test_cuda_determinism.py records every op each case
    runs). CUDA also gets deterministic cuDNN convolutions without benchmarking and the cuBLAS
    workspace setting that PyTorch's reproducibility notes ask for (read when PyTorch first sets up
    cuBLAS in the process). Deterministic mode's NaN fill of every new uninitialised tensor
    (``torch.utils.deterministic.fill_uninitialized_memory``, a guard against code that reads memory
    it never wrote) is turned off for the block: no labkit op reads such memory (each case's
    same-seed test would catch it), and the fill cost 5-10 % of a small model's training step.
    """
    if not isinstance(device, torch.device):
        raise TypeError(f"device must be a torch.device, got {type(device).__name__}")
    if device.type not in ("cpu", "cuda"):
        yield
        return
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.get_num_threads(),
    )
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    if device.type == "cpu" and before[4] != CPU_THREADS:
        torch.set_num_threads(CPU_THREADS)
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    fill = torch.utils.deterministic.fill_uninitialized_memory
    torch.utils.deterministic.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.utils.deterministic.fill_uninitialized_memory = fill
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]
        if torch.get_num_threads() != before[4]:
            torch.set_num_threads(before[4])
