"""The kernel: a discrete-event calendar and the entities of a case's life, with no domain rule.

- `sim.kernel.heap`: `Event` and the 4-ary heap ordered by (time, sequence number).
- `sim.kernel.calendar`: `Calendar`, the event calendar (heap, constant-delay FIFO lanes, day
  buckets for far-ahead events, the pre-sorted bulk arrivals) and its run loop.
- `sim.kernel.entities`: `Problem`, `Case`, `Task` and `Unit` (a pool of staff with a priority
  queue and shift windows), like SimPy's `Environment` and `PriorityResource`.
- `sim.kernel.ledger`: `Ledger`, every counter kept after warm-up, in one place.
- `sim.kernel.hooks`: `Mechanism`, the few hooks through which a mechanism joins a case's life;
  `sim.kernel.views`: the Protocol-typed views the kernel has of agents and policies.
- `sim.kernel.lifecycle`: `Lifecycle`, a case from contact to close.

Nothing here imports the domain modules (agents, policies, mechanisms, scenario): they plug in
through `hooks` and `views`. The kernel, the mechanisms and `sim.streams` are compiled together
as one mypyc group (see setup.py), so calls between them are direct C calls.
"""
