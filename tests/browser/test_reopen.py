"""A lesson saved and reopened in JupyterLab says "run this cell again" where each widget was, not a
widget error.

A widget lives in its kernel; JupyterLab saves only a pointer to it, so a reopened notebook (new
kernel, cells not yet run) used to show "Error displaying widget: model not found" in every widget
output. Each lesson's first imports cell calls ``labkit.exercise.reopen_hint()``. Here a throwaway
notebook does the same with a predict-first question, is run and saved as a learner would (Ctrl+S),
its kernel shut down, and the page opened again. The screenshot goes to /tmp/reopened_lesson.png.
"""

import time

import pytest
from lab_server import code_notebook, lab_and_browser
from test_lab_browser import _run_all, _shut_down_kernels

NOTEBOOK = "reopen_check.ipynb"
TIMEOUT_MS = 120_000
HINT = "A widget was here: run this cell again to bring it back."
# What each widget output shows: its text as drawn (a font size of 0 hides text) and what its
# ::after style adds.
SHOWN_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')].map(e => ({
  text: e.textContent.trim(), size: getComputedStyle(e).fontSize,
  after: getComputedStyle(e, '::after').content.replace(/^"|"$/g, '')}))"""


@pytest.fixture(scope="module")
def lab(sync_playwright, tmp_path_factory):
    notebook = code_notebook(
        {
            "setup": "import labkit\n\nlabkit.exercise.reopen_hint()",
            "widget": 'labkit.exercise.predict("Will it rise?", ["yes", "no"])',
        }
    )
    with lab_and_browser(
        sync_playwright, tmp_path_factory.mktemp("reopen"), {NOTEBOOK: notebook}
    ) as lab_:
        yield lab_


def _open(browser, base_url, token):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(
        f"{base_url}/lab/tree/lessons/{NOTEBOOK}?token={token}", wait_until="domcontentloaded"
    )
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(state="attached", timeout=TIMEOUT_MS)
    return page


def test_a_reopened_notebook_says_run_this_cell_where_a_widget_was(lab):
    base_url, token, browser, server_dir = lab
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    _run_all(page, base_url, token, NOTEBOOK)  # as a learner: Run > Run All Cells, no errors
    page.locator(".widget-radio-box").first.wait_for(state="visible", timeout=TIMEOUT_MS)
    live = page.evaluate(SHOWN_JS)
    assert not any(HINT in o["after"] for o in live), f"the hint shows over a live widget: {live}"
    # no element of the widget, hidden labels included, carries the word "null" as its tooltip
    nulls = page.evaluate(
        "() => [...document.querySelectorAll('.jp-OutputArea-output [title=\"null\"]')]"
        ".map(e => e.outerHTML.slice(0, 120))"
    )
    assert nulls == [], nulls
    page.keyboard.press("Control+s")
    time.sleep(3)  # the save reaches the disk
    _shut_down_kernels(base_url, token)
    page.close()

    page = _open(browser, base_url, token)
    try:
        page.wait_for_function(
            "() => document.body.textContent.includes('model not found')", timeout=TIMEOUT_MS
        )
        time.sleep(1)
        page.screenshot(path="/tmp/reopened_lesson.png")
        shown = page.evaluate(SHOWN_JS)
        errors = [o for o in shown if "Error displaying widget" in o["text"]]
        assert errors, f"the saved widget output is not in the reopened notebook: {shown}"
        for output in errors:  # the error is not drawn; the hint is
            assert output["size"] == "0px" and output["after"] == HINT, output
    finally:
        page.close()
