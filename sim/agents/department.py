"""Departments: multi-server queues of staff who handle cases during their shifts."""

from __future__ import annotations

from bisect import bisect_right
from heapq import heappop, heappush

import mesa


class Task:
    """One piece of staff work on a case at one unit (handling, co-handling, a visit ...)."""

    __slots__ = ("case", "kind", "hours", "prio", "seq", "queued", "started")

    def __init__(self, case, kind: str, hours: float, prio: int, seq: int):
        self.case = case
        self.kind = kind      # "main", "co", "dual", "onsite", "visit"
        self.hours = hours    # staff hours it takes
        self.prio = prio      # 0 jumps the queue, 1 normal
        self.seq = seq
        self.queued = 0.0
        self.started = -1.0


class ServiceUnit(mesa.Agent):
    """A pool of `staff` servers with a priority-FIFO queue and working hours.

    A task's `hours` are working hours: outside the shift, work pauses and resumes at the next
    shift start (`windows`: sorted (start, end) hours of every shift in the run, or None for
    round-the-clock units). Keeps the integrals behind utilisation: busy staff-hours on duty
    and scheduled staff-hours.
    """

    def __init__(self, model, staff: int, windows: list[tuple[float, float]] | None = None):
        super().__init__(model)
        self.staff = staff
        self.busy = 0
        self.queue: list = []
        self.on = windows is None
        self.w_start = [w[0] for w in windows] if windows else None
        self.w_end = [w[1] for w in windows] if windows else None
        self.busy_area = 0.0   # staff-hours busy
        self.cap_area = 0.0    # staff-hours on duty
        self.last = 0.0
        self.hours_done = 0.0  # staff hours of finished tasks
        self.tasks_done = 0

    def _acc(self, t: float) -> None:
        dt = t - self.last
        if dt > 0:
            if self.on:
                self.busy_area += self.busy * dt
                self.cap_area += self.staff * dt
            self.last = t

    def submit(self, task: Task) -> None:
        """Put a task in the queue, or start it at once if staff are free and on duty."""
        t = self.model.now
        task.queued = t
        if self.on and self.busy < self.staff:
            self._start(task, t)
        else:
            heappush(self.queue, (task.prio, t, task.seq, task))

    def _start(self, task: Task, t: float) -> None:
        self._acc(t)
        self.busy += 1
        task.started = t
        end = t + task.hours if self.w_start is None else self.work_end(t, task.hours)
        self.model.schedule(end, self.finish, task)

    def work_end(self, t: float, hours: float) -> float:
        """When `hours` of work started at `t` end, counting only shift time."""
        starts, ends = self.w_start, self.w_end
        i = bisect_right(starts, t) - 1
        if i < 0 or t >= ends[i]:
            i += 1
            if i >= len(starts):
                return t + hours
            t = starts[i]
        while True:
            avail = ends[i] - t
            if hours <= avail:
                return t + hours
            hours -= avail
            i += 1
            if i >= len(starts):
                return ends[i - 1] + hours
            t = starts[i]

    def finish(self, task: Task) -> None:
        t = self.model.now
        self._acc(t)
        self.busy -= 1
        self.hours_done += task.hours
        self.tasks_done += 1
        self._fill(t)
        self.model.task_done(task, self)

    def _fill(self, t: float) -> None:
        q = self.queue
        while q and self.on and self.busy < self.staff:
            self._start(heappop(q)[3], t)

    # working hours (each shift event schedules the next) and capacity changes
    def shift_on(self, i: int) -> None:
        self._acc(self.model.now)
        self.on = True
        self.model.schedule(self.w_end[i], self.shift_off, i)
        self._fill(self.model.now)

    def shift_off(self, i: int) -> None:
        self._acc(self.model.now)
        self.on = False
        if i + 1 < len(self.w_start):
            self.model.schedule(self.w_start[i + 1], self.shift_on, i + 1)

    def add_staff(self, n: int) -> None:
        """Change the staff on duty (campaigns); busy staff finish their task."""
        self._acc(self.model.now)
        self.staff += n
        self._fill(self.model.now)

    @property
    def queue_length(self) -> int:
        return len(self.queue)


class Department(ServiceUnit):
    """One department's unit: a street team (派驻/街道执法队伍) or a district-level pool.

    `code` is the department's key in the scenario, `street` the street index (-1 = district).
    Handles its cases and reports each finished task to the model.
    """

    def __init__(self, model, code: str, spec, street: int, windows=None):
        super().__init__(model, spec.staff, windows)
        self.code = code
        self.spec = spec
        self.street = street
        self.is_police = spec.is_police
        self.response = spec.response_hours
        self.closed = 0
        self.dissatisfied_ewma = 0.0   # running share of dissatisfying closures (three rates)

    def __repr__(self):
        return f"Department({self.code}, street={self.street})"
