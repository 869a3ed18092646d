"""`Event`, a calendar entry, and the 4-ary heap the calendar keeps them in."""

from __future__ import annotations

from typing import Any, Final

# the kernel's event kinds (the lifecycle adds its own, see `sim.kernel.lifecycle`)
EV_CALL: Final = 0         # arg: (callable, argument), a Python callback
EV_FINISH: Final = 1       # the event is the Task that ends
EV_SUBMIT: Final = 3       # the event is the Task to queue at task.unit
EV_HOOK: Final = 7         # a mechanism's own event: ev.pid = its slot, arg = its payload
EV_SHIFT_ON: Final = 8     # arg: Unit
EV_SHIFT_OFF: Final = 9    # arg: Unit


class Event:
    """A calendar entry: at time `t` (hours), do `kind` with `arg`. `seq` breaks ties (the
    order of scheduling); `lane` is the FIFO lane it came through, if any (see
    `Calendar.sched_after`). A native object rather than a tuple, so the heap compares two
    unboxed fields."""

    t: float
    seq: int
    kind: int
    arg: Any
    lane: Any
    pid: int
    ch: int

    def __init__(self, t: float, seq: int, kind: int, arg: Any) -> None:
        self.t = t
        self.seq = seq
        self.kind = kind
        self.arg = arg
        self.lane = None
        self.pid = -1    # the item (problem) it is about, or a mechanism's slot (EV_HOOK)
        self.ch = -1     # its channel

    def __repr__(self) -> str:
        return f"Event(t={self.t}, seq={self.seq}, kind={self.kind})"


def hpush(heap: list[Event], item: Event) -> None:
    """Push onto a 4-ary heap ordered by (t, seq), compared as C doubles and ints when
    compiled. Every entry's seq is unique, so the order of pops is the one total order of
    the keys whatever the heap's shape (4 children a node: half the levels of a binary heap)."""
    heap.append(item)
    pos = len(heap) - 1
    t = item.t
    while pos > 0:
        parent = (pos - 1) >> 2
        p = heap[parent]
        pt = p.t
        if t < pt or (t == pt and item.seq < p.seq):
            heap[pos] = p
            pos = parent
        else:
            break
    heap[pos] = item


def hpop(heap: list[Event]) -> Event:
    """Pop the smallest (t, seq) of a `hpush` heap. (Sequence numbers are read only on equal
    times: compiled, every int local costs tagged-integer bookkeeping.)"""
    last = heap.pop()
    if not heap:
        return last
    top = heap[0]
    n = len(heap)
    t = last.t
    pos = 0
    child = 1
    while child < n:
        # the smallest of the (up to 4) children
        best = child
        c = heap[child]
        ct = c.t
        end = child + 4
        if end > n:
            end = n
        for j in range(child + 1, end):
            r = heap[j]
            rt = r.t
            if rt < ct or (rt == ct and r.seq < c.seq):
                c = r
                ct = rt
                best = j
        if ct < t or (ct == t and c.seq < last.seq):
            heap[pos] = c
            pos = best
            child = 4 * pos + 1
        else:
            break
    heap[pos] = last
    return top
