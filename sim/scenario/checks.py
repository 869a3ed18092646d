"""Checks beyond the schema: can the staff ever clear the load? (a warning, not an error)."""

from __future__ import annotations

import numpy as np

from ..world.compiled import Demand, compile_demand
from .schema import Scenario


def offered_load(scenario: Scenario, demand: Demand | None = None
                 ) -> dict[str, tuple[float, float]]:
    """Per department: (first-pass offered staff-hours per hour, staff-hours on duty per hour).

    Counts each problem that is ever reported once, at its owner, with the catalogue's mean
    handling time plus response time; repeats, transfers and co-handling add to this, so the
    real load is higher. Used for the "can never clear" warning of `cogov validate`. The rates
    and the staff on duty are the World's (`Demand`, nothing built).
    """
    demand = demand if demand is not None else compile_demand(scenario)
    rates = demand.rates()
    gw = scenario.grid_workers
    detects = (gw.per_grid + gw.extra_forces_per_grid) > 0 and gw.patrol_hours_per_day > 0
    load: dict[str, float] = {c: 0.0 for c in scenario.departments}
    for code, cat in scenario.catalogue.items():
        per_hour = rates[code]
        p_seen = min(1.0, cat.p_report * scenario.citizens.report_propensity)
        det = gw.detection_prob_by_family.get(cat.family, gw.detection_prob)
        if detects and det > 0:
            p_seen = 1.0
        owner = scenario.departments[cat.owner]
        load[cat.owner] += per_hour * p_seen * (cat.handling.expected + owner.response_hours)
    return {code: (load[code], d.staff * demand.duty_per_staff[code])
            for code, d in scenario.departments.items()}


TARGET_UTILISATION = 0.85    # what a staffing suggestion aims at (room for peaks and repeats)


def suggested_staff(demand: Demand, code: str, offered: float) -> int:
    """The `staff` of department `code` that keeps first-pass utilisation at
    TARGET_UTILISATION."""
    per = demand.duty_per_staff[code]
    return int(np.ceil(offered / (per * TARGET_UTILISATION))) if per > 0 else 0


def load_warnings(scenario: Scenario) -> list[str]:
    """Warnings for `cogov validate` and `cogov run`: settings that are legal but probably not
    what the user meant, and loads the staff can never clear."""
    from ..policies import ROUTING

    warnings = []
    if scenario.main_co.enabled and not ROUTING.lookup(scenario.routing.policy).platform_led:
        warnings.append(f"main_co.enabled: main/co-handling needs a platform-led routing policy "
                        f"(territorial); with routing.policy {scenario.routing.policy!r} it has "
                        f"no effect (linkage.enabled gives joint action without the platform)")
    demand = compile_demand(scenario)
    for code, (offered, capacity) in offered_load(scenario, demand).items():
        if offered <= 0:
            continue
        if capacity <= 0 or offered >= capacity:
            util = offered / capacity if capacity > 0 else float("inf")
            need = suggested_staff(demand, code, offered)
            staff = scenario.departments[code].staff
            warnings.append(
                f"departments.{code}: the staff can never clear the load: first-pass "
                f"utilisation {util:.2f} >= 1 ({offered:.1f} staff-hours of work per hour, "
                f"{capacity:.1f} staff on duty on average), so its backlog grows all run and "
                f"averages depend on the run length; about {need} staff (now {staff:g}) keep "
                f"it near {TARGET_UTILISATION:.0%}: --set departments.{code}.staff={need}, "
                f"or lengthen its shift, or lower the incidence of its categories")
    return warnings
