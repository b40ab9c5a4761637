"""Device choice and seeding, in one place."""

from __future__ import annotations

import random

import numpy as np
import torch

from .knobs import must_be, require

_preferred: torch.device | None = None  # use_device's: what a run naming no device trains on


def use_device(device: str | torch.device | None) -> None:
    """Make every run that names no device train on ``device`` (None: back to the best available).

    The lessons call ``use_device("cpu")``: each claim they assert was checked on the CPU, and CUDA
    sums in another order, so a GPU run of the same seed is a different run (these small models are
    no faster there).
    """
    global _preferred
    _preferred = None if device is None else pick_device(device)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Return the device to train on: ``device`` ("cpu", "cuda", "cuda:N", "mps" or a
    torch.device), else the one ``use_device`` set, else cuda, then mps, then cpu."""
    if device is None and _preferred is not None:
        return _preferred
    if device is None:  # the best available
        device = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    must_be("device", device, (str, torch.device), "None, a string or a torch.device")
    allowed = "None, 'cpu', 'cuda', 'cuda:N', 'mps'"
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device={device!r} is not a device; allowed: {allowed}") from err
    require(dev.type in ("cpu", "cuda", "mps"), "device", device, allowed, "not supported")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} asked for CUDA, but no CUDA GPU is available here; use 'cpu' "
            "or None"
        )
    count = torch.cuda.device_count() if dev.type == "cuda" else 0
    if dev.type == "cuda" and dev.index is not None and dev.index >= count:
        raise ValueError(
            f"device={device!r}: there are only {count} CUDA devices (cuda:0..cuda:{count - 1})"
        )
    if dev.type == "mps" and not _mps_available():
        raise ValueError(
            f"device={device!r} asked for Apple MPS, which is not available here; use 'cpu' or None"
        )
    return dev


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int after checking it is one in [0, 2**32)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int in [0, 2**32), got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    return int(seed)


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch, numpy and random with ``seed`` (an int in [0, 2**32)); return a CPU generator
    seeded the same way."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
