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
JupyterLab, classic Notebook; elsewhere nothing is shown and nothing changes). Not mended:
ipywidgets 7 never puts a checkbox's help in the page (its view writes the checkbox's own words
as the title of every part), so there a checkbox has no tooltip.
"""

from __future__ import annotations

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


# Once per page, now and whenever the page changes (at most once per animation frame): name each
# slider handle after its slider's label (ipywidgets 8's handle has the slider role but no name;
# 7's, jQuery UI's, is a bare focusable span: it also gets the role and the readout's value).
MENDS_JS = """(() => {
  if (window.labkitMends) return;
  window.labkitMends = true;
  let pending = false;
  const set = (e, name, value) => {
    if (value && e.getAttribute(name) !== value) e.setAttribute(name, value);
  };
  const mend = () => {
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
  };
  mend();
  new MutationObserver(() => {
    if (!pending) { pending = true; requestAnimationFrame(mend); }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
})();"""


class ShowsWidget:
    """Displayed in a notebook as its ``widget`` attribute, with ipywidgets 7 or 8 (and, when
    ``mends``, with ``MENDS_JS`` after it)."""

    widget: widgets.Widget
    mends = False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        if self.mends:  # text/plain "": a front end that runs no JavaScript shows nothing
            display({"application/javascript": MENDS_JS, "text/plain": ""}, raw=True)
