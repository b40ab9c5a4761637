"""In a real browser, as a learner: every lesson with Run All in JupyterLab, then a panel's slider
and fix button.

Headless tests (nbval, `.value = ...`) cannot see a widget that fails to render, an output wider
than its cell, a control labelled by a code name, or a callback whose error only reaches the
browser. Chromium is Debian's (/usr/bin/chromium), driven by the pip `playwright` package;
`playwright install` (a browser download) is not needed. The window is 1400 x 1000 with the file
browser open, as a learner's laptop. Each lesson's screenshots (the whole notebook, a tile per
screen) go to $LABKIT_SCREENSHOTS or build/screenshots/<lesson>/; the test prints the folder.
"""

import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from lab_server import REPO, lab_and_browser

LESSONS = sorted(p.name for p in (REPO / "lessons").glob("[0-9][0-9]_*.ipynb"))
# the panel whose slider and fix button are driven (fastest case)
PANEL_LESSON = "03_loss_goes_negative.ipynb"
LR_LABEL = re.compile(r"^learning rate$")
RUN_TIMEOUT_S = 900  # running every cell of a lesson on a shared 2-core machine
UPDATE_TIMEOUT_S = 240  # one panel re-run after the slider moves
MAX_TEXT = 2000  # characters of one text output
# window width whose cell (~650 px, file browser open) is too narrow for controls + plot side by
# side
NARROW_PX = 1000
CODE_NAMES = re.compile(r"_|^(lr|eps|n|k)$")  # a label that reads like code

# True once every non-empty code cell has an execution count and the kernel is idle, or once an
# error shows (run-all stops at the first error, so the remaining cells would never run).
RUN_FINISHED_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return false;
  const idle = panel.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
  const cells = [...panel.querySelectorAll('.jp-CodeCell')].filter(
    c => (c.querySelector('.jp-InputArea-editor')?.textContent || '').trim() !== '');
  const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt')?.textContent || '').trim());
  const running = prompts.some(t => t.includes('*'));
  const done = prompts.length > 0 && prompts.every(t => /\\[\\d+\\]/.test(t));
  const failed = [...panel.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')]
    .some(e => e.textContent.includes('Traceback'));
  return Boolean(idle) && !running && (done || failed);
}"""

# The status bar reads "Python 3 (ipykernel) | Idle" once the page has the kernel's status; the
# toolbar's execution indicator says "idle" from the start, before any kernel is connected.
KERNEL_IDLE_JS = """() => {
  const bar = document.querySelector('#jp-main-statusbar');
  const indicator = document.querySelector(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status="idle"]');
  return Boolean(indicator) && Boolean(bar) && /\\|\\s*Idle/.test(bar.textContent);
}"""

# One line a code cell, for the failure message: prompt, first characters of source, outputs.
CELLS_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')].map(c =>
  (c.querySelector('.jp-InputPrompt')?.textContent || '').trim() + ' ' +
  (c.querySelector('.jp-InputArea-editor')?.textContent || '').slice(0, 50) + ' -> ' +
  [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent.slice(0, 200)).join(' | '))"""

ERRORS_JS = """() => {
  const found = [];
  for (const e of document.querySelectorAll('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')) {
    if (/Traceback|Error:/.test(e.textContent)) found.push(e.textContent.slice(0, 2000));
  }
  for (const e of document.querySelectorAll('.jp-OutputArea-output')) {
    if (/Error displaying widget|Failed to load model class|Error rendering output|Traceback/.test(e.textContent))
      found.push(e.textContent.slice(0, 500));
  }
  return found;
}"""

# What a learner would trip over in the outputs, as lines of text: anything wider than its cell,
# a printed text output over MAX_TEXT characters (a raw dump; rendered tables and markdown are
# content), an image without a text alternative, a widget control without a label in words.
LOOK_JS = """([maxText, codeNames]) => {
  const codeName = new RegExp(codeNames);
  const problems = [];
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cells = [...panel.querySelectorAll('.jp-CodeCell')];
  cells.forEach((cell, i) => {
    const where = `cell ${i + 1} (${(cell.querySelector('.jp-InputArea-editor')?.textContent || '').trim().slice(0, 40)})`;
    for (const out of cell.querySelectorAll('.jp-OutputArea-output')) {
      const box = out.getBoundingClientRect();
      if (box.width === 0) continue;
      if (out.scrollWidth > out.clientWidth + 1) problems.push(`${where}: output scrolls sideways (${out.scrollWidth} > ${out.clientWidth} px)`);
      for (const el of out.querySelectorAll('*')) {
        if (el.closest('details:not([open])')) continue;
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.height > 0 && r.right > box.right + 1) {
          problems.push(`${where}: ${el.tagName.toLowerCase()}.${el.className} ends ${Math.round(r.right - box.right)} px right of its cell`);
          break;
        }
      }
      for (const raw of out.querySelectorAll('.jp-RenderedText, .widget-html-content')) {  // printed text, status lines
        const text = raw.textContent || '';
        if (text.length > maxText) problems.push(`${where}: ${text.length} characters of text output`);
      }
      for (const img of out.querySelectorAll('img')) {
        if (!(img.getAttribute('alt') || '').trim()) problems.push(`${where}: an image without alt text`);
      }
      for (const w of out.querySelectorAll('.widget-slider, .widget-dropdown, .widget-checkbox, .widget-text, .widget-toggle-buttons, .widget-radio')) {
        const label = (w.querySelector('.widget-label, .widget-label-basic')?.textContent || '').trim();
        const labelEl = w.querySelector('.widget-label, .widget-label-basic');
        if (!label) problems.push(`${where}: a ${w.className.split(' ')[0]} without a label`);
        else if (labelEl.scrollWidth > labelEl.clientWidth + 1) problems.push(`${where}: label cut off: "${label}"`);
        else if (codeName.test(label)) problems.push(`${where}: control labelled by a code name: "${label}"`);
      }
    }
  });
  return problems;
}"""

# What LOOK_JS cannot see in a panel, as lines of text: a dropdown option wider than the box it
# would be shown in (clipped inside the <select>), a key under the plot smaller than
# KEY_MIN_PX, a slider handle whose accessible name is not its slider's label.
PANEL_LOOK_JS = """(panel, keyMinPx) => {
  const problems = [];
  const ruler = document.createElement('canvas').getContext('2d');
  for (const select of panel.querySelectorAll('select')) {
    const style = getComputedStyle(select);
    ruler.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    for (const option of select.options) {  // any option the learner may pick
      const need = ruler.measureText(option.text).width;
      if (need > room + 1) problems.push(`dropdown option "${option.text}" needs ${Math.round(need)} px, has ${Math.round(room)}: cut`);
    }
  }
  const key = [...panel.querySelectorAll('.widget-html-content')].find(e => /^solid: training/.test(e.textContent.trim()));
  if (!key) problems.push('no key under the plot');
  else if (parseFloat(getComputedStyle(key.firstElementChild || key).fontSize) < keyMinPx) problems.push(`key text ${getComputedStyle(key.firstElementChild || key).fontSize}`);
  for (const handle of panel.querySelectorAll('[role="slider"]')) {
    const label = handle.closest('.widget-slider')?.querySelector('.widget-label')?.textContent.trim();
    if (!label || handle.getAttribute('aria-label') !== label) problems.push(`slider handle named "${handle.getAttribute('aria-label')}", its label "${label}"`);
  }
  return problems;
}"""
KEY_MIN_PX = 10
# the narrowest window the panels are checked in: with the file browser open, a cell of ~370 px
SMALL_PX = 800

# The notebook's scroll container, for tiling screenshots of the whole lesson.
SCROLLER_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const all = [panel, ...panel.querySelectorAll('*')];
  return all.find(e => e.scrollHeight > e.clientHeight + 10 && /(auto|scroll)/.test(getComputedStyle(e).overflowY));
}"""


@pytest.fixture(scope="module")
def lab(sync_playwright, tmp_path_factory):
    """One JupyterLab over a copy of lessons/ (nothing the browser does writes to the committed
    lessons), one browser."""
    with lab_and_browser(sync_playwright, tmp_path_factory.mktemp("lab")) as lab_:
        yield lab_


def _screenshot_dir(lesson_name):
    """Return the lesson's screenshot folder: $LABKIT_SCREENSHOTS or build/screenshots
    (git-ignored), emptied."""
    folder = (
        Path(os.environ.get("LABKIT_SCREENSHOTS") or REPO / "build" / "screenshots")
        / Path(lesson_name).stem
    )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _plot_fingerprint(panel):
    """Return what identifies the plot now shown in the panel: an <img> source, or a canvas's
    pixels."""
    images = panel.locator("img")
    if images.count():
        return "img", tuple(images.nth(i).get_attribute("src") for i in range(images.count()))
    canvases = panel.locator("canvas")
    if canvases.count():
        return "canvas", tuple(canvases.nth(i).screenshot() for i in range(canvases.count()))
    return "none", ()


@pytest.mark.parametrize("lesson_name", LESSONS)
def test_lesson_reads_right_in_jupyterlab(lab, lesson_name):
    base_url, token, browser, server_dir = lab
    shots = _screenshot_dir(lesson_name)
    print(f"screenshots of {lesson_name}: {shots}")
    browser_log = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda err: browser_log.append(f"pageerror: {err}"))
    page.on(
        "console", lambda msg: msg.type == "error" and browser_log.append(f"console: {msg.text}")
    )
    try:
        _run_all(page, base_url, token, lesson_name)
        problems = page.evaluate(LOOK_JS, [MAX_TEXT, CODE_NAMES.pattern])
        _screenshot_whole_notebook(page, shots)
        assert not problems, f"{lesson_name} after Run All:\n" + "\n".join(problems)
        if lesson_name == PANEL_LESSON:
            _drive_panel(page, lesson_name, shots)
    except Exception:
        page.screenshot(path=shots / "failure.png")
        log = (server_dir / "jupyterlab.log").read_text()[-3000:]
        print("cells:\n" + "\n".join(page.evaluate(CELLS_JS)))
        print("browser log:\n" + "\n".join(browser_log[-30:]) + "\nserver log:\n" + log)
        raise
    finally:
        _shut_down_kernels(base_url, token)  # the next lesson gets the CPU
        page.close()


def _wait_for_kernel(page, base_url, token, timeout_s=180):
    """Wait until the notebook's kernel is connected and idle; Run All before that runs nothing."""
    deadline = time.monotonic() + timeout_s
    while True:
        kernels = _kernels(base_url, token)
        connected = any(
            k.get("connections", 0) >= 1 and k.get("execution_state") == "idle" for k in kernels
        )
        if connected and page.evaluate(KERNEL_IDLE_JS):
            return
        assert time.monotonic() < deadline, (
            f"the kernel was not connected and idle within {timeout_s} s: {kernels}"
        )
        time.sleep(1)


def _kernels(base_url, token, tries=10):
    """The server's kernel list. While a kernel is still starting, jupyter_server can answer 500
    (its last_activity is not set yet: a race in the server, not in the lesson), so a 500 is asked
    again."""
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(
                f"{base_url}/api/kernels?token={token}", timeout=10
            ) as reply:
                return json.load(reply)
        except urllib.error.HTTPError as error:
            if error.code != 500 or attempt == tries - 1:
                raise
            time.sleep(1)


def _shut_down_kernels(base_url, token):
    for kernel in _kernels(base_url, token):
        request = urllib.request.Request(
            f"{base_url}/api/kernels/{kernel['id']}?token={token}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()


def _run_all(page, base_url, token, lesson_name):
    page.goto(
        f"{base_url}/lab/tree/lessons/{lesson_name}?token={token}", wait_until="domcontentloaded"
    )
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(state="attached", timeout=120_000)
    _wait_for_kernel(page, base_url, token)
    # Run > Run All Cells, as a learner would.
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(RUN_FINISHED_JS, timeout=RUN_TIMEOUT_S * 1000, polling=1000)
    time.sleep(1)  # the last outputs render
    errors = page.evaluate(ERRORS_JS)
    assert not errors, f"{lesson_name} shows errors after Run All:\n" + "\n---\n".join(errors)


def _screenshot_whole_notebook(page, shots):
    """Save the whole notebook as numbered tiles of one screen each (what a learner scrolls
    through)."""
    scroller = page.evaluate_handle(SCROLLER_JS)
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    if scroller.as_element() is None:
        notebook.screenshot(path=shots / "00.png")
        return
    height = page.evaluate("e => e.scrollHeight", scroller)
    view = page.evaluate("e => e.clientHeight", scroller)
    top, tile = 0, 0
    while True:
        page.evaluate("([e, y]) => { e.scrollTop = y; }", [scroller, top])
        time.sleep(0.3)
        notebook.screenshot(path=shots / f"{tile:02d}.png")
        if top + view >= height:
            break
        top, tile = top + view - 60, tile + 1  # 60 px overlap, so no line is lost between tiles


def _drive_panel(page, lesson_name, shots):
    """Move the panel's learning-rate slider with the keyboard, then press a fix button; each
    redraws the plot."""
    slider = (
        page.locator(".widget-slider")
        .filter(has=page.locator(".widget-label", has_text=LR_LABEL))
        .first
    )
    slider.wait_for(state="attached", timeout=60_000)
    slider.scroll_into_view_if_needed()
    # the outermost output area holding the slider is the whole panel (controls and plot)
    panel = page.locator(".jp-OutputArea-output").filter(has=slider).first
    handle = slider.locator(".noUi-handle").first
    readout = slider.locator(".widget-readout").first
    panel.locator("img, canvas").first.wait_for(state="attached", timeout=120_000)
    panel.screenshot(path=shots / "panel_before.png")
    before = _plot_fingerprint(panel)
    readout_before = readout.text_content()

    # Keyboard on the focused handle, one position; go where there is room.
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.focus()
    handle.press("ArrowLeft" if at_max else "ArrowRight")
    assert readout.text_content() != readout_before, "the learning-rate slider did not move"
    after = _wait_for_new_plot(page, panel, before)
    panel.screenshot(path=shots / "panel_after_slider.png")
    status = (
        panel.locator(".widget-html").filter(has_text=re.compile("Run with")).first.text_content()
    )
    assert "learning rate" in status, f"the status does not say what changed: {status}"

    # every control is reachable by keyboard: Tab from the slider on to the first fix button, press
    # Enter
    handle.focus()
    for _ in range(60):
        page.keyboard.press("Tab")
        fix_name = page.evaluate("() => (document.activeElement?.textContent || '').trim()")
        if fix_name.startswith("fix: "):
            break
    else:
        pytest.fail("Tab from the learning-rate slider never reached a fix button")
    page.keyboard.press("Enter")
    _wait_for_new_plot(page, panel, after)
    panel.screenshot(path=shots / "panel_after_fix.png")
    page.screenshot(path=shots / "lab_after_fix.png")
    status = (
        panel.locator(".widget-html").filter(has_text=re.compile("Run with")).first.text_content()
    )
    assert (
        fix_name.removeprefix("fix: ") in status
        and "put back to the failing defaults: learning rate" in status
    ), status
    problems = page.evaluate(LOOK_JS, [MAX_TEXT, CODE_NAMES.pattern])
    problems += _panel_look(panel)
    errors = page.evaluate(ERRORS_JS)
    assert not errors and not problems, f"after the slider and fix in {lesson_name}:\n" + "\n".join(
        errors + problems
    )

    # a narrow window (file browser still open): the plot goes under the controls, nothing is cut
    # off
    page.set_viewport_size({"width": NARROW_PX, "height": 1000})
    time.sleep(1)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=shots / "panel_narrow.png")
    problems = page.evaluate(LOOK_JS, [MAX_TEXT, CODE_NAMES.pattern])
    assert not problems, f"in a {NARROW_PX} px window:\n" + "\n".join(problems)
    controls = panel.locator(".widget-slider").first.bounding_box()
    plot = panel.locator("img").first.bounding_box()
    assert plot["y"] >= controls["y"] + controls["height"] - 1, (
        "the plot should sit under the controls when narrow"
    )
    # smaller still: the plot shrinks with the cell, nothing is cut, the key keeps its size
    page.set_viewport_size({"width": SMALL_PX, "height": 1000})
    time.sleep(1)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=shots / "panel_small.png")
    problems = page.evaluate(LOOK_JS, [MAX_TEXT, CODE_NAMES.pattern]) + _panel_look(panel)
    assert not problems, f"in a {SMALL_PX} px window:\n" + "\n".join(problems)


def _panel_look(panel):
    return panel.evaluate(PANEL_LOOK_JS, KEY_MIN_PX)


def _wait_for_new_plot(page, panel, before):
    deadline = time.monotonic() + UPDATE_TIMEOUT_S
    while True:
        idle = page.locator(
            ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']"
        ).count()
        after = _plot_fingerprint(panel)
        if idle and after != before:
            time.sleep(1)  # let the last redraw land before the screenshot
            assert after[0] != "none", "the panel shows no plot (no <img> or <canvas>)"
            return _plot_fingerprint(panel)
        assert time.monotonic() < deadline, f"the plot did not change within {UPDATE_TIMEOUT_S} s"
        time.sleep(0.5)
