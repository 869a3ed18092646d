"""Routing policies: which department a new case reaches first, and where a bounced case goes.

A policy answers three questions for the engine:
- `route(case)`: the first unit and the delay before the case is in its queue; the unit may be
  a dispatch desk (a street platform or the district 12345 operators), where triage takes staff
  time in a queue;
- `after_triage(case)`: where the desk sends the case (asked through the platform agent,
  `DispatchPlatform.dispatch`);
- `transfer(case, unit)`: the case sits at a unit that does not own it (a bounce, 推诿):
  the next unit and the delay.
`platform_led` says whether the street platform leads multi-department cases (主协办).

A policy only decides: it returns (unit, delay) and changes no counter (the engine and the
agents keep those). It sees the engine through `model`, which the engine passes in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from ..streams import Uniforms
from .registry import Params, Registry
from .routing_rules import DirectRule, RoutingRule, SectoralRule, TerritorialRule

if TYPE_CHECKING:
    from ..kernel.views import RoutingContext

ROUTING = Registry("routing")


class RoutingPolicy:
    """Base class: a `name`, a `Params` model, `route` and `transfer`."""

    name = ""
    platform_led = False
    #: the engine takes this policy's answers from its compiled rule (`self.rule`,
    #: sim/policies/routing_rules.py) when the class has one and overrides none of
    #: `RULE_METHODS` (set when the class is defined); else it asks the policy's methods
    compiled_rule: ClassVar[bool] = False
    RULE_METHODS: ClassVar[tuple[str, ...]] = ("route", "after_triage", "transfer")
    #: what a compiled rule uses besides: a class with a rule that overrides one of these must
    #: override all of `RULE_METHODS` too (else the rule would ignore the override)
    RULE_HELPERS: ClassVar[tuple[str, ...]] = ("pick", "wrong_unit", "owner_unit")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "compiled_rule" in cls.__dict__:      # a policy that brings its own rule
            return
        if cls.compiled_rule and any(m in cls.__dict__ for m in cls.RULE_HELPERS) and \
                not all(m in cls.__dict__ for m in cls.RULE_METHODS):
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__} overrides a helper of "
                f"{', '.join(cls.RULE_HELPERS)} but not all of {', '.join(cls.RULE_METHODS)}: "
                "the compiled rule of the policy it extends would not use the override. "
                "Override route, after_triage and transfer as well")
        cls.compiled_rule = cls.compiled_rule and \
            not any(m in cls.__dict__ for m in cls.RULE_METHODS)

    class Params(Params):
        pass

    def __init__(self, params: dict | None, model: RoutingContext):
        self.params = self.Params(**(params or {}))
        self.model = model
        self.u = Uniforms(model.streams["routing"])
        self._desks = model.desks
        # looked up once: these run for every case
        self._owner_units = model.owner_units
        self._others = model.others
        self._police = [model.police_unit(st) if model.police_code is not None else None
                        for st in range(model.n_streets)]
        self._tables = RoutingRule(self.u, self._owner_units, self._others, self._police,
                                   model.unit)
        #: what the engine asks (`route`, `after_triage`, `transfer`): the compiled rule when
        #: the class keeps it, else this policy
        self.decider = self

    def owner_unit(self, case):
        """The unit of the case's owner in its street."""
        return self._tables.owner_unit(case)

    def wrong_unit(self, case):
        """A department other than the owner, uniformly at random (a misrouting)."""
        return self._tables.wrong_unit(case)

    def pick(self, case, accuracy: float):
        """The owner's unit with probability `accuracy`, else a wrong one."""
        return self._tables.pick(case, accuracy)

    def route(self, case):
        raise NotImplementedError

    def after_triage(self, case):
        return self.owner_unit(case), 0.0

    def transfer(self, case, unit):
        return self.owner_unit(case), 0.0


@ROUTING.register
class Direct(RoutingPolicy):
    """`direct`: the owning department receives every case at once (an idealised baseline)."""

    name = "direct"
    compiled_rule = True

    def __init__(self, params: dict | None, model: RoutingContext):
        super().__init__(params, model)
        t = self._tables
        self.rule = DirectRule(t.u, t.owner_units, t.others, t.police, t.unit_of)
        if self.compiled_rule:
            self.decider = self.rule

    def route(self, case):
        """The owner's unit, at once."""
        return self.rule.route(case)


@ROUTING.register
class Sectoral(RoutingPolicy):
    """`sectoral` (以条为主, before the reform): the channel decides. 110 goes to the police
    station whatever the matter; 12345 and app reports go to the department the hotline operator
    picks (right with probability `hotline_accuracy`, by family); grid workers see but cannot
    dispatch (看得见的管不着), so their reports are forwarded to the hotline. A department that does
    not own a case passes it on after `transfer_delay_hours`."""

    name = "sectoral"
    compiled_rule = True

    class Params(RoutingPolicy.Params):
        hotline_accuracy: float = Field(0.8, ge=0, le=1, description="chance the operator picks "
                                                                     "the owner")
        hotline_accuracy_by_family: dict[str, float] = Field(
            default_factory=dict, description="overrides of `hotline_accuracy` by family")
        hotline_delay_hours: float = Field(0.0, ge=0, description="fixed latency from the "
                                           "12345 desk to the department queue, on top of the "
                                           "desk's own queue and triage time (platform.hotline_*)")
        grid_forward_delay_hours: float = Field(24.0, ge=0, description="grid report to hotline "
                                                "(paper forwarding, assumption)")
        transfer_delay_hours: float = Field(48.0, ge=0, description="wrong department notices "
                                                                    "and passes the case on")
        transfer_accuracy: float = Field(0.7, ge=0, le=1, description="chance a transfer "
                                                                      "reaches the owner")
        max_transfers: int = Field(3, ge=0, description="after this many the owner takes it")

    def __init__(self, params: dict | None, model: RoutingContext):
        super().__init__(params, model)
        p = self.params
        self.rule = SectoralRule(self._tables, p.hotline_accuracy,
                                 dict(p.hotline_accuracy_by_family), p.hotline_delay_hours,
                                 p.grid_forward_delay_hours, p.transfer_delay_hours,
                                 p.transfer_accuracy, p.max_transfers, self._desks.get(-1))
        if self.compiled_rule:
            self.decider = self.rule

    def route(self, case):
        """110 to the street's police station; 12345 and app reports to the 12345 desk (or,
        with no desk, to the operator's pick); grid reports forwarded to the hotline."""
        return self.rule.route(case)

    def after_triage(self, case):
        """The operator's pick (`hotline_accuracy`, by family where given)."""
        return self.rule.after_triage(case)

    def transfer(self, case, unit):
        """A wrong department passes the case on (`transfer_accuracy`); after
        `max_transfers` the owner takes it."""
        return self.rule.transfer(case, unit)


@ROUTING.register
class Territorial(RoutingPolicy):
    """`territorial` (以块为主, after the reform): every report goes to the street sub-center
    platform (大共治分中心), which triages by the catalogue and dispatches to the owner's street
    team or, through the platform, to a district department. 110 still sends the police first; what
    the police cannot own goes back through the platform. The street leads multi-department
    cases (主协办)."""

    name = "territorial"
    platform_led = True
    compiled_rule = True

    class Params(RoutingPolicy.Params):
        triage_accuracy: float = Field(0.95, ge=0, le=1, description="chance the platform picks "
                                                                     "the owner")
        triage_delay_hours: float = Field(0.0, ge=0, description="fixed latency from the "
                                          "platform to the department queue, on top of the "
                                          "desk's own queue and triage time (platform.triage_*)")
        transfer_delay_hours: float = Field(8.0, ge=0, description="a wrong department returns "
                                                                   "the case to the platform")
        retriage_accuracy: float = Field(0.98, ge=0, le=1, description="accuracy on re-triage")

    def __init__(self, params: dict | None, model: RoutingContext):
        super().__init__(params, model)
        p = self.params
        via = [c.via_platform is not False for c in model.cats]
        self.rule = TerritorialRule(self._tables, p.triage_accuracy, p.triage_delay_hours,
                                    p.retriage_accuracy, p.transfer_delay_hours, via,
                                    self._desks, model.n_streets)
        if self.compiled_rule:
            self.decider = self.rule

    def route(self, case):
        """110 to the street's police station; what does not pass through the platform to
        its owner; everything else to the street platform's desk (or, with no desk, the
        platform's pick with `triage_accuracy` after `triage_delay_hours`)."""
        return self.rule.route(case)

    def after_triage(self, case):
        """The desk's pick: `triage_accuracy`, or `retriage_accuracy` for a bounced case."""
        return self.rule.after_triage(case)

    def transfer(self, case, unit):
        """A wrong department returns the case to the platform, which triages it again."""
        return self.rule.transfer(case, unit)
