"""Registries of agent behaviours: a behaviour is one agent class plus one name, chosen in the
scenario under `agents.<kind>.behaviour` with its parameters under `agents.<kind>.params`.

A researcher adds a behaviour by subclassing an agent in plain Python, giving it a `name`
(and, for new parameters, a `Params` model) and decorating it with the registry's `register`:

    from sim.agents import DEPARTMENTS, Department

    @DEPARTMENTS.register
    class Diligent(Department):
        name = "diligent"
        def effort(self, case, role):
            return 1.0

and selects it with `agents: {department: {behaviour: diligent}}`. A behaviour that overrides
a decision the engine may take without asking (`Department.priority`, `observe_closure`,
`p_true_resolution`; `DispatchPlatform.dispatch`) declares it in a class attribute
(`priority_varies = True`, ...; see `sim/agents/fastpath.py`), else defining it fails. A class
that overrides a decision is asked through its own methods (its `compiled_rule` is set to False
when it is defined); the default classes' decisions run compiled (`sim/agents/rules.py`).
"""

from __future__ import annotations

from ..policies.registry import Params, Registry

CITIZENS = Registry("citizen behaviour")
DEPARTMENTS = Registry("department behaviour")
GRID_WORKERS = Registry("grid worker behaviour")
PLATFORMS = Registry("platform behaviour")

REGISTRIES = {"citizen": CITIZENS, "department": DEPARTMENTS, "grid_worker": GRID_WORKERS,
              "platform": PLATFORMS}

__all__ = ["CITIZENS", "DEPARTMENTS", "GRID_WORKERS", "PLATFORMS", "Params", "REGISTRIES"]
