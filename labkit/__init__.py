"""labkit: reproduce five common CNN training failures on small synthetic data, and fix them."""

from . import cases, plots
from .device import pick_device, seed_everything, use_device
from .history import History
from .diagnosis import check_code, diagnose, verdict

__version__ = "0.1.0"


def __getattr__(name: str):
    """Import the widget modules on first use, so widget-free code (labkit.runner, scripts) never loads ipywidgets."""
    if name in ("Panel", "explore"):
        from . import panels

        return getattr(panels, name)
    if name == "exercise":  # labkit.exercise.predict(...) works after a plain `import labkit`
        import labkit.exercise  # absolute: `from . import exercise` would ask this __getattr__ again

        return globals()["exercise"]
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


__all__ = ["History", "cases", "Panel", "check_code", "diagnose", "verdict", "exercise", "explore", "plots", "pick_device", "seed_everything", "use_device", "__version__"]
