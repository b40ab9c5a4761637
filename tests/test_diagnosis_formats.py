"""Reading the logs people have: any file name, CSV/JSON text, Lightning stages, HF trainer_state,
NaN cells, separators, header spellings, appended runs, headerless numbers and pasted printouts."""

from __future__ import annotations

import json
import math

import pytest

from labkit import diagnose
from labkit.diagnosis import LogReadWarning, load_run

KERAS_CSV = (
    "epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,0.9,0.5,0.95\n1,0.6,0.7,0.55,0.8\n"
    "2,0.7,0.5,0.6,0.7\n"
)


def test_any_file_name_is_sniffed(tmp_path):
    for name in ("training.log", "history.txt", "log", "metrics.csv"):
        p = tmp_path / name
        p.write_text(KERAS_CSV)
        c = load_run(p)
        assert c.train_loss == (0.9, 0.7, 0.5) and c.val_loss == (0.95, 0.8, 0.7), name
        assert load_run(str(p)).train_loss == c.train_loss
    (tmp_path / "state.dat").write_text(json.dumps({"loss": [1.0, 0.5]}))
    assert load_run(tmp_path / "state.dat").train_loss == (1.0, 0.5)


def test_csv_given_as_text_is_read_not_taken_for_a_path():
    assert load_run(KERAS_CSV).val_loss == (0.95, 0.8, 0.7)
    with pytest.raises(FileNotFoundError, match="no such log file"):
        load_run("runs/missing.csv")
    # text that is no log: the message quotes a few lines, not all
    with pytest.raises(ValueError) as info:
        load_run("\n".join(f"line {i} of some text" for i in range(200)))
    assert "found no loss" in str(info.value) and "line 199" not in str(info.value)
    assert len(str(info.value).splitlines()) < 10


@pytest.mark.parametrize(
    "text",
    [
        # semicolons and decimal commas (Excel, de/fr)
        "Epoch;Loss;Val_Loss\n1;0,9;0,95\n2;0,7;0,8\n3;0,5;0,7\n",
        "Epoch,Loss,Val_Loss\n1,0.9,0.95\n2,0.7,0.8\n3,0.5,0.7\n",
        " EPOCH , Train Loss , Validation Loss \n1,0.9,0.95\n2,0.7,0.8\n3,0.5,0.7\n",
        "epoch\ttraining-loss\tvalid_loss\n1\t0.9\t0.95\n2\t0.7\t0.8\n3\t0.5\t0.7\n",
        "epoch     train_loss  valid_loss  accuracy  time\n0  0.9  0.95  0.5  00:10\n"
        "1  0.7  0.8  0.6  00:10\n2  0.5  0.7  0.7  00:09\n",  # fastai's printed table
        "   loss  val_loss\n0  0.9  0.95\n1  0.7  0.8\n2  0.5  0.7\n",  # a printed pandas DataFrame
        '{"train/loss": [0.9, 0.7, 0.5], "eval/loss": [0.95, 0.8, 0.7]}',
    ],
)
def test_separators_and_header_spellings(text):
    c = load_run(text)
    assert c.train_loss == (0.9, 0.7, 0.5) and c.val_loss == (0.95, 0.8, 0.7)


@pytest.mark.parametrize("cell", ["", "nan", "NaN", "NA", "inf", "-inf"])
def test_nan_and_inf_cells_in_csv_and_json(cell):
    csv_text = f"epoch,loss,val_loss\n0,0.9,0.95\n1,0.7,0.8\n2,{cell},{cell}\n"
    c = load_run(csv_text)
    assert len(c.train_loss) == 3 and not math.isfinite(c.train_loss[2])
    assert diagnose(csv_text)[0].code == "diverged"
    value = None if cell in ("", "NA") else cell
    js = json.dumps({"loss": [0.9, 0.7, value], "val_loss": [0.95, 0.8, value]})
    assert diagnose(js)[0].code == "diverged"
    assert (
        diagnose({"loss": [0.9, 0.7, value], "val_loss": [0.95, 0.8, value]})[0].code == "diverged"
    )


def test_json_nan_tokens_and_validation_every_n_epochs():
    assert math.isnan(load_run('{"loss": [1.0, NaN]}').train_loss[1])
    every_2 = "epoch,loss,val_loss\n" + "".join(
        f"{e},{1 - e / 10},{'NA' if e % 2 == 0 else 1.05 - e / 10}\n" for e in range(9)
    )
    c = load_run(every_2)  # Keras writes NA for a metric not computed this epoch: gaps, not NaN
    assert c.val_loss == pytest.approx((0.95, 0.75, 0.55, 0.35)) and c.train_loss == pytest.approx(
        (0.9, 0.7, 0.5, 0.3)
    )
    with pytest.warns(LogReadWarning, match="not every loss was logged"):
        assert diagnose(every_2) == []
    assert any("not every loss" in n for n in c.notes)


def test_appended_runs_are_split_never_averaged():
    runs = [[1.0, 0.8, 0.6], [2.0, 1.5, 1.2, 1.0], [0.9, 0.7, 0.5, 0.4, 0.3]]
    text = "epoch,loss\n" + "".join(f"{e},{v}\n" for run in runs for e, v in enumerate(run))
    c = load_run(text)
    assert c.train_loss == tuple(runs[-1])
    assert any("3 runs" in n for n in c.notes)
    with pytest.warns(LogReadWarning, match="3 runs appended"):
        diagnose(text)
    # resumed training continues the counter: one run
    resumed = "epoch,loss\n0,1.0\n1,0.8\n2,0.6\n3,0.5\n"
    assert load_run(resumed).notes == ()
    with_headers = "loss,val_loss\n1.0,1.1\n0.8,0.9\nloss,val_loss\n2.0,2.1\n1.5,1.6\n1.2,1.3\n"
    c = load_run(with_headers)
    assert c.train_loss == (2.0, 1.5, 1.2) and any("last of the 2 runs" in n for n in c.notes)


def test_lightning_fit_then_validate_and_test_stages():
    rows = ["epoch,step,train_loss_step,train_loss_epoch,val_loss,test_loss"]
    for e in range(3):
        rows += [
            f"{e},{10 * e + 4},{1.0 - 0.2 * e},,,",
            f"{e},{10 * e + 9},{0.9 - 0.2 * e},,,",
            f"{e},{10 * e + 9},,{0.95 - 0.2 * e},,",
            f"{e},{10 * e + 9},,,{1.0 - 0.1 * e},",
        ]
    # trainer.validate() then trainer.test() with a fresh Trainer
    rows += ["0,0,,,0.8,", "0,0,,,,0.82"]
    c = load_run("\n".join(rows))
    assert c.train_loss == pytest.approx((0.95, 0.75, 0.55)) and c.val_loss == pytest.approx(
        (1.0, 0.9, 0.8)
    )
    assert len(c.step_loss) == 6 and any("validate/test stage" in n for n in c.notes)


def test_hugging_face_trainer_state():
    history = [
        {"epoch": 0.5, "loss": 1.0, "step": 10},
        {"epoch": 1.0, "loss": 0.8, "step": 20},
        {"epoch": 1.0, "eval_loss": 0.9, "eval_accuracy": 0.6, "step": 20},
        {"epoch": 1.5, "loss": 0.6, "step": 30},
        {"epoch": 2.0, "loss": 0.5, "step": 40},
        {"epoch": 2.0, "eval_loss": 0.85, "eval_accuracy": 0.7, "step": 40},
        {"epoch": 2.0, "step": 40, "train_loss": 0.7, "train_runtime": 12.5},
    ]
    state = {"best_metric": None, "global_step": 40, "log_history": history}
    for run in (state, json.dumps(state), history):
        c = load_run(run)
        assert c.train_loss == pytest.approx((0.9, 0.55)) and c.val_loss == (0.9, 0.85)
        assert c.step_loss == (1.0, 0.8, 0.6, 0.5) and c.val_metric == (0.6, 0.7)


def test_headerless_numbers():
    assert load_run("0.9\n0.7\n0.5\n").train_loss == (0.9, 0.7, 0.5)
    assert load_run("1,0.9\n2,0.7\n3,0.5\n").train_loss == (0.9, 0.7, 0.5)
    assert load_run([0.9, 0.7, 0.5]).train_loss == (0.9, 0.7, 0.5)
    with pytest.raises(ValueError, match="no header line"):
        load_run("1,0.9,0.95\n2,0.7,0.8\n")


# ---- pasted printouts ----

KERAS_PRINT = """Epoch 1/3
1875/1875 [==============================] - 5s 3ms/step - loss: 0.4300 - accuracy: 0.8700 - val_loss: 0.5100 - val_accuracy: 0.80
Epoch 2/3
 100/1875 [>.............................] - ETA: 5s - loss: 0.3512
1875/1875 [==============================] - 5s 3ms/step - loss: 0.3300 - accuracy: 0.8900 - val_loss: 0.4800 - val_accuracy: 0.81
Epoch 3/3
1875/1875 [==============================] - 5s 3ms/step - loss: 0.2300 - accuracy: 0.9000 - val_loss: 0.5000 - val_accuracy: 0.82
"""  # noqa: E501 (a Keras printout, verbatim)

# Thread 002's own printout (its loop prints every few steps, several lines per epoch).
THREAD_002 = """Epoch 1/5.. Train loss: -1.906..Test loss: -1.412..Test accuracy: 0.056
Epoch 1/5.. Train loss: -5.710..Test loss: -9.851..Test accuracy: 0.056
Epoch 2/5.. Train loss: -72.731..Test loss: -101.170..Test accuracy: 0.056
Epoch 2/5.. Train loss: -160.112..Test loss: -214.403..Test accuracy: 0.056
"""


@pytest.mark.parametrize(
    "text, train, val",
    [
        (KERAS_PRINT, (0.43, 0.33, 0.23), (0.51, 0.48, 0.50)),
        (
            "Epoch: 1 \tTraining Loss: 0.170 \tValidation Loss: 0.070\n"
            "Epoch: 2 \tTraining Loss: 0.150 \tValidation Loss: 0.072\n"
            "Epoch: 3 \tTraining Loss: 0.120 \tValidation Loss: 0.075\n",
            (0.17, 0.15, 0.12),
            (0.07, 0.072, 0.075),
        ),
        (
            "epoch=1 train_loss=0.5 val_loss=0.6\nepoch=2 train_loss=0.4 val_loss=0.55\n",
            (0.5, 0.4),
            (0.6, 0.55),
        ),
        (
            "2021-03-01 12:00:01,123 INFO epoch 1: loss: 0.5, val_loss: 0.6\n"
            "2021-03-01 12:01:02,456 INFO epoch 2: loss: 0.4, val_loss: 0.62\n",
            (0.5, 0.4),
            (0.6, 0.62),
        ),
        (
            "[Epoch 1] train loss 0.52 | val loss 0.61\n[Epoch 2] train loss 0.41 | val loss "
            "0.60\n",
            (0.52, 0.41),
            (0.61, 0.60),
        ),
    ],
)
def test_printouts_per_epoch(text, train, val):
    c = load_run(text)
    assert c.train_loss == pytest.approx(train) and c.val_loss == pytest.approx(val)


def test_thread_002_printout_is_negative_loss():
    c = load_run(THREAD_002)
    assert (
        c.step_loss == (-1.906, -5.71, -72.731, -160.112)
        and len(c.train_loss) == len(c.val_loss) == 2
    )
    with pytest.warns(LogReadWarning, match="'test_loss' as the validation loss"):
        assert diagnose(THREAD_002)[0].code == "negative-loss"


def test_step_logs():
    tf = (
        "INFO:tensorflow:loss = 1.39, step = 100\nINFO:tensorflow:loss = 1.2, step = 200 (3.1 "
        "sec)\nINFO:tensorflow:loss = 1.1, step = 300\n"
    )
    assert load_run(tf).step_loss == (1.39, 1.2, 1.1)
    assert load_run("Step 100: loss=1.39\nStep 200: loss=1.2\nStep 300: loss=nan\n").step_loss[
        :2
    ] == (1.39, 1.2)
    assert (
        diagnose("Step 100: loss=1.39\nStep 200: loss=1.2\nStep 300: loss=nan\n")[0].code
        == "diverged"
    )
    mnist = (
        "Train Epoch: 1 [0/60000 (0%)]\tLoss: 2.300\nTrain Epoch: 1 [640/60000 (1%)]\tLoss: "
        "2.200\nTest set: Average loss: 0.2000, Accuracy: 9500/10000 (95%)\nTrain Epoch: 2 "
        "[0/60000 (0%)]\tLoss: 1.100\nTest set: Average loss: 0.1000, Accuracy: 9600/10000\n"
    )
    c = load_run(mnist)
    assert (
        c.step_loss == (2.3, 2.2, 1.1)
        and c.train_loss == pytest.approx((2.25, 1.1))
        and c.val_loss == (0.2, 0.1)
    )


def test_hugging_face_printed_dicts_and_json_lines():
    printed = (
        "{'loss': 1.8673, 'learning_rate': 4.99e-05, 'epoch': 0.5}\n"
        "{'eval_loss': 0.9, 'epoch': 1.0}\n"
        "{'loss': 0.7744, 'learning_rate': 4.98e-05, 'epoch': 1.5}\n"
        "{'eval_loss': 0.8, 'epoch': 2.0}\n"
    )
    c = load_run(printed)
    assert c.step_loss == (1.8673, 0.7744) and c.val_loss == (0.9, 0.8)
    assert math.isnan(load_run('{"loss": 1.0}\n{"loss": NaN}\n').train_loss[1])


# ---- issue 21: dict-valued curves, notebooks, hostile text ----


def test_a_dict_of_epoch_to_value_is_read_by_its_values_in_epoch_order():
    c = load_run({"loss": {1: 0.5, 2: 0.6, 3: 0.7}})
    # never the keys (1, 2, 3)
    assert c.train_loss == (0.5, 0.6, 0.7) and c.first_epoch == 1 and not c.mid_run
    shuffled = {"loss": {3: 0.7, 1: 0.5, 2: 0.6}, "val_loss": {2: 0.8, 3: 0.9, 1: 0.75}}
    assert load_run(shuffled).train_loss == (0.5, 0.6, 0.7) and load_run(shuffled).val_loss == (
        0.75,
        0.8,
        0.9,
    )
    # JSON: string keys
    assert load_run('{"loss": {"1": 0.5, "2": 0.6, "3": 0.7}}').train_loss == (0.5, 0.6, 0.7)
    # DataFrame.to_dict()
    pandas_like = {"loss": {0: 0.9, 1: 0.7, 2: 0.5}, "val_loss": {0: 0.95, 1: 0.8, 2: 0.7}}
    assert load_run(pandas_like).val_loss == (0.95, 0.8, 0.7)
    excerpt = load_run({"loss": {48: 0.5, 49: 0.45, 50: 0.4}})
    assert excerpt.train_loss == (0.5, 0.45, 0.4) and excerpt.first_epoch == 48 and excerpt.mid_run
    nan = {"loss": {1: 0.9, 2: 0.7, 3: "nan"}, "val_loss": {1: 0.95, 2: 0.8, 3: "nan"}}
    # the keys read as losses (1, 2, 3) would never diverge
    assert diagnose(nan)[0].code == "diverged"


@pytest.mark.parametrize(
    "run, says",
    [
        ({"loss": {"a": {"b": 1}}}, "run['loss'] is a dict whose key 'a' is not an epoch number"),
        ({"loss": {1: {"x": 2}, 2: {"x": 1}}}, "run['loss'][1] is {'x': 2} (dict), not a number"),
        ({"loss": {0.5: 0.9, 1.0: 0.8}}, "key 0.5 is not an epoch number"),
        ({"loss": {1: 0.9, "1": 0.8}}, "names an epoch twice"),
        (
            {"loss": {1: 0.9, 2: 0.8}, "val_loss": [0.95, 0.9]},
            "run['val_loss'] is a list while other curves are dicts",
        ),
        ({"loss": {}}, "run['loss'] is empty"),
    ],
)
def test_a_nonsense_dict_curve_is_a_clear_error(run, says):
    with pytest.raises(ValueError) as info:
        load_run(run)
    assert says in str(info.value)
    if "empty" not in says:
        assert "a list of numbers, one per epoch" in str(
            info.value
        ) and "dict of epoch number" in str(info.value)


NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "source": ["# Training\n"]},
        {
            "cell_type": "code",
            "source": "history = model.fit(x, y, epochs=3)",
            "outputs": [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": [line + "\n" for line in KERAS_PRINT.splitlines()],
                },
                {
                    "output_type": "execute_result",
                    "data": {"text/plain": "<keras.callbacks.History at 0x7f>"},
                },
            ],
        },
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_a_saved_notebook_is_read_by_what_its_cells_printed(tmp_path):
    (tmp_path / "train.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    for given in (tmp_path / "train.ipynb", str(tmp_path / "train.ipynb")):
        c = load_run(given)
        assert c.train_loss == pytest.approx((0.43, 0.33, 0.23)) and c.val_loss == pytest.approx(
            (0.51, 0.48, 0.50)
        )
    silent = {**NOTEBOOK, "cells": [{"cell_type": "code", "source": "model.fit()", "outputs": []}]}
    (tmp_path / "silent.ipynb").write_text(json.dumps(silent), encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"^run='.*silent.ipynb' is a notebook with no printed output"
    ):
        load_run(tmp_path / "silent.ipynb")
    with pytest.raises(FileNotFoundError, match="no such log file"):
        load_run("missing.ipynb")


BAD_NOTEBOOKS = {  # name: (bytes, what the message says)
    "text.ipynb": (
        b"Epoch 1/2 loss: 0.5\nEpoch 2/2 loss: 0.4\n",
        "is not a notebook: it is not JSON",
    ),
    "list.ipynb": (b"[0.5, 0.4, 0.3]", "it holds a JSON list"),
    "object.ipynb": (b'{"loss": [0.5, 0.4]}', "with no 'cells' list"),
    "cells.ipynb": (b'{"cells": ["x"]}', "cells[0] is not a cell"),
    "outputs.ipynb": (
        b'{"cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": '
        b'"stream", '
        b'"text": 5}]}]}',
        "cells[0].outputs[0] is int",
    ),
    "deep.ipynb": (b"{" + b'"a": [' * 50_000, "it is not JSON"),
    "latin1.ipynb": (
        '{"cells": [], "metadata": {"author": "Jos\xe9"}}'.encode("latin-1"),
        "is not UTF-8",
    ),
    "utf16.ipynb": ('{"cells": []}'.encode("utf-16"), "is not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD_NOTEBOOKS))
def test_bad_notebooks_give_a_clear_error_naming_run(tmp_path, name):
    raw, says = BAD_NOTEBOOKS[name]
    (tmp_path / name).write_bytes(raw)
    for given in (tmp_path / name, str(tmp_path / name)):
        with pytest.raises(ValueError) as info:
            load_run(given)
        message = str(info.value)
        assert message.startswith(f"run={str(tmp_path / name)!r}") and says in message, message
        assert "a labkit History, a dict of lists" in message, message  # what is allowed


def test_hostile_text_is_a_clear_error_or_read_never_a_crash():
    with pytest.raises(ValueError, match=r"run \(text\)"):
        load_run("[" * 100_000)  # JSON nested too deep
    with pytest.raises(ValueError, match=r"run \(text\)"):
        load_run("{'loss': 1.0}\n{[1]: 2.0}\n")  # a Python literal that cannot be a record
    # no such epoch number
    c = load_run("Epoch " + "9" * 5000 + " loss: 0.5\nEpoch 2 loss: 0.4\nEpoch 3 loss: 0.3\n")
    assert c.train_loss[-2:] == (0.4, 0.3)


def test_a_header_with_no_rows_is_named_not_an_index_error():
    with pytest.raises(ValueError, match=r"column names \('epoch', 'loss'\) but no rows"):
        load_run("epoch,loss")


def test_a_json_of_the_wrong_shape_shows_the_shape_it_needs():
    with pytest.raises(ValueError) as info:
        load_run("[[1, 2], [3, 4]]")
    message = str(info.value)
    assert '{"loss": [...], "val_loss": [...]})' in message, message
    assert "}})" not in message, message
