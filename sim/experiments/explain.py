"""`cogov explain A.yaml B.yaml`: which part of a policy package buys its effect.

The settings in which B differs from A are grouped into **factors**. By default a factor is a
group of declared differences (`sim/assumptions.py`, the list `cogov diff` reads): each lever
(`routing`, `assessment`, `main_co`, `dispatch`, `handback`, `linkage`, `platform`,
`departments` ...), each assumed effect (its path, e.g. `dispatch.police_hours_share`,
`catalogue.*.p_complex` across categories) and each data input (`catalogue`, `district` ...).
Labelling fields (names, display names, descriptions) are never factors. An undeclared
setting (which `cogov diff` reports as an error) falls back to its top-level section.
A **combination** takes each factor's settings from A or from B, so
there are 2^k of them: the empty one is A, the full one is B.

Every combination runs R replications with the same R seeds (**common random numbers**: all of
them face the same problems at the same times). For replication r, v_r(S) is the metric of
combination S and the **Shapley value** of factor i is

    phi_i,r = sum over S not containing i of |S|! (k - |S| - 1)! / k! * (v_r(S + i) - v_r(S))

i.e. the factor's marginal effect averaged over every order in which the factors could be
switched from A to B. The phi_i,r of one replication add up to v_r(B) - v_r(A) exactly
(efficiency), factors that act identically get equal values (symmetry), and a factor that
changes nothing gets 0. `attribution.csv` holds, per metric, the mean over replications of
phi_i,r with a 95% t-interval over replications, and a `total` row with B - A (mean and
t-interval of the paired differences): the contributions add up to the total to floating-point
precision, because each replication's do.

**Interactions** (`interactions.csv`): the Shapley interaction index of every pair,

    I_ij = sum over S without i, j of |S|! (k - |S| - 2)! / (k - 1)! *
           (v(S + i + j) - v(S + i) - v(S + j) + v(S))

the pair's joint effect beyond the sum of their separate effects, averaged over the contexts S
(positive: they reinforce each other on this metric; negative: they overlap or substitute).

**More than 8 factors**: 2^k runs grow too fast, so above `EXACT_MAX` factors the values are
estimated by permutation sampling (Castro, Gómez & Tejada 2009): `permutations` random orders
(default 2k, half of them the reverses of the others: antithetic), each switching the factors
from A to B one at a time; a factor's value is its mean marginal effect over the orders. Each
order's marginal effects still add up to B - A, so efficiency stays exact; the estimate's own
sampling error is not in the CI (which is over replications). Interactions are not estimated
then.

Runs go through the sweep backends (serial, process, Dask) and stream into
`ledger.sqlite` like `cogov sweep`: a killed run continues with `--resume`, rerunning only
the runs not recorded. Output directory:

    manifest.json      command, scenarios (path, sha256), factors, seeds, method
    factors.csv        factor, paths (the settings it groups), value in A, value in B
    ledger.sqlite      one committed row per finished run (store.py)
    runs.csv           the ledger exported: coalition, one 0/1 column per factor (1 = B's
                       settings), replication, seed, status, every summary metric
    attribution.csv    metric, factor, contribution, ci_low, ci_high (+ a `total` row)
    interactions.csv   metric, factor_a, factor_b, interaction, ci_low, ci_high (k <= 8)
    figures/           waterfall_<metric>.png/.pdf per headline metric
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import itertools
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..assumptions import group_of, is_label
from ..errors import UserError
from ..metrics import metric_def
from ..progress import Progress
from ..scenario.diff import diff_leaves
from ..scenario.loader import (
    ScenarioError,
    load_scenario,
    scenario_sha256,
    scenario_to_dict,
    validate_mapping,
)
from .backends import Backend, RunTask, make_backend
from .seeds import replication_seeds
from .spec import RESERVED
from .stats import numeric_metrics, t_interval
from .store import LEDGER, Ledger, write_csv

EXACT_MAX = 8
HEADLINE = ("recomplaint_rate", "chase_rate", "median_time_to_close_hours", "citizen_repeat_rate",
            "repeat_complaint_rate",
            "on_time_rate", "dissatisfaction_rate", "backlog_end", "police_nonpolice_hours",
            "throughput_per_day")
NOT_FACTORS = ("name", "description")
NOT_EXPLAINED = ("wall_seconds",)


# ---------------------------------------------------------------------- factors
@dataclass
class Factor:
    """A group of settings switched together from A's values to B's."""

    name: str
    paths: list[str] = field(default_factory=list)


def default_group(path: str) -> str:
    """The factor a differing setting belongs to by default: its declaration's group in
    sim/assumptions.py (the list `cogov diff` reads); an undeclared setting by its top-level
    section (catalogue fields by field name across categories)."""
    g = group_of(path)
    if g is not None:
        return g
    parts = path.split(".")
    if parts[0] == "catalogue":
        return f"catalogue.{parts[2]}" if len(parts) >= 3 else "catalogue.categories"
    if parts[0] == "channels":
        return "channels"
    return parts[0]


def _matches(pattern: list[str], path: list[str]) -> bool:
    return len(path) >= len(pattern) and all(p in ("*", x) for p, x in zip(pattern, path))


def parse_factor_specs(specs: list[str]) -> list[tuple[str, list[list[str]]]]:
    """`--factors` values: `NAME=path,path` or `path` (named after itself); `*` matches any
    key in a path segment."""
    out, seen = [], set()
    for spec in specs:
        for item in [spec] if "=" in spec else [s for s in spec.split(",")]:
            name, _, rest = item.partition("=")
            paths = [p.strip() for p in (rest if rest else name).split(",") if p.strip()]
            name = name.strip()
            if not name or not paths:
                raise UserError([f"--factors {spec}: expected NAME=dotted.path[,path...] or a "
                                 f"dotted path, e.g. --factors "
                                 f"'staffing=departments.*.staff'"])
            if name in seen:
                raise UserError([f"--factors {spec}: factor {name!r} is named twice"])
            if name in RESERVED or name == "coalition":
                raise UserError([f"--factors {spec}: {name!r} is a column of runs.csv: "
                                 f"choose another factor name"])
            seen.add(name)
            out.append((name, [p.split(".") for p in paths]))
    return out


def group_factors(leaves: list[str], specs: list[str] = ()) -> tuple[list[Factor], list[str]]:
    """Factors from the differing leaves: `--factors` patterns first (longest match wins), the
    rest by `default_group`. Returns (factors, notes)."""
    custom = parse_factor_specs(list(specs))
    groups: dict[str, list[str]] = {}
    notes = []
    used = {name: 0 for name, _ in custom}
    for leaf in leaves:
        if leaf.split(".")[0] in NOT_FACTORS or is_label(leaf):
            continue   # labelling fields (names, descriptions) are never factors
        parts = leaf.split(".")
        best, best_len = None, -1
        for name, patterns in custom:
            for pat in patterns:
                if _matches(pat, parts) and len(pat) > best_len:
                    best, best_len = name, len(pat)
        name = best or default_group(leaf)
        if best:
            used[best] += 1
        groups.setdefault(name, []).append(leaf)
    for name, n in used.items():
        if n == 0:
            notes.append(f"--factors: {name!r} matches no setting that differs between the two "
                         f"scenarios; left out")
    order = [n for n, _ in custom if n in groups] + [n for n in groups
                                                     if n not in dict(custom)]
    return [Factor(n, groups[n]) for n in order], notes


def _get(data, path: str):
    node = data
    for part in path.split("."):
        node = node[part]
    return node


def _has(data, path: str) -> bool:
    try:
        _get(data, path)
        return True
    except (KeyError, TypeError):
        return False


def combination(a: dict, b: dict, factors: list[Factor], mask: int) -> dict:
    """A's mapping with the settings of every factor whose bit is set in `mask` taken from B."""
    out = copy.deepcopy(a)
    for i, f in enumerate(factors):
        if not mask >> i & 1:
            continue
        for path in f.paths:
            *head, last = path.split(".")
            node = out
            for part in head:
                node = node.setdefault(part, {})
            if _has(b, path):
                node[last] = copy.deepcopy(_get(b, path))
            else:
                node.pop(last, None)
    return out


# ---------------------------------------------------------------------- Shapley arithmetic
def coalitions_exact(k: int) -> list[int]:
    return list(range(2 ** k))


def permutation_orders(k: int, n: int, seed: int) -> list[list[int]]:
    """`n` random orders of k factors (rounded up to even), each followed by its reverse."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1442,)))
    orders = []
    for _ in range(max(1, math.ceil(n / 2))):
        p = [int(x) for x in rng.permutation(k)]
        orders += [p, p[::-1]]
    return orders


def coalitions_sampled(k: int, orders: list[list[int]]) -> list[int]:
    masks = {0}
    for order in orders:
        m = 0
        for i in order:
            m |= 1 << i
            masks.add(m)
    return sorted(masks)


def shapley_exact(values: dict[int, np.ndarray], k: int) -> np.ndarray:
    """Shapley values (k x R) from v(mask) arrays of length R over all 2^k masks."""
    w = [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    R = len(values[0])
    phi = np.zeros((k, R))
    for i in range(k):
        bit = 1 << i
        for mask in range(2 ** k):
            if mask & bit:
                continue
            phi[i] += w[bin(mask).count("1")] * (values[mask | bit] - values[mask])
    return phi


def shapley_sampled(values: dict[int, np.ndarray], k: int,
                    orders: list[list[int]]) -> np.ndarray:
    R = len(values[0])
    phi = np.zeros((k, R))
    for order in orders:
        m = 0
        for i in order:
            phi[i] += values[m | 1 << i] - values[m]
            m |= 1 << i
    return phi / len(orders)


def interaction_index(values: dict[int, np.ndarray], k: int) -> dict[tuple[int, int], np.ndarray]:
    """Shapley interaction index of every pair (arrays of length R)."""
    if k < 2:
        return {}
    w = [math.factorial(s) * math.factorial(k - s - 2) / math.factorial(k - 1)
         for s in range(k - 1)]
    out = {}
    for i, j in itertools.combinations(range(k), 2):
        bi, bj = 1 << i, 1 << j
        acc = np.zeros_like(values[0], dtype=float)
        for mask in range(2 ** k):
            if mask & (bi | bj):
                continue
            acc += w[bin(mask).count("1")] * (values[mask | bi | bj] - values[mask | bi]
                                               - values[mask | bj] + values[mask])
        out[(i, j)] = acc
    return out


# ---------------------------------------------------------------------- the command
@dataclass
class ExplainResult:
    out: Path
    factors: list[Factor]
    attribution: pd.DataFrame
    interactions: pd.DataFrame
    runs: pd.DataFrame
    total: int
    method: str
    names: tuple[str, str]
    notes: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return int((self.runs["status"] != "ok").sum()) if len(self.runs) else 0

    @property
    def missing(self) -> int:
        return self.total - len(self.runs)


def _load(path, overrides):
    try:
        return load_scenario(path, list(overrides))
    except ScenarioError:
        raise
    except OSError as exc:
        raise UserError([f"{path}: cannot read ({exc})"]) from None


def plan(a_path, b_path, overrides=(), factor_specs=(), permutations: int | None = None,
         seed: int | None = None):
    """Load both scenarios, group the differences into factors, choose the coalitions, and
    validate every combination (all problems reported together)."""
    errors = []
    sc = []
    for p in (a_path, b_path):
        try:
            sc.append(_load(p, overrides))
        except UserError as exc:
            errors += exc.errors
    if errors:
        raise UserError(errors)
    A, B = sc
    a, b = scenario_to_dict(A), scenario_to_dict(B)
    leaves = diff_leaves(a, b)
    factors, notes = group_factors(leaves, factor_specs)
    if not factors:
        raise UserError([f"{a_path}, {b_path}: the two scenarios have the same settings (they "
                         f"differ at most in name and description): nothing to explain"])
    k = len(factors)
    root = int(seed if seed is not None else A.run.seed)
    if k <= EXACT_MAX and permutations is None:
        method, orders, masks = "exact", [], coalitions_exact(k)
    else:
        n = permutations or 2 * k
        orders = permutation_orders(k, n, root)
        method, masks = "permutation", coalitions_sampled(k, orders)
    scenarios, errors = {}, []
    for m in masks:
        label = (A.name if m == 0 else B.name if m == 2 ** k - 1 else
                 "+".join(f.name for i, f in enumerate(factors) if m >> i & 1))
        data = combination(a, b, factors, m)
        data["name"] = A.name if m == 0 else (B.name if m == 2 ** k - 1 else
                                              f"{A.name}+{label}")
        try:
            scenarios[m] = validate_mapping(data, f"combination {label}")
        except ScenarioError as exc:
            errors.append(f"explain: the combination of {label} (taken from {B.name}) with the "
                          f"rest of {A.name} is not a valid scenario: {exc.errors[0]} ... group "
                          f"the factors that must change together with --factors")
    if errors:
        raise UserError(errors[:5] + ([f"... and {len(errors) - 5} more combinations"]
                                      if len(errors) > 5 else []))
    return A, B, a, b, factors, notes, method, orders, masks, scenarios, root


def explain(a_path, b_path, out, replications: int = 3, seed: int | None = None,
            backend: str | Backend = "process", workers: int | None = None,
            scheduler: str | None = None, overrides=(), factor_specs=(),
            permutations: int | None = None, resume: bool = False, quiet: bool = True,
            command: list[str] | None = None, force: bool = False) -> ExplainResult:
    """Attribute B - A to the factors that differ (see the module doc); returns DataFrames and
    writes `out`."""
    if replications < 1:
        raise UserError([f"--replications {replications}: need at least 1 (2 or more for "
                         f"confidence intervals)"])
    if permutations is not None and permutations < 2:
        raise UserError([f"--permutations {permutations}: need at least 2"])
    A, B, a, b, factors, notes, method, orders, masks, scenarios, root = plan(
        a_path, b_path, overrides, factor_specs, permutations, seed)
    k = len(factors)
    from ..outdir import OutputDir
    target = OutputDir(out, force=force and not resume, command="explain", in_place=True,
                       inputs=[a_path, b_path])      # checks the name at once
    out = target.final
    R = replications
    seeds = replication_seeds(root, R)
    names = [f.name for f in factors]
    key = {"a": scenario_sha256(A), "b": scenario_sha256(B),
           "factors": [[f.name, f.paths] for f in factors], "replications": R, "seeds": seeds,
           "method": method, "orders": orders, "cogov": __version__}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    ledger_path = out / LEDGER
    if ledger_path.exists() and not resume and not force:
        raise UserError([f"--out {out}: already holds an explain run ({ledger_path}): add "
                         f"--resume to continue it, --force to start again, or choose another "
                         f"--out"])
    target.resume = resume and ledger_path.exists()
    be = backend if isinstance(backend, Backend) else make_backend(backend, workers, scheduler)
    target.__enter__()    # checked, locked; written in place so that --resume can continue
    ledger = Ledger(ledger_path, ["coalition", *names])
    try:
        meta = ledger.get_meta()
        if meta and meta.get("digest") != digest:
            raise UserError([f"{out}: the explain run there was started with other scenarios, "
                             f"factors, replications or seed: results would mix; use a new "
                             f"--out (or the same arguments as before)"])
        if not meta:
            ledger.set_meta(kind="explain", digest=digest, a=str(a_path), b=str(b_path),
                            created=_dt.datetime.now().astimezone().isoformat(timespec="seconds"))
        total = len(masks) * R
        done_ids = ledger.ids(("ok", "error"))
        todo = total - len(done_ids)
        _write_manifest(out, A, B, a_path, b_path, factors, method, orders, masks, R, root,
                        seeds, overrides, command)
        if not quiet:
            what = f"resuming: {len(done_ids)} of {total} runs already done, " if done_ids \
                else ""
            print(f"explain {A.name} -> {B.name}: {k} factors ({', '.join(names)}), {method} "
                  f"Shapley over {len(masks)} combinations x {R} replications; {what}{todo} "
                  f"runs to go (backend {be.name})", file=sys.stderr)

        def tasks():
            for r in range(R):      # replication-major: whole replications finish early
                for p, m in enumerate(masks):
                    rid = p * R + r
                    if rid not in done_ids:
                        yield RunTask(rid, seeds[r], scenario=scenarios[m],
                                      label=scenarios[m].name)

        bar = Progress(total, "explain", enabled=False if quiet else None)
        n_done, failed = len(done_ids), 0
        try:
            for task, res in be.run(tasks()):
                p, r = divmod(task.run_id, R)
                m = masks[p]
                row = {"run_id": task.run_id, "point": p, "replication": r, "seed": task.seed,
                       "status": res["status"], "error": res["error"], "coalition": m,
                       **{n: m >> i & 1 for i, n in enumerate(names)}, **res["summary"],
                       "wall_seconds": res["wall_seconds"], "traceback": res["traceback"]}
                ledger.record(row)
                n_done += 1
                failed += res["status"] != "ok"
                bar.update(n_done, failed)
        finally:
            bar.close()
        runs = ledger.read()
    finally:
        ledger.close()
        if sys.exc_info()[0] is not None:
            target.__exit__(*sys.exc_info())
    write_csv(runs.drop(columns=["traceback"], errors="ignore"), out / "runs.csv")
    write_csv(_factor_table(factors, a, b), out / "factors.csv")
    res = ExplainResult(out, factors, pd.DataFrame(), pd.DataFrame(), runs, total, method,
                        (A.name, B.name), notes)
    if len(runs) < total:
        res.notes.append(f"{total - len(runs)} runs missing: continue with --resume")
        target.__exit__(None, None, None)
        return res
    attribution, interactions, more = attribute(runs, factors, masks, R, method, orders)
    res.attribution, res.interactions, res.notes = attribution, interactions, notes + more
    write_csv(attribution, out / "attribution.csv")
    if method == "exact":
        write_csv(interactions, out / "interactions.csv")
    from .figures import save
    for m in headline_metrics(attribution):
        res.figures.append(save(waterfall_figure(attribution, runs, m, (A.name, B.name)),
                                    out / "figures" / f"waterfall_{m}")[0])
    target.__exit__(None, None, None)
    return res


def headline_metrics(attribution: pd.DataFrame) -> list[str]:
    """The headline metrics present in `attribution` whose total or contributions are not all
    zero (a metric that never moves has nothing to explain)."""
    out = []
    for m in HEADLINE:
        g = attribution[attribution["metric"] == m]
        if len(g) and np.nanmax(np.abs(g[["contribution", "ci_low", "ci_high"]]
                                       .to_numpy(float)), initial=0.0) > 0:
            out.append(m)
    return out


def attribute(runs: pd.DataFrame, factors: list[Factor], masks: list[int], R: int, method: str,
              orders: list[list[int]]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """attribution and interaction tables from a complete runs table."""
    k = len(factors)
    notes = []
    ok = runs[runs["status"] == "ok"]
    bad = sorted(set(runs.loc[runs["status"] != "ok", "replication"]))
    reps = [r for r in range(R) if r not in bad]
    if bad:
        notes.append(f"replications {bad} left out: a run of theirs failed (see runs.csv "
                     f"`error`); rerun with --resume after a fix")
    if not reps:
        raise UserError(["explain: every replication has a failed run; see runs.csv `error`"])
    metrics = numeric_metrics(ok, ("coalition", *[f.name for f in factors], *NOT_EXPLAINED))
    rows, irows = [], []
    last = 2 ** k - 1
    for metric in metrics:
        wide = ok.pivot_table(index="coalition", columns="replication", values=metric,
                              aggfunc="first", dropna=False)
        wide = wide.reindex(index=masks, columns=reps).apply(pd.to_numeric, errors="coerce")
        if wide.isna().any().any():
            notes.append(f"{metric}: not attributed (undefined in some combination)")
            continue
        values = {m: wide.loc[m].to_numpy(float) for m in masks}
        phi = (shapley_exact(values, k) if method == "exact"
               else shapley_sampled(values, k, orders))
        total = values[last] - values[0]
        for i, f in enumerate(factors):
            ti = t_interval(phi[i])
            rows.append({"metric": metric, "factor": f.name, "contribution": ti["mean"],
                         "ci_low": ti["ci_low"], "ci_high": ti["ci_high"]})
        ti = t_interval(total)
        rows.append({"metric": metric, "factor": "total", "contribution": ti["mean"],
                     "ci_low": ti["ci_low"], "ci_high": ti["ci_high"]})
        if method == "exact":
            for (i, j), v in interaction_index(values, k).items():
                ti = t_interval(v)
                irows.append({"metric": metric, "factor_a": factors[i].name,
                              "factor_b": factors[j].name, "interaction": ti["mean"],
                              "ci_low": ti["ci_low"], "ci_high": ti["ci_high"]})
    att = pd.DataFrame(rows, columns=["metric", "factor", "contribution", "ci_low", "ci_high"])
    inter = pd.DataFrame(irows, columns=["metric", "factor_a", "factor_b", "interaction",
                                         "ci_low", "ci_high"])
    return att, inter, notes


def _short(v) -> str:
    s = json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) <= 60 else s[:57] + "..."


def _factor_table(factors: list[Factor], a: dict, b: dict) -> pd.DataFrame:
    rows = []
    for f in factors:
        for p in f.paths:
            rows.append({"factor": f.name, "path": p,
                         "value_a": _short(_get(a, p)) if _has(a, p) else "(absent)",
                         "value_b": _short(_get(b, p)) if _has(b, p) else "(absent)"})
    return pd.DataFrame(rows, columns=["factor", "path", "value_a", "value_b"])


def _write_manifest(out, A, B, a_path, b_path, factors, method, orders, masks, R, root, seeds,
                    overrides, command) -> None:
    manifest = {
        "kind": "explain",
        "command": command or ["cogov", "explain", str(a_path), str(b_path), "--replications",
                               str(R), "--seed", str(root), "--out", str(out),
                               *[x for o in overrides for x in ("--set", o)]],
        "scenarios": [{"name": A.name, "path": str(a_path), "sha256": scenario_sha256(A)},
                      {"name": B.name, "path": str(b_path), "sha256": scenario_sha256(B)}],
        "overrides": list(overrides),
        "factors": [{"name": f.name, "paths": f.paths} for f in factors],
        "method": method, "combinations": len(masks),
        **({"orders": orders} if orders else {}),
        "replications": R, "root_seed": root, "seeds": seeds,
        "cogov_version": __version__,
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out / "manifest.json")


# ---------------------------------------------------------------------- figure and report
def _scale(metric: str) -> tuple[float, str]:
    d = metric_def(metric)
    if d.kind == "share":
        return 100.0, "percentage points"
    return 1.0, {"hours": "hours", "per_day": "per day", "days": "days"}.get(d.kind, d.kind)


def waterfall_figure(attribution: pd.DataFrame, runs: pd.DataFrame, metric: str,
                     names: tuple[str, str], lang: str = "en"):
    """A's level, each factor's contribution as a floating bar (95% CI whisker), B's level."""
    import matplotlib.pyplot as plt

    d = metric_def(metric)
    k, unit = _scale(metric)
    att = attribution[attribution["metric"] == metric].set_index("factor")
    ok = runs[runs["status"] == "ok"]
    last = int(ok["coalition"].max())
    a_level = pd.to_numeric(ok.loc[ok["coalition"] == 0, metric], errors="coerce").mean() * k
    factors = [f for f in att.index if f != "total"]
    contrib = att.loc[factors, "contribution"].to_numpy(float) * k
    lo = att.loc[factors, "ci_low"].to_numpy(float) * k
    hi = att.loc[factors, "ci_high"].to_numpy(float) * k
    b_level = pd.to_numeric(ok.loc[ok["coalition"] == last, metric], errors="coerce").mean() * k
    fig, ax = plt.subplots(figsize=(1.8 + 0.95 * (len(factors) + 2), 4.2))
    x = np.arange(len(factors) + 2)
    ax.bar(0, a_level, color="#8c8c8c", width=0.6)
    run = a_level
    s = {"lower": -1, "higher": 1}.get(d.better, 0)
    for i, c in enumerate(contrib, start=1):
        good = s * c > 0
        color = "#888888" if s == 0 else ("#2a9d5c" if good else "#c8553d")
        ax.bar(i, c, bottom=run, color=color, width=0.6)
        if not (np.isnan(lo[i - 1]) or np.isnan(hi[i - 1])):
            ax.errorbar(i, run + c, yerr=[[c - lo[i - 1]], [hi[i - 1] - c]], fmt="none",
                        ecolor="black", capsize=4, lw=1)
        if i < len(factors) + 1:
            ax.plot([i - 0.3, i + 1.3], [run + c, run + c], color="#555", lw=0.6, ls=":")
        ax.annotate(f"{c:+.1f}" if abs(c) >= 10 else f"{c:+.2f}", (i + 0.32, run + c / 2),
                    fontsize=7.5, va="center", ha="left", color="#333")
        run += c
    ax.bar(len(factors) + 1, b_level, color="#4a4a4a", width=0.6)
    levels = [0.0, a_level, b_level, *(a_level + np.cumsum(contrib)),
              *(a_level + np.cumsum(contrib) - contrib + np.nan_to_num(hi)),
              *(a_level + np.cumsum(contrib) - contrib + np.nan_to_num(lo))]
    lo_y, hi_y = float(np.nanmin(levels)), float(np.nanmax(levels))
    pad = 0.08 * ((hi_y - lo_y) or 1.0)
    ax.set_ylim(lo_y - (pad if lo_y < 0 else 0.0), hi_y + pad)
    ax.axhline(0, color="black", lw=0.6)
    zh = lang == "zh"
    label = d.zh if zh else d.en
    ax.set_xticks(x, [names[0], *factors, names[1]], rotation=30, ha="right")
    ax.set_ylabel(f"{label} ({'%' if k == 100 else unit})")
    way = {"lower": "lower is better", "higher": "higher is better"}.get(d.better,
                                                                         "no better direction")
    if zh:
        zunit = {"percentage points": "个百分点", "hours": "小时", "per day": "件/天"}.get(
            unit, unit)
        zway = {"lower": "越低越好", "higher": "越高越好"}.get(d.better, "无优劣方向")
        ax.set_title(f"{label}：从{names[0]}到{names[1]}的变化由什么构成\n"
                     f"Shapley 贡献（{zunit}），须线为重复运行的95%置信区间；{zway}",
                     fontsize=9.5)
    else:
        ax.set_title(f"What moves the {label} from {names[0]} to {names[1]}\n"
                     f"Shapley contributions ({unit}), 95% CI over replications; {way}",
                     fontsize=9.5)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def report(res: ExplainResult, stream=None) -> None:
    """The headline metrics' contributions, the largest interactions, where the files are."""
    stream = stream or sys.stdout
    for n in res.notes:
        print(f"note: {n}", file=stream)
    att = res.attribution
    if len(att):
        a, b = res.names
        print(f"What moves each headline metric from {a} to {b} (Shapley contributions, "
              f"mean [95% CI over replications]; they add up to the total):", file=stream)
        for m in headline_metrics(att):
            g = att[att["metric"] == m]
            k, unit = _scale(m)
            d = metric_def(m)
            way = {"lower": "lower is better", "higher": "higher is better"}.get(
                d.better, "neither direction is better")
            print(f"  {d.en} ({unit}; {way})", file=stream)
            for _, r in g.iterrows():
                ci = ("" if pd.isna(r["ci_low"]) else
                      f" [{r['ci_low'] * k:+.2f}, {r['ci_high'] * k:+.2f}]")
                print(f"    {r['factor']:<28} {r['contribution'] * k:+10.2f}{ci}", file=stream)
        inter = res.interactions
        if len(inter):
            top = inter[inter["metric"] == HEADLINE[0]].copy()
            if len(top):
                top["abs"] = top["interaction"].abs()
                top = top.sort_values("abs", ascending=False).head(3)
                pairs = ", ".join(f"{r.factor_a} x {r.factor_b} {r.interaction * 100:+.2f} pp"
                                  for r in top.itertuples())
                print(f"  largest interactions on the repeat-complaint rate: {pairs}",
                      file=stream)
    o = res.out
    files = ["runs.csv", "factors.csv"] + (["attribution.csv"] if len(att) else []) + \
        (["interactions.csv"] if len(res.interactions) else [])
    print(f"results: {o}/ledger.sqlite (run ledger), {', '.join(files)}", file=stream)
    if res.figures:
        print(f"figures: {o}/figures/ ({len(res.figures)} waterfalls, PNG and PDF)",
              file=stream)
    ok = int((res.runs["status"] == "ok").sum()) if len(res.runs) else 0
    line = f"{ok} of {res.total} runs ok"
    if res.failed:
        line += f", {res.failed} failed (see runs.csv `error`)"
    if res.missing:
        line += f", {res.missing} not run: continue with --resume"
    print(line, file=stream)
