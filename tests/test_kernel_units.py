"""Units in SimPy's style (a `PriorityResource` with working hours): which task starts when,
in priority and first-in-first-out order, with work pausing outside shifts."""

from __future__ import annotations

import math

import pytest

from sim.kernel.calendar import Calendar
from sim.kernel.entities import MAIN, Case, Task, Unit
from sim.kernel.heap import EV_SHIFT_ON


class Done:
    def __init__(self, cal: Calendar):
        self.cal = cal
        self.log: list[tuple[float, str]] = []
        cal.listener = self

    def __call__(self, what: str, task, unit) -> None:
        assert what == "done"
        self.log.append((self.cal.now, task.case.channel_kind))


def task(cal: Calendar, unit: Unit, label: str, hours: float, prio: int = 1) -> Task:
    case = Case(0, 0, 0, None, 0, 0, 0, label, cal.now)   # the label rides as channel_kind
    return Task(case, MAIN, hours, prio, cal.next_seq(), unit)


def submit_at(cal: Calendar, t: float, unit: Unit, label: str, hours: float, prio: int = 1):
    cal.schedule(t, lambda _: unit.submit(task(cal, unit, label, hours, prio)), None)


def test_one_server_first_in_first_out():
    cal = Calendar()
    done = Done(cal)
    u = Unit(cal, "d", 0, -1, 1, None, None)
    for t, label in [(0.0, "a"), (0.5, "b"), (1.0, "c")]:
        submit_at(cal, t, u, label, 2.0)
    cal.run_until(100.0)
    assert done.log == [(2.0, "a"), (4.0, "b"), (6.0, "c")]


def test_priority_then_first_come_first_served():
    """While the one server is busy: urgent (0) first, then normal (1) in arrival order, then
    low (2)."""
    cal = Calendar()
    done = Done(cal)
    u = Unit(cal, "d", 0, -1, 1, None, None)
    submit_at(cal, 0.0, u, "busy", 10.0)
    for t, label, prio in [(1.0, "low", 2), (2.0, "normal 1", 1), (3.0, "urgent", 0),
                           (4.0, "normal 2", 1), (5.0, "urgent 2", 0)]:
        submit_at(cal, t, u, label, 1.0, prio)
    cal.run_until(100.0)
    assert [x for _, x in done.log] == ["busy", "urgent", "urgent 2", "normal 1", "normal 2",
                                        "low"]
    assert [t for t, _ in done.log] == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]
    assert u.queue_length == 0 and u.busy == 0 and u.tasks_done == 6


def test_several_servers_work_in_parallel():
    cal = Calendar()
    done = Done(cal)
    u = Unit(cal, "d", 0, -1, 2, None, None)
    for label in "abc":
        submit_at(cal, 0.0, u, label, 3.0)
    cal.run_until(100.0)
    assert done.log == [(3.0, "a"), (3.0, "b"), (6.0, "c")]


def test_work_pauses_outside_shifts():
    """Shifts 8-17 each day: a 12-hour task started at 10 works 7 hours, pauses overnight,
    and ends at 8 + 5 = 13 the next day (37 h)."""
    cal = Calendar()
    done = Done(cal)
    windows = [(8.0, 17.0), (32.0, 41.0), (56.0, 65.0)]
    u = Unit(cal, "d", 0, -1, 1, windows, None)
    cal.sched(windows[0][0], EV_SHIFT_ON, u)
    submit_at(cal, 10.0, u, "long", 12.0)
    cal.run_until(100.0)
    assert done.log == [(37.0, "long")]


def test_a_task_submitted_off_shift_waits_for_the_next_shift():
    cal = Calendar()
    done = Done(cal)
    windows = [(8.0, 17.0), (32.0, 41.0)]
    u = Unit(cal, "d", 0, -1, 1, windows, None)
    cal.sched(windows[0][0], EV_SHIFT_ON, u)
    submit_at(cal, 2.0, u, "early", 3.0)        # before the first shift
    submit_at(cal, 20.0, u, "evening", 1.0)     # between shifts
    cal.run_until(100.0)
    assert done.log == [(11.0, "early"), (33.0, "evening")]
    assert not u.on and u.shift_i == 2


@pytest.mark.parametrize("t, hours, end", [
    (10.0, 2.0, 12.0),      # fits in the shift
    (10.0, 7.0, 17.0),      # ends exactly at the shift's end
    (10.0, 8.0, 33.0),      # one hour into the next shift
    (20.0, 1.0, 33.0),      # starts off shift: from the next start
    (0.0, 1.0, 9.0),        # before the first shift
    (40.0, 3.0, 43.0),      # runs past the last shift: continues as if on duty
    (50.0, 2.0, 52.0),      # after the last shift
    (10.0, 0.0, 10.0),
])
def test_work_end(t, hours, end):
    u = Unit(Calendar(), "d", 0, -1, 1, [(8.0, 17.0), (32.0, 41.0)], None)
    assert u.work_end(t, hours) == pytest.approx(end)


def test_utilisation_integrals_count_only_time_on_duty():
    cal = Calendar()
    Done(cal)
    windows = [(8.0, 17.0)]
    u = Unit(cal, "d", 0, -1, 2, windows, None)
    cal.sched(8.0, EV_SHIFT_ON, u)
    submit_at(cal, 9.0, u, "a", 4.0)
    cal.run_until(24.0)
    u._acc(cal.now)
    assert u.cap_area == pytest.approx(2 * 9.0)     # two staff, 9 hours on duty
    assert u.busy_area == pytest.approx(4.0)


def test_added_staff_start_waiting_work_at_once():
    cal = Calendar()
    done = Done(cal)
    u = Unit(cal, "d", 0, -1, 1, None, None)
    submit_at(cal, 0.0, u, "a", 5.0)
    submit_at(cal, 0.0, u, "b", 5.0)
    cal.schedule(1.0, lambda _: u.add_staff(1), None)
    cal.run_until(100.0)
    assert done.log == [(5.0, "a"), (6.0, "b")]


def test_round_the_clock_unit_is_always_on():
    u = Unit(Calendar(), "d", 0, -1, 1, None, None)
    assert u.on and u.always and math.isinf(u.visit_elapsed)
