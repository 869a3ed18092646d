"""The event calendar: what happens next, in time order, fast.

Why a calendar of our own: Mesa 3.3's DEVS simulator runs ~360k trivial events/s and holds
callbacks by weak reference; a district-year needs millions of events within seconds. The
calendar merges four sources in time order:

- a heap of `Event`s ordered by (time, sequence number): ties run in scheduling order;
- constant-delay first-in-first-out lanes (`sched_after`): only each lane's head is in the heap;
- day buckets (`sched_far`) for events days ahead that often turn out to be no-ops, each stored
  as two numbers (time, packed code), sorted once when the run reaches their day;
- the pre-sorted bulk arrivals (`set_arrivals`).

`kind` is a small integer: the kernel's own kinds (`heap.EV_*`) are dispatched here; every other
kind goes to `on_event`, which a subclass (`sim.kernel.lifecycle.Lifecycle`) defines. Compiled,
an event costs no Python-level call.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Final

from .entities import Task, Unit
from .heap import (
    EV_CALL,
    EV_FINISH,
    EV_HOOK,
    EV_SHIFT_OFF,
    EV_SHIFT_ON,
    EV_SUBMIT,
    Event,
    hpop,
    hpush,
)

EV_ITEM: Final = 14   # a far event that fell due on the current day: ev.pid = its packed code

# A far event (see `Calendar.sched_far`) is packed into one int: item, kind, channel + 1.
FAR_CH_BITS: Final = 8
FAR_CH_MASK: Final = (1 << FAR_CH_BITS) - 1
FAR_KIND_BITS: Final = 4
FAR_KIND_MASK: Final = (1 << FAR_KIND_BITS) - 1
MAX_CHANNELS: Final = FAR_CH_MASK - 1


def far_pack(kind: int, pid: int, ch: int) -> int:
    """One int for a far event: item `pid`, `kind` (< 16), channel `ch` (-1 .. 254)."""
    return (((pid << FAR_KIND_BITS) | kind) << FAR_CH_BITS) | (ch + 1)


class FarBucket:
    """One day's far-ahead events, in scheduling order: times and packed codes."""

    t: list[float]
    code: list[int]

    def __init__(self) -> None:
        self.t = []
        self.code = []


class Calendar:
    """The clock (`now`, hours) and the event calendar. Subclasses say what events do:
    `on_event` (kinds the kernel does not know), `on_item` (far events about an item, e.g. a
    problem), `on_arrival` (the bulk arrivals) and `task_done` (a unit finished a task).
    On the base class these call `listener(what, *args)` if one is set (what: "event",
    "item", "arrival", "done"; tests and small tools use it instead of a subclass)."""

    listener: Any
    now: float
    events: int
    _heap: list[Event]
    _far_days: dict[int, FarBucket]
    _far_t: list[float]
    _far_code: list[int]
    _far_i: int
    _far_day: int
    _lanes: dict[float, Any]
    _seq: int
    _a_t: list[float]
    _a_pid: list[int]
    _a_ch: list[int]
    _a_cit: list[bool]
    _a_i: int

    def __init__(self) -> None:
        self.listener = None
        self.now = 0.0
        self.events = 0            # events processed (arrivals + calendar entries)
        self._heap = []            # near-term events: (time, seq, kind, argument)
        self._far_days = {}        # far-ahead events by day (see sched_far)
        self._far_t = []           # the current day's far events, sorted by time: times
        self._far_code = []        # ... and their packed (item, kind, channel) codes
        self._far_i = 0            # next of them
        self._far_day = -1         # the day _far_t holds
        self._lanes = {}           # constant-delay FIFO lanes (see sched_after)
        self._seq = 0
        self._a_t = []
        self._a_pid = []
        self._a_ch = []
        self._a_cit = []
        self._a_i = 0

    # ------------------------------------------------------------------ what events do
    def on_event(self, ev: Event) -> None:
        """An event of a kind the kernel does not know."""
        if self.listener is None:
            raise ValueError(f"no handler for event kind {ev.kind}")
        self.listener("event", ev)

    def on_item(self, kind: int, pid: int, ch: int) -> None:
        """A far event of `kind` about item `pid` (channel `ch`)."""
        if self.listener is None:
            raise ValueError(f"no handler for far event kind {kind}")
        self.listener("item", kind, pid, ch)

    def on_arrival(self, pid: int, ch: int, flag: bool) -> None:
        """A bulk arrival (see `set_arrivals`)."""
        if self.listener is None:
            raise ValueError("no handler for arrivals")
        self.listener("arrival", pid, ch, flag)

    def task_done(self, task: Task, unit: Unit) -> None:
        """`unit` finished `task` (called by `Unit.finish`)."""
        if self.listener is not None:
            self.listener("done", task, unit)

    # ------------------------------------------------------------------ scheduling
    def set_arrivals(self, times: list[float], pids: list[int], chans: list[int],
                     flags: list[bool]) -> None:
        """Arrivals known before the run, sorted by time: `on_arrival(pid, ch, flag)` each."""
        self._a_t = times
        self._a_pid = pids
        self._a_ch = chans
        self._a_cit = flags
        self._a_i = 0

    def next_seq(self) -> int:
        s = self._seq
        self._seq = s + 1
        return s

    def sched(self, t: float, kind: int, arg: Any) -> None:
        """An event of `kind` at time `t` (hours). Ties run in scheduling order."""
        s = self._seq
        self._seq = s + 1
        hpush(self._heap, Event(t, s, kind, arg))

    def sched_hook(self, t: float, slot: int, arg: Any) -> None:
        """An `EV_HOOK` event at `t` for the mechanism in `slot`, with `arg`."""
        s = self._seq
        self._seq = s + 1
        ev = Event(t, s, EV_HOOK, arg)
        ev.pid = slot
        hpush(self._heap, ev)

    def sched_task(self, task: Task, t: float, kind: int) -> None:
        """The task itself as the calendar entry: at `t`, `kind` (EV_SUBMIT or EV_FINISH)."""
        task.t = t
        task.kind = kind
        task.seq = self.next_seq()
        hpush(self._heap, task)

    def schedule(self, t: float, fn: Any, arg: Any = None) -> None:
        """Call the Python callable `fn(arg)` at time `t` (hours)."""
        self.sched(t, EV_CALL, (fn, arg))

    def sched_after(self, delay: float, kind: int, arg: Any, slot: int = -1) -> None:
        """An event after a constant `delay` (hours), through a first-in-first-out lane
        (`slot`: the mechanism's, for an EV_HOOK event).

        Events scheduled with the same delay fall due in the order they were scheduled, so
        each lane is a queue and only its head sits in the heap: the heap stays small.
        """
        lane = self._lanes.get(delay)
        if lane is None:
            lane = deque()
            self._lanes[delay] = lane
        ev = Event(self.now + delay, -1, kind, arg)
        ev.pid = slot
        ev.lane = lane
        lane.append(ev)
        if len(lane) == 1:
            ev.seq = self.next_seq()
            hpush(self._heap, ev)

    def sched_far(self, t: float, kind: int, pid: int, ch: int) -> None:
        """Like `sched`, for events typically days ahead that often turn out to be no-ops
        (citizens' patience, recurrences, patrol re-detections), all about one item `pid`.
        They go into a bucket per day (a calendar queue) as two numbers, the time and a packed
        code (`far_pack`), not as objects: scheduling is two appends; when the run reaches a
        day, its bucket is sorted once by time (stably, so ties keep scheduling order) and read
        in order. Events for the current day go to the near-term heap."""
        s = self._seq
        self._seq = s + 1
        day = int(t // 24.0)
        if day <= self._far_day:
            ev = Event(t, s, EV_ITEM, None)
            ev.pid = far_pack(kind, pid, ch)
            hpush(self._heap, ev)
            return
        bucket = self._far_days.get(day)
        if bucket is None:
            bucket = FarBucket()
            self._far_days[day] = bucket
        bucket.t.append(t)
        bucket.code.append(far_pack(kind, pid, ch))

    # ------------------------------------------------------------------ running
    def _next_far_day(self) -> None:
        """Move on to the next day's bucket of far events."""
        day = self._far_day + 1
        self._far_day = day
        bucket = self._far_days.pop(day, None)
        if bucket is None:
            self._far_t = []
            self._far_code = []
        else:
            ts = bucket.t
            codes = bucket.code
            order = sorted(range(len(ts)), key=ts.__getitem__)   # stable
            self._far_t = [ts[j] for j in order]
            self._far_code = [codes[j] for j in order]
        self._far_i = 0

    def _fire_far(self, code: int) -> None:
        self.on_item((code >> FAR_CH_BITS) & FAR_KIND_MASK,
                     code >> (FAR_CH_BITS + FAR_KIND_BITS), (code & FAR_CH_MASK) - 1)

    def _fire(self, ev: Event) -> None:
        kind = ev.kind
        if kind == EV_FINISH:
            assert isinstance(ev, Task)
            ev.unit.finish(ev)
        elif kind == EV_ITEM:
            self._fire_far(ev.pid)
        elif kind == EV_SUBMIT:
            assert isinstance(ev, Task)
            ev.unit.submit(ev)
        elif kind == EV_SHIFT_ON:
            u: Unit = ev.arg
            u.shift_on()
        elif kind == EV_SHIFT_OFF:
            u2: Unit = ev.arg
            u2.shift_off()
        elif kind == EV_CALL:
            arg = ev.arg
            arg[0](arg[1])
        else:
            self.on_event(ev)

    def run_until(self, t_end: float) -> None:
        """Process every event up to and including time `t_end` (hours), merging the bulk
        arrival arrays, the near-term heap (with its lanes) and the day buckets in time order.
        At equal times: the day's bucket is opened first, then arrivals, then the heap, then
        the bucket's events."""
        heap = self._heap
        at = self._a_t
        ap = self._a_pid
        ac = self._a_ch
        az = self._a_cit
        i = self._a_i
        n = len(at)
        i0 = i
        inf = math.inf
        popped = 0
        # the next arrival's and the next far event's times change only when this loop takes
        # one (a day's far events are fixed once its bucket is read): kept as C doubles
        ta = at[i] if i < n else inf
        far_t = self._far_t
        far_code = self._far_code
        fi = self._far_i
        nf = len(far_t)
        if fi < nf:
            tf = far_t[fi]
            next_day = False
        else:   # the day's far events are done: the next day starts at tf
            tf = (self._far_day + 1) * 24.0
            next_day = True
        while True:
            th = heap[0].t if heap else inf
            if next_day and tf <= th and tf <= ta:
                if tf > t_end:
                    break
                self._next_far_day()
                far_t = self._far_t
                far_code = self._far_code
                fi = self._far_i
                nf = len(far_t)
                if fi < nf:
                    tf = far_t[fi]
                    next_day = False
                else:
                    tf = (self._far_day + 1) * 24.0
                    next_day = True
            elif ta <= th and ta <= tf:
                if ta > t_end:
                    break
                self.now = ta
                self.on_arrival(ap[i], ac[i], az[i])
                i += 1
                ta = at[i] if i < n else inf
            elif tf < th:
                if tf > t_end:
                    break
                self._far_i = fi + 1
                self.now = tf
                self._fire_far(far_code[fi])
                popped += 1
                fi += 1
                if fi < nf:
                    tf = far_t[fi]
                else:
                    tf = (self._far_day + 1) * 24.0
                    next_day = True
            else:
                if th > t_end:
                    break
                ev = hpop(heap)
                self.now = ev.t
                lane = ev.lane
                if lane is not None:   # the next in its lane takes its place in the heap
                    lane.popleft()
                    if lane:
                        nxt: Event = lane[0]
                        nxt.seq = self.next_seq()
                        hpush(heap, nxt)
                self._fire(ev)
                popped += 1
        self._a_i = i
        self.events += (i - i0) + popped
        if t_end > self.now:
            self.now = t_end
