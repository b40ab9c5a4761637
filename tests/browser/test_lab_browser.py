"""In a real browser: open a lesson in JupyterLab, run it, move the learning-rate slider, see the plot change.

This is what a learner does on Binder or a laptop; headless tests (nbval, `.value = ...`) cannot
see a widget that fails to render, a front end missing from the environment, or a callback whose
error only reaches the browser. Chromium is Debian's (/usr/bin/chromium), driven by the pip
`playwright` package; `playwright install` (a browser download) is not needed.
"""

import json
import os
import re
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from lab_server import jupyter_lab

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The negative-loss panel trains the fastest; any lesson with a panel will do if it is missing.
PREFERRED_LESSON = "03_loss_goes_negative.ipynb"
LR_LABEL = re.compile(r"\blr\b|learning", re.IGNORECASE)
RUN_TIMEOUT_S = 600  # running every cell of a lesson on a shared 2-core machine
UPDATE_TIMEOUT_S = 240  # one panel re-run after the slider moves

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
    if (/Error displaying widget|Failed to load model class|Error rendering output/.test(e.textContent))
      found.push(e.textContent.slice(0, 500));
  }
  return found;
}"""


def _in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def sync_playwright():
    """Playwright's sync API, or a skip (a failure in CI) when it or Debian chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        start = None
    missing = [name for name, ok in [("the playwright package", start), (str(CHROMIUM), CHROMIUM.exists())] if not ok]
    if missing:
        reason = f"browser test needs {' and '.join(missing)} (.ci/run installs them)"
        if _in_ci():
            pytest.fail(f"{reason}; CI is set, so this must not be skipped")
        pytest.skip(reason)
    with start() as playwright:
        yield playwright


def _pick_lesson():
    preferred = REPO / "lessons" / PREFERRED_LESSON
    if preferred.exists():
        return preferred
    with_panel = [p for p in sorted((REPO / "lessons").glob("*.ipynb")) if "labkit.explore(" in p.read_text()]
    if not with_panel:
        pytest.fail("no lesson has a labkit.explore(...) panel to drive")
    return with_panel[0]


def _screenshot_dir():
    """Return the folder screenshots go to: $LABKIT_SCREENSHOTS, else build/screenshots (git-ignored)."""
    folder = Path(os.environ.get("LABKIT_SCREENSHOTS") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _plot_fingerprint(panel):
    """Return what identifies the plot now shown in the panel: an <img> source, or a canvas's pixels."""
    images = panel.locator("img")
    if images.count():
        return "img", tuple(images.nth(i).get_attribute("src") for i in range(images.count()))
    canvases = panel.locator("canvas")
    if canvases.count():
        return "canvas", tuple(canvases.nth(i).screenshot() for i in range(canvases.count()))
    return "none", ()


def test_slider_moves_the_plot_in_jupyterlab(sync_playwright, tmp_path):
    lesson = _pick_lesson()
    # Serve a copy, so nothing the browser does can write outputs into the committed lesson.
    root = tmp_path / "root"
    shutil.copytree(REPO / "lessons", root / "lessons")
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    browser_log = []
    shots = _screenshot_dir()
    for old in shots.glob("*.png"):
        old.unlink()

    with jupyter_lab(root, server_dir) as (base_url, token):
        browser = sync_playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda err: browser_log.append(f"pageerror: {err}"))
        page.on("console", lambda msg: msg.type == "error" and browser_log.append(f"console: {msg.text}"))
        try:
            _drive_lesson(page, base_url, token, lesson.name, shots)
        except Exception:
            page.screenshot(path=shots / "failure.png", full_page=True)
            log = (server_dir / "jupyterlab.log").read_text()[-3000:]
            print("cells:\n" + "\n".join(page.evaluate(CELLS_JS)))
            print("browser log:\n" + "\n".join(browser_log[-30:]) + "\nserver log:\n" + log)
            raise
        finally:
            browser.close()


def _wait_for_kernel(page, base_url, token, timeout_s=180):
    """Wait until the notebook's kernel is connected and idle; Run All before that runs nothing."""
    deadline = time.monotonic() + timeout_s
    while True:
        with urllib.request.urlopen(f"{base_url}/api/kernels?token={token}", timeout=10) as reply:
            kernels = json.load(reply)
        connected = any(k.get("connections", 0) >= 1 and k.get("execution_state") == "idle" for k in kernels)
        if connected and page.evaluate(KERNEL_IDLE_JS):
            return
        assert time.monotonic() < deadline, f"the kernel was not connected and idle within {timeout_s} s: {kernels}"
        time.sleep(1)


def _drive_lesson(page, base_url, token, lesson_name, shots):
    page.goto(f"{base_url}/lab/tree/lessons/{lesson_name}?token={token}", wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(state="attached", timeout=120_000)
    _wait_for_kernel(page, base_url, token)

    # Run > Run All Cells, as a learner would.
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(RUN_FINISHED_JS, timeout=RUN_TIMEOUT_S * 1000, polling=1000)
    errors = page.evaluate(ERRORS_JS)
    assert not errors, f"{lesson_name} shows errors after Run All:\n" + "\n---\n".join(errors)

    slider = page.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text=LR_LABEL)).first
    slider.wait_for(state="attached", timeout=60_000)
    slider.scroll_into_view_if_needed()
    # the outermost output area holding the slider is the whole panel (controls and plot)
    panel = page.locator(".jp-OutputArea-output").filter(has=slider).first
    handle = slider.locator(".noUi-handle").first
    readout = slider.locator(".widget-readout").first

    _wait_until_plotted(page, panel)
    panel.screenshot(path=shots / "panel_before.png")
    before = _plot_fingerprint(panel)
    readout_before = readout.text_content()

    # Keyboard on the focused handle: one Page key is five slider steps; go where there is room.
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.focus()
    handle.press("PageDown" if at_max else "PageUp")
    assert readout.text_content() != readout_before, "the learning-rate slider did not move"

    deadline = time.monotonic() + UPDATE_TIMEOUT_S
    while True:
        idle = page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").count()
        after = _plot_fingerprint(panel)
        if idle and after != before:
            time.sleep(1)  # let the last redraw land before the screenshot
            break
        assert time.monotonic() < deadline, f"the plot did not change within {UPDATE_TIMEOUT_S} s of moving the slider"
        time.sleep(1)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=shots / "panel_after.png")
    page.screenshot(path=shots / "lab_after.png")

    assert after[0] != "none", "the panel shows no plot (no <img> or <canvas>)"
    errors = page.evaluate(ERRORS_JS)
    assert not errors, f"errors after moving the slider in {lesson_name}:\n" + "\n---\n".join(errors)


def _wait_until_plotted(page, panel, timeout_s=120):
    """Wait for the panel's first plot (an <img> or a drawn <canvas>)."""
    panel.locator("img, canvas").first.wait_for(state="attached", timeout=timeout_s * 1000)
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
        state="attached", timeout=timeout_s * 1000
    )
