"""The measures of `validate-against`: simulated against observed case logs, both read the
same way (`Side`). Arrivals per category, by hour of day and day of week, time to close by
category (Kaplan-Meier), channel mix, what a perfect model reaches on the same rows
(`perfect_model_reference`), chases and re-complaints; `compare` gathers them into a
`Validation`. The rule of comparison: `sim/calibrate/validate.py`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .fit import exposure_hours, repeat_share
from .read import CaseLog
from .survival import KaplanMeier, kaplan_meier

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
#: closed cases needed on each side before a category's median is compared
MIN_CLOSED = 20
NOT_COMPARED = "not compared"


@dataclass
class Side:
    """One side of the comparison (observed, or simulated pooled over replications)."""

    cases: pd.DataFrame
    span_hours: float
    replications: int = 1

    @property
    def exposure_hours(self) -> float:
        return self.span_hours * self.replications


def side_from_log(log: CaseLog, replications: int = 1) -> Side:
    n = int((log.cases["kind"] != "duplicate").sum())
    span = log.span_hours * ((n + 1) / max(n - 1, 1) if n > 1 else 1.0)
    return Side(log.cases, span, replications)


def km_distance(a: KaplanMeier, b: KaplanMeier) -> float:
    """sup |F_a - F_b| over both sets of event times, up to the shorter follow-up (beyond it one
    curve is unknown, not flat)."""
    if not len(a.times) or not len(b.times):
        return float("nan")
    t = np.union1d(a.times, b.times)
    t = t[t <= min(a.times.max(), b.times.max())]
    return float(np.max(np.abs(a.at(t) - b.at(t))))


def _arrivals(cases: pd.DataFrame) -> pd.DataFrame:
    return cases[cases["kind"] != "duplicate"]


def compare_arrivals(obs: Side, sim: Side, frac: float = 1.0) -> pd.DataFrame:
    o = _arrivals(obs.cases)["category"].value_counts()
    s = _arrivals(sim.cases)["category"].value_counts()
    cats = list(o.index) + [c for c in s.index if c not in o.index]
    rows = []
    for c in cats:
        no, ns = int(o.get(c, 0)), int(s.get(c, 0))
        ro = no / obs.exposure_hours * 24.0 / frac
        rs = ns / sim.exposure_hours * 24.0
        sd = math.sqrt(no / frac ** 2 / obs.exposure_hours ** 2
                       + ns / sim.exposure_hours ** 2) * 24.0
        rows.append({"category": c, "observed_cases": no, "simulated_cases": ns,
                     "observed_per_day": ro, "simulated_per_day": rs,
                     "relative_error": (rs - ro) / ro if ro > 0 else np.nan,
                     "z": (rs - ro) / sd if sd > 0 else np.nan})
    return pd.DataFrame(rows)


def _time_rates(side: Side, timed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals per exposure hour in each (weekday, hour) cell: 7 x 24 (NaN: no exposure)."""
    c = _arrivals(side.cases)
    if timed and "date_only" in c:
        c = c[~c["date_only"].astype(bool)]
    counts = np.zeros((7, 24))
    np.add.at(counts, (c["created"].dt.day_of_week.to_numpy(), c["created"].dt.hour.to_numpy()),
              1.0)
    start, end = side.cases["created"].min(), side.cases["created"].max()
    return counts, exposure_hours(start, end) * side.replications


def compare_time_of_day(obs: Side, sim: Side) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Arrival shares by hour of day and by weekday, as rates over exposure hours (so a log
    that does not cover whole weeks compares fairly), on cells both sides observed."""
    out = {}
    for key, axis, n, timed in (("hour", 0, 24, True), ("weekday", 1, 7, False)):
        co, eo = _time_rates(obs, timed)
        cs, es = _time_rates(sim, timed)
        co, eo, cs, es = (x.sum(axis=axis) for x in (co, eo, cs, es))
        ok = (eo > 0) & (es > 0)
        ro = np.where(ok, co / np.where(ok, eo, 1), 0.0)
        rs = np.where(ok, cs / np.where(ok, es, 1), 0.0)
        out[key] = pd.DataFrame({key: range(n), "observed_share": ro / max(ro.sum(), 1e-12),
                                 "simulated_share": rs / max(rs.sum(), 1e-12),
                                 "observed_exposure_hours": eo})
    gof = {}
    for name, t in (("hour_of_day", out["hour"]), ("day_of_week", out["weekday"])):
        d = t["simulated_share"].to_numpy() - t["observed_share"].to_numpy()
        gof[f"{name}_ks"] = float(np.max(np.abs(np.cumsum(d))))
        gof[f"{name}_tv"] = float(0.5 * np.sum(np.abs(d)))
    gof["weekdays_compared"] = int((out["weekday"]["observed_exposure_hours"] > 0).sum())
    return out["hour"], out["weekday"], gof


def _ttc_km(cases: pd.DataFrame, res: float) -> KaplanMeier:
    """KM of time to close; closures within the log's resolution count as res / 2 on both
    sides (the simulation's clock is finer than the log's)."""
    ok = cases["ttc_event"].notna()
    h = cases.loc[ok, "ttc_hours"].to_numpy()
    e = cases.loc[ok, "ttc_event"].to_numpy()
    h = np.where((e == 1) & (h <= res), res / 2.0, h)
    return kaplan_meier(h, e)


def compare_ttc(obs: Side, sim: Side, res: float, rel_tol: float = 0.20
                ) -> tuple[pd.DataFrame, dict]:
    """Per category KM quantiles, the median's interval, relative error, KS distance, cycle
    time EMD and the strict verdict (`within`, `outside` or `not compared: why`)."""
    from scipy.stats import wasserstein_distance
    rows = []
    kms = {}
    sim_groups = dict(list(sim.cases.groupby("category")))
    for code, g in obs.cases.groupby("category", sort=False):
        ko = _ttc_km(g, res)
        gs = sim_groups.get(code)
        ks_ = _ttc_km(gs, res) if gs is not None else kaplan_meier(np.array([]), np.array([]))
        kms[code] = (ko, ks_)
        mo, ms = ko.quantile(0.5), ks_.quantile(0.5)
        lo_o, hi_o = ko.median_ci()
        lo_s, hi_s = ks_.median_ci()
        # medians at or below the timestamp resolution are equal for this purpose
        floor = res
        rel = (max(ms, floor) - max(mo, floor)) / max(mo, floor) if np.isfinite(mo) and \
            np.isfinite(ms) else np.nan
        overlap = (np.isfinite(lo_o) and np.isfinite(lo_s) and
                   lo_s <= (hi_o if np.isfinite(hi_o) else np.inf) and
                   lo_o <= (hi_s if np.isfinite(hi_s) else np.inf))
        row = {"category": code, "observed_n": ko.n, "simulated_n": ks_.n}
        for p in QUANTILES:
            row[f"observed_p{int(p * 100)}"] = ko.quantile(p)
            row[f"simulated_p{int(p * 100)}"] = ks_.quantile(p)
        n_co = int((g["ttc_event"] == 1).sum())
        n_cs = int((gs["ttc_event"] == 1).sum()) if gs is not None else 0
        if n_co < MIN_CLOSED or n_cs < MIN_CLOSED:
            verdict = (f"{NOT_COMPARED}: {n_co} closed in the log, {n_cs} simulated "
                       f"(needs {MIN_CLOSED} each)")
        elif not np.isfinite(rel):
            verdict = (f"{NOT_COMPARED}: no median (under half closed within the follow-up: "
                       f"{'log' if not np.isfinite(mo) else 'simulation'})")
        else:
            verdict = "within" if abs(rel) <= rel_tol else "outside"
        emd = float("nan")
        if n_co and n_cs:
            co = np.floor(g.loc[g["ttc_event"] == 1, "ttc_hours"].to_numpy())
            cs = np.floor(gs.loc[gs["ttc_event"] == 1, "ttc_hours"].to_numpy())
            emd = float(wasserstein_distance(co, cs))
        row.update({"observed_median_lo": lo_o, "observed_median_hi": hi_o,
                    "simulated_median_lo": lo_s, "simulated_median_hi": hi_s,
                    "median_relative_error": rel, "ks": km_distance(ko, ks_),
                    "observed_closed": n_co, "simulated_closed": n_cs,
                    "cycle_time_emd_hours": emd, "verdict": verdict,
                    "intervals_overlap": bool(overlap),
                    "median_ok": (None if verdict.startswith(NOT_COMPARED)
                                  else verdict == "within")})
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("observed_n", ascending=False, kind="stable")
    ko_all, ks_all = _ttc_km(obs.cases, res), _ttc_km(sim.cases, res)
    gof = {"ttc_ks_all": km_distance(ko_all, ks_all),
           "ttc_median_observed": ko_all.quantile(0.5),
           "ttc_median_simulated": ks_all.quantile(0.5)}
    return table, {"_kms": kms, **gof}


def compare_channels(obs: Side, sim: Side) -> tuple[pd.DataFrame, float]:
    o = _arrivals(obs.cases)["channel"].dropna().value_counts(normalize=True)
    s = _arrivals(sim.cases)["channel"].dropna().value_counts(normalize=True)
    if o.empty:   # the log has no channel column
        return pd.DataFrame({"channel": list(s.index), "observed_share": np.nan,
                             "simulated_share": s.to_numpy()}), float("nan")
    idx = list(o.index) + [c for c in s.index if c not in o.index]
    t = pd.DataFrame({"channel": idx, "observed_share": [float(o.get(c, 0)) for c in idx],
                      "simulated_share": [float(s.get(c, 0)) for c in idx]})
    return t, float(0.5 * np.abs(t["observed_share"] - t["simulated_share"]).sum())


#: bootstrap replicates of the perfect-model reference
PERFECT_BOOTSTRAP = 200
#: a model is judged fair when its share is at most this many points below the reference
PERFECT_GAP_POINTS = 15.0


def perfect_model_reference(cases: pd.DataFrame, res: float, rel_tol: float = 0.20,
                            replications: int = 1, n_boot: int = PERFECT_BOOTSTRAP,
                            seed: int = 0) -> dict:
    """What a perfect model would reach on this log: the share of categories whose median
    time to close is within `rel_tol`, when the "simulated" cases are a bootstrap of the log's
    own cases (per category, as many as the simulation draws: replications x the log's count,
    with the log's censoring), under the same rule as `compare_ttc`. Even a model that draws
    from the true distribution misses a small category's median by sampling noise alone; the
    model's share is judged against this reference, not against 100%."""
    gen = np.random.default_rng(seed)
    groups = []
    for _, g in cases.groupby("category", sort=False):
        ok = g["ttc_event"].notna().to_numpy()
        h = g["ttc_hours"].to_numpy(dtype=float)[ok]
        e = g["ttc_event"].to_numpy(dtype=float)[ok]
        h = np.where((e == 1) & (h <= res), res / 2.0, h)
        if int((e == 1).sum()) < MIN_CLOSED:
            continue
        mo = kaplan_meier(h, e).quantile(0.5)
        if np.isfinite(mo):
            groups.append((h, e, mo))
    out = {"perfect_model_share_within": float("nan"), "perfect_model_share_q05": float("nan"),
           "perfect_model_share_q95": float("nan"), "perfect_model_bootstrap": int(n_boot),
           "perfect_model_categories": len(groups)}
    if not groups:
        return out
    shares = []
    for _ in range(n_boot):
        within = compared = 0
        for h, e, mo in groups:
            i = gen.integers(0, len(h), len(h) * replications)
            hb, eb = h[i], e[i]
            if int((eb == 1).sum()) < MIN_CLOSED:
                continue
            ms = kaplan_meier(hb, eb).quantile(0.5)
            if not np.isfinite(ms):
                continue
            compared += 1
            within += abs(max(ms, res) - max(mo, res)) / max(mo, res) <= rel_tol
        if compared:
            shares.append(within / compared)
    if shares:
        out["perfect_model_share_within"] = float(np.mean(shares))
        out["perfect_model_share_q05"], out["perfect_model_share_q95"] = (
            float(x) for x in np.quantile(shares, [0.05, 0.95]))
    return out


@dataclass
class Validation:
    """Every comparison table and the goodness-of-fit summary."""

    arrivals: pd.DataFrame
    hour_of_day: pd.DataFrame
    day_of_week: pd.DataFrame
    ttc: pd.DataFrame
    channels: pd.DataFrame
    gof: dict
    kms: dict = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list)
    in_sample: bool = True
    windows: dict = field(default_factory=dict)

    def summary_line(self, scenario, log) -> str:
        g = self.gof

        def f(x, fmt):
            return format(x, fmt) if np.isfinite(x) else NOT_COMPARED

        ref = g.get("perfect_model_share_within", float("nan"))
        return (f"{scenario} vs {log} ({'in sample' if self.in_sample else 'out of sample'}): "
                f"total arrival rate {f(g['total_rate_relative_error'], '+.1%')}, "
                f"time-to-close KS {f(g['ttc_ks_all'], '.3f')}, median time to close within "
                f"20%: {f(g['share_within_20pct'], '.0%')} of {g['categories_compared']} "
                f"categories compared ({g['categories_not_compared']} not compared; a perfect "
                f"model reaches {f(ref, '.0%')} on this log: {g.get('perfect_model_verdict')}"
                f"), "
                f"cycle-time EMD {f(g['cycle_time_emd_hours'], ',.1f')} h, channel TV "
                f"{f(g['channel_tv'], '.3f')}")


def _share(x: pd.Series) -> float:
    """Share of True among the compared (non-None) values; NaN when none was compared."""
    x = x.dropna()
    return float(x.astype(bool).mean()) if len(x) else float("nan")


def repeat_by_category(cases: pd.DataFrame, window_days: float, start) -> dict[str, float]:
    out = {}
    for code, g in _arrivals(cases).groupby("category"):
        out[code] = repeat_share(g, window_days, start)[0]
    return out


def chases_and_recomplaints(cases: pd.DataFrame, window_days: float,
                            end: pd.Timestamp) -> dict:
    """The agreed counts (docs/metrics.md), from a case log:

    - `chase_complaints` (催办): complaints about a case still open: the extra complaints
      attached to a case (rows sharing its case id), plus cases logged at the same location
      and category while the previous case there was still open (a log without case ids
      records a chase as a new case); `chase_rate` = chases per case opened;
    - `recomplaints_after_closure` (重复投诉): cases at the same location and category created
      within `window_days` after the previous case there closed; `recomplaint_rate` = the
      share of closed cases followed by such a re-complaint, among cases closed at least
      `window_days` before `end` (a full look-ahead window).
    A log without locations gives only the attached complaints (no re-complaints: NaN)."""
    c = _arrivals(cases)
    attached = float((c["complaints"].astype(float) - 1.0).clip(lower=0).sum()) \
        if "complaints" in c else 0.0
    out = {"cases_opened": int(len(c)), "chase_complaints": attached,
           "recomplaints_after_closure": float("nan"), "chase_rate": float("nan"),
           "recomplaint_rate": float("nan")}
    if not len(c):
        return out
    located = c[c["location"].astype(str) != ""]
    win = pd.Timedelta(days=window_days)
    if len(located):
        d = located.sort_values("created", kind="stable")
        key = [d["location"].astype(str), d["category"].astype(str)]
        prev_closed = d.groupby(key, sort=False)["closed"].shift(1)
        prev_exists = d.groupby(key, sort=False).cumcount() > 0
        chase = prev_exists & (prev_closed.isna() | (d["created"] < prev_closed))
        after = prev_exists & prev_closed.notna() & (d["created"] >= prev_closed) & \
            (d["created"] - prev_closed <= win)
        out["chase_complaints"] = attached + float(chase.sum())
        out["recomplaints_after_closure"] = float(after.sum())
        # closed cases with a full look-ahead window, and whether the next case came in it
        nxt = d.groupby(key, sort=False)["created"].shift(-1)
        eligible = d["closed"].notna() & (d["closed"] + win <= end)
        followed = eligible & nxt.notna() & (nxt >= d["closed"]) & (nxt - d["closed"] <= win)
        if eligible.sum():
            out["recomplaint_rate"] = float(followed.sum() / eligible.sum())
    out["chase_rate"] = float(out["chase_complaints"] / len(c))
    return out


def compare(obs_log: CaseLog, sim_logs: list[CaseLog], rel_tol: float = 0.20) -> Validation:
    """Compare an observed log with simulated logs (one per replication)."""
    from . import distances

    obs = side_from_log(obs_log)
    sims = [side_from_log(s) for s in sim_logs]
    # a location is a replication's own: prefix it, or repeats would link replications
    pooled = pd.concat([s.cases.assign(rep=i, location=s.cases["location"].where(
        s.cases["location"] == "", f"{i}:" + s.cases["location"].astype(str)))
        for i, s in enumerate(sims)], ignore_index=True)
    sim = Side(pooled, float(np.mean([s.span_hours for s in sims])), len(sims))
    frac = obs_log.mapping.sampling_fraction
    arrivals = compare_arrivals(obs, sim, frac)
    hod, dow, g1 = compare_time_of_day(obs, sim)
    res = obs_log.mapping.timestamps.resolution_hours
    ttc, g2 = compare_ttc(obs, sim, res, rel_tol)
    kms = g2.pop("_kms")
    channels, tv = compare_channels(obs, sim)
    a = arrivals[arrivals["observed_cases"] > 0]
    w = a["observed_cases"] / a["observed_cases"].sum()
    s0 = sim_logs[0].cases
    sim_in_window = s0[s0["created"] <= obs_log.window_end]
    gof = {
        "replications": len(sims), "observed_cases": int(len(_arrivals(obs.cases))),
        "simulated_cases_per_replication": float(len(_arrivals(pooled)) / len(sims)),
        "total_rate_relative_error": float(
            (len(_arrivals(pooled)) / sim.exposure_hours)
            / (len(_arrivals(obs.cases)) / obs.exposure_hours / frac) - 1.0),
        "arrivals_weighted_abs_relative_error": float(np.sum(w * a["relative_error"].abs())),
        "arrivals_share_abs_z_over_3": float((a["z"].abs() > 3).mean()),
        **g1, **g2, "channel_tv": tv,
        "median_ok_share_top10": _share(ttc.head(10)["median_ok"]),
        "median_ok_share_all": _share(ttc["median_ok"]),
        "share_within_20pct": _share(ttc["median_ok"]),
        "categories_compared": int(ttc["median_ok"].notna().sum()),
        "categories_not_compared": int(ttc["median_ok"].isna().sum()),
        "cycle_time_emd_hours": distances.cycle_time_emd(obs.cases, sim_logs[0].cases),
        # arrivals: the simulation's follow-up (after the log's last case) is left out
        "arrival_emd_hours": distances.arrival_emd(obs.cases, sim_in_window),
        "circadian_emd_hours": distances.circadian_emd(obs.cases, sim_in_window),
        "distance_measures_by": distances.SOURCE,
    }
    gof.update(perfect_model_reference(obs.cases, res, rel_tol, len(sims)))
    ref, share = gof["perfect_model_share_within"], gof["share_within_20pct"]
    gof["gap_to_perfect_model_points"] = float(100.0 * (ref - share)) \
        if np.isfinite(ref) and np.isfinite(share) else float("nan")
    gap = gof["gap_to_perfect_model_points"]
    gof["perfect_model_verdict"] = (
        NOT_COMPARED if not np.isfinite(gap) else
        f"{'holds' if gap <= PERFECT_GAP_POINTS else 'fails'}: "
        + (f"{gap:.0f} points below it" if gap > 0 else f"{-gap:.0f} points above it")
        + f" (holds when at most {PERFECT_GAP_POINTS:g} below)")
    window = obs_log.mapping.repeat_window_days
    co = chases_and_recomplaints(obs.cases, window, obs_log.extracted_at)
    cs = [chases_and_recomplaints(s.cases, window, s.extracted_at) for s in sim_logs]
    for k in ("chase_complaints", "chase_rate", "recomplaints_after_closure",
              "recomplaint_rate"):
        gof[f"{k}_observed"] = co[k]
        vals = [x[k] for x in cs if np.isfinite(x[k])]
        gof[f"{k}_simulated"] = float(np.mean(vals)) if vals else float("nan")
    gof["repeat_rate_observed"] = repeat_share(_arrivals(obs.cases), window,
                                               obs_log.window_start)[0]
    has_location = bool((obs.cases["location"] != "").any())
    notes = []
    if has_location:
        sim_start = sim_logs[0].window_start
        rs = [repeat_share(_arrivals(s.cases), window, sim_start)[0] for s in sims]
        gof["repeat_rate_simulated"] = float(np.nanmean(rs)) if rs else float("nan")
        ro = repeat_by_category(obs.cases, window, obs_log.window_start)
        rsim = repeat_by_category(pooled, window, sim_start)
        ttc["repeat_share_log"] = ttc["category"].map(ro)
        ttc["repeat_share_sim"] = ttc["category"].map(rsim)
    else:
        gof["repeat_rate_simulated"] = float("nan")
        ttc["repeat_share_log"] = np.nan
        ttc["repeat_share_sim"] = np.nan
        notes.append(f"repeat share {NOT_COMPARED}: the log has no location column")
    if ttc["observed_closed"].sum() == 0:
        notes.append(f"time to close {NOT_COMPARED}: the log has no close times")
    if not np.isfinite(tv):
        notes.append(f"channel mix {NOT_COMPARED}: the log has no channel column")
    return Validation(arrivals, hod, dow, ttc, channels, gof, kms, notes)
