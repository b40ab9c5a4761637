"""Generate every lesson notebook in lessons/ from the Python modules in tools/lessons/.

    python tools/make_lessons.py          # (re)write the notebooks
    python tools/make_lessons.py --check  # exit 1 if a stored notebook differs from what would be written

Notebooks are written without outputs, execution counts or widget state, with stable cell ids,
so a regenerated notebook is byte-identical when its lesson text did not change.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tomllib
from pathlib import Path

import nbformat
import nbformat.v4 as nbf

ROOT = Path(__file__).resolve().parent.parent
LESSONS_DIR = ROOT / "lessons"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lessons._nb import Context  # noqa: E402

# Used only while pyproject.toml has no [project.urls] Repository.
FALLBACK_REPO_URL = "https://github.com/labkit-edu/labkit"

# Lesson modules in order; each has FILE (lesson 00) or CASE (a case name whose .lesson names the file).
MODULES = ("l00_reading_loss_curves", "l01_rising_val_loss", "l02_oscillating_loss", "l03_negative_loss",
           "l04_adam_epsilon", "l05_train_loss_rises")

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def repo_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """Return the repository URL from pyproject's [project.urls] Repository (the fallback when absent)."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return data.get("project", {}).get("urls", {}).get("Repository", FALLBACK_REPO_URL)


def lesson_file(module) -> str:
    """Return the notebook file name a lesson module writes."""
    if hasattr(module, "CASE"):
        from labkit import cases

        return cases.get(module.CASE).lesson
    return module.FILE


def build(module, url: str) -> tuple[str, str]:
    """Return (file name, notebook JSON text) of one lesson module."""
    file = lesson_file(module)
    nb = nbf.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nb.cells = module.cells(Context(repo_url=url, file=file))
    stem = file.split("_")[0]
    for i, cell in enumerate(nb.cells):
        cell.id = f"lesson{stem}-{i:02d}"  # stable ids keep regeneration byte-identical
    nbformat.validate(nb)
    return file, nbformat.writes(nb) + "\n"


def build_all() -> dict[str, str]:
    """Return {file name: notebook text} for every lesson."""
    url = repo_url()
    out = {}
    for name in MODULES:
        file, text = build(importlib.import_module(f"lessons.{name}"), url)
        out[file] = text
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored notebooks, write nothing")
    args = parser.parse_args(argv)
    notebooks = build_all()
    if args.check:
        stale = [f for f, text in notebooks.items()
                 if not (LESSONS_DIR / f).exists() or (LESSONS_DIR / f).read_text(encoding="utf-8") != text]
        for f in stale:
            print(f"lessons/{f} is out of date: run python tools/make_lessons.py", file=sys.stderr)
        return 1 if stale else 0
    LESSONS_DIR.mkdir(exist_ok=True)
    for f, text in notebooks.items():
        (LESSONS_DIR / f).write_text(text, encoding="utf-8")
        print(f"wrote lessons/{f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
