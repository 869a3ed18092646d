"""Moved to `sim.experiments.recommend_space` (issue 26); this name keeps old imports working."""

import sys

from ..experiments import recommend_space as _moved

sys.modules[__name__] = _moved
