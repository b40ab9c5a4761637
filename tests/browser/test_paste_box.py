"""In a real browser, as a learner: paste three runs into lesson 06's paste box in JupyterLab and
read the answer.

JupyterLab once dropped the box's printed findings (they were printed into an Output next to the
plot), and what did show was a monospace dump that wrapped mid-word. Here the words must be in the
page: each finding's title and a link that opens its lesson, or, for text that is not a log, why it
could not be read; and nothing may run off the cell or break inside a word. A throwaway notebook
beside the lessons shows ``paste_box()``; the text goes in through the clipboard (Ctrl+V), as a
paste. Screenshots of each state go to /tmp/paste_box_*.png. Same machinery as test_lab_browser.py:
Debian's /usr/bin/chromium driven by the pip `playwright` package.
"""

import re
import time
from pathlib import Path

import pytest
from lab_server import code_notebook, lab_and_browser
from test_lab_browser import (
    _shut_down_kernels,
    _wait_for_kernel,
)

from labkit import diagnose
from labkit.diagnosis.finding import _lesson_words

# written into the copy of lessons/, so a lesson link resolves as in lesson 06
NOTEBOOK = "paste_box_check.ipynb"
SHOTS = Path("/tmp")
WIDE, NARROW = 1400, 1000  # a laptop, and a window whose cell is ~650 px wide (file browser open)
# tall enough that a screenshot holds the whole answer and plot; the width sets the wrapping
TALL = 2600
TIMEOUT_MS = 120_000

KERAS = "\n".join(
    f"Epoch {i}/6\n32/32 - 1s - loss: {loss:.4f} - accuracy: {acc:.4f} - val_loss: {val:.4f} - "
    f"val_accuracy: {val_acc:.4f}"
    for i, (loss, acc, val, val_acc) in enumerate(
        [
            (0.69, 0.51, 0.70, 0.50),
            (0.50, 0.72, 0.58, 0.68),
            (0.38, 0.82, 0.52, 0.74),
            (0.27, 0.89, 0.60, 0.73),
            (0.18, 0.94, 0.75, 0.71),
            (0.11, 0.97, 0.95, 0.69),
        ],
        1,
    )
)
TORCH = "\n".join(
    f"epoch {i}: train_loss={train} val_loss={val}"
    for i, (train, val) in enumerate(
        [(0.9, 1.0), (0.7, 0.85), (0.6, 0.8), (0.75, 0.9), (0.95, 1.1), (1.2, 1.3)], 1
    )
)
GARBAGE = "hello world"

# What a learner would trip over in the answer: text wider than it, an element past its right edge,
# a word broken across two lines (tokens longer than LONG characters may break), printed (monospace)
# output or <pre>.
LOOK_JS = """([el, long]) => {
  const problems = [];
  if (el.scrollWidth > el.clientWidth + 1) problems.push(`the answer scrolls sideways (${el.scrollWidth} > ${el.clientWidth} px)`);
  const right = el.getBoundingClientRect().right;
  const cell = el.closest('.jp-OutputArea-output').getBoundingClientRect().right;
  if (right > cell + 1) problems.push(`the answer ends ${Math.round(right - cell)} px right of its cell`);
  for (const e of el.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > right + 1) { problems.push(`${e.tagName} "${e.textContent.slice(0, 40)}" is cut off`); break; }
  }
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.data.matchAll(/[^\\s\\-\\u2010-\\u2014\\/]+/g)) {
      if (m[0].length > long) continue;
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      if ([...range.getClientRects()].filter(r => r.width > 0).length > 1) problems.push(`"${m[0]}" is broken across lines`);
    }
  }
  const box = el.closest('.widget-vbox');
  if (box.querySelector('pre, .jp-RenderedText')) problems.push('printed (monospace) text in the box');
  if (/mono/i.test(getComputedStyle(el.querySelector('p') || el).fontFamily)) problems.push('the answer is in a monospace font');
  return problems;
}"""


@pytest.fixture(scope="module")
def lab(sync_playwright, tmp_path_factory):
    """One JupyterLab over a copy of lessons/ plus the throwaway notebook (the paste box), and one
    browser."""
    notebook = code_notebook(
        {"box": "from labkit.diagnosis import paste_box\n\nbox = paste_box()\nbox"}
    )
    with lab_and_browser(
        sync_playwright, tmp_path_factory.mktemp("paste_box"), {NOTEBOOK: notebook}
    ) as lab_:
        yield lab_


def test_paste_box_answers_in_words_in_jupyterlab(lab):
    from playwright.sync_api import expect

    base_url, token, browser, server_dir = lab
    context = browser.new_context(
        viewport={"width": WIDE, "height": TALL}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    browser_log = []
    page.on("pageerror", lambda err: browser_log.append(f"pageerror: {err}"))
    page.on(
        "console", lambda msg: msg.type == "error" and browser_log.append(f"console: {msg.text}")
    )
    # "leave the page?" when the lesson link is followed
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        page.goto(
            f"{base_url}/lab/tree/lessons/{NOTEBOOK}?token={token}", wait_until="domcontentloaded"
        )
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(
            state="attached", timeout=TIMEOUT_MS
        )
        _wait_for_kernel(page, base_url, token)
        page.locator(".jp-NotebookPanel .jp-Cell").first.click()
        page.keyboard.press("Shift+Enter")  # run the cell, as a learner would
        box = page.locator(".widget-vbox").filter(has=page.locator("textarea")).first
        error = page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        )
        box.or_(error).first.wait_for(state="visible", timeout=TIMEOUT_MS)
        assert not error.count(), f"the cell failed:\n{error.first.text_content()[-2000:]}"
        answer = box.locator(".widget-html-content").first  # the answer; the plot is the second

        # (a) a Keras printout: validation lowest at epoch 3, then rising
        _paste_and_diagnose(page, box, KERAS)
        _expect_findings(expect, answer, diagnose(KERAS))
        # the curves, below the words
        expect(box.locator("img[alt]")).to_have_count(1, timeout=TIMEOUT_MS)
        _look(page, answer, "keras")
        # the same answer in a narrow window
        page.set_viewport_size({"width": NARROW, "height": TALL})
        time.sleep(1)
        _look(page, answer, "keras_narrow")
        page.set_viewport_size({"width": WIDE, "height": TALL})

        # (c) not a log at all: why, in words, and no plot
        _paste_and_diagnose(page, box, GARBAGE)
        expect(answer).to_contain_text("Could not read it as a training log.", timeout=TIMEOUT_MS)
        # why, and what it expects
        assert len(answer.text_content().split()) > 20, answer.text_content()
        expect(answer).to_contain_text(GARBAGE)  # what the box saw, quoted back
        # the previous run's curves are gone
        expect(box.locator("img")).to_have_count(0, timeout=TIMEOUT_MS)
        _look(page, answer, "garbage")

        # (b) a PyTorch-style print whose training loss rises after epoch 3
        _paste_and_diagnose(page, box, TORCH)
        torch_findings = diagnose(TORCH)
        assert torch_findings[0].code == "train-loss-rises", [f.code for f in torch_findings]
        _expect_findings(expect, answer, torch_findings)
        expect(answer).not_to_contain_text("Could not read it")
        expect(box.locator("img[alt]")).to_have_count(1, timeout=TIMEOUT_MS)
        _look(page, answer, "pytorch")

        # the lesson link opens lesson 05 in JupyterLab
        lesson = torch_findings[0].lesson
        answer.locator(f'a[href="{lesson}"]').first.click()
        tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current", has_text=lesson)
        tab.wait_for(state="visible", timeout=TIMEOUT_MS)
        page.screenshot(path=SHOTS / "paste_box_lesson_link.png")
        assert not [e for e in browser_log if "pageerror" in e], browser_log
    except Exception:
        page.screenshot(path=SHOTS / "paste_box_failure.png")
        print("browser log:\n" + "\n".join(browser_log[-30:]))
        print("server log:\n" + (server_dir / "jupyterlab.log").read_text()[-3000:])
        raise
    finally:
        _shut_down_kernels(base_url, token)
        context.close()


def _paste_and_diagnose(page, box, text):
    """Put ``text`` on the clipboard, replace the box's text with it by Ctrl+A, Ctrl+V, and press
    Diagnose."""
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    area = box.locator("textarea")
    area.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.press("ControlOrMeta+V")
    assert area.input_value() == text, "the paste did not reach the box"
    box.get_by_role("button", name="Diagnose").click()


def _expect_findings(expect, answer, findings):
    """Each finding's title in words, how sure in a word, and a link whose words name its lesson; no
    decimals."""
    assert findings, "the run has no finding to show"
    expect(answer).to_contain_text(findings[0].title, timeout=TIMEOUT_MS)
    text = answer.text_content()
    for f in findings:
        assert f.title in text and f"How sure: {f.confidence}." in text, (f.code, text[:500])
        link = answer.locator(f'a[href="{f.lesson}"]')
        expect(link).to_have_text(_lesson_words(f.lesson))
        # the file name too, for Colab
        assert f"Open {_lesson_words(f.lesson)}" in text and f.lesson in text
    assert text.count("How sure:") == len(findings)
    assert not re.search(r"confidence \w+, 0\.\d", text), "the confidence as a decimal"


def _look(page, answer, name):
    answer.scroll_into_view_if_needed()
    time.sleep(0.5)
    answer.locator(
        "xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')]"
    ).first.screenshot(path=SHOTS / f"paste_box_{name}.png")
    problems = page.evaluate(LOOK_JS, [answer.element_handle(), 40])
    assert not problems, f"{name}:\n" + "\n".join(problems)
