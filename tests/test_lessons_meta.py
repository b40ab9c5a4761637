"""Static checks of the lesson notebooks (nothing is executed): layout, metadata, badges, tags.

The notebooks themselves run under ``pytest --nbval-lax lessons``.
"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from labkit import cases

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
FILES = (["00_reading_loss_curves.ipynb"] + [cases.get(name).lesson for name in cases.names()]
         + ["06_diagnose_your_own_run.ipynb"])
# nbval / nbclient comment markers that must be cell tags instead
COMMENT_MARKERS = re.compile(r"#\s*(NBVAL_\w+|nbval[-_]\w+|raises-exception|skip-execution)", re.IGNORECASE)


def repo_url():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def load(file):
    return json.loads((LESSONS / file).read_text(encoding="utf-8"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_every_case_has_a_lesson():
    missing = [f for f in FILES if not (LESSONS / f).exists()]
    assert not missing, f"missing lessons: {missing}; run python tools/make_lessons.py"


@pytest.mark.parametrize("file", FILES)
def test_stored_clean(file):
    nb = load(file)
    assert "widgets" not in nb["metadata"]
    for cell in code_cells(nb):
        assert cell["outputs"] == [], f"{file}: a cell has stored outputs"
        assert cell["execution_count"] is None
        assert "widgets" not in cell.get("metadata", {})


@pytest.mark.parametrize("file", FILES)
def test_first_cells(file):
    nb = load(file)
    top = nb["cells"][0]
    assert top["cell_type"] == "markdown" and source(top).startswith("# ")
    setup, imports = code_cells(nb)[:2]
    text = source(setup)
    assert "import labkit" in text and "except ImportError" in text
    assert f'labkit @ git+{repo_url()}' in text
    pip_lines = [line for line in text.splitlines() if "pip" in line and not line.lstrip().startswith("#")]
    assert len(pip_lines) == 1 and "get_ipython().run_line_magic" in pip_lines[0]
    assert not re.search(r"\b(torch|numpy|matplotlib)\b", pip_lines[0]), "never (re)install torch & co"
    compile(text, file, "exec")  # plain Python: no %pip line magic outside get_ipython()
    assert re.search(r"^SEED = 0\b", source(imports), re.MULTILINE)
    assert "import labkit" in source(imports)


@pytest.mark.parametrize("file", FILES)
def test_badges(file):
    nb = load(file)
    owner_repo = "/".join(repo_url().rstrip("/").split("/")[-2:])
    top = source(nb["cells"][0])
    assert f"https://colab.research.google.com/github/{owner_repo}/blob/main/lessons/{file}" in top
    assert f"https://mybinder.org/v2/gh/{owner_repo}/main?urlpath=lab/tree/lessons/{file}" in top


@pytest.mark.parametrize("file", FILES)
def test_tags_not_comment_markers(file):
    for cell in code_cells(load(file)):
        assert not COMMENT_MARKERS.search(source(cell)), f"{file}: use cell tags, not comment markers"


@pytest.mark.parametrize("file", FILES)
def test_structure(file):
    nb = load(file)
    markdown = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "## Summary" in markdown and "## Exercises" in markdown
    assert "## Your turn" in markdown
    codes = code_cells(nb)
    solutions = [i for i, c in enumerate(nb["cells"]) if "solution" in c.get("metadata", {}).get("tags", [])]
    assert len(solutions) == 1, f"{file}: one collapsed solution cell"
    sol = nb["cells"][solutions[0]]
    assert sol["metadata"]["jupyter"] == {"source_hidden": True}
    assert "try it yourself first" in source(nb["cells"][solutions[0] - 1]).lower()
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


def test_generator_matches_stored_notebooks():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "make_lessons.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
