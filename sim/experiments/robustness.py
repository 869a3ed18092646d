"""`cogov compare ... --uncertainty N`: does the verdict survive what nobody has measured?

**Assumptions.** The uncertain fields of the scenarios (`{uncertain: ...}`, see
`sim/scenario/uncertain.py`) and the entries of an optional ranges file
(`scenarios/assumptions/ranges.yaml`) are the assumptions. A ranges file maps a dotted path to a
distribution and the reasoning behind it:

    ranges:
      main_co.p_resolve_solo_factor:
        uncertain: triangular
        low: 0.4
        mode: 0.6
        high: 1.0
        neutral: 1.0        # optional: the value at which the mechanism has no effect
        why: >
          ...

A path may use `*` for any key and `[NAME]` to select a policy by name
(`assessment.policies[closure_speed].params.p_resolve_delta`,
`routing[sectoral].params.bounce_complain_boost`): the assumption then applies only to the
scenarios that use that policy. Where a scenario declares a field uncertain itself, its own
distribution wins over the ranges file. An assumption that applies to no scenario is dropped
with a note.

**Draws.** N points of the unit hypercube by Latin hypercube sampling (SALib `latin.sample`,
seeded by the root seed), one coordinate per assumption, turned into values by each
distribution's quantile function. Every scenario runs under every draw with the same R
replication seeds (common random numbers), so a draw's difference between two scenarios is the
policies' under that draw's assumptions. Per draw, a scenario's value of a metric is the mean
over its replications and its difference is the mean paired difference to the first scenario.

**Outputs** (beside the compare outputs in `--out`):

    robustness.csv              metric, scenario, share_better, p05, median, p95: the share of
                                draws in which the scenario is better than the first (by the
                                metric's direction in sim/metrics.py; empty where neither
                                direction is better) and percentiles of the difference over
                                draws
    uncertainty_draws.csv       draw, the value of every assumption, and per scenario and
                                metric the draw's difference to the first scenario
    sensitivity_uncertainty.csv metric, scenario, assumption, S1, S1_conf, note: first-order
                                Sobol indices of the difference (SALib RBD-FAST, which works on
                                Latin hypercube draws; needs `MIN_SOBOL_DRAWS` draws, else
                                "not estimated")
    scenario_discovery.csv      metric, scenario, reference, sentence, draws, better_draws,
                                losing_draws, box, box_draws, box_losing, density, coverage:
                                a PRIM box of the assumptions under which the scenario loses
                                (box: JSON list of [assumption, low or null, high or null])
    structural.csv              metric, scenario, effect_point, effect_neutral, structural_share:
                                the effect with every assumption that has a `neutral` value set
                                to it, against the effect at the point values
    uncertainty/                ledger.sqlite (resumable), assumptions.csv, manifest.json
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import math
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import UserError
from ..metrics import metric_def, sign
from ..progress import Progress
from ..scenario.loader import (
    ScenarioError,
    load_scenario,
    scenario_to_dict,
    uncertain_fields,
    validate_mapping,
)
from ..scenario.paths import set_path
from ..scenario.uncertain import RANGE_KEYS, Uncertain, UncertainError, parse
from .backends import RunTask, SerialBackend, make_backend
from .seeds import replication_seeds
from .stats import numeric_metrics
from .store import LEDGER, Ledger, write_csv

MIN_SOBOL_DRAWS = 32      # RBD-FAST, M = 4 harmonics: its bootstrap halves must exceed 2M
SOBOL_M = 4
MIN_PRIM_DRAWS = 20       # and at least 3 draws on each side of the verdict
PRIM_ALPHA = 0.1
HEADLINE = ("recomplaint_rate", "chase_rate", "median_time_to_close_hours", "citizen_repeat_rate",
            "repeat_complaint_rate",
            "on_time_rate", "dissatisfaction_rate", "backlog_end", "police_nonpolice_hours")
NOT_COMPARED = ("wall_seconds",)


# ---------------------------------------------------------------------- ranges and paths
@dataclass
class Assumption:
    """One dimension of the draws: a name and, per scenario, the concrete paths it sets."""

    name: str
    spec: Uncertain
    why: str = ""
    neutral: float | None = None
    source: str = ""                                    # "scenario NAME" or the ranges file
    paths: dict[str, list[tuple[str, Uncertain]]] = field(default_factory=dict)
    scale: bool = False           # the draw multiplies the value at each path

    def value_at(self, spec: Uncertain, base, x: float):
        """The field's value for draw (or neutral) value `x`: `x` itself, or `base * x`."""
        if self.scale:
            x = float(base) * x
        return int(round(x)) if spec.integer else x


_SEG = re.compile(r"^([^\[\]]+)(?:\[([^\[\]]+)\])?$")


def resolve(data: dict, pattern: str) -> list[str]:
    """Concrete dotted paths of `data` matched by `pattern` (`*` any key; `key[NAME]` the
    mapping (or list items) under `key` whose `policy` or `name` is NAME). The last segment may
    be absent (a parameter left at its default)."""
    segs = pattern.split(".")
    out: list[str] = []

    def walk(node, i, path):
        if i == len(segs):
            out.append(".".join(path))
            return
        m = _SEG.match(segs[i])
        if not m:
            return
        key, sel = m.groups()
        last = i == len(segs) - 1
        if isinstance(node, list):
            keys = [str(j) for j in range(len(node))] if key == "*" else (
                [key] if key.isdigit() and int(key) < len(node) else [])
            get = lambda k: node[int(k)]  # noqa: E731
        elif isinstance(node, dict):
            keys = list(node) if key == "*" else ([key] if key in node or (last and not sel)
                                                  else [])
            get = node.get
        else:
            return
        for k in keys:
            child = get(k)
            if sel is None:
                if last:
                    if child is None or isinstance(child, (int, float)):
                        out.append(".".join([*path, k]))
                else:
                    walk(child, i + 1, [*path, k])
                continue
            if isinstance(child, list):
                for j, item in enumerate(child):
                    if isinstance(item, dict) and sel in (item.get("policy"), item.get("name")):
                        walk(item, i + 1, [*path, k, str(j)])
            elif isinstance(child, dict) and sel in (child.get("policy"), child.get("name")):
                walk(child, i + 1, [*path, k])

    walk(data, 0, [])
    return out


def _get_or_none(data, path):
    from ..scenario.uncertain import get_path

    try:
        return get_path(data, path)
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def load_ranges(path: str | Path) -> dict[str, tuple[Uncertain, str, float | None]]:
    """{pattern: (distribution, why, neutral)} of a ranges file; every error listed."""
    from ..yamlsafe import read_file

    p = Path(path)
    data = read_file(p, "ranges file", "--ranges")     # strict: sim/yamlsafe.py
    if not isinstance(data, dict) or not isinstance(data.get("ranges"), dict):
        raise UserError([f"{p}: expected a mapping `ranges:` of dotted path: "
                         f"{{uncertain: FAMILY, ..., why: ...}} (see "
                         f"scenarios/assumptions/ranges.yaml)"])
    extra = sorted(set(data) - {"ranges", "version", "description"})
    errors = [f"{p}: {k}: unknown top-level key (use `ranges`)" for k in extra]
    out = {}
    for key, entry in data["ranges"].items():
        where = f"{p}: ranges.{key}"
        if not isinstance(entry, dict) or "uncertain" not in entry:
            errors.append(f"{where}: expected {{uncertain: FAMILY, ...params, why: ...}}")
            continue
        try:
            spec = parse(entry, allow=RANGE_KEYS)
        except UncertainError as exc:
            errors.append(f"{where}: {exc}")
            continue
        why = str(entry.get("why") or "").strip()
        if not why:
            errors.append(f"{where}: `why` is missing: say where the range comes from")
        neutral = entry.get("neutral")
        if neutral is not None and (isinstance(neutral, bool)
                                    or not isinstance(neutral, (int, float))):
            errors.append(f"{where}: neutral must be a number, got {neutral!r}")
            neutral = None
        scale = entry.get("scale", False)
        if not isinstance(scale, bool):
            errors.append(f"{where}: scale must be true or false, got {scale!r}")
        spec.extra["scale"] = bool(scale)
        out[str(key)] = (spec, why, None if neutral is None else float(neutral))
    if errors:
        raise UserError(errors)
    return out


def assumptions_for(loaded: list[tuple[str, dict, dict]], ranges: dict | None,
                    ranges_source: str = "") -> tuple[list[Assumption], list[str]]:
    """The draw dimensions from each (name, point mapping, uncertain fields) and the ranges."""
    dims: dict[str, Assumption] = {}
    notes = []
    own: dict[str, set[str]] = {}
    for name, _, specs in loaded:
        own[name] = set(specs)
        for p, spec in specs.items():
            a = dims.setdefault(p, Assumption(p, spec, source=f"scenario {name}"))
            a.paths.setdefault(name, []).append((p, spec))
    for pattern, (spec, why, neutral) in (ranges or {}).items():
        a = Assumption(pattern, spec, why, neutral, ranges_source,
                       scale=bool(spec.extra.get("scale")))
        for name, data, _ in loaded:
            hits = [c for c in resolve(data, pattern) if c not in own[name]]
            if a.scale:     # a multiplier needs a number to multiply
                hits = [c for c in hits if isinstance(_get_or_none(data, c), (int, float))]
            if hits:
                a.paths[name] = [(c, spec) for c in hits]
        if a.paths:
            if pattern in dims:
                dims[pattern].paths.update(a.paths)
            else:
                dims[pattern] = a
        else:
            notes.append(f"{ranges_source}: {pattern}: applies to none of the scenarios "
                         f"(left out)")
    return list(dims.values()), notes


# ---------------------------------------------------------------------- the analysis
@dataclass
class RobustnessResult:
    out: Path
    names: list[str]
    assumptions: list[Assumption]
    draws: int
    replications: int
    robustness: pd.DataFrame
    values: pd.DataFrame
    sobol: pd.DataFrame
    discovery: pd.DataFrame
    structural: pd.DataFrame
    runs: pd.DataFrame
    total: int
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return int((self.runs["status"] != "ok").sum()) if len(self.runs) else 0


def _load(items, overrides):
    loaded, errors = [], []
    for item in items:
        try:
            loaded.append(load_scenario(item, list(overrides)))
        except UserError as exc:
            errors += exc.errors
    if errors:
        raise UserError(errors)
    seen: dict[str, int] = {}
    names = []
    for path, sc in zip(items, loaded):
        n = sc.name if sc.name not in seen else f"{sc.name}_{Path(path).stem}"
        seen[n] = 1
        names.append(n)
    return names, loaded


DEFAULT_RANGES = Path("assumptions") / "ranges.yaml"


def default_ranges(scenarios) -> Path | None:
    """`assumptions/ranges.yaml` beside the first scenario file, if there is one (so
    `scenarios/baohe_before.yaml` finds `scenarios/assumptions/ranges.yaml`)."""
    if not scenarios:
        return None
    p = Path(scenarios[0]).parent / DEFAULT_RANGES
    return p if p.exists() else None


def check_args(scenarios, draws, ranges, overrides) -> None:
    """Fail early (before the compare runs) on a bad --ranges or no assumptions at all."""
    names, loaded = _load(scenarios, overrides)
    rng = load_ranges(ranges) if ranges else None
    dims, _ = assumptions_for([(n, scenario_to_dict(s), uncertain_fields(s))
                               for n, s in zip(names, loaded)], rng, str(ranges or ""))
    if not dims:
        raise UserError([f"--uncertainty {draws}: the scenarios declare no uncertain field and "
                         f"no --ranges file applies: give --ranges "
                         f"scenarios/assumptions/ranges.yaml or mark fields "
                         f"{{uncertain: ...}} (docs/experiments.md)"])
    if len(scenarios) < 2:
        raise UserError(["--uncertainty: needs at least two scenarios (the first is the "
                         "reference)"])
    errors = check_support(names, [scenario_to_dict(s) for s in loaded], dims)
    if errors:
        raise UserError(errors)


def check_support(names, datas, dims) -> list[str]:
    """Every scenario must stay valid with every assumption at the low end of its range, and
    at the high end (and at its neutral value): else a draw would fail. Errors name the
    assumption, the scenario and the fix."""
    from ..scenario.uncertain import get_path

    errors = []
    ends = [("low end", 0.0), ("high end", 1.0), ("neutral value", None)]
    for name, data in zip(names, datas):
        for d in dims:
            for path, spec in d.paths.get(name, []):
                try:
                    v = get_path(data, path)
                except (KeyError, IndexError, ValueError, TypeError):
                    continue
                if isinstance(v, int) and not isinstance(v, bool) and not spec.integer \
                        and not d.scale:
                    errors.append(f"{d.source or 'uncertain fields'}: {d.name}: {path} takes "
                                  f"whole numbers in {name}: add `integer: true`")
        for what, u in ends:
            trial = copy.deepcopy(data)
            where = {}
            for d in dims:
                for path, spec in d.paths.get(name, []):
                    if u is None:
                        if d.neutral is None:
                            continue
                        x = d.neutral
                    else:
                        x = spec.support()[int(u)]
                    v = d.value_at(spec, _get_or_none(data, path), x)
                    set_path(trial, path, v)
                    where[path] = (d, v)
            if not where:
                continue
            try:
                validate_mapping(trial, name)
            except ScenarioError as exc:
                for e in exc.errors:
                    loc, _, msg = e.partition(": ")[2].partition(": ")
                    hit = where.get(loc)
                    if hit:
                        d, v = hit
                        errors.append(f"{d.source or 'uncertain fields'}: {d.name}: its {what} "
                                      f"{v:g} is not allowed in {name} ({loc}: {msg}): narrow "
                                      f"the range" + (" or add `integer: true`" if "integer"
                                                      in msg else ""))
                    else:
                        errors.append(f"{name} with every assumption at its {what}: {e}")
    return list(dict.fromkeys(errors))


def lhs(n_dims: int, n: int, seed: int) -> np.ndarray:
    """n Latin-hypercube points in [0, 1]^n_dims (SALib)."""
    from SALib.sample import latin

    problem = {"num_vars": n_dims, "names": [f"x{i}" for i in range(n_dims)],
               "bounds": [[0.0, 1.0]] * n_dims}
    return np.asarray(latin.sample(problem, n, seed=int(seed) % (2 ** 32)), float)


def robustness(scenarios: list, draws: int, replications: int = 1, out: str | Path = ".",
               ranges: str | Path | None = None, seed: int | None = None,
               workers: int | None = None, backend=None, overrides=(), resume: bool = False,
               quiet: bool = True, max_memory=None, force: bool = False) -> RobustnessResult:
    """Run every scenario under `draws` Latin-hypercube draws of the assumptions (see the
    module doc) and write the robustness tables into `out`. Each draw's scenario passes the
    memory check (`sim.resources.check` with `max_memory`, `force`) before it runs: a draw
    that grows the district past it stops the command with exit 2."""
    if draws < 1:
        raise UserError([f"--uncertainty {draws}: need at least 1 draw"])
    names, loaded = _load(scenarios, overrides)
    if len(loaded) < 2:
        raise UserError(["--uncertainty: needs at least two scenarios (the first is the "
                         "reference)"])
    rng_file = load_ranges(ranges) if ranges else None
    datas = [scenario_to_dict(s) for s in loaded]
    dims, notes = assumptions_for([(n, d, uncertain_fields(s)) for n, d, s in
                                   zip(names, datas, loaded)], rng_file, str(ranges or ""))
    if not dims:
        raise UserError([f"--uncertainty {draws}: no uncertain field and no --ranges entry "
                         f"applies to these scenarios"])
    root = int(seed if seed is not None else loaded[0].run.seed)
    R = replications
    seeds = replication_seeds(root, R)
    U = lhs(len(dims), draws, root)
    neutral_dims = [d for d in dims if d.neutral is not None]
    points = draws + (1 if neutral_dims else 0)     # the last point: every neutral value
    S = len(loaded)

    def mapping(point: int, s: int) -> dict:
        data = copy.deepcopy(datas[s])
        for j, d in enumerate(dims):
            for path, spec in d.paths.get(names[s], []):
                if point < draws:
                    x = float(spec.ppf(U[point, j]))
                elif d.neutral is not None:
                    x = d.neutral
                else:
                    continue
                set_path(data, path, d.value_at(spec, _get_or_none(datas[s], path), x))
        return data

    out = Path(out)
    udir = out / "uncertainty"
    key = {"scenarios": [json.dumps(d, sort_keys=True, default=str) for d in datas],
           "dims": [[d.name, d.spec.describe(), d.neutral, d.scale,
                     {k: [p for p, _ in v] for k, v in d.paths.items()}] for d in dims],
           "draws": draws, "R": R, "seeds": seeds, "cogov": __version__}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    if (udir / LEDGER).exists() and not resume:
        raise UserError([f"{udir}: already holds uncertainty draws: add --resume to continue "
                         f"them, or choose another --out"])
    udir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(udir / LEDGER, ["scenario"])
    total = points * R * S
    try:
        meta = ledger.get_meta()
        if meta and meta.get("digest") != digest:
            raise UserError([f"{udir}: those draws were made for other scenarios, ranges, "
                             f"replications or seed: use a new --out"])
        if not meta:
            ledger.set_meta(kind="uncertainty", digest=digest)
        done = ledger.ids(("ok", "error"))
        n_bad = 0
        first_error: list[str] = []

        def tasks():
            nonlocal n_bad
            for p in range(points):
                for r in range(R):
                    for s in range(S):
                        rid = (p * R + r) * S + s
                        if rid in done:
                            continue
                        try:
                            sc = validate_mapping(mapping(p, s), f"{names[s]} draw {p}")
                        except ScenarioError as exc:   # recorded as a failed run
                            n_bad += 1
                            first_error.append(exc.errors[0])
                            ledger.record({"run_id": rid, "point": p, "replication": r,
                                           "seed": seeds[r], "status": "error",
                                           "error": "; ".join(exc.errors), "scenario": names[s]})
                            continue
                        if r == 0:     # a draw may grow the district: check its memory
                            from ..resources import check, estimate

                            check(estimate(sc), source=f"--uncertainty: {names[s]} draw {p}",
                                  max_memory=max_memory, force=force,
                                  parallel=getattr(backend, "workers", 1))
                        yield RunTask(rid, seeds[r], scenario=sc, label=names[s])

        if backend is None:
            n = min(workers or __import__("os").cpu_count() or 1, total)
            backend = SerialBackend() if n <= 1 else make_backend("process", n)
        if not quiet:
            print(f"uncertainty: {len(dims)} assumptions, {draws} Latin-hypercube draws"
                  f"{' + the neutral point' if neutral_dims else ''} x {R} replications x "
                  f"{S} scenarios = {total} runs ({total - len(done)} to go)", file=sys.stderr)
        bar = Progress(total, "uncertainty", enabled=False if quiet else None, lines=True)
        n_done = len(done)
        for task, res in backend.run(tasks()):
            p, rem = divmod(task.run_id, R * S)
            r, s = divmod(rem, S)
            ledger.record({"run_id": task.run_id, "point": p, "replication": r,
                           "seed": task.seed, "status": res["status"], "error": res["error"],
                           "scenario": names[s], **res["summary"],
                           "wall_seconds": res["wall_seconds"], "traceback": res["traceback"]})
            n_done += 1
            bar.update(n_done + n_bad)
        bar.close()
        runs = ledger.read()
    finally:
        ledger.close()
    write_csv(runs.drop(columns=["traceback"], errors="ignore"), udir / "runs.csv")
    write_csv(pd.DataFrame([{"assumption": d.name, "distribution": d.spec.describe()
                             + (" (multiplier)" if d.scale else ""),
                             "neutral": d.neutral, "applies_to": ", ".join(d.paths),
                             "paths": "; ".join(sorted({p for v in d.paths.values()
                                                        for p, _ in v})),
                             "source": d.source, "why": d.why} for d in dims]),
              udir / "assumptions.csv")
    if not quiet:
        print("uncertainty: analysing the draws (how often each difference holds, Sobol "
              "indices, discovery boxes)", file=sys.stderr, flush=True)
    res = analyse(runs, names, dims, U, draws, R, root, out, notes)
    res.total = total
    (udir / "manifest.json").write_text(json.dumps({
        "kind": "uncertainty", "scenarios": names, "draws": draws, "replications": R,
        "root_seed": root, "seeds": seeds, "ranges": str(ranges) if ranges else None,
        "assumptions": [d.name for d in dims], "sampler": "SALib latin.sample",
        "cogov_version": __version__,
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds")},
        indent=2) + "\n", encoding="utf-8")
    return res


def analyse(runs, names, dims, U, draws, R, root, out, notes) -> RobustnessResult:
    out = Path(out)
    ok = runs[runs["status"] == "ok"]
    metrics = numeric_metrics(ok, ("scenario", *NOT_COMPARED))
    ref = names[0]
    # per (point, replication): paired difference to the first scenario, then mean over reps
    diffs: dict[tuple[str, str], pd.Series] = {}
    bad = set(runs.loc[runs["status"] != "ok", "point"])
    if bad:
        notes.append(f"{len([b for b in bad if b < draws])} draws left out: a run of theirs "
                     f"failed (see uncertainty/runs.csv `error`)")
    for m in metrics:
        wide = ok.pivot_table(index=["point", "replication"], columns="scenario", values=m,
                              aggfunc="first")
        for s in names[1:]:
            if s not in wide or ref not in wide:
                continue
            d = (pd.to_numeric(wide[s], errors="coerce")
                 - pd.to_numeric(wide[ref], errors="coerce")).groupby(level="point").mean()
            diffs[(m, s)] = d.drop(index=[b for b in bad if b in d.index])
    # robustness table
    rows = []
    for (m, s), d in diffs.items():
        dd = d[d.index < draws].dropna()
        if dd.empty:
            continue
        sg = sign(m)
        rows.append({"metric": m, "scenario": s,
                     "share_better": float((sg * dd > 0).mean()) if sg else np.nan,
                     "p05": float(dd.quantile(0.05)), "median": float(dd.median()),
                     "p95": float(dd.quantile(0.95))})
    rob = pd.DataFrame(rows, columns=["metric", "scenario", "share_better", "p05", "median",
                                      "p95"])
    # the draws table
    vals = pd.DataFrame(
        {d.name: [d.spec.value(U[i, j]) for i in range(draws)] for j, d in enumerate(dims)})
    vals.insert(0, "draw", range(draws))
    extra = {f"{s}:{m}": diffs[(m, s)].reindex(range(draws)).to_numpy(float)
             for (m, s) in diffs if m in HEADLINE}
    values = pd.concat([vals, pd.DataFrame(extra)], axis=1)
    sobol = _sobol(diffs, dims, U, draws, root)
    discovery = _discovery(diffs, dims, vals, draws, names)
    structural = _structural(diffs, draws, bool([d for d in dims if d.neutral is not None]))
    write_csv(rob, out / "robustness.csv")
    write_csv(values, out / "uncertainty_draws.csv")
    write_csv(sobol, out / "sensitivity_uncertainty.csv")
    write_csv(discovery, out / "scenario_discovery.csv")
    write_csv(structural, out / "structural.csv")
    return RobustnessResult(out, names, dims, draws, R, rob, values, sobol, discovery,
                            structural, runs, 0, notes)


def _sobol(diffs, dims, U, draws, seed) -> pd.DataFrame:
    cols = ["metric", "scenario", "assumption", "S1", "S1_conf", "note"]
    rows = []
    for (m, s), d in diffs.items():
        if m not in HEADLINE:
            continue
        y = d.reindex(range(draws)).to_numpy(float)
        keep = ~np.isnan(y)
        n = int(keep.sum())
        if n < MIN_SOBOL_DRAWS or np.ptp(y[keep]) == 0:
            why = (f"not estimated: first-order Sobol indices (RBD-FAST) need at least "
                   f"{MIN_SOBOL_DRAWS} draws, this run has {n}" if n < MIN_SOBOL_DRAWS
                   else "not estimated: the difference does not vary over the draws")
            rows += [{"metric": m, "scenario": s, "assumption": a.name, "S1": np.nan,
                      "S1_conf": np.nan, "note": why} for a in dims]
            continue
        from SALib.analyze import rbd_fast

        problem = {"num_vars": len(dims), "names": [a.name for a in dims],
                   "bounds": [[0.0, 1.0]] * len(dims)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = rbd_fast.analyze(problem, U[keep], y[keep], M=SOBOL_M, seed=int(seed) % 2**32)
        for j, a in enumerate(dims):
            rows.append({"metric": m, "scenario": s, "assumption": a.name,
                         "S1": float(si["S1"][j]), "S1_conf": float(si["S1_conf"][j]),
                         "note": ""})
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------- PRIM
def prim_box(X: np.ndarray, y: np.ndarray, alpha: float = PRIM_ALPHA,
             min_support: float = 0.1) -> tuple[np.ndarray, np.ndarray, list]:
    """Patient Rule Induction Method (Friedman & Fisher 1999) for a 0/1 outcome.

    Peeling: from the box holding every point, repeatedly remove the `alpha` share of the
    points in the box at the low or high end of one dimension, choosing the peel that leaves
    the highest mean of y, until fewer than `min_support` of the points remain; each step's
    box is on the peeling trajectory. The box chosen is the densest on the trajectory that
    still covers at least half the cases of interest (ties: the larger). Pasting: then widen
    any bound again while that raises the density. Returns (low, high, trajectory) with
    trajectory rows (support, density, coverage)."""
    n, k = X.shape
    lo, hi = X.min(axis=0).astype(float), X.max(axis=0).astype(float)
    total = y.sum()

    def inside(low, high):
        return np.all((X >= low) & (X <= high), axis=1)

    def stats(mask):
        c = int(mask.sum())
        dens = float(y[mask].mean()) if c else 0.0
        cov = float(y[mask].sum() / total) if total else 0.0
        return c / n, dens, cov

    box = (lo.copy(), hi.copy())
    traj = [(box[0].copy(), box[1].copy(), *stats(inside(*box)))]
    while True:
        mask = inside(*box)
        if mask.sum() / n < min_support + alpha / 2:
            break
        best = None
        for j in range(k):
            xs = X[mask, j]
            for side in ("low", "high"):
                q = np.quantile(xs, alpha if side == "low" else 1 - alpha)
                low, high = box[0].copy(), box[1].copy()
                if side == "low":
                    low[j] = q if q > low[j] else np.nextafter(low[j], np.inf)
                    keep = mask & (X[:, j] >= low[j])
                else:
                    high[j] = q if q < high[j] else np.nextafter(high[j], -np.inf)
                    keep = mask & (X[:, j] <= high[j])
                if keep.sum() == mask.sum() or keep.sum() == 0:
                    continue
                score = y[keep].mean()
                if best is None or score > best[0]:
                    best = (score, low, high)
        if best is None:
            break
        box = (best[1], best[2])
        traj.append((box[0].copy(), box[1].copy(), *stats(inside(*box))))
    ok = [t for t in traj if t[4] >= 0.5] or traj[:1]
    low, high = max(ok, key=lambda t: (round(t[3], 9), t[2]))[:2]
    # pasting
    improved = True
    while improved:
        improved = False
        dens = stats(inside(low, high))[1]
        for j in range(k):
            for side in ("low", "high"):
                cand = (X[:, j] < low[j]) if side == "low" else (X[:, j] > high[j])
                cand &= np.all((X >= low) & (X <= high) | (np.arange(k) == j), axis=1)
                if not cand.any():
                    continue
                vals = np.sort(X[cand, j])
                step = max(1, int(round(alpha * inside(low, high).sum())))
                new = vals[-step] if side == "low" else vals[step - 1]
                nl, nh = low.copy(), high.copy()
                if side == "low":
                    nl[j] = new
                else:
                    nh[j] = new
                d2 = stats(inside(nl, nh))[1]
                if d2 > dens + 1e-12:
                    low, high, dens, improved = nl, nh, d2, True
    return low, high, [t[2:] for t in traj]


def _fmt_value(v: float) -> str:
    a = abs(v)
    return f"{v:.3g}" if a < 1000 else f"{v:,.0f}"


def _discovery(diffs, dims, vals, draws, names) -> pd.DataFrame:
    cols = ["metric", "scenario", "reference", "sentence", "draws", "better_draws",
            "losing_draws", "box", "box_draws", "box_losing", "density", "coverage"]
    rows = []
    X = vals[[d.name for d in dims]].to_numpy(float)
    for (m, s), d in diffs.items():
        if m not in HEADLINE or not sign(m):
            continue
        y_all = d.reindex(range(draws)).to_numpy(float)
        keep = ~np.isnan(y_all)
        n = int(keep.sum())
        if n == 0 or not np.nanmax(np.abs(y_all), initial=0.0) > 0:
            continue
        lose = (sign(m) * y_all[keep] < 0).astype(float)
        n_lose = int(lose.sum())
        row = {"metric": m, "scenario": s, "reference": names[0], "draws": n,
               "better_draws": int((sign(m) * y_all[keep] > 0).sum()), "losing_draws": n_lose,
               "box": "", "box_draws": np.nan, "box_losing": np.nan, "density": np.nan,
               "coverage": np.nan}
        if 0 < n_lose < n and n >= MIN_PRIM_DRAWS and min(n_lose, n - n_lose) >= 3:
            low, high, _ = prim_box(X[keep], lose)
            full_lo, full_hi = X[keep].min(axis=0), X[keep].max(axis=0)
            conds = []
            for j, a in enumerate(dims):
                cut_lo = low[j] > full_lo[j] + 1e-12
                cut_hi = high[j] < full_hi[j] - 1e-12
                if cut_lo or cut_hi:
                    width = (high[j] - low[j]) / ((full_hi[j] - full_lo[j]) or 1)
                    conds.append((width, [a.name, float(low[j]) if cut_lo else None,
                                          float(high[j]) if cut_hi else None]))
            conds.sort(key=lambda c: c[0])
            inside = np.all((X[keep] >= low) & (X[keep] <= high), axis=1)
            row.update(box=json.dumps([c[1] for c in conds[:3]]), box_draws=int(inside.sum()),
                       box_losing=int(lose[inside].sum()),
                       density=float(lose[inside].mean()) if inside.any() else np.nan,
                       coverage=float(lose[inside].sum() / n_lose))
        row["sentence"] = discovery_sentence(row)
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _cond(name: str, lo, hi, zh: bool) -> str:
    if lo is not None and hi is not None:
        return f"{_fmt_value(lo)} <= {name} <= {_fmt_value(hi)}"
    if lo is not None:
        return f"{name} >= {_fmt_value(lo)}"
    return f"{name} <= {_fmt_value(hi)}"


def discovery_sentence(row, lang: str = "en") -> str:
    """The scenario-discovery sentence of one `scenario_discovery.csv` row."""
    zh = lang == "zh"
    d = metric_def(row["metric"])
    label = d.zh if zh else f"the {d.en}"
    s, ref = row["scenario"], row["reference"]
    n, n_lose, n_better = int(row["draws"]), int(row["losing_draws"]), int(row["better_draws"])
    box = row.get("box")
    box = json.loads(box) if isinstance(box, str) and box else None
    if n_lose == 0:
        if n_better == n:
            return (f"在全部 {n} 次抽样中，{s}在{label}上都优于{ref}。" if zh else
                    f"{s} does better than {ref} on {label} in all {n} draws.")
        return (f"{s}在{label}上从不差于{ref}（{n} 次抽样中 {n_better} 次更优，其余持平）。"
                if zh else f"{s} never does worse than {ref} on {label} ({n_better} of {n} "
                           f"draws better, the rest equal).")
    if n_lose == n:
        return (f"在全部 {n} 次抽样中，{s}在{label}上都差于{ref}。" if zh else
                f"{s} does worse than {ref} on {label} in all {n} draws.")
    if box is None and (n < MIN_PRIM_DRAWS or min(n_lose, n - n_lose) < 3):
        return (f"{s}在{label}上于 {n} 次抽样中有 {n_lose} 次较差：抽样太少，无法判断取决于哪些假设"
                f"（情景发现至少需要 {MIN_PRIM_DRAWS} 次抽样，两种结果各至少 3 次）。" if zh else
                f"{s} loses on {label} in {n_lose} of {n} draws: too few draws to say under "
                f"which assumptions (scenario discovery needs at least {MIN_PRIM_DRAWS} draws "
                f"with 3 or more on each side).")
    if not box:
        return (f"{s}在{label}上于 {n} 次抽样中有 {n_lose} 次较差，"
                f"没有简单的假设区间能把它们区分出来。" if zh else
                f"{s} loses on {label} in {n_lose} of {n} draws, with no simple range of the "
                f"assumptions that singles them out.")
    conds = (" 且 " if zh else " and ").join(_cond(*c, zh) for c in box)
    bl, bd, cov = int(row["box_losing"]), int(row["box_draws"]), float(row["coverage"])
    if zh:
        return (f"当 {conds} 时，{s}在{label}上差于{ref}（该区域 {bd} 次抽样中 {bl} 次较差，"
                f"占全部 {n_lose} 次较差抽样的 {cov:.0%}）。")
    return (f"{s} loses on {label} when {conds} ({bl} of the {bd} draws in that box lose, "
            f"{cov:.0%} of all {n_lose} losing draws).")


def _structural(diffs, draws, has_neutral) -> pd.DataFrame:
    cols = ["metric", "scenario", "effect_point", "effect_neutral", "structural_share"]
    if not has_neutral:
        return pd.DataFrame(columns=cols)
    rows = []
    for (m, s), d in diffs.items():
        if draws not in d.index:
            continue
        rows.append({"metric": m, "scenario": s, "effect_point": np.nan,
                     "effect_neutral": float(d.loc[draws]), "structural_share": np.nan})
    return pd.DataFrame(rows, columns=cols)


def add_point_effects(res: RobustnessResult, comparison: pd.DataFrame) -> None:
    """Fill structural.csv's point effects from compare's comparison table (same seeds)."""
    st = res.structural
    if st.empty:
        return
    c = comparison.set_index(["metric", "scenario"])["diff_mean"]
    for i, r in st.iterrows():
        pt = c.get((r["metric"], r["scenario"]), np.nan)
        st.at[i, "effect_point"] = pt
        st.at[i, "structural_share"] = (r["effect_neutral"] / pt
                                        if pt and not math.isnan(pt) else np.nan)
    write_csv(st, res.out / "structural.csv")


def structural_sentence(structural: pd.DataFrame, metric: str, scenario: str,
                        lang: str = "en") -> str | None:
    """One plain sentence on how much of the effect is structural."""
    r = structural[(structural["metric"] == metric) & (structural["scenario"] == scenario)]
    if r.empty or pd.isna(r.iloc[0]["structural_share"]):
        return None
    r = r.iloc[0]
    d = metric_def(metric)
    zh = lang == "zh"
    k = 100.0 if d.kind == "share" else 1.0
    unit = (" 个百分点" if zh else " pp") if d.kind == "share" else ""
    share = float(r["structural_share"])
    neutral, point = f"{r['effect_neutral'] * k:+.2f}{unit}", f"{r['effect_point'] * k:+.2f}{unit}"
    if zh:
        part = ("效应方向反转，即全部效应都来自假设的效应大小" if share < 0 else
                f"约 {min(share, 9.99):.0%} 是结构性的（按模型中的分派、能力与时延），"
                f"{max(0.0, 1 - share):.0%} 来自假设的效应大小")
        return (f"若所有假设的效应大小取中性值，{scenario}对{d.zh}的效应为 {neutral}，"
                f"而非 {point}：{part}。")
    if share < 0:
        part = ("the effect turns the other way, so the whole of it rests on the assumed "
                "effect sizes")
    else:
        part = (f"about {min(share, 9.99):.0%} of it is structural (routing, capacity, delays "
                f"as modelled) and {max(0.0, 1 - share):.0%} comes from the assumed effect "
                f"sizes")
    return (f"With every assumed effect size at its neutral value, the effect of {scenario} on "
            f"the {d.en} is {neutral} instead of {point}: {part}.")


def print_robustness(res: RobustnessResult, stream=None) -> None:
    stream = stream or sys.stdout
    for n in res.notes:
        print(f"note: {n}", file=stream)
    print(f"Robustness over {res.draws} draws of {len(res.assumptions)} assumptions "
          f"(Latin hypercube; {res.replications} replication(s) per draw, common seeds): share "
          f"of draws in which each scenario is better than {res.names[0]}, and the 5th, 50th "
          f"and 95th percentiles of the difference", file=stream)
    rob = res.robustness
    for m in HEADLINE:
        g = rob[rob["metric"] == m]
        if g.empty or not np.nanmax(np.abs(g[["p05", "median", "p95"]].to_numpy(float)),
                                    initial=0.0) > 0:
            continue
        d = metric_def(m)
        k, unit = (100.0, "pp") if d.kind == "share" else (1.0, {"hours": "h"}.get(
            d.kind, d.kind.replace("_", " ")))
        for _, r in g.iterrows():
            share = "-" if pd.isna(r["share_better"]) else f"{r['share_better']:.0%}"
            print(f"  {d.en:<45} {r['scenario']:<16} better in {share:>4}  difference "
                  f"{r['median'] * k:+.2f} {unit} [{r['p05'] * k:+.2f}, {r['p95'] * k:+.2f}]",
                  file=stream)
    for s in res.discovery["sentence"] if len(res.discovery) else []:
        print(f"  {s}", file=stream)
    sob = res.sobol
    if len(sob) and sob["S1"].notna().any():
        top = sob.dropna(subset=["S1"]).sort_values("S1", ascending=False)
        top = top[top["metric"] == HEADLINE[0]].head(3)
        if len(top):
            print("  the repeat-rate difference hinges most on: " + ", ".join(
                f"{r.assumption} (S1 {r.S1:.2f})" for r in top.itertuples()), file=stream)
    elif len(sob):
        print(f"  Sobol indices: {sob['note'].iloc[0]}", file=stream)
    for m in HEADLINE[:1]:
        for s in res.names[1:]:
            t = structural_sentence(res.structural, m, s)
            if t:
                print(f"  {t}", file=stream)
    o = res.out
    print(f"results: {o}/robustness.csv, uncertainty_draws.csv, sensitivity_uncertainty.csv, "
          f"scenario_discovery.csv, structural.csv, uncertainty/", file=stream)
