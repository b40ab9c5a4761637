"""Reliability: bad input gets a clear error naming the argument, runs work offline, memory stays
small."""

import math
import os
import pathlib
import socket
import subprocess
import sys
import tempfile

import pytest
import torch
from run_notebook import run_notebook

import labkit
from labkit import cases, data, models, plots
from labkit.data import Data
from labkit.history import History
from labkit.train import Setup, TrainConfig, fit

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _csv(text):
    path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    path.write_text(text)
    return path


neg = cases.get("negative-loss")
h0 = History(
    train_loss=[1.0, 0.5], val_loss=[1.0, 0.9], train_metric=[0.5, 0.6], val_metric=[0.5, 0.6]
)

# (what, call, argument the message must name)
BAD_INPUTS = [
    ("negative lr", lambda: neg.run(lr=-0.1), "lr"),
    ("zero lr", lambda: neg.run(lr=0), "lr"),
    ("nan lr", lambda: neg.run(lr=math.nan), "lr"),
    ("inf lr", lambda: neg.run(lr=math.inf), "lr"),
    ("string lr", lambda: neg.run(lr="1e-3"), "lr"),
    ("zero eps", lambda: neg.run(eps=0.0), "eps"),
    ("negative eps", lambda: neg.run(eps=-1e-8), "eps"),
    ("dropout 1", lambda: neg.run(dropout=1.0), "dropout"),
    ("dropout negative", lambda: neg.run(dropout=-0.5), "dropout"),
    ("epochs 0", lambda: neg.run(epochs=0), "epochs"),
    ("epochs negative", lambda: neg.run(epochs=-1), "epochs"),
    ("epochs bool", lambda: neg.run(epochs=True), "epochs"),
    ("batch_size 0 where not allowed", lambda: neg.run(batch_size=0), "batch_size"),
    ("unknown knob", lambda: neg.run(learning_rate=0.1), "learning_rate"),
    ("unknown case", lambda: cases.get("exploding"), "exploding"),
    ("case not a string", lambda: cases.get(None), "name"),
    (
        "unknown normalization",
        lambda: cases.get("rising-val-loss").run(normalization="minmax"),
        "normalization",
    ),
    ("unknown split", lambda: cases.get("rising-val-loss").run(split="random"), "split"),
    ("unknown schedule", lambda: neg.run(schedule="onecycle"), "schedule"),
    ("unknown loss", lambda: neg.run(loss="mse"), "loss"),
    ("unknown optimizer", lambda: neg.run(optimizer="rmsprop"), "optimizer"),
    ("unknown model", lambda: cases.get("oscillating-loss").run(model="resnet"), "model"),
    ("unknown fix", lambda: neg.overrides("more data"), "fix"),
    ("flag not bool", lambda: neg.run(class_weights=1), "class_weights"),
    ("seed negative", lambda: neg.run(seed=-5), "seed"),
    ("seed float", lambda: neg.run(seed=0.5), "seed"),
    ("seed too big", lambda: neg.run(seed=2**40), "seed"),
    ("device that does not exist", lambda: neg.run(device="tpu:0"), "device"),
    ("device garbage", lambda: neg.run(device="gpu please"), "device"),
    ("device wrong type", lambda: neg.run(device=3), "device"),
    (
        "cuda index too high" if torch.cuda.is_available() else "cuda without a GPU",
        lambda: labkit.pick_device("cuda:99"),
        "device",
    ),
    ("TrainConfig epochs", lambda: TrainConfig(epochs=0), "epochs"),
    ("TrainConfig lr", lambda: TrainConfig(lr=float("nan")), "lr"),
    ("TrainConfig eps", lambda: TrainConfig(eps=0), "eps"),
    ("TrainConfig betas", lambda: TrainConfig(betas=(0.9, 1.5)), "betas"),
    ("TrainConfig optimizer", lambda: TrainConfig(optimizer="adagrad"), "optimizer"),
    ("TrainConfig schedule", lambda: TrainConfig(schedule="linear"), "schedule"),
    (
        "fit with a non-setup",
        lambda: fit(
            "net", history=History(), device=torch.device("cpu"), generator=torch.Generator()
        ),
        "setup",
    ),
    (
        "setup with a non-model",
        lambda: Setup(
            "net",
            torch.nn.MSELoss(),
            Data(torch.zeros(1, 1), torch.zeros(1, 1)),
            TrainConfig(),
            {"mse": torch.nn.functional.mse_loss},
            "mse",
        ),
        "model",
    ),
    (
        "setup without metrics",
        lambda: Setup(
            torch.nn.Linear(1, 1),
            torch.nn.MSELoss(),
            Data(torch.zeros(1, 1), torch.zeros(1, 1)),
            TrainConfig(),
            {},
            "mse",
        ),
        "metrics",
    ),
    (
        "fit with empty data",
        lambda: fit(
            Setup(
                torch.nn.Linear(1, 1),
                torch.nn.MSELoss(),
                Data(torch.zeros(0, 1), torch.zeros(0, 1)),
                TrainConfig(),
                {"mse": torch.nn.functional.mse_loss},
                "mse",
            ),
            history=History(),
            device=torch.device("cpu"),
            generator=torch.Generator(),
        ),
        "x_train",
    ),
    ("model negative width", lambda: models.conv2d_net(1, 2, widths=(16, -4)), "widths"),
    (
        "model dropout",
        lambda: models.conv1d_net(1, 2, dropout=1.5),
        "dropout",
    ),
    ("data normalization", lambda: data.window_images(0, normalization="robust"), "normalization"),
    ("History from a list", lambda: History.from_dict([1, 2]), "data"),
    ("History unknown field", lambda: History.from_dict({"loss": [1.0]}), "loss"),
    (
        "History from bad JSON",
        lambda: History.from_json('{"val_loss": [1], "colour": 2}'),
        "colour",
    ),
    ("plot per", lambda: plots.plot_loss(h0, per="minute"), "per"),
    ("plot scale", lambda: plots.plot_loss(h0, scale="loglog"), "scale"),
    ("plot labels", lambda: plots.plot_loss([h0, h0], labels=["a"]), "labels"),
    ("plot not a history", lambda: plots.plot_loss([1, 2, 3]), "histories"),
    ("diagnose an empty curve", lambda: labkit.diagnose({"loss": []}), "run"),
    (
        "diagnose ragged curves",
        lambda: labkit.diagnose({"loss": [1.0, 0.5, 0.3], "val_loss": [1.0]}),
        "run",
    ),
    ("diagnose a non-numeric curve", lambda: labkit.diagnose({"loss": [1.0, "low"]}), "run"),
    ("diagnose a number", lambda: labkit.diagnose(42), "run"),
    (
        "diagnose a CSV with no loss column",
        lambda: labkit.diagnose(_csv("epoch,accuracy\n0,0.5\n1,0.6\n")),
        "loss",
    ),
    (
        "diagnose with a non-model",
        lambda: labkit.diagnose({"loss": [1.0, 0.5]}, model="net"),
        "model",
    ),
    ("sweep an empty list", lambda: neg.sweep(lr=[]), "lr"),
    ("sweep nothing", lambda: neg.sweep(), "grid"),
    ("sweep a bad lr", lambda: neg.sweep(lr=[-1.0]), "lr"),
    ("panel of an unknown case", lambda: labkit.explore("exploding"), "exploding"),
    ("panel seed", lambda: labkit.explore(neg, seed=-1), "seed"),
    ("panel backend", lambda: labkit.explore(neg, backend="qt"), "backend"),
]


@pytest.mark.parametrize("what, call, argument", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_named(what, call, argument):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    message = str(info.value)
    assert argument in message, f"{what}: message does not name {argument!r}: {message}"
    tb = info.traceback
    assert "torch" not in str(tb[-1].path).split("site-packages")[-1][:8], (
        f"{what}: raised inside torch"
    )


def test_at_least_30_bad_inputs_are_tried():
    assert len(BAD_INPUTS) >= 30


def test_pretraining_cache_does_not_change_the_next_run():
    # the backbone is pretrained once per seed and cached: a cold and a warm cache must give the
    # same run
    case = cases.get("oscillating-loss")
    knobs = case.overrides("pretrained backbone") | {"epochs": 3}
    assert (
        case.run(seed=11, device="cpu", **knobs).step_loss
        == case.run(seed=11, device="cpu", **knobs).step_loss
    )


def test_divergence_survives_and_is_kept():
    h = neg.run(seed=1, device="cpu", epochs=10, lr=1.0, optimizer="momentum")
    assert h.diverged and not math.isfinite(h.step_loss[-1])
    again = History.from_json(h.to_json())
    assert again.diverged_step == h.diverged_step and len(again.step_loss) == len(h.step_loss)


@pytest.fixture
def no_network(monkeypatch):
    real = socket.socket.connect

    def refuse(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")):
            return real(self, address)
        raise OSError(f"network blocked in test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield


def test_fixture_really_blocks(no_network):
    with pytest.raises(OSError, match="network blocked"):
        socket.create_connection(("198.51.100.1", 80), timeout=1)


@pytest.mark.parametrize("name", cases.names())
def test_every_case_runs_offline(no_network, name):
    case = cases.get(name)
    small = {"epochs": 2}
    h = case.run(seed=0, device="cpu", **small)
    assert h.num_epochs == 2


def test_a_lesson_runs_in_an_offline_kernel():
    lesson = ROOT / "lessons" / cases.get("negative-loss").lesson
    assert lesson.exists(), f"{lesson} is missing"
    probe = (
        "import socket\ntry:\n    socket.create_connection(('198.51.100.1', 80), timeout=1)\n"
        "    print('ONLINE')\nexcept OSError as e:\n    print('BLOCKED', e)"
    )
    # the kernel inherits PYTHONPATH, so tests/offline/sitecustomize.py blocks its network at
    # start-up
    offline = os.pathsep.join([str(ROOT / "tests" / "offline"), os.environ.get("PYTHONPATH", "")])
    printed = run_notebook(lesson, env={"PYTHONPATH": offline}, timeout=300, extra_cells=(probe,))
    assert "BLOCKED" in printed[-1], "the kernel was not offline"


def test_peak_memory_of_the_heaviest_case_stays_small():
    code = (
        "import resource, labkit\nfor name in labkit.cases.names():\n"
        "    labkit.cases.get(name).run(seed=0, device='cpu')\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    peak_mb = int(out.stdout.strip().splitlines()[-1]) / 1024
    assert peak_mb < 1024, f"running every case's defaults peaked at {peak_mb:.0f} MB"
