"""ipywidgets 7 (Colab renders 7.7.1 itself) and 8: the two places where labkit's widgets must
differ.

- A described control's tooltip is ``description_tooltip`` in ipywidgets 7 and ``tooltip`` in 8
  (where the old name warns). ``tooltip(text)`` gives the keyword each version has; ``text=""``
  means no tooltip (a control left with None shows the word "null" in ipywidgets 8; an HTML widget's
  hidden label carries it too, so ``html_widget`` sets "").
- A widget displays through ``_ipython_display_`` in 7 and ``_repr_mimebundle_`` in 8.
  ``ShowsWidget`` lets an object that holds a widget (a Panel, a Prediction) display as that widget
  with either: IPython's ``display``.
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


class ShowsWidget:
    """Displayed in a notebook as its ``widget`` attribute, with ipywidgets 7 or 8."""

    widget: widgets.Widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
