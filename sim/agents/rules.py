"""The default agents' decision rules, compiled with the engine (one mypyc group).

Each agent class (`Department`, `GridWorker`, `Citizen`) states its decisions as methods and
documents the rule there; the arithmetic of the *default* rule lives here, in a plain class
per agent that holds the state the rule keeps (running shares, day plans, trust) and reads its
engine record (`Unit`) directly. Compiled, a decision is a C call on C fields instead of a
Python call with a dozen attribute lookups, and the engine asks these decisions about two
million times in a district-year.

The agent's methods call the rule, so a behaviour that subclasses an agent and overrides a
decision (or something a decision uses, such as `Department.pressure`) is asked through its
own methods: the engine talks to `agent.decider`, which is the compiled rule only while the
class keeps every default decision (`compiled_rule`, set when the class is defined; see
`sim/agents/fastpath.py`). Same decisions, same numbers either way (tests/test_digests.py).
"""

from __future__ import annotations

from typing import Any, Final

from ..kernel.entities import CO, RESOLVING, Case, Problem, Unit
from ..kernel.lifecycle import resolution_probability
from ..kernel.views import UnitDecisions
from ..streams import Uniforms

_MASK64: Final = (1 << 64) - 1


def splitmix_unit(x: int) -> float:
    """A uniform number in [0, 1) from an integer (splitmix64's finaliser): the same for the
    same problem in every scenario."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return ((x ^ (x >> 31)) >> 11) / float(1 << 53)


class DepartmentRule(UnitDecisions):
    """`Department`'s default rule (see its docstring): pressure, effort, priority, what it
    learns at closure, and the effort statistics of tasks handled after warm-up."""

    unit: Unit
    warmup: float
    cut: float
    speed: bool
    pressure_half: float
    co_effort_unassessed: float
    min_effort: float
    max_effort: float
    memory: float
    sat: float
    sat_floor: float
    rep: float
    obs_weight: float
    street_assesses: bool
    repeat_priority: bool
    pressure_of: Any          # an overriding `pressure` of the agent's class, or None
    repeat_share: float
    effort_n: int
    effort_sum: float
    effort_sq: float

    def __init__(self, unit: Unit, warmup: float, cut: float, speed: bool,
                 pressure_half: float, co_effort_unassessed: float, min_effort: float,
                 max_effort: float, memory: float, sat: float, sat_floor: float, rep: float,
                 obs_weight: float, street_assesses: bool, repeat_priority: bool) -> None:
        self.unit = unit
        self.warmup = warmup
        self.cut = cut
        self.speed = speed
        self.pressure_half = pressure_half
        self.co_effort_unassessed = co_effort_unassessed
        self.min_effort = min_effort
        self.max_effort = max_effort
        self.memory = memory
        self.sat = sat
        self.sat_floor = sat_floor
        self.rep = rep
        self.obs_weight = obs_weight
        self.street_assesses = street_assesses
        self.repeat_priority = repeat_priority
        self.pressure_of = None
        self.repeat_share = 0.0
        self.effort_n = 0
        self.effort_sum = 0.0
        self.effort_sq = 0.0

    def pressure(self, case: Case) -> float:
        """Expected wait of a task joining the queue now, over the case's time limit."""
        u = self.unit
        if u.staff <= 0:
            return 10.0
        mean_h = u.hours_done / u.tasks_done if u.tasks_done else 2.0
        deadline = float(case.cat.deadline_hours)
        return u.queue_length * mean_h / u.staff / deadline

    def _pressure(self, case: Case) -> float:
        if self.pressure_of is not None:
            p: float = self.pressure_of(case)
            return p
        return self.pressure(case)

    def effort(self, case: Case, role: int) -> float:
        """Staff hours given to this task relative to what the case needs."""
        e = 1.0
        if role == CO and not self.street_assesses:
            e = self.co_effort_unassessed
        if self.cut > 0:
            pr = self._pressure(case)
            e -= self.cut * pr / (pr + self.pressure_half)
        if self.sat > 0:
            excess = self.unit.dissatisfied_ewma - self.sat_floor
            if excess > 0:
                e += self.sat * excess
        if self.rep > 0:
            self.repeat_share += self.memory * ((1.0 if case.repeat else 0.0)
                                                - self.repeat_share)
            e += self.rep * self.repeat_share
        e = min(self.max_effort, max(self.min_effort, e))
        if self.unit.eng.now >= self.warmup:
            self.effort_n += 1
            self.effort_sum += e
            self.effort_sq += e * e
        return e

    def priority(self, case: Case, role: int) -> int:
        """0 = jumps the queue, 1 = normal, 2 = after the department's own work."""
        if case.prio == 0:
            return 0
        if case.repeat and self.repeat_priority:
            return 0
        if role == CO and not self.street_assesses:
            return 2
        if self.speed and self._pressure(case) >= 1.0:
            return 2
        return 1

    def p_true_resolution(self, case: Case, coverage: float) -> float:
        """Chance that a handling covering `coverage` of the needed work resolves it."""
        return resolution_probability(float(case.cat.p_resolve), coverage)

    def observe_closure(self, case: Case) -> None:
        """The running share of dissatisfied call-backs (weight `obs_weight`)."""
        w = self.obs_weight
        if w > 0:
            u = self.unit
            u.dissatisfied_ewma += w * ((1.0 if case.dissatisfied else 0.0)
                                        - u.dissatisfied_ewma)


class GridWorkerRule:
    """`GridWorker`'s default rule (see its module docstring): the day plan, patrol thinning,
    on-the-spot mediation and the booking of follow-up visits."""

    unit: Unit
    warmup: float
    workday: float
    patrol_max: float
    min_patrol: float
    followup_min: float
    visit_hours: float
    mediation_hours: float
    allowance_floor: float
    patrol_share: float
    patrol_hours: float
    followup_hours: float
    mediated_today: float
    visit_hours_today: float
    u: Uniforms | None
    idle: bool
    days_n: int
    followup_sum: float
    followup_sq: float

    def __init__(self, unit: Unit, warmup: float, workday: float, patrol_max: float,
                 min_patrol: float, followup_min: float, visit_hours: float,
                 mediation_hours: float, allowance_floor: float) -> None:
        self.unit = unit
        self.warmup = warmup
        self.workday = workday
        self.patrol_max = patrol_max
        self.min_patrol = min_patrol
        self.followup_min = followup_min
        self.visit_hours = visit_hours
        self.mediation_hours = mediation_hours
        self.allowance_floor = allowance_floor
        self.patrol_share = 1.0
        self.patrol_hours = patrol_max
        self.followup_hours = followup_min
        self.mediated_today = 0.0
        self.visit_hours_today = 0.0
        self.u = None
        self.idle = False
        self.days_n = 0
        self.followup_sum = 0.0
        self.followup_sq = 0.0

    def plan_day(self) -> None:
        """Split tomorrow's workday (per worker) between follow-ups, mediation and patrol."""
        u = self.unit
        w = u.workers
        if w <= 0:
            return
        waiting = u.queue_length + u.busy
        mediated = self.mediated_today
        counted = u.eng.now >= self.warmup
        if counted:    # the day being planned is counted
            self.days_n += 1
        if waiting == 0 and mediated == 0.0:
            if self.idle:       # the same inputs as yesterday: the same plan
                self.visit_hours_today = 0.0
                if counted:
                    f = self.followup_hours
                    self.followup_sum += f
                    self.followup_sq += f * f
                return
            self.idle = True
        else:
            self.idle = False
        visit_hours = self.visit_hours
        backlog = waiting * visit_hours / w   # hours per worker
        mediation = mediated / w
        allowance = self.followup_min - mediation
        if allowance < self.allowance_floor:
            allowance = self.allowance_floor
        room = self.workday - self.min_patrol - mediation
        if not room > allowance:
            room = allowance
        followup = backlog + allowance
        if not followup < room:
            followup = room
        self.followup_hours = followup
        if counted:
            self.followup_sum += followup
            self.followup_sq += followup * followup
        u.visit_elapsed = visit_hours * 24.0 / followup * (u.staff / w) \
            if followup > 0 else float("inf")
        used = backlog if backlog < followup else followup
        patrol = self.workday - used - mediation
        if not patrol > self.min_patrol:
            patrol = self.min_patrol
        patrol_max = self.patrol_max
        if patrol < patrol_max:
            self.patrol_hours = patrol
        else:
            self.patrol_hours = patrol = patrol_max
        share = patrol / patrol_max if patrol_max > 0 else 0.0
        self.patrol_share = share
        u.patrol_share = share
        self.mediated_today = 0.0
        self.visit_hours_today = 0.0

    def patrols_now(self) -> bool:
        """Whether a detection drawn at the full patrol rate happens (thinning)."""
        s = self.patrol_share
        if s >= 1.0:
            return True
        assert self.u is not None
        return self.u.next() < s

    def mediate(self, p_settle: float) -> bool:
        """A patrol found a problem: settle it on the spot if there is time and it works."""
        if p_settle <= 0:
            return False
        w = self.unit.workers
        booked = self.mediated_today + self.mediation_hours
        if w <= 0 or booked / w > self.workday - self.min_patrol:
            return False
        self.mediated_today = booked
        assert self.u is not None
        return self.u.next() < p_settle

    def visit_done(self) -> None:
        """A follow-up visit ended: its time is booked against the day."""
        self.visit_hours_today += self.visit_hours


class CitizenRule:
    """`Citizen`'s default rule: report now or not and trust (residents who learn), and what
    to do when patience runs out (give up, complain again, switch channel, escalate)."""

    p_rep: list[float]
    p_cand: list[float]
    u_rep: Any               # the problems' pre-drawn uniforms (a numpy array)
    n_rep: int
    salt: int
    sensitivity: float
    reference: float
    memory: float
    trust: float
    factor: float
    u: Uniforms | None
    p_again: float
    p_switch: float
    anger: float
    after_failures: int
    p_escalate: float
    ladder: list[int]
    ordinary: list[int]
    note_escalation: Any     # the engine's count of escalations, by channel

    def __init__(self, sensitivity: float, reference: float, memory: float) -> None:
        self.sensitivity = sensitivity
        self.reference = reference
        self.memory = memory
        self.trust = reference
        self.factor = 1.0
        self.p_rep = []
        self.p_cand = []
        self.u_rep = None
        self.n_rep = 0
        self.salt = 0
        self.u = None
        self.p_again = 0.0
        self.p_switch = 0.0
        self.anger = 0.0
        self.after_failures = 0
        self.p_escalate = 0.0
        self.ladder = []
        self.ordinary = []
        self.note_escalation = None

    def share(self, p_rep: list[float], p_cand: list[float], u_rep: Any, salt: int) -> None:
        """The district's report probabilities and the problems' uniforms (shared by grids)."""
        self.p_rep = p_rep
        self.p_cand = p_cand
        self.u_rep = u_rep
        self.n_rep = len(u_rep)
        self.salt = salt

    def reports(self, pid: int, cat: int) -> bool:
        """Report problem `pid` now, or not: its uniform against today's probability."""
        p = self.p_rep[cat] * self.factor
        if pid < self.n_rep:
            x = float(self.u_rep[pid])
        else:   # a recurrence: a uniform of its own below the candidate bound
            x = splitmix_unit(pid ^ self.salt) * self.p_cand[cat]
        return x < p

    def observe_closure(self, case: Case) -> None:
        """A case of this grid closed: the residents' experience updates their trust."""
        if case.outcome in RESOLVING:
            took = case.closed - case.opened
            limit = float(case.cat.deadline_hours)
            x = 1.0 if took <= limit else limit / took
        else:
            x = 0.0
        self.trust += self.memory * (x - self.trust)
        f = 1.0 + self.sensitivity * (self.trust - self.reference)
        self.factor = f if f > 0.0 else 0.0

    def after_patience(self, problem: Problem, case: Case | None) -> int:
        """The channel of the next complaint about `problem`, or -1 to give up."""
        u = self.u
        assert u is not None
        transfers = case.transfers if case is not None else 0
        p = self.p_again + self.anger * transfers
        if u.next() >= (p if p < 1.0 else 1.0):   # min(1, p)
            return -1
        ch = problem.channel
        if problem.ncit >= self.after_failures and len(self.ladder) > 1 \
                and u.next() < self.p_escalate:
            ladder = self.ladder
            rung = ladder.index(ch) if ch in ladder else 0
            if rung + 1 < len(ladder):
                up = ladder[rung + 1]
                self.note_escalation(up)
                return up
        if u.next() < self.p_switch and len(self.ordinary) > 1:
            others = [c for c in self.ordinary if c != ch]
            ch = others[int(u.next() * len(others))]
        return ch





def backlog(unit: Unit) -> float:
    """Tasks waiting or in hand per staff member (how soon a new task would start)."""
    return (unit.queue_length + unit.busy) / unit.staff if unit.staff > 0 else float("inf")


class PlatformRule:
    """`DispatchPlatform`'s default rule: the routing policy's pick, or the less loaded unit
    of a split owner (`load_balance`); and the handbacks its street received."""

    router: Any                # the routing policy's `after_triage(case) -> (unit, delay)`
    pools: dict[str, Unit]     # split departments' district pools, by code (load_balance)
    handbacks: int

    def __init__(self, router: Any, pools: dict[str, Unit]) -> None:
        self.router = router
        self.pools = pools
        self.handbacks = 0

    def dispatch(self, case: Case) -> tuple[Unit, Any]:
        """Where a triaged case goes: (unit, delay in hours)."""
        picked: Any = self.router(case)
        unit: Unit = picked[0]
        delay = picked[1]
        if self.pools:
            pool = self.pools.get(unit.code)
            if pool is not None and unit is not pool and pool.staff > 0 and \
                    backlog(pool) < backlog(unit):
                return pool, delay
        return unit, delay
__all__ = ["CitizenRule", "DepartmentRule", "GridWorkerRule", "PlatformRule", "backlog",
           "splitmix_unit"]
