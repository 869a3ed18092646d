"""Moved to `sim.experiments.recommend` (issue 26); this name keeps old imports working."""

import sys

from ..experiments import recommend as _moved

sys.modules[__name__] = _moved
