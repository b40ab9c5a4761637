"""ipywidgets 7 (Colab renders 7.7.1 itself) and 8: the two places where labkit's widgets must
differ.

- A described control's tooltip is ``description_tooltip`` in ipywidgets 7 and ``tooltip`` in 8
  (where the old name warns). ``tooltip(text)`` gives the keyword each version has; ``text=""``
  means no tooltip (a control left with None shows the word "null" in ipywidgets 8; an HTML widget's
  hidden label carries it too, so ``html_widget`` sets "").
- A widget displays through ``_ipython_display_`` in 7 and ``_repr_mimebundle_`` in 8.
  ``ShowsWidget`` lets an object that holds a widget (a Panel, a Prediction) display as that widget
  with either: IPython's ``display``.

And one place where both fall short, which no Python trait reaches: a slider's handle (the part a
keyboard moves) has no accessible name (ipywidgets 8: role "slider", no name; ipywidgets 7: jQuery
UI's bare span, no role either), so a screen reader announces "slider" and a number, or nothing.
``ShowsWidget`` with ``mends`` also shows ``MENDS_JS``, a few lines of the page's JavaScript that
name each handle after its label (it runs where the front end runs a cell's JavaScript output:
JupyterLab, classic Notebook; elsewhere nothing is shown and nothing changes). ipywidgets 7
also never puts a checkbox's help in the page (its view writes the checkbox's own words as the
title of every part, and ``description_tooltip`` goes nowhere): with 7, the script carries each
checkbox's help (``checkbox_help``) and makes it the title of the box and its words.
"""

from __future__ import annotations

import json

import ipywidgets as widgets

IPYWIDGETS_7 = widgets.__version__.split(".")[0] == "7"
TOOLTIP = "description_tooltip" if IPYWIDGETS_7 else "tooltip"


def tooltip(text: str) -> dict[str, str]:
    """Return the keyword argument that gives a slider, dropdown, checkbox ... the tooltip ``text``
    ("" for none)."""
    return {TOOLTIP: text}


def html_widget(value: str = "", **kwargs: object) -> widgets.HTML:
    """Return an HTML widget showing ``value`` whose (hidden) label carries no "null" tooltip."""
    return widgets.HTML(value, **tooltip(""), **kwargs)


# Now and whenever the page changes (at most once per animation frame): name each slider handle
# after its slider's label (ipywidgets 8's handle has the slider role but no name; 7's, jQuery UI's,
# is a bare focusable span: it also gets the role and the readout's value), and give each checkbox
# whose words are in window.labkitHelp that help as its title (ipywidgets 7). Each showing adds its
# panel's help (HELP, JSON) and mends at once; the page watcher is installed once per page.
MENDS_JS = """(() => {
  window.labkitHelp = Object.assign(window.labkitHelp || {}, HELP);
  if (window.labkitMend) { window.labkitMend(); return; }
  let pending = false;
  const set = (e, name, value) => {
    if (e && value && e.getAttribute(name) !== value) e.setAttribute(name, value);
  };
  const mend = window.labkitMend = () => {
    pending = false;
    for (const slider of document.querySelectorAll('.widget-slider')) {
      const handle = slider.querySelector('[role="slider"], .ui-slider-handle');
      if (!handle) continue;
      set(handle, 'aria-label', slider.querySelector('.widget-label')?.textContent.trim());
      if (handle.classList.contains('ui-slider-handle')) {
        const value = slider.querySelector('.widget-readout')?.textContent.trim();
        set(handle, 'role', 'slider');
        set(handle, 'aria-valuetext', value);
        if (isFinite(parseFloat(value))) set(handle, 'aria-valuenow', String(parseFloat(value)));
      }
    }
    for (const box of document.querySelectorAll('.widget-checkbox')) {
      const words = box.querySelector('.widget-label-basic span');
      const help = words && window.labkitHelp[words.textContent.trim()];
      if (help) { set(words, 'title', help); set(box.querySelector('input'), 'title', help); }
    }
  };
  mend();
  new MutationObserver(() => {
    if (!pending) { pending = true; requestAnimationFrame(mend); }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
})();"""


def mends_js(checkbox_help: dict[str, str]) -> str:
    """Return MENDS_JS carrying ``checkbox_help`` (a checkbox's words -> its help) as JSON data."""
    return MENDS_JS.replace("HELP", json.dumps(checkbox_help), 1)


class ShowsWidget:
    """Displayed in a notebook as its ``widget`` attribute, with ipywidgets 7 or 8 (and, when
    ``mends``, with ``MENDS_JS`` after it, carrying ``checkbox_help()``)."""

    widget: widgets.Widget
    mends = False

    def checkbox_help(self) -> dict[str, str]:
        """Return each checkbox's words -> its help, for the page script (ipywidgets 7)."""
        return {}

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        if self.mends:  # text/plain "": a front end that runs no JavaScript shows nothing
            script = mends_js(self.checkbox_help())
            display({"application/javascript": script, "text/plain": ""}, raw=True)
