"""The ``Data`` a run trains on, and one synthetic builder per case, generated in memory from a
seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from .knobs import Choice, Flag, is_int, require


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
        return Data(**{k: v.to(device) if torch.is_tensor(v) else v for k, v in vars(self).items()})


NORMALIZATIONS = ("window", "global", "none")
SPLITS = ("chronological", "shuffled")


def _t(a: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)


def _drawn(draw: Callable[[int], tuple[torch.Tensor, torch.Tensor]], *sizes: int) -> Data:
    """Return Data of the splits ``draw`` makes for ``sizes`` (train, val, ...), drawn in order."""
    return Data(*(t for n in sizes for t in draw(n)))


# --- (a) rising-val-loss: 28 features x 28-day windows -----------------------------------------

WORLDS = ("level", "no-signal")
MAX_WINDOWS = 250_000  # the thread trained on about 60,000 and then 250,000 windows


def window_images(
    seed: int,
    normalization: str = "window",
    split: str = "chronological",
    n_windows: int = 3000,
    n_features: int = 28,
    window: int = 28,
    drift_days: float = 12.0,
    noise: float = 0.3,
    target_feature: int = 5,
    val_fraction: float = 0.2,
    world: str = "level",
    differences: bool = False,
    shuffle_labels: bool = False,
) -> Data:
    """Return 28x28 images of sliding windows over drifting daily features, label in [-1, 1].

    Each feature is a hidden level (a random drift that forgets over about ``drift_days`` days)
    plus daily noise, in its own units (offset and scale). Window ``s`` shows days s+1 .. s+28.

    - ``world``: "level": the label is tanh(-1.5 x the window's mean hidden level of
      ``target_feature``), so that *level* predicts it and per-window min-max scaling erases it;
      "no-signal": ``target_feature`` is a random walk (a trend, as the thread's features have) and
      the label is tanh(1.5 x its next day's move / its daily spread): unknowable from the past.
    - ``normalization``: "window" min-max scales every row inside its own window (the thread);
      "global" standardises each feature with the training days' statistics; "none".
    - ``split``: "chronological": validation is the last ``val_fraction`` of time, after a gap of
      one window so no day is shared; "shuffled": neighbours sharing 27 of 28 days land on both
      sides, so validation leaks.
    - ``differences``: each feature's day-to-day change, before the scaling (the thread's first
      differences).
    - ``shuffle_labels``: the control: training labels permuted (validation keeps the true ones);
      a model as good on them learned nothing from the inputs.

    ``info``: the validation loss of predicting the training mean ("baseline_val_loss") and of
    predicting each window's label by the previous window's ("persistence_val_loss").
    """
    Choice(NORMALIZATIONS).check("normalization", normalization)
    Choice(SPLITS).check("split", split)
    Choice(WORLDS).check("world", world)
    Flag().check("differences", differences)
    Flag().check("shuffle_labels", shuffle_labels)
    ok = is_int(n_windows) and 5 * window <= n_windows <= MAX_WINDOWS
    require(ok, "n_windows", n_windows, f"an int in [{5 * window}, {MAX_WINDOWS}]")
    ok = 0 <= target_feature < n_features
    require(ok, "target_feature", target_feature, f"0 <= target_feature < {n_features}")
    rng = np.random.default_rng(seed)
    # a day before the first window (first differences), one after the last (next move)
    days = n_windows + window + 1
    phi = np.exp(-1.0 / drift_days)
    shocks = rng.standard_normal((n_features, days))
    level = np.empty((n_features, days))
    level[:, 0] = rng.standard_normal(n_features)
    drift = shocks * np.sqrt(1 - phi**2)
    for t in range(1, days):
        level[:, t] = phi * level[:, t - 1] + drift[:, t]
    if world == "no-signal":  # a trending random walk whose next move is a fresh shock
        level[target_feature] = np.cumsum(0.2 * shocks[target_feature])
    offsets = 10 ** rng.uniform(0, 3, (n_features, 1))
    scales = 10 ** rng.uniform(-1, 2, (n_features, 1))
    series = offsets + scales * (level + noise * rng.standard_normal((n_features, days)))
    if differences:  # day t: value(t) - value(t-1); day 0 unused
        series = np.diff(series, axis=1, prepend=np.nan)
    series = series.astype(np.float32)
    starts = np.arange(n_windows)
    idx = starts[:, None] + 1 + np.arange(window)[None, :]  # window s: days s+1 .. s+window
    if world == "level":
        y = np.tanh(-1.5 * level[target_feature, idx].mean(axis=1))
    else:
        y = np.tanh(1.5 * shocks[target_feature, idx[:, -1] + 1])

    n_val = int(round(n_windows * val_fraction))
    if split == "chronological":
        train, val = starts[: n_windows - n_val - (window - 1)], starts[n_windows - n_val :]
    else:
        order = rng.permutation(n_windows)
        train, val = np.sort(order[n_val:]), np.sort(order[:n_val])

    # (n_windows, features, days), filled a feature at a time and scaled in place: a 60,000-window
    # series (lesson 01's exercise) then needs one image array, not four copies (RESULTS.md)
    images = np.empty((n_windows, n_features, window), dtype=np.float32)
    for feature in range(n_features):
        images[:, feature] = series[feature, idx]
    if normalization == "window":
        lo, hi = images.min(axis=2, keepdims=True), images.max(axis=2, keepdims=True)
        images -= lo
        images /= np.maximum(hi - lo, 1e-12)
    elif normalization == "global":
        train_days = np.unique(idx[train])
        images -= series[:, train_days].mean(axis=1)[None, :, None]
        images /= series[:, train_days].std(axis=1)[None, :, None]
    x = _t(images[:, None])
    y_train = rng.permutation(y[train]) if shuffle_labels else y[train]
    baseline = float(((y[val] - y[train].mean()) ** 2).mean())
    after_first = val[val > 0]  # window 0 has no previous window
    persistence = float(((y[after_first] - y[after_first - 1]) ** 2).mean())
    if split == "chronological":  # both parts are runs of consecutive windows: views, not copies
        x_train, x_val = x[train[0] : train[-1] + 1], x[val[0] : val[-1] + 1]
    else:
        x_train, x_val = x[train], x[val]
    info = {
        "baseline_val_loss": baseline,
        "persistence_val_loss": persistence,
        "target_feature": target_feature,
    }
    return Data(x_train, _t(y_train[:, None]), x_val, _t(y[val][:, None]), info=info)


# --- (b) oscillating-loss: a tiny binary image set ---------------------------------------------


def _stripe_images(
    rng: np.random.Generator,
    n: int,
    angles: np.ndarray,
    shape: tuple[int, int],
    contrast: float,
    noise: float,
) -> np.ndarray:
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


def stripe_images(
    seed: int,
    n_train: int = 35,
    n_val: int = 10,
    n_test: int = 400,
    shape: tuple[int, int] = (48, 80),
    contrast: float = 0.8,
    noise: float = 0.8,
) -> Data:
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


def stripe_pretraining_images(
    seed: int,
    n: int = 1500,
    shape: tuple[int, int] = (48, 80),
    contrast: float = 0.8,
    noise: float = 0.8,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return a larger related set for pretraining: ``n`` (1500) stripe images at 4 orientations
    that are not the target classes (22.5, 67.5, 112.5 and 157.5 degrees), labelled 0..3."""
    rng = np.random.default_rng(seed + 10_000)
    labels = rng.integers(0, 4, n)
    x = _stripe_images(rng, n, (labels + 0.5) * np.pi / 4, shape, contrast, noise)
    return _t(x), _t(labels, torch.long)


# --- (c) negative-loss: 4-channel images, 3 classes at 54 / 45 / 1 % ---------------------------


def imbalanced_images(
    seed: int,
    n_train: int = 1000,
    n_val: int = 2000,
    fractions: tuple[float, ...] = (0.54, 0.45, 0.01),
    size: int = 16,
    channels: int = 4,
    signal: float = 0.6,
) -> Data:
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

    return _drawn(draw, n_train, n_val)


# --- (d) adam-epsilon: 16x16 images of solid vs broken lines ---------------------------------


def broken_line_images(
    seed: int,
    n: int = 512,
    size: int = 16,
    length: tuple[int, int] = (9, 12),
    gap: tuple[int, int] = (2, 3),
) -> Data:
    """Return ``n`` solid lines, then the same ``n`` lines with a gap ("broken"), one-hot targets
    [1, 0] / [0, 1]; training split only (the case is about the optimizer).

    The thread's data, shrunk: a 1-pixel line of ``length`` pixels (inclusive range) at a random
    angle and place on a ``size`` x ``size`` image; its broken twin lacks ``gap`` (inclusive range)
    pixels somewhere in its middle half.
    """
    for name, (low, high) in (("length", length), ("gap", gap)):
        ok = isinstance(low, int) and isinstance(high, int) and 1 <= low <= high
        require(ok, name, (low, high), "two ints 1 <= low <= high", "not allowed")
    if not length[0] >= 2 * gap[1] + 2 or length[1] > size:
        raise ValueError(
            f"length={length!r} is not allowed with gap={gap!r}, size={size}; allowed: "
            f"length[0] >= 2 * gap[1] + 2 and length[1] <= size"
        )
    require(is_int(n) and n >= 1, "n", n, "a positive int", "not allowed")
    rng = np.random.default_rng(seed)
    solid = np.zeros((n, 1, size, size), np.float32)
    broken = np.zeros_like(solid)
    for i in range(n):
        while True:
            pixels = int(rng.integers(length[0], length[1] + 1))
            angle = rng.uniform(0, np.pi)
            dr, dc = np.sin(angle), np.cos(angle)
            span = max(abs(dr), abs(dc))  # one pixel per step along the longer axis
            r1, c1 = rng.uniform(0, size - 1, 2)
            r2, c2 = r1 + (pixels - 1) * dr / span, c1 + (pixels - 1) * dc / span
            if 0 <= r2 <= size - 1 and 0 <= c2 <= size - 1:
                break
        rows = np.round(np.linspace(r1, r2, pixels)).astype(int)
        cols = np.round(np.linspace(c1, c2, pixels)).astype(int)
        solid[i, 0, rows, cols] = 1.0
        broken[i, 0, rows, cols] = 1.0
        g = int(rng.integers(gap[0], gap[1] + 1))
        start = int(rng.integers(pixels // 4, 3 * pixels // 4 - g + 1))
        broken[i, 0, rows[start : start + g], cols[start : start + g]] = 0.0
    one_hot = np.eye(2, dtype=np.float32)[np.repeat([0, 1], n)]
    return Data(_t(np.concatenate([solid, broken])), _t(one_hot))


# --- (e) train-loss-rises: 1D signals, healthy vs disease -------------------------------------


def signals(
    seed: int, n_train: int = 300, n_val: int = 300, length: int = 128, noise: float = 0.4
) -> Data:
    """Return 1D signals: regular single-peaked beats (healthy, 0) or double-peaked beats (disease,
    1)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float32)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = rng.permutation(np.tile([0, 1], n // 2 + 1)[:n])
        x = np.empty((n, 1, length), np.float32)
        for i, lab in enumerate(labels):
            period = rng.uniform(14, 22)
            beats = np.arange(rng.uniform(0, period), length, period)
            amps = rng.uniform(0.8, 1.2, len(beats))[:, None]
            wave = (amps * np.exp(-((t[None] - beats[:, None]) ** 2) / 3.0)).sum(0)
            if lab:  # a smaller second peak a few samples after each beat
                lag = rng.uniform(3.5, 5.0)
                wave += 0.6 * (amps * np.exp(-((t[None] - beats[:, None] - lag) ** 2) / 3.0)).sum(0)
            drift = 0.3 * np.sin(2 * np.pi * t / rng.uniform(60, 120) + rng.uniform(0, 6.3))
            x[i, 0] = wave + drift + noise * rng.standard_normal(length)
        return _t(x), _t(labels, torch.long)

    return _drawn(draw, n_train, n_val)
