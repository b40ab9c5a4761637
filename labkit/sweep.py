"""Train a whole knob grid at once: configurations that differ only in hot knobs train as one stack.

``sweep(case, {"lr": [...], "eps": [...]})`` builds every combination of the grid, groups the
ones that differ only in *hot* knobs and trains each group as one stacked model
(``stacked.fit_stacked``: K models' weights in one tensor, one ``vmap``-ed forward, per-model
hyper-parameters). A knob is hot when its case declares it a training-config knob that sets one of
the per-model TrainConfig fields (lr, eps, weight decay, betas, schedule, early stopping) and
nothing else (``knob(..., train=True)``, ``train.hot_knobs``; tests/test_sweep.py checks each
declaration by building with two values). Everything else is *cold* and runs one configuration at
a time, exactly as ``Case.run``:

- the model's structure and everything inside its modules (model choice, dropout rate: a
  module's constant that also changes the masks drawn), the loss (its type or class weights), the
  data (split, normalization, size), batch size, epochs, optimizer, augmentation;
- seeds: in labkit the seed also draws the data and the shuffling order, so each seed is its own
  group (the configurations of one seed are still stacked);
- groups of one configuration, and models on devices where stacking was measured not to pay
  (``VECTORIZE``, ``stacking_pays``; figures in benchmarks/RESULTS.md).

Each swept History has exactly the fields of ``Case.run``'s, recorded by the same
``train.record_epoch``, and matches the single run with the same knobs and seed up to float rounding
(batched kernels sum in another order; chaotic training then lets runs drift apart, by a few
percent after hundreds of steps). ``wall_time`` of a stacked run is its group's loop time divided
by the group's size.

The case is used duck-typed (``SweepCase``): this module imports nothing from labkit.cases, so the
imports run one way (cases -> sweep).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch

from .device import pick_device, seed_everything
from .history import History
from .runlock import deterministic, exclusive
from .stacked import fit_stacked
from .train import Setup, fit, hot_knobs


class SweepCase(Protocol):
    """What ``sweep`` uses of a case (labkit.cases.Case is one)."""

    name: str
    defaults: Any  # the knob dataclass: declares which knobs are hot
    build: Callable[[Any, torch.Generator], Setup]

    def knobs(self, **overrides: Any) -> Any: ...

    def new_history(self, knobs: Any, seed: int, device: torch.device, setup: Setup) -> History: ...

    def run(
        self,
        seed: int = 0,
        device: str | torch.device | None = None,
        *,
        progress: bool = False,
        on_epoch: Callable[[History], None] | None = None,
        **knobs: Any,
    ) -> History: ...


SEEDS = "seeds"  # grid key that sweeps the seed as one more dimension
MODES = ("auto", "always", "never")
# Where "auto" stacks (measured with benchmarks/sweep_speed.py, figures in benchmarks/RESULTS.md):
# "all" on CUDA, where labkit's small models are launch-bound; "frozen" on the CPU: only models
# with frozen weights, which a stack computes once for all K (5-6x); the others are compute-bound
# there and stacking measured 0.4x-1.7x (vmap turns K convolutions into one grouped convolution,
# slow on CPU). MPS: untested, sequential.
VECTORIZE = {"cpu": "frozen", "cuda": "all", "mps": "none"}
MIN_STACK = 2  # groups smaller than this run with Case.run

Key = tuple


def grid_keys(grid: dict[str, Sequence[Any]]) -> list[Key]:
    """Return the keys ``sweep`` will use: tuples of values in the grid's order, last knob
    fastest."""
    return list(itertools.product(*grid.values()))


def sweep(
    case: SweepCase,
    grid: dict[str, Sequence[Any]],
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
    mode: str = "auto",
    on_epoch: Callable[[], None] | None = None,
) -> dict[Key, History]:
    """Train every combination of ``grid`` and return ``{key: History}``.

    Parameters
    ----------
    grid:
        Knob name -> list of values (and optionally ``"seeds"`` -> list of seeds). Keys of the
        result are tuples of the values in the grid's order (``grid_keys``), e.g.
        ``sweep(case, {"lr": [1e-3, 1e-2], "eps": [1e-8]})`` -> ``{(1e-3, 1e-8): ..., (1e-2, 1e-8):
        ...}``.
    seed:
        The seed of every run when the grid has no ``"seeds"``.
    device:
        None picks cuda, then mps, then cpu.
    progress:
        Show a tqdm bar over configurations and one over each stacked group's epochs.
    mode:
        "auto" stacks where it was measured to pay off (``VECTORIZE``), "always" stacks every group
        of two or more, "never" runs everything one by one with ``Case.run``.
    on_epoch:
        Called after every epoch of every run, stacked or not; an exception it raises stops the
        sweep (panels use it to give way to the learner's own run).
    """
    with exclusive():  # one run at a time per process: runs share torch's global RNG
        return _sweep(case, grid, seed, device, progress, mode, on_epoch)


def _sweep(
    case: SweepCase,
    grid: dict[str, Sequence[Any]],
    seed: int,
    device: str | torch.device | None,
    progress: bool,
    mode: str,
    on_epoch: Callable[[], None] | None,
) -> dict[Key, History]:
    if not isinstance(grid, dict) or not grid:
        raise ValueError(
            "grid must be a non-empty dict of knob -> list of values, e.g. {'lr': [1e-3, 1e-2]}"
        )
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not allowed; allowed: {', '.join(map(repr, MODES))}")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
    knob_grid = {n: list(v) for n, v in grid.items() if n != SEEDS}
    # names a bad knob or value before any training
    for values in itertools.product(*knob_grid.values()):
        case.knobs(**dict(zip(knob_grid, values)))
    dev = pick_device(device)
    keys = grid_keys(grid)
    seeds = list(dict.fromkeys(grid.get(SEEDS, [seed])))
    stack = mode == "always" or (mode == "auto" and VECTORIZE.get(dev.type, "none") != "none")
    results: dict[tuple, History] = {}  # (seed, knob values) -> History
    bar = _bar(progress, len(keys), f"{case.name} sweep")
    hot: list[str] = []  # the grid's knobs that stack
    # the grid's first configuration, built to decide; trained without building again
    kept: _Built | None = None
    if stack:
        kept = _Built.make(case, {n: v[0] for n, v in knob_grid.items()}, seeds[0], dev)
        # a probe or restore_best needs each model's own weights after an epoch: those runs go one
        # by one
        stackable = kept.setup.probe is None and not kept.setup.train.restore_best
        if stackable and (mode == "always" or stacking_pays(kept.setup, dev)):
            declared = hot_knobs(case.defaults)
            hot = [n for n in knob_grid if n in declared]
    for s in seeds:
        cold = [n for n in knob_grid if n not in hot]
        for cold_values in dict.fromkeys(itertools.product(*(knob_grid[n] for n in cold))):
            members = [
                dict(zip(cold, cold_values)) | dict(zip(hot, h))
                for h in dict.fromkeys(itertools.product(*(knob_grid[n] for n in hot)))
            ]
            built = (
                kept if kept is not None and kept.knobs == members[0] and kept.seed == s else None
            )
            kept = None  # any other build or run reseeds the global RNGs the kept build saved
            if len(members) >= MIN_STACK:
                for m, h in zip(
                    members, _fit_group(case, members, hot, s, dev, progress, built, on_epoch)
                ):
                    results[(s, tuple(m[n] for n in knob_grid))] = h
            else:
                m = members[0]
                results[(s, tuple(m[n] for n in knob_grid))] = (
                    _run_built(case, built, dev, progress, on_epoch)
                    if built is not None
                    else case.run(
                        seed=s,
                        device=dev,
                        progress=progress,
                        on_epoch=None if on_epoch is None else lambda _h: on_epoch(),
                        **m,
                    )
                )
            bar.update(len(members))
    bar.close()
    out = {}
    for key in keys:
        values = dict(zip(grid, key))
        out[key] = results[(int(values.pop(SEEDS, seed)), tuple(values[n] for n in knob_grid))]
    return out


class _NoBar:
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


def _bar(progress: bool, total: int, desc: str) -> Any:
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


# --- builds ------------------------------------------------------------------------------------


def _build(
    case: SweepCase, knobs: dict[str, Any], seed: int, device: torch.device
) -> tuple[Setup, torch.Generator]:
    """Build like Case.run does; the returned generator (and torch's global RNG) are left as fit
    would find them."""
    with deterministic(device):
        generator = seed_everything(seed)
        return case.build(case.knobs(**knobs), generator), generator


@dataclasses.dataclass
class _Built:
    """A build kept for training later: the setup, its generator and the global RNG states fit would
    find."""

    knobs: dict[str, Any]
    seed: int
    setup: Setup
    generator: torch.Generator
    rng: tuple

    @classmethod
    def make(
        cls, case: SweepCase, knobs: dict[str, Any], seed: int, device: torch.device
    ) -> _Built:
        setup, generator = _build(case, knobs, seed, device)
        return cls(
            knobs,
            seed,
            setup,
            generator,
            (torch.get_rng_state(), np.random.get_state(), random.getstate()),
        )

    def restore(self) -> tuple[Setup, torch.Generator]:
        """Put the global RNGs back as they were after this build (other builds reseeded them
        since)."""
        cpu, numpy_state, python_state = self.rng
        torch.set_rng_state(cpu)
        np.random.set_state(numpy_state)
        random.setstate(python_state)
        return self.setup, self.generator


def stacking_pays(setup: Setup, device: torch.device) -> bool:
    """Return True when "auto" stacks configurations of ``setup`` on ``device`` (see VECTORIZE)."""
    policy = VECTORIZE.get(device.type, "none")
    if policy != "frozen":
        return policy == "all"
    trainable = {
        id(p)
        for p in (setup.params if setup.params is not None else setup.model.parameters())
        if p.requires_grad
    }
    return any(id(p) not in trainable for p in setup.model.parameters())


def _run_built(
    case: SweepCase,
    built: _Built,
    device: torch.device,
    progress: bool,
    on_epoch: Callable[[], None] | None = None,
) -> History:
    """Finish ``Case.run`` from a kept build (the same History, without building again)."""
    with deterministic(device):
        setup, generator = built.restore()
        history = case.new_history(case.knobs(**built.knobs), built.seed, device, setup)
        return fit(
            setup,
            history=history,
            device=device,
            generator=generator,
            progress=progress,
            on_epoch=None if on_epoch is None else lambda _h: on_epoch(),
        )


def _fit_group(
    case: SweepCase,
    members: list[dict[str, Any]],
    hot: list[str],
    seed: int,
    device: torch.device,
    progress: bool,
    built: _Built | None,
    on_epoch: Callable[[], None] | None,
) -> list[History]:
    """Train the configurations of one group (equal but for the ``hot`` knobs) as one stack.

    The group's first configuration is built (or ``built``, when it was kept) and every member gets
    its TrainConfig with its own values of the hot knobs: hot knobs feed the field of their name and
    nothing else (``train.hot_knobs``), so that is all that differs between the members' own builds.
    """
    first, generator = (
        built.restore() if built is not None else _build(case, members[0], seed, device)
    )
    knobs = [case.knobs(**m) for m in members]
    cfgs = [dataclasses.replace(first.train, **{n: getattr(k, n) for n in hot}) for k in knobs]
    with deterministic(device):
        histories = [case.new_history(k, seed, device, first) for k in knobs]
        return fit_stacked(
            first,
            cfgs,
            histories,
            device=device,
            generator=generator,
            progress=progress,
            on_epoch=on_epoch,
        )
