"""How long a learner waits after touching a panel control: every next move, once the background
precompute ends.

    python benchmarks/panel_speed.py [--cases negative-loss,...] [--device cpu] [--threads N]

For each case: open ``labkit.explore`` (first run at the failing defaults, timed), then let the
background precompute train every run one control move away (``labkit.moves``: each slider one and
two positions either way, every dropdown option, each checkbox toggled, each number box one up and
down, each fix button), recording when the fix buttons, all one-position moves and all moves were
ready (time to full coverage). Then make every move once, as the front end does (set the control's
value, or press the fix button), time it until the new curves are drawn, and go back with reset.
A move counts as instant when it trained nothing and drew in <= 0.1 s (goal: >= 95 % of moves).
Last, one off-grid learning rate, which trains: the case's run time, for the ratio. All side by side
in this one process.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import header, set_threads

import labkit
from labkit import cases, runner

INSTANT_S = 0.1
GOAL_SHARE = 0.95


def _make(panel: labkit.Panel, move: runner.Move) -> None:
    if move.knob:
        # what a slider, box, dropdown or checkbox sends
        panel.controls[move.knob].value = move.knobs[move.knob]
    else:  # a "fix: ..." or "try: ..." button, pressed
        panel.fix_buttons[move.label.split(": ", 1)[1]].click()


def measure(name: str, device: str | None) -> dict[str, float]:
    start = time.perf_counter()
    panel = labkit.explore(name, seed=0, device=device)
    panel.wait()
    first = time.perf_counter() - start
    plan = panel.runner.moves()
    ready_at: dict[str, float] = {}
    start = time.perf_counter()
    while True:  # when did each move become ready?
        for move in plan:
            if move.label not in ready_at and runner.key(move.knobs) in panel.cache:
                ready_at[move.label] = time.perf_counter() - start
        if not panel.runner.running:
            break
        time.sleep(0.05)
    full = time.perf_counter() - start
    covered, total = panel.coverage()

    def ready(level: int) -> float:
        times = [ready_at.get(m.label, float("inf")) for m in plan if m.level <= level]
        return max(times, default=0.0)

    panel.close()  # nothing more trained ahead while the moves are timed
    times, instant = [], 0
    for move in plan:
        before = len(panel.calls)
        start = time.perf_counter()
        _make(panel, move)
        panel.wait()
        took = time.perf_counter() - start
        times.append(took)
        instant += len(panel.calls) == before and took <= INSTANT_S
        panel.reset()
        panel.wait()
    lr = panel.controls["lr"] if "lr" in panel.controls else None
    on_demand = float("nan")
    if lr is not None:
        off_grid = cases.get(name).defaults.lr * 10 ** (runner.LOG_STEP / 2)
        start = time.perf_counter()
        panel.set(lr=off_grid)
        panel.wait()
        on_demand = time.perf_counter() - start
    panel.close()
    return {
        "first run s": first,
        "moves": len(plan),
        "ready after precompute": covered / max(total, 1),
        "instant share": instant / max(len(plan), 1),
        "redraw median s": statistics.median(times),
        "redraw max s": max(times),
        "fixes ready s": ready(0),
        "1-step ready s": ready(1),
        "all ready s": full,
        "off-grid trains s": on_demand,
        "speedup": on_demand / statistics.median(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(cases.names()))
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    set_threads(args.threads)
    header("panel speed: every next control move after the background precompute", args.device)
    rows = {name: measure(name, args.device) for name in args.cases.split(",")}
    columns = list(next(iter(rows.values())))
    widths = {c: max(len(c), 8) + 2 for c in columns}
    print(f"{'case':17s}" + "".join(f"{c:>{widths[c]}s}" for c in columns))
    for name, row in rows.items():
        print(
            f"{name:17s}"
            + "".join(
                f"{row[c]:{widths[c]}d}" if isinstance(row[c], int) else f"{row[c]:{widths[c]}.3f}"
                for c in columns
            )
        )
    shares = [row["instant share"] for row in rows.values()]
    print(
        f"instant (cache, <= {INSTANT_S:g} s) share over all cases: {min(shares):.1%} worst case; "
        f"goal >= {GOAL_SHARE:.0%}: {'met' if min(shares) >= GOAL_SHARE else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
