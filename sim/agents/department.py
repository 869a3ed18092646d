"""Departments: multi-server queues of staff who handle cases during their shifts."""

from __future__ import annotations

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

    Keeps the integrals behind utilisation: busy staff-hours and scheduled staff-hours.
    """

    def __init__(self, model, staff: int, always_on: bool = True):
        super().__init__(model)
        self.staff = staff
        self.busy = 0
        self.queue: list = []
        self.on = always_on
        self.busy_area = 0.0   # staff-hours busy
        self.cap_area = 0.0    # staff-hours on duty
        self.last = 0.0
        self.hours_done = 0.0  # staff hours of finished tasks
        self.tasks_done = 0

    def _acc(self, t: float) -> None:
        dt = t - self.last
        if dt > 0:
            self.busy_area += self.busy * dt
            if self.on:
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
        self.model.schedule(t + task.hours, self.finish, task)

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

    # working hours and capacity changes
    def shift_on(self, _=None) -> None:
        self._acc(self.model.now)
        self.on = True
        self._fill(self.model.now)

    def shift_off(self, _=None) -> None:
        self._acc(self.model.now)
        self.on = False

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

    def __init__(self, model, code: str, spec, street: int):
        super().__init__(model, spec.staff, spec.shift.always)
        self.code = code
        self.spec = spec
        self.street = street
        self.is_police = spec.is_police
        self.closed = 0
        self.dissatisfied_ewma = 0.0   # running share of dissatisfying closures (three rates)

    def __repr__(self):
        return f"Department({self.code}, street={self.street})"
