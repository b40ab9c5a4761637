"""Colab and Binder entry points of every lesson: the setup cell and the badges.

On Colab a lesson starts in a runtime that already has torch, numpy and matplotlib (builds that
match its GPU) but not labkit. The first code cell must install labkit only when it is missing
and must leave those three alone. Colab renders standard ipywidgets itself; ipympl's canvas needs
its custom widget manager, which must be switched on only on Colab and only where ipympl is used.
The badges must open this very file, from the repository named in pyproject.toml.

Each lesson is checked twice, as stored: the .ipynb that Colab and Binder open, and its py:percent
twin (lessons/py/NN_name.py, paired through lessons/jupytext.toml) that teachers may edit instead.
"""

import ast
import importlib
import inspect
import json
import re
import sys
from pathlib import Path

import jupytext
import pytest
from IPython.core.inputtransformer2 import TransformerManager

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "lessons").glob("*.ipynb"))
# every notebook, then every text twin (lessons/py/NN_name.py; a missing twin fails
# tests/test_lessons_meta.py)
TWINS = [p.parent / "py" / p.with_suffix(".py").name for p in NOTEBOOKS]
LESSONS = NOTEBOOKS + [t for t in TWINS if t.exists()]
REPO_URL = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"][
    "Repository"
].rstrip("/")
GITHUB_PATH = REPO_URL.removeprefix("https://github.com/")  # "owner/name"
PRELOADED_ON_COLAB = ("torch", "numpy", "matplotlib")
IPYMPL_USE = re.compile(r"%matplotlib\s+(widget|ipympl)|\bipympl\b")


def _notebook(path):
    if path.suffix == ".py":
        return jupytext.read(path, fmt="py:percent")
    return json.loads(path.read_text())


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _code_cells(nb):
    return [_source(c) for c in nb["cells"] if c["cell_type"] == "code"]


def _python(cell_source):
    """Cell source as plain Python (%pip and !pip become get_ipython() calls), parsed."""
    return ast.parse(TransformerManager().transform_cell(cell_source))


def _pip_calls(tree):
    """Every call in tree that runs pip: %pip / !pip magics, or subprocess/os calls naming pip."""
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            text = ast.unparse(node)
            if re.search(r"\bpip\b", text) and re.search(r"\binstall\b", text):
                calls.append(node)
    return calls


def _inside(node, parents):
    return any(node in set(ast.walk(p)) for p in parents)


def _imports_labkit(statements):
    return any(
        isinstance(n, ast.Import) and any(a.name == "labkit" for a in n.names)
        for s in statements
        for n in ast.walk(s)
    )


def _catches_import_error(handler):
    names = (
        {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
        if handler.type is not None
        else set()
    )
    return bool(names & {"ImportError", "ModuleNotFoundError"})


def _panel_draws_with_ipympl_by_default():
    """Whether labkit.explore(...) with no backend= argument draws on an ipympl canvas.

    Its "auto" default picks ipympl only where the notebook runs `%matplotlib widget`, which
    IPYMPL_USE finds in the notebook's own code; "image" never does.
    """
    explore = getattr(importlib.import_module("labkit"), "explore", None)
    backend = inspect.signature(explore).parameters.get("backend") if explore else None
    return backend is not None and backend.default == "ipympl"


def _uses_ipympl(nb):
    code = "\n".join(_code_cells(nb))
    if IPYMPL_USE.search(code):
        return True
    return "labkit.explore(" in code and _panel_draws_with_ipympl_by_default()


def _colab_guarded(call, tree):
    """True when call sits under `if <something naming google.colab>` or a try that imports it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "google.colab" in ast.unparse(node.test):
            if _inside(call, node.body):
                return True
        if isinstance(node, ast.Try) and "google.colab" in ast.unparse(
            ast.Module(body=node.body, type_ignores=[])
        ):
            if _inside(call, node.body + node.orelse):
                return True
    return False


lessons = pytest.mark.parametrize("lesson", LESSONS, ids=[p.name for p in LESSONS])


def test_repository_url_is_a_github_repository():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL), REPO_URL


def test_every_lesson_and_its_twin_are_checked():
    assert NOTEBOOKS and len(LESSONS) == 2 * len(NOTEBOOKS), [p.name for p in LESSONS]


@lessons
def test_first_code_cell_installs_labkit_only_when_missing(lesson):
    cells = _code_cells(_notebook(lesson))
    assert cells, f"{lesson.name} has no code cell"
    first = cells[0]
    tree = _python(first)
    guards = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Try)
        and _imports_labkit(node.body)
        and any(_catches_import_error(h) for h in node.handlers)
    ]
    assert guards, (
        f"{lesson.name}: the first code cell must try `import labkit` and install on ImportError"
    )
    handlers = [h for g in guards for h in g.handlers if _catches_import_error(h)]
    installs = _pip_calls(tree)
    assert installs, f"{lesson.name}: the first code cell never installs labkit"
    for call in installs:
        text = ast.unparse(call)
        assert _inside(call, handlers), (
            f"{lesson.name}: `{text}` runs even when labkit is installed"
        )
        assert f"git+{REPO_URL}" in text or "labkit" in text, (
            f"{lesson.name}: `{text}` does not install labkit"
        )
        if "git+" in text:
            assert f"git+{REPO_URL}" in text, (
                f"{lesson.name}: `{text}` installs from another URL than {REPO_URL}"
            )
        for flag in ("--upgrade", "-U ", "--force-reinstall", "--ignore-installed", "-I "):
            assert flag not in text + " ", (
                f"{lesson.name}: `{text}` uses {flag.strip()}, which reinstalls Colab's packages"
            )
        for package in PRELOADED_ON_COLAB:
            assert not re.search(rf"(?<![\w/.-]){package}\b", text.replace(REPO_URL, "")), (
                f"{lesson.name}: `{text}` names {package}; Colab's own build must be kept"
            )
    # No other code cell installs anything.
    for index, cell in enumerate(cells[1:], start=2):
        assert not _pip_calls(_python(cell)), f"{lesson.name}: code cell {index} runs pip install"


@lessons
def test_colab_widget_manager_only_where_ipympl_is_used(lesson):
    nb = _notebook(lesson)
    enables = [
        (i, call)
        for i, cell in enumerate(_code_cells(nb), start=1)
        for tree in [_python(cell)]
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and "enable_custom_widget_manager" in ast.unparse(call.func)
        for _ in [tree]
    ]
    if not _uses_ipympl(nb):
        assert not enables, (
            f"{lesson.name} does not use ipympl but enables Colab's custom widget manager"
        )
        return
    assert enables, (
        f"{lesson.name} uses ipympl: its first code cell must call "
        "google.colab.output.enable_custom_widget_manager() when running on Colab"
    )
    first_tree = _python(_code_cells(nb)[0])
    first_calls = [
        c
        for c in ast.walk(first_tree)
        if isinstance(c, ast.Call) and "enable_custom_widget_manager" in ast.unparse(c.func)
    ]
    assert first_calls, (
        f"{lesson.name}: enable the custom widget manager in the first code cell, before any widget"
    )
    for call in first_calls:
        assert _colab_guarded(call, first_tree), (
            f"{lesson.name}: enable_custom_widget_manager() must run only on Colab "
            "(inside `if 'google.colab' in sys.modules:` or a try that imports google.colab)"
        )


@lessons
def test_badges_open_this_lesson_from_the_pyproject_repository(lesson):
    nb = _notebook(lesson)
    markdown = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    name = lesson.with_suffix(".ipynb").name  # a twin's badges open its notebook
    path = f"lessons/{name}"
    colab = f"https://colab.research.google.com/github/{GITHUB_PATH}/blob/main/{path}"
    binder = re.compile(
        rf"https://mybinder\.org/v2/gh/{re.escape(GITHUB_PATH)}/(main|HEAD)\?urlpath=lab/tree/{re.escape(path)}\)"
    )
    badge = re.compile(r"\[!\[[^\]]*\]\((?P<image>[^)]+)\)\]\((?P<link>[^)]+)\)")
    links = {m["link"]: m["image"] for m in badge.finditer(markdown)}
    assert colab in links, (
        f"{lesson.name}: no 'Open in Colab' badge linking to {colab}; badges: {list(links)}"
    )
    assert links[colab] == "https://colab.research.google.com/assets/colab-badge.svg"
    binder_links = [link for link in links if binder.search(link + ")")]
    assert binder_links, (
        f"{lesson.name}: no 'Launch Binder' badge linking to "
        f"https://mybinder.org/v2/gh/{GITHUB_PATH}/main?urlpath=lab/tree/{path}; badges: "
        f"{list(links)}"
    )
    assert links[binder_links[0]] == "https://mybinder.org/badge_logo.svg"
    # Every Colab/Binder link in the lesson points at this repository and this file.
    for link in links:
        if "colab.research.google.com/github" in link or "mybinder.org/v2" in link:
            assert GITHUB_PATH in link and name in link, (
                f"{lesson.name}: badge {link} opens something else"
            )
    first_markdown = next(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert colab in first_markdown and binder_links[0] in first_markdown, (
        f"{lesson.name}: the badges belong in the first markdown cell, under the title"
    )


def test_readme_badges_open_the_lessons_of_the_pyproject_repository():
    readme = (REPO / "README.md").read_text()
    badge = re.compile(r"\[!\[[^\]]*\]\((?P<image>[^)]+)\)\]\((?P<link>[^)]+)\)")
    links = {m["link"]: m["image"] for m in badge.finditer(readme.split("\n## ")[0])}
    colab = [link for link in links if link.startswith("https://colab.research.google.com/github/")]
    binder = [link for link in links if link.startswith("https://mybinder.org/v2/gh/")]
    assert colab and binder, (
        "README needs 'Open in Colab' and 'Launch Binder' badges above its first section: "
        f"{list(links)}"
    )
    prefix = f"https://colab.research.google.com/github/{GITHUB_PATH}/blob/main/"
    assert colab[0].startswith(prefix) and (REPO / colab[0].removeprefix(prefix)).is_file(), colab[
        0
    ]
    assert links[colab[0]] == "https://colab.research.google.com/assets/colab-badge.svg"
    assert re.fullmatch(
        rf"https://mybinder\.org/v2/gh/{re.escape(GITHUB_PATH)}/(main|HEAD)\?urlpath=lab/tree/lessons/?",
        binder[0],
    ), binder[0]
    assert links[binder[0]] == "https://mybinder.org/badge_logo.svg"
