"""How much a run will cost, estimated from the scenario before anything is built.

`estimate(scenario)` reads only the validated scenario: the incidence rates of the catalogue,
the district's population, land-use mix and number of grids, and the horizon. It never builds
the district or draws a problem, so it is as cheap for a 100,000-street district as for Baohe.

The constants below are calibrated against the benchmark suite (`benchmarks/results.md`,
full mode, engine and default rules compiled with mypyc, 2-core VM, 2026-12-07):

- (b) district-year (`scenarios/baohe_after.yaml`, 1.2 million residents, 365 days):
  646,475 problems, 3,015,024 events (4.66 events per problem), 6.44 CPU s in all
  (10.0 µs per problem), peak RSS 0.65 GiB of which 0.05 GiB after imports (earlier
  calibration, 2026-12-06: 761,655 problems, 4.70 events and 11.0 µs per problem, 0.72 GiB);
- (c) scaling 1/8 .. 1: peak RSS 0.14 .. 0.73 GiB for about 95,000 .. 762,000 problems, i.e.
  about 0.9 KB per problem drawn (every problem of the horizon is drawn in advance) on top of
  about 0.06 GiB of the interpreter and libraries;
- grids, measured here (2026-12, same machine): Baohe's generator with 200 streets x 100 grids
  and 20,000 residents against 2 x 100 grids: +0.093 GiB and +1.8 CPU s for 19,800 more grids,
  about 5 KB and 90 µs per grid (grid-worker unit, agent, layout entry, per-grid summary).

`tests/test_hardening.py::test_estimate_tracks_a_measured_run` runs a quarter of Baohe for a
year and checks the measured peak memory against the estimate (measured 0.22 GiB, estimated
0.21 GiB at the last calibration; 0.33 and 0.30 GiB while runs imported pandas).

The estimate is an order of magnitude to refuse runs that cannot fit, not a prediction: runs
with many repeat complaints, transfers or co-handling use more events per problem (the
benchmark district has all of these, so it is a fair upper middle).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import UserError

BASE_BYTES = 0.06 * 2**30        # interpreter, numpy, pyarrow, Mesa's core after imports
BYTES_PER_PROBLEM = 925.0        # problem + its complaints/case records, drawn in advance
BYTES_PER_GRID = 5000.0          # grid-worker unit + agent + layout entry (measured)
BYTES_PER_SNAPSHOT = 2048.0      # one time-series row (the columns every scenario has)
BYTES_PER_DEPT_SNAPSHOT = 96.0   # its per-department columns (queue, busy, staff_hours ...)
#: what the main process keeps per finished run besides its time series: a ledger row or a
#: summary (a few hundred numbers) - counts for a command asked for a huge number of runs
BYTES_PER_RUN_RECORD = 4096.0
EVENTS_PER_PROBLEM = 4.66        # (b): 3,015,024 events / 646,475 problems
SECONDS_PER_PROBLEM = 10.0e-6    # (b): 6.44 CPU s / 646,475 problems (build + run + summary)
SECONDS_FIXED = 0.3              # loading the scenario, building the model
SECONDS_PER_GRID = 90e-6         # building and summarising one grid (measured)


@dataclass(frozen=True)
class Estimate:
    """What one run of a scenario is expected to need."""

    problems: float       # problems drawn over the whole horizon (warm-up included)
    complaints: float     # expected first complaints (problems that someone reports)
    events: float         # simulation events
    peak_bytes: float     # peak resident memory of the process running it
    seconds: float        # CPU seconds on one core like the benchmark machine
    grids: int
    population: int
    horizon_days: float
    held_bytes: float = 0.0   # one run's time series, kept by a command that compares runs

    @property
    def peak_gib(self) -> float:
        return self.peak_bytes / 2**30

    def line(self, runs: int = 1, parallel: int = 1) -> str:
        """One line for the terminal; `runs` runs, `parallel` at once."""
        what = "" if runs == 1 else f" per run ({runs:,} runs, {parallel} at once)"
        total = "" if runs == 1 else (
            f"; in all about {_duration(self.seconds * runs / max(1, parallel))}, peak "
            f"{_gib(self.peak_bytes * min(runs, parallel))}")
        return (f"estimate{what}: {_num(self.problems)} problems, {_num(self.events)} events, "
                f"peak memory {_gib(self.peak_bytes)}, about {_duration(self.seconds)} of CPU "
                f"({self.population:,} residents, {self.grids:,} grids, "
                f"{self.horizon_days:g} days){total}")


def estimate(scenario) -> Estimate:
    """The cost of one run of a validated `Scenario` (nothing is built)."""
    from .world.compiled import compile_demand

    demand = compile_demand(scenario)       # the World's layout-free part: nothing is built
    grids, population = demand.grids, demand.population
    hours = scenario.run.horizon_days * 24.0
    rates = demand.rates()
    problems = 0.0
    complaints = 0.0
    rep = scenario.citizens.report_propensity
    for code, cat in scenario.catalogue.items():
        n = rates[code] * hours
        n *= 1.0 + cat.recurrence_prob          # resolved problems that come back
        problems += n
        complaints += n * min(1.0, cat.p_report * rep)
    snapshots = hours / scenario.run.collect_interval_hours
    events = problems * EVENTS_PER_PROBLEM + snapshots
    row = BYTES_PER_SNAPSHOT + BYTES_PER_DEPT_SNAPSHOT * len(scenario.departments)
    peak = (BASE_BYTES + problems * BYTES_PER_PROBLEM + grids * BYTES_PER_GRID
            + snapshots * row)
    seconds = SECONDS_FIXED + problems * SECONDS_PER_PROBLEM + grids * SECONDS_PER_GRID
    return Estimate(problems, complaints, events, peak, seconds, grids, population,
                    scenario.run.horizon_days, held_bytes=snapshots * row)


def available_bytes() -> float | None:
    """Memory this machine can give a new process now (MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def parse_size(text: str) -> float:
    """`--max-memory`: '4G', '512M', '1.5GiB', '2000000000' (bytes) -> bytes."""
    t = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    mult = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    try:
        if t and t[-1] in mult:
            v = float(t[:-1]) * mult[t[-1]]
        else:
            v = float(t)
    except ValueError:
        v = float("nan")
    if not v == v or v <= 0 or v == float("inf"):
        raise UserError([f"--max-memory {text}: expected a size such as 4G, 512M or 1.5GiB "
                         f"(a positive amount of memory)"])
    return v


def check(est: Estimate, *, source: str, max_memory: str | float | None = None,
          force: bool = False, parallel: int = 1, runs: int = 1, announce=None,
          held: int = 0, counts: str = "") -> None:
    """Print the estimate (via `announce`) and refuse with a `UserError` when the runs that go
    at once need more than `--max-memory` or the memory available now, unless `force`.
    `held`: runs whose time series the command keeps until the end (compare, explain);
    every one of the `runs` also leaves a record in memory. `counts` names the flags that set
    `runs` (for the message)."""
    if announce is not None:
        announce(f"{source}: {est.line(runs, parallel)}")
    at_once = max(1, min(parallel, runs))
    kept = held * est.held_bytes + runs * BYTES_PER_RUN_RECORD
    need = est.peak_bytes * at_once + kept
    if max_memory is not None:
        limit = max_memory if isinstance(max_memory, float) else parse_size(max_memory)
        why = f"--max-memory {_gib(limit)}"
    else:
        limit = available_bytes()
        why = f"the {_gib(limit)} of memory available on this machine now" if limit else ""
    if force or limit is None or need <= limit:
        return
    if kept > est.peak_bytes * at_once:       # the number of runs is what does not fit
        raise UserError([
            f"{source}: {runs:,} runs{f' ({counts})' if counts else ''} would keep about "
            f"{_gib(kept)} of results in memory, more than {why}: ask for fewer (lower "
            f"{counts or 'the number of runs'}), or add --force to try anyway"])
    runs_txt = "" if at_once == 1 else f" ({at_once} runs at once)"
    raise UserError([
        f"{source}: the run would need about {_gib(need)} of memory{runs_txt}, more than "
        f"{why} ({_num(est.problems)} problems over {est.horizon_days:g} days for "
        f"{est.population:,} residents in {est.grids:,} grids): shorten run.horizon_days, lower "
        f"the population, the incidences or the number of grids, use fewer workers, or add "
        f"--force to try anyway"])


def _num(x: float) -> str:
    if x >= 1e9:
        return f"{x / 1e9:.3g} billion"
    if x >= 1e6:
        return f"{x / 1e6:.3g} million"
    return f"{x:,.0f}"


def _gib(b: float) -> str:
    if b >= 2**40:
        return f"{b / 2**40:,.1f} TiB"
    if b >= 2**30:
        return f"{b / 2**30:.1f} GiB"
    return f"{b / 2**20:,.0f} MiB"


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s" if s >= 1 else "1 s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:,.0f} days"


def add_args(p) -> None:
    """`--max-memory` and `--force` for a command that runs (or checks) scenarios."""
    p.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse when the estimated peak memory is above SIZE (e.g. 4G, 512M; "
                        "default: the memory available on this machine now)")
    existing = p._option_string_actions.get("--force")  # added by sim.outdir.add_out_args
    if existing is None:
        p.add_argument("--force", action="store_true",
                       help="run even when the resource estimate says it will not fit")
    else:
        existing.help = (f"{existing.help}; also: run even when the resource estimate says it "
                         f"will not fit")


def guard(scenarios, args, source: str, *, parallel: int = 1, runs: int = 1,
          quiet: bool = False, held: int = 0, counts: str = "") -> Estimate:
    """Estimate the largest of `scenarios`, print it to stderr (unless `quiet`) and refuse per
    `args.max_memory` / `args.force`. Returns the estimate used."""
    import sys

    if not isinstance(scenarios, (list, tuple)):
        scenarios = [scenarios]
    worst = max((estimate(s) for s in scenarios), key=lambda e: e.peak_bytes)
    announce = None if quiet else (lambda line: print(line, file=sys.stderr))
    check(worst, source=source, max_memory=getattr(args, "max_memory", None),
          force=getattr(args, "force", False), parallel=parallel, runs=runs, announce=announce,
          held=held, counts=counts)
    return worst
