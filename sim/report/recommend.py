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

Outputs in DIR: pareto.csv, pareto.png/.pdf, candidates.csv, routing_table.csv/.yaml
(recommended, `cogov routing export` format), current_routing_table.csv, routing_diff.csv and
routing_diff.md (what changes and why), recommended_scenario.yaml, robustness.csv,
search.json, ledger.sqlite, evidence/, brief.html.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import UserError
from ..metrics import better, metric_def
from ..outdir import OutputDir
from ..scenario.loader import (
    ScenarioError,
    apply_set,
    dump_yaml,
    load_raw,
    load_scenario,
    scenario_sha256,
    validate_mapping,
)
from ..scenario.schema import Scenario
from . import recommend_space as SP
from . import routing_table as RT
from .recommend_space import Constraint, Space, parse_constraint  # noqa: F401 (re-exported)
from .results import t_interval
from .text import metric_info, number

PRIMARY_CHOICES = ("recomplaint_rate", "citizen_repeat_rate", "repeat_complaint_rate")
DEFAULT_CONSTRAINTS = ("staff_hours_total<=current",)


def primary_metric(summary: dict) -> str:
    for m in PRIMARY_CHOICES:
        if m in summary:
            return m
    return "repeat_complaint_rate"


def derive(summary: dict, headcount: int | None = None) -> dict:
    """Add the derived metrics recommend uses: `staff_hours_total` (sum over departments) where
    the summary lacks it,
    `citizen_repeat_rate` (alias of `citizen_repeat_complaint_rate` where only that exists) and
    the candidate's `headcount`."""
    s = dict(summary)
    if not isinstance(s.get("staff_hours_total"), (int, float)):
        parts = [v for k, v in s.items() if k.startswith("staff_hours.") and v is not None]
        if parts:
            s["staff_hours_total"] = float(sum(parts))
    if "citizen_repeat_rate" not in s and "citizen_repeat_complaint_rate" in s:
        s["citizen_repeat_rate"] = s["citizen_repeat_complaint_rate"]
    if headcount is not None:
        s["headcount"] = headcount
    return s


# ----------------------------------------------------------------------------- candidates
@dataclass
class Candidate:
    cid: int
    config: dict
    key: str
    headcount: int
    scenario: Scenario | None = None
    invalid: str = ""
    runs: dict[int, dict] = field(default_factory=dict)      # search replication -> summary
    robust: dict[int, dict] = field(default_factory=dict)    # draw -> summary
    failed: int = 0

    @property
    def n(self) -> int:
        return len(self.runs)

    def values(self, metric: str, which: str = "search") -> np.ndarray:
        src = self.runs if which == "search" else self.robust
        return np.array([float(src[i].get(metric, np.nan))
                         if src[i].get(metric) is not None else np.nan for i in sorted(src)])

    def mean(self, metric: str, which: str = "search") -> float:
        v = self.values(metric, which)
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else math.nan


def config_key(config: dict) -> str:
    return json.dumps(config, sort_keys=True, default=str)


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _RunAdapter:
    """A backend result dict that looks like a RunResult to `write_compare_dir`."""

    def __init__(self, res: dict):
        self.summary = res["summary"]
        self.seed = res["seed"]
        self.timeseries = res["timeseries"]
        self._g = res

    def by_grid(self):
        return self._g["by_grid"]

    def by_street(self):
        return self._g["by_street"]

    def by_category(self):
        return self._g["by_category"]


# ----------------------------------------------------------------------------- the search
class Search:
    """State of one recommend run: space, candidates, ledger, backend."""

    def __init__(self, scenario_path, out: Path, data: dict, base: Scenario, space: Space,
                 objectives: list[str], constraints: list[Constraint], replications: int,
                 seeds: dict[str, list[int]], draws: list[dict], backend, ledger, log, bar):
        self.scenario_path = str(scenario_path)
        self.out = out
        self.data = data
        self.base = base
        self.space = space
        self.objectives = objectives
        self.directions = [better(m) for m in objectives]
        self.cons = constraints
        self.R = replications
        self.seeds = seeds
        self.draws = draws
        self.backend = backend
        self.ledger = ledger
        self.log = log
        self.bar = bar
        self.cands: dict[str, Candidate] = {}
        self.order: list[Candidate] = []
        self.cache: dict[str, dict] = {}           # run key -> ledger row (resume)
        self.used = 0                              # search runs (budget)
        self.extra = 0                             # robustness and validation runs
        self.next_run_id = 0
        self.rec_runs = 0                          # runs recorded by this process
        self.sampler = "nsga2"
        if ledger is not None:
            df = ledger.read()
            if len(df):
                self.next_run_id = int(df["run_id"].max()) + 1
                for _, r in df.iterrows():
                    if r.get("status") == "ok":
                        self.cache[str(r["run_key"])] = r.to_dict()

    # -- candidates
    def candidate(self, config: dict) -> Candidate:
        config = self.space.repair(config)
        key = config_key(config)
        c = self.cands.get(key)
        if c is not None:
            return c
        c = Candidate(len(self.order), config, key, self.space.headcount(config))
        try:
            c.scenario = validate_mapping(SP.apply_config(self.data, self.space, config),
                                          self.scenario_path)
        except ScenarioError as exc:
            c.invalid = "; ".join(exc.errors)[:500]
        self.cands[key] = c
        self.order.append(c)
        return c

    def changes(self, c: Candidate) -> list[str]:
        cur = self.space.current()
        return [f"{k}={v}" for k, v in c.config.items() if v != cur[k]]

    # -- runs
    def _scenario_for(self, c: Candidate, draw: int) -> Scenario:
        if draw < 0:
            return c.scenario
        new = SP.apply_config(self.data, self.space, c.config)
        for p, v in self.draws[draw].items():
            SP.set_path(new, p, v)
        return validate_mapping(new, f"{self.scenario_path} (uncertainty draw {draw})")

    def run(self, requests: list[tuple[Candidate, str, int]], keep: bool = False) -> list[dict]:
        """Run (candidate, phase, index) requests not done yet; phase "search" (index =
        replication, search seed), "robust" (index = draw: robust seed + parameters) or
        "validate" (index = validation replication). Returns the backend results of `keep`
        requests in order (validation only)."""
        from ..experiments.backends import RunTask

        tasks, meta = [], {}
        results: dict[str, dict] = {}
        for c, phase, i in requests:
            seed = self.seeds[phase][i]
            draw = i if (phase == "robust" and self.draws) else -1
            rkey = f"{c.key}|{phase}|{i}|{seed}"
            if rkey in meta:
                continue
            if not keep and ((phase == "search" and i in c.runs)
                             or (phase == "robust" and i in c.robust)):
                continue
            if rkey in self.cache and not keep:
                self._store(c, phase, i, derive(self._from_row(self.cache[rkey]), c.headcount))
                if phase == "search":
                    self.used += 1
                    self._tick()
                continue
            try:
                sc = self._scenario_for(c, draw)
            except ScenarioError as exc:
                c.invalid = "; ".join(exc.errors)[:500]
                continue
            rid = self.next_run_id
            self.next_run_id += 1
            meta[rkey] = (c, phase, i, rid)
            tasks.append(RunTask(rid, seed, scenario=sc, label=f"candidate {c.cid} {phase} {i}",
                                 keep_timeseries=keep, keep_groups=keep))
        if tasks:
            by_id = {m[3]: k for k, m in meta.items()}
            for task, res in self.backend.run(tasks):
                rkey = by_id[task.run_id]
                c, phase, i, rid = meta[rkey]
                row = {"run_id": rid, "point": c.cid, "replication": i, "seed": task.seed,
                       "status": res["status"], "error": res["error"], "phase": phase,
                       "draw": i if phase == "robust" and self.draws else -1,
                       "run_key": rkey, "config": c.key, **res["summary"],
                       "wall_seconds": res["wall_seconds"], "traceback": res["traceback"]}
                if self.ledger is not None:
                    self.ledger.record(row)
                self.rec_runs += 1
                if phase == "search":
                    self.used += 1
                    self._tick()
                else:
                    self.extra += 1
                if res["status"] == "ok":
                    self._store(c, phase, i, derive(res["summary"], c.headcount))
                    results[rkey] = res
                else:
                    c.failed += 1
                    self.log(f"candidate {c.cid} ({phase} {i}): run failed: {res['error']}")
        out = []
        if keep:
            for c, phase, i in requests:
                seed = self.seeds[phase][i]
                res = results.get(f"{c.key}|{phase}|{i}|{seed}")
                if res is None:
                    raise UserError(f"validation run of candidate {c.cid} failed (see "
                                    f"{self.out}/ledger.sqlite)")
                out.append(res)
        return out

    def _tick(self) -> None:
        if self.bar is not None:
            self.bar.n = self.used
            self.bar.refresh()

    @staticmethod
    def _from_row(row: dict) -> dict:
        skip = {"run_id", "point", "replication", "seed", "status", "error", "phase", "draw",
                "run_key", "config", "wall_seconds", "finished", "traceback"}
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in row.items() if k not in skip}

    @staticmethod
    def _store(c: Candidate, phase: str, i: int, summary: dict) -> None:
        if phase == "search":
            c.runs[i] = summary
        elif phase == "robust":
            c.robust[i] = summary

    # -- objectives, constraints
    def reference(self) -> Candidate:
        return self.order[0]

    def vec(self, c: Candidate, which: str = "search") -> np.ndarray:
        """Objective means, signed so that lower is better."""
        return np.array([c.mean(m, which) * (1 if d == "lower" else -1)
                         for m, d in zip(self.objectives, self.directions)])

    def violation(self, c: Candidate, which: str = "search") -> float:
        ref = self.reference()
        return float(sum(k.violation(c.mean(k.metric, which), ref.mean(k.metric, which))
                         for k in self.cons))

    def ok(self, c: Candidate) -> bool:
        return not c.invalid and c.n > 0


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def nondominated(items: list, vec) -> list:
    vs = [vec(x) for x in items]
    return [x for i, x in enumerate(items)
            if np.all(np.isfinite(vs[i]))
            and not any(dominates(vs[j], vs[i]) for j in range(len(items)) if j != i)]


def _rungs(R: int) -> list[int]:
    r, out = 1, []
    while r < R:
        out.append(r)
        r *= 2
    return out + [R]


def _race(s: Search, budget: int) -> None:
    """Successive halving: promote the candidates still in contention to the next rung."""
    rungs = _rungs(s.R)
    for lo, hi in zip(rungs, rungs[1:]):
        at = [c for c in s.order if s.ok(c) and c.n == lo]
        if not at:
            continue
        peers = [c for c in s.order if s.ok(c) and c.n >= lo]
        feas = [c for c in at if s.violation(c) == 0] or at

        def key(c):
            return (s.violation(c), *s.vec(c))

        live = [c for c in feas if not any(dominates(s.vec(p), s.vec(c)) and
                                           s.violation(p) <= s.violation(c)
                                           for p in peers if p is not c)]
        live.sort(key=key)
        promote = live[:max(1, math.ceil(len(at) / 2))]
        for c in promote:
            need = [(c, "search", i) for i in range(lo, hi)]
            room = budget - s.used
            if room < len(need):
                return
            s.run(need)


def search(s: Search, budget: int, population: int, seed: int) -> None:
    import optuna
    from optuna.samplers import NSGAIISampler
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {d.name: d.distribution() for d in s.space.dims}

    # constraint violations reach NSGA-II's constrained domination through
    # Trial.set_constraint (optuna >= 5); older optuna takes a constraints_func
    new_api = hasattr(optuna.trial.Trial, "set_constraint")

    def cons_func(trial):
        return trial.user_attrs.get("constraints", [0.0])

    if s.sampler == "tpe":
        from optuna.samplers import TPESampler

        sampler = TPESampler(seed=seed, multivariate=True, constant_liar=True,
                             n_startup_trials=population,
                             constraints_func=None if new_api or not s.cons else cons_func)
    else:
        sampler = NSGAIISampler(population_size=population, seed=seed,
                                constraints_func=None if new_api or not s.cons else cons_func)
    study = optuna.create_study(directions=["minimize"] * len(s.objectives), sampler=sampler)
    ref = s.candidate(s.space.current())
    s.run([(ref, "search", i) for i in range(s.R)])
    if not ref.n:
        raise UserError(f"{s.scenario_path}: today's configuration does not run: "
                        f"{ref.invalid or 'see ledger.sqlite'}")
    seen_enqueued = set()
    for cfg in s.space.levers():
        k = config_key(cfg)
        if k not in seen_enqueued and k != ref.key:
            seen_enqueued.add(k)
            study.enqueue_trial(cfg)
    dup_streak = 0
    gen = 0
    # keep part of the budget for completing the contenders' replications at the end
    reserve = min(budget // 3, (s.R - 1) * max(2, population // 4))
    while s.used < budget - reserve:
        batch = []
        for _ in range(population):
            trial = study.ask(dists)
            c = s.candidate(dict(trial.params))
            batch.append((trial, c))
        new = [c for _, c in batch if c.n == 0 and not c.invalid]
        uniq = list({c.key: c for c in new}.values())
        room = budget - reserve - s.used
        todo = [(c, "search", 0) for c in uniq][:room]
        s.run(todo)
        _race(s, budget - reserve)
        for trial, c in batch:
            if s.ok(c):
                if new_api:
                    trial.set_constraint("violation", s.violation(c))
                else:
                    trial.set_user_attr("constraints", [s.violation(c)])
                study.tell(trial, list(s.vec(c)))
            else:
                study.tell(trial, state=TrialState.FAIL)
        dup_streak = dup_streak + 1 if not uniq else 0
        gen += 1
        _show(s, gen)
        if dup_streak >= 20:
            s.log("search: 20 generations without a new candidate: the space is exhausted "
                  "or the search has converged")
            break
    # spend what is left (the reserve, or after convergence) completing contenders
    while True:
        before = s.used
        _race(s, budget)
        if s.used == before:
            break


def front(s: Search) -> list[Candidate]:
    full = [c for c in s.order if s.ok(c) and c.n >= s.R]
    feas = [c for c in full if s.violation(c) == 0]
    return nondominated(feas, s.vec)


def _show(s: Search, gen: int) -> None:
    f = front(s)
    p = s.objectives[0]
    ref = s.reference()
    best = min((c.mean(p) for c in f), default=math.nan)
    msg = (f"front {len(f)}, best {p} {_plain(best, p)} (today {_plain(ref.mean(p), p)}), "
           f"{len(s.order)} candidates")
    if s.bar is not None and not s.bar.disable:
        s.bar.set_postfix_str(msg, refresh=True)
    else:
        s.log(f"generation {gen}: {s.used} runs: {msg}")


def _plain(x: float, metric: str, diff: bool = False) -> str:
    info = metric_info(metric)
    return number(x, info.kind, 2, "en", diff)


# ----------------------------------------------------------------------------- robustness
def robust_stage(s: Search, cands: list[Candidate], n_draws: int) -> pd.DataFrame:
    ref = s.reference()
    todo = [ref] + [c for c in cands if c is not ref]
    s.run([(c, "robust", d) for c in todo for d in range(n_draws)])
    p = s.objectives[0]
    sign = 1 if s.directions[0] == "lower" else -1
    rows = []
    r = ref.values(p, "robust")
    for c in todo:
        v = c.values(p, "robust")
        n = min(len(v), len(r))
        wins = (sign * (v[:n] - r[:n]) < 0)
        row = {"candidate": c.cid, "draws": n,
               "robustness_share": float(wins.mean()) if n else math.nan,
               "violation": s.violation(c, "robust")}
        for m in s.objectives + [k.metric for k in s.cons]:
            d = c.values(m, "robust")[:n] - ref.values(m, "robust")[:n]
            mm, lo, hi, _ = t_interval(d)
            row[f"{m}.robust_mean"] = c.mean(m, "robust")
            row[f"{m}.diff_p05"] = float(np.nanquantile(d, 0.05)) if n else math.nan
            row[f"{m}.diff_median"] = float(np.nanmedian(d)) if n else math.nan
            row[f"{m}.diff_p95"] = float(np.nanquantile(d, 0.95)) if n else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def choose(s: Search, rob: pd.DataFrame) -> Candidate | None:
    ref = s.reference()
    by = {c.cid: c for c in s.order}
    ok = rob[(rob["candidate"] != ref.cid) & (rob["violation"] == 0)
             & (rob["robustness_share"] > 0.5)]
    if not len(ok):
        return None
    p = s.objectives[0]
    sign = 1 if s.directions[0] == "lower" else -1
    best = sorted(ok.itertuples(), key=lambda r: (-r.robustness_share,
                                                  sign * by[r.candidate].mean(p, "robust"),
                                                  r.candidate))[0]
    return by[best.candidate]


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
    from ..experiments.backends import make_backend
    from ..experiments.seeds import replication_seeds
    from ..experiments.store import LEDGER, Ledger

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
        extra = SP.load_ranges(ranges)
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


# ----------------------------------------------------------------------------- outputs
def candidates_table(s: Search, fr: list[Candidate], rob: pd.DataFrame,
                     rec: Candidate | None) -> pd.DataFrame:
    rb = {int(r["candidate"]): r for r in rob.to_dict("records")} if len(rob) else {}
    on_front = {c.cid for c in fr}
    ref = s.reference()
    rows = []
    for c in s.order:
        row = {"candidate": c.cid, "today": c is ref, "on_front": c.cid in on_front,
               "recommended": rec is not None and c is rec, "replications": c.n,
               "headcount": c.headcount, "feasible": s.ok(c) and s.violation(c) == 0,
               "changes": "; ".join(s.changes(c)) or "(today's configuration)",
               "invalid": c.invalid}
        for m in s.objectives + [k.metric for k in s.cons if k.metric not in s.objectives]:
            mm, lo, hi, _ = t_interval(c.values(m))
            row[f"{m}.mean"], row[f"{m}.ci_low"], row[f"{m}.ci_high"] = mm, lo, hi
            if c.n and ref.n:
                n = min(c.n, ref.n)
                d = c.values(m)[:n] - ref.values(m)[:n]
                dm, dlo, dhi, _ = t_interval(d)
                row[f"{m}.diff"], row[f"{m}.diff_ci_low"], row[f"{m}.diff_ci_high"] = \
                    dm, dlo, dhi
        r = rb.get(c.cid)
        row["robust_draws"] = int(r["draws"]) if r is not None else 0
        row["robustness_share"] = float(r["robustness_share"]) if r is not None else math.nan
        for m in s.objectives:
            row[f"{m}.robust_mean"] = r[f"{m}.robust_mean"] if r is not None else math.nan
        for k, v in c.config.items():
            row[k] = v
        rows.append(row)
    return pd.DataFrame(rows)


def write_outputs(s: Search, fr, rob, rec, file_raw, overrides, v_reps, budget, argv, lang,
                  uncertain, ranges, cons_text, seed, t0) -> dict:
    from ..experiments.figures import save
    from .brief import build_brief
    from .results import write_compare_dir

    out = s.out
    ref = s.reference()
    table = candidates_table(s, fr, rob, rec)
    table.to_csv(out / "candidates.csv", index=False)
    pareto = table[table["on_front"] | table["today"]].copy()
    pareto.to_csv(out / "pareto.csv", index=False)
    rob.to_csv(out / "robustness.csv", index=False)
    figs = save(pareto_figure(s, table, lang), out / "pareto")
    chosen = rec or ref
    # the live tables and the recommended scenario
    cur_rows = RT.table_rows(ref.scenario)
    rec_rows = RT.table_rows(chosen.scenario)
    RT.write_table(cur_rows, out / "current_routing_table.csv")
    head = (f"# cogov {__version__} routing table recommended by cogov recommend for "
            f"{s.scenario_path}; columns: docs/routing-table.md\n")
    RT.write_table(rec_rows, out / "routing_table.csv")
    RT.write_table(rec_rows, out / "routing_table.yaml", header=head)
    new = SP.apply_config(s.data, s.space, chosen.config)
    rec_path = write_scenario(new, file_raw, s.scenario_path, out / "recommended_scenario.yaml",
                              chosen.scenario, argv)
    diff = routing_diff(s, ref, chosen, cur_rows, rec_rows)
    diff.to_csv(out / "routing_diff.csv", index=False)
    (out / "routing_diff.md").write_text(diff_markdown(diff, s, ref, chosen, "en") + "\n"
                                         + diff_markdown(diff, s, ref, chosen, "zh"),
                                         encoding="utf-8")
    # evidence on fresh seeds
    evid = None
    verdict = {}
    if rec is not None:
        res = s.run([(c, "validate", i) for c in (ref, rec) for i in range(v_reps)], keep=True)
        entries = [
            {"name": "current", "path": s.scenario_path, "overrides": list(overrides),
             "scenario": ref.scenario, "results": [_RunAdapter(r) for r in res[:v_reps]]},
            {"name": "recommended", "path": str(rec_path), "overrides": [],
             "scenario": rec.scenario, "results": [_RunAdapter(r) for r in res[v_reps:]]}]
        evid = write_compare_dir(out / "evidence", entries, argv or ["cogov", "recommend"],
                                 seed, s.seeds["validate"])
        p = s.objectives[0]
        for m in dict.fromkeys([p, "staff_hours_total", *s.objectives]):
            a = np.array([derive(r["summary"]).get(m, np.nan) for r in res[:v_reps]], float)
            b = np.array([derive(r["summary"]).get(m, np.nan) for r in res[v_reps:]], float)
            dm, lo, hi, _ = t_interval(b - a)
            verdict[m] = {"current": float(np.nanmean(a)), "recommended": float(np.nanmean(b)),
                          "diff": dm, "ci_low": lo, "ci_high": hi}
    info = {
        "scenario": s.scenario_path, "overrides": list(overrides), "command": argv,
        "objectives": s.objectives, "directions": s.directions, "constraints": cons_text,
        "budget_runs": budget, "search_runs": s.used,
        "robustness_runs": int(sum(len(c.robust) for c in s.order)),
        "validation_runs": 2 * v_reps if rec is not None else 0,
        "runs_this_process": s.rec_runs, "candidates": len(s.order),
        "replications": s.R, "seeds": s.seeds, "root_seed": seed,
        "space": [{"name": d.name, "paths": d.paths, "current": d.current,
                   **({"low": d.low, "high": d.high} if d.kind == "int"
                      else {"choices": d.choices})} for d in s.space.dims],
        "headcount_budget": s.space.headcount_budget, "headcount_today": ref.headcount,
        "uncertain": [{"path": u.path, "kind": u.kind, **u.params} for u in uncertain],
        "ranges_file": str(ranges) if ranges else None, "draws": s.draws,
        "front": [c.cid for c in fr], "recommended": rec.cid if rec is not None else None,
        "recommended_changes": s.changes(rec) if rec is not None else [],
        "validation": verdict, "wall_seconds": round(time.perf_counter() - t0, 1),
    }
    (out / "search.json").write_text(json.dumps(info, indent=2, ensure_ascii=False,
                                                default=_json) + "\n", encoding="utf-8")
    if evid is not None:
        _patch_manifest(evid, s.objectives[0])
        build_brief(evid, out / "brief.html", lang=lang, question=question(s, lang),
                    objective=s.objectives[0],
                    argv=["cogov", "brief", str(evid), "--out", str(out / "brief.html"),
                          "--lang", lang], extra_sections=brief_sections(out, lang))
    p = s.objectives[0]
    if rec is None:
        msg = (f"recommendation: keep today's configuration (no front candidate beats it on {p} "
               f"in more than half of the {len(s.seeds['robust'])} draws while meeting the "
               f"constraints); {s.used} search runs, front {len(fr)}; {out}/pareto.csv")
    else:
        share = float(rob.set_index("candidate").loc[rec.cid, "robustness_share"])

        def line(m):
            v = verdict.get(m, {})
            return (f"{m} {_plain(v.get('current', math.nan), m)} -> "
                    f"{_plain(v.get('recommended', math.nan), m)} (difference 95% CI "
                    f"{_plain(v.get('ci_low', math.nan), m, True)} to "
                    f"{_plain(v.get('ci_high', math.nan), m, True)})")

        shown = list(dict.fromkeys([p, "staff_hours_total"]))
        msg = (f"recommendation: candidate {rec.cid} ({len(s.changes(rec))} change(s)), "
               f"robustness share {share:.0%}; on {v_reps} fresh seeds: "
               f"{'; '.join(line(m) for m in shown if m in verdict)}; {s.used} search runs, "
               f"front {len(fr)}; {out}/routing_table.csv, {out}/routing_diff.md, "
               f"{out}/pareto.csv, {out}/brief.html")
    return {"recommended": rec.cid if rec is not None else None, "front": [c.cid for c in fr],
            "search_runs": s.used, "candidates": len(s.order), "validation": verdict,
            "message": msg, "figures": [str(f) for f in figs], "out": str(out)}


def _json(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return str(o)


def write_scenario(new: dict, file_raw: dict, scenario_path: str, path: Path,
                   expected: Scenario, argv) -> Path:
    """`recommended_scenario.yaml`: `extends:` the input and sets only what changes."""
    overlay = RT._diff(file_raw, new) or {}
    rel = os.path.relpath(Path(scenario_path).resolve(), path.resolve().parent)
    doc = {"extends": Path(rel).as_posix(), **overlay}
    cmd = " ".join(argv) if argv else f"cogov recommend {scenario_path}"
    head = (f"# Generated by cogov {__version__}: {cmd}\n"
            f"# The configuration recommended for {scenario_path} (routing table: "
            f"routing_table.csv; what changes and why: routing_diff.md).\n")
    path.write_text(head + dump_yaml(doc), encoding="utf-8")
    check = load_scenario(path)
    if scenario_sha256(check) != scenario_sha256(expected):  # pragma: no cover - guard
        raise UserError(f"{path}: the written scenario does not reproduce the recommendation")
    return path


MECHANISM = {
    "owner": ("cases go to {v} instead of {c} as main department (主办)",
              "主办部门由{c}改为{v}"),
    "dispatch": ("{v} dispatch instead of {c} (dual: the police attend too, adding police "
                 "hours and sharing the outcome)", "派单方式由{c}改为{v}"),
    "handback": ("handback {v}: cases the police close on site unsettled go to the grid for "
                 "follow-up", "回流网格：{v}（民警现场处置未化解的事项交网格员回访）"),
    "via_platform": ("through the street platform's triage desk: {v} (False: straight to the "
                     "owner; None: as the routing policy says)", "经街道平台分拨：{v}"),
    "routing": ("routing {c} -> {v} (territorial: the street platform triages reports and "
                "dispatches them to the owner's street team)", "派单模式由{c}改为{v}（以块为主，"
                "街道平台分拨）"),
    "staff": ("staff {c} -> {v} per team", "人员 {c} → {v}（每队）"),
    "other": ("{c} -> {v}", "{c} → {v}"),
}


def _evidence(s: Search, dim, value, lang: str = "en") -> str:
    """Main effect in the archive: mean primary objective of evaluated candidates with the
    recommended value vs with today's."""
    p = s.objectives[0]
    a = [c.mean(p) for c in s.order if s.ok(c) and c.config.get(dim.name) == value]
    b = [c.mean(p) for c in s.order if s.ok(c) and c.config.get(dim.name) == dim.current]
    if not a or not b:
        return ""
    kind = metric_info(p).kind
    ma, mb = (number(float(np.mean(x)), kind, 2, lang) for x in (a, b))
    if lang == "zh":
        return (f"搜索中取该值的方案{metric_info(p, 'zh').label}平均 {ma}（{len(a)} 个），"
                f"取现行值的平均 {mb}（{len(b)} 个）")
    return (f"searched candidates with this value: {p} {ma} on average (n={len(a)}) vs {mb} "
            f"with today's (n={len(b)})")


def routing_diff(s: Search, ref: Candidate, rec: Candidate, cur_rows, rec_rows) -> pd.DataFrame:
    """One row per changed table cell or setting, with the reason."""
    by_path: dict[str, SP.Dimension] = {p: d for d in s.space.dims for p in d.paths}
    cur = {r["code"]: r for r in cur_rows}
    rows = []

    def fmt(v):
        return ";".join(v) if isinstance(v, list) else str(v)

    col_field = {"main_department": "owner", "dispatch_mode": None, "handback": "handback",
                 "co_handlers": "co_handlers", "followup_owner": "handback",
                 "police_on_site": "police_on_site"}
    for r in rec_rows:
        c = cur[r["code"]]
        for col in ("main_department", "co_handlers", "dispatch_mode", "handback",
                    "followup_owner", "police_on_site"):
            if r[col] == c[col]:
                continue
            if col == "followup_owner" and r["handback"] != c["handback"]:
                continue   # follows the handback row (grid when handed back)
            path = (f"dispatch.modes.{r['code']}" if col == "dispatch_mode"
                    else f"catalogue.{r['code']}.{col_field[col]}")
            d = by_path.get(path) if col != "followup_owner" else None
            why = ""
            if d is not None:
                tmpl = MECHANISM.get(d.group, MECHANISM["other"])[0]
                why = tmpl.format(c=fmt(c[col]), v=fmt(r[col]))
                ev = _evidence(s, d, rec.config[d.name])
                why += f"; {ev}" if ev else ""
            elif col == "co_handlers":
                why = "the new main department is no longer its own co-handler"
            elif col == "followup_owner":
                why = "follows the handback setting"
            rows.append({"what": "routing table", "dimension": d.name if d else "",
                         "category": r["code"], "name": r["name"],
                         "name_zh": r["name_zh"], "column": col, "current": fmt(c[col]),
                         "recommended": fmt(r[col]), "why": why})
    table_paths = {"owner", "handback", "co_handlers"}
    for d in s.space.dims:
        if rec.config[d.name] == d.current:
            continue
        if d.group in ("owner", "dispatch", "handback"):
            continue
        for p in d.paths:
            if p.split(".")[-1] in table_paths and p.startswith("catalogue."):
                continue
            tmpl = MECHANISM.get(d.group, MECHANISM["other"])[0]
            why = tmpl.format(c=d.current, v=rec.config[d.name])
            ev = _evidence(s, d, rec.config[d.name])
            rows.append({"what": "setting", "dimension": d.name, "category": "",
                         "name": d.name, "name_zh": "",
                         "column": p, "current": str(d.current),
                         "recommended": str(rec.config[d.name]),
                         "why": why + (f"; {ev}" if ev else "")})
    if ref.headcount != rec.headcount:
        rows.append({"what": "headcount", "dimension": "", "category": "",
                     "name": "headcount", "name_zh": "",
                     "column": "departments.*.staff", "current": str(ref.headcount),
                     "recommended": str(rec.headcount),
                     "why": f"budget {s.space.headcount_budget}"})
    return pd.DataFrame(rows, columns=["what", "dimension", "category", "name", "name_zh",
                                       "column",
                                       "current", "recommended", "why"])


def diff_markdown(diff: pd.DataFrame, s: Search, ref, rec, lang: str) -> str:
    zh = lang == "zh"
    lines = ["# 建议的派单表与现行派单表的差异" if zh else
             "# Recommended vs current routing table", ""]
    if rec is ref or not len(diff):
        lines.append("无修改：建议保持现行配置。" if zh else
                     "No change: keep today's configuration.")
        return "\n".join(lines) + "\n"
    lines.append("| 类别/设置 | 字段 | 现行 | 建议 | 原因 |" if zh else
                  "| category / setting | column | current | recommended | why |")
    lines.append("|---|---|---|---|---|")
    for r in diff.itertuples():
        name = (r.name_zh or r.name) if zh else r.name
        what = f"{r.category} {name}".strip() if r.category else name
        why = r.why
        if zh:
            d = next((x for x in s.space.dims if x.name == r.dimension), None)
            if d is not None:
                why = MECHANISM.get(d.group, MECHANISM["other"])[1].format(
                    c=r.current, v=r.recommended)
                ev = _evidence(s, d, rec.config[d.name], "zh")
                why += f"；{ev}" if ev else ""
            elif r.column == "co_handlers":
                why = "新的主办部门不再列为协办"
            elif r.column == "followup_owner":
                why = "随回流设置而定"
        lines.append(f"| {what} | {r.column} | {r.current} | {r.recommended} | {why} |")
    return "\n".join(lines) + "\n"


def question(s: Search, lang: str) -> str:
    labels = [metric_info(m, lang).label for m in s.objectives]
    if lang == "zh":
        return (f"哪种派单配置（主办部门、单派/双派、回流网格、人员配置）能在"
                f"{'、'.join(labels)}之间取得最好的平衡，并在不确定性下稳健？")
    return (f"Which routing configuration (main departments, single or dual dispatch, handback, "
            f"staffing) trades off {', '.join(labels)} best, robustly?")


def _patch_manifest(ev_dir: Path, objective: str) -> None:
    p = ev_dir / "manifest.json"
    m = json.loads(p.read_text(encoding="utf-8"))
    m["objective"] = objective
    p.write_text(json.dumps(m, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- figure
def pareto_figure(s: Search, table: pd.DataFrame, lang: str = "en"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if lang == "zh":
        from .fonts import use_cjk_font

        use_cjk_font(quiet=True)
    p = s.objectives[0]
    q = "staff_hours_total" if "staff_hours_total" in s.objectives else s.objectives[-1]
    col = next((m for m in s.objectives if m not in (p, q)), None)
    ip, iq = metric_info(p, lang), metric_info(q, lang)
    sp = 100.0 if ip.kind == "share" else 1.0
    sq = 100.0 if iq.kind == "share" else 1.0
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    t = table[table["replications"] > 0]
    others = t[~t["on_front"] & ~t["today"]]
    ax.scatter(others[f"{q}.mean"] * sq, others[f"{p}.mean"] * sp, s=14, c="#bbbbbb",
               label="其他候选" if lang == "zh" else "other candidates", zorder=1)
    fr = t[t["on_front"]].sort_values(f"{q}.mean")
    if len(fr):
        colour = {"c": fr[f"{col}.mean"], "cmap": "viridis"} if col else {"c": "#1f77b4"}
        sc = ax.scatter(fr[f"{q}.mean"] * sq, fr[f"{p}.mean"] * sp, s=46, **colour,
                        edgecolors="black", linewidths=0.5, zorder=3,
                        label="帕累托前沿" if lang == "zh" else "Pareto front")
        ax.errorbar(fr[f"{q}.mean"] * sq, fr[f"{p}.mean"] * sp,
                    yerr=[(fr[f"{p}.mean"] - fr[f"{p}.ci_low"]).fillna(0) * sp,
                          (fr[f"{p}.ci_high"] - fr[f"{p}.mean"]).fillna(0) * sp],
                    fmt="none", ecolor="#555555", lw=0.8, zorder=2)
        if col:
            ic = metric_info(col, lang)
            cb = fig.colorbar(sc, ax=ax)
            cb.set_label(f"{ic.label} ({'h' if ic.kind == 'hours' else ic.kind})")
        for r in fr.to_dict("records"):
            ax.annotate(str(r["candidate"]), (r[f"{q}.mean"] * sq, r[f"{p}.mean"] * sp),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
    today = t[t["today"]]
    ax.scatter(today[f"{q}.mean"] * sq, today[f"{p}.mean"] * sp, marker="s", s=70,
               c="#d62728", label="现行配置" if lang == "zh" else "today", zorder=4)
    rec = t[t["recommended"]]
    if len(rec):
        ax.scatter(rec[f"{q}.mean"] * sq, rec[f"{p}.mean"] * sp, marker="*", s=220,
                   c="#ffbf00", edgecolors="black", label="建议方案" if lang == "zh"
                   else "recommended", zorder=5)
    ax.set_xlabel(f"{iq.label} ({'%' if iq.kind == 'share' else iq.kind.replace('_', ' ')})")
    ax.set_ylabel(f"{ip.label} ({'%' if ip.kind == 'share' else ip.kind.replace('_', ' ')})")
    ax.set_title("搜索得到的帕累托前沿（越靠左下越好）" if lang == "zh" else
                 "Pareto front of the search (lower left is better)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- brief
def brief_sections(out: str | Path, lang: str = "en") -> list[tuple[str, str]]:
    """The recommend section(s) of a brief from a recommend output directory: (heading, HTML)
    pairs, in English or Chinese. [outputs]' brief.py can call this for any DIR holding
    pareto.csv, routing_diff.csv and search.json."""
    out = Path(out)
    e = html.escape
    zh = lang == "zh"
    info = json.loads((out / "search.json").read_text(encoding="utf-8"))
    pareto = pd.read_csv(out / "pareto.csv")
    diff = pd.read_csv(out / "routing_diff.csv", dtype=str, keep_default_na=False)
    objs = info["objectives"]
    p = objs[0]

    def fmtm(m, x, diff_=False):
        i = metric_info(m, lang)
        return number(x, i.kind, 2, lang, diff_)

    head = "".join(f"<th>{e(metric_info(m, lang).label)}</th>" for m in objs)
    trs = []
    for r in pareto.sort_values(f"{p}.mean").to_dict("records"):
        who = ("现行" if zh else "today") if r["today"] else str(r["candidate"])
        if r.get("recommended"):
            who += " ★"
        cells = "".join(
            f"<td>{e(fmtm(m, r[f'{m}.mean']))} ({e(fmtm(m, r[f'{m}.ci_low']))}–"
            f"{e(fmtm(m, r[f'{m}.ci_high']))})</td>" for m in objs)
        share = r.get("robustness_share")
        share_s = "" if share is None or (isinstance(share, float) and math.isnan(share)) \
            else f"{share:.0%}"
        trs.append(f"<tr><td>{e(who)}</td>{cells}<td>{e(share_s)}</td>"
                   f"<td>{e(str(r['changes']))}</td></tr>")
    rob_h = "稳健性（优于现行的抽样比例）" if zh else "robustness (share of draws beating today)"
    ch_h = "修改" if zh else "changes"
    table = (f"<table><thead><tr><th>{'方案' if zh else 'candidate'}</th>{head}"
             f"<th>{rob_h}</th><th>{ch_h}</th></tr></thead><tbody>{''.join(trs)}</tbody>"
             f"</table>")
    if len(diff):
        drows = "".join(
            f"<tr><td>{e(str(r['category'] or r['name']))}</td><td>{e(str(r['column']))}</td>"
            f"<td>{e(str(r['current']))}</td><td>{e(str(r['recommended']))}</td>"
            f"<td>{e(str(r['why']))}</td></tr>" for r in diff.to_dict("records"))
        dhead = ("<tr><th>类别/设置</th><th>字段</th><th>现行</th><th>建议</th><th>依据</th></tr>"
                 if zh else "<tr><th>category / setting</th><th>column</th><th>current</th>"
                            "<th>recommended</th><th>why</th></tr>")
        dtable = f"<table><thead>{dhead}</thead><tbody>{drows}</tbody></table>"
    else:
        dtable = ("<p>没有候选方案在多数抽样中优于现行配置并满足约束：建议保持现行派单表。</p>"
                  if zh else "<p>No candidate beat today's configuration in most draws while "
                             "meeting the constraints: keep the current routing table.</p>")
    cons = ", ".join(info["constraints"]) or ("无" if zh else "none")
    unc = info.get("uncertain") or []
    n_d = len(info["seeds"]["robust"])
    v = info.get("validation", {}).get(p)
    if zh:
        zl = "、".join(metric_info(m, "zh").label for m in objs)
        how = (f"<p>多目标搜索（optuna NSGA-II）：目标为{e(zl)}"
               f"（均越低越好），约束 {e(cons)}。预算 {info['budget_runs']} 次模拟运行，"
               f"用了 {info['search_runs']} 次，评估 {info['candidates']} 个候选方案；"
               f"各方案在相同种子上运行（共同随机数），仍有竞争力的方案逐级加倍重复次数"
               f"（逐次减半），最多 {info['replications']} 次。前沿上的方案和现行配置在 {n_d} 次"
               f"新的抽样上重新运行"
               + (f"（每次同时抽取 {len(unc)} 个不确定参数，拉丁超立方）" if unc else
                  "（新种子；未给出不确定参数）")
               + "；“稳健性”为建议方案优于现行配置的抽样比例。</p>")
        if v:
            nv = len(info["seeds"]["validate"])
            how += (f"<p>验证（{nv} 个新种子）：{e(metric_info(p, 'zh').label)}"
                    f"由 {e(fmtm(p, v['current']))} 变为 {e(fmtm(p, v['recommended']))}，"
                    f"差值95%置信区间 {e(fmtm(p, v['ci_low'], True))} 至 "
                    f"{e(fmtm(p, v['ci_high'], True))}。</p>")
        return [("建议的派单配置", dtable), ("帕累托前沿", table), ("搜索方法", how)]
    how = (f"<p>Multi-objective search (optuna NSGA-II) minimising "
           f"{e(', '.join(metric_info(m).label for m in objs))} under {e(cons)}. Budget "
           f"{info['budget_runs']} simulation runs, {info['search_runs']} used, "
           f"{info['candidates']} candidates; every candidate runs on the same seeds (common "
           f"random numbers) and those still in contention get their replications doubled "
           f"(successive halving) up to {info['replications']}. The front's candidates and "
           f"today's configuration were re-run on {n_d} fresh draws"
           + (f", each also drawing {len(unc)} uncertain parameter(s) by Latin hypercube"
              if unc else " (fresh seeds; no uncertain parameters given)")
           + "; robustness is the share of draws in which a candidate beats today's "
             "configuration on " + e(metric_info(p).label) + ".</p>")
    if v:
        how += (f"<p>Validation on {len(info['seeds']['validate'])} fresh seeds: "
                f"{e(metric_info(p).label)} {e(fmtm(p, v['current']))} today, "
                f"{e(fmtm(p, v['recommended']))} recommended; difference 95% CI "
                f"{e(fmtm(p, v['ci_low'], True))} to {e(fmtm(p, v['ci_high'], True))}.</p>")
    return [("Recommended routing configuration", dtable), ("Pareto front", table),
            ("How the search worked", how)]


__all__ = ["recommend", "brief_sections", "parse_constraint", "Constraint", "derive",
           "primary_metric", "metric_def"]
