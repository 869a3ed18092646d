"""Citizens (居民): report problems, complain again, switch channel or escalate.

The residents of one grid are one agent. A district of a million people must not cost a million
objects: residents with nothing to report cost nothing, and per-problem state (citizen
complaints so far, the channel last used, whether they gave up) lives in the engine's problem
record. The engine calls the grid's citizen agent when a decision is due:
- `report_probability` (per category, at the start): whether an affected citizen ever reports
  a problem; the first reports are then drawn in bulk (`world.problems`), each with its
  uniform number;
- `reports(pid, cat)` (citizens who learn, at the moment a first report is due): report, or
  not, by comparing the problem's pre-drawn uniform with the report probability *now*, which
  rises or falls with what the grid's residents saw of their recent cases
  (`observe_closure`): resolved or not, and how fast. The uniform is the problem's own, so
  two scenarios still face the same citizens (common random numbers);
- `after_patience(problem, case)`: patience has run out and the problem is still there:
  give up, complain again on the same channel, switch to another channel, or escalate one rung
  up the ladder (12345 -> 110 -> 信访) after repeated failures.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from .._mesa import mesa
from ..streams import Uniforms
from .department import rule_view
from .fastpath import keeps_rule
from .registry import CITIZENS, Params
from .rules import CitizenRule


@CITIZENS.register
class Citizen(mesa.Agent):
    """The residents of one grid, as one agent.

    Behaviour `default`: citizens learn (trust, 信任): every closure of a case in the grid is an
    experience x (0 when the problem was left unresolved; when resolved, 1 if closed within
    the category's time limit, else time limit / time to close); the grid's trust is a running
    mean of x (weight `trust_memory`), starting at `trust_reference`, and the chance of
    reporting a new problem is the category's `p_report` times 1 + `trust_sensitivity` x
    (trust - `trust_reference`) (0 at most). Sensitivity 0 (neutral): reporting never changes.
    When patience runs out on an unresolved problem, complain again with
    probability `citizens.repeat.p_complain_again` plus `transfer_anger` per transfer their case
    suffered (a bounced case angers); after `citizens.escalation.after_failures` citizen
    complaints, go one rung up the ladder with probability `p_escalate`; else switch channel
    with `switch_channel_prob` (among ordinary channels), or keep the channel.
    """

    name = "default"

    #: the engine takes this class's learning decisions from the compiled default rule
    #: (`CitizenRule`, sim/agents/rules.py); set to False when the class is defined if it
    #: overrides one of `RULE_METHODS` (then the engine asks the agent's own methods)
    compiled_rule: ClassVar[bool] = True
    RULE_METHODS: ClassVar[tuple[str, ...]] = ("reports", "observe_closure", "after_patience")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.compiled_rule = keeps_rule(cls, cls.RULE_METHODS)

    class Params(Params):
        transfer_anger: float = Field(0.05, ge=0, le=1, description="added to the chance of "
                                      "complaining again per transfer the case suffered")
        trust_sensitivity: float = Field(0.5, ge=0, le=5, description="change in the chance "
                                         "of reporting a new problem, relative, per unit of "
                                         "trust above the reference (0: reporting does not "
                                         "learn)")
        trust_reference: float = Field(0.75, ge=0, le=1, description="trust (running mean of "
                                       "closures' experience, 0-1) at which residents report "
                                       "with the catalogue's p_report")
        trust_memory: float = Field(0.05, gt=0, le=1, description="weight of the newest "
                                    "closure in the grid's trust")

    def __init__(self, model, grid: int, population: int, params: dict | None = None):
        super().__init__(model)
        self.grid = grid
        self.population = population
        self.params = self.Params(**(params or {}))
        p = self.params
        # the default rule's state and arithmetic (compiled; see sim/agents/rules.py)
        self.rule = CitizenRule(float(p.trust_sensitivity), float(p.trust_reference),
                                float(p.trust_memory))
        #: what the engine asks: the compiled rule, or this agent (a subclass's methods)
        self.decider = self.rule if self.compiled_rule else self

    trust = rule_view("trust", "running mean of the closures' experience (0-1)")
    factor = rule_view("factor", "today's chance of reporting / the catalogue's")

    @classmethod
    def report_probability(cls, scenario, cats) -> np.ndarray:
        """Per category: the chance an affected citizen ever reports the problem."""
        return np.array([c.p_report for c in cats]) * scenario.citizens.report_propensity

    # ------------------------------------------------------------------ learning (trust)
    @classmethod
    def candidate_probability(cls, scenario, cats, p_rep: np.ndarray,
                              params: dict | None = None) -> np.ndarray:
        """Per category: the highest chance of reporting trust can give (full trust). Reports
        are drawn in bulk as candidates up to it; with no learning it is `p_rep` itself."""
        p = cls.Params(**(params or {}))
        top = 1.0 + p.trust_sensitivity * (1.0 - p.trust_reference)
        return np.minimum(1.0, p_rep * max(1.0, top))

    @classmethod
    def wire_learning(cls, engine, citizens, p_rep: np.ndarray, p_cand: np.ndarray,
                      u_rep: np.ndarray | None) -> None:
        """Called once by the model after the bulk draw: when the residents learn, the engine
        asks them at each first report (`reports`) and tells them each closure
        (`observe_closure`)."""
        if u_rep is None or not citizens or not any(c.learns for c in citizens):
            return   # no learning, or the reports are given (a replayed case log)
        # the uniforms stay one numpy array (8 bytes a problem, not a float object each)
        rep, cand = p_rep.tolist(), p_cand.tolist()
        salt = int(engine.seed) * 0x9E3779B97F4A7C15 & ((1 << 64) - 1)
        for c in citizens:
            c.rule.share(rep, cand, u_rep, salt)
        engine.report_decision = [c.decider.reports for c in citizens]
        engine.citizen_observe = [c.decider.observe_closure for c in citizens]

    @property
    def learns(self) -> bool:
        return self.params.trust_sensitivity > 0

    def reports(self, pid: int, cat: int) -> bool:
        """A resident affected by problem `pid` (category `cat`) reports it now, or not: the
        problem's pre-drawn uniform against the chance of reporting today (the catalogue's
        times `factor`); a recurrence has a uniform of its own (`splitmix_unit`)."""
        return self.rule.reports(pid, cat)

    def observe_closure(self, case) -> None:
        """A case of this grid closed: the residents' experience updates their trust (the
        class docstring's rule) and with it `factor`."""
        self.rule.observe_closure(case)

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
        self.rule.note_escalation = engine.note_escalation

    # what the rule uses when patience runs out (read and written through to `self.rule`)
    u = rule_view("u", "the residents' random numbers (set by `setup`)")
    p_again = rule_view("p_again", "citizens.repeat.p_complain_again")
    p_switch = rule_view("p_switch", "citizens.repeat.switch_channel_prob")
    anger = rule_view("anger", "transfer_anger: added to p_again per transfer")
    after_failures = rule_view("after_failures", "citizens.escalation.after_failures")
    p_escalate = rule_view("p_escalate", "citizens.escalation.p_escalate")
    ladder = rule_view("ladder", "the escalation ladder's channel indices")
    ordinary = rule_view("ordinary", "channels a citizen may switch to")

    def after_patience(self, problem, case) -> int:
        """The channel of the next complaint about `problem`, or -1 to give up (the class
        docstring's rule: complain again, escalate one rung, or switch channel)."""
        return self.rule.after_patience(problem, case)

    @property
    def complaints(self) -> int:
        """Repeat complaints made so far by residents of this grid after patience ran out."""
        return self.engine.citizen_complaints[self.grid]
