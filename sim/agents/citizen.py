"""Citizens (居民): report problems, complain again, switch channel or escalate.

The residents of one grid are one agent. A district of a million people must not cost a million
objects: residents with nothing to report cost nothing, and per-problem state (citizen
complaints so far, the channel last used, whether they gave up) lives in the engine's problem
record. The engine calls the grid's citizen agent when a decision is due:
- `report_probability` (per category, at the start): whether an affected citizen ever reports
  a problem; the first reports are then drawn in bulk (`world.problems`);
- `after_patience(problem, case)`: patience has run out and the problem is still there:
  give up, complain again on the same channel, switch to another channel, or escalate one rung
  up the ladder (12345 -> 110 -> 信访) after repeated failures.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .._mesa import mesa
from ..streams import Uniforms
from .registry import CITIZENS, Params


@CITIZENS.register
class Citizen(mesa.Agent):
    """The residents of one grid, as one agent.

    Behaviour `default`: when patience runs out on an unresolved problem, complain again with
    probability `citizens.repeat.p_complain_again` plus `transfer_anger` per transfer their case
    suffered (a bounced case angers); after `citizens.escalation.after_failures` citizen
    complaints, go one rung up the ladder with probability `p_escalate`; else switch channel
    with `switch_channel_prob` (among ordinary channels), or keep the channel.
    """

    name = "default"

    class Params(Params):
        transfer_anger: float = Field(0.05, ge=0, le=1, description="added to the chance of "
                                      "complaining again per transfer the case suffered")

    def __init__(self, model, grid: int, population: int, params: dict | None = None):
        super().__init__(model)
        self.grid = grid
        self.population = population
        self.params = self.Params(**(params or {}))

    @classmethod
    def report_probability(cls, scenario, cats) -> np.ndarray:
        """Per category: the chance an affected citizen ever reports the problem."""
        return np.array([c.p_report for c in cats]) * scenario.citizens.report_propensity

    def setup(self, engine, u: Uniforms) -> None:
        """Called once by the model: the engine's channels and this agent's random numbers."""
        s = engine.scenario
        rep = s.citizens.repeat
        esc = s.citizens.escalation
        self.engine = engine
        self.u = u
        self.p_again = float(rep.p_complain_again)
        self.p_switch = float(rep.switch_channel_prob)
        self.anger = float(self.params.transfer_anger)
        self.after_failures = int(esc.after_failures)
        self.p_escalate = float(esc.p_escalate)
        codes = engine.channel_codes
        self.ladder = [codes.index(c) for c in esc.ladder if c in codes]
        kinds = engine.channel_kinds
        self.ordinary = [i for i, k in enumerate(kinds) if k not in ("patrol", "petition")]

    def after_patience(self, problem, case) -> int:
        """The channel of the next complaint about `problem`, or -1 to give up."""
        u = self.u
        transfers = case.transfers if case is not None else 0
        p = self.p_again + self.anger * transfers
        if u() >= (p if p < 1.0 else 1.0):   # min(1, p)
            return -1
        ch = problem.channel
        if problem.ncit >= self.after_failures and len(self.ladder) > 1 \
                and u() < self.p_escalate:
            ladder = self.ladder
            rung = ladder.index(ch) if ch in ladder else 0
            if rung + 1 < len(ladder):
                up = ladder[rung + 1]
                self.engine.note_escalation(up)
                return up
        if u() < self.p_switch and len(self.ordinary) > 1:
            others = [c for c in self.ordinary if c != ch]
            ch = others[int(u() * len(others))]
        return ch

    @property
    def complaints(self) -> int:
        """Repeat complaints made so far by residents of this grid after patience ran out."""
        return self.engine.citizen_complaints[self.grid]
