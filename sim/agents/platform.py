"""The street sub-center platform (大共治分中心): triage, dispatch, handback to the grid."""

from __future__ import annotations

from .._mesa import mesa


class DispatchPlatform(mesa.Agent):
    """One street's platform (`street` = -1: the district 12345 operator).

    Counts what it triages and hands back; routing policies call it through the model.
    """

    def __init__(self, model, street: int):
        super().__init__(model)
        self.street = street
        self.triaged = 0
        self.handbacks = 0
