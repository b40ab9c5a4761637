"""In classic Notebook 6.5.7 with ipywidgets 7.7.1 (Colab's versions) in Chromium: a lesson's panel,
as a learner.

Colab renders ipywidgets 7 with its own front end, which cannot be run here; classic Notebook 6.5
with widgetsnbextension 3.6 is the closest one that can. The test runs in the Colab-pins environment
(tests/colab/pins.txt, plus labkit, pytest and playwright) and skips anywhere else (JupyterLab 4 and
ipywidgets 8 are test_lab_browser.py's). It serves a copy of lessons/ from ``jupyter notebook``,
opens lesson 03, runs Cell > Run All, and checks:

- no error output, no widget that failed to render, no Python traceback anywhere;
- the panel shows one control per knob of the case, labelled as ``case.knob_labels()`` says, each
  with its help as a tooltip, one button per fix and try, the reset button, and a plot;
- moving the learning-rate slider (keyboard on its handle) changes the readout, the plot and the
  status;
- choosing another loss in the dropdown changes the plot, and the status names it in the dropdown's
  words;
- clicking the reset button, then a fix button (real mouse clicks), changes the plot and the status
  each time.

A first test does the same with a plain ipywidgets slider, so a broken front end is told apart from
a broken labkit. Same machinery as test_lab_browser.py: Debian's /usr/bin/chromium driven by the pip
``playwright`` package. Screenshots go to $LABKIT_SCREENSHOTS/classic_notebook or
build/screenshots/classic_notebook/ (git-ignored); the test prints the folder.
"""

import importlib.metadata
import os
import re
import secrets
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


VERSIONS = {package: _version(package) for package in ("notebook", "ipywidgets")}
if not (VERSIONS["notebook"].startswith("6.") and VERSIONS["ipywidgets"].startswith("7.")):
    pytest.skip(
        "needs classic notebook 6.x and ipywidgets 7.x, Colab's (tests/colab/pins.txt); installed "
        f"here: notebook {VERSIONS['notebook']}, ipywidgets {VERSIONS['ipywidgets']}",
        allow_module_level=True,
    )

from lab_server import REPO, code_notebook, free_port, lab_and_browser, serve  # noqa: E402
from test_lab_browser import _plot_fingerprint, _shut_down_kernels  # noqa: E402

from labkit import cases  # noqa: E402

LESSON = "03_loss_goes_negative.ipynb"
CASE = "negative-loss"  # the case of the lesson's panel: labkit.explore("negative-loss", ...)
PLAIN = "plain_slider_check.ipynb"  # written beside the lessons in the server's copy
# A slider whose moves the kernel writes into an HTML widget, as labkit's panels do. (Not an Output
# widget: with widgetsnbextension 3.6.10, Colab's pin, classic Notebook fails to create its model:
# "_deserialize_state is not a function".)
PLAIN_CELL = """import ipywidgets as widgets
slider = widgets.IntSlider(value=3, min=0, max=10, description="how many")
shown = widgets.HTML("the slider says 3")
slider.observe(lambda change: setattr(shown, "value", f"the slider says {change.new}"), names="value")
widgets.VBox([slider, shown])"""
LR_LABEL = re.compile(r"^learning rate$")
RUN_TIMEOUT_S = 900  # every cell of a lesson on a shared 2-core machine
UPDATE_TIMEOUT_S = 240  # one panel re-run
WIDGET_FAILED = re.compile(
    r"Error displaying widget|Failed to load model class|could not be displayed|"
    r"Error rendering Jupyter widget|Could not create a view|Traceback"
)

# The kernel is connected and idle, and the page knows it (Run All before that runs nothing).
KERNEL_READY_JS = """() => Boolean(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel
  && Jupyter.notebook.kernel.is_connected() && document.querySelector('#kernel_indicator_icon.kernel_idle_icon'))"""

# True once every non-empty code cell has an execution count and the kernel is idle, or once a cell
# shows an error (Run All stops at the first error: the cells after it never run).
RUN_FINISHED_JS = """() => {
  const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code' && c.get_text().trim() !== '');
  const idle = document.querySelector('#kernel_indicator_icon.kernel_idle_icon');
  const prompts = cells.map(c => c.input_prompt_number);
  const failed = cells.some(c => c.output_area.outputs.some(o => o.output_type === 'error'));
  return Boolean(idle) && !prompts.includes('*') && (prompts.every(p => typeof p === 'number') || failed);
}"""

# The source of the cell running now (its prompt reads In [*]), for a message.
RUNNING_JS = """() =>
  (Jupyter.notebook.get_cells().find(c => c.input_prompt_number === '*')?.get_text() || '').slice(0, 80)"""

# One line a code cell, for a failure message: prompt, first characters of source, outputs.
CELLS_JS = """() => Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code').map(c =>
  `[${c.input_prompt_number ?? ' '}] ${c.get_text().slice(0, 50)} -> ` + c.output_area.outputs.map(o =>
    (o.text || (o.ename ? o.ename + ': ' + o.evalue : '') || (o.data && o.data['text/plain']) || '').slice(0, 200)
  ).join(' | '))"""

# Every error the page shows: error outputs, stderr with a traceback, a widget that failed to
# render.
ERRORS_JS = """(failed) => {
  const widgetFailed = new RegExp(failed);
  const found = [];
  for (const e of document.querySelectorAll('.output_error, .output_stderr')) {
    if (/Traceback|Error:/.test(e.textContent)) found.push(e.textContent.slice(0, 2000));
  }
  for (const e of document.querySelectorAll('.output_subarea')) {
    if (widgetFailed.test(e.textContent)) found.push(e.textContent.slice(0, 500));
  }
  return found;
}"""

# The panel's controls: kind, label (a checkbox's is beside its box), the titles (tooltips) of its
# parts that show, and whether the control shows.
CONTROLS_JS = """(panel) => [...panel.querySelectorAll(
    '.widget-slider, .widget-dropdown, .widget-checkbox, .widget-text, .widget-toggle-buttons')].map(w => {
  const shows = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const label = [...w.querySelectorAll('.widget-label, .widget-label-basic')].map(
    e => e.textContent.replace(/\u200b/g, '').trim()).find(t => t) || '';
  const titles = [w, ...w.querySelectorAll('[title]')].filter(shows).map(e => e.getAttribute('title') || '');
  return {kind: w.className.match(/widget-(slider|dropdown|checkbox|text|toggle-buttons)/)?.[0], label,
          titles: [...new Set(titles)].filter(t => t.trim()), shown: shows(w)};
})"""

# Each slider handle of the panel: its role, accessible name and value text, beside its slider's
# label and readout.
HANDLES_JS = """(panel) => [...panel.querySelectorAll('.widget-slider')].map(s => {
  const h = s.querySelector('.ui-slider-handle, [role="slider"]');
  return {role: h?.getAttribute('role'), name: h?.getAttribute('aria-label'),
          value: h?.getAttribute('aria-valuetext'),
          label: s.querySelector('.widget-label')?.textContent.trim(),
          readout: s.querySelector('.widget-readout')?.textContent.trim()};
})"""

# The panel's status line, its spaces (and non-breaking spaces) as single spaces: the second HTML of
# its top box (the first is the title, the third the error box).
STATUS_JS = """(panel) => {
  const top = panel.querySelector('.widget-vbox');
  const htmls = top ? [...top.children].filter(c => c.classList.contains('widget-html')) : [];
  return htmls[1] ? htmls[1].innerText.replace(/\\s+/g, ' ').trim() : '';
}"""


@contextmanager
def classic_notebook(root_dir, work_dir, timeout=120):
    """Run classic ``jupyter notebook`` serving root_dir, isolated from the user's Jupyter setup
    (config, data and runtime in work_dir, its log work_dir/notebook.log); yield (base_url, token);
    stop it on exit."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "notebook",
        "--no-browser",
        "--NotebookApp.ip=127.0.0.1",
        f"--NotebookApp.port={port}",
        "--NotebookApp.port_retries=0",
        f"--NotebookApp.token={token}",
        f"--NotebookApp.notebook_dir={root_dir}",
    ]
    with serve(cmd, port, token, root_dir, Path(work_dir) / "notebook.log", timeout) as base_url:
        yield base_url, token


@pytest.fixture(scope="module")
def classic(sync_playwright, tmp_path_factory):
    """One classic Notebook over a copy of lessons/ plus the plain-slider notebook, and one headless
    Chromium."""
    plain = {PLAIN: code_notebook({"plain": PLAIN_CELL})}
    with lab_and_browser(
        sync_playwright, tmp_path_factory.mktemp("classic"), plain, server=classic_notebook
    ) as served:
        yield served


@pytest.fixture(scope="module")
def shots():
    folder = (
        Path(os.environ.get("LABKIT_SCREENSHOTS") or REPO / "build" / "screenshots")
        / "classic_notebook"
    )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"\nscreenshots: {folder}")
    return folder


@contextmanager
def notebook_page(classic, name, shots):
    """Open lessons/<name> in a 1400 x 1000 window, Run All; yield the page. On failure: a
    screenshot, the cells, the browser's errors and the server log; always: the kernels shut down,
    the page closed."""
    base_url, token, browser, server_dir = classic
    browser_log = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda err: browser_log.append(f"pageerror: {err}"))
    page.on(
        "console", lambda msg: msg.type == "error" and browser_log.append(f"console: {msg.text}")
    )
    try:
        started = time.monotonic()
        page.goto(
            f"{base_url}/notebooks/lessons/{name}?token={token}", wait_until="domcontentloaded"
        )
        page.wait_for_function(KERNEL_READY_JS, timeout=180_000, polling=500)
        # Cell > Run All
        page.locator("#menus a.dropdown-toggle", has_text=re.compile(r"^\s*Cell\s*$")).click()
        page.locator("#run_all_cells > a").click()
        _wait_for_run_all(page, server_dir / "notebook.log")
        time.sleep(1)  # the last outputs render
        print(f"{name}: Run All took {time.monotonic() - started:.0f} s")
        errors = page.evaluate(ERRORS_JS, WIDGET_FAILED.pattern)
        assert not errors, f"{name} shows errors after Run All:\n" + "\n---\n".join(errors)
        yield page
        errors = page.evaluate(ERRORS_JS, WIDGET_FAILED.pattern) + [
            line for line in browser_log if WIDGET_FAILED.search(line)
        ]
        assert not errors, f"{name} shows errors:\n" + "\n---\n".join(errors)
    except Exception:
        page.screenshot(path=shots / f"failure_{Path(name).stem}.png", full_page=True)
        print("cells:\n" + "\n".join(page.evaluate(CELLS_JS)))
        print("browser log:\n" + "\n".join(browser_log[-30:]))
        print("server log:\n" + (server_dir / "notebook.log").read_text()[-3000:])
        raise
    finally:
        _shut_down_kernels(base_url, token)  # the next test gets the CPU
        page.close()


def _wait_for_run_all(page, log_path):
    """Wait until Run All has finished; fail at once, naming the cell, if the kernel dies or it
    takes too long."""
    deadline, log_start = time.monotonic() + RUN_TIMEOUT_S, len(log_path.read_text())
    while not page.evaluate(RUN_FINISHED_JS):
        running = page.evaluate(RUNNING_JS)
        # the server's KernelRestarter says so
        died = "restarting kernel" in log_path.read_text()[log_start:]
        assert not died, f"the kernel died while running the cell: {running}"
        assert time.monotonic() < deadline, (
            f"Run All did not finish in {RUN_TIMEOUT_S} s; still running: {running}"
        )
        time.sleep(1)


def _wait_until(what, done, timeout_s=UPDATE_TIMEOUT_S):
    """Poll ``done()`` until it returns something true; return it. Fail naming ``what`` after
    ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (result := done()):
        assert time.monotonic() < deadline, f"{what} within {timeout_s} s"
        time.sleep(0.5)
    return result


def test_a_plain_ipywidgets_slider_moves_in_classic_notebook(classic, shots):
    """The front end itself: an ipywidgets 7 slider renders, and a key press reaches the kernel and
    back."""
    with notebook_page(classic, PLAIN, shots) as page:
        slider = page.locator(".widget-slider").filter(
            has=page.locator(".widget-label", has_text="how many")
        )
        shown = page.locator(".output_subarea", has=slider).locator(".widget-html")
        assert "the slider says 3" in shown.text_content()
        slider.locator(".ui-slider-handle").focus()
        page.keyboard.press("ArrowRight")
        assert slider.locator(".widget-readout").text_content().strip() == "4", (
            "the slider did not move"
        )
        _wait_until(
            "the output did not follow the slider",
            lambda: "the slider says 4" in shown.text_content(),
        )
        page.locator(".output_subarea", has=slider).screenshot(path=shots / "plain_slider.png")


def test_lesson_panel_renders_moves_and_fixes_in_classic_notebook(classic, shots):
    case = cases.get(CASE)
    with notebook_page(classic, LESSON, shots) as page:
        slider = (
            page.locator(".widget-slider")
            .filter(has=page.locator(".widget-label", has_text=LR_LABEL))
            .first
        )
        slider.wait_for(state="attached", timeout=60_000)
        slider.scroll_into_view_if_needed()
        panel = page.locator(".output_subarea").filter(has=slider).first  # the panel's whole output
        panel.locator("img").first.wait_for(state="visible", timeout=60_000)
        panel.screenshot(path=shots / "panel_after_run_all.png")
        page.screenshot(path=shots / "notebook_at_panel.png")

        controls = panel.evaluate(CONTROLS_JS)
        labels, helps = (
            case.knob_labels(),
            {name: help_text for name, (_, help_text) in case.knob_specs().items()},
        )
        assert sorted(c["label"] for c in controls) == sorted(labels.values()), (
            f"the panel's controls: {controls}"
        )
        hidden = [c["label"] for c in controls if not c["shown"]]
        assert not hidden, f"controls that do not show: {hidden}"
        # checked last, so that the controls are driven even when some help is missing: each knob's
        # help (where it says more than the label) is a tooltip on a part of its control that shows;
        # no tooltip reads "null". ipywidgets 7's checkbox puts its tooltip nowhere in the page: the
        # page script (widgetcompat.mends_js) gives it the help the panel carries.
        titles = {c["label"]: c["titles"] for c in controls}
        checkboxes = [
            n
            for n in labels
            if labels[n] in {c["label"] for c in controls if c["kind"] == "widget-checkbox"}
        ]
        assert checkboxes, "this panel was chosen for its checkboxes"
        no_help = [
            f"{labels[n]}: {helps[n]!r} (tooltips there: {titles[labels[n]]})"
            for n in labels
            if helps[n] != labels[n]
            and helps[n] not in titles[labels[n]]
            or "null" in titles[labels[n]]
        ]
        buttons = [b.strip() for b in panel.locator("button.widget-button").all_text_contents()]
        expected = (
            [f"fix: {n}" for n in case.fixes]
            + [f"try: {n}" for n in case.tries]
            + ["reset to the failing defaults"]
        )
        assert buttons == expected, f"the panel's buttons: {buttons}"

        plot = _plot_fingerprint(panel)
        assert plot[0] == "img", "the panel shows no plot image"
        assert re.search(r"\bRun (at|with) ", panel.evaluate(STATUS_JS)), (
            "the status shows no finished run"
        )

        # the learning-rate slider, one position with the keyboard, where there is room
        handle, readout = (
            slider.locator(".ui-slider-handle").first,
            slider.locator(".widget-readout").first,
        )
        # each slider handle: a slider named by its label, saying its readout (widgetcompat.mends_js)
        handles = panel.evaluate(HANDLES_JS)
        assert handles and all(
            h["role"] == "slider" and h["name"] == h["label"] and h["value"] == h["readout"]
            for h in handles
        ), f"slider handles: {handles}"
        before = readout.text_content().strip()
        handle.focus()
        page.keyboard.press("ArrowRight")
        if readout.text_content().strip() == before:  # it was at its last position
            page.keyboard.press("ArrowLeft")
        moved_to = readout.text_content().strip()
        assert moved_to != before, "the learning-rate slider did not move"
        time.sleep(0.5)  # the page's next frame
        assert handle.get_attribute("aria-valuetext") == moved_to, (
            "the handle's value was not updated"
        )
        plot = _wait_for_run(
            panel, plot, rf"\bRun with learning rate {re.escape(moved_to)} \(", "the slider moved"
        )
        panel.screenshot(path=shots / "panel_after_slider.png")

        # the loss dropdown, to the option it does not show; the status names it in the same words
        loss_label = page.locator(".widget-label", has_text=re.compile("^loss$"))
        select = panel.locator(".widget-dropdown").filter(has=loss_label).locator("select").first
        index = 1 if select.evaluate("s => s.selectedIndex") == 0 else 0
        # one kind of space
        chosen = " ".join(select.locator("option").nth(index).text_content().split())
        select.select_option(index=index)
        plot = _wait_for_run(
            panel, plot, rf"\bRun with (.*, )?loss {re.escape(chosen)}[ ,]", f"loss set to {chosen}"
        )
        panel.screenshot(path=shots / "panel_after_dropdown.png")

        # the reset button, then a fix button, clicked with the mouse
        panel.locator(
            "button.widget-button", has_text=re.compile(r"^\s*reset to the failing defaults\s*$")
        ).click()
        plot = _wait_for_run(
            panel, plot, r"\bRun at the failing defaults \(", "the reset button was clicked"
        )
        fix = panel.locator("button.widget-button", has_text=re.compile(r"^\s*fix: ")).first
        fix_name = fix.text_content().strip().removeprefix("fix: ")
        fix.click()
        _wait_for_run(
            panel, plot, rf"{re.escape(fix_name)}.*\bRun with ", f"“fix: {fix_name}” was clicked"
        )
        panel.screenshot(path=shots / "panel_after_fix.png")
        page.screenshot(path=shots / "notebook_after_fix.png")
    assert not no_help, "controls whose help does not show as a tooltip:\n" + "\n".join(no_help)


def _wait_for_run(panel, plot, status, what):
    """Wait until the plot differs from ``plot`` and the status line matches the regular expression
    ``status``, both the same a second later (the finished run drawn, not a live frame); return the
    plot's fingerprint."""

    def finished():
        now = _plot_fingerprint(panel)
        return now != plot and re.search(status, panel.evaluate(STATUS_JS)) and now

    while True:
        now = _wait_until(
            f"after {what}, the plot did not change and the status did not match {status!r}",
            finished,
        )
        time.sleep(1)
        if finished() == now:
            return now


def test_lesson_06_paste_box_answers_and_draws_in_classic_notebook(classic, shots):
    """Lesson 06's paste box after Run All (its printout pressed once), then a log typed in and
    Diagnose clicked: the answer in words and the curves as an image with a text alternative (an
    HTML widget: this front end draws no Output widget)."""
    with notebook_page(classic, "06_diagnose_your_own_run.ipynb", shots) as page:
        area = page.locator(".widget-textarea textarea").first
        area.wait_for(state="visible", timeout=60_000)
        box = page.locator(".output_subarea").filter(has=area).first
        box.scroll_into_view_if_needed()
        images = box.locator("img[alt]")
        assert images.count() == 1, "the pressed printout drew no plot"
        assert "overfitting" in box.inner_text().lower()
        box.screenshot(path=shots / "paste_box_after_run_all.png")
        area.fill("Epoch 1/3 loss: -1.906 val_loss: -1.412\nEpoch 2/3 loss: -72.72 val_loss: -52.5")
        box.locator("button.widget-button", has_text="Diagnose").click()
        _wait_until(
            "the answer did not name the negative loss",
            lambda: "went negative" in box.inner_text(),
        )
        # the plot is a second widget, set after the answer: wait for it as for the answer
        _wait_until(
            "the plot of the typed-in log did not come",
            lambda: (
                images.count() == 1
                and "negative" in (images.first.get_attribute("alt") or "").lower()
            ),
        )
        assert images.count() == 1 and "negative" in images.first.get_attribute("alt").lower()
        box.screenshot(path=shots / "paste_box_after_click.png")
