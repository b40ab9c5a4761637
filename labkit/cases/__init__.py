"""The five documented failures: ``names()`` in lesson order, ``get(name)`` for one Case."""

from __future__ import annotations

from ..diagnosis.judge import declare
from ..train import Setup
from . import adam_epsilon, negative_loss, oscillating_loss, rising_val_loss, train_loss_rises
from .base import Case

_MODULES = (rising_val_loss, oscillating_loss, negative_loss, adam_epsilon, train_loss_rises)
_CASES = {m.CASE.name: m.CASE for m in _MODULES}  # in lesson order
# labkit.verdict (and so diagnose, panels, lessons) judges their runs by these
for _case in _CASES.values():
    declare(_case.name, _case.criteria())


def names() -> list[str]:
    """Return the case names in lesson order."""
    return list(_CASES)


def get(name: str) -> Case:
    """Return the case called ``name``."""
    allowed = ", ".join(_CASES)
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a case name (str), got {type(name).__name__}; allowed: {allowed}"
        )
    if name not in _CASES:
        raise ValueError(f"unknown case {name!r}; allowed: {allowed}")
    return _CASES[name]


__all__ = ["Case", "Setup", "get", "names"]
