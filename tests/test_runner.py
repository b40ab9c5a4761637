"""The panel's engine without widgets: requests, cancellation, cache, precompute plan, errors,
close()."""

import ast
import dataclasses
import pathlib
import subprocess
import sys
import threading
import time

import pytest

from labkit import cases, moves, runner, view
from labkit.history import History
from labkit.runner import Chunk, Event, Runner

NEG = cases.get("negative-loss")
TINY = dataclasses.replace(NEG, defaults=NEG.knobs(epochs=2))  # one run well under a second
DEFAULTS = dataclasses.asdict(TINY.defaults)


class Recorder:
    """An on_event callback that keeps every Event (and can be told to fail on one kind)."""

    def __init__(self, fail_on: str | None = None):
        self.events: list[Event] = []
        self.fail_on = fail_on
        self.started = threading.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if event.kind == "progress":
            self.started.set()
        if event.kind == self.fail_on:
            raise RuntimeError(f"the handler broke on {event.kind}")

    def kinds(self, *only: str) -> list[str]:
        return [e.kind for e in self.events if not only or e.kind in only]

    def results(self) -> list[Event]:
        return [e for e in self.events if e.kind == "result"]


@pytest.fixture
def make():
    made = []

    def _make(case=TINY, **kwargs):
        kwargs.setdefault("precompute", False)
        kwargs.setdefault("device", "cpu")
        r = Runner(case, on_event=kwargs.pop("on_event", Recorder()), **kwargs)
        made.append(r)
        return r

    yield _make
    for r in made:
        r.close(timeout=60)


def test_imports_without_widgets_or_matplotlib():
    code = "import sys, labkit.runner; print('ipywidgets' in sys.modules, 'ipympl' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["False", "False"]
    # matplotlib comes in through labkit/__init__ (plots, diagnosis); the runner itself must not
    # need it
    tree = ast.parse(pathlib.Path(runner.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in ("ipywidgets", "matplotlib", "ipympl")}
    assert not {m for m in imported if m.lstrip(".") in ("panels", "controls", "plots")}


def test_a_request_trains_once_and_reports_in_order(make):
    r = make()
    assert r.wait(1) is None and r.calls == []  # nothing requested yet
    r.request()
    h = r.wait(120)
    assert r.calls == [DEFAULTS] and h.knobs == DEFAULTS and r.history is h and r.previous is None
    kinds = r.on_event.kinds()
    assert kinds[0] == "training" and kinds[-1] == "result" and "progress" in kinds
    # "live" only if the CPU was slow (> 1 s)
    assert set(kinds) <= {"training", "progress", "live", "result"}
    assert r.on_event.events[0].total == 2 and r.on_event.events[0].knobs == DEFAULTS
    last_progress = [e for e in r.on_event.events if e.kind == "progress"][-1]
    assert (last_progress.done, last_progress.total) == (2, 2)
    assert r.on_event.results()[0].note.startswith("trained in ") and r.errors == []
    assert r.cache[runner.key(DEFAULTS)] is h


def test_cache_hits_train_nothing(make):
    r = make()
    r.request()
    first = r.wait(120)
    r.request(lr=1e-3)
    second = r.wait(120)
    assert len(r.calls) == 2 and r.previous is first
    r.request(lr=3e-3)  # the defaults again, spelled out
    assert r.wait(5) is first and len(r.calls) == 2 and r.previous is second
    result = r.on_event.results()[-1]
    assert result.history is first and result.note == "from the cache: no training"
    # the front end's 10**x rounding lands on the same key
    r.request(lr=1e-3 * (1 + 1e-9))
    assert r.wait(5) is second and len(r.calls) == 2


def test_runs_given_fill_the_cache(make):
    done = TINY.run(seed=0, device="cpu")
    r = make(runs=[done])
    r.request()
    assert r.wait(5) is done and r.calls == []
    with pytest.raises(ValueError, match="runs must come from case 'negative-loss' with seed=3"):
        make(seed=3, runs=[done])
    with pytest.raises(TypeError, match="runs must be Histories"):
        make(runs=[{"loss": [1.0]}])


def test_a_newer_request_cancels_a_stale_run_which_is_never_reported(make):
    r = make()
    r.request(epochs=150)  # ~30 s if it were not cancelled
    assert r.on_event.started.wait(60)  # its first epoch is done: the run is really in progress
    start = time.monotonic()
    r.request(lr=1e-3)
    h = r.wait(120)
    assert time.monotonic() - start < 20  # the long run stopped at its next epoch
    assert h.knobs["lr"] == 1e-3 and h.knobs["epochs"] == 2 and r.history is h
    assert [c["epochs"] for c in r.calls] == [150, 2]
    assert [e.history for e in r.on_event.results()] == [h]  # the stale run never reported a result
    assert runner.key(DEFAULTS | {"epochs": 150}) not in r.cache
    time.sleep(0.5)
    assert r.history is h and r.errors == []


def test_bad_requests_name_the_knob_and_change_nothing(make):
    r = make()
    with pytest.raises(ValueError, match=r"lr=-1.0 is out of range; allowed: 1e-07 <= lr <= 1"):
        r.request(lr=-1.0)
    with pytest.raises(ValueError, match="unknown knob"):
        r.request(learning_rate=0.1)
    assert r.knobs is None and r.calls == [] and not r.running


def test_bad_arguments_name_what_is_allowed():
    with pytest.raises(ValueError, match="unknown case 'nope'"):
        Runner("nope")
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*32\), got -1"):
        Runner(TINY, seed=-1)
    with pytest.raises(TypeError, match="precompute must be True or False"):
        Runner(TINY, precompute="yes")
    with pytest.raises(TypeError, match="on_event must be a function"):
        Runner(TINY, on_event="print")
    with pytest.raises(ValueError, match="timeout=0 is not allowed"):
        Runner(TINY).wait(timeout=0)
    with pytest.raises(ValueError, match="allowed: 'epoch', 'step'"):
        view.View(per="batch")
    with pytest.raises(ValueError, match="scale='loglog' is not allowed"):
        view.View(scale="loglog")


def test_a_failing_run_is_reported_and_wait_returns(make):
    def broken(knobs, generator):
        raise RuntimeError("the data file is corrupt")

    r = make(dataclasses.replace(TINY, build=broken))
    r.request()
    assert r.wait(60) is None
    assert r.errors == ["RuntimeError: the data file is corrupt"]
    assert [e.message for e in r.on_event.events if e.kind == "error"] == r.errors


def test_an_error_in_on_event_is_reported_not_lost(make):
    r = make(on_event=Recorder(fail_on="result"))
    r.request()
    h = r.wait(120)  # the worker survived the handler's error
    assert h is not None and r.errors == [
        "RuntimeError in on_event('result'): the handler broke on result"
    ]
    assert (
        r.on_event.kinds()[-2:] == ["result", "error"]
        and r.on_event.events[-1].message == r.errors[0]
    )
    r.request(lr=1e-3)  # and keeps working
    assert r.wait(120).knobs["lr"] == 1e-3


def test_an_error_on_event_cannot_show_goes_to_stderr(make, capfd):
    def always_broken(event):
        raise ValueError("no display")

    r = make(on_event=always_broken)
    r.request()
    assert r.wait(120) is not None
    assert "ValueError in on_event('training'): no display" in r.errors
    assert "no display" in capfd.readouterr().err


def test_precompute_plan_lists_the_uncached_moves_most_likely_first(make):
    r = make()
    assert r.plan() is None and r.moves() == []  # nothing requested: nothing to plan around
    fixes = [DEFAULTS | TINY.overrides(name) for name in TINY.fixes]
    chunk = r.plan(DEFAULTS)
    assert chunk == Chunk(fixes[0], "", (), "fix: cross-entropy")  # the fix buttons first
    for knobs in fixes:  # pretend these were trained
        r.cache[runner.key(knobs)] = History()
    up, down = moves.nearby(TINY.knob_specs()["lr"][0], DEFAULTS["lr"])[:2]
    chunk = r.plan(DEFAULTS)
    # then one step of lr, both ways
    assert chunk == Chunk(DEFAULTS, "lr", (up, down), "lr = 0.0056, 0.0018")
    assert chunk.runs() == [DEFAULTS | {"lr": up}, DEFAULTS | {"lr": down}]
    for knobs in chunk.runs():
        r.cache[runner.key(knobs)] = History()
    assert r.plan(DEFAULTS).knob == "eps"
    assert r.coverage(DEFAULTS) == (len(fixes) + 2, len(moves.moves(TINY, DEFAULTS)))
    assert r.calls == []  # planning trains nothing


def test_the_knob_just_moved_is_planned_first(make):
    r = make(precompute=False)
    r.request()
    r.wait(60)
    r.request(dropout=0.1)
    r.wait(60)
    assert r.touched == ["dropout"]
    assert r.plan().knob == "dropout" and r.plan().values == (0.11, 0.09, 0.12, 0.08)


def test_moves_cover_every_kind_of_control():
    found = moves.moves(TINY, DEFAULTS)
    by_knob = {}
    for m in found:
        by_knob.setdefault(m.knob, []).append(m.knobs[m.knob] if m.knob else m.label)
        assert sum(m.knobs[n] != DEFAULTS[n] for n in DEFAULTS) >= 1
    assert by_knob[""] == [f"fix: {name}" for name in TINY.fixes]
    # its one other option is the run of fix "cross-entropy": planned once
    assert "loss" not in by_knob
    # flags, options
    assert by_knob["class_weights"] == [True] and by_knob["val_labels"] == ["0 and 1 swapped"]
    assert by_knob["optimizer"] == ["sgd", "momentum"]
    assert by_knob["dropout"] == [0.01, 0.02]  # a slider at its low end moves up only
    assert by_knob["epochs"] == [3, 1, 4]  # int slider 1..200: +1, -1, +2 (no 0)
    assert sorted(by_knob["batch_size"]) == [63, 65]  # number box 1..4096: one up, one down
    assert len(by_knob["lr"]) == 4 and len({runner.key(m.knobs) for m in found}) == len(found)
    assert [m.level for m in found] == sorted(m.level for m in found)  # fixes, one step, two steps


def test_precompute_trains_every_move_after_the_first_result(make):
    r = make(precompute=True)
    r.request()
    r.wait(120)
    r.wait(600, precompute=True)
    assert r.errors == [] and len(r.calls) == 1  # the moves came from the precompute, not requests
    assert r.plan() is None and r.coverage() == (len(r.moves()), len(r.moves()))
    chunks = [e for e in r.on_event.events if e.kind in ("precompute", "precomputed")]
    assert (
        chunks
        and [e.kind for e in chunks[:2]] == ["precompute", "precomputed"]
        and chunks[1].note == "done"
    )
    assert chunks[0].note == "fix: cross-entropy" and (chunks[0].done, chunks[0].total) == (
        0,
        len(r.moves()),
    )
    r.request(lr=moves.nearby(TINY.knob_specs()["lr"][0], 3e-3)[-1])
    assert r.wait(5) is not None and len(r.calls) == 1


def test_a_precompute_step_that_gives_way_keeps_the_runs_it_finished(make, monkeypatch):
    r = make()
    r.request()
    r.wait(120)
    up, down = moves.nearby(TINY.knob_specs()["lr"][0], DEFAULTS["lr"])[:2]
    trained = []

    def run(case, *args, **kwargs):  # a newer request arrives as the first run ends
        history = real_run(case, *args, **kwargs)
        trained.append(kwargs["lr"])
        r._generation += 1
        return history

    real_run = type(TINY).run
    monkeypatch.setattr(type(TINY), "run", run)
    r._precompute_chunk(Chunk(DEFAULTS, "lr", (up, down), "lr"))
    monkeypatch.undo()
    assert trained == [up]  # the second run gave way at its first epoch
    assert runner.key(DEFAULTS | {"lr": up}) in r.cache
    assert runner.key(DEFAULTS | {"lr": down}) not in r.cache
    assert [e.note for e in r.on_event.events if e.kind == "precomputed"] == ["gave way"]


def test_close_stops_a_run_in_progress_and_precompute(make):
    r = make(precompute=True)
    r.request(epochs=150)
    assert r.on_event.started.wait(60)
    start = time.monotonic()
    r.close(timeout=60)
    assert time.monotonic() - start < 20 and not r.running
    assert r.history is None and r.on_event.results() == [] and r.errors == []
    assert r.cache == {}  # the run did not finish
    r.close()  # twice is fine
    r.request()  # a later request still trains, without precompute
    assert r.wait(120) is not None
    r.wait(60, precompute=True)
    assert len(r.calls) == 2 and r.plan() is not None and not r.running
    with pytest.raises(ValueError, match="timeout=-1 is not allowed"):
        r.close(timeout=-1)


def test_view_values_match_what_plots_draw():
    assert NEG.view == view.View(per="step", scale="symlog")
    # the asker's linear jump-and-plateau, and beside it what moves: the share of images stuck wrong
    assert cases.get("adam-epsilon").view == view.View(
        per="epoch",
        scale="linear",
        second="stuck_wrong",
        second_title="share of images stuck wrong (zero gradient)",
    )
    assert cases.get("rising-val-loss").view == view.View()
