"""labkit: reproduce five common CNN training failures on small synthetic data, and fix them.

Start here:

    import labkit
    labkit.cases.names()                      # the five cases, one per lesson
    labkit.explore("negative-loss")           # a panel of sliders and fix buttons for one case
    labkit.diagnose({"loss": [-1.9, -72.7, -573.7, -2662.9]})  # names the failure in your curves

What else there is:

- ``cases``: each case's failing run, its fixes and its symptom
  (``labkit.cases.get(name).run(seed=0)``);
- ``verdict(history)``: the one judge, the asker's failure, another failure or healthy;
- ``plots``: loss and metric curves of one or more runs;
- ``exercise``: the lessons' predict-first questions and hidden reference answers;
- ``use_device``, ``pick_device``, ``seed_everything``, ``History``, ``check_code``, ``Panel``.

The lessons in the repository's ``lessons/`` folder use all of these.
"""

from . import cases, plots
from .device import pick_device, seed_everything, use_device
from .diagnosis import check_code, diagnose, verdict
from .history import History

__version__ = "0.1.0"


def __getattr__(name: str):
    """Import the widget modules on first use: widget-free code never loads ipywidgets."""
    if name in ("Panel", "explore"):
        from . import panels

        return getattr(panels, name)
    if name == "exercise":  # labkit.exercise.predict(...) works after a plain `import labkit`
        # absolute: `from . import exercise` would ask this __getattr__ again
        import labkit.exercise  # noqa: F401 (binds labkit.exercise in globals())

        return globals()["exercise"]
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the lazily imported names too, for ``help(labkit)`` and tab completion."""
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "History",
    "cases",
    "Panel",
    "check_code",
    "diagnose",
    "verdict",
    "exercise",
    "explore",
    "plots",
    "pick_device",
    "seed_everything",
    "use_device",
    "__version__",
]
