"""Checks beyond the schema: can the staff ever clear the load? (a warning, not an error)."""

from __future__ import annotations

import numpy as np

from .schema import LAND_USES, Scenario


def problem_rates(scenario: Scenario) -> dict[str, float]:
    """New problems per hour by category, from the incidences, the land-use mix and the
    population, without building the district (`district.land_use_shares`: exact for listed
    streets, the expectation for a generated district)."""
    from ..world.district import district_size, land_use_shares

    population = district_size(scenario.district)[2]
    shares = land_use_shares(scenario.district)
    out = {}
    for code, cat in scenario.catalogue.items():
        inc = np.array([cat.incidence_per_1000_per_year.get(
            u, cat.incidence_per_1000_per_year.get("default", 0.0)) for u in LAND_USES])
        out[code] = population / 1000.0 * float(shares @ inc) / (365.0 * 24.0)
    return out


def offered_load(scenario: Scenario) -> dict[str, tuple[float, float]]:
    """Per department: (first-pass offered staff-hours per hour, staff-hours on duty per hour).

    Counts each problem that is ever reported once, at its owner, with the catalogue's mean
    handling time plus response time; repeats, transfers and co-handling add to this, so the
    real load is higher. Used for the "can never clear" warning of `cogov validate`.
    """
    from ..world.district import district_size

    n_streets = district_size(scenario.district)[0]
    rates = problem_rates(scenario)
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
    out = {}
    for code, d in scenario.departments.items():
        out[code] = (load[code], d.staff * duty_per_staff(scenario, code, n_streets))
    return out


TARGET_UTILISATION = 0.85    # what a staffing suggestion aims at (room for peaks and repeats)


def duty_per_staff(scenario: Scenario, code: str, n_streets: int | None = None) -> float:
    """Staff on duty on average per unit of `departments.<code>.staff` (all its units)."""
    d = scenario.departments[code]
    if d.level == "street" and n_streets is None:
        from ..world.district import build_district

        n_streets = len(build_district(scenario.district).streets)
    units = n_streets if d.level == "street" else 1
    sh = d.shift
    return units * (sh.end_hour - sh.start_hour) / 24.0 * len(set(sh.days)) / 7.0


def suggested_staff(scenario: Scenario, code: str, offered: float,
                    n_streets: int | None = None) -> int:
    """The `staff` that keeps first-pass utilisation at TARGET_UTILISATION."""
    per = duty_per_staff(scenario, code, n_streets)
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
    for code, (offered, capacity) in offered_load(scenario).items():
        if offered <= 0:
            continue
        if capacity <= 0 or offered >= capacity:
            util = offered / capacity if capacity > 0 else float("inf")
            need = suggested_staff(scenario, code, offered)
            staff = scenario.departments[code].staff
            warnings.append(
                f"departments.{code}: the staff can never clear the load: first-pass "
                f"utilisation {util:.2f} >= 1 ({offered:.1f} staff-hours of work per hour, "
                f"{capacity:.1f} staff on duty on average), so its backlog grows all run and "
                f"averages depend on the run length; about {need} staff (now {staff:g}) keep "
                f"it near {TARGET_UTILISATION:.0%}: --set departments.{code}.staff={need}, "
                f"or lengthen its shift, or lower the incidence of its categories")
    return warnings
