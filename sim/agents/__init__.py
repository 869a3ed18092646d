"""The agents: departments, grid workers, citizens and the street dispatch platform."""

from .citizen import Citizen
from .department import Department, Task, Unit
from .grid_worker import GridWorker
from .platform import DispatchPlatform

__all__ = ["Citizen", "Department", "DispatchPlatform", "GridWorker", "Task", "Unit"]
