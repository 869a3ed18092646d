"""The engine of one scenario and one seed: the kernel's `Lifecycle` filled in from the
compiled World (`sim.world.compiled`), with its units, random streams and mechanisms. Compiled
with mypyc together with the kernel and the mechanisms (see setup.py); the same source runs as
plain Python where no compiler is available (`sim.engine_info`).

Where things are: the calendar, entities and a case's life in `sim.kernel`; the mechanisms in
`sim.mechanisms`; the numbers in the World. This module only assembles them (docs/design.md).
"""

from __future__ import annotations

import math
from typing import Any

from .kernel.calendar import MAX_CHANNELS
from .kernel.entities import (  # noqa: F401  (the stable import path of the entities)
    CO,
    DUAL,
    MAIN,
    NO_CASE,
    ONSITE,
    OPEN_CASE,
    OUTCOMES,
    RESOLVED,
    RESOLVING,
    TASK_KINDS,
    TRIAGE,
    VISIT,
    Case,
    Problem,
    Task,
    Unit,
)
from .kernel.hooks import Mechanism
from .kernel.ledger import Ledger
from .kernel.lifecycle import Lifecycle, resolution_probability  # noqa: F401
from .streams import Sampler, Uniforms


class Engine(Lifecycle):
    """The case-lifecycle engine of one scenario and one seed, built from its World. Time is in
    hours from `run.start_date` 00:00. Built by `sim.model.GovernanceModel`."""

    world: Any
    scenario: Any
    seed: int
    streams: dict[str, Any]
    layout: Any
    n_streets: int
    cat_codes: list[str]
    cat_index: dict[str, int]
    channel_codes: list[str]
    citizen_channels: list[int]
    others: dict[str, list[str]]
    seconded: dict[str, int]
    deadline: list[float]
    incentives: Any
    routing: Any
    u_followup: Uniforms
    u_recur: Uniforms
    report_delay: Sampler
    coordination: Sampler
    u_citizen: Uniforms
    u_grid: Uniforms

    def __init__(self, world: Any, seed: int, streams: dict[str, Any], incentives: Any) -> None:
        super().__init__(world.horizon, Ledger(world.warmup, list(world.departments)))
        w = world
        s = w.scenario
        self.world = w
        self.incentives = incentives
        self.scenario = s
        self.seed = seed
        self.streams = streams
        self.layout = w.layout
        self.routing = None
        self.n_streets = w.n_streets
        self.grid_street = list(w.grid_street)
        # catalogue, channels
        self.cat_codes = list(w.cat_codes)
        self.cats = list(w.cats)
        self.cat_index = dict(w.cat_index)
        self.channel_codes = list(w.channel_codes)
        self.channel_kinds = list(w.channel_kinds)
        self.citizen_channels = list(w.citizen_channels)
        self.patrol_channel = w.patrol_channel
        self.petition_channel = w.petition_channel
        if len(self.channel_codes) > MAX_CHANNELS:   # see kernel.calendar.far_pack
            raise ValueError(f"at most {MAX_CHANNELS} channels are supported")
        self._build_units(w)
        # per category
        self.owner = list(w.owner)
        self.co = [list(x) for x in w.co]
        self.p_resolve0 = list(w.p_resolve)
        self.p_complex = list(w.p_complex)
        self.co_need = list(w.co_need)
        self.nonpolice = list(w.nonpolice)
        self.p_grid_settle = list(w.p_grid_settle)
        self.late_after = list(w.late_after)
        self.deadline = list(w.deadline)
        self.hazard = list(w.hazard)
        self.set_boosts(w.boosts, len(w.cats))
        self.max_repeats = int(s.citizens.repeat.max_repeats)
        self.solo_factor = float(s.main_co.p_resolve_solo_factor)
        self.dual_factor = float(s.dispatch.dual_p_resolve_factor)
        # random streams used on the hot path
        rs = streams
        pf = s.platform
        self.handling = [Sampler(c.handling, rs["handling"]) for c in self.cats]
        self.u_outcome = Uniforms(rs["outcome"])
        self.u_followup = Uniforms(rs["followup"])
        self.u_recur = Uniforms(rs["recurrence"])
        self.patience = Sampler(s.citizens.repeat.patience, rs["patience"])
        self.report_delay = Sampler(s.citizens.report_delay, rs["report_delay"])
        self.u_redetect = Uniforms(rs["redetect"])
        self.coordination = Sampler(s.main_co.coordination_delay, rs["coordination"])
        self.u_complex = Uniforms(rs["complexity"])
        self.u_citizen = Uniforms(rs["citizen"])
        self.u_grid = Uniforms(rs["grid"])
        self.triage_time = Sampler(pf.triage_hours, rs["triage"])
        self.hotline_time = Sampler(pf.hotline_hours, rs["triage"])

    def _build_units(self, w: Any) -> None:
        """Department units, grid workers and dispatch desks, as the World's organisation says."""
        s = w.scenario
        self.units = {}
        self.dept_level = dict(w.dept_level)
        self.seconded = dict(w.seconded)
        for spec in w.units:
            dept = s.departments[spec.code]
            u = Unit(self, spec.code, spec.street, -1, spec.staff, w.windows[spec.code], dept)
            u.is_police = bool(dept.is_police)
            u.response = float(dept.response_hours)
            self.units[(spec.code, spec.street)] = u
        self.owner_units = []
        for k in range(len(w.cat_codes)):
            owner = w.owner[k]
            tier3 = int(w.cats[k].tier) == 3 and self.dept_level[owner] == "split"
            self.owner_units.append([self.units[(owner, -1)] if tier3 else self.unit(owner, st)
                                     for st in range(self.n_streets)])
        self.others = {c: list(v) for c, v in w.others.items()}
        self.police_code = w.police_code
        gw = s.grid_workers
        workers = float(gw.per_grid + gw.extra_forces_per_grid)
        servers = max(1, math.ceil(workers)) if workers > 0 else 0
        frac = servers / workers if workers > 0 else 1.0
        day_share = gw.followup_hours_per_day / 24.0
        self.grid_workers = []
        for g in w.layout.grids:
            u = Unit(self, "grid", int(g.street), int(g.index), servers, None, gw)
            u.workers = workers
            # elapsed hours per visit (inf if no time is set aside for follow-ups)
            u.visit_elapsed = gw.visit_hours / day_share * frac if day_share > 0 else math.inf
            u.visit_hours = float(gw.visit_hours)
            self.grid_workers.append(u)
        self.citizen_complaints = [0] * len(self.grid_workers)
        # dispatch desks: street platforms (分中心) and the district 12345 operators
        pf = s.platform
        self.desks = {}
        for st in range(self.n_streets):
            if pf.triage_staff > 0:
                self.desks[st] = Unit(self, "platform", st, -1, int(pf.triage_staff), None, pf)
        if pf.hotline_staff > 0:
            self.desks[-1] = Unit(self, "hotline", -1, -1, int(pf.hotline_staff), None, pf)

    def attach(self, routing: Any, platforms: dict[int, Any], citizens: list[Any],
               grid_agents: list[Any], mechanisms: list[type]) -> None:
        """Wire in the routing policy, the agents (Mesa) and the mechanism classes."""
        self.routing = routing
        mechs: list[Mechanism] = [cls(self, self.world) for cls in mechanisms]
        self.plug(routing, platforms, citizens, grid_agents, mechs)

    # ------------------------------------------------------------------ records
    def agency_names(self) -> list[str]:
        """Who can own a case: the departments, then the grid; "" = nobody yet."""
        names = list(self.ledger.dept_hours)
        return names + [x for x in ("grid", "") if x not in names]

    def case_columns(self, start: int = 0, stop: int = -1) -> dict[str, list[Any]]:
        """Cases `start` to `stop` (case ids; -1: to the end) as columns, one pass over them
        (see `sim.records`, which reads the table in slices so that these lists stay small).
        `outcome` and `agency` are codes: indices into `OUTCOMES` and into `agency_names()`."""
        outcome_code = {o: i for i, o in enumerate(OUTCOMES)}
        agency_code = {a: i for i, a in enumerate(self.agency_names())}
        cases = self.cases
        if stop < 0 or stop > len(cases):
            stop = len(cases)
        ids: list[int] = []
        pids: list[int] = []
        ks: list[int] = []
        streets: list[int] = []
        grids: list[int] = []
        opened: list[float] = []
        dispatched: list[float] = []
        started: list[float] = []
        closed: list[float] = []
        outcome: list[int] = []
        agency: list[int] = []
        transfers: list[int] = []
        dissatisfied: list[bool] = []
        for i in range(start, stop):
            c = cases[i]
            ids.append(c.id)
            pids.append(c.pid)
            ks.append(c.k)
            streets.append(c.street)
            grids.append(c.grid)
            opened.append(c.opened)
            dispatched.append(c.dispatched)
            started.append(c.started)
            closed.append(c.closed)
            outcome.append(outcome_code[c.outcome])
            u = c.unit
            agency.append(agency_code[u.code if u is not None else c.agency])
            transfers.append(c.transfers)
            dissatisfied.append(c.dissatisfied)
        return {"case_id": ids, "problem_id": pids, "k": ks, "street": streets, "grid": grids,
                "opened": opened, "dispatched": dispatched, "started": started,
                "closed": closed, "outcome": outcome, "agency": agency,
                "transfers": transfers, "dissatisfied": dissatisfied}
