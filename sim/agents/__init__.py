"""The agents: departments, grid workers, citizens and the street dispatch platform.

Each agent class holds its decision rules as methods; the engine (`sim.engine`) keeps the
calendar, the queues and the bookkeeping and calls them. A behaviour is chosen by name in the
scenario (`agents.<kind>.behaviour`) from the registries in `sim.agents.registry`.
"""

from .citizen import Citizen
from .department import Department, Task, Unit
from .grid_worker import GridWorker
from .platform import DispatchPlatform
from .registry import CITIZENS, DEPARTMENTS, GRID_WORKERS, PLATFORMS, REGISTRIES

__all__ = ["CITIZENS", "DEPARTMENTS", "GRID_WORKERS", "PLATFORMS", "REGISTRIES", "Citizen",
           "Department", "DispatchPlatform", "GridWorker", "Task", "Unit"]
