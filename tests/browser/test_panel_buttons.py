"""In a real browser, as a learner: every fix and try button of every case's panel, and the
learning-rate slider at both ends, must be answered by the status line the one judge
(``labkit.verdict``) gives that run.

A throwaway notebook beside the lessons shows ``labkit.explore(<case>, seed=0, device="cpu",
precompute=False)`` for each of the five cases (precompute off: only the runs clicked are trained).
After Run All, for each panel: each "fix: ..." and "try: ..." button is clicked (a real mouse
click), the test waits until the plot image has changed and the status line reports that button's
finished run, reads the status from the DOM and compares it with the verdict of ``case.run(seed=0,
device="cpu", **(defaults | case.overrides(name)))`` computed here, in the pytest process (runs are
deterministic); then the reset button. Then the learning-rate slider goes to its first and last
position with the keyboard (Home, End on the focused noUi handle), each checked the same way. Last,
the panel is read as it is and in an 800 px window (test_lab_browser's checks: nothing cut, no
dropdown option cut inside its box, the key's text >= 10 px, each slider handle named by its label).

Checked for each run: the status contains the verdict's headline; it names the run's changed knobs;
the words "healthy" / "the failure is gone" appear only when the verdict's state is healthy (so a
"try:" button is never called a fix unless the verdict says so); the plot's alt text carries the
same verdict; no error in the panel. Every mismatch is collected and the test fails once, listing
them all. A table of every check is printed (-s). Screenshots of the panel after each step go to
$LABKIT_SCREENSHOTS/panel_buttons or build/screenshots/panel_buttons/<case>_<n>.png (git-ignored).
Same machinery as test_lab_browser.py: Debian's /usr/bin/chromium driven by the pip `playwright`
package, skipped (failed when CI is set) without them.
"""

import dataclasses
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from lab_server import REPO, code_notebook, lab_and_browser
from test_lab_browser import (
    CODE_NAMES,
    ERRORS_JS,
    KEY_MIN_PX,
    LOOK_JS,
    MAX_TEXT,
    PANEL_LOOK_JS,
    SMALL_PX,
    _run_all,
    _shut_down_kernels,
)

import labkit
from labkit import cases
from labkit.knobs import value_words
from labkit.moves import log_positions

NOTEBOOK = "panel_buttons_check.ipynb"  # written into the copy of lessons/, next to the lessons
CASES = cases.names()
LR = "lr"
# one panel run (the slowest case trains in ~3 s alone; the machine is shared)
UPDATE_TIMEOUT_S = 240
SETTLE_S = 0.5  # the status must read the same this long after it first shows the finished run
HEALTHY_WORDS = re.compile(r"healthy|the failure is gone", re.IGNORECASE)

# What one panel (the first output of ``cell``) shows now: its title; its status line (the top
# VBox's second HTML: the first is the title, the third the error box) and whether it is cut off;
# the plot's <img> (its src as a short fingerprint, and its alt text); the learning-rate readout;
# the error box's text when it is shown; the button labels.
PANEL_JS = """(cell) => {
  const top = cell.querySelector('.jp-OutputArea-output .widget-vbox');
  if (!top) return null;
  const words = e => (e ? e.innerText : '').replace(/[ \\t]+/g, ' ').replace(/ *\\n */g, '\\n').trim();
  const htmls = [...top.children].filter(c => c.classList.contains('widget-html'));
  const img = top.querySelector('img');
  const src = img ? img.getAttribute('src') || '' : '';
  let hash = 0;
  for (let i = 0; i < src.length; i++) hash = (hash * 31 + src.charCodeAt(i)) | 0;
  const lr = [...top.querySelectorAll('.widget-slider')].find(
    s => (s.querySelector('.widget-label')?.textContent || '').trim() === 'learning rate');
  const error = htmls[2];
  // the status line cut off: wider than its box, or running past the output area (the panel hides overflow)
  const status = htmls[1]?.querySelector('.widget-html-content') || htmls[1];
  const area = cell.querySelector('.jp-OutputArea-output').getBoundingClientRect();
  const cut = [];
  if (status && status.scrollWidth > status.clientWidth + 1) cut.push(`${status.scrollWidth} px wide in ${status.clientWidth} px`);
  for (const e of status ? [status, ...status.querySelectorAll('*')] : []) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > area.right + 1) { cut.push(`ends ${Math.round(r.right - area.right)} px right of the cell`); break; }
  }
  return {
    cut: cut.join('; '),
    title: words(htmls[0]),
    status: words(htmls[1]),
    plot: src ? `${src.length}:${hash}` : '',
    alt: img ? img.getAttribute('alt') || '' : '',
    readout: lr ? (lr.querySelector('.widget-readout')?.textContent || '').trim() : null,
    error: error && error.offsetParent !== null ? words(error) : '',
    buttons: [...top.querySelectorAll('button.widget-button')].map(b => b.textContent.trim()),
  };
}"""


@pytest.fixture(scope="module")
def lab(sync_playwright, tmp_path_factory):
    """One JupyterLab over a copy of lessons/ plus the throwaway notebook (a panel per case), and
    one browser."""
    cells = {
        f"panel-{i}": f'import labkit\n\nlabkit.explore("{name}", seed=0, device="cpu", precompute=False)'
        for i, name in enumerate(CASES)
    }
    with lab_and_browser(
        sync_playwright, tmp_path_factory.mktemp("panel_buttons"), {NOTEBOOK: code_notebook(cells)}
    ) as lab_:
        yield lab_


@dataclasses.dataclass
class Step:
    """One run the panel is driven to, what the verdict says of it, and what the panel showed."""

    case: str
    what: str  # "defaults", "fix: <name>", "try: <name>", "reset", "lr = <value>"
    knobs: dict  # every knob of the run
    state: str = ""  # the verdict's state and headline, from case.run in this process
    headline: str = ""
    shown: str = ""  # the panel's status text
    problems: list = dataclasses.field(default_factory=list)


def _run_words(case, knobs):
    """The status's "Run ..." words for a run of ``knobs`` (Panel._describe)."""
    defaults, specs, labels = (
        dataclasses.asdict(case.defaults),
        case.knob_specs(),
        case.knob_labels(),
    )
    changed = [n for n, v in knobs.items() if v != defaults[n]]
    if not changed:
        return "Run at the failing defaults ("
    return (
        "Run with "
        + ", ".join(f"{labels[n]} {value_words(specs[n][0], knobs[n])}" for n in changed)
        + " ("
    )


def _lr_ends(case):
    """The learning-rate slider's first and last values, as the panel builds and reads them
    (labkit.controls)."""
    spec = case.knob_specs()[LR][0]
    # control(value=default, default=default)
    positions = log_positions(spec, case.defaults.lr, case.defaults.lr)
    # controls.read
    return [min(max(float(v), spec.low), spec.high) for v in (positions[0], positions[-1])]


def _plan():
    """Every step of every case, in the order the browser takes them, with its knobs."""
    plan = {}
    for name in CASES:
        case = cases.get(name)
        defaults = dataclasses.asdict(case.defaults)
        steps = [Step(name, "defaults", defaults)]
        for kind, buttons in (("fix", case.fixes), ("try", case.tries)):
            for button in buttons:
                steps.append(Step(name, f"{kind}: {button}", defaults | case.overrides(button)))
                steps.append(Step(name, "reset", defaults))
        for value in _lr_ends(case):
            steps.append(Step(name, f"lr = {value:.2g}", defaults | {LR: value}))
        steps.append(Step(name, "reset", defaults))
        plan[name] = steps
    return plan


def _judge(plan):
    """Fill in each step's verdict from the case's own run in this process (each distinct run
    trained once)."""
    judged = {}
    for steps in plan.values():
        for step in steps:
            case = cases.get(step.case)
            run_key = (step.case, json.dumps(step.knobs, sort_keys=True))
            if run_key not in judged:
                judged[run_key] = labkit.verdict(case.run(seed=0, device="cpu", **step.knobs))
            step.state, step.headline = judged[run_key].state, judged[run_key].headline


def test_every_panel_button_and_lr_end_says_what_the_verdict_says(lab):
    base_url, token, browser, server_dir = lab
    shots = (
        Path(os.environ.get("LABKIT_SCREENSHOTS") or REPO / "build" / "screenshots")
        / "panel_buttons"
    )
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    print(f"\nscreenshots: {shots}")
    started = time.monotonic()
    plan = _plan()
    _judge(plan)
    print(
        f"verdicts of {sum(map(len, plan.values()))} steps computed here in "
        f"{time.monotonic() - started:.0f} s"
    )

    browser_log = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda err: browser_log.append(f"pageerror: {err}"))
    page.on(
        "console", lambda msg: msg.type == "error" and browser_log.append(f"console: {msg.text}")
    )
    try:
        mark = time.monotonic()
        _run_all(page, base_url, token, NOTEBOOK)
        print(f"Run All: {time.monotonic() - mark:.0f} s")
        cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
        assert cells.count() == len(CASES), f"{cells.count()} code cells, expected {len(CASES)}"
        for i, name in enumerate(CASES):
            mark = time.monotonic()
            _drive(page, cells.nth(i), cases.get(name), plan[name], shots)
            print(f"{name}: {len(plan[name])} steps in {time.monotonic() - mark:.0f} s")
        errors = page.evaluate(ERRORS_JS)
        assert not errors, "errors in the notebook:\n" + "\n---\n".join(errors)
    except Exception:
        page.screenshot(path=shots / "failure.png")
        print("browser log:\n" + "\n".join(browser_log[-30:]))
        print("server log:\n" + (server_dir / "jupyterlab.log").read_text()[-3000:])
        raise
    finally:
        _shut_down_kernels(base_url, token)
        page.close()

    steps = [s for name in CASES for s in plan[name]]
    print(_table(steps))
    print(f"whole test: {time.monotonic() - started:.0f} s")
    bad = [s for s in steps if s.problems]
    assert not bad, (
        f"{len(bad)} of {len(steps)} panel states disagree with labkit.verdict:\n"
        + "\n".join(
            f"- {s.case} / {s.what}: expected “{s.headline}” ({s.state}); {'; '.join(s.problems)}\n"
            f"    status: {s.shown!r}"
            for s in bad
        )
    )


def _drive(page, cell, case, steps, shots):
    """Take one panel through ``steps``: its first run, each button and reset, the lr slider's two
    ends."""
    cell.scroll_into_view_if_needed()
    now = _wait(
        cell,
        lambda p: p["plot"] and p["status"].startswith("Run at the failing defaults ("),
        "the panel's first run at the failing defaults",
    )
    assert now["title"] == case.title, f"cell for {case.name} shows the panel {now['title']!r}"
    n = 0
    for step in steps:
        before = now
        if step.what == "defaults":
            pass
        elif step.what == "reset":
            button = _button(cell, "reset to the failing defaults", step)
            if button is None:
                continue
            button.click()
            now = _wait(
                cell,
                lambda p: (
                    p["plot"] != before["plot"]
                    and p["status"].startswith("reset:")
                    and "\nRun " in p["status"]
                ),
                f"{case.name}: reset",
            )
        elif step.what.startswith(("fix: ", "try: ")):
            kind, name = step.what.split(": ", 1)
            button = _button(cell, step.what, step)
            if button is None:
                continue
            button.click()
            action = f"{kind} “{name}”"
            now = _wait(
                cell,
                lambda p: (
                    p["plot"] != before["plot"]
                    and p["status"].startswith(action)
                    and "\nRun " in p["status"]
                ),
                f"{case.name}: {step.what}",
            )
        else:  # the lr slider's first position, then its last
            words = value_words(case.knob_specs()[LR][0], step.knobs[LR])
            slider = (
                cell.locator(".widget-slider")
                .filter(
                    has=cell.page.locator(".widget-label", has_text=re.compile(r"^learning rate$"))
                )
                .first
            )
            slider.locator(".noUi-handle").first.focus()
            page.keyboard.press("Home" if step.knobs[LR] == _lr_ends(case)[0] else "End")
            now = _wait(
                cell,
                lambda p: (
                    p["plot"] != before["plot"]
                    and p["readout"] == words
                    and p["status"].startswith(f"Run with learning rate {words} (")
                ),
                f"{case.name}: {step.what}",
            )
        step.shown = now["status"]
        _check(step, now, case)
        if step.what != "reset":
            cell.locator(".jp-OutputArea-output").first.screenshot(
                path=shots / f"{case.name}_{n}.png"
            )
            n += 1
    # read at any width: the panel as it is now, then in a SMALL_PX window (file browser open)
    output = cell.locator(".jp-OutputArea-output").first
    steps[-1].problems += output.evaluate(PANEL_LOOK_JS, KEY_MIN_PX)
    size = page.viewport_size
    page.set_viewport_size({"width": SMALL_PX, "height": size["height"]})
    try:
        time.sleep(1)
        cell.scroll_into_view_if_needed()
        output.screenshot(path=shots / f"{case.name}_small.png")
        steps[-1].problems += [
            f"in a {SMALL_PX} px window: {problem}"
            for problem in output.evaluate(PANEL_LOOK_JS, KEY_MIN_PX)
            + page.evaluate(LOOK_JS, [MAX_TEXT, CODE_NAMES.pattern])
        ]
    finally:
        page.set_viewport_size(size)


def _button(cell, label, step):
    """The panel's button labelled ``label``, or None (recorded as a problem of ``step``)."""
    button = cell.locator("button.widget-button").filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")
    )
    if button.count() != 1:
        step.problems.append(f"{button.count()} buttons labelled {label!r}")
        return None
    return button.first


def _wait(cell, done, what):
    """Poll the panel until ``done(state)`` holds and the status reads the same SETTLE_S later;
    return the state."""
    deadline = time.monotonic() + UPDATE_TIMEOUT_S
    while True:
        now = cell.evaluate(PANEL_JS)
        if now and done(now):
            time.sleep(SETTLE_S)
            again = cell.evaluate(PANEL_JS)
            if again == now:
                return now
            continue
        assert time.monotonic() < deadline, (
            f"{what}: the panel did not show the finished run within "
            f"{UPDATE_TIMEOUT_S} s; it shows {now}"
        )
        time.sleep(0.25)


def _check(step, now, case):
    """Record every way the panel's status (and plot) disagrees with the verdict of the same run."""
    status, expected_run = now["status"], _run_words(case, step.knobs)
    healthy = step.state == "healthy"
    if step.headline not in status:
        step.problems.append("the status lacks the verdict's headline")
    if expected_run not in status:
        step.problems.append(f"the status does not say {expected_run!r}")
    if bool(HEALTHY_WORDS.search(status)) != healthy:
        step.problems.append(
            f"the status {'lacks' if healthy else 'has'} the words healthy / the failure is gone"
            + (" after a try: button" if step.what.startswith("try: ") and not healthy else "")
        )
    if step.headline.lower() not in now["alt"].lower():
        step.problems.append(
            f"the plot's alt text does not carry the headline: {now['alt'][:200]!r}"
        )
    if now["cut"]:
        step.problems.append(f"the status is cut off: {now['cut']}")
    if now["error"]:
        step.problems.append(f"the panel shows an error: {now['error'][:300]}")


def _table(steps):
    rows = [
        f"{'case':<18} {'step':<40} {'verdict state':<20} ok  headline (expected and "
        "shown: ok = status has it)"
    ]
    for s in steps:
        rows.append(
            f"{s.case:<18} {s.what[:40]:<40} {s.state:<20} {'no ' if s.problems else 'yes'} "
            f"{s.headline}"
        )
    return "\n".join(rows)
