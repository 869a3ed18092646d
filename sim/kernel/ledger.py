"""The ledger: every count and integral a run's summary reads, kept in one place, with the one
rule of warm-up bookkeeping: what happens before `warmup` (hours) is not counted."""

from __future__ import annotations

from .entities import Unit


class Ledger:
    """Counters after warm-up, the integral of open cases over time and the units' utilisation
    integrals at the end of warm-up. Every count goes through a method that applies the
    warm-up rule (nothing else in the kernel or the mechanisms compares a time with
    `warmup`)."""

    warmup: float
    transfers: int
    handbacks: int
    grid_followups: int
    settled_by_grid: int
    police_nonpolice_hours: float
    dept_hours: dict[str, float]
    grid_hours: float
    problems_resolved: int
    escalations: int
    escalations_petition: int
    platform_wait_sum: float
    platform_wait_n: int
    wait_sum: float
    wait_n: int
    joint_cases: int
    n_open: int
    open_area: float
    open_area_warm: float
    open_last: float
    warm_snapshot: dict[int, tuple[float, float]] | None

    def __init__(self, warmup: float, departments: list[str]) -> None:
        self.warmup = warmup
        self.transfers = 0               # a case passed on by a unit that does not own it
        self.handbacks = 0               # on-site action left it unsettled: back to the grid
        self.grid_followups = 0          # follow-up visits by grid workers
        self.settled_by_grid = 0
        self.police_nonpolice_hours = 0.0
        self.dept_hours = {c: 0.0 for c in departments}
        self.grid_hours = 0.0
        self.problems_resolved = 0
        self.escalations = 0
        self.escalations_petition = 0
        self.platform_wait_sum = 0.0     # hours cases waited at a dispatch desk
        self.platform_wait_n = 0
        self.wait_sum = 0.0              # hours cases waited for the owner's handling
        self.wait_n = 0
        self.joint_cases = 0
        self.n_open = 0
        self.open_area = 0.0             # integral of open cases over time, from 0
        self.open_area_warm = 0.0        # ... up to the end of warm-up
        self.open_last = 0.0
        self.warm_snapshot = None        # id(unit) -> (busy_area, cap_area) at warm-up's end

    # what is counted, each at time `t` (hours), only after warm-up
    def transfer(self, t: float) -> None:
        if t >= self.warmup:
            self.transfers += 1

    def escalation(self, t: float, to_petition: bool) -> None:
        if t >= self.warmup:
            self.escalations += 1
            if to_petition:
                self.escalations_petition += 1

    def grid_time(self, t: float, hours: float) -> None:
        """Grid workers' hours (mediation on the spot, follow-up visits)."""
        if t >= self.warmup:
            self.grid_hours += hours

    def platform_wait(self, t: float, hours: float) -> None:
        """A triage task ended: the hours since the case reached the desk."""
        if t >= self.warmup:
            self.platform_wait_sum += hours
            self.platform_wait_n += 1

    def staff_time(self, t: float, dept: str, hours: float, police_on_nonpolice: bool) -> None:
        """A department's task ended: its staff hours."""
        if t >= self.warmup:
            self.dept_hours[dept] += hours
            if police_on_nonpolice:
                self.police_nonpolice_hours += hours

    def owner_wait(self, started: float, hours: float) -> None:
        """The owner's handling (or on-site action) started after waiting `hours`: counted by
        its start time."""
        if started >= self.warmup:
            self.wait_sum += hours
            self.wait_n += 1

    def resolved(self, t: float) -> None:
        if t >= self.warmup:
            self.problems_resolved += 1

    def joint(self, t: float) -> None:
        if t >= self.warmup:
            self.joint_cases += 1

    def handback(self, t: float) -> None:
        if t >= self.warmup:
            self.handbacks += 1

    def followup(self, t: float) -> None:
        if t >= self.warmup:
            self.grid_followups += 1

    def settled(self, t: float) -> None:
        if t >= self.warmup:
            self.settled_by_grid += 1

    def open_change(self, t: float, delta: int) -> None:
        """Keep the integral of open cases over time (for `mean_open_cases`)."""
        self.open_area += self.n_open * (t - self.open_last)
        self.open_last = t
        self.n_open += delta

    def warm(self, t: float, units: list[Unit]) -> None:
        """End of warm-up: snapshot the integrals so summaries count only what follows."""
        snap: dict[int, tuple[float, float]] = {}
        for u in units:
            u._acc(t)
            snap[id(u)] = (u.busy_area, u.cap_area)
        self.warm_snapshot = snap
        self.open_change(t, 0)
        self.open_area_warm = self.open_area
