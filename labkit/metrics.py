"""Metrics as functions (output, target) -> 0-d tensor, so the loop never syncs to read them."""

from __future__ import annotations

from typing import Callable

import torch


def accuracy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the fraction of argmax predictions equal to integer targets."""
    return (output.argmax(dim=1) == target).float().mean()


def binary_accuracy(threshold: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Return accuracy of ``output > threshold`` (0.5: probabilities, 0: logits) vs 0/1 targets."""

    def metric(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ((output > threshold).float() == target).float().mean()

    return metric


def sign_accuracy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return the fraction of predictions with the same sign as the target."""
    return (torch.sign(output) == torch.sign(target)).float().mean()


def one_hot_accuracy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return accuracy of argmax predictions against one-hot (or soft) targets."""
    return (output.argmax(dim=1) == target.argmax(dim=1)).float().mean()


def recall(cls: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Return the recall of class ``cls`` (argmax predictions; NaN-free: 0 when absent)."""

    def metric(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mask = target == cls
        hits = (output.argmax(dim=1)[mask] == cls).float().sum()
        return hits / mask.sum().clamp(min=1)

    return metric
