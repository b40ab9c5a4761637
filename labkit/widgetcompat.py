"""ipywidgets 7 (Colab renders 7.7.1 itself) and 8: where labkit's widgets must differ.

A tooltip is ``description_tooltip`` in 7 and ``tooltip`` in 8 (``tooltip(text)`` gives the right
keyword; "" means none, as None shows "null" in 8). A widget displays through
``_ipython_display_`` in 7 and ``_repr_mimebundle_`` in 8 (``ShowsWidget`` works with both). Where
both fall short (a slider handle has no accessible name; 7 never puts a checkbox's help in the
page) a Panel also shows ``mends_js``, a page script that mends it where the front end runs a
cell's JavaScript (JupyterLab, classic Notebook); elsewhere nothing changes.
"""

from __future__ import annotations

import json

import ipywidgets as widgets

IPYWIDGETS_7 = widgets.__version__.split(".")[0] == "7"
TOOLTIP = "description_tooltip" if IPYWIDGETS_7 else "tooltip"


def tooltip(text: str) -> dict[str, str]:
    """Return the keyword argument giving a control the tooltip ``text`` ("" for none)."""
    return {TOOLTIP: text}


def html_widget(value: str = "", **kwargs: object) -> widgets.HTML:
    """Return an HTML widget showing ``value``, its (hidden) label without a "null" tooltip."""
    return widgets.HTML(value, **tooltip(""), **kwargs)


# Now and on each page change (once per animation frame at most): name each slider handle after
# its label (7's jQuery UI handle, a bare span, also gets the role and the readout's value), and
# give each checkbox whose words are in window.labkitHelp that help as its title (ipywidgets 7).
_MENDS_JS = """(() => {
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
    """Return the page script with ``checkbox_help`` (a checkbox's words -> its help) as JSON."""
    return _MENDS_JS.replace("HELP", json.dumps(checkbox_help), 1)


class ShowsWidget:
    """Displayed in a notebook as its ``widget`` attribute, with ipywidgets 7 or 8, followed by
    ``mends_js(checkbox_help())`` unless ``checkbox_help`` is None."""

    widget: widgets.Widget

    def checkbox_help(self) -> dict[str, str] | None:
        return None  # a checkbox's words -> its help, for the page script (None: no script)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        if (help_texts := self.checkbox_help()) is not None:
            # text/plain "": a front end that runs no JavaScript shows nothing
            display({"application/javascript": mends_js(help_texts), "text/plain": ""}, raw=True)
