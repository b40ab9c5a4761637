"""labkit: reproduce five common CNN training failures on small synthetic data, and fix them."""

from . import cases, plots
from .device import pick_device, seed_everything
from .history import History
from .diagnosis import diagnose
from .panels import Panel, explore

__version__ = "0.1.0"

__all__ = ["History", "cases", "Panel", "diagnose", "explore", "plots", "pick_device", "seed_everything", "__version__"]
