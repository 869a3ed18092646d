"""The analysis of `cogov compare --uncertainty` draws: how often each difference holds
(`robustness.csv`), the draws table, first-order Sobol indices (SALib RBD-FAST), scenario
discovery by PRIM (`prim_box`, `discovery_sentence`) and the effect at the neutral values
(`structural.csv`). The tables are defined in the module doc of `sim/experiments/robustness.py`.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import metric_def, sign
from .robustness_draws import Assumption
from .stats import numeric_metrics
from .store import write_csv

MIN_SOBOL_DRAWS = 32      # RBD-FAST, M = 4 harmonics: its bootstrap halves must exceed 2M
SOBOL_M = 4
MIN_PRIM_DRAWS = 20       # and at least 3 draws on each side of the verdict
PRIM_ALPHA = 0.1
HEADLINE = ("recomplaint_rate", "chase_rate", "median_time_to_close_hours", "citizen_repeat_rate",
            "repeat_complaint_rate",
            "on_time_rate", "dissatisfaction_rate", "backlog_end", "police_nonpolice_hours")
NOT_COMPARED = ("wall_seconds",)


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
