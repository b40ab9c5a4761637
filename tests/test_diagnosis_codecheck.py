"""check_code: the five threads' causes in source text; the threads' own code is flagged, corrected code is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import labkit
from labkit.diagnosis import check_code
from labkit.diagnosis.codecheck import check_codes

THREADS = Path(__file__).resolve().parents[2] / "shared" / "threads"  # the project's threads, when checked out
COPIES = Path(__file__).parent / "data" / "thread_code"  # the same code cut from them (SOURCE.md), for CI
COPY = {"002": "002_network_and_loop.txt", "000": "000_normalize_images.txt", "003": "003_keras_adam_run.txt"}


def _thread(name: str, start: str, end: str) -> str:
    copy = (COPIES / COPY[name]).read_text(encoding="utf-8")
    files = sorted(THREADS.glob(f"{name}_*.txt"))
    if files:  # the copy must be the thread's own text
        text = files[0].read_text(encoding="utf-8")
        assert text[text.index(start):text.index(end)] == copy
    return copy


def test_thread_002_network_and_loop_are_flagged():
    code = _thread("002", "import torch", "Here is the plot of the losses")  # its line breaks are lost on the page
    assert check_codes(code) == ["nll-without-log-softmax"]
    found = check_code(code, train_samples=2746)  # the author: "I have 2746 of these images"
    assert [f.code for f in found] == ["nll-without-log-softmax", "oversized-dense"]
    assert "16,777,216 weights" in found[1].evidence and found[0].lesson == "03_loss_goes_negative.ipynb"


def test_thread_000_normalize_images_is_flagged():
    code = _thread("000", "def normalizeImages", "It's worth noting")
    found = check_code(code)
    assert [f.code for f in found] == ["per-sample-scaling"]
    assert found[0].lesson == "01_validation_loss_rises_from_epoch_1.ipynb" and found[0].next_experiment


def test_thread_003_long_adam_run_is_flagged():
    code = _thread("003", "input_shape = (1, 32, 32)", "The generator code")
    assert check_codes(code) == ["small-adam-eps"]


CORRECT_002 = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(4, 64, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.fc3 = nn.Linear(64, 3)

    def forward(self, x):
        return F.log_softmax(self.fc3(self.features(x).flatten(1)), dim=1)

model = Net()
criterion = nn.NLLLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(5):
    for inputs, labels in trainloader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
"""

CORRECT_000 = """
def normalizeImages(train, other):
    scaler = MinMaxScaler(feature_range=(0, 1))
    scaler.fit(np.concatenate([img for img in train['trainingImages'].values]))
    for dataset in (train, other):
        images = dataset['trainingImages'].values
        for i in range(len(images)):
            images[i] = scaler.transform(images[i])
    return train, other

X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, shuffle=False)
scaler = StandardScaler().fit(X_train)
"""


def test_correct_versions_are_not_flagged():
    assert check_codes(CORRECT_002, train_samples=2746) == []
    assert check_codes(CORRECT_000) == []
    assert check_codes(CORRECT_002.replace("F.log_softmax(", "(").replace(", dim=1)", ")")) == [
        "nll-without-log-softmax"]
    long_run = "opt = torch.optim.Adam(model.parameters())\nfor epoch in range(5000):\n    train()\n"
    assert check_codes(long_run) == ["small-adam-eps"]
    assert check_codes(long_run.replace("parameters())", "parameters(), eps=1e-3)")) == []
    assert check_codes(long_run + "sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 5000)\n") == []


def test_scaler_fitted_before_the_split():
    leak = "scaler = StandardScaler()\nX = scaler.fit_transform(X)\nX_tr, X_va = train_test_split(X, test_size=0.2)\n"
    assert check_codes(leak) == ["scaler-before-split"]


def test_files_notebooks_and_bad_input(tmp_path):
    (tmp_path / "train.py").write_text(CORRECT_002.replace("F.log_softmax(", "("))
    assert "nll-without-log-softmax" in check_codes(str(tmp_path / "train.py"))
    nb = {"cells": [{"cell_type": "code", "source": ["criterion = nn.NLLLoss()\n"]},
                    {"cell_type": "markdown", "source": ["log_softmax in prose does not count"]}]}
    (tmp_path / "lesson.ipynb").write_text(json.dumps(nb))
    assert check_codes(tmp_path / "lesson.ipynb") == ["nll-without-log-softmax"]
    with pytest.raises(FileNotFoundError, match="source="):
        check_code("missing.py")
    with pytest.raises(TypeError, match="source must be"):
        check_code(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="train_samples"):
        check_code("x = 1", train_samples=0)
    with pytest.raises(ValueError, match="not a notebook"):
        check_code()
    assert labkit.check_code is check_code
