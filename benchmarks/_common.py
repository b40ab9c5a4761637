"""Shared bits of the benchmark scripts: the header line and a best-of-N timer."""

from __future__ import annotations

import os
import platform
import time
from typing import Callable

import torch

from labkit import cases
from labkit.device import pick_device


def header(title: str, device: str | None) -> torch.device:
    """Print what the numbers were measured on (device, date, versions, threads, load) and return
    the device."""
    import labkit

    dev = pick_device(device)
    name = (
        torch.cuda.get_device_name(dev)
        if dev.type == "cuda"
        else f"{platform.processor() or platform.machine()} CPU"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {title}")
    print(
        f"# device {dev} ({name}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, torch "
        f"{torch.__version__}, labkit {labkit.__version__}, python {platform.python_version()}, "
        f"torch threads {torch.get_num_threads()}, cores {os.cpu_count()}, load average (1 min) at "
        f"start {load:.2f}"
    )
    warm_up(dev)
    return dev


def set_threads(threads: int | None) -> None:
    """Pin torch's CPU threads (on a shared machine 1 thread is steadier: 2 busy-waiting threads on
    2 loaded cores ran 10x slower); None keeps torch's default."""
    if threads is not None:
        torch.set_num_threads(threads)


def warm_up(dev: torch.device) -> None:
    """Pay one-time costs (the first use_deterministic_algorithms imports torch._inductor, ~3 s)
    outside timings."""
    cases.get("negative-loss").run(seed=0, device=dev, epochs=1)


def best_of(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Return the fastest of ``repeats`` wall-clock timings of ``fn()`` in seconds."""
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def load_now() -> str:
    """Return the 1-minute load average as text, to print next to a figure."""
    return f"load {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "load n/a"


def seed_range(text: str) -> range:
    """Return the seeds of ``text``, "first-last" (both included) or one seed, e.g. "0-29" or
    "7"."""
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)
