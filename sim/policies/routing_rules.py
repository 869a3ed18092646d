"""The shipped routing policies' per-case answers, compiled with the engine (one mypyc group).

`sim/policies/routing.py` states each policy (`sectoral`, `territorial`) and documents it; the
answers it gives for every case (`route`, `after_triage`, `transfer`) are computed here, from
tables the policy builds once, so that the engine's million calls a district-year are C calls.
A policy class that overrides one of those methods (or a helper they use) is asked through its
own methods instead (`RoutingPolicy.compiled_rule`, set when the class is defined). Same
answers, same random numbers either way (tests/test_digests.py).
"""

from __future__ import annotations

from typing import Any

from ..kernel.entities import Case, Unit
from ..kernel.views import RouterDecisions
from ..streams import Uniforms


class RoutingRule(RouterDecisions):
    """What every shipped policy uses: the owner's unit, a uniformly wrong one, a pick with
    an accuracy."""

    u: Uniforms
    owner_units: list[list[Unit]]
    others: dict[str, list[str]]
    police: list[Any]            # the police unit of each street, or None
    unit_of: Any                 # the engine's `unit(code, street)`

    def __init__(self, u: Uniforms, owner_units: list[list[Unit]],
                 others: dict[str, list[str]], police: list[Any], unit_of: Any) -> None:
        self.u = u
        self.owner_units = owner_units
        self.others = others
        self.police = police
        self.unit_of = unit_of

    def owner_unit(self, case: Case) -> Unit:
        return self.owner_units[case.k][case.street]

    def wrong_unit(self, case: Case) -> Unit:
        """A department other than the owner, uniformly at random (a misrouting)."""
        others = self.others[case.cat.owner]
        unit: Unit = self.unit_of(others[int(self.u.next() * len(others))], case.street)
        return unit

    def pick(self, case: Case, accuracy: float) -> Unit:
        if self.u.next() < accuracy:
            return self.owner_units[case.k][case.street]
        return self.wrong_unit(case)


class DirectRule(RoutingRule):
    """`direct`: the owner's unit, at once, for every case and every bounce."""

    def route(self, case: Case) -> tuple[Any, float]:
        return self.owner_units[case.k][case.street], 0.0

    def after_triage(self, case: Case) -> tuple[Unit, float]:
        return self.owner_units[case.k][case.street], 0.0

    def transfer(self, case: Case, unit: Unit) -> tuple[Any, float]:
        return self.owner_units[case.k][case.street], 0.0


class TerritorialRule(RoutingRule):
    """`territorial`: the street platform's desk first; triage with `triage_accuracy`,
    re-triage of a bounced case with `retriage_accuracy`."""

    accuracy: float
    delay: float
    retriage: float
    transfer_delay: float
    via: list[bool]
    to_desk: list[Any]           # (desk, 0.0) by street, or None (a platform with no desk)
    desks: dict[int, Unit]

    def __init__(self, base: RoutingRule, accuracy: float, delay: float, retriage: float,
                 transfer_delay: float, via: list[bool], desks: dict[int, Unit],
                 n_streets: int) -> None:
        super().__init__(base.u, base.owner_units, base.others, base.police, base.unit_of)
        self.accuracy = accuracy
        self.delay = delay
        self.retriage = retriage
        self.transfer_delay = transfer_delay
        self.via = via
        self.desks = desks
        self.to_desk = [(desks[st], 0.0) if st in desks else None for st in range(n_streets)]

    def route(self, case: Case) -> tuple[Any, float]:
        street = case.street
        if case.channel_kind == "police":
            return self.police[street], 0.0
        if not self.via[case.k]:
            return self.owner_units[case.k][case.street], 0.0
        to_desk = self.to_desk[street]
        if to_desk is not None:
            return to_desk
        return self.pick(case, self.accuracy), self.delay   # a platform with no desk

    def after_triage(self, case: Case) -> tuple[Unit, float]:
        acc = self.accuracy if case.transfers == 0 else self.retriage
        if self.u.next() < acc:
            return self.owner_units[case.k][case.street], self.delay
        return self.wrong_unit(case), self.delay

    def transfer(self, case: Case, unit: Unit) -> tuple[Any, float]:
        desk = self.desks.get(case.street)
        if desk is not None:   # back to the platform, which triages it again
            return desk, self.transfer_delay
        return self.pick(case, self.retriage), self.transfer_delay


class SectoralRule(RoutingRule):
    """`sectoral`: the channel decides; the 12345 operators pick with `hotline_accuracy`
    (by family where given); a wrong department passes the case on."""

    accuracy: float
    by_family: dict[str, float]
    hotline_delay: float
    forward_delay: float
    transfer_delay: float
    transfer_accuracy: float
    max_transfers: int
    hotline_desk: Unit | None

    def __init__(self, base: RoutingRule, accuracy: float, by_family: dict[str, float],
                 hotline_delay: float, forward_delay: float, transfer_delay: float,
                 transfer_accuracy: float, max_transfers: int,
                 hotline_desk: Unit | None) -> None:
        super().__init__(base.u, base.owner_units, base.others, base.police, base.unit_of)
        self.accuracy = accuracy
        self.by_family = by_family
        self.hotline_delay = hotline_delay
        self.forward_delay = forward_delay
        self.transfer_delay = transfer_delay
        self.transfer_accuracy = transfer_accuracy
        self.max_transfers = max_transfers
        self.hotline_desk = hotline_desk

    def pick_hotline(self, case: Case) -> Unit:
        family: str = case.cat.family
        return self.pick(case, self.by_family.get(family, self.accuracy))

    def hotline(self, case: Case, extra: float) -> tuple[Unit, float]:
        desk = self.hotline_desk
        if desk is not None:   # the 12345 operators triage in their own queue
            return desk, extra
        return self.pick_hotline(case), self.hotline_delay + extra

    def route(self, case: Case) -> tuple[Any, float]:
        kind = case.channel_kind
        if kind == "police":
            return self.police[case.street], 0.0
        if kind == "patrol":
            return self.hotline(case, self.forward_delay)
        return self.hotline(case, 0.0)

    def after_triage(self, case: Case) -> tuple[Unit, float]:
        return self.pick_hotline(case), self.hotline_delay

    def transfer(self, case: Case, unit: Unit) -> tuple[Any, float]:
        if case.transfers >= self.max_transfers:
            return self.owner_units[case.k][case.street], self.transfer_delay
        return self.pick(case, self.transfer_accuracy), self.transfer_delay


__all__ = ["DirectRule", "RoutingRule", "SectoralRule", "TerritorialRule"]
