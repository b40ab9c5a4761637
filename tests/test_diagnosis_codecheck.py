"""check_code: the five threads' causes in source text; the threads' own code is flagged, corrected
code is not."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import labkit
from labkit.diagnosis import check_code
from labkit.diagnosis.codecheck import MAX_SIZE, _product

# the project's threads, when checked out
THREADS = Path(__file__).resolve().parents[2] / "shared" / "threads"
# the same code cut from them (SOURCE.md), for CI
COPIES = Path(__file__).parent / "data" / "thread_code"
COPY = {
    "002": "002_network_and_loop.txt",
    "000": "000_normalize_images.txt",
    "003": "003_keras_adam_run.txt",
}


def check_codes(source, train_samples=None):
    """The codes check_code finds in ``source``, in order."""
    return [f.code for f in check_code(source, train_samples)]


def _thread(name: str, start: str, end: str) -> str:
    copy = (COPIES / COPY[name]).read_text(encoding="utf-8")
    files = sorted(THREADS.glob(f"{name}_*.txt"))
    if files:  # the copy must be the thread's own text
        text = files[0].read_text(encoding="utf-8")
        assert text[text.index(start) : text.index(end)] == copy
    return copy


def test_thread_002_network_and_loop_are_flagged():
    # its line breaks are lost on the page
    code = _thread("002", "import torch", "Here is the plot of the losses")
    assert check_codes(code) == ["nll-without-log-softmax"]
    found = check_code(code, train_samples=2746)  # the author: "I have 2746 of these images"
    assert [f.code for f in found] == ["nll-without-log-softmax", "oversized-dense"]
    assert (
        "16,777,216 weights" in found[1].evidence
        and found[0].lesson == "03_loss_goes_negative.ipynb"
    )


def test_thread_000_normalize_images_is_flagged():
    code = _thread("000", "def normalizeImages", "It's worth noting")
    found = check_code(code)
    assert [f.code for f in found] == ["per-sample-scaling"]
    assert found[0].lesson == "01_validation_loss_rises_from_epoch_1.ipynb" and found[0].causes


def test_thread_003_long_adam_run_is_flagged():
    code = _thread("003", "input_shape = (1, 32, 32)", "The generator code")
    assert check_codes(code) == ["small-adam-eps"]


CORRECT_002 = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(4, 64, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
        )
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
        "nll-without-log-softmax"
    ]
    long_run = (
        "opt = torch.optim.Adam(model.parameters())\nfor epoch in range(5000):\n    train()\n"
    )
    assert check_codes(long_run) == ["small-adam-eps"]
    assert check_codes(long_run.replace("parameters())", "parameters(), eps=1e-3)")) == []
    assert (
        check_codes(long_run + "sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 5000)\n")
        == []
    )


def test_scaler_fitted_before_the_split():
    leak = (
        "scaler = StandardScaler()\nX = scaler.fit_transform(X)\n"
        "X_tr, X_va = train_test_split(X, test_size=0.2)\n"
    )
    assert check_codes(leak) == ["scaler-before-split"]


def test_files_notebooks_and_bad_input(tmp_path):
    (tmp_path / "train.py").write_text(CORRECT_002.replace("F.log_softmax(", "("))
    assert "nll-without-log-softmax" in check_codes(str(tmp_path / "train.py"))
    nb = {
        "cells": [
            {"cell_type": "code", "source": ["criterion = nn.NLLLoss()\n"]},
            {"cell_type": "markdown", "source": ["log_softmax in prose does not count"]},
        ]
    }
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


# ---- issue 21: pasted code is never evaluated; bad files give a clear error ----

# code a learner might paste: each is read in well under a second, never computed or run
HOSTILE = {
    "power tower": "import torch.nn as nn\nlayer = nn.Linear(9**9**9, 10)\n",
    "long literal": "layer = nn.Linear(" + "9" * 4000 + ", 10)\n",
    "deep parentheses": "layer = nn.Linear(" + "(" * 300 + "1" + ")" * 300 + ", 10)\n",
    "long epochs": "opt = Adam(model.parameters())\nepochs = " + "9" * 5000 + "\n",
    "spaces": "layer = nn.Linear(1" + " " * 200_000 + "x",
}


def test_hostile_layer_sizes_return_in_seconds():
    # Run in a child process: a big-integer power holds the GIL (a thread or signal.alarm cannot
    # stop it), so a regression fails on the timeout below instead of hanging the suite. Each paste
    # takes well under a second on an idle machine; 5 s leaves room for a loaded CI machine, while
    # computing 9**9**9 would not end at all.
    script = """
import json, sys, time
from labkit.diagnosis.codecheck import check_code
out = {}
for name, code in json.loads(sys.stdin.read()).items():
    start = time.perf_counter()
    codes = [f.code for f in check_code(code, train_samples=100)]
    out[name] = [codes, time.perf_counter() - start]
print(json.dumps(out))
"""
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(HOSTILE),
            capture_output=True,
            text=True,
            timeout=90,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("check_code did not return on hostile layer sizes (it computes them)")
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (codes, seconds) in results.items():
        assert seconds < 5.0, (name, seconds)
        # a size that cannot be read is unknown: no finding, no crash
        assert codes == [], (name, codes)


def test_layer_sizes_are_read_from_the_syntax_tree_only():
    assert (
        _product("64*7*7") == 3136
        and _product(" (64 + 1) * 2 ") == 130
        and _product("in_features=128//2") == 64
    )
    assert _product(str(MAX_SIZE)) == MAX_SIZE and _product(str(MAX_SIZE + 1)) is None
    for refused in (
        "10**13",
        "1000000*1000000*10",
        "2**10",
        "64/2",
        "0",
        "5-10",
        "x*2",
        "",
        "1,2",
        "__import__('os')",
        "9" * 200,
    ):
        assert _product(refused) is None, refused
    # 10**13: unknown
    assert check_codes("fc = nn.Linear(1000000 * 1000000 * 10, 10)", train_samples=10) == []
    assert check_codes("fc = nn.Linear(64*32*32 + 0, 128)", train_samples=100) == [
        "oversized-dense"
    ]
    assert check_codes(
        "fc = nn.Linear(in_features=256 * 8 * 8, out_features=(2 * 64))", train_samples=10
    ) == ["oversized-dense"]


def test_no_eval_or_exec_in_diagnosis():
    folder = Path(labkit.diagnosis.__file__).parent
    for module in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec", "compile"), (
                    f"{module.name}:{node.lineno}"
                )


BAD_FILES = {  # name: (bytes, what the message says)
    "text.ipynb": (b"criterion = nn.NLLLoss()\n", "is not a notebook: it is not JSON"),
    "list.ipynb": (b'[{"cell_type": "code", "source": "x = 1"}]', "it holds a JSON list"),
    "object.ipynb": (b'{"metadata": {}}', "with no 'cells' list"),
    "cells.ipynb": (b'{"cells": [1, 2]}', "cells[0] is not a cell"),
    "source.ipynb": (b'{"cells": [{"cell_type": "code", "source": 7}]}', "cells[0].source is int"),
    "deep.ipynb": (b"[" * 100_000, "it is not JSON"),
    "latin1.ipynb": (
        '{"cells": [], "metadata": {"author": "Jos\xe9"}}'.encode("latin-1"),
        "is not UTF-8",
    ),
    "utf16.ipynb": ('{"cells": []}'.encode("utf-16"), "is not UTF-8"),
    "latin1.py": ("# caf\xe9\ncriterion = nn.NLLLoss()\n".encode("latin-1"), "is not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_give_a_clear_error_naming_source(tmp_path, name):
    raw, says = BAD_FILES[name]
    (tmp_path / name).write_bytes(raw)
    for given in (tmp_path / name, str(tmp_path / name)):
        with pytest.raises(ValueError) as info:
            check_code(given)
        message = str(info.value)
        assert message.startswith(f"source={str(tmp_path / name)!r}") and says in message, message
        assert "allowed: a path to a .py, .txt or .ipynb file" in message, message


def test_utf8_files_with_a_bom_and_windows_line_breaks_are_read(tmp_path):
    (tmp_path / "win.py").write_bytes(b"\xef\xbb\xbfcriterion = nn.NLLLoss()\r\nepochs = 3\r\n")
    assert check_codes(tmp_path / "win.py") == ["nll-without-log-softmax"]
    nb = {"cells": [{"cell_type": "code", "source": "criterion = nn.NLLLoss()"}], "metadata": {}}
    (tmp_path / "bom.ipynb").write_bytes(b"\xef\xbb\xbf" + json.dumps(nb).encode())
    assert check_codes(tmp_path / "bom.ipynb") == ["nll-without-log-softmax"]
