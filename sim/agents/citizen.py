"""Citizens (居民): report problems and complain again when their patience runs out."""

from __future__ import annotations

import mesa


class Citizen(mesa.Agent):
    """The residents of one grid, as one agent.

    A district of a million people must not cost a million objects: residents with nothing to
    report cost nothing. Per-problem state (who complained, how often, whether they gave up)
    lives in the model's problem table; this agent holds the behaviour.
    """

    def __init__(self, model, grid: int, population: int):
        super().__init__(model)
        self.grid = grid
        self.population = population
        self.complaints = 0

    def patience_expired(self, pid: int) -> None:
        """Patience has run out on problem `pid`: complain again, maybe elsewhere, or give up."""
        m = self.model
        if m.p_state[pid] == m.RESOLVED or m.p_gaveup[pid]:
            return
        rep = m.scenario.citizens.repeat
        case = m.p_case[pid]
        boost = m.routing.bounce_complain_boost * (case.transfers if case is not None else 0)
        if m.u_patience() >= min(1.0, rep.p_complain_again + boost):
            m.p_gaveup[pid] = True
            return
        channel = m.p_channel[pid]
        if m.u_patience() < rep.switch_channel_prob and len(m.citizen_channels) > 1:
            others = [c for c in m.citizen_channels if c != channel]
            channel = others[int(m.u_patience() * len(others))]
        self.complaints += 1
        m.complaint(pid, channel, citizen=True)
