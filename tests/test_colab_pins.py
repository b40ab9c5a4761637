"""labkit on Colab's widget stack (tests/colab/pins.txt: ipywidgets 7.7.1, IPython 7.34, ipykernel
6.17.1 ...).

Runs only where ipywidgets 7 is installed: a virtual environment built from the pins, with labkit
installed into it without upgrading any of them (``pip install -r tests/colab/pins.txt torch`` then
``pip install --no-deps -e .``). Torch is the one Colab has, 2.11.0, where it installs (else the CPU
wheel of the same version). Elsewhere (ipywidgets 8) every test here is skipped, saying why.

Checked: the environment still has Colab's versions; every case's panel builds, a fix button runs
and the status line gives the one judge's words for that run; every widget labkit makes displays
through IPython's display machinery (ipywidgets 7 widgets have ``_ipython_display_``, not
``_repr_mimebundle_``).
"""

import dataclasses
import pathlib
import re
from importlib import metadata

import ipywidgets
import pytest
from test_panels import displayed

import labkit
from labkit import cases, exercise
from labkit.diagnosis.widget import paste_box

pytestmark = pytest.mark.skipif(
    not ipywidgets.__version__.startswith("7."),
    reason="Colab's widget stack is ipywidgets 7.x; this environment has ipywidgets "
    f"{ipywidgets.__version__} "
    "(build one from tests/colab/pins.txt to run these)",
)

PINS = pathlib.Path(__file__).parent / "colab" / "pins.txt"


def test_the_environment_has_colabs_versions():
    pins = dict(
        re.match(r"([\w.-]+)==(\S+)", line).groups()
        for line in PINS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert len(pins) >= 10
    moved = {
        name: (pinned, metadata.version(name))
        for name, pinned in pins.items()
        if metadata.version(name) != pinned
    }
    assert moved == {}, f"installing labkit moved Colab's pins (pinned, installed): {moved}"


@pytest.mark.parametrize("name", cases.names())
def test_every_panel_builds_applies_a_fix_and_says_the_judges_words(name):
    case = cases.get(name)
    panel = labkit.explore(name, seed=0, device="cpu", precompute=False)
    try:
        panel.wait(600)
        assert labkit.verdict(panel.history, criteria=case.criteria()).html() in panel.status.value
        fix = next(iter(case.fixes))
        panel.fix_buttons[fix].click()
        fixed = panel.wait(600)
        assert panel.knobs == dataclasses.asdict(case.defaults) | case.overrides(fix)
        judged = labkit.verdict(fixed, criteria=case.criteria())
        assert panel.status.value.startswith(f"fix “{fix}”: ")
        assert judged.html() in panel.status.value and judged.state == "healthy", panel.status.value
        assert panel.errors == []
        widget, script = displayed(panel)  # the panel, then the script naming its slider handles
        assert (
            widget["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.widget.model_id
        )
        assert "application/javascript" in script
    finally:
        panel.close()


def test_a_prediction_an_answer_check_a_reference_and_the_paste_box_work_and_display():
    question = exercise.predict("Does the loss go below 0?", ["yes", "no"])
    line = question.verdict("yes", why="it reached -3")
    question.choice.value = "yes"
    assert "Your prediction held: yes" in line.value
    reference = exercise.reference("03-nll-knobs")
    reference.children[0].click()
    assert "Hide the reference answer" == reference.children[0].description
    box = paste_box()
    box.text.value = (
        pathlib.Path(labkit.__file__).parent / "examples" / "keras_csvlogger.csv"
    ).read_text()
    box.run()
    assert "Your curves:" in box.answer.value and "Could not read it" not in box.answer.value
    for obj in (question, line, exercise.check(..., bool, "right", "wrong"), reference, box):
        outputs = displayed(obj)
        widget = getattr(obj, "widget", obj)
        assert [o["application/vnd.jupyter.widget-view+json"]["model_id"] for o in outputs] == [
            widget.model_id
        ]
