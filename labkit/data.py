"""The ``Data`` a run trains on, and its synthetic builders, one per case, generated in memory from a seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class Data:
    """Pre-stacked tensors of one case; ``train.fit`` moves them to the device once."""

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


NORMALIZATIONS = ("window", "global", "none")
SPLITS = ("chronological", "shuffled")


def _t(a: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)


# --- (a) rising-val-loss: 28 features x 28-day windows -----------------------------------------

def window_images(seed: int, normalization: str = "window", split: str = "chronological",
                  n_windows: int = 3000, n_features: int = 28, window: int = 28,
                  drift_days: float = 12.0, noise: float = 0.3, target_feature: int = 5,
                  val_fraction: float = 0.2) -> Data:
    """Return 28x28 images of sliding windows over drifting daily features, label in [-1, 1].

    Each feature is a hidden level (a random drift that forgets over about ``drift_days`` days)
    plus daily noise, in its own units (offset and scale). The label of a window is
    tanh(-1.5 x mean hidden level of ``target_feature`` in that window): its *level* predicts the
    label. "window" min-max scales every row inside its own window, which erases the level;
    "global" standardises each feature with statistics of the training split only.

    Parameters
    ----------
    normalization:
        "window", "global" or "none".
    split:
        "chronological" (validation is the last ``val_fraction`` of time, after a gap of one window
        so no day is shared) or "shuffled" (windows shuffled before splitting: neighbours sharing 27
        of 28 days land on both sides, so validation leaks).
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization={normalization!r} is not allowed; allowed: {', '.join(map(repr, NORMALIZATIONS))}")
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not allowed; allowed: {', '.join(map(repr, SPLITS))}")
    rng = np.random.default_rng(seed)
    days = n_windows + window - 1
    phi = np.exp(-1.0 / drift_days)
    shocks = rng.standard_normal((n_features, days)) * np.sqrt(1 - phi**2)
    level = np.empty_like(shocks)
    level[:, 0] = rng.standard_normal(n_features)
    for t in range(1, days):
        level[:, t] = phi * level[:, t - 1] + shocks[:, t]
    offsets = 10 ** rng.uniform(0, 3, (n_features, 1))
    scales = 10 ** rng.uniform(-1, 2, (n_features, 1))
    series = offsets + scales * (level + noise * rng.standard_normal((n_features, days)))
    starts = np.arange(n_windows)
    idx = starts[:, None] + np.arange(window)[None, :]
    images = series[:, idx].transpose(1, 0, 2)  # (n_windows, features, days)
    y = np.tanh(-1.5 * level[target_feature, idx].mean(axis=1))

    if split == "chronological":
        n_val = int(round(n_windows * val_fraction))
        n_train = n_windows - n_val - (window - 1)
        train, val = starts[:n_train], starts[n_windows - n_val:]
    else:
        order = rng.permutation(n_windows)
        n_val = int(round(n_windows * val_fraction))
        train, val = np.sort(order[n_val:]), np.sort(order[:n_val])

    if normalization == "window":
        lo, hi = images.min(axis=2, keepdims=True), images.max(axis=2, keepdims=True)
        images = (images - lo) / np.maximum(hi - lo, 1e-12)
    elif normalization == "global":
        train_days = np.unique(idx[train])
        mu = series[:, train_days].mean(axis=1)[None, :, None]
        sd = series[:, train_days].std(axis=1)[None, :, None]
        images = (images - mu) / sd
    x = _t(images[:, None])
    yt = _t(y[:, None])
    baseline = float(((y[val] - y[train].mean()) ** 2).mean())
    return Data(x[train], yt[train], x[val], yt[val],
                info={"baseline_val_loss": baseline, "target_feature": target_feature})


# --- (b) oscillating-loss: a tiny binary image set ---------------------------------------------

def _stripe_images(rng: np.random.Generator, n: int, angles: np.ndarray, shape: tuple[int, int],
                   contrast: float, noise: float) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((n, 1, h, w), np.float32)
    for i in range(n):
        a = angles[i] + rng.normal(0, 0.12)
        period = rng.uniform(5, 9)
        cy, cx = rng.uniform(0.3 * h, 0.7 * h), rng.uniform(0.25 * w, 0.75 * w)
        radius = rng.uniform(0.22, 0.35) * h
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.cos(2 * np.pi * ((xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)) / period + phase)
        patch = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))
        shade = rng.uniform(-0.5, 0.5) * (xx / w - 0.5) + rng.uniform(-0.5, 0.5) * (yy / h - 0.5)
        out[i, 0] = contrast * wave * patch + shade + noise * rng.standard_normal((h, w))
    return out


def stripe_images(seed: int, n_train: int = 35, n_val: int = 10, n_test: int = 400,
                  shape: tuple[int, int] = (48, 80), contrast: float = 0.8, noise: float = 0.8) -> Data:
    """Return a tiny binary set: a faint patch of stripes, horizontal (0) or vertical (1), in noise.

    35 training and 10 validation images as in the thread, plus ``n_test`` held-out images,
    because 10 validation images are too few to judge a fix.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_val + n_test
    labels = np.tile([0.0, 1.0], n // 2 + 1)[:n]
    rng.shuffle(labels)
    x = _t(_stripe_images(rng, n, labels * np.pi / 2, shape, contrast, noise))
    y = _t(labels[:, None])
    a, b = n_train, n_train + n_val
    return Data(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


def stripe_pretraining_images(seed: int, n: int = 1500, shape: tuple[int, int] = (48, 80),
                              contrast: float = 0.8, noise: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
    """Return a larger related set for pretraining: stripes at 4 orientations, labelled 0..3."""
    rng = np.random.default_rng(seed + 10_000)
    labels = rng.integers(0, 4, n)
    return _t(_stripe_images(rng, n, labels * np.pi / 4, shape, contrast, noise)), _t(labels, torch.long)


# --- (c) negative-loss: 4-channel images, 3 classes at 54 / 45 / 1 % ---------------------------

def imbalanced_images(seed: int, n_train: int = 1000, n_val: int = 2000,
                      fractions: tuple[float, ...] = (0.54, 0.45, 0.01), size: int = 16,
                      channels: int = 4, signal: float = 0.6) -> Data:
    """Return 4-channel images whose class adds its own smooth pattern to noise.

    The validation split is larger than the training one so the 1 % class has ~20 members and
    its recall can be measured.
    """
    rng = np.random.default_rng(seed)
    k = len(fractions)
    coarse = rng.standard_normal((k, channels, 4, 4))
    templates = coarse.repeat(size // 4, axis=2).repeat(size // 4, axis=3)
    templates /= templates.std(axis=(1, 2, 3), keepdims=True)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        counts = np.maximum(1, np.round(np.asarray(fractions) * n).astype(int))
        counts[0] = n - counts[1:].sum()
        labels = rng.permutation(np.repeat(np.arange(k), counts))
        x = signal * templates[labels] + rng.standard_normal((n, channels, size, size))
        return _t(x), _t(labels, torch.long)

    x_train, y_train = draw(n_train)
    x_val, y_val = draw(n_val)
    return Data(x_train, y_train, x_val, y_val)


# --- (d) adam-epsilon: 32x32 images of solid vs broken lines ---------------------------------

def line_images(seed: int, n: int = 64, size: int = 32, gap: int = 3) -> Data:
    """Return ``n`` images of a 1-pixel line between random points on opposite borders, with one-hot
    targets: solid (class 0) or broken (class 1: ``gap`` pixels removed in the middle half).

    Training split only: the case is about the optimizer, not generalisation.
    """
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, size, size), np.float32)
    labels = np.arange(n) % 2
    for i in range(n):
        if rng.random() < 0.5:  # left border -> right border
            p0, p1 = (rng.integers(0, size), 0), (rng.integers(0, size), size - 1)
        else:  # top border -> bottom border
            p0, p1 = (0, rng.integers(0, size)), (size - 1, rng.integers(0, size))
        length = int(max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1]))) + 1
        rows = np.round(np.linspace(p0[0], p1[0], length)).astype(int)
        cols = np.round(np.linspace(p0[1], p1[1], length)).astype(int)
        x[i, 0, rows, cols] = 1.0
        if labels[i]:
            start = rng.integers(length // 4, 3 * length // 4 - gap)
            x[i, 0, rows[start:start + gap], cols[start:start + gap]] = 0.0
    return Data(_t(x), _t(np.eye(2, dtype=np.float32)[labels]))


# --- (e) train-loss-rises: 1D signals, healthy vs disease -------------------------------------

def signals(seed: int, n_train: int = 300, n_val: int = 300, length: int = 128, noise: float = 0.4) -> Data:
    """Return 1D signals: regular single-peaked beats (healthy, 0) or double-peaked beats (disease, 1)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float32)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = rng.permutation(np.tile([0, 1], n // 2 + 1)[:n])
        x = np.empty((n, 1, length), np.float32)
        for i, lab in enumerate(labels):
            period = rng.uniform(14, 22)
            beats = np.arange(rng.uniform(0, period), length, period)
            amps = rng.uniform(0.8, 1.2, len(beats))
            wave = (amps[:, None] * np.exp(-((t[None] - beats[:, None]) ** 2) / 3.0)).sum(0)
            if lab:  # a smaller second peak a few samples after each beat
                lag = rng.uniform(3.5, 5.0)
                wave += 0.6 * (amps[:, None] * np.exp(-((t[None] - beats[:, None] - lag) ** 2) / 3.0)).sum(0)
            drift = 0.3 * np.sin(2 * np.pi * t / rng.uniform(60, 120) + rng.uniform(0, 6.3))
            x[i, 0] = wave + drift + noise * rng.standard_normal(length)
        return _t(x), _t(labels, torch.long)

    x_train, y_train = draw(n_train)
    x_val, y_val = draw(n_val)
    return Data(x_train, y_train, x_val, y_val)
