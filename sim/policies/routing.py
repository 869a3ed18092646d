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

from typing import TYPE_CHECKING

from pydantic import Field

from ..streams import Uniforms
from .registry import Params, Registry

if TYPE_CHECKING:
    from ..kernel.views import RoutingContext

ROUTING = Registry("routing")


class RoutingPolicy:
    """Base class: a `name`, a `Params` model, `route` and `transfer`."""

    name = ""
    platform_led = False

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

    def owner_unit(self, case):
        return self._owner_units[case.k][case.street]

    def wrong_unit(self, case):
        """A department other than the owner, uniformly at random (a misrouting)."""
        others = self._others[case.cat.owner]
        return self.model.unit(others[int(self.u() * len(others))], case.street)

    def pick(self, case, accuracy: float):
        if self.u() < accuracy:
            return self._owner_units[case.k][case.street]
        return self.wrong_unit(case)

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

    def route(self, case):
        return self.owner_unit(case), 0.0


@ROUTING.register
class Sectoral(RoutingPolicy):
    """`sectoral` (以条为主, before the reform): the channel decides. 110 goes to the police
    station whatever the matter; 12345 and app reports go to the department the hotline operator
    picks (right with probability `hotline_accuracy`, by family); grid workers see but cannot
    dispatch (看得见的管不着), so their reports are forwarded to the hotline. A department that does
    not own a case passes it on after `transfer_delay_hours`."""

    name = "sectoral"

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

    def _pick_hotline(self, case):
        p = self.params
        acc = p.hotline_accuracy_by_family.get(case.cat.family, p.hotline_accuracy)
        return self.pick(case, acc)

    def _hotline(self, case, extra=0.0):
        desk = self._desks.get(-1)
        if desk is not None:   # the 12345 operators triage in their own queue
            return desk, extra
        return self._pick_hotline(case), self.params.hotline_delay_hours + extra

    def after_triage(self, case):
        return self._pick_hotline(case), self.params.hotline_delay_hours

    def route(self, case):
        kind = case.channel_kind
        if kind == "police":
            return self._police[case.street], 0.0
        if kind == "patrol":
            return self._hotline(case, self.params.grid_forward_delay_hours)
        return self._hotline(case)

    def transfer(self, case, unit):
        p = self.params
        if case.transfers >= p.max_transfers:
            return self.owner_unit(case), p.transfer_delay_hours
        return self.pick(case, p.transfer_accuracy), p.transfer_delay_hours


@ROUTING.register
class Territorial(RoutingPolicy):
    """`territorial` (以块为主, after the reform): every report goes to the street sub-center
    platform (大共治分中心), which triages by the catalogue and dispatches to the owner's street
    team or, through the platform, to a district department. 110 still sends the police first; what
    the police cannot own goes back through the platform. The street leads multi-department
    cases (主协办)."""

    name = "territorial"
    platform_led = True

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
        self._accuracy = self.params.triage_accuracy
        self._delay = self.params.triage_delay_hours
        self._via = [c.via_platform is not False for c in model.cats]
        self._retriage = self.params.retriage_accuracy
        # most cases go to their street's desk: that answer, by street, made once
        self._to_desk = [(desk, 0.0) if desk is not None else None
                         for desk in (self._desks.get(st) for st in range(model.n_streets))]

    def route(self, case):
        street = case.street
        if case.channel_kind == "police":
            return self._police[street], 0.0
        if not self._via[case.k]:
            return self.owner_unit(case), 0.0
        to_desk = self._to_desk[street]
        if to_desk is not None:
            return to_desk
        return self.pick(case, self._accuracy), self._delay   # a platform with no desk

    def after_triage(self, case):
        acc = self._accuracy if case.transfers == 0 else self._retriage
        if self.u() < acc:
            return self._owner_units[case.k][case.street], self._delay
        return self.wrong_unit(case), self._delay

    def transfer(self, case, unit):
        p = self.params
        desk = self._desks.get(case.street)
        if desk is not None:   # back to the platform, which triages it again
            return desk, p.transfer_delay_hours
        return self.pick(case, p.retriage_accuracy), p.transfer_delay_hours
