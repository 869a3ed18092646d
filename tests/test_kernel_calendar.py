"""The calendar in SimPy's style: tiny named scenarios, each asserting the exact order in
which events run (time, then the documented tie rules of the heap, the lanes, the day buckets
and the bulk arrivals)."""

from __future__ import annotations

import pytest

from sim.kernel.calendar import Calendar, far_pack
from sim.kernel.heap import EV_CALL


def recorder(cal: Calendar):
    """A list of (time, label) and a callback that appends to it."""
    log: list[tuple[float, str]] = []

    def note(label: str) -> None:
        log.append((cal.now, label))
    return log, note


def test_events_run_in_time_order():
    cal = Calendar()
    log, note = recorder(cal)
    for t, label in [(5.0, "e"), (1.0, "a"), (3.5, "c"), (2.0, "b"), (4.0, "d")]:
        cal.schedule(t, note, label)
    cal.run_until(10.0)
    assert log == [(1.0, "a"), (2.0, "b"), (3.5, "c"), (4.0, "d"), (5.0, "e")]
    assert cal.now == 10.0 and cal.events == 5


def test_equal_times_run_in_scheduling_order():
    cal = Calendar()
    log, note = recorder(cal)
    for label in "abcdefgh":
        cal.schedule(2.0, note, label)
    cal.run_until(2.0)
    assert [x for _, x in log] == list("abcdefgh")


def test_run_until_includes_its_end_and_keeps_later_events():
    cal = Calendar()
    log, note = recorder(cal)
    cal.schedule(3.0, note, "at the end")
    cal.schedule(3.0000001, note, "just after")
    cal.run_until(3.0)
    assert log == [(3.0, "at the end")] and cal.now == 3.0
    cal.run_until(4.0)
    assert log[-1] == (3.0000001, "just after") and cal.now == 4.0


def test_an_event_scheduled_by_an_event_at_the_same_time_runs_after_it():
    cal = Calendar()
    log, note = recorder(cal)

    def spawn(label: str) -> None:
        note(label)
        cal.schedule(cal.now, note, "child of " + label)
    cal.schedule(1.0, spawn, "parent")
    cal.schedule(1.0, note, "sibling")
    cal.run_until(2.0)
    assert [x for _, x in log] == ["parent", "sibling", "child of parent"]


def test_a_lane_is_first_in_first_out_and_its_next_entry_queues_behind_later_ties():
    """Constant-delay lanes: only a lane's head is in the heap; the next one gets its
    sequence number when it moves up, so an event scheduled meanwhile for the same time runs
    before it (the documented tie rule of `sched_after`)."""
    cal = Calendar()
    log, note = recorder(cal)
    cal.sched_after(2.0, EV_CALL, (note, "lane 1"))
    cal.sched_after(2.0, EV_CALL, (note, "lane 2"))
    cal.schedule(2.0, note, "heap")
    cal.sched_after(5.0, EV_CALL, (note, "other lane"))
    cal.run_until(10.0)
    assert log == [(2.0, "lane 1"), (2.0, "heap"), (2.0, "lane 2"), (5.0, "other lane")]


def test_lanes_keep_order_across_times():
    cal = Calendar()
    log, note = recorder(cal)

    def later(label: str) -> None:
        cal.sched_after(1.5, EV_CALL, (note, label))
    for t, label in [(0.0, "first"), (0.5, "second"), (0.5, "third"), (2.0, "fourth")]:
        cal.schedule(t, later, label)
    cal.run_until(10.0)
    assert log == [(1.5, "first"), (2.0, "second"), (2.0, "third"), (3.5, "fourth")]


class Items:
    """Collects far events and arrivals through the calendar's listener."""

    def __init__(self, cal: Calendar):
        self.cal = cal
        self.log: list[tuple] = []
        cal.listener = self

    def __call__(self, what: str, *args) -> None:
        self.log.append((self.cal.now, what, *args))


def test_day_buckets_sort_by_time_and_keep_scheduling_order_on_ties():
    cal = Calendar()
    items = Items(cal)
    cal.sched_far(50.0, 4, 7, 2)     # day 2
    cal.sched_far(30.0, 5, 8, -1)    # day 1
    cal.sched_far(50.0, 12, 9, 0)    # day 2, tie: after pid 7
    cal.sched_far(49.0, 4, 10, 1)    # day 2, earlier
    cal.run_until(100.0)
    assert items.log == [(30.0, "item", 5, 8, -1), (49.0, "item", 4, 10, 1),
                         (50.0, "item", 4, 7, 2), (50.0, "item", 12, 9, 0)]


def test_a_far_event_for_the_current_day_goes_through_the_heap():
    cal = Calendar()
    items = Items(cal)
    log, note = recorder(cal)

    def far_today(_) -> None:
        cal.sched_far(cal.now + 1.0, 4, 3, 1)     # day 0 is open: into the heap
        cal.schedule(cal.now + 1.0, note, "heap, scheduled after")
    cal.schedule(5.0, far_today, None)
    cal.run_until(24.0)
    assert items.log == [(6.0, "item", 4, 3, 1)]
    assert log == [(6.0, "heap, scheduled after")]


def test_equal_times_arrivals_then_heap_then_day_bucket():
    """At one time: bulk arrivals first, then the heap, then the day bucket's events."""
    cal = Calendar()
    items = Items(cal)
    log, note = recorder(cal)
    cal.set_arrivals([30.0, 30.0, 31.0], [1, 2, 3], [0, 1, 0], [True, False, True])
    cal.sched_far(30.0, 5, 9, -1)
    cal.schedule(30.0, lambda _: items.log.append((cal.now, "heap")), None)
    cal.run_until(40.0)
    assert items.log == [(30.0, "arrival", 1, 0, True), (30.0, "arrival", 2, 1, False),
                         (30.0, "heap"), (30.0, "item", 5, 9, -1),
                         (31.0, "arrival", 3, 0, True)]
    assert log == [] and cal.events == 5


def test_packed_far_codes_round_trip():
    cal = Calendar()
    items = Items(cal)
    for kind, pid, ch in [(0, 0, -1), (15, 123456789, 254), (12, 1, 0)]:
        cal._fire_far(far_pack(kind, pid, ch))
    assert [x[2:] for x in items.log] == [(0, 0, -1), (15, 123456789, 254), (12, 1, 0)]


def test_an_unknown_event_without_a_handler_is_an_error():
    cal = Calendar()
    cal.sched(1.0, 99, None)
    with pytest.raises(ValueError, match="no handler for event kind 99"):
        cal.run_until(2.0)
