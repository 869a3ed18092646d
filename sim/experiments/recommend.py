"""`cogov recommend`: a multi-objective search for a live routing configuration.

What it searches (sim/report/recommend_space.py): per category its main department, single or
dual dispatch, handback to the grid, and (when the schema has it) street-platform triage;
staff per department (and platform triage staff) under a total headcount budget.

How (docs/routing-table.md, "Recommend"):
1. **Objectives**: minimise the re-complaint rate after closure (`recomplaint_rate`, else
   `citizen_repeat_rate`), the median time to close and department staff hours
   (`staff_hours_total`, else the sum of `staff_hours.<dept>`); `--objectives` changes them;
   `--constraint`s must hold on the means.
2. **Optimiser**: optuna's NSGA-II sampler (ask/tell), one generation of `--population`
   candidates at a time, its first generation seeded with today's configuration and the reform
   levers (territorial routing, every handback on, every dual dispatch single, ...).
   Infeasible candidates are ranked by their constraint violation (NSGA-II's constrained
   domination).
3. **Common random numbers**: replication r of every candidate runs on the same seed, so
   differences between candidates are not seed noise.
4. **Successive halving**: a new candidate gets 1 replication (rung 0); after each generation
   the candidates still in contention at a rung (not dominated by a candidate with at least as
   many replications), at most half of those at that rung, best first, get their replications
   doubled, up to `--replications`. Only candidates with all replications enter the front.
5. **Budget** is counted in simulation runs of the search (rungs included). The robustness
   re-evaluation (`--draws` runs per front candidate and for today's configuration) and the
   validation (`--validation-replications` runs each for today's and the recommended
   configuration) are reported separately.
6. **Robust choice**: the Pareto set (at most `--robust-candidates`, nearest today's staff hours
   first) and today's configuration are re-run on fresh seeds, each draw also drawing the
   uncertain parameters (`{uncertain: ...}` fields of the scenario, `--ranges FILE`) by Latin
   hypercube. Robustness share = share of draws in which the candidate beats today's on the
   primary objective (same seed, same parameters). The recommendation is the candidate meeting
   the constraints (on the means of those draws) with the largest share (ties: better primary
   objective); none when no candidate beats today's in more than half the draws.
7. **Evidence**: today's and the recommended configuration on fresh validation seeds, written as
   a compare directory (`evidence/`) with a brief (`brief.html`).

Every run is a row of `ledger.sqlite` (store.Ledger); `--resume` replays the search from the
ledger (same seeds, same sampler seed: the same candidates) and runs only what is missing.

Outputs in DIR: pareto.csv, pareto.png/.pdf, candidates.csv, routing_table.yaml (the
recommendation as one package: rows, the `settings` no row carries, its own names; `cogov
routing import` applies all of it), routing_table.csv (the rows; import refuses it when the
package has settings), current_routing_table.csv, routing_diff.csv and
routing_diff.md (what changes and why), recommended_scenario.yaml, robustness.csv,
search.json, ledger.sqlite, evidence/, brief.html.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

from .. import __version__
from ..errors import UserError
from ..metrics import better, metric_def  # noqa: F401 (re-exported)
from ..outdir import OutputDir
from ..scenario.loader import apply_set, load_raw, scenario_sha256, validate_mapping
from ..scenario.schema import Scenario
from . import recommend_space as SP
from .recommend_brief import brief_sections, pareto_figure  # noqa: F401 (re-exported)
from .recommend_outputs import write_outputs
from .recommend_search import (  # noqa: F401 (re-exported)
    DEFAULT_CONSTRAINTS,
    PRIMARY_CHOICES,
    Candidate,
    Search,
    _hash,
    _race,
    _rungs,
    choose,
    config_key,
    derive,
    front,
    primary_metric,
    robust_stage,
    search,
)
from .recommend_space import Constraint, Space, parse_constraint  # noqa: F401 (re-exported)


# ----------------------------------------------------------------------------- entry point
def recommend(scenario_path: str | Path, out: str | Path, objective: str | None = None,
              objectives: list[str] | None = None, direction: str | None = None,
              constraints: list[str] | None = None, budget: int = 60, replications: int = 2,
              validation_replications: int | None = None, seed: int = 2024, overrides=(),
              owners: str = "jurisdiction", space_file: str | Path | None = None,
              ranges: str | Path | None = None, draws: int | None = None,
              population: int | None = None, robust_candidates: int = 8,
              backend: str = "serial", workers: int = 1, scheduler: str | None = None,
              resume: bool = False, lang: str = "en", quiet: bool = False,
              sampler: str = "nsga2", argv: list[str] | None = None,
              force: bool = False) -> dict:
    """Run the search and write the recommendation (see the module docstring). Returns a
    summary dict (recommended candidate, front size, runs used)."""
    from .backends import make_backend
    from .seeds import replication_seeds
    from .store import LEDGER, Ledger

    if direction is not None:
        raise UserError("--direction: directions come from the metric definitions "
                        "(sim/metrics.py); drop the flag")
    if replications < 1:
        raise UserError(f"--replications {replications}: at least 1")
    if budget < replications:
        raise UserError(f"--budget {budget}: the budget is in simulation runs and must cover "
                        f"at least today's configuration ({replications} runs)")
    if sampler not in ("nsga2", "tpe"):
        raise UserError(f"--sampler {sampler}: nsga2 or tpe")
    if robust_candidates < 1:
        raise UserError(f"--robust-candidates {robust_candidates}: at least 1")
    cons_text = list(constraints) if constraints else list(DEFAULT_CONSTRAINTS)
    cons = [parse_constraint(c) for c in cons_text]
    target = OutputDir(out, force=force and not resume, command="recommend", in_place=True,
                       inputs=[scenario_path, space_file, ranges])   # checks the name at once
    out = target.final
    ledger_path = out / LEDGER
    if ledger_path.exists() and not resume and not force:
        raise UserError(f"--out {out}: already holds a recommend run ({ledger_path}): add "
                        f"--resume to continue it, --force to start again, or choose another "
                        f"--out")
    target.resume = resume and ledger_path.exists()
    log = (lambda *a: None) if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))

    file_raw = load_raw(scenario_path)
    data = copy.deepcopy(file_raw)
    for expr in overrides:
        apply_set(data, expr)
    uncertain = SP.find_uncertain(data)
    data = SP.point_values(data, uncertain)
    base = validate_mapping(copy.deepcopy(data), str(scenario_path))
    if ranges:
        extra = SP.load_ranges(ranges, data)
        uncertain = [u for u in uncertain if u.path not in {x.path for x in extra}] + extra
    space = SP.build_space(base, space_file, owners)
    n_draws = draws if draws is not None else (8 if uncertain else 4)
    if n_draws < 1:
        raise UserError(f"--draws {n_draws}: at least 1")
    v_reps = validation_replications or max(2, 2 * replications)
    pop = population or max(8, min(16, 2 * len(space.dims)))
    if pop < 2:
        raise UserError(f"--population {pop}: at least 2")
    all_seeds = replication_seeds(seed, replications + n_draws + v_reps)
    seeds = {"search": all_seeds[:replications],
             "robust": all_seeds[replications:replications + n_draws],
             "validate": all_seeds[replications + n_draws:]}
    draw_values = SP.lhs_draws(uncertain, n_draws, seed) if uncertain else []
    settings = {"scenario": str(scenario_path), "scenario_sha256": scenario_sha256(base),
                "space": [d.describe() for d in space.dims],
                "headcount_budget": space.headcount_budget, "objectives": None,
                "constraints": cons_text, "replications": replications, "seed": seed,
                "population": pop, "draws": n_draws, "sampler": sampler,
                "uncertain": [(u.path, u.kind, u.params) for u in uncertain]}

    # the metrics, checked before anything is written
    prim = objective or PRIMARY_CHOICES[0]
    objectives = list(objectives or [prim, "median_time_to_close_hours", "staff_hours_total"])
    if objective and objective not in objectives:
        objectives = [objective] + objectives
    errs = []
    for m in dict.fromkeys(objectives + [k.metric for k in cons]):
        if not _known_metric(m, base):
            errs.append(f"unknown metric {m!r}: use a summary metric (docs/metrics.md), e.g. "
                        f"recomplaint_rate, chase_rate, citizen_repeat_rate, "
                        f"median_time_to_close_hours, on_time_rate, staff_hours_total, "
                        f"headcount, or per department staff_hours.<dept>, utilization.<dept>")
        elif m in objectives and not better(m):
            errs.append(f"--objectives {m}: the metric has no direction (neither lower nor "
                        f"higher is better, sim/metrics.py): it cannot be optimised")
    if errs:
        raise UserError(errs)
    settings["objectives"] = objectives
    settings_hash = _hash(settings)
    be = make_backend(backend if (backend != "serial" or workers <= 1) else "process",
                      workers, scheduler)
    if ledger_path.exists():
        import sqlite3

        con = sqlite3.connect(ledger_path)
        try:
            row = con.execute("SELECT value FROM meta WHERE key='settings_sha256'").fetchone()
        except sqlite3.Error:
            row = None
        finally:
            con.close()
        if row is None or json.loads(row[0]) != settings_hash:
            raise UserError(f"{out}: the recommend run there was started with other settings, "
                            f"scenario or space: results would mix two searches; rerun with "
                            f"the same arguments, or use a new --out")
    target.__enter__()    # checked, locked; written in place so that --resume can continue
    ledger = Ledger(ledger_path, [])
    bar = None
    t0 = time.perf_counter()
    try:
        if not ledger.get_meta():
            ledger.set_meta(kind="recommend", settings_sha256=settings_hash,
                            scenario=str(scenario_path), cogov_version=__version__,
                            settings=settings)
        s = Search(scenario_path, out, data, base, space, objectives, cons, replications,
                   seeds, draw_values, be, ledger, log, None)
        ref = s.candidate(space.current())
        s.run([(ref, "search", 0)])
        if not ref.n:
            raise UserError(f"{scenario_path}: today's configuration does not run: "
                            f"{ref.invalid or 'see ' + str(ledger_path)}")
        if objectives[0] not in ref.runs[0] and objective is None:
            objectives[0] = primary_metric(ref.runs[0])   # no citizen rate in this summary
        missing = [m for m in objectives + [k.metric for k in cons] if m not in ref.runs[0]]
        if missing:
            raise UserError([f"metric {m!r} is not in this scenario's summary" for m in missing])
        s.objectives, s.directions = objectives, [better(m) for m in objectives]
        s.sampler = sampler
        search_obj = objectives
        if not quiet:
            try:
                from tqdm import tqdm

                bar = tqdm(total=budget, unit="run", desc="recommend", file=sys.stderr,
                           disable=None, dynamic_ncols=True)
                bar.update(s.used)
            except ImportError:  # pragma: no cover - tqdm is a dependency
                bar = None
        s.bar = bar
        log(f"recommend: {len(space.dims)} decisions ({_space_line(space)}), headcount budget "
            f"{space.headcount_budget} (today {space.headcount(space.current())}); objectives "
            f"{', '.join(search_obj)}; constraints {', '.join(cons_text)}; budget {budget} runs, "
            f"up to {replications} replications per candidate, population {pop}; backend "
            f"{be.name}")
        search(s, budget, pop, seed)
        if bar is not None:
            bar.close()
            bar = None
        fr = front(s)
        ref = s.reference()
        # robust stage on the front (nearest today's staff hours first), plus today's
        cost = "staff_hours_total" if "staff_hours_total" in objectives else objectives[-1]
        pool = [c for c in fr if c is not ref]
        pool.sort(key=lambda c: (abs(c.mean(cost) - ref.mean(cost)), c.cid))
        chosen_pool = pool[:robust_candidates]
        log(f"robustness: {len(chosen_pool)} front candidate(s) and today's configuration, "
            f"{n_draws} draws each" + (f" of {len(uncertain)} uncertain parameter(s)"
                                       if uncertain else " (fresh seeds; no uncertain "
                                                         "parameters given)"))
        rob = robust_stage(s, chosen_pool, n_draws)
        rec = choose(s, rob)
        result = write_outputs(s, fr, rob, rec, file_raw, overrides, v_reps, budget, argv,
                               lang, uncertain, ranges, cons_text, seed, t0)
        log(result["message"])
        return result
    finally:
        if bar is not None:
            bar.close()
        ledger.close()
        target.__exit__(*sys.exc_info())


def _known_metric(m: str, scenario: Scenario) -> bool:
    from ..metrics import METRIC_DEFS

    if m in METRIC_DEFS or m in ("headcount", "citizen_repeat_complaint_rate"):
        return True
    head, _, dept = m.partition(".")
    return head in ("staff_hours", "utilization", "queue") and dept in scenario.departments


def _space_line(space: Space) -> str:
    groups: dict[str, int] = {}
    for d in space.dims:
        groups[d.group] = groups.get(d.group, 0) + 1
    return ", ".join(f"{n} {g}" for g, n in groups.items())


__all__ = ["recommend", "brief_sections", "parse_constraint", "Constraint", "derive",
           "primary_metric", "metric_def"]
