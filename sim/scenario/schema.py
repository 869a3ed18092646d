"""The scenario schema: the one source of truth for scenario files, `--set`, validation and docs.

Every field has a type, a default and a description with its unit. `docs/scenario-reference.md`
is generated from these models (`python -m sim.scenario.docgen`) and a test fails when it is stale.

Units: times in **hours** unless the name ends in `_days`; rates are **per year** per 1,000
residents (`incidence_per_1000_per_year`) or as named; probabilities are in [0, 1].
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Pos = Annotated[float, Field(gt=0.0)]
Seed = Annotated[int, Field(ge=0)]

#: limits on values that are finite but absurd (each message says why)
MAX_STAFF = 100_000          # staff of one unit; the largest real bureau has a few thousand
MAX_HORIZON_DAYS = 36_500    # 100 years; problems are drawn for the whole horizon in advance
MAX_TIMESERIES_ROWS = 200_000  # time-series snapshots of one run, all kept in memory

LAND_USES = ("residential", "commercial", "market", "school", "construction", "industrial",
             "public")
FAMILIES = ("police", "non_police", "urban_management", "market", "traffic", "safety",
            "environment", "health", "labour", "housing", "water")


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              allow_inf_nan=False)


class Distribution(Strict):
    """A positive duration distribution, in hours.

    `exponential` uses `mean`; `lognormal` and `gamma` use `mean` and `cv` (coefficient of
    variation, standard deviation / mean); `empirical` resamples `values` (hours) uniformly.
    """

    kind: Literal["exponential", "lognormal", "gamma", "empirical", "fixed"] = Field(
        "exponential", description="distribution family")
    mean: Pos = Field(1.0, description="mean, hours (ignored by `empirical`)")
    cv: Pos = Field(1.0, description="coefficient of variation (lognormal, gamma)")
    values: list[Pos] | None = Field(None, description="observed values, hours (empirical only)")

    @model_validator(mode="after")
    def _empirical_needs_values(self):
        if self.kind == "empirical" and not self.values:
            raise ValueError("kind 'empirical' needs a non-empty `values` list (hours)")
        return self

    @property
    def expected(self) -> float:
        """Mean in hours."""
        if self.kind == "empirical":
            return float(sum(self.values) / len(self.values))
        return float(self.mean)


# ---------------------------------------------------------------- district
class Grid(Strict):
    """A grid (网格): the patrol unit of one grid worker team."""

    name: str = Field(description="grid name, unique within its street")
    population: Annotated[int, Field(ge=0)] = Field(description="residents")
    land_use: dict[str, Prob] = Field(
        default_factory=lambda: {"residential": 1.0},
        description="land-use shares (residential, commercial, market, school, construction, "
                    "industrial, public); must sum to 1")

    @field_validator("land_use")
    @classmethod
    def _mix(cls, v):
        return _check_mix(v)


class Street(Strict):
    """A street or large community (街道/大社区) with its grids."""

    name: str = Field(description="street name (English or pinyin)")
    name_zh: str = Field("", description="Chinese name")
    grids: list[Grid] = Field(min_length=1, description="the street's grids")


class DistrictSpec(Strict):
    """Compact spec: generate streets and grids from a few numbers (deterministic in `seed`)."""

    streets: Annotated[int, Field(ge=1)] = Field(10, description="number of streets")
    grids_per_street: Annotated[int, Field(ge=1)] = Field(100, description="grids per street")
    population: Annotated[int, Field(ge=1)] = Field(1_200_000, description="total residents")
    population_cv: NonNeg = Field(0.3, description="coefficient of variation of grid population")
    street_weights: list[Pos] = Field(
        default_factory=list, description="optional relative population of each street, in "
                                          "order (empty = streets alike)")
    land_use_mix: dict[str, Prob] = Field(
        default_factory=lambda: {"residential": 0.7, "commercial": 0.12, "market": 0.04,
                                 "school": 0.05, "construction": 0.04, "public": 0.05},
        description="district-wide land-use shares; each grid draws its mix around these")
    mix_concentration: Pos = Field(
        20.0, description="Dirichlet concentration of a grid's mix around the district mix "
                          "(higher = grids more alike)")
    street_names: list[str] = Field(default_factory=list,
                                    description="optional names for the streets, in order")
    street_names_zh: list[str] = Field(default_factory=list,
                                       description="optional Chinese names, in order")
    seed: Seed = Field(2019, description="seed of the generator (the layout, not the run); "
                                         "a whole number >= 0")

    @model_validator(mode="after")
    def _weights(self):
        if self.street_weights and len(self.street_weights) != self.streets:
            raise ValueError(f"street_weights: {len(self.street_weights)} weights for "
                             f"{self.streets} streets (give one per street, or none)")
        return self

    @field_validator("land_use_mix")
    @classmethod
    def _mix(cls, v):
        return _check_mix(v)


class District(Strict):
    """The district: streets listed explicitly, or generated from `generate`."""

    name: str = Field("district", description="district name")
    name_zh: str = Field("", description="Chinese name")
    streets: list[Street] | None = Field(None, description="explicit streets (or use `generate`)")
    generate: DistrictSpec | None = Field(None, description="compact generator spec")

    @model_validator(mode="after")
    def _one_of(self):
        if (self.streets is None) == (self.generate is None):
            raise ValueError("give exactly one of `streets` (explicit) or `generate` "
                             "(compact spec)")
        return self


# ---------------------------------------------------------------- catalogue
class DemandProfile(Strict):
    """How one category's arrival rate varies in time (fitted by `cogov calibrate`).

    rate(t) = base rate x `hour_of_week`[hour of the week] x `month`[calendar month] x
    (1 + `trend_per_year`) ** (years from `reference_date`), where the base rate is the one
    `incidence_per_1000_per_year` gives. The weights have mean 1, so the base rate is the mean
    over a week and a year at the reference date. Arrivals are drawn by thinning (a
    non-homogeneous Poisson process); a category with a profile ignores `citizens.
    hour_of_day_weights` and `day_of_week_weights`.
    """

    hour_of_week: list[NonNeg] | None = Field(
        None, description="168 relative weights, Monday 00:00-01:00 first, mean 1 (None = flat)")
    month: list[NonNeg] | None = Field(
        None, description="12 relative weights, January first, mean 1 (None = no season)")
    trend_per_year: Annotated[float, Field(gt=-1.0, le=10.0)] = Field(
        0.0, description="relative change of the rate per year (0.05 = +5% a year)")
    reference_date: _dt.date | None = Field(
        None, description="date where the trend factor is 1 (None = run.start_date)")

    @field_validator("hour_of_week")
    @classmethod
    def _how(cls, v):
        if v is not None and (len(v) != 168 or sum(v) <= 0):
            raise ValueError("needs 168 non-negative weights (Monday 00:00 first) with a "
                             "positive sum")
        return v

    @field_validator("month")
    @classmethod
    def _month(cls, v):
        if v is not None and (len(v) != 12 or sum(v) <= 0):
            raise ValueError("needs 12 non-negative weights (January first) with a positive "
                             "sum")
        return v


class Category(Strict):
    """A case category: what problem, who owns it, how long it takes, how often it occurs."""

    name: str = Field(description="English name")
    name_zh: str = Field("", description="Chinese name")
    family: str = Field(description="family: " + ", ".join(FAMILIES))
    group: str = Field("", description="parent group (e.g. one of the 4 non-police categories)")
    owner: str = Field(description="code of the owning department (a key of `departments`)")
    co_handlers: list[str] = Field(default_factory=list,
                                   description="departments whose powers the case also needs")
    tier: Annotated[int, Field(ge=1, le=3)] = Field(
        1, description="handling tier: 1 = street team alone, 2 = street with district support, "
                       "3 = district level")
    handling: Distribution = Field(default_factory=Distribution,
                                   description="staff hours of one handling")
    p_resolve: Prob = Field(0.8, description="probability one handling truly resolves the problem")
    recurrence_prob: Prob = Field(0.0, description="probability a resolved problem comes back")
    recurrence_mean_days: Pos = Field(90.0, description="mean delay before it comes back, days")
    incidence_per_1000_per_year: dict[str, NonNeg] = Field(
        default_factory=dict,
        description="new problems per 1,000 residents per year by land use; key `default` "
                    "applies to uses not listed")
    p_report: Prob = Field(0.6, description="probability an affected citizen ever reports it")
    channel_weights: dict[str, NonNeg] | None = Field(
        None, description="relative use of each channel for this category (overrides "
                          "`channels.*.propensity`)")
    police_on_site: bool = Field(
        False, description="police act on site when it reaches 110 (the non-police list)")
    p_unsettled_after_police: Prob = Field(
        0.0, description="probability on-site police action closes it without settling it "
                         "(案结事未了)")
    police_onsite_hours: Pos = Field(1.0, description="police staff hours per on-site action")
    handback: bool | None = Field(
        None, description="hand this category back to the grid when police leave it unsettled; "
                          "None follows `handback.enabled`")
    p_grid_settle: Prob = Field(
        0.0, description="probability a grid worker settles it on the spot or at a follow-up "
                         "visit by mediation")
    deadline_hours: Pos = Field(120.0, description="time limit to close (for on-time metrics)")
    demand: DemandProfile | None = Field(
        None, description="arrival rate varying in time (hour of week, season, trend); None = "
                          "constant, shaped only by the citizens' hour/weekday weights")
    p_complex: Prob = Field(
        0.35, description="share of this category's cases that need the co-handlers' powers "
                          "(drawn per case); only such cases are handled jointly (main/co or "
                          "linkage), and without joint handling their co-handlers' part of the "
                          "work is left undone")
    co_need_share: Prob = Field(
        0.5, description="a complex case's work for each co-handler, as a share of the owner's "
                         "handling hours (what the problem needs, whatever the setup); joint "
                         "handling covers it with `main_co.co_share` or `linkage.co_share` of "
                         "the owner's hours")
    via_platform: bool | None = Field(
        None, description="under `territorial` routing: True = cases pass the street platform's "
                          "triage desk, False = straight to the owner; None follows the policy")

    @field_validator("incidence_per_1000_per_year")
    @classmethod
    def _uses(cls, v):
        unknown = [k for k in v if k != "default" and k not in LAND_USES]
        if unknown:
            raise ValueError(f"unknown land use {unknown} (use `default` or one of "
                             f"{', '.join(LAND_USES)})")
        return v

    @property
    def multi_department(self) -> bool:
        return bool(self.co_handlers)


# ---------------------------------------------------------------- channels, departments
class Channel(Strict):
    """A way a complaint reaches government: 12345 hotline, 110, grid patrol, app/walk-in."""

    name: str = Field(description="English name")
    name_zh: str = Field("", description="Chinese name")
    kind: Literal["hotline", "police", "patrol", "app", "petition"] = Field(
        description="how sectoral routing treats it: hotline = operator picks a department; "
                    "police = goes to the police station; patrol = grid report; app = as "
                    "hotline; petition = 信访, routed as hotline with priority, reached only by "
                    "escalation")
    propensity: NonNeg = Field(1.0, description="relative share of citizen reports "
                                                "(patrol: unused)")


class Shift(Strict):
    """Working hours: staff work only between `start_hour` and `end_hour` on `days`; a task
    under way pauses at the end of the shift and resumes at the next start."""

    start_hour: Annotated[float, Field(ge=0, lt=24)] = Field(0.0, description="hour of day")
    end_hour: Annotated[float, Field(gt=0, le=24)] = Field(24.0, description="hour of day")
    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5, 6], min_length=1,
        description="working weekdays (0 = Monday)")

    @model_validator(mode="after")
    def _order(self):
        if self.end_hour <= self.start_hour:
            raise ValueError("end_hour must be after start_hour")
        return self

    @property
    def always(self) -> bool:
        return self.start_hour == 0 and self.end_hour == 24 and len(set(self.days)) == 7


class Department(Strict):
    """A department: a street-level team (one unit per street) or one district-level pool."""

    name: str = Field(description="English name")
    name_zh: str = Field("", description="Chinese name")
    level: Literal["street", "district"] = Field(
        "street", description="street: one team per street with `staff` each; district: one pool")
    staff: Annotated[int, Field(ge=0)] = Field(
        4, description="staff on duty at once (per street team, or in the district pool); "
                       f"at most {MAX_STAFF:,}")
    shift: Shift = Field(default_factory=Shift, description="working hours")
    response_hours: NonNeg = Field(0.0, description="travel/response time added to every task's "
                                                   "staff hours, hours")
    is_police: bool = Field(False, description="the police station (派出所): receives 110 calls")
    jurisdiction: list[str] = Field(default_factory=list,
                                    description="families it can act on (documentation only)")
    seconded_share: Prob = Field(
        0.0, description="district pools only: share of the pool's staff seconded to street "
                         "teams (split evenly) when the street holds assessment (区属、街管、"
                         "街用); the street teams then take tier 1-2 cases, the pool tier 3")

    @field_validator("staff")
    @classmethod
    def _staff(cls, v):
        return _check_staff(v)


class Patience(Strict):
    """Citizens' patience and behaviour while a problem stays unresolved."""

    patience: Distribution = Field(
        default_factory=lambda: Distribution(kind="exponential", mean=72.0),
        description="time after a complaint before complaining again if not fixed, hours")
    p_complain_again: Prob = Field(0.7, description="probability of complaining again when "
                                                     "patience runs out (else gives up)")
    max_repeats: Annotated[int, Field(ge=0)] = Field(
        5, description="at most this many repeat complaints per problem")
    switch_channel_prob: Prob = Field(0.3, description="probability a repeat uses another channel")


class Escalation(Strict):
    """Citizens escalate to a higher channel after repeated failures (12345 -> 110 -> 信访)."""

    ladder: list[str] = Field(
        default_factory=lambda: ["hotline_12345", "police_110", "petition"],
        description="channel codes from lowest to highest; codes the scenario lacks are skipped")
    after_failures: Annotated[int, Field(ge=1)] = Field(
        2, description="citizen complaints about one problem before a citizen considers going up")
    p_escalate: Prob = Field(0.25, description="probability a repeat goes one rung up the "
                                               "ladder once `after_failures` is reached")


class Citizens(Strict):
    """Citizens (居民): reporting and repeat-complaint behaviour."""

    report_propensity: Prob = Field(1.0, description="multiplier on each category's `p_report`")
    report_delay: Distribution = Field(
        default_factory=lambda: Distribution(kind="exponential", mean=24.0),
        description="time from a problem arising to the first citizen report, hours")
    repeat: Patience = Field(default_factory=Patience, description="repeat-complaint behaviour")
    escalation: Escalation = Field(default_factory=Escalation,
                                   description="escalation to higher channels")
    satisfaction_extra_hours: NonNeg = Field(
        0.0, description="a resolved case closed later than deadline + this is still "
                         "dissatisfying")
    hour_of_day_weights: list[NonNeg] | None = Field(
        None, description="24 relative weights of problem arrivals by hour of day (None = flat)")
    day_of_week_weights: list[NonNeg] | None = Field(
        None, description="7 relative weights by weekday, Monday first (None = flat)")

    @field_validator("hour_of_day_weights")
    @classmethod
    def _hod(cls, v):
        if v is not None and (len(v) != 24 or sum(v) <= 0):
            raise ValueError("needs 24 non-negative weights with a positive sum")
        return v

    @field_validator("day_of_week_weights")
    @classmethod
    def _dow(cls, v):
        if v is not None and (len(v) != 7 or sum(v) <= 0):
            raise ValueError("needs 7 non-negative weights with a positive sum")
        return v


class GridWorkers(Strict):
    """Grid workers (网格员): patrol, report, mediate, follow up."""

    per_grid: Annotated[int, Field(ge=0)] = Field(1, description="grid workers per grid")
    extra_forces_per_grid: NonNeg = Field(
        0.0, description="extra capacity in worker-equivalents (四员一律, market-based forces)")
    patrol_hours_per_day: Annotated[float, Field(ge=0, le=24)] = Field(
        4.0, description="patrol hours per worker per day")
    full_patrol_hours: Pos = Field(4.0, description="hours to patrol a whole grid once")
    detection_prob: Prob = Field(
        0.0, description="probability one full patrol detects a present problem (default for "
                         "all families)")
    detection_prob_by_family: dict[str, Prob] = Field(
        default_factory=dict, description="overrides of `detection_prob` by family")
    followup_hours_per_day: Annotated[float, Field(ge=0, le=24)] = Field(
        2.0, description="hours per worker per day for follow-up visits")
    visit_hours: Pos = Field(1.0, description="staff hours of one follow-up visit")
    workday_hours: Annotated[float, Field(gt=0, le=24)] = Field(
        6.0, description="a worker's daily time budget for patrol, follow-up visits and "
                         "mediation, hours; patrol gets what visits and mediation leave "
                         "(at most `patrol_hours_per_day`)")
    min_patrol_hours: Annotated[float, Field(ge=0, le=24)] = Field(
        1.0, description="patrol hours a worker keeps however busy, hours per day")
    mediation_hours: NonNeg = Field(0.5, description="staff hours of one on-the-spot mediation")


# ---------------------------------------------------------------- policies and mechanisms
class PolicyChoice(Strict):
    """A named policy from the registry with its parameters (validated by the policy)."""

    policy: str = Field(description="registry name")
    params: dict = Field(default_factory=dict, description="the policy's parameters")


class WeightedPolicy(PolicyChoice):
    weight: NonNeg = Field(1.0, description="weight when several assessment policies combine")


class Routing(PolicyChoice):
    """How a complaint becomes a case at a department (`direct`, `sectoral`, `territorial`)."""

    policy: str = Field("direct", description="routing policy name "
                                              "(see docs/scenario-reference.md)")


class Assessment(Strict):
    """How departments are assessed (考核); several policies combine by weight."""

    policies: list[WeightedPolicy] = Field(
        default_factory=list, description="assessment policies with weights; empty = `none`")


class MainCo(Strict):
    """Main/co-handling (主协办) for categories with co-handlers."""

    enabled: bool = Field(False, description="co-handlers contribute staff time to a joint case")
    co_share: Prob = Field(0.5, description="co-handler staff hours as a share of the main "
                                            "handler's")
    coordination_delay: Distribution = Field(
        default_factory=lambda: Distribution(kind="exponential", mean=48.0),
        description="time for co-handlers to join, hours")
    p_resolve_solo_factor: Prob = Field(
        1.0, description="assumed extra effect (neutral 1.0): without joint handling, a "
                         "complex case's chance of true resolution is also multiplied by this "
                         "(the mechanism is the co-handlers' work left undone)")


class Dispatch(Strict):
    """Dispatch mode per category: `dual` (police and street team attend) or `single`."""

    default_mode: Literal["single", "dual"] = Field("single", description="mode for all "
                                                                          "categories")
    modes: dict[str, Literal["single", "dual"]] = Field(
        default_factory=dict, description="per-category overrides, by category code")
    dual_families: list[str] = Field(
        default_factory=list, description="families dispatched dual unless overridden")
    police_hours_share: Prob = Field(
        1.0, description="in dual mode, police staff hours as a share of the case's handling")
    dual_p_resolve_factor: Prob = Field(
        1.0, description="assumed extra effect (neutral 1.0): in dual mode, the chance of true "
                         "resolution is multiplied by this (two agencies on site, neither owns "
                         "the outcome); the mechanism is the police time dual dispatch takes")


class Handback(Strict):
    """Two-way flow (双向流转): police close a non-police matter; the grid follows it up."""

    enabled: bool = Field(False, description="unsettled police cases go to grid follow-up")
    followup_limit: Annotated[int, Field(ge=1)] = Field(3, description="visits before giving up")
    followup_interval_hours: NonNeg = Field(48.0, description="between visits, hours")
    p_redispatch: Prob = Field(0.5, description="probability a visit that does not settle it "
                                                "re-dispatches it to the owner department")


class Linkage(Strict):
    """Routine linkage (常态化联动): joint action when a case needs another department's powers."""

    enabled: bool = Field(False, description="co-handlers join even outside main/co routing")
    co_share: Prob = Field(0.3, description="the partner's staff hours as share of the owner's")
    delay_hours: NonNeg = Field(24.0, description="time to organise the joint action, hours")


class Campaign(Strict):
    """A special campaign (专项整治): extra pooled capacity and priority in a window."""

    name: str = Field(description="campaign name")
    name_zh: str = Field("", description="Chinese name")
    start_day: NonNeg = Field(description="first day (from run start)")
    end_day: Pos = Field(description="day it ends")
    categories: list[str] = Field(default_factory=list, description="category codes (empty = all)")
    streets: list[str] = Field(default_factory=list, description="street names (empty = all)")
    extra_staff: Annotated[int, Field(ge=0)] = Field(
        2, description="extra staff per targeted street team during the window")

    @field_validator("extra_staff")
    @classmethod
    def _staff(cls, v):
        return _check_staff(v)
    priority: bool = Field(True, description="campaign cases jump the queue")
    detection_boost: NonNeg = Field(1.0, description="multiplier on grid detection hazard for "
                                                     "targeted categories")

    @model_validator(mode="after")
    def _window(self):
        if self.end_day <= self.start_day:
            raise ValueError("end_day must be after start_day")
        return self


class Platform(Strict):
    """Dispatch desks (分拨): the street sub-center platforms and the district 12345 operators.

    Each is a queue with its own staff; triaging a case takes staff time, so an understaffed
    desk is a bottleneck."""

    triage_staff: Annotated[int, Field(ge=0)] = Field(
        3, description="staff triaging at once at each street platform (0 = no desk: cases go "
                       "straight on)")
    triage_hours: Distribution = Field(
        default_factory=lambda: Distribution(kind="exponential", mean=0.15),
        description="staff hours to triage and dispatch one case at a street platform")
    hotline_staff: Annotated[int, Field(ge=0)] = Field(
        12, description="12345 operators dispatching at once for the district (0 = no desk)")
    hotline_hours: Distribution = Field(
        default_factory=lambda: Distribution(kind="exponential", mean=0.1),
        description="staff hours for the 12345 operator to dispatch one case")


class AgentChoice(Strict):
    """An agent's behaviour: a class chosen by name from the agent's registry, with parameters
    checked by that class (see docs/ODD.md, submodels)."""

    behaviour: str = Field("default", description="registry name of the behaviour class")
    params: dict = Field(default_factory=dict, description="the behaviour's parameters")


class Agents(Strict):
    """Which decision rules each kind of agent follows."""

    citizen: AgentChoice = Field(default_factory=AgentChoice, description="citizens")
    department: AgentChoice = Field(default_factory=AgentChoice, description="departments")
    grid_worker: AgentChoice = Field(default_factory=AgentChoice, description="grid workers")
    platform: AgentChoice = Field(default_factory=AgentChoice,
                                  description="dispatch platforms")


class Run(Strict):
    """Run control."""

    start_date: _dt.date = Field(_dt.date(2024, 1, 1), description="calendar date of hour 0")
    horizon_days: Pos = Field(365.0, description="simulated days, including warm-up; at most "
                                                 f"{MAX_HORIZON_DAYS:,} (100 years)")
    warmup_days: NonNeg = Field(30.0, description="days excluded from summary metrics")
    seed: Seed = Field(1, description="root seed of every random stream (a whole number >= 0)")
    collect_interval_hours: Pos = Field(
        24.0, description="time-series interval, hours; the horizon may hold at most "
                          f"{MAX_TIMESERIES_ROWS:,} intervals")
    repeat_window_days: Pos = Field(
        30.0, description="repeat window, days: a complaint about a problem whose case was "
                          "closed at most this many days before is a re-complaint (重复投诉, "
                          "`recomplaint_rate`); for `citizen_repeat_rate`, a citizen complaint "
                          "repeats one made within this many days before. 30 days as Chinese "
                          "12345 hotlines count repeats (a common 重复诉求 window)")

    @field_validator("horizon_days")
    @classmethod
    def _horizon(cls, v):
        if v > MAX_HORIZON_DAYS:
            raise ValueError(f"{v:g} days is more than {MAX_HORIZON_DAYS:,} (100 years): every "
                             f"problem of the horizon is drawn in advance, so such a run only "
                             f"exhausts memory: use at most {MAX_HORIZON_DAYS:,}")
        return v

    @field_validator("collect_interval_hours")
    @classmethod
    def _interval(cls, v, info: ValidationInfo):
        horizon = info.data.get("horizon_days")
        if horizon is not None and horizon * 24.0 / v > MAX_TIMESERIES_ROWS:
            least = horizon * 24.0 / MAX_TIMESERIES_ROWS
            raise ValueError(f"{v:g} h over {horizon:g} days is {horizon * 24.0 / v:,.0f} "
                             f"time-series snapshots, more than {MAX_TIMESERIES_ROWS:,} (each is "
                             f"an event of the run and a row kept in memory): use at least "
                             f"{least:.3g} h")
        return v

    @model_validator(mode="after")
    def _warm(self):
        if self.warmup_days >= self.horizon_days:
            raise ValueError("warmup_days must be shorter than horizon_days")
        return self


class Scenario(Strict):
    """A cogov scenario."""

    name: str = Field("scenario", description="short name (a code): file and column names")
    display_name: str = Field("", description="name shown in tables, figures and briefs "
                                              "(default: `name`)")
    display_name_zh: str = Field("", description="Chinese name shown in the Chinese brief "
                                                 "(default: `display_name`)")
    description: str = Field("", description="one paragraph: what this scenario represents")
    description_zh: str = Field("", description="the description in Chinese, for the Chinese "
                                                "brief (default: `description`)")
    district: District = Field(description="streets and grids")
    catalogue: dict[str, Category] = Field(min_length=1, description="categories by code")
    channels: dict[str, Channel] = Field(
        default_factory=lambda: {
            "hotline_12345": Channel(name="12345 hotline", name_zh="12345热线", kind="hotline",
                                     propensity=0.55),
            "police_110": Channel(name="110 police", name_zh="110报警", kind="police",
                                  propensity=0.3),
            "app": Channel(name="app / walk-in", name_zh="APP/来访", kind="app", propensity=0.15),
            "grid_patrol": Channel(name="grid patrol", name_zh="网格巡查", kind="patrol",
                                   propensity=0.0),
        },
        description="channels by code")
    departments: dict[str, Department] = Field(min_length=1, description="departments by code")
    citizens: Citizens = Field(default_factory=Citizens, description="citizen behaviour")
    grid_workers: GridWorkers = Field(default_factory=GridWorkers, description="grid workers")
    routing: Routing = Field(default_factory=Routing, description="routing policy")
    assessment: Assessment = Field(default_factory=Assessment, description="assessment policies")
    main_co: MainCo = Field(default_factory=MainCo, description="main/co-handling (主协办)")
    dispatch: Dispatch = Field(default_factory=Dispatch, description="single/dual dispatch")
    handback: Handback = Field(default_factory=Handback, description="police-grid handback")
    linkage: Linkage = Field(default_factory=Linkage, description="routine linkage")
    campaigns: list[Campaign] = Field(default_factory=list, description="special campaigns")
    platform: Platform = Field(default_factory=Platform, description="dispatch desks")
    agents: Agents = Field(default_factory=Agents, description="agents' decision rules")
    run: Run = Field(default_factory=Run, description="run control")

    @model_validator(mode="after")
    def _references(self):
        errors = []
        depts = self.departments
        for code, cat in self.catalogue.items():
            if cat.owner not in depts:
                errors.append(f"catalogue.{code}.owner: unknown department {cat.owner!r} "
                              f"(define it under `departments` or use one of {sorted(depts)})")
            elif depts[cat.owner].staff == 0:
                errors.append(f"catalogue.{code}.owner: department {cat.owner!r} has no staff "
                              f"(set departments.{cat.owner}.staff >= 1)")
            for co in cat.co_handlers:
                if co not in depts:
                    errors.append(f"catalogue.{code}.co_handlers: unknown department {co!r}")
            if cat.channel_weights:
                for ch in cat.channel_weights:
                    if ch not in self.channels:
                        errors.append(f"catalogue.{code}.channel_weights: unknown channel {ch!r}")
            if cat.family not in FAMILIES:
                errors.append(f"catalogue.{code}.family: unknown family {cat.family!r} "
                              f"(one of {', '.join(FAMILIES)})")
        for code in self.dispatch.modes:
            if code not in self.catalogue:
                errors.append(f"dispatch.modes.{code}: unknown category")
        for i, c in enumerate(self.campaigns):
            for code in c.categories:
                if code not in self.catalogue:
                    errors.append(f"campaigns.{i}.categories: unknown category {code!r}")
        if not any(d.is_police for d in depts.values()) and any(
                c.kind == "police" for c in self.channels.values()):
            errors.append("departments: a `police` channel exists but no department has "
                          "is_police: true")
        if errors:
            raise ValueError("; ".join(errors))
        return self


def _check_staff(v: int) -> int:
    if v > MAX_STAFF:
        raise ValueError(f"{v:,} staff is more than {MAX_STAFF:,}: no unit has that many (the "
                         f"largest city bureaus have a few thousand), so this is probably a "
                         f"typo: use at most {MAX_STAFF:,}")
    return v


def _check_mix(v: dict[str, float]) -> dict[str, float]:
    unknown = [k for k in v if k not in LAND_USES]
    if unknown:
        raise ValueError(f"unknown land use {unknown} (use {', '.join(LAND_USES)})")
    total = sum(v.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"land-use shares sum to {total:g}, must sum to 1")
    return v
