"""Predict-first questions, answer checks and hidden reference answers, driven headless as a learner
would."""

import pathlib

import pytest

from labkit import exercise


def test_verdict_waits_for_a_pick_then_follows_it():
    q = exercise.predict("Does the loss still rise?", ["yes", "no"])
    line = q.verdict("no", why="it fell to 0.12")
    assert "Pick an answer above" in line.value
    # nothing of the result before a pick
    assert "0.12" not in line.value and ": no" not in line.value
    q.choice.value = "no"  # the learner picks, even after Run All: the verdict follows
    assert "Your prediction held: no" in line.value and "✔" in line.value
    q.choice.value = "yes"
    assert "You predicted “yes”" in line.value and "✘" in line.value


def test_prediction_rejects_bad_input_by_name():
    with pytest.raises(ValueError, match="options"):
        exercise.predict("q?", ["only one"])
    with pytest.raises(ValueError, match="question"):
        exercise.predict("", ["a", "b"])
    with pytest.raises(ValueError, match="actual='maybe'"):
        exercise.predict("q?", ["a", "b"]).verdict("maybe")


def test_check_reports_unanswered_right_wrong_and_errors():
    test = lambda eps: eps >= 1e-3  # noqa: E731
    assert exercise.NOT_ANSWERED in exercise.check(..., test, "right", "wrong").value
    assert "✔ right" in exercise.check(1e-2, test, "right", "wrong").value
    assert "✘ wrong" in exercise.check(1e-8, test, "right", "wrong").value
    shown = exercise.check("1e-2", test, "right", "wrong").value  # a str compared with a float
    assert "TypeError" in shown and "✘" in shown


@pytest.fixture
def answers(tmp_path, monkeypatch):
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / "04-eps.md").write_text("eps = 1e-2  # caps lr/(sqrt(v)+eps)\n")
    monkeypatch.setattr(exercise.resources, "files", lambda _pkg: pathlib.Path(tmp_path))
    return tmp_path


def test_reference_answer_is_hidden_until_asked(answers):
    box = exercise.reference("04-eps")
    button, shown = box.children
    assert shown.layout.display == "none" and "1e-2" not in shown.value
    button.click()
    assert shown.layout.display != "none" and "eps = 1e-2" in shown.value
    button.click()
    assert shown.layout.display == "none" and shown.value == ""


def test_reference_names_the_known_keys_on_a_typo(answers):
    with pytest.raises(ValueError, match="allowed: 04-eps"):
        exercise.reference("04-esp")
    with pytest.raises(ValueError, match="key="):
        exercise.answer_text("../secret")


def test_every_shipped_answer_is_used_by_a_lesson():
    root = pathlib.Path(__file__).resolve().parents[1]
    keys = [p.stem for p in (root / "labkit" / "answers").glob("*.md")]
    # the jupytext twins, wherever kept
    lessons = "".join(p.read_text() for p in (root / "lessons").rglob("*.py"))
    assert [k for k in keys if f'reference("{k}")' not in lessons] == []


def test_run_answer_runs_the_python_block_of_an_answer_file(answers):
    (answers / "answers" / "sum.md").write_text(
        "Add them:\n```python\ntotal = a + b\n```\nthat is all."
    )
    (answers / "answers" / "prose.md").write_text("No code here.")
    assert exercise.run_answer("sum", a=2, b=3)["total"] == 5
    with pytest.raises(ValueError, match=r"key='prose'.*no ```python block"):
        exercise.run_answer("prose")
    with pytest.raises(ValueError, match="not allowed"):
        exercise.run_answer("../sum")
