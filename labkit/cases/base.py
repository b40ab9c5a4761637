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
from ..knobs import Choice, FloatRange, IntRange, knob, labels, specs, validate
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
    # the diagnosis code of its failure (labkit.diagnosis): verdict() names the failing run with it
    code: str
    # frozen knob dataclass; its values reproduce the failure
    defaults: Any
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
        """Return ``{knob: label}``: what each control says, in words ("learning rate", "Adam
        epsilon")."""
        return labels(self.defaults)

    def overrides(self, name: str) -> dict[str, Any]:
        """Return the knob overrides of the fix or try ``name`` (``case.fixes``, ``case.tries``)."""
        both = self.fixes | self.tries
        if name not in both:
            raise ValueError(
                f"name={name!r} is neither a fix nor a try of {self.name!r}; allowed: "
                f"{', '.join(map(repr, both))}"
            )
        return dict(both[name])

    def shows_symptom(self, history: History) -> bool:
        """Return True when every symptom check holds for ``history`` (the verdict's "the asker's
        failure")."""
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
        dev = pick_device(device)
        with exclusive(), deterministic(dev):
            generator = seed_everything(seed)
            setup = self.build(k, generator)
            history = self._new_history(k, seed, dev, setup)
            hooks = {"progress": progress, "on_epoch": on_epoch}
            return fit(setup, history=history, device=dev, generator=generator, **hooks)

    def _new_history(self, knobs: Any, seed: int, device: torch.device, setup: Setup) -> History:
        """Return the empty History a run of ``knobs`` on ``setup`` starts from."""
        values, defaults = dataclasses.asdict(knobs), dataclasses.asdict(self.defaults)
        history = History(
            case=self.name,
            knobs=values,
            changed={n: v for n, v in values.items() if v != defaults[n]},
            seed=int(seed),
            device=str(device),
            metric_name=setup.metric_name,
        )
        # the data's baselines, e.g. baseline_val_loss (predict the mean)
        info = setup.data.info.items()
        history.final.update({k: float(v) for k, v in info if k.endswith("_val_loss")})
        return history

    def sweep(
        self,
        seed: int = 0,
        device: str | torch.device | None = None,
        progress: bool = False,
        **grid: Any,
    ) -> dict[tuple, History]:
        """Train every combination of ``grid`` one after another and return ``{values: History}``.

        ``grid`` maps knob names to lists of values, and optionally ``seeds`` to a list of seeds
        (otherwise every run has ``seed``). The keys are tuples of values in the grid's order, the
        last knob changing fastest: ``case.sweep(lr=[1e-3, 1e-2], eps=[1e-8])`` gives
        ``{(1e-3, 1e-8): ..., (1e-2, 1e-8): ...}``. Each History is exactly ``run``'s with those
        knobs and seed. Every value is checked before anything trains; ``progress`` shows a bar
        over the runs.
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
