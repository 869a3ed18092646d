"""Reference M/M/c queue in SimPy: what cogov's M/M/c validation scenario is measured against.

The textbook SimPy model: one `simpy.Resource` with `c` servers, one generator process that
creates customers with exponential inter-arrival times, one generator process per customer
that requests a server, waits, holds it for an exponential service time and releases it.
Random numbers come from the standard library (`random.Random`), as in SimPy's own examples.

`run_mmc` returns the cases (arrivals) per second of wall time and the mean wait in queue of
the customers who started service after the warm-up, the same definition as cogov's
`mean_wait_hours`, so the two implementations can be checked to agree with each other and with
the Erlang C formula (`erlang_c_wait`).
"""

from __future__ import annotations

import math
import random
import time

import simpy


def erlang_c_wait(lam: float, mean_service: float, c: int) -> float:
    """Mean wait in queue (hours) of M/M/c with arrival rate `lam` per hour (Erlang C)."""
    a = lam * mean_service
    if a >= c:
        return math.inf
    top = a ** c / math.factorial(c) / (1 - a / c)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    return p_wait * mean_service / (c - a)


def run_mmc(lam: float, mean_service: float, c: int, horizon_hours: float,
            warmup_hours: float = 0.0, seed: int = 1) -> dict:
    """Simulate M/M/c to `horizon_hours`; return cases, wall seconds, cases/s and mean wait.

    `lam`: arrivals per hour; `mean_service`: hours; `c`: servers. The wall time covers building
    the environment and running it (imports excluded).
    """
    t_start = time.perf_counter()
    rng = random.Random(seed)
    expo = rng.expovariate
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=c)
    mu = 1.0 / mean_service
    stats = {"arrived": 0, "wait_sum": 0.0, "wait_n": 0, "served": 0}

    def customer(env):
        arrived = env.now
        with desk.request() as req:
            yield req
            started = env.now
            if started >= warmup_hours:
                stats["wait_sum"] += started - arrived
                stats["wait_n"] += 1
            yield env.timeout(expo(mu))
        stats["served"] += 1

    def source(env):
        while True:
            yield env.timeout(expo(lam))
            stats["arrived"] += 1
            env.process(customer(env))

    env.process(source(env))
    env.run(until=horizon_hours)
    wall = time.perf_counter() - t_start
    n = stats["arrived"]
    return {
        "impl": "simpy",
        "simpy_version": simpy.__version__,
        "cases": n,
        "served": stats["served"],
        "wall_s": wall,
        "cases_per_s": n / wall if wall > 0 else math.inf,
        "mean_wait_h": stats["wait_sum"] / stats["wait_n"] if stats["wait_n"] else 0.0,
        "waits_counted": stats["wait_n"],
    }


def main(argv=None) -> None:
    """`python -m benchmarks.simpy_mmc [--lam 4] [--mean 2] [--c 10] [--days 400]
    [--warmup-days 20] [--seed 1]`: one run, printed (the whole process is what part (e) of
    the benchmarks times against `cogov run`)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.simpy_mmc")
    ap.add_argument("--lam", type=float, default=4.0)
    ap.add_argument("--mean", type=float, default=2.0)
    ap.add_argument("--c", type=int, default=10)
    ap.add_argument("--days", type=float, default=400.0)
    ap.add_argument("--warmup-days", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    r = run_mmc(a.lam, a.mean, a.c, a.days * 24.0, a.warmup_days * 24.0, seed=a.seed)
    print(f"SimPy M/M/c: {r['cases']:,} cases in {r['wall_s']:.2f} s = "
          f"{r['cases_per_s']:,.0f} cases/s; mean wait {r['mean_wait_h']:.3f} h "
          f"(Erlang C {erlang_c_wait(a.lam, a.mean, a.c):.3f} h)")


if __name__ == "__main__":
    main()
