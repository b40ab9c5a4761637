"""Device choice and seeding, in one place."""

from __future__ import annotations

import random

import numpy as np
import torch

_KINDS = ("cpu", "cuda", "mps")
# use_device(): what a run without an explicit device trains on
_preferred: torch.device | None = None


def use_device(device: str | torch.device | None) -> None:
    """Make every run that names no device train on ``device`` (None: back to the best available).

    The lessons call ``use_device("cpu")``: each claim they assert was checked on the CPU, and CUDA
    sums in another order, so a GPU run of the same seed is a different run (these small models are
    no faster there).
    """
    global _preferred
    _preferred = None if device is None else pick_device(device)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Return the device to train on: the one asked for, else cuda, then mps, then cpu.

    Parameters
    ----------
    device:
        None for the one ``use_device`` set, else the best available; or "cpu", "cuda", "cuda:N",
        "mps" (or a torch.device).
    """
    if device is None and _preferred is not None:
        return _preferred
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"device must be None, a string or a torch.device, got {type(device).__name__}"
        )
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(
            f"device={device!r} is not a device; allowed: None, 'cpu', 'cuda', 'cuda:N', 'mps'"
        ) from err
    if dev.type not in _KINDS:
        raise ValueError(
            f"device={device!r} is not supported; allowed: None, 'cpu', 'cuda', 'cuda:N', 'mps'"
        )
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} asked for CUDA, but no CUDA GPU is available here; use 'cpu' "
                "or None"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}: there are only {torch.cuda.device_count()} CUDA "
                f"devices (cuda:0..cuda:{torch.cuda.device_count() - 1})"
            )
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={device!r} asked for Apple MPS, which is not available here; use 'cpu' or "
                "None"
            )
    return dev


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int after checking it is one in [0, 2**32)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int in [0, 2**32), got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    return int(seed)


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch, numpy and random, and return a CPU generator seeded the same way.

    Parameters
    ----------
    seed:
        Non-negative integer below 2**32.
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
