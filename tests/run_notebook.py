"""Run a notebook top to bottom in a fresh kernel, with jupyter_client's blocking client.

nbclient's client waits on its sockets through zmq.asyncio, which now and then misses the wake-up
for a reply that has already arrived: the kernel sits idle and the client waits until the cell's
timeout (a lesson run stalled up to the 900 s then allowed; benchmarks/RESULTS.md, "A stalled
kernel"). The blocking client polls its sockets directly, as nbval does. Used by
tests/test_lesson_seeds.py and benchmarks/lesson_matrix.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel


class CellError(Exception):
    """A cell raised: ``index`` is its place among the notebook's code cells (from 0),
    ``ename``/``evalue`` the error."""

    def __init__(self, index: int, ename: str, evalue: str):
        super().__init__(f"cell {index}: {ename}: {evalue}")
        self.index, self.ename, self.evalue = index, ename, evalue


def run_notebook(
    path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    extra_cells: tuple[str, ...] = (),
) -> list[str]:
    """Run every code cell of the notebook at ``path``, then ``extra_cells``, in a fresh python3
    kernel started in the notebook's folder with this environment updated by ``env``; return what
    each cell printed (one string per code cell, in order). Raises CellError for the first cell that
    raises, TimeoutError for a cell that runs longer than ``timeout`` seconds."""
    path = Path(path)
    sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    km, kc = start_new_kernel(
        kernel_name="python3", cwd=str(path.parent), env={**os.environ, **(env or {})}
    )
    printed = []
    try:
        for index, source in enumerate([*sources, *extra_cells]):
            texts: list[str] = []

            def keep(msg, texts=texts):
                if msg["msg_type"] == "stream":
                    texts.append(msg["content"]["text"])

            reply = kc.execute_interactive(
                source, timeout=timeout, output_hook=keep, store_history=False
            )
            content = reply["content"]
            if content["status"] == "error":
                raise CellError(index, content["ename"], content["evalue"])
            printed.append("".join(texts))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return printed
