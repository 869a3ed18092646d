"""Moved to `sim.scenario.routing_table` (issue 26); this name keeps old imports working."""

import sys

from ..scenario import routing_table as _moved

sys.modules[__name__] = _moved
