"""Seeds: every run's seed comes from one root seed through numpy's `SeedSequence`.

Replication `r` gets `SeedSequence(root).spawn(R)[r]`, turned into a plain int with
`generate_state(1)[0]`. Every scenario (compare) or design point (sweep) uses the same seed for
replication `r`: **common random numbers**. Two policies then face the same problems at the same
times, so their difference is the policy's, not the noise's, and paired differences need far
fewer replications. The ints are recorded in the manifest and on every result row, so any run
can be repeated alone with `cogov run SCENARIO --seed SEED`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def replication_seeds(root: int, replications: int) -> list[int]:
    """`replications` independent seeds derived from `root` (same call, same seeds)."""
    children = np.random.SeedSequence(int(root)).spawn(int(replications))
    return [int(c.generate_state(1)[0]) for c in children]


@dataclass
class SeedPlan:
    """The seed of every (point, replication) of a sweep.

    With `common` (the default) it is the replication's seed whatever the point (common random
    numbers). Without, each (point, replication) gets its own child
    `SeedSequence(root, spawn_key=(point, replication))`.
    """

    root: int
    replications: int
    common: bool = True
    _reps: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self):
        self._reps = replication_seeds(self.root, self.replications)

    def seed(self, point: int, replication: int) -> int:
        if self.common:
            return self._reps[replication]
        ss = np.random.SeedSequence(int(self.root), spawn_key=(int(point), int(replication)))
        return int(ss.generate_state(1)[0])

    def seed_list(self) -> list[int]:
        """The replication seeds (the seeds of every point under common random numbers)."""
        return list(self._reps)
