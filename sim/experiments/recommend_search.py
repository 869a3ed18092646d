"""The search state of `cogov recommend` (sim/experiments/recommend.py): candidates, runs
through a backend, NSGA-II generations with successive halving, the Pareto front and the robust
choice."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..metrics import better
from ..report.results import t_interval
from ..report.text import metric_info, number
from ..scenario.loader import ScenarioError, validate_mapping
from ..scenario.schema import Scenario
from . import recommend_space as SP
from .recommend_space import Constraint, Space

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
        self.presets: set[str] = set()             # keys of the seeded reform-lever candidates
        self.generations = 0
        self.converged = False                     # 20 generations without a new candidate
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
        from .backends import RunTask

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
    s.presets = {config_key(s.space.repair(c)) for c in s.space.levers()}
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
        s.generations = gen
        if dup_streak >= 20:
            s.converged = True
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
