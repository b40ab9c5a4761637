"""The Case contract (knobs in, a History out), and what the five case modules share."""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from ..data import Data
from ..device import check_seed, pick_device, seed_everything
from ..diagnosis.judge import Criteria
from ..history import History
from ..knobs import Choice, FloatRange, IntRange, knob, labels, require, specs, validate
from ..runlock import deterministic, exclusive
from ..schedules import SCHEDULES
from ..train import EpochHook, Metric, Setup, TrainConfig, bar, fit
from ..view import View


@dataclass(frozen=True)
class Case:
    """One documented failure: its story, failing knobs, fixes, and how to build a run."""

    name: str  # id used by cases.get()
    title: str  # the question a learner would search for
    symptom: str  # one sentence in the learner's words
    lesson: str  # notebook file in lessons/
    code: str  # the diagnosis code of its failure: verdict() names the failing run with it
    defaults: Any  # frozen knob dataclass; its values reproduce the failure
    # fix name -> knob overrides: healthy on every seed; the first is the main fix
    fixes: dict[str, dict[str, Any]]
    build: Callable[[Any, torch.Generator], Setup]  # (knobs, CPU generator) -> Setup, on the CPU
    # the symptom's checks, in words; all True = the failure is there
    checks: Callable[[History], dict[str, bool]]
    # health criteria, in words with their numbers; all True = healthy
    health: Callable[[History], dict[str, bool]]
    # the thread's suggestions that do not fix it in our runs: name -> knob overrides ("try: ...")
    tries: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    view: View = View()  # how its loss is best seen (per step/epoch, y scale); panels draw with it

    def __post_init__(self) -> None:
        if both := set(self.fixes) & set(self.tries):
            raise ValueError(
                f"{self.name}: {sorted(both)} are both fixes and tries; a name is one or the other"
            )

    def knobs(self, **overrides: Any) -> Any:
        """Return the default knobs with ``overrides`` applied, after checking them."""
        return validate(self.defaults, overrides)

    def knob_specs(self) -> dict[str, tuple[Any, str]]:
        """Return ``{knob: (spec, help)}`` in declaration order."""
        return specs(self.defaults)

    def knob_labels(self) -> dict[str, str]:
        """Return ``{knob: label}``: what each control says ("learning rate", "Adam epsilon")."""
        return labels(self.defaults)

    def overrides(self, name: str) -> dict[str, Any]:
        """Return the knob overrides of the fix or try ``name`` (``case.fixes``, ``case.tries``)."""
        both = self.fixes | self.tries
        allowed = ", ".join(map(repr, both))
        require(name in both, "name", name, allowed, f"neither a fix nor a try of {self.name!r}")
        return dict(both[name])

    def shows_symptom(self, history: History) -> bool:
        """Return True when every symptom check holds (the verdict's "the asker's failure")."""
        return all(self.checks(history).values())

    def criteria(self) -> Criteria:
        """Return what this case says about a run of it, as ``labkit.verdict`` reads it."""
        return Criteria(self.code, self.lesson, self.checks, self.health)

    def run(
        self,
        seed: int = 0,
        device: str | torch.device | None = None,
        *,
        progress: bool = False,
        on_epoch: EpochHook | None = None,
        **knobs: Any,
    ) -> History:
        """Train once with the default knobs changed by ``knobs`` and return the History.

        ``seed`` fixes the data, the initial weights, shuffling and dropout; ``device`` None picks
        cuda, then mps, then cpu; ``progress`` shows a progress bar over epochs; ``on_epoch`` is
        called with the growing History after each epoch (live plots).
        """
        k = self.knobs(**knobs)
        values, defaults = dataclasses.asdict(k), dataclasses.asdict(self.defaults)
        changed = {n: v for n, v in values.items() if v != defaults[n]}
        dev = pick_device(device)
        with exclusive(), deterministic(dev):
            generator = seed_everything(seed)
            setup = self.build(k, generator)
            history = History(
                case=self.name,
                knobs=values,
                changed=changed,
                seed=int(seed),
                device=str(dev),
                metric_name=setup.metric_name,
            )
            # the data's baselines, e.g. baseline_val_loss (predict the mean)
            info = setup.data.info.items()
            history.final.update({n: float(v) for n, v in info if n.endswith("_val_loss")})
            hooks = {"progress": progress, "on_epoch": on_epoch}
            return fit(setup, history=history, device=dev, generator=generator, **hooks)

    def sweep(
        self,
        seed: int = 0,
        device: str | torch.device | None = None,
        progress: bool = False,
        **grid: Any,
    ) -> dict[tuple, History]:
        """Train every combination of ``grid`` one after another and return ``{values: History}``.

        ``grid`` maps knob names (and optionally ``seeds``; otherwise every run has ``seed``) to
        lists of values; the keys are tuples of values in the grid's order, the last changing
        fastest: ``case.sweep(lr=[1e-3, 1e-2], eps=[1e-8])`` gives ``{(1e-3, 1e-8): ...,
        (1e-2, 1e-8): ...}``, each History exactly ``run``'s. Every value is checked before
        anything trains; ``progress`` shows a bar.
        """
        if not grid:
            raise ValueError(
                "grid: give each knob to sweep a list, e.g. case.sweep(lr=[1e-3, 1e-2])"
            )
        for name, values in grid.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise ValueError(f"{name} must be a non-empty list of values, got {values!r}")
        combos = list(itertools.product(*grid.values()))
        for values in combos:  # names a bad knob, value or seed before any training
            self.knobs(**{n: v for n, v in zip(grid, values) if n != "seeds"})
        for s in grid.get("seeds", [seed]):
            check_seed(s)
        runs = {}
        for values in bar(combos, f"{self.name} sweep", progress):
            knobs = dict(zip(grid, values))
            runs[values] = self.run(seed=knobs.pop("seeds", seed), device=device, **knobs)
        return runs


# the knob specs several cases share: learning rate, Adam epsilon, dropout rate
LR = FloatRange(1e-7, 1.0, log=True)
EPS = FloatRange(1e-10, 1.0, log=True)
DROPOUT = FloatRange(0.0, 0.9)


def case_setup(
    k: Any, model: nn.Module, loss: nn.Module, data: Data, metrics: dict[str, Metric], **more: Any
) -> Setup:
    """Return a case's Setup: trained as ``TrainConfig.from_knobs(k)`` says, the first metric the
    main one, shown in words ("sign_accuracy": "sign accuracy")."""
    name = next(iter(metrics)).replace("_", " ")
    return Setup(model, loss, data, TrainConfig.from_knobs(k), metrics, name, **more)


def last(values: list[float]) -> float:
    """Return the last value of a curve, NaN when it is empty."""
    return values[-1] if values else math.nan


def data_seed(generator: torch.Generator) -> int:
    """Return the seed of a case's data, the first draw of the run's generator."""
    return int(torch.randint(0, 2**31 - 1, (1,), generator=generator))


def early_stopping_knob(most: int) -> Any:
    """Return the early-stopping patience knob (default 0: off), at most ``most`` epochs."""
    help = "stop after this many epochs without a new best validation loss (0: off)"
    return knob(0, IntRange(0, most, zero="off"), help)


def schedule_knob(help: str = "learning-rate schedule") -> Any:
    """Return the learning-rate schedule knob every case has (default: constant)."""
    return knob("constant", Choice(SCHEDULES), help)
