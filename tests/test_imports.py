"""One direction of data: no import cycle inside labkit, lazy imports included.

Every import statement of every labkit module counts, wherever it stands: at the top, inside a
function (a lazy import still means the two modules need each other; it only hides the cycle from
Python), and under ``if TYPE_CHECKING:`` (never run, but the modules then know each other's insides;
labkit has none that would close a cycle, and one would be reported like any other import).

Edges, from the importing module:

- ``import a.b.c`` and ``from a.b.c import name``: to ``a.b.c``;
- ``from a.b import c``: to ``a.b.c`` when ``c`` is a module of ``a.b`` (a file or a package), else
  to ``a.b`` (``c`` is a name its ``__init__`` defines or re-exports); so ``from .. import cases``
  is an edge to labkit.cases, and ``from .. import History`` one to labkit itself;
- relative imports resolve against the importing module's package (a package's ``__init__`` is in
  its own package).

The parent packages Python imports on the way (``a`` and ``a.b`` for ``a.b.c``) are not edges:
Python runs a package's ``__init__`` before any module inside it, so a module never starts its
parents' ``__init__``, and what it reads from one is the ``from a.b import name`` edge above.
Counting them would make every package whose ``__init__`` imports its submodules a cycle
(labkit/__init__ -> labkit.cases -> labkit.cases.base -> labkit), so ``from labkit import x`` inside
labkit is a cycle exactly when ``x`` is a name of labkit/__init__ (which imports nearly everything)
and not a module. Imports by string (``importlib.import_module``, ``__import__``) would be invisible
here, so the walk refuses them.
"""

import ast
import pathlib

import pytest

import labkit

ROOT = pathlib.Path(labkit.__file__).parent


def module_names(root: pathlib.Path, package: str) -> dict[str, pathlib.Path]:
    """Return {dotted module name: file} for every module of the package at ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join([package, *parts])] = path
    return names


def import_graph(root: pathlib.Path, package: str) -> dict[str, dict[str, list[int]]]:
    """Return {module: {imported module of the package: [line numbers]}} from every import
    statement."""
    modules = module_names(root, package)
    graph: dict[str, dict[str, list[int]]] = {name: {} for name in modules}
    for name, path in modules.items():
        own_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = own_package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    targets.append(sub if sub in modules else source)
            elif isinstance(node, ast.Call) and getattr(
                node.func, "attr", getattr(node.func, "id", None)
            ) in ("import_module", "__import__"):
                raise AssertionError(
                    f"{path}:{node.lineno} imports by string; this walk cannot follow it"
                )
            for target in targets:
                if target in modules:
                    graph[name].setdefault(target, []).append(node.lineno)
    return graph


def find_cycles(graph: dict[str, dict[str, list[int]]]) -> list[list[str]]:
    """Return one cycle [m0, m1, ..., m0] per strongly connected component that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def connect(v: str) -> None:  # Tarjan's algorithm; labkit's graph is small enough to recurse
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    cycles = []
    for component in components:
        start = min(component)
        if len(component) == 1 and start not in graph[start]:
            continue
        # breadth-first inside the component, back to start: a shortest cycle
        paths = {start: [start]}
        queue = [start]
        while queue:
            v = queue.pop(0)
            for w in sorted(graph[v]):
                if w == start:
                    queue = []
                    cycles.append(paths[v] + [start])
                    break
                if w in component and w not in paths:
                    paths[w] = paths[v] + [w]
                    queue.append(w)
    return cycles


def describe(cycle: list[str], graph: dict[str, dict[str, list[int]]]) -> str:
    return (
        " -> ".join(
            f"{a} (line {', '.join(map(str, graph[a][b]))})" for a, b in zip(cycle, cycle[1:])
        )
        + f" -> {cycle[-1]}"
    )


def test_labkit_has_no_import_cycle():
    graph = import_graph(ROOT, "labkit")
    assert "labkit.cases.base" in graph and graph["labkit.cases.base"], "the walk found no imports"
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(describe(c, graph) for c in cycles)


def test_the_training_loop_does_not_know_the_cases():
    graph = import_graph(ROOT, "labkit")
    for name in ("labkit.train", "labkit.data", "labkit.runlock"):
        assert not [m for m in graph[name] if m.startswith("labkit.cases")], name


def test_moved_names_stay_where_users_find_them():
    from labkit import cases, data, runlock, train

    assert cases.Setup is train.Setup and train.Data is data.Data
    assert (
        callable(runlock.exclusive)
        and callable(runlock.others_waiting)
        and callable(runlock.deterministic)
    )


# --- the checker itself, on small packages written for it -------------------------------------


def write_package(tmp_path: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def cycles_of(tmp_path, files):
    graph = import_graph(write_package(tmp_path, files), "pkg")
    return graph, find_cycles(graph)


def test_a_lazy_cycle_is_found(tmp_path):
    graph, cycles = cycles_of(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .b import g\n\ndef f():\n    return 1\n",
            "b.py": "def g():\n    from .a import f  # lazy: Python would never complain\n    "
            "return f()\n",
        },
    )
    assert cycles == [["pkg.a", "pkg.b", "pkg.a"]]
    assert describe(cycles[0], graph) == "pkg.a (line 1) -> pkg.b (line 2) -> pkg.a"


def test_type_checking_imports_count(tmp_path):
    _, cycles = cycles_of(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from . import b\n",
            "b.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from pkg.a import A\n",
        },
    )
    assert cycles == [["pkg.a", "pkg.b", "pkg.a"]]


def test_package_names_and_submodules_are_told_apart(tmp_path):
    files = {
        "__init__.py": "from . import sub\nfrom .tool import VERSION\n",
        "tool.py": "VERSION = 1\n",
        "sub/__init__.py": "from .mod import y\n",
        "sub/mod.py": "from .. import tool  # a module: an edge to pkg.tool, no cycle\ny = "
        "tool.VERSION\n",
    }
    graph, cycles = cycles_of(tmp_path, files)
    assert graph["pkg.sub.mod"] == {"pkg.tool": [1]} and graph["pkg"] == {
        "pkg.sub": [1],
        "pkg.tool": [2],
    }
    assert cycles == []  # parent packages (pkg, pkg.sub for pkg.sub.mod) are no edges
    # a name re-exported by the package's __init__ is an edge to the package: a real cycle
    files["sub/mod.py"] = "from .. import VERSION\ny = VERSION\n"
    _, cycles = cycles_of(tmp_path, files)
    assert cycles == [["pkg", "pkg.sub", "pkg.sub.mod", "pkg"]]


def test_imports_by_string_are_refused(tmp_path):
    with pytest.raises(AssertionError, match="imports by string"):
        cycles_of(
            tmp_path, {"__init__.py": "import importlib\nm = importlib.import_module('pkg.a')\n"}
        )
