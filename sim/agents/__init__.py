"""The agents: departments, grid workers, citizens and the street dispatch platform."""

from .citizen import Citizen
from .department import Department, ServiceUnit, Task
from .grid_worker import GridWorker
from .platform import DispatchPlatform

__all__ = ["Citizen", "Department", "DispatchPlatform", "GridWorker", "ServiceUnit", "Task"]
