"""Panels driven headless: set a control's ``.value`` and check what the run received and what was
drawn."""

import dataclasses
import json
import math
import re
import time

import ipywidgets as widgets
import pytest

import labkit
from labkit import cases, controls, moves, panels, runner, widgetcompat
from labkit.knobs import Choice, FloatRange
from labkit.view import View
from labkit.widgetcompat import TOOLTIP

NEG = cases.get("negative-loss")
# the same case with 5 epochs by default (the loss passes -1000 in epoch 4): each panel run takes <
# 1 s
SHORT = dataclasses.replace(NEG, defaults=NEG.knobs(epochs=5))


@pytest.fixture
def panel():
    p = labkit.explore(SHORT, seed=0, device="cpu", precompute=False)
    p.wait(120)
    yield p
    p.close()


def test_close_stops_a_run_in_progress():
    p = labkit.explore(NEG, device="cpu", precompute=True)
    p.close(timeout=60)
    assert not p.runner.running


def test_a_control_per_knob_of_the_right_kind(panel):
    c = panel.controls
    assert list(c) == list(SHORT.knob_specs())
    assert isinstance(c["lr"], widgets.SelectionSlider) and isinstance(
        c["eps"], widgets.SelectionSlider
    )
    # the default is a position
    assert c["lr"].value == SHORT.defaults.lr and c["lr"].label == "0.003"
    assert [v for _, v in c["lr"].options] == moves.log_positions(
        SHORT.knob_specs()["lr"][0], SHORT.defaults.lr
    )
    assert isinstance(c["dropout"], widgets.FloatSlider) and (
        c["dropout"].min,
        c["dropout"].max,
    ) == (0.0, 0.9)
    assert isinstance(c["loss"], widgets.Dropdown) and list(c["loss"].options) == [
        # words shown, code name read
        ("NLLLoss on raw outputs", "nll"),
        ("cross-entropy (softmax)", "cross-entropy"),
    ]
    assert isinstance(c["class_weights"], widgets.Checkbox)
    sliders = [
        w
        for w in c.values()
        if isinstance(w, (widgets.FloatSlider, widgets.SelectionSlider, widgets.IntSlider))
    ]
    assert sliders and all(w.continuous_update is False for w in sliders)
    assert list(panel.fix_buttons) == list(SHORT.fixes)
    assert panel.knobs == dataclasses.asdict(SHORT.defaults)
    # labelled in words, the knob's help as the tooltip
    assert (c["lr"].description, c["eps"].description, c["class_weights"].description) == (
        "learning rate",
        "Adam epsilon",
        "class weights",
    )
    assert all(
        getattr(w, TOOLTIP) == SHORT.knob_specs()[n][1] for n, w in c.items()
    )  # ipywidgets 7 or 8
    assert "sets loss cross-entropy (softmax)" in panel.fix_buttons["cross-entropy"].tooltip


def test_first_run_is_the_failing_defaults_and_is_drawn(panel):
    assert panel.calls == [dataclasses.asdict(SHORT.defaults)]
    assert panel.history.knobs == dataclasses.asdict(SHORT.defaults)
    assert panel.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "the failure is there" in panel.status.value and "healthy" not in panel.status.value
    # the one judge
    assert labkit.verdict(panel.history, criteria=SHORT.criteria()).html() in panel.status.value
    # the image's text alternative gives the verdict (the one judge) and what the curves do
    assert panel.alt.startswith(
        "The failure is there: The loss went negative (the loss goes below 0"
    )
    assert (
        "now training loss: starts at" in panel.alt
        and 'alt="The failure is there' in panel.plot.value
    )
    assert panel.progress.layout.visibility == "hidden"  # no full bar left after the run
    drawn = panel.figure.axes[0].lines[0].get_ydata()
    assert list(drawn) == panel.history.step_loss  # per-step loss on the left for this case


def test_changing_a_knob_reruns_with_it_and_redraws_with_a_ghost(panel):
    first, image = panel.history, panel.png
    panel.controls["loss"].value = "cross-entropy"
    h = panel.wait(120)
    assert panel.calls[-1]["loss"] == "cross-entropy" and h.knobs["loss"] == "cross-entropy"
    assert panel.png != image
    assert panel.ghost is first
    judged = labkit.verdict(h, criteria=SHORT.criteria())
    assert (
        min(h.step_loss) >= 0
        and judged.state == "healthy"
        and "healthy: the failure is gone" in panel.status.value
    )
    # criteria, in words
    assert "lowest step loss" in panel.status.value and "needs 0 or more" in panel.status.value
    assert "Run with loss cross-entropy (softmax) (trained in" in panel.status.value
    faded = [line for line in panel.figure.axes[0].lines if line.get_alpha() == panels.GHOST_ALPHA]
    assert faded and list(faded[0].get_ydata()) == first.step_loss


def test_going_back_is_served_from_the_cache(panel):
    panel.controls["lr"].value = 1e-3
    panel.wait(120)
    trained = len(panel.calls)
    panel.controls["lr"].value = SHORT.defaults.lr
    h = panel.wait(5)
    assert len(panel.calls) == trained  # no training
    assert (
        h.knobs["lr"] == SHORT.defaults.lr
        and "shown from a run trained earlier" in panel.status.value
    )


def test_fix_buttons_and_reset(panel):
    panel.fix_buttons["cross-entropy"].click()
    h = panel.wait(120)
    assert panel.knobs == dataclasses.asdict(SHORT.defaults) | SHORT.overrides("cross-entropy")
    assert not SHORT.shows_symptom(h)
    assert panel.status.value.startswith(
        "fix “cross-entropy”: loss NLLLoss on raw outputs → cross-entropy (softmax)<br>"
    )
    panel.set(lr=1e-2, loss="nll")
    panel.wait(120)
    assert "fix" not in panel.status.value  # the button's note goes with the next change
    panel.fix_buttons["cross-entropy"].click()  # says which knobs it put back, visibly
    panel.wait(120)
    assert panel.status.value.startswith(
        "fix “cross-entropy”: loss NLLLoss on raw outputs → cross-entropy (softmax) · "
        "put back to the failing defaults: learning rate 0.01 → 0.003<br>"
    )
    assert panel.controls["lr"].value == SHORT.defaults.lr
    panel.reset_button.click()
    h = panel.wait(120)
    assert panel.knobs == dataclasses.asdict(SHORT.defaults) and SHORT.shows_symptom(h)
    assert panel.status.value.startswith(
        "reset: loss cross-entropy (softmax) → NLLLoss on raw outputs<br>"
    )
    assert panel.errors == []


def test_a_value_set_from_code_becomes_a_slider_position_with_the_planned_neighbours(panel):
    spec = SHORT.knob_specs()["lr"][0]
    panel.set(lr=0.05)
    panel.wait(120)
    w = panel.controls["lr"]
    values = [v for _, v in w.options]
    assert w.value == 0.05 and w.label == "0.05" and SHORT.defaults.lr in values
    assert [values[w.index + s] for s in (1, -1, 2, -2)] == moves.nearby(
        spec, 0.05, SHORT.defaults.lr
    )
    assert {m.knobs["lr"] for m in panel.runner.moves() if m.knob == "lr"} == set(
        moves.nearby(spec, 0.05, SHORT.defaults.lr)
    )


def test_set_changes_several_knobs_with_one_run(panel):
    before = len(panel.calls)
    panel.set(loss="cross-entropy", class_weights=True, lr=1e-3)
    panel.wait(120)
    assert len(panel.calls) == before + 1
    assert {k: panel.calls[-1][k] for k in ("loss", "class_weights", "lr")} == {
        "loss": "cross-entropy",
        "class_weights": True,
        "lr": 1e-3,
    }


def test_rapid_input_ends_with_the_last_value_and_no_stale_overwrite(panel):
    # each change lands while the previous run is still training
    positions = [v for _, v in panel.controls["lr"].options]
    values = positions[positions.index(1e-4) :][:12]
    for v in values:
        panel.controls["lr"].value = v
    h = panel.wait(300)
    assert h.knobs["lr"] == pytest.approx(values[-1])
    assert panel.history is h
    # stale requests were dropped or cancelled, not all run
    assert len(panel.calls) < 1 + len(values)
    time.sleep(1.0)  # any stale run still finishing must not replace the drawn one
    assert panel.history is h and panel.knobs["lr"] == pytest.approx(values[-1])
    assert "failure" in panel.status.value and panel.errors == []


def test_a_diverging_run_is_shown_not_raised(panel):
    panel.set(lr=1.0, optimizer="momentum", epochs=10)
    h = panel.wait(120)
    assert h.diverged, "lr 1.0 with momentum diverges on the panel's seed 0"
    assert "diverged to NaN/inf" in panel.status.value
    assert any(line.get_marker() == "X" for line in panel.figure.axes[0].lines)
    assert panel.errors == []


def test_an_error_inside_a_run_is_shown_in_the_panel():
    def broken(knobs, generator):
        raise RuntimeError("the data file is corrupt")

    p = labkit.explore(dataclasses.replace(SHORT, build=broken), device="cpu", precompute=False)
    p.wait(60)
    assert p.errors == ["RuntimeError: the data file is corrupt"]
    assert "corrupt" in p.error.value and p.error.layout.display is None


def test_a_bad_fix_clicked_is_shown_not_lost():
    bad = dataclasses.replace(SHORT, fixes={"way too low": {"lr": -1.0}})
    p = labkit.explore(bad, device="cpu", precompute=False)
    p.wait(60)
    # a button callback: its exception would be lost without the panel
    p.fix_buttons["way too low"].click()
    assert (
        len(p.errors) == 1 and "lr=-1.0 is out of range; allowed: 1e-07 <= lr <= 1" in p.errors[0]
    )
    assert "allowed" in p.error.value and p.knobs["lr"] == SHORT.defaults.lr


def test_precompute_trains_every_next_move_ahead():
    q = labkit.explore(SHORT, seed=0, device="cpu", precompute=True)
    q.wait(600, precompute=True)
    assert q.errors == []
    ready, total = q.coverage()
    assert ready == total == len(moves.moves(SHORT, dataclasses.asdict(SHORT.defaults))) > 20
    assert "every next move is ready" in q.status.value
    trained = len(q.calls)
    assert trained == 1  # only the defaults were requested; the rest came from the precompute
    for move in q.runner.moves():
        if move.knob:
            q.controls[move.knob].value = move.knobs[move.knob]  # as the front end sets it
        else:
            q.apply_fix(move.label.split(": ", 1)[1])  # "fix: name" or "try: name"
        h = q.wait(5)
        assert len(q.calls) == trained, f"{move.label} was not precomputed"
        assert h.knobs == move.knobs and "shown from a run trained earlier" in q.status.value
        q.close()  # nothing more ahead while the moves are checked
        q.reset()
        q.wait(5)
    # a precomputed run is the same training as Case.run up to float rounding
    lr = moves.nearby(SHORT.knob_specs()["lr"][0], SHORT.defaults.lr)[0]
    single = SHORT.run(seed=0, device="cpu", lr=lr)
    assert q.cache[runner.key(q.knobs | {"lr": lr})].train_loss == pytest.approx(
        single.train_loss, rel=1e-3
    )


def test_bad_arguments_name_what_is_allowed():
    with pytest.raises(ValueError, match="unknown case 'nope'; allowed: rising-val-loss"):
        labkit.explore("nope")
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*32\), got -1"):
        labkit.explore(SHORT, seed=-1)
    with pytest.raises(
        ValueError, match="backend='qt' is not allowed; allowed: 'auto', 'image', 'ipympl'"
    ):
        labkit.explore(SHORT, backend="qt")
    with pytest.raises(ValueError, match="device"):
        labkit.explore(SHORT, device="tpu")


def test_panel_settings_are_checked(panel):
    with pytest.raises(ValueError, match=r"lr=0.0 is out of range; allowed: 1e-07 <= lr <= 1"):
        panel.set(lr=0.0)
    with pytest.raises(ValueError, match="unknown knob"):
        panel.set(learning_rate=0.1)
    with pytest.raises(ValueError, match="timeout"):
        panel.wait(timeout=-1)


def test_ipympl_backend_draws_on_a_canvas():
    pytest.importorskip("ipympl")
    p = labkit.explore(SHORT, device="cpu", backend="ipympl", precompute=False)
    p.wait(120)
    assert type(p.plot).__name__ == "Canvas" and p.plot.figure is p.figure
    assert list(p.figure.axes[0].lines[0].get_ydata()) == p.history.step_loss
    p.close()


def test_every_case_knob_gets_its_control():
    for name in cases.names():
        for knob, (spec, help_text) in cases.get(name).knob_specs().items():
            default = getattr(cases.get(name).defaults, knob)
            w = controls.control(
                knob, spec, help_text, default, default, cases.get(name).knob_labels()[knob]
            )
            assert controls.read(spec, w) == default, (name, knob)
            words = w.description
            assert (
                words == cases.get(name).knob_labels()[knob]
                and "_" not in words
                and len(words) >= 4
            ), words
            assert words not in ("lr", "eps", "n_windows"), (
                f"{name}.{knob} is labelled by its code name"
            )
            if isinstance(spec, FloatRange) and spec.log:
                # the slider stops exactly where labkit.moves (and so the precompute) says a step
                # goes
                assert isinstance(w, widgets.SelectionSlider)
                values = [v for _, v in w.options]
                assert [
                    values[w.index + s] for s in (1, -1, 2, -2) if 0 <= w.index + s < len(values)
                ] == moves.nearby(spec, default, default)
            elif isinstance(spec, FloatRange):
                assert (
                    w.step == moves.linear_step(spec)
                    and w.step * moves.LINEAR_STEPS <= spec.high - spec.low
                )


def test_runs_already_trained_are_shown_without_training():
    failing = SHORT.run(seed=0, device="cpu")
    fixed = SHORT.run(seed=0, device="cpu", **SHORT.overrides("cross-entropy"))
    p = labkit.explore(SHORT, seed=0, device="cpu", precompute=False, runs=[failing, fixed])
    assert p.wait(10) is failing and p.calls == []
    p.apply_fix("cross-entropy")
    assert p.wait(10) is fixed and p.calls == [] and p.ghost is failing
    with pytest.raises(ValueError, match="runs must come from case 'negative-loss' with seed=1"):
        labkit.explore(SHORT, seed=1, precompute=False, runs=[failing])
    with pytest.raises(TypeError, match="runs must be Histories"):
        labkit.explore(SHORT, precompute=False, runs=[{"loss": [1.0]}])


def test_background_precompute_never_changes_a_run_in_the_notebook():
    alone = SHORT.run(seed=0, device="cpu", lr=1e-3)
    q = labkit.explore(SHORT, seed=0, device="cpu", precompute=True)
    q.wait(120)  # the first run is drawn; the grid is now training in the background
    time.sleep(0.5)
    # gives way: the precompute stops at its next epoch
    during = SHORT.run(seed=0, device="cpu", lr=1e-3)
    q.close(timeout=60)
    assert during.step_loss == alone.step_loss and during.val_loss == alone.val_loss
    assert q.errors == []


def _curves(scale: float, diverged_at: int | None = None) -> "labkit.History":
    loss = [scale * (1 - 0.3 * e) for e in range(6)]
    if diverged_at is not None:
        loss[diverged_at:] = [math.nan] * (6 - diverged_at)
    return labkit.History(
        case="negative-loss",
        metric_name="accuracy",
        steps_per_epoch=1,
        step_loss=loss,
        train_loss=loss,
        val_loss=[v + 0.5 for v in loss],
        train_metric=[0.1 * e for e in range(6)],
        val_metric=[0.05 * e for e in range(6)],
        diverged_step=diverged_at,
        diverged_epoch=diverged_at,
    )


@pytest.mark.parametrize("scale", ["linear", "log"])
def test_a_redraw_looks_exactly_like_a_drawing_on_a_new_figure(scale):
    """Redraws keep the axes and only swap curves: the picture must not keep anything of earlier
    runs."""
    panel = labkit.explore(SHORT, seed=0, device="cpu", precompute=False, backend="image")
    panel.wait(120)
    panel.close()
    panel.view = View(per=panel.view.per, scale=scale)
    big, negative, diverged = _curves(1000.0), _curves(-50.0), _curves(2.0, diverged_at=3)
    for history, ghost in [(big, None), (negative, big), (diverged, negative), (big, diverged)]:
        panel._draw(history, ghost, live=False)
    redrawn = panel.png
    panel._figure = panels._figure()
    panel._draw(big, diverged, live=False)
    assert panel.png == redrawn
    loss_ax, metric_ax = panel.figure.axes
    assert loss_ax.get_ylim()[1] < 5000 and len(loss_ax.lines) == 4 and len(loss_ax.texts) == 0


def test_a_long_run_draws_its_curves_while_it_trains(panel, monkeypatch):
    # every run counts as long: no need to train for seconds
    monkeypatch.setattr(runner, "LIVE_AFTER_S", 0.0)
    drawn = []
    real = panel._draw
    monkeypatch.setattr(
        panel,
        "_draw",
        lambda h, ghost, live: (drawn.append((len(h.train_loss), live)), real(h, ghost, live)),
    )
    panel.set(epochs=4)
    h = panel.wait(120)
    live = [epochs for epochs, is_live in drawn if is_live]
    assert live and live[0] < 4 and drawn[-1] == (4, False) and panel.history is h
    assert "training…" not in panel.figure.axes[1].get_title()


def displayed(obj) -> list[dict]:
    """Display ``obj`` through IPython's display machinery, as a notebook cell's last line does;
    return the outputs."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()  # display() needs a shell; a kernel has one
    with capture_output() as captured:
        display(obj)
    return [output.data for output in captured.outputs]


def test_a_panel_and_every_other_widget_displays_as_its_widget(panel):
    """ipywidgets 7 (Colab) has no _repr_mimebundle_, 8 no _ipython_display_: each object must show
    either way."""
    from labkit import exercise
    from labkit.diagnosis.widget import paste_box

    question = exercise.predict("Does the loss go below 0?", ["yes", "no"])
    shown = [
        panel,
        question,
        question.verdict("yes"),
        exercise.check(1, bool, "right", "wrong"),
        paste_box(),
    ]
    for obj in shown:
        outputs = displayed(obj)
        widget = getattr(obj, "widget", obj)
        # a Panel's script naming its slider handles comes after (the test below)
        outputs = outputs[:-1] if obj is panel else outputs
        assert [o["application/vnd.jupyter.widget-view+json"]["model_id"] for o in outputs] == [
            widget.model_id
        ], obj


def _widgets(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _widgets(child)


def test_no_control_shows_null_as_its_tooltip():
    """ipywidgets 8 writes a described widget's tooltip None as the word "null" on its label (7: its
    description)."""
    from labkit import exercise

    q = labkit.explore("adam-epsilon", device="cpu", precompute=False)
    q.close()
    described = [
        w
        for root in (q.widget, exercise.predict("q?", ["a", "b"]).widget)
        for w in _widgets(root)
        if isinstance(w, widgets.widget_description.DescriptionWidget) and w.description
    ]
    # the controls, the progress bar, the prediction's choices
    assert len(described) > len(q.controls)
    assert [w.description for w in described if getattr(w, TOOLTIP) in (None, "null")] == []
    # an HTML widget's label is hidden, but ipywidgets 8 still writes "null" on it when left None
    shown = [
        w
        for root in (
            q.widget,
            exercise.predict("q?", ["a", "b"]).widget,
            exercise.check(1, lambda a: a == 1, "right", "wrong"),
            labkit.diagnosis.paste_box(),
        )
        for w in _widgets(root)
        if isinstance(w, widgets.HTML)
    ]
    assert len(shown) >= 4 and [w for w in shown if getattr(w, TOOLTIP) is None] == []


def test_every_dropdown_shows_words_and_gives_the_case_its_code_name():
    for name in cases.names():
        case = cases.get(name)
        for knob, (spec, help_text) in case.knob_specs().items():
            if not isinstance(spec, Choice):
                continue
            w = controls.control(knob, spec, help_text, getattr(case.defaults, knob))
            shown = [words for words, _ in w.options]
            assert [value for _, value in w.options] == list(spec.options)
            assert len(set(shown)) == len(shown), (name, knob, shown)
            for words, value in w.options:
                # words: with a space, no underscore, and not the code name unless that is words
                # ("as stored")
                in_words = " " in words and "_" not in words and (words != value or " " in value)
                assert in_words, f"{name}.{knob}: option {value!r} is shown by its code name"
                w.value = value
                assert controls.read(spec, w) == value  # the case gets the code name


def _text(html_value: str) -> str:
    return re.sub(r"<[^>]+>", "", html_value)


def test_the_key_names_only_the_lines_drawn(panel):
    no_validation = dataclasses.replace(_curves(1.0), val_loss=[], val_metric=[])
    panel._draw(no_validation, None, live=False)  # adam-epsilon's runs have no validation data
    assert _text(panel.key.value) == "solid: training"
    panel._draw(_curves(1.0), no_validation, live=False)
    assert _text(panel.key.value) == "solid: training · dashed: validation · faded: the run before"
    # the key is page text under the image, not text in it: a narrow cell that shrinks the image
    # leaves the key at the page's font size (tests/browser/test_lab_browser.py measures it)
    assert not panel.figure.texts


def test_a_panel_names_its_slider_handles_where_javascript_runs(panel):
    """Shown, a Panel is its widget, then the script that names each slider handle (with an empty
    text/plain, so a front end that runs no JavaScript shows nothing); the browser tests check the
    names it gives."""
    widget, script = displayed(panel)
    assert widget["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.widget.model_id
    assert script == {
        "application/javascript": widgetcompat.mends_js(panel.checkbox_help()),
        "text/plain": "",
    }


def test_with_ipywidgets_7_the_page_script_carries_each_checkboxs_help(panel, monkeypatch):
    """ipywidgets 7 puts a checkbox's tooltip nowhere in the page; the script gives it (the
    classic-Notebook browser test checks it there)."""
    assert panel.checkbox_help() == {} or widgetcompat.IPYWIDGETS_7  # 8 shows its own tooltips
    monkeypatch.setattr(labkit.panels, "IPYWIDGETS_7", True)
    specs = panel.case.knob_specs()
    assert panel.checkbox_help() == {
        "class weights": specs["class_weights"][1],
        "LogSoftmax layer at the end": specs["log_softmax"][1],
    }
    script = widgetcompat.mends_js(panel.checkbox_help())
    assert json.dumps(panel.checkbox_help()) in script and "HELP" not in script


def test_a_log_axis_over_a_narrow_range_stays_inside_the_panel_figure():
    # train-loss-rises at lr 1e-7 (a slider's end): its loss stays within 0.694-0.71 on a log axis,
    # every minor tick gets a label as wide as "0.708", and the y label "loss" beside them ran off
    # the figure's left edge (seen in the browser test's screenshot). The titles name the curves.
    case = cases.get("train-loss-rises")
    p = labkit.explore(case, seed=0, device="cpu", precompute=False)
    try:
        p.wait(120)
        p.controls["lr"].value = min(v for _, v in p.controls["lr"].options)
        p.wait(120)
        assert p.history.knobs["lr"] == 1e-7
        fig = p.figure
        fig.canvas.draw()
        loss_ax = fig.axes[0]
        labels = loss_ax.get_yticklabels() + loss_ax.get_yticklabels(minor=True)
        widest = max((t.get_text() for t in labels), key=len)
        assert len(widest) >= 5, widest  # the narrow range this test is about
        for ax in fig.axes:
            assert ax.get_ylabel() == "" and ax.yaxis.get_tightbbox().x0 >= 0
        # the text alternative reads the title where there is no y label
        assert "loss (log y axis) against epoch" in p.alt and " y against " not in p.alt
    finally:
        p.close()
