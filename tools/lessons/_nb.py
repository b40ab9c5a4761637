"""Cell builders shared by the lesson modules: markdown, code, tagged and solution cells."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import nbformat.v4 as nbf


@dataclass(frozen=True)
class Context:
    """What every lesson needs from the generator: the repository URL and the notebook's file name."""

    repo_url: str  # https://github.com/OWNER/REPO, from pyproject [project.urls] Repository
    file: str  # notebook file name inside lessons/

    @property
    def owner_repo(self) -> str:
        """Return "OWNER/REPO" of the repository URL."""
        return "/".join(self.repo_url.rstrip("/").removesuffix(".git").split("/")[-2:])

    def badges(self) -> str:
        """Return the Open-in-Colab and Launch-Binder badges of this notebook."""
        colab = f"https://colab.research.google.com/github/{self.owner_repo}/blob/main/lessons/{self.file}"
        binder = f"https://mybinder.org/v2/gh/{self.owner_repo}/main?urlpath=lab/tree/lessons/{self.file}"
        return (f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
                f"[![Launch Binder](https://mybinder.org/badge_logo.svg)]({binder})")


def _text(source: str) -> str:
    return textwrap.dedent(source).strip("\n")


def md(source: str):
    """Return a markdown cell."""
    return nbf.new_markdown_cell(_text(source))


def code(source: str, *tags: str, hidden: bool = False):
    """Return a code cell with optional tags; ``hidden`` collapses its source in JupyterLab."""
    cell = nbf.new_code_cell(_text(source))
    if tags:
        cell.metadata["tags"] = list(tags)
    if hidden:
        cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def solution(source: str):
    """Return the reference answer of an exercise: tagged ``solution`` and collapsed."""
    return code(source, "solution", hidden=True)


def header(ctx: Context, title: str, intro: str):
    """Return the top markdown cell: the symptom as title, the badges, what the lesson covers."""
    return md(f"# {title}\n\n{ctx.badges()}\n\n{_text(intro)}")


def setup(ctx: Context):
    """Return the setup cell: install labkit only when it is missing (Colab), never torch & co."""
    return code(f'''
        # On Colab (or anywhere labkit is missing) install it; torch, numpy and matplotlib are left alone.
        try:
            import labkit
        except ImportError:
            get_ipython().run_line_magic("pip", 'install -q "labkit @ git+{ctx.repo_url}"')
        ''')


def imports(third_party: str = "", local: str = ""):
    """Return the first code cell after setup: imports and the lesson's seed."""
    lines = ["import math", "", "import matplotlib.pyplot as plt"]
    if third_party:
        lines.append(_text(third_party))
    lines += ["", "import labkit", "from labkit import cases, plots"]
    if local:
        lines.append(_text(local))
    lines += ["", "SEED = 0  # every run in this lesson uses it; change it to see another draw of the data"]
    return code("\n".join(lines))


def try_first(what: str):
    """Return the markdown cell before a collapsed solution."""
    return md(f"**Try it yourself first.** {_text(what)} The next cell holds a reference answer, "
              "collapsed: overwrite it with your own value before you run it.")


def panel(case_name: str, what: str, runs: str = ""):
    """Return the cells that open the case's panel and wait for its first run.

    ``runs`` is Python for the lesson's Histories of this case (e.g. "[failing, fixed]"): the panel
    starts with them cached instead of training them again.
    """
    args = f", runs={runs}" if runs else ""
    return [
        md(f"## Explore\n\n{_text(what)}"),
        code(f'panel = labkit.explore("{case_name}", seed=SEED{args})\npanel'),
        code("panel.wait()  # blocks until the panel's current run has finished"),
    ]
