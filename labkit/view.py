"""How a case's loss is best seen (``Case.view``; panels draw with it). Widget- and matplotlib-free,
so ``labkit.cases`` can use it without importing any plotting."""

from __future__ import annotations

from dataclasses import dataclass

from .knobs import require

PER = ("epoch", "step")  # also what labkit.plots.plot_loss accepts
SCALES = ("linear", "log", "symlog")


@dataclass(frozen=True)
class View:
    """Loss drawn ``per`` "epoch" or "step", on a "linear", "log" or "symlog" y axis; the second
    plot shows ``second``: "metric" or a per-epoch curve of ``History.extra`` (e.g. "stuck_wrong"),
    titled ``second_title``."""

    per: str = "epoch"
    scale: str = "linear"
    second: str = "metric"
    second_title: str = ""

    def __post_init__(self) -> None:
        for name, allowed in (("per", PER), ("scale", SCALES)):
            value = getattr(self, name)
            require(value in allowed, name, value, ", ".join(map(repr, allowed)), "not allowed")
        ok = isinstance(self.second, str) and self.second != ""
        require(ok, "second", self.second, "'metric' or a History.extra curve name", "not allowed")
