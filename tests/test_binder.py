"""Binder: build the environment from binder/ as repo2docker would, then run every lesson in it.

repo2docker copies the repository, runs `pip install -r binder/requirements.txt` from its root
and starts the server through `binder/start`. Here that happens in a fresh virtual environment
(no packages shared with the test environment), so a missing or wrong requirement fails CI
instead of a learner's Binder launch.

Speed: the torch wheel comes from this machine's wheel folder; `--no-compile` skips writing
.pyc files for ~100 packages (about 40 s of CPU; Python compiles what it imports anyway), and
`PIP_RETRIES=1` makes each lookup on the unreachable PyTorch CPU index fail at once instead of
after ~8 s of backed-off retries.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
LESSONS = sorted((REPO / "lessons").glob("*.ipynb"))

# Runs inside the Binder environment: execute one notebook, as the server's kernel would,
# then check that the kernel really ran in that environment and not in the test one.
RUNNER = """
import sys
# tests/: run_notebook, the blocking client (nbclient's stalled, RESULTS.md)
sys.path.insert(0, sys.argv[3])
from run_notebook import run_notebook

printed = run_notebook(sys.argv[1], timeout=600, extra_cells=("import sys; print(sys.prefix)",))
kernel_prefix = printed[-1].strip()
assert kernel_prefix == sys.prefix, f"kernel ran in {kernel_prefix}, not in {sys.prefix}"
"""


def _run(cmd, cwd=REPO, **kwargs):
    """Run a command (from the repository root by default); return it, with output for the assert
    message."""
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kwargs)


def _tail(proc, n=6000):
    return (
        f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-n:]}\n--- stderr ---\n"
        f"{proc.stderr[-n:]}"
    )


@pytest.fixture(scope="module")
def binder_python(tmp_path_factory):
    """Python of a fresh venv holding exactly what binder/requirements.txt installs."""
    venv = tmp_path_factory.mktemp("binder") / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    assert made.returncode == 0, _tail(made)
    python = venv / "bin" / "python"
    env = {**os.environ, "PIP_RETRIES": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    installed = _run(
        [str(python), "-m", "pip", "install", "--no-compile", "-r", "binder/requirements.txt"],
        env=env,
        timeout=1200,
    )
    assert installed.returncode == 0, _tail(installed)
    return python


def test_requirements_pin_cpu_torch():
    lines = [
        ln.split("#")[0].strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()
    ]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert [ln for ln in lines if ln.startswith("torch")] == ["torch==2.13.0+cpu"]
    assert "." in lines, "labkit itself must be installed from the checkout"


def test_start_script_limits_threads_and_runs_its_arguments():
    start = BINDER / "start"
    assert os.access(start, os.X_OK), (
        "repo2docker runs binder/start directly: it must be executable"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    proc = _run([str(start), "sh", "-c", "echo $OMP_NUM_THREADS"], env=env, timeout=60)
    assert proc.returncode == 0, _tail(proc)
    assert proc.stdout.strip() == "1"


def test_environment_has_cpu_torch_labkit_and_lab_widgets(binder_python, tmp_path):
    check = (
        "import torch, labkit, ipywidgets, ipympl, jupyterlab, ipykernel; "
        "print(torch.__version__, torch.version.cuda, labkit.__file__, ipywidgets.__version__)"
    )
    # From outside the checkout: `python -c` puts its working directory first on sys.path, and the
    # repository root holds labkit/ itself, which would be imported instead of the installed copy.
    proc = _run([str(binder_python), "-c", check], cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, _tail(proc)
    torch_version, cuda, labkit_file, ipywidgets_version = proc.stdout.split()
    assert torch_version.endswith("+cpu") and cuda == "None"
    # installed from the checkout, not picked up from the test environment
    assert labkit_file.startswith(str(binder_python.parents[1])), labkit_file
    assert ipywidgets_version.startswith("8.")

    # JupyterLab must load the widget manager and the ipympl front end, or panels show as text
    jupyter = binder_python.parent / "jupyter"
    proc = _run([str(jupyter), "labextension", "list"], timeout=300)
    assert proc.returncode == 0, _tail(proc)
    listing = proc.stdout + proc.stderr
    for extension in ("@jupyter-widgets/jupyterlab-manager", "jupyter-matplotlib"):
        line = next((ln for ln in listing.splitlines() if extension in ln), "")
        assert "enabled" in line and "OK" in line, f"{extension} not enabled:\n{listing}"


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_runs_in_binder_environment(binder_python, lesson):
    proc = _run(
        [
            str(BINDER / "start"),
            str(binder_python),
            "-c",
            RUNNER,
            str(lesson),
            str(lesson.parent),
            str(REPO / "tests"),
        ],
        timeout=1800,
    )
    assert proc.returncode == 0, f"{lesson.name} failed in the Binder environment\n{_tail(proc)}"


def test_there_are_lessons():
    assert LESSONS, "no lessons/*.ipynb found"
    assert all(json.loads(p.read_text())["nbformat"] == 4 for p in LESSONS)
