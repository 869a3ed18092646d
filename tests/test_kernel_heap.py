"""The calendar's 4-ary heap pops in exactly the order of `heapq` on (time, sequence number),
for any interleaving of pushes and pops (hypothesis)."""

from __future__ import annotations

import heapq

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.kernel.heap import Event, hpop, hpush

# a push (a time from a small set, so that ties are common) or a pop
ops = st.lists(st.one_of(st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.0, 3.25, 1e9]).map(
    lambda t: ("push", t)), st.just(("pop", 0.0))), max_size=300)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_heap_pops_like_heapq(operations):
    heap: list[Event] = []
    ref: list[tuple[float, int]] = []
    seq = 0
    for op, t in operations:
        if op == "push":
            hpush(heap, Event(t, seq, 0, None))
            heapq.heappush(ref, (t, seq))
            seq += 1
        elif ref:
            ev = hpop(heap)
            assert (ev.t, ev.seq) == heapq.heappop(ref)
        assert len(heap) == len(ref)
    while ref:
        ev = hpop(heap)
        assert (ev.t, ev.seq) == heapq.heappop(ref)
    assert heap == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=200))
def test_heap_sorts(times):
    heap: list[Event] = []
    for i, t in enumerate(times):
        hpush(heap, Event(t, i, 0, None))
    out = [hpop(heap) for _ in times]
    assert [(e.t, e.seq) for e in out] == sorted((t, i) for i, t in enumerate(times))
