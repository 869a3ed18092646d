"""Citizens (居民): report problems and complain again when their patience runs out."""

from __future__ import annotations

from .._mesa import mesa


class Citizen(mesa.Agent):
    """The residents of one grid, as one agent.

    A district of a million people must not cost a million objects: residents with nothing to
    report cost nothing. Per-problem state (who complained, how often, whether they gave up)
    lives in the engine's problem table, and their behaviour on the hot path is the engine's:
    a first report is drawn in bulk (`world.problems`); when patience runs out
    (`Engine._patience_expired`) they complain again with probability `p_complain_again` (plus
    `bounce_complain_boost` per transfer their case suffered), switching channel with
    `switch_channel_prob`, or give up.
    """

    def __init__(self, model, grid: int, population: int):
        super().__init__(model)
        self.grid = grid
        self.population = population

    @property
    def complaints(self) -> int:
        """Repeat complaints made so far by residents of this grid after patience ran out."""
        return self.model.engine.citizen_complaints[self.grid]
