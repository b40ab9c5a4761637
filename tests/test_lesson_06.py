"""Lesson 06 (diagnose your own run): every finding leads to a lesson that teaches it (never to one
that says the opposite), the lesson's links are links to lessons that exist, the example logs get
their findings, and the quiz's answer is not in its prompt."""

import ast
import json
import re
from importlib import resources
from pathlib import Path

import jupytext
import pytest

from labkit import cases, diagnose
from labkit.diagnosis import CURVE_CODES
from labkit.diagnosis.finding import lesson_for

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "lessons" / "py" / "06_diagnose_your_own_run.py"
EXAMPLES = resources.files("labkit") / "examples"
READING = "00_reading_loss_curves.ipynb"


@pytest.fixture(scope="module")
def cells():
    return jupytext.read(LESSON).cells


def lesson_value(cells, name):
    """Return the value the lesson assigns to ``name`` (a literal) in its code cells."""
    values = [
        ast.literal_eval(node.value)
        for c in cells
        if c.cell_type == "code"
        for node in ast.parse(c.source).body
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]
    ]
    assert len(values) == 1, f"{name} is assigned {len(values)} times in the lesson"
    return values[0]


def test_each_curve_finding_goes_to_the_lesson_the_notebook_names(cells):
    taught_in = lesson_value(cells, "TAUGHT_IN")
    assert set(taught_in) == set(CURVE_CODES)
    assert {code: lesson_for(code) for code in CURVE_CODES} == taught_in
    assert taught_in["diverged"] == READING
    # overfitting: not lesson 05 (a *training* loss that rises) nor lesson 01 (it rules overfitting
    # out)
    assert taught_in["overfitting"] == READING
    assert taught_in["overfitting"] not in (
        cases.get("train-loss-rises").lesson,
        cases.get("rising-val-loss").lesson,
    )
    for code, lesson in taught_in.items():
        assert (ROOT / "lessons" / lesson).exists(), (code, lesson)


def test_lesson_links_are_links_to_lessons_that_exist(cells):
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    # not the badges
    links = [link for link in re.findall(r"\]\(([^)]+\.ipynb)\)", markdown) if "://" not in link]
    assert {
        "00_reading_loss_curves.ipynb",
        "01_validation_loss_rises_from_epoch_1.ipynb",
        "04_loss_explodes_after_long_training.ipynb",
    } <= set(links)
    assert [link for link in links if not (ROOT / "lessons" / link).exists()] == []
    # no bare "lesson NN_name.ipynb" file name left unlinked in the text
    bare = re.findall(r"(?<![\[(/])\b\d\d_\w+\.ipynb\b(?![)\]])", markdown)
    assert bare == []


def test_the_lesson_says_the_example_logs_are_synthetic(cells):
    text = " ".join(c.source for c in cells if c.cell_type == "markdown")
    assert "**All three are synthetic**" in text and "tools/make_examples.py" in text
    source = (ROOT / "tools" / "make_examples.py").read_text()
    assert "typed-in numbers" in source and "seeded" in source  # what the lesson says about them


@pytest.mark.parametrize(
    "name,code,lesson",
    [
        ("keras_csvlogger.csv", "no-generalization", "01_validation_loss_rises_from_epoch_1.ipynb"),
        ("lightning_metrics.csv", "overfitting", READING),
        ("late_explosion.json", "late-explosion", "04_loss_explodes_after_long_training.ipynb"),
    ],
)
def test_example_logs_get_their_finding_and_lesson(name, code, lesson):
    run = (
        json.loads((EXAMPLES / name).read_text())
        if name.endswith(".json")
        else str(EXAMPLES / name)
    )
    findings = diagnose(run)
    assert [f.code for f in findings] == [code] and findings[0].lesson == lesson


def test_quiz_answer_is_not_in_its_prompt(cells):
    posted = lesson_value(cells, "posted")
    found = diagnose(posted)
    assert found[0].code == "flat-validation" and "oscillation" in [f.code for f in found]
    start = next(i for i, c in enumerate(cells) if "posted = {" in c.source)
    answer_cell = next(i for i, c in enumerate(cells) if c.source.startswith("answer = ..."))
    prompt = "\n".join(c.source for c in cells[start - 1 : answer_cell + 1])
    assert "flat" not in prompt.lower() and "constant" not in prompt.lower()
    assert lesson_value(cells, "answer") is ...  # the learner writes it
    assert not any("solution" in c.metadata.get("tags", []) for c in cells)  # no collapsed answer
    check = next(c.source for c in cells if "found = diagnose(posted)" in c.source)
    assert "flat-validation" not in check  # the check cell does not state the answer either


def test_fixed_run_of_lesson_03_gets_no_finding():
    case = cases.get("negative-loss")
    failing = case.run(seed=0)
    fixed = case.run(seed=0, **case.overrides(next(iter(case.fixes))))
    assert diagnose(failing)[0].code == "negative-loss" and diagnose(fixed) == []
