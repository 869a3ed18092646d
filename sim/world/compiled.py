"""The world compiler: `compile_world(scenario) -> World`, the one place where a scenario turns
into the numbers a run uses: per-category tables, the organisation (units, with the seconded
split of district pools), channels, shift windows, patrol hazards, channel choice, campaigns.
The engine, the bulk problem draw and the mechanisms read the World; none of them reads the
scenario's numbers again.

The part that needs no district built is `Demand` (`compile_demand(scenario)`, also
`World.demand`): the district's size, the expected new problems per hour by category and the
staff on duty per unit of staff. The staffing checks (`sim/scenario/checks.py`) and the resource
estimate (`sim/resources.py`) read it: they must stay cheap for a district of any size, before
anything is built."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .district import DistrictLayout, build_district, district_size, land_use_shares
from .problems import channel_cdf, patrol_hazard


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """One department unit: a street team (`street` >= 0) or a district pool (-1)."""

    code: str
    street: int
    staff: int


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A special campaign (专项整治): hours, extra staff, priority; categories and streets as
    indices (empty: all)."""

    start: float
    end: float
    extra_staff: int
    priority: bool
    cats: tuple[int, ...]
    streets: tuple[int, ...]
    boost: float


@dataclass(frozen=True)
class Demand:
    """What a scenario asks of the organisation, without building the district."""

    n_streets: int
    grids: int
    population: int                     # residents
    cat_codes: tuple[str, ...]
    #: new problems per hour by category: incidence per 1,000 residents and year by land use,
    #: weighted by the district's land-use mix (`land_use_shares`: exact for listed streets,
    #: the expectation for a generated district)
    problem_rate: tuple[float, ...]
    #: department -> staff on duty on average per unit of its `staff` (all its units: a street
    #: department has one per street), from its shift
    duty_per_staff: dict

    def rates(self) -> dict[str, float]:
        """{category: new problems per hour}."""
        return dict(zip(self.cat_codes, self.problem_rate))


def compile_demand(scenario) -> Demand:
    """The layout-free numbers of `scenario` (see `Demand`)."""
    from ..scenario.schema import LAND_USES

    s = scenario
    n_streets, grids, population = district_size(s.district)
    shares = land_use_shares(s.district)
    rates = []
    for cat in s.catalogue.values():
        inc = np.array([cat.incidence_per_1000_per_year.get(
            u, cat.incidence_per_1000_per_year.get("default", 0.0)) for u in LAND_USES])
        rates.append(population / 1000.0 * float(shares @ inc) / (365.0 * 24.0))
    duty = {}
    for code, d in s.departments.items():
        units = n_streets if d.level == "street" else 1
        sh = d.shift
        duty[str(code)] = units * (sh.end_hour - sh.start_hour) / 24.0 * len(set(sh.days)) / 7.0
    return Demand(n_streets=n_streets, grids=grids, population=population,
                  cat_codes=tuple(str(c) for c in s.catalogue), problem_rate=tuple(rates),
                  duty_per_staff=duty)


@dataclass(frozen=True)
class World:
    """A compiled scenario: frozen tables, indexed by category `k`, channel, street, grid."""

    scenario: object
    layout: DistrictLayout
    horizon: float                      # hours
    warmup: float                       # hours
    n_streets: int
    grid_street: tuple[int, ...]
    windows: dict                       # department -> its shift windows (None: always on)
    # categories
    cat_codes: tuple[str, ...]
    cats: tuple                         # the Category records
    cat_index: dict
    owner: tuple[str, ...]
    co: tuple[tuple[str, ...], ...]
    p_resolve: tuple[float, ...]
    p_complex: tuple[float, ...]
    co_need: tuple[float, ...]
    nonpolice: tuple[bool, ...]
    police_on_site: tuple[bool, ...]
    onsite_hours: tuple[float, ...]
    p_unsettled: tuple[float, ...]
    p_grid_settle: tuple[float, ...]
    recur_prob: tuple[float, ...]
    recur_mean_h: tuple[float, ...]
    deadline: tuple[float, ...]
    late_after: tuple[float, ...]
    handback_on: tuple[bool, ...]
    dual: tuple[bool, ...]
    joint_possible: tuple[bool, ...]
    p_report: tuple[float, ...]         # chance an affected citizen reports (no learning)
    p_candidate: tuple[float, ...]      # its highest value under learning: the bulk draw's bound
    hazard: tuple[float, ...]           # patrol detection hazard per hour
    channel_cdf: tuple[tuple[float, ...], ...]
    # channels
    channel_codes: tuple[str, ...]
    channel_kinds: tuple[str, ...]
    citizen_channels: tuple[int, ...]
    patrol_channel: int
    petition_channel: int
    # organisation
    units: tuple[UnitSpec, ...]
    dept_level: dict                    # "street", "district" or "split"
    seconded: dict                      # department -> staff seconded to street teams
    others: dict                        # department -> the other staffed departments
    police_code: str | None
    departments: tuple[str, ...]
    # mechanisms
    platform_led: bool
    main_co_on: bool
    linkage_on: bool
    campaigns: tuple[CampaignSpec, ...]
    # the layout-free part (the staffing checks and the resource estimate read it)
    demand: Demand

    @property
    def boosts(self) -> list[tuple[float, float, list[int], list[int], float]]:
        """Campaigns' patrol detection boosts: (start h, end h, categories, streets, factor)."""
        return [(c.start, c.end, list(c.cats), list(c.streets), c.boost)
                for c in self.campaigns if c.boost != 1.0]


def shift_windows(scenario, sh) -> list[tuple[float, float]] | None:
    """Every working window (start, end) in hours over the run; None = round the clock."""
    if sh.always:
        return None
    wd0 = scenario.run.start_date.weekday()
    days = int(math.ceil(scenario.run.horizon_days)) + 8
    return [(d * 24.0 + sh.start_hour, d * 24.0 + sh.end_hour) for d in range(days)
            if (wd0 + d) % 7 in sh.days]


def _organisation(s, n_streets: int, street_assesses: bool):
    units, level_of, seconded = [], {}, {}
    for code, spec in s.departments.items():
        code = str(code)
        staff = int(spec.staff)
        level = str(spec.level)
        per_street = 0
        if level == "district" and street_assesses and spec.seconded_share > 0:
            # 区属、街管、街用: the seconded share of the pool moves to street teams
            per_street = int(round(staff * float(spec.seconded_share) / n_streets))
            if per_street > 0:
                staff = max(0, staff - per_street * n_streets)
                level = "split" if staff > 0 else "street"
                seconded[code] = per_street * n_streets
        level_of[code] = level
        if level in ("street", "split"):
            units += [UnitSpec(code, st, per_street if per_street > 0 else staff)
                      for st in range(n_streets)]
        if level != "street":
            units.append(UnitSpec(code, -1, staff))
    return tuple(units), level_of, seconded


def compile_world(scenario, layout: DistrictLayout | None = None,
                  citizen_class=None) -> World:
    """Compile `scenario` into a World. `layout` (default: built from `district`) and the
    citizen agent class (default: the scenario's `agents.citizen.behaviour`, whose
    `report_probability` gives the reporting chance per category) may be given."""
    from ..agents.registry import REGISTRIES
    from ..policies import ROUTING, combine

    s = scenario
    layout = layout if layout is not None else build_district(s.district)
    if citizen_class is None:
        citizen_class = REGISTRIES["citizen"].lookup(s.agents.citizen.behaviour)
    n_streets = len(layout.streets)
    street_assesses = bool(combine(s.assessment.policies).street_assesses)
    cat_codes = tuple(str(c) for c in s.catalogue)
    cats = tuple(s.catalogue[c] for c in cat_codes)
    cat_index = {c: i for i, c in enumerate(cat_codes)}
    channel_codes = tuple(str(c) for c in s.channels)
    channel_kinds = tuple(str(s.channels[c].kind) for c in channel_codes)
    citizen_channels = tuple(i for i, kd in enumerate(channel_kinds) if kd != "patrol")
    patrol = [i for i, kd in enumerate(channel_kinds) if kd == "patrol"]
    petition = [i for i, kd in enumerate(channel_kinds) if kd == "petition"]
    units, level_of, seconded = _organisation(s, n_streets, street_assesses)
    staffed = [str(c) for c, d in s.departments.items() if d.staff > 0]
    police = [str(c) for c, d in s.departments.items() if d.is_police]
    police_code = police[0] if police else None
    platform_led = bool(ROUTING.lookup(s.routing.policy).platform_led)
    main_co_on = bool(s.main_co.enabled and platform_led)
    joint = main_co_on or bool(s.linkage.enabled)
    d = s.dispatch
    dual = []
    for code, cat in zip(cat_codes, cats):
        default = "dual" if (cat.family in d.dual_families or d.default_mode == "dual") \
            else "single"
        dual.append(d.modes.get(code, default) == "dual"
                    and police_code is not None and cat.owner != police_code)
    extra = float(s.citizens.satisfaction_extra_hours)
    names = {str(x.name): int(x.index) for x in layout.streets}
    campaigns = tuple(CampaignSpec(
        c.start_day * 24.0, c.end_day * 24.0, int(c.extra_staff), bool(c.priority),
        tuple(cat_index[x] for x in c.categories), tuple(names[x] for x in c.streets),
        float(c.detection_boost)) for c in s.campaigns)
    cdf = channel_cdf(s, cats, list(channel_codes), list(channel_kinds), list(citizen_channels))
    p_rep = citizen_class.report_probability(s, cats)
    return World(
        scenario=s, layout=layout, horizon=s.run.horizon_days * 24.0,
        warmup=s.run.warmup_days * 24.0, n_streets=n_streets,
        grid_street=tuple(int(g.street) for g in layout.grids),
        windows={code: shift_windows(s, spec.shift) for code, spec in s.departments.items()},
        cat_codes=cat_codes, cats=cats, cat_index=cat_index,
        owner=tuple(str(c.owner) for c in cats),
        co=tuple(tuple(str(x) for x in c.co_handlers) for c in cats),
        p_resolve=tuple(float(c.p_resolve) for c in cats),
        p_complex=tuple(float(c.p_complex) if c.co_handlers else 0.0 for c in cats),
        co_need=tuple(float(c.co_need_share) for c in cats),
        nonpolice=tuple(c.family == "non_police" for c in cats),
        police_on_site=tuple(bool(c.police_on_site) for c in cats),
        onsite_hours=tuple(float(c.police_onsite_hours) for c in cats),
        p_unsettled=tuple(float(c.p_unsettled_after_police) for c in cats),
        p_grid_settle=tuple(float(c.p_grid_settle) for c in cats),
        recur_prob=tuple(float(c.recurrence_prob) for c in cats),
        recur_mean_h=tuple(float(c.recurrence_mean_days) * 24.0 for c in cats),
        deadline=tuple(float(c.deadline_hours) for c in cats),
        late_after=tuple(float(c.deadline_hours) + extra for c in cats),
        handback_on=tuple(bool(s.handback.enabled if c.handback is None else c.handback)
                          for c in cats),
        dual=tuple(dual),
        joint_possible=tuple(bool(c.co_handlers) and joint for c in cats),
        p_report=tuple(p_rep.tolist()),
        p_candidate=tuple(citizen_class.candidate_probability(
            s, cats, p_rep, s.agents.citizen.params).tolist()),
        hazard=tuple(patrol_hazard(s, cats).tolist()),
        channel_cdf=tuple(tuple(row) for row in cdf.tolist()),
        channel_codes=channel_codes, channel_kinds=channel_kinds,
        citizen_channels=citizen_channels, patrol_channel=patrol[0] if patrol else -1,
        petition_channel=petition[0] if petition else -1,
        units=units, dept_level=level_of, seconded=seconded,
        others={c: [o for o in staffed if o != c] or [c] for c in s.departments},
        police_code=police_code, departments=tuple(str(c) for c in s.departments),
        platform_led=platform_led, main_co_on=main_co_on, linkage_on=bool(s.linkage.enabled),
        campaigns=campaigns, demand=compile_demand(s))


def campaign_hazard(world: World, hz: np.ndarray, cat: np.ndarray, grid: np.ndarray,
                    t0: np.ndarray) -> np.ndarray:
    """The patrol hazards `hz` of problems (categories `cat`, grids `grid`, arisen at `t0`)
    times the campaigns' detection boosts (vectorised `Lifecycle.detection_boost`)."""
    hz = np.array(hz, dtype=float)      # a copy: the caller's hazards stay as they were
    street = None
    for start, end, cats, streets, factor in world.boosts:
        idx = np.flatnonzero((t0 >= start) & (t0 < end))   # the campaign's window first
        if cats and idx.size:
            idx = idx[np.isin(cat[idx], cats)]
        if streets and idx.size:
            if street is None:
                street = np.asarray(world.grid_street)[grid]
            idx = idx[np.isin(street[idx], streets)]
        hz[idx] = hz[idx] * factor
    return hz
