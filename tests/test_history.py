"""A History shows itself in a few words: no cell that ends in a History prints thousands of
numbers."""

import math

from labkit import cases
from labkit.history import History


def _long_history() -> History:
    steps = 20_000
    return History(
        case="adam-epsilon",
        knobs={"epochs": steps, "eps": 1e-2},
        changed={"eps": 1e-2},
        step_loss=[1.0 / (i + 1) for i in range(steps)],
        grad_norm=[0.5] * steps,
        lr=[1e-2] * steps,
        train_loss=[1.0 / (i + 1) for i in range(steps)],
        train_metric=[1.0] * steps,
    )


def test_repr_is_one_short_line_without_the_recorded_lists():
    text = repr(_long_history())
    assert "\n" not in text and len(text) < 400, text
    assert "eps=0.01" in text and "epochs: 20000" in text
    assert "best 5e-05 (epoch 20000)" in text  # the lowest training loss and where it was


def test_html_repr_is_a_short_escaped_table():
    h = _long_history()
    h.case = "<b>"
    page = h._repr_html_()
    assert page.startswith("<table>") and len(page) < 1500
    assert "&lt;b&gt;" in page and "<b>" not in page.replace("<b>History</b>", "")


def test_repr_says_where_a_run_diverged_and_stopped():
    h = History(
        case="negative-loss",
        knobs={"epochs": 10},
        train_loss=[1.0, 0.5, math.nan],
        val_loss=[1.2, 1.3, math.nan],
        diverged_step=41,
        diverged_epoch=2,
    )
    text = repr(h)
    assert "epochs: 3 of 10" in text
    assert "validation loss: best 1.2 (epoch 1), final nan" in text
    assert "diverged: at step 41 (epoch 3)" in text
    stopped = History(train_loss=[1.0, 0.9], val_loss=[1.0, 1.1], stopped_epoch=1)
    assert "stopped after epoch 2" in repr(stopped)


def test_changed_knobs_survive_json():
    h = _long_history()
    assert History.from_json(h.to_json()).changed == {"eps": 1e-2}


def test_a_case_run_records_only_the_knobs_that_differ_from_its_defaults():
    case = cases.get("negative-loss")
    h = case.run(seed=0, epochs=1, lr=case.defaults.lr)  # lr given, but equal to the default
    assert h.changed == {"epochs": 1}
    assert "knobs changed from the defaults: epochs=1" in repr(h)
