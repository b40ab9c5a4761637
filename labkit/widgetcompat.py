"""ipywidgets 7 (Colab renders 7.7.1 itself) and 8: the two places where labkit's widgets must
differ.

- A described control's tooltip is ``description_tooltip`` in ipywidgets 7 and ``tooltip`` in 8
  (where the old name warns). ``tooltip(text)`` gives the keyword each version has; ``text=""``
  means no tooltip (a control left with None shows the word "null" in ipywidgets 8; an HTML widget's
  hidden label carries it too, so ``html_widget`` sets "").
- A widget displays through ``_ipython_display_`` in 7 and ``_repr_mimebundle_`` in 8.
  ``ShowsWidget`` lets an object that holds a widget (a Panel, a Prediction) display as that widget
  with either: IPython's ``display``.

And one place where ipywidgets 8 falls short: a slider's handle (the part a keyboard moves, role
"slider") has no accessible name, and no Python trait reaches it, so a screen reader announces
"slider" and a number. ``ShowsWidget`` with ``names_sliders`` also shows ``NAME_SLIDERS_JS``: a few
lines of the page's JavaScript that give each unnamed handle its slider's label as its name (it runs
where the front end runs a cell's JavaScript output, e.g. JupyterLab; elsewhere nothing is shown and
nothing changes). ipywidgets 7's handle (jQuery UI's) is a plain focusable span with no slider role
at all, which a name alone would not mend: left as it is.
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


# Once per page: name every unnamed slider handle after its slider's label, now and whenever the
# page changes (checked at most once per animation frame).
NAME_SLIDERS_JS = """(() => {
  if (window.labkitNamesSliders) return;
  window.labkitNamesSliders = true;
  let pending = false;
  const name = () => {
    pending = false;
    for (const handle of document.querySelectorAll('[role="slider"]:not([aria-label])')) {
      const slider = handle.closest('.widget-slider, .widget-hslider');
      const label = slider && slider.querySelector('.widget-label');
      const text = label ? label.textContent.trim() : '';
      if (text) handle.setAttribute('aria-label', text);
    }
  };
  name();
  new MutationObserver(() => {
    if (!pending) { pending = true; requestAnimationFrame(name); }
  }).observe(document.body, {childList: true, subtree: true});
})();"""


class ShowsWidget:
    """Displayed in a notebook as its ``widget`` attribute, with ipywidgets 7 or 8 (and, when
    ``names_sliders``, with ``NAME_SLIDERS_JS`` after it)."""

    widget: widgets.Widget
    names_sliders = False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        if self.names_sliders:  # text/plain "": a front end that runs no JavaScript shows nothing
            display({"application/javascript": NAME_SLIDERS_JS, "text/plain": ""}, raw=True)
