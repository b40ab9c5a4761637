"""Learning-rate schedules: pure functions of the epoch, plus reduce-on-plateau's small state."""

from __future__ import annotations

import math

from .knobs import Choice, require

SCHEDULES = ("constant", "step", "cosine", "plateau")

STEP_MILESTONES = (0.5, 0.75)  # fractions of the run where "step" divides the lr by 10
STEP_FACTOR = 0.1
COSINE_FLOOR = 0.01  # cosine decays to this fraction of the base lr, not to zero
PLATEAU_FACTOR = 0.3  # "plateau" multiplies the lr by this when the *training* loss ...
PLATEAU_PATIENCE_FRACTION = 0.03  # ... after this fraction of the run without a new best
PLATEAU_MIN_PATIENCE = 2
PLATEAU_REL_TOL = 1e-3  # an improvement must beat the best by this relative margin


def lr_at(schedule: str, base_lr: float, epoch: int, num_epochs: int) -> float:
    """Return the lr of epoch ``epoch`` (0-based) for the stateless schedules (not "plateau")."""
    stateless = schedule in SCHEDULES and schedule != "plateau"  # plateau has a state: LRSchedule
    require(stateless, "schedule", schedule, ", ".join(map(repr, SCHEDULES)), "not allowed")
    progress = epoch / max(num_epochs, 1)
    if schedule == "step":
        return base_lr * STEP_FACTOR ** sum(progress >= m for m in STEP_MILESTONES)
    if schedule == "cosine":
        wave = (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))
        return base_lr * (COSINE_FLOOR + wave)
    return base_lr


class LRSchedule:
    """Tracks the lr over a run: ``lr`` for the coming epoch, ``step(loss)`` after each epoch."""

    def __init__(self, schedule: str, base_lr: float, num_epochs: int):
        Choice(SCHEDULES).check("schedule", schedule)
        self.schedule, self.base_lr, self.num_epochs = schedule, base_lr, num_epochs
        self.epoch = 0
        self.lr = base_lr
        self._best = math.inf
        self._since_best = 0
        self._patience = max(PLATEAU_MIN_PATIENCE, round(PLATEAU_PATIENCE_FRACTION * num_epochs))

    def step(self, monitored_loss: float) -> None:
        """Advance one epoch; ``monitored_loss`` drives "plateau" and is ignored otherwise."""
        self.epoch += 1
        if self.schedule != "plateau":
            self.lr = lr_at(self.schedule, self.base_lr, self.epoch, self.num_epochs)
            return
        if monitored_loss < self._best - PLATEAU_REL_TOL * abs(self._best):
            self._best, self._since_best = monitored_loss, 0
            return
        self._since_best += 1
        if self._since_best > self._patience:
            self.lr *= PLATEAU_FACTOR
            self._since_best = 0
