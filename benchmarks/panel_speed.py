"""How long a learner waits after moving a panel slider: trained on demand vs over the precomputed grid.

    python benchmarks/panel_speed.py [--cases negative-loss,...] [--device cpu]

For each case: open ``labkit.explore`` (first run at the failing defaults), wait for the background
precompute of the ``lr``/``eps`` slider positions, then move the lr slider over grid positions and
time each move until the new curves are drawn (goal <= 0.1 s), and compare with moving it to an
off-grid value, which trains (the case's run time). Also: the precompute's wall time and how many
configurations it trained. Ratios are measured side by side in this one process.
"""

from __future__ import annotations

import argparse
import statistics
import time

import labkit
from labkit import cases, runner


def measure(name: str, device: str | None) -> dict[str, float]:
    case = cases.get(name)
    start = time.perf_counter()
    panel = labkit.explore(name, seed=0, device=device)
    panel.wait()
    first = time.perf_counter() - start
    start = time.perf_counter()
    panel.wait(precompute=True)
    precompute = time.perf_counter() - start
    grid = runner.slider_grid(case.defaults.lr, case.knob_specs()["lr"][0])
    redraws = []
    trained = len(panel.calls)
    for value in grid[::2]:
        start = time.perf_counter()
        panel.controls["lr"].value = value
        panel.wait()
        redraws.append(time.perf_counter() - start)
        panel.close()  # no new precompute around the moved slider while we time
    assert len(panel.calls) == trained, "a grid position was trained, not drawn from the precomputed grid"
    off_grid = grid[0] * 10 ** (runner.LOG_STEP / 2)
    start = time.perf_counter()
    panel.set(lr=off_grid)
    panel.wait()
    on_demand = time.perf_counter() - start
    panel.close()
    return {"first run s": first, "precompute s": precompute, "configs precomputed": len(panel.cache) - 2,
            "redraw median s": statistics.median(redraws), "redraw max s": max(redraws),
            "off-grid (trains) s": on_demand, "speedup": on_demand / statistics.median(redraws)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(cases.names()))
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    print(f"labkit {labkit.__version__}, device {labkit.pick_device(args.device)}")
    rows = {name: measure(name, args.device) for name in args.cases.split(",")}
    columns = list(next(iter(rows.values())))
    print(f"{'case':18s}" + "".join(f"{c:>22s}" for c in columns))
    for name, row in rows.items():
        print(f"{name:18s}" + "".join(f"{row[c]:22.3f}" if isinstance(row[c], float) else f"{row[c]:22d}"
                                      for c in columns))


if __name__ == "__main__":
    main()
