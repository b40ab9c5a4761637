"""The widget-free engine behind ``labkit.explore``: knob requests in, Histories and events out.

A ``Runner`` trains one case in a background thread. Each ``request`` supersedes the one before (a
run in progress stops at its next epoch; a stale result is never reported) and results are cached
by knob values (``key``). Once the latest request is answered it trains ahead every run one control
move away (``labkit.moves``), giving way at the next epoch to a newer request or to the learner's
own run. It reports ``Event``s to one ``on_event`` callback. No ipywidgets or matplotlib here.
"""

from __future__ import annotations

import atexit
import dataclasses
import sys
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import cases
from .cases.base import Case
from .device import check_seed, pick_device
from .history import History
from .knobs import Flag, is_number, must_be, require
from .moves import LOG_STEP, Move, key, moves
from .runlock import others_waiting

__all__ = ["Chunk", "Event", "LOG_STEP", "Move", "Runner", "key"]

# a run still going after this long sends "live" events with its growing History ...
LIVE_AFTER_S = 1.0
LIVE_EVERY_S = 0.5  # ... at most this often
LIVE_SHARE = 5  # ... and at most 1/5 of the run's time goes into handling them
# "progress" events at most this often (each one is a message to the front end)
PROGRESS_EVERY_S = 0.1
# runs per precompute step (one "precompute" event for the lot: the panel's status names them)
PRECOMPUTE_CHUNK = 4

_LIVE: weakref.WeakSet = weakref.WeakSet()  # runners that may have a worker thread, closed at exit


@dataclass(frozen=True)
class Event:
    """What a Runner reports to ``on_event``; ``kind`` says which fields are set.

    - "training": a run of ``knobs`` started; ``total`` epochs.
    - "progress": ``done`` of ``total`` epochs of that run.
    - "live": the run's growing ``history`` (runs longer than LIVE_AFTER_S only; throttled).
    - "result": ``history`` answers the latest request; ``note`` says how ("from the cache: no
      training").
    - "precompute": a background chunk starts: ``knob`` = ``values``, the other knobs at ``knobs``;
      ``note`` says it in words, ``done``/``total``: moves from the latest request already cached.
    - "precomputed": that chunk ended; ``note`` is "done", "gave way" or "failed".
    - "error": ``message`` ("RuntimeError: ...") of a failed run, chunk or ``on_event`` call.
    """

    kind: str
    knobs: dict[str, Any] = field(default_factory=dict)
    history: History | None = None
    done: int = 0
    total: int = 0
    knob: str = ""
    values: tuple[float, ...] = ()
    note: str = ""
    message: str = ""


@dataclass(frozen=True)
class Chunk:
    """One precompute step: ``knob`` = each of ``values``, the other knobs at ``base``; a fix
    button's run has ``knob`` "" and no values (``base`` is its knobs)."""

    base: dict[str, Any]
    knob: str
    values: tuple[Any, ...]
    label: str = ""  # in words: "fix: cross-entropy", "lr = 0.0056, 0.0018"

    def runs(self) -> list[dict[str, Any]]:
        """Return the knobs of every run the chunk trains."""
        return [self.base | {self.knob: v} for v in self.values] if self.knob else [dict(self.base)]


class _Superseded(Exception):
    """A newer request (or the learner's own run) replaced the run in progress."""


@atexit.register
def _close_all() -> None:
    """Stop every worker before the interpreter goes (a thread killed inside torch aborts)."""
    for runner in list(_LIVE):
        runner.close(timeout=10)


def _check_timeout(timeout: Any) -> None:
    ok = timeout is None or (is_number(timeout) and timeout > 0)
    require(ok, "timeout", timeout, "None or a number of seconds > 0", "not allowed")


class Runner:
    """Train ``case`` (a name or a Case) for the latest requested knobs in a background thread.

    ``device`` None picks cuda, then mps, then cpu; ``precompute`` trains the runs one control move
    from the latest request; ``runs`` (Histories of this case and seed) fill the cache;
    ``on_event`` gets every ``Event``, from the worker thread or (a cache hit) from ``request``.
    """

    def __init__(
        self,
        case: str | Case,
        seed: int = 0,
        device: Any = None,
        precompute: bool = True,
        runs: Iterable[History] = (),
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.case = case if isinstance(case, Case) else cases.get(case)
        self.seed = check_seed(seed)
        self._precompute = Flag().check("precompute", precompute)
        if on_event is not None and not callable(on_event):
            raise TypeError(
                f"on_event must be a function of one Event or None, got {type(on_event).__name__}"
            )
        self.device = pick_device(device)
        self.on_event = on_event
        self.cache: dict[tuple, History] = {}
        # knobs of every run started, in order (also one cancelled)
        self.calls: list[dict[str, Any]] = []
        self.errors: list[str] = []  # every error reported, also those on_event could not show
        self.knobs: dict[str, Any] | None = None  # all knobs of the latest request
        self.touched: list[str] = []  # knobs the latest request changed: their moves go first
        self.history: History | None = None  # the answer to the latest answered request
        self.previous: History | None = None  # the answer before it (a panel's ghost)
        specs = self.case.knob_specs()
        for h in runs:
            must_be("runs", h, History, f"Histories of case {self.case.name!r}")
            if h.case != self.case.name or h.seed != seed or set(h.knobs) != set(specs):
                raise ValueError(
                    f"runs must come from case {self.case.name!r} with seed={seed}; "
                    f"got a run of case {h.case!r} with seed={h.seed}"
                )
            self.cache[key(h.knobs)] = h
        self._tried: set[tuple] = set()  # keys a finished chunk trained: never planned again
        self._lock = threading.RLock()  # guards the request state below
        self._generation = 0  # bumped by every request; a run whose generation is old is stale
        self._pending: tuple[int, dict[str, Any]] | None = None
        self._worker: threading.Thread | None = None
        self._settled = threading.Event()  # set when the latest request is answered (or failed)
        self._settled.set()  # nothing requested yet: nothing to wait for
        _LIVE.add(self)

    @property
    def running(self) -> bool:
        """Return True while the worker thread trains or precomputes."""
        return (worker := self._worker) is not None and worker.is_alive()

    def request(self, **knobs: Any) -> int:
        """Make ``knobs`` (defaults for the rest) the wanted run: answer from the cache or queue it.

        A bad knob raises before anything changes; returns the request's number.
        """
        wanted = dataclasses.asdict(self.case.knobs(**knobs))
        with self._lock:
            self._generation += 1
            generation = self._generation
            if self.knobs is not None:
                self.touched = [n for n in wanted if wanted[n] != self.knobs[n]] or self.touched
            self.knobs = wanted
            cached = self.cache.get(key(wanted))
            self._pending = None if cached is not None else (generation, wanted)
            self._settled.clear()
        if cached is not None:
            self._answer(cached, generation, "from the cache: no training")
        with self._lock:
            if not self.running:
                name = f"labkit-runner-{self.case.name}"
                self._worker = threading.Thread(target=self._work, name=name, daemon=True)
                self._worker.start()
        return generation

    def wait(self, timeout: float | None = None, precompute: bool = False) -> History | None:
        """Block until the latest request is answered (and, with ``precompute``, the plan is done);
        return its History. Raises TimeoutError after ``timeout`` seconds."""
        _check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._settled.wait(timeout):
            raise TimeoutError(f"the run did not finish within timeout={timeout} s")
        worker = self._worker
        if precompute and worker is not None and worker is not threading.current_thread():
            worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                raise TimeoutError(f"the precompute did not finish within timeout={timeout} s")
        return self.history

    def close(self, timeout: float | None = None) -> None:
        """Stop training and precomputing (a run in progress stops at its next epoch); a later
        ``request`` still trains, without precompute."""
        _check_timeout(timeout)
        with self._lock:
            self._precompute = False
            self._generation += 1
            self._pending = None
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)
        self._settled.set()

    def _around(self, knobs: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[str]]:
        """Return the knobs to look around and those to plan first: ``knobs`` and none, or the
        latest request and the knobs it changed."""
        if knobs is None:
            return self.knobs, self.touched
        return dataclasses.asdict(self.case.knobs(**knobs)), []

    def moves(self, knobs: dict[str, Any] | None = None) -> list[Move]:
        """Return the control moves from ``knobs``, most likely first."""
        base, first = self._around(knobs)
        return [] if base is None else moves(self.case, base, first)

    def coverage(self, knobs: dict[str, Any] | None = None) -> tuple[int, int]:
        """Return (moves served from the cache, all moves) from ``knobs``."""
        found = self.moves(knobs)
        return sum(key(m.knobs) in self.cache for m in found), len(found)

    def plan(self, knobs: dict[str, Any] | None = None) -> Chunk | None:
        """Return the next chunk to precompute around ``knobs`` (None when done); trains nothing.

        The first move neither cached nor tried decides; that knob's other moves of the same level
        (all of them for a knob just moved) join it, up to PRECOMPUTE_CHUNK.
        """
        base, touched = self._around(knobs)
        todo = [] if base is None else moves(self.case, base, touched)
        todo = [m for m in todo if (k := key(m.knobs)) not in self.cache and k not in self._tried]
        if not todo:
            return None
        first = todo[0]
        if not first.knob:
            return Chunk(dict(first.knobs), "", (), first.label)
        both = first.knob in touched  # a knob just moved takes its two-position moves along
        same = [m for m in todo if m.knob == first.knob and (both or m.level == first.level)]
        values = tuple(m.knobs[first.knob] for m in same[:PRECOMPUTE_CHUNK])
        words = ", ".join(f"{v:.2g}" if isinstance(v, float) else str(v) for v in values)
        return Chunk(dict(base), first.knob, values, f"{first.knob} = {words}")

    # ---- the worker ---------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            while True:
                with self._lock:
                    job, self._pending = self._pending, None
                    # precompute only once the latest request is answered
                    ahead = self._precompute and self.history is not None and self._settled.is_set()
                if job is not None:
                    self._train(*job)
                elif ahead and (chunk := self.plan()) is not None:
                    self._precompute_chunk(chunk)
                else:
                    with self._lock:
                        if self._pending is None:
                            self._worker = None
                            return
        except Exception as exc:  # else wait() would hang with the error unseen
            self._report(exc)
            with self._lock:
                if self._worker is threading.current_thread():
                    self._worker = None
            self._settled.set()

    def _train(self, generation: int, knobs: dict[str, Any]) -> None:
        start = time.monotonic()
        total = int(knobs.get("epochs", 1))
        marks = {"live": start + LIVE_AFTER_S, "progress": 0.0}
        self._emit(Event("training", knobs=dict(knobs), total=total))

        def on_epoch(h: History) -> None:
            if self._generation != generation:
                raise _Superseded
            now = time.monotonic()
            done = len(h.train_loss)
            if now >= marks["progress"]:
                self._emit(Event("progress", knobs=knobs, done=done, total=max(total, done)))
                marks["progress"] = now + PROGRESS_EVERY_S
            if now >= marks["live"]:
                self._emit(Event("live", knobs=knobs, history=h))
                after = time.monotonic()  # keep live handling under ~1/LIVE_SHARE of the run's time
                marks["live"] = after + max(LIVE_EVERY_S, (after - now) * LIVE_SHARE)

        self.calls.append(dict(knobs))
        try:
            history = self.case.run(seed=self.seed, device=self.device, on_epoch=on_epoch, **knobs)
        except Exception as exc:  # _Superseded too: its generation is old
            # a superseded run's error is moot: the newer request runs other knobs
            if self._generation == generation:
                self._report(exc)
                self._settled.set()
            return
        self.cache[key(knobs)] = history
        done = len(history.train_loss)  # early stopping may end before ``total``
        self._emit(Event("progress", knobs=knobs, done=done, total=done))
        self._answer(history, generation, f"trained in {time.monotonic() - start:.1f} s")

    def _precompute_chunk(self, chunk: Chunk) -> None:
        what = {"knobs": dict(chunk.base), "knob": chunk.knob, "values": chunk.values}
        ready, total = self.coverage()
        self._emit(Event("precompute", note=chunk.label, done=ready, total=total, **what))
        generation = self._generation

        def give_way(_history: History) -> None:  # to a newer request or the learner's own run
            if self._generation != generation or self._pending is not None or others_waiting():
                raise _Superseded

        note = "done"
        try:
            for knobs in chunk.runs():
                history = self.case.run(
                    seed=self.seed, device=self.device, on_epoch=give_way, **knobs
                )
                # each run is kept as it ends, so giving way loses at most the run in progress
                self.cache.setdefault(key(knobs), history)
                self._tried.add(key(knobs))
        except _Superseded:
            note = "gave way"
        except Exception as exc:
            self._precompute = False  # never retry a failing run in a loop
            self._report(exc)
            note = "failed"
        self._emit(Event("precomputed", note=note, **what))

    # ---- answers, events, errors ----------------------------------------------------------------
    def _answer(self, history: History, generation: int, note: str) -> None:
        """Report ``history`` as the answer unless a newer request came in; then wake ``wait``."""
        with self._lock:
            if generation != self._generation:
                return
            if self.history is not None and self.history is not history:
                self.previous = self.history
            self.history = history
        self._emit(Event("result", knobs=dict(history.knobs), history=history, note=note))
        with self._lock:
            if generation == self._generation:
                self._settled.set()

    def _report(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        self.errors.append(message)
        self._emit(Event("error", message=message))

    def _emit(self, event: Event) -> None:
        """Call ``on_event``; its error becomes an "error" event, or goes to stderr if that fails
        too (raised in the worker thread it would end the worker and be lost)."""
        handler = self.on_event
        if handler is None:
            return
        try:
            handler(event)
        except Exception as exc:
            message = f"{type(exc).__name__} in on_event({event.kind!r}): {exc}"
            self.errors.append(message)
            if event.kind != "error":
                try:
                    handler(Event("error", message=message))
                    return
                except Exception:
                    pass
            print(f"labkit.runner: {message}", file=sys.stderr)
            traceback.print_exception(exc, file=sys.stderr)
