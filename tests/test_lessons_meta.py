"""Checks of the lesson notebooks as stored: pairing, layout, metadata, badges, tags, and the setup
cell.

Every lesson is a jupytext pair: ``lessons/NN_name.ipynb`` (what Colab, Binder and nbval open,
stored without outputs) and ``lessons/py/NN_name.py`` (its py:percent text twin, in a subfolder so
that JupyterLab's file browser lists each lesson once), paired by ``lessons/jupytext.toml``.
Teachers edit either file; the cells every lesson shares (title and badges, the Colab install cell,
the imports and seed cell, the collapsed solution) are literal cells in each lesson, pinned here.
Only the setup cell is run here, against a fake labkit or none; the notebooks themselves run under
``pytest --nbval-lax lessons``.
"""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import tomllib
from jupytext.paired_paths import paired_paths

from labkit import cases

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
FILES = (
    ["00_reading_loss_curves.ipynb"]
    + [cases.get(name).lesson for name in cases.names()]
    + ["06_diagnose_your_own_run.ipynb"]
)
PAIRING = "ipynb,py//py:percent"  # lessons/jupytext.toml's formats: each twin in lessons/py/
TWINS = "py"  # the twins' subfolder of lessons/
# nbval / nbclient comment markers that must be cell tags instead
COMMENT_MARKERS = re.compile(
    r"#\s*(NBVAL_\w+|nbval[-_]\w+|raises-exception|skip-execution)", re.IGNORECASE
)
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
# Cell metadata that jupytext keeps out of the text twin (front-end state) or uses only for layout.
UNPAIRED_CELL_METADATA = {
    "autoscroll",
    "collapsed",
    "scrolled",
    "trusted",
    "execution",
    "ExecuteTime",
    "skipline",
    "noskipline",
    "cell_marker",
    "lines_to_next_cell",
    "lines_to_end_of_cell_marker",
}

# The cells every lesson shares, literally (repository URL from pyproject's [project.urls]
# Repository).
SETUP_CELL = """\
# On Colab (or anywhere labkit is missing) install it; torch, numpy and matplotlib are left alone.
try:
    import labkit
except ModuleNotFoundError as error:
    if error.name != "labkit":  # labkit is installed but something it needs is missing: show that error
        raise
    get_ipython().run_line_magic("pip", 'install -q "labkit @ git+{repo_url}"')"""  # noqa: E501 (the cell, verbatim)
IMPORTS_START = "import math\nimport os\n\nimport matplotlib.pyplot as plt\n"
IMPORTS_LABKIT = "\nimport labkit\nfrom labkit import cases, plots\n"
SEED_LINE = (
    'SEED = int(os.environ.get("LABKIT_SEED", "0"))  # every run uses it; set LABKIT_SEED '
    "for another draw"
)
# Right above SEED_LINE: runs stay on the CPU, where the claims were checked (README, "On a GPU"); a
# saved lesson, reopened, says "run this cell again" where each widget was
# (tests/browser/test_reopen.py).
LESSON_LINES = (
    'labkit.use_device("cpu")  # the claims below were checked on the CPU; on a GPU the '
    "same seed is another run\n"
    "labkit.exercise.reopen_hint()  # reopened later, each widget says "
    '"run this cell again" instead of an error\n'
)
TRY_FIRST_START = "**Try it yourself first.** "
TRY_FIRST_END = (
    "The next cell holds a reference answer, collapsed: overwrite it with your own value "
    "before you run it."
)
PANEL_WAIT = "panel.wait()  # blocks until the panel's current run has finished"


def repo_url():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def owner_repo():
    return "/".join(repo_url().rstrip("/").removesuffix(".git").split("/")[-2:])


def badges(file):
    """Return the Open-in-Colab and Launch-Binder badge line of lessons/<file>."""
    colab = f"https://colab.research.google.com/github/{owner_repo()}/blob/main/lessons/{file}"
    binder = f"https://mybinder.org/v2/gh/{owner_repo()}/main?urlpath=lab/tree/lessons/{file}"
    return (
        f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
        f"[![Launch Binder](https://mybinder.org/badge_logo.svg)]({binder})"
    )


def load(file):
    return json.loads((LESSONS / file).read_text(encoding="utf-8"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


# ---- pairing: .ipynb <-> .py ----


def twin_path(notebook):
    """Return where a lesson's text twin lives: lessons/py/NN_name.py for lessons/NN_name.ipynb."""
    notebook = Path(notebook)
    return notebook.parent / TWINS / notebook.with_suffix(".py").name


def notebook_path(file):
    """Return lessons/NN_name.ipynb, given that notebook or its twin lessons/py/NN_name.py."""
    file = Path(file)
    folder = file.parent.parent if file.suffix == ".py" else file.parent
    return folder / file.with_suffix(".ipynb").name


def sync_command(file):
    """Return the one command that brings a lesson's .ipynb and .py back in sync."""
    notebook = notebook_path(file)
    try:
        shown = notebook.resolve().relative_to(ROOT)
    except ValueError:
        shown = notebook
    return f"jupytext --sync {shown}"


def _paired_metadata(cell):
    return {k: v for k, v in cell.metadata.items() if k not in UNPAIRED_CELL_METADATA}


def _first_difference(a, b):
    lines_a, lines_b = a.splitlines(), b.splitlines()
    for n, (x, y) in enumerate(zip(lines_a, lines_b), start=1):
        if x != y:
            return f"line {n}: {x!r} in .ipynb, {y!r} in .py"
    return f"{len(lines_a)} lines in .ipynb, {len(lines_b)} in .py"


def pair_differences(notebook):
    """Return how lessons/NN_name.ipynb and its py:percent twin py/NN_name.py differ ([] when in
    sync).

    Compares what pairing carries: the number of cells and, cell by cell, the type, the source and
    the metadata (tags, collapsed source...), and the kernelspec. Outputs, execution counts and
    cell ids live in the .ipynb only.
    """
    notebook = notebook_path(notebook)
    twin = twin_path(notebook)
    missing = [str(p.relative_to(notebook.parent)) for p in (notebook, twin) if not p.exists()]
    if missing:
        return [f"missing: {', '.join(missing)}"]
    nb = nbformat.read(notebook, as_version=4)
    text = jupytext.read(twin, fmt="py:percent")
    problems = []
    if len(nb.cells) != len(text.cells):
        problems.append(
            f"{len(nb.cells)} cells in {notebook.name}, {len(text.cells)} in {twin.name}"
        )
    for i, (a, b) in enumerate(zip(nb.cells, text.cells)):
        where = f"cell {i} ({a.cell_type}, id {a.get('id')})"
        if a.cell_type != b.cell_type:
            problems.append(f"{where}: {a.cell_type} in .ipynb, {b.cell_type} in .py")
        elif a.source != b.source:
            problems.append(f"{where}: source differs, {_first_difference(a.source, b.source)}")
        elif _paired_metadata(a) != _paired_metadata(b):
            problems.append(
                f"{where}: metadata {_paired_metadata(a)} in .ipynb, {_paired_metadata(b)} in .py"
            )
    kernelspec = text.metadata.get("kernelspec")
    if kernelspec is not None and kernelspec != nb.metadata.get("kernelspec"):
        problems.append(
            f"kernelspec {nb.metadata.get('kernelspec')} in .ipynb, {kernelspec} in .py"
        )
    return problems


def test_every_case_has_a_lesson():
    missing = [f for f in FILES if not (LESSONS / f).exists()]
    assert not missing, (
        f"missing lessons: {missing}; write lessons/py/NN_name.py, then run jupytext --sync on it"
    )
    stray = sorted({p.name for p in LESSONS.glob("*.ipynb")} - set(FILES))
    assert not stray, f"lessons not listed in FILES (tests/test_lessons_meta.py): {stray}"


def test_jupytext_config_pairs_the_lessons():
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

    path = find_jupytext_configuration_file(str(LESSONS))
    assert path and Path(path).resolve() == (LESSONS / "jupytext.toml").resolve(), path
    config = load_jupytext_configuration_file(path)
    for file in FILES:
        assert config.default_formats(str(LESSONS / file)) == PAIRING, (file, config.formats)
        # where jupytext (the command and JupyterLab's save) writes the twin is where these tests
        # read it
        [(notebook, _), (twin, _)] = paired_paths(str(LESSONS / file), "ipynb", PAIRING)
        assert (Path(notebook), Path(twin)) == (LESSONS / file, twin_path(LESSONS / file))
    # Any other option there would be copied into each notebook's metadata when JupyterLab saves it.
    assert set(tomllib.loads(Path(path).read_text())) == {"formats"}


@pytest.mark.parametrize("file", FILES)
def test_pair_in_sync(file):
    notebook = LESSONS / file
    problems = pair_differences(notebook)
    twin = twin_path(notebook).relative_to(ROOT)
    assert not problems, (
        f"lessons/{file} and its twin {twin} differ:\n  "
        + "\n  ".join(problems[:5])
        + f"\nrun: {sync_command(notebook)}"
    )


@pytest.mark.parametrize("file", FILES)
def test_pairing_lives_in_the_config_not_the_notebook(file):
    assert "jupytext" not in load(file)["metadata"], (
        f"lessons/{file}: pairing comes from lessons/jupytext.toml; remove the notebook's jupytext "
        f"metadata (jupytext --update-metadata '{{\"jupytext\": null}}' lessons/{file})"
    )


def test_pytest_collects_no_twin_as_a_test_module():
    # `pytest tests lessons --nbval-lax` must collect the .ipynb only: a twin named like a test
    # module (default python_files), or a conftest.py next to the lessons, would be imported and
    # run.
    assert (
        "python_files"
        not in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    )
    twins = [p.name for p in (LESSONS / TWINS).glob("*.py")]
    assert sorted(twins) == sorted(Path(f).with_suffix(".py").name for f in FILES)
    assert not [
        t for t in twins if t.startswith("test_") or t.endswith("_test.py") or t == "conftest.py"
    ]


def test_each_lesson_is_listed_once_in_the_file_browser():
    # JupyterLab lists lessons/ by name (cut to the same prefix when long): a twin beside its
    # notebook would show every lesson twice. Hidden entries (.ipynb_checkpoints) are not listed.
    shown = sorted(p.name for p in LESSONS.iterdir() if not p.name.startswith("."))
    assert shown == sorted(FILES + ["jupytext.toml", TWINS]), (
        f"lessons/ should hold the notebooks only: {shown}"
    )
    assert (LESSONS / TWINS).is_dir()


def _tmp_pair(tmp_path, file="03_loss_goes_negative.ipynb"):
    shutil.copy(LESSONS / file, tmp_path)
    (tmp_path / TWINS).mkdir()
    shutil.copy(twin_path(LESSONS / file), tmp_path / TWINS)
    shutil.copy(LESSONS / "jupytext.toml", tmp_path)
    return tmp_path / file


def test_pair_checker_catches_each_kind_of_drift(tmp_path):
    notebook = _tmp_pair(tmp_path)
    twin = twin_path(notebook)
    assert pair_differences(notebook) == []
    original_py, original_nb = twin.read_text(), notebook.read_text()

    # a changed line of lesson text in the .py
    twin.write_text(
        original_py.replace("# # Why is my loss negative", "# # Why is my loss so negative", 1)
    )
    [problem] = pair_differences(notebook)
    assert (
        "cell 0 (markdown" in problem and "source differs" in problem and "so negative" in problem
    )
    # a cell added in the .py
    twin.write_text(original_py + "\n# %%\nprint('new cell')\n")
    assert any("cells in" in p for p in pair_differences(notebook))
    # a code cell turned into markdown in the .py
    twin.write_text(original_py.replace("# %%\n# On Colab", "# %% [markdown]\n# On Colab", 1))
    assert any("code in .ipynb, markdown in .py" in p for p in pair_differences(notebook))
    twin.write_text(original_py)
    assert pair_differences(notebook) == []

    # a cell tag added in the .ipynb only (lesson 03 has no tagged cell: its answers are reference()
    # widgets)
    nb = json.loads(original_nb)
    nb["cells"][1]["metadata"]["tags"] = ["solution"]
    notebook.write_text(json.dumps(nb, indent=1))
    assert any("metadata" in p and "solution" in p for p in pair_differences(notebook))
    notebook.write_text(original_nb)

    # either file missing
    twin.unlink()
    assert pair_differences(notebook) == ["missing: py/03_loss_goes_negative.py"]
    notebook.unlink()
    assert pair_differences(notebook) == [
        "missing: 03_loss_goes_negative.ipynb, py/03_loss_goes_negative.py"
    ]
    for file in ("03_loss_goes_negative.ipynb", "py/03_loss_goes_negative.py"):
        assert sync_command(LESSONS / file) == "jupytext --sync lessons/03_loss_goes_negative.ipynb"


JUPYTEXT_VERSION = re.compile(r"^#\s+jupytext_version:.*\n", re.M)


def without_jupytext_version(py):
    """Return a py:percent twin's text without its header's ``jupytext_version`` line.

    jupytext writes its own version there on every save or sync (1.19.6 wrote the stored headers;
    1.19.7 or 1.16 writes its own), and it can only be left out by a ``notebook_metadata_filter``,
    which jupytext copies into every notebook's metadata (see lessons/jupytext.toml). So pairs are
    compared without that line, and the lessons do not depend on which jupytext >= 1.16 a machine
    has.
    """
    text = py.decode("utf-8") if isinstance(py, bytes) else py
    end = text.find("\n# ---\n", 5) if text.startswith("# ---\n") else -1
    return text if end == -1 else JUPYTEXT_VERSION.sub("", text[: end + 1]) + text[end + 1 :]


def test_without_jupytext_version_drops_only_the_header_line():
    py = twin_path(LESSONS / "03_loss_goes_negative.ipynb").read_text(encoding="utf-8")
    assert re.search(r"^#\s+jupytext_version: \d", py, re.M), (
        "the stored header records a jupytext version"
    )
    stripped = without_jupytext_version(py)
    assert "jupytext_version" not in stripped.split("\n# ---\n")[0]
    assert len(stripped.splitlines()) == len(py.splitlines()) - 1 and stripped.endswith(
        py.split("\n# ---\n", 1)[1]
    )
    # the same words in a cell are lesson text, kept
    body_line = "\n# %%\n#       jupytext_version: 9.9\n"
    assert without_jupytext_version(py + body_line).endswith(body_line)


@pytest.mark.parametrize("recorded", ["as stored", "1.16.0", jupytext.__version__])
def test_sync_command_repairs_a_pair_and_is_then_a_no_op(tmp_path, recorded):
    notebook = _tmp_pair(tmp_path)
    twin = twin_path(notebook)
    # the pair as another jupytext (older or newer than this one) wrote it
    if recorded != "as stored":
        twin.write_text(
            re.sub(r"(?m)^(#\s+jupytext_version:).*$", rf"\1 {recorded}", twin.read_text(), count=1)
        )
    stored_nb, stored_py = notebook.read_bytes(), twin.read_bytes()
    command = [sys.executable, "-m", "jupytext", "--sync", "--quiet", str(notebook)]
    subprocess.run(command, check=True, capture_output=True)
    assert notebook.read_bytes() == stored_nb, "jupytext --sync changed a stored notebook"
    assert without_jupytext_version(twin.read_bytes()) == without_jupytext_version(stored_py), (
        "jupytext --sync changed a stored twin (beyond the jupytext version in its header)"
    )

    twin.write_text(
        twin.read_text().replace("# # Why is my loss negative", "# # Why is my loss so negative", 1)
    )
    assert pair_differences(notebook)
    subprocess.run(command, check=True, capture_output=True)
    assert pair_differences(notebook) == []
    nb = nbformat.read(notebook, as_version=4)
    assert nb.cells[0].source.startswith("# Why is my loss so negative")
    assert [c.id for c in nb.cells] == [c["id"] for c in json.loads(stored_nb)["cells"]], (
        "cell ids must survive a sync"
    )
    assert "jupytext" not in nb.metadata


# ---- the stored notebooks ----


@pytest.mark.parametrize("file", FILES)
def test_stored_clean(file):
    nb = load(file)
    clear = f"jupyter nbconvert --clear-output --inplace lessons/{file}"
    assert "widgets" not in nb["metadata"], f"{file}: stored widget state; run {clear}"
    for cell in code_cells(nb):
        assert cell["outputs"] == [], f"{file}: a cell has stored outputs; run {clear}"
        assert cell["execution_count"] is None, (
            f"{file}: a cell has an execution count; run {clear}"
        )
        assert "widgets" not in cell.get("metadata", {})


@pytest.mark.parametrize("file", FILES)
def test_valid_notebook_with_stable_cell_ids(file):
    nb = nbformat.read(LESSONS / file, as_version=4)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5), "cell ids need nbformat 4.5"
    ids = [cell.get("id") for cell in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), f"{file}: every cell needs its own id"
    assert nb.metadata["kernelspec"] == KERNELSPEC
    assert nb.metadata["language_info"]["name"] == "python"


@pytest.mark.parametrize("file", FILES)
def test_first_cells(file):
    nb = load(file)
    top = nb["cells"][0]
    assert top["cell_type"] == "markdown" and source(top).startswith("# ")
    setup, imports = code_cells(nb)[:2]
    assert nb["cells"][1] is setup, f"{file}: the setup cell comes right after the title"
    text = source(setup)
    assert text == SETUP_CELL.format(repo_url=repo_url()), (
        f"{file}: the first code cell must be, literally:\n{SETUP_CELL.format(repo_url=repo_url())}"
    )
    assert (
        "import labkit" in text
        and "except ModuleNotFoundError" in text
        and 'error.name != "labkit"' in text
    )
    assert f"labkit @ git+{repo_url()}" in text
    pip_lines = [
        line for line in text.splitlines() if "pip" in line and not line.lstrip().startswith("#")
    ]
    assert len(pip_lines) == 1 and "get_ipython().run_line_magic" in pip_lines[0]
    assert not re.search(r"\b(torch|numpy|matplotlib)\b", pip_lines[0]), (
        "never (re)install torch & co"
    )
    compile(text, file, "exec")  # plain Python: no %pip line magic outside get_ipython()
    imports_text = source(imports)
    assert re.search(
        r'^SEED = int\(os\.environ\.get\("LABKIT_SEED", "0"\)\)', imports_text, re.MULTILINE
    )
    assert "import labkit" in imports_text
    assert imports_text.startswith(IMPORTS_START) and IMPORTS_LABKIT in imports_text, (
        f"{file}: the imports cell starts with {IMPORTS_START!r} and imports {IMPORTS_LABKIT!r}"
    )
    assert imports_text.endswith("\n\n" + LESSON_LINES + SEED_LINE), (
        f"{file}: the imports cell ends with {LESSON_LINES + SEED_LINE!r}"
    )


# Runs a setup cell (argv[2]) in a bare Python (-I -S: no site-packages, so no installed labkit)
# with the folders in argv[1] first on sys.path and get_ipython() a stand-in that records the %pip
# calls; prints what happened.
SETUP_RUNNER = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
calls = []
class Shell:
    def run_line_magic(self, magic, line):
        calls.append([magic, line])
try:
    exec(sys.argv[2], {"get_ipython": Shell})
    error = None
except Exception as e:
    error = f"{type(e).__name__}: {e}"
print(json.dumps({"pip": calls, "error": error}))
"""
# A fake labkit, or none: what the setup cell must then do (install it, or show the error an
# installed labkit raised).
FAKE_LABKITS = {
    "missing": (None, "install"),
    "installed": ("VERSION = 'fake'", None),
    "broken inside": ("raise ImportError('boom')", "ImportError: boom"),
    "missing a dependency": (
        "import no_such_dependency_of_labkit",
        "ModuleNotFoundError: No module named 'no_such_dependency_of_labkit'",
    ),
}


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("situation", FAKE_LABKITS)
def test_setup_cell_installs_only_a_missing_labkit(file, situation, tmp_path):
    init, expected = FAKE_LABKITS[situation]
    if init is not None:
        (tmp_path / "labkit").mkdir()
        (tmp_path / "labkit" / "__init__.py").write_text(init + "\n")
    cell = source(code_cells(load(file))[0])
    ran = subprocess.run(
        [sys.executable, "-I", "-S", "-c", SETUP_RUNNER, json.dumps([str(tmp_path)]), cell],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    result = json.loads(ran.stdout)
    if expected == "install":
        assert result == {
            "pip": [["pip", f'install -q "labkit @ git+{repo_url()}"']],
            "error": None,
        }, f"{file}: without labkit the setup cell must install it, once"
    else:
        assert result == {"pip": [], "error": expected}, (
            f"{file}: with labkit {situation} the setup cell must not install it and "
            f"must show its error: {result}"
        )


@pytest.mark.parametrize("file", FILES)
def test_badges(file):
    nb = load(file)
    top = source(nb["cells"][0])
    assert (
        f"https://colab.research.google.com/github/{owner_repo()}/blob/main/lessons/{file}" in top
    )
    assert f"https://mybinder.org/v2/gh/{owner_repo()}/main?urlpath=lab/tree/lessons/{file}" in top
    lines = top.splitlines()
    assert lines[1:4] == ["", badges(file), ""], (
        f"{file}: the title, a blank line, then the badges on one line:\n{badges(file)}"
    )


@pytest.mark.parametrize("file", FILES)
def test_tags_not_comment_markers(file):
    for cell in code_cells(load(file)):
        assert not COMMENT_MARKERS.search(source(cell)), (
            f"{file}: use cell tags, not comment markers"
        )


@pytest.mark.parametrize("file", FILES)
def test_structure(file):
    nb = load(file)
    markdown = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "## Summary" in markdown and "## Exercises" in markdown
    assert "## Your turn" in markdown
    codes = code_cells(nb)
    solutions = [
        i for i, c in enumerate(nb["cells"]) if "solution" in c.get("metadata", {}).get("tags", [])
    ]
    if any("reference(" in source(c) for c in codes):
        # a lesson with labkit.exercise widgets: the reference answer lives in labkit/answers, shown
        # on request; a collapsed solution cell would give it away
        assert not solutions, f"{file}: reference() answers replace the collapsed solution cell"
        assert any("check(" in source(c) for c in codes) and any(
            "predict(" in source(c) for c in codes
        )
        assert sum("assert " in source(c) for c in codes) >= 3, f"{file}: claims must be asserted"
        return
    assert len(solutions) == 1, f"{file}: one collapsed solution cell"
    sol = nb["cells"][solutions[0]]
    assert sol["cell_type"] == "code" and sol["metadata"]["tags"] == ["solution"]
    assert sol["metadata"]["jupyter"] == {"source_hidden": True}
    before = source(nb["cells"][solutions[0] - 1])
    assert "try it yourself first" in before.lower()
    assert before.startswith(TRY_FIRST_START) and before.endswith(TRY_FIRST_END), (
        f"{file}: the cell before the solution reads {TRY_FIRST_START!r} ... {TRY_FIRST_END!r}"
    )
    check = source(nb["cells"][solutions[0] + 1])
    assert '"Right:' in check or "'Right:" in check or 'f"Right:' in check
    assert "Not yet:" in check
    assert sum("assert " in source(c) for c in codes) >= 3, f"{file}: claims must be asserted"


@pytest.mark.parametrize("name", cases.names())
def test_case_lesson_title_and_panel(name):
    case = cases.get(name)
    nb = load(case.lesson)
    assert source(nb["cells"][0]).splitlines()[0] == f"# {case.title}"
    texts = [source(c) for c in code_cells(nb)]
    assert any(re.search(rf'labkit\.explore\("{name}", seed=SEED[,)]', t) for t in texts)
    assert any(t.strip().startswith("panel.wait()") for t in texts)
    cells = nb["cells"]
    [at] = [
        i
        for i, c in enumerate(cells)
        if source(c).startswith(f'panel = labkit.explore("{name}", seed=SEED')
    ]
    assert source(cells[at]).endswith("\npanel"), "the explore cell ends by showing the panel"
    assert cells[at - 1]["cell_type"] == "markdown" and source(cells[at - 1]).startswith(
        "## Explore\n\n"
    )
    assert source(cells[at + 1]) == PANEL_WAIT


# ---- the example logs of lesson 06 ----


def test_example_logs_match_tools_make_examples():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_examples.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr + "regenerate them: python tools/make_examples.py"


def test_example_check_catches_a_changed_log(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_examples", ROOT / "tools" / "make_examples.py"
    )
    make_examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_examples)
    files = {tmp_path / p.name: text for p, text in make_examples.outputs().items()}
    assert {p.name for p in files} == {
        p.name for p in (ROOT / "labkit" / "examples").iterdir() if p.is_file()
    }
    assert make_examples.stale(files) == list(files)  # nothing written yet
    for path, text in files.items():
        path.write_bytes(text.encode("utf-8"))
    assert make_examples.stale(files) == []
    log = tmp_path / "keras_csvlogger.csv"
    log.write_bytes(log.read_bytes().replace(b"0.402", b"0.403"))
    assert make_examples.stale(files) == [log]
