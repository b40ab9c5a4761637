"""One run at a time per process, on deterministic kernels.

Runs seed and draw from torch's global RNG, so two at once (a panel's background precompute and a
learner's run) would mix their random streams: ``exclusive`` holds a process-wide lock around each
run, and ``others_waiting`` lets a background run give way. ``deterministic`` makes a seed fix the
run, and runs the CPU on ``CPU_THREADS`` threads: a reduction split over more threads sums in
another order (a 350-epoch run of lesson 05 jumped once with 2 threads, twice with 1). The lessons'
claims must hold either way: ``LABKIT_THREADS=2`` (read at import) runs every CPU run on two
threads, as the robustness benchmark and one of CI's seed runs do.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator

import torch
import torch.utils.deterministic

from .knobs import must_be, require

_THREADS = os.environ.get("LABKIT_THREADS", "1")
_THREADS_OK = _THREADS.isdigit() and 1 <= int(_THREADS) <= 256
require(
    _THREADS_OK,
    "LABKIT_THREADS",
    _THREADS,
    "a whole number of threads from 1 to 256",
    "not allowed",
)
# torch intra-op threads of every CPU run: the same History on any machine
CPU_THREADS = int(_THREADS)
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

    ``torch.use_deterministic_algorithms``, on CUDA only as a warning so an op without a
    deterministic kernel does not stop a learner's run (tests/test_cuda_determinism.py records that
    no case uses one); deterministic cuDNN without benchmarking and the cuBLAS workspace setting of
    PyTorch's reproducibility notes. The NaN fill of new uninitialised tensors is off: no labkit op
    reads such memory, and it cost 5-10 % of a small model's step.
    """
    must_be("device", device, torch.device, "a torch.device")
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
