"""The registry of mechanisms: name -> class, in hook order (see `sim.mechanisms`). Kept
apart from the package's `__init__` so that importing the package imports no compiled module
(see `sim.ENGINE_MODULES`)."""

from __future__ import annotations

from .campaigns import Campaigns
from .dual import DualDispatch
from .joint import Linkage, MainCoHandling
from .onsite import OnSiteHandback
from .recurrence import Recurrence

#: name -> class, in hook order (joint handling before dual dispatch: the police's share
#: depends on whether the case is handled jointly)
REGISTRY = {cls.NAME: cls for cls in (MainCoHandling, Linkage, DualDispatch, OnSiteHandback,
                                      Campaigns, Recurrence)}


def wanted(world) -> list[type]:
    """The mechanism classes the World switches on, in hook order."""
    return [cls for cls in REGISTRY.values() if cls.wanted(world)]


def table() -> str:
    """The README's mechanism table (Markdown), generated from the registry."""
    rows = ["| mechanism | switched on by | what it does | module |", "|---|---|---|---|"]
    for name, cls in REGISTRY.items():
        rows.append(f"| `{name}` | `{cls.KEY}` | {cls.SUMMARY} | `{cls.__module__}` |")
    return "\n".join(rows) + "\n"
