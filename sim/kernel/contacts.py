"""The problem side of a case's life: the problem table, citizens' reports and patrols'
detections (`contact`), the complaint log (`complaint`), citizens' patience and escalation, and
grid workers' settling on the spot. `sim.kernel.lifecycle.Lifecycle` adds the cases."""

from __future__ import annotations

from typing import Any, Final

from ..streams import Sampler, Uniforms
from .calendar import Calendar
from .entities import OPEN_CASE, RESOLVED, Case, Problem, Unit
from .ledger import Ledger
from .views import GridWorkerView

# the far events about a problem (see `Calendar.sched_far`)
EV_CONTACT: Final = 4      # a citizen reports: item pid, channel
EV_PATIENCE: Final = 5     # a citizen's patience runs out: item pid
EV_PATROL: Final = 12      # a patrol detects: item pid, channel


class Contacts(Calendar):
    """Problems, contacts and complaints on the calendar (the cases: `Lifecycle`)."""

    horizon: float
    warmup: float      # hours (the ledger's; read by agents through their unit's `eng`)
    ledger: Ledger
    grid_workers: list[Unit]
    grid_street: list[int]
    patrol_channel: int
    petition_channel: int
    p_grid_settle: list[float]
    hazard: list[float]
    boosts: list[tuple[float, float, list[int], list[int], float]]
    boosts_by_cat: list[list[tuple[float, float, list[int], list[int], float]]]
    max_repeats: int
    u_redetect: Uniforms
    patience: Sampler
    grid_agents: list[GridWorkerView]
    _mediate: list[Any]
    _after_patience: list[Any]
    # citizens who learn (Citizen.reports, by grid), or None when they do not (nothing called)
    report_decision: Any
    # problem table (one entry per problem), complaint log
    problems: list[Problem | None]
    p_cat: list[int]
    p_grid: list[int]
    p_t0: list[float]
    citizen_complaints: list[int]
    c_t: list[float]
    c_pid: list[int]
    c_case: list[int]
    c_channel: list[int]
    c_repeat: list[bool]
    c_citizen: list[bool]

    def __init__(self, horizon: float, ledger: Ledger) -> None:
        super().__init__()
        self.horizon = horizon
        self.warmup = ledger.warmup
        self.ledger = ledger
        self.problems = []
        self.p_cat = []
        self.p_grid = []
        self.p_t0 = []
        self.c_t = []
        self.c_pid = []
        self.c_case = []
        self.c_channel = []
        self.c_repeat = []
        self.c_citizen = []
        self.grid_agents = []
        self._mediate = []
        self._after_patience = []
        self.grid_workers = []
        self.citizen_complaints = []
        self.report_decision = None
        self.boosts = []
        self.boosts_by_cat = []

    def open_case(self, pid: int, ch: int, route: bool = True) -> Case:
        """Open a case for problem `pid` (defined by `Lifecycle`)."""
        raise NotImplementedError

    def close(self, case: Case, outcome: str) -> None:
        """Close a case (defined by `Lifecycle`)."""
        raise NotImplementedError

    def set_boosts(self, boosts: list[tuple[float, float, list[int], list[int], float]],
                   n_cats: int) -> None:
        """The patrol detection boosts: (start h, end h, categories ([] = all), streets ([] =
        all), factor), kept in their order and listed per category as well."""
        self.boosts = boosts
        self.boosts_by_cat = [[b for b in boosts if not b[2] or k in b[2]]
                              for k in range(n_cats)]

    def detection_boost(self, k: int, grid: int, t0: float) -> float:
        """The multiplier on the patrol detection hazard of one problem (campaigns)."""
        f = 1.0
        for start, end, _cats, streets, factor in self.boosts_by_cat[k]:
            if start <= t0 < end and (not streets or self.grid_street[grid] in streets):
                f *= factor
        return f

    # ------------------------------------------------------------------ problems, contacts
    def add_problems(self, grid: list[int], cat: list[int], t0: list[float]) -> None:
        self.p_grid.extend(grid)
        self.p_cat.extend(cat)
        self.p_t0.extend(t0)
        self.problems.extend([None] * len(t0))   # a record only once something happens to it

    def problem(self, pid: int) -> Problem:
        """Problem `pid`'s record, made when first needed (most problems are touched only
        within days of arising, so records made in time order stay close in memory)."""
        pr = self.problems[pid]
        if pr is None:
            pr = Problem(self.p_cat[pid], self.p_grid[pid])
            self.problems[pid] = pr
        return pr

    def contact(self, pid: int, ch: int, citizen: bool) -> None:
        """A citizen reports, or a patrol detects, problem `pid`."""
        pr = self.problem(pid)
        state = pr.state
        if state == RESOLVED:
            return
        # citizens who learn decide now whether to report (their pre-drawn uniform against
        # a probability that moves with what they saw of their grid's service)
        if citizen and self.report_decision is not None \
                and not self.report_decision[pr.grid](pid, pr.cat):
            return
        if not citizen:
            grid = pr.grid
            # the day plan cut patrol time (GridWorker.plan_day): ask whether this one happens
            if self.grid_workers[grid].patrol_share < 1.0 \
                    and not self.grid_agents[grid].patrols_now():
                # the day's patrol time was cut: this detection does not happen; the next
                # chance comes at the full patrol rate (thinning)
                k = pr.cat
                hz = self.hazard[k] * self.detection_boost(k, pr.grid, self.now)
                t_pat = self.now + self.u_redetect.exp(1.0 / hz)
                if t_pat < self.horizon:
                    self.sched_far(t_pat, EV_PATROL, pid, ch)
                return
            if state == OPEN_CASE:
                return  # the grid worker sees it is already being handled
            p_settle = self.p_grid_settle[pr.cat]
            if p_settle > 0.0 and self._mediate[grid](p_settle):
                self.settle_on_spot(pid, ch)
                return
        self.complaint(pid, ch, citizen)

    def complaint(self, pid: int, ch: int, citizen: bool = True, route: bool = True) -> Case:
        """Record one complaint about problem `pid`; open (and route) a case if none is open."""
        t = self.now
        pr = self.problem(pid)
        n_before = pr.ncompl
        pr.ncompl = n_before + 1
        case = pr.case
        if case is None:
            case = self.open_case(pid, ch, route)
        self.c_t.append(t)
        self.c_pid.append(pid)
        self.c_case.append(case.id)
        self.c_channel.append(ch)
        self.c_repeat.append(n_before > 0)
        self.c_citizen.append(citizen)
        if citizen:
            pr.channel = ch
            pr.ncit += 1
            if n_before < self.max_repeats:  # repeats so far, this one included, stay capped
                self.sched_far(t + self.patience.next(), EV_PATIENCE, pid, -1)
        return case

    def patience_expired(self, pid: int) -> None:
        """A citizen's patience has run out on problem `pid`: complain again, maybe elsewhere,
        or give up (the citizen agent decides)."""
        pr = self.problem(pid)
        if pr.state == RESOLVED or pr.gaveup:
            return
        channel = self._after_patience[pr.grid](pr, pr.case)
        if channel < 0:
            pr.gaveup = True
            return
        self.citizen_complaints[pr.grid] += 1
        self.complaint(pid, channel, True)

    def note_escalation(self, channel: int) -> None:
        """A citizen went one rung up the ladder (counted after warm-up)."""
        self.ledger.escalation(self.now, channel == self.petition_channel)

    def settle_on_spot(self, pid: int, ch: int) -> None:
        """A grid worker mediates a minor matter on the spot: opened and closed at once."""
        case = self.complaint(pid, ch, False, False)
        case.dispatched = self.now
        case.started = self.now
        case.agency = "grid"
        self.ledger.grid_time(self.now, self.grid_agents[case.grid].mediation_hours)
        self.close(case, "settled_on_spot")
