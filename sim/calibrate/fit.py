"""Estimate a scenario's rates from a `CaseLog`.

- arrival rates per category (cases per day; duplicates are not new cases), with Poisson
  standard errors, and hour-of-day / day-of-week weights as counts over exposure hours;
- the channel mix (overall and per category);
- time to close (created -> closed) per category and per department, and handling time
  (started -> closed when the log has a start time, else the time to close), fitted with
  right-censoring of open cases (see `survival`);
- share closed by the due date, duplicate / transfer / cancellation / open shares;
- the repeat rate: cases whose location and category had a case within N days before;
- the implied staff load per department (Erlangs: cases per hour x mean handling hours).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .read import CaseLog
from .survival import DurationFit, fit_durations

#: Halfin-Whitt safety margin: staff = load + BETA * sqrt(load) + 1 makes waiting rare
#: (probability of waiting about 0.2% for M/M/c)
BETA = 3.0
MIN_HOD_EXPOSURE_HOURS = 2.0
MIN_DOW_EXPOSURE_HOURS = 48.0


@dataclass
class CategoryFit:
    """Everything estimated for one category."""

    code: str
    name: str
    department: str
    family: str
    cases: int                 # all cases (every status)
    arrivals: int              # cases that are new cases (not duplicates)
    rate_per_day: float        # arrivals per day (divided by the sampling fraction)
    rate_se_per_day: float     # Poisson standard error
    ttc: DurationFit
    handling: DurationFit
    deadline_hours: float = float("nan")    # median due - created
    due_cases: int = 0
    on_time_share: float = float("nan")
    channel_shares: dict[str, float] = field(default_factory=dict)
    handling_from: str = "ttc"  # "ttc" (created -> closed) or "started" (started -> closed)


@dataclass
class DepartmentFit:
    """Per department: time to close, implied load and the staff that makes queueing rare."""

    code: str
    name: str
    categories: list[str]
    cases: int
    ttc: DurationFit
    load_erlangs: float        # arrivals per hour x mean handling hours, summed over categories
    staff_no_queue: int        # ceil(load + BETA sqrt(load)) + 1
    mean_busy: float = float("nan")         # observed mean cases in handling (needs started)
    peak_busy: int = 0                      # observed peak cases in handling (needs started)
    #: capacity read off the log (`cases_in_hand`): cases open at once, Little's law over windows
    in_hand_mean: float = float("nan")      # mean cases open over the window (L)
    in_hand_peak: int = 0                   # most cases open at one instant
    in_hand_peak_lo: float = float("nan")   # 90% interval of the peak (a Poisson count)
    in_hand_peak_hi: float = float("nan")
    busiest_window_throughput: float = float("nan")   # closures per day in the busiest window
    in_hand_busiest_window: float = float("nan")   # max over windows of L_w
    backlog_growth_per_day: float = float("nan")      # slope of cases open, last half vs first
    staff_inferred: int = 0                 # ceil(peak + BETA sqrt(peak)) + 1
    staff_lo: int = 0                       # the same rule on the interval's ends
    staff_hi: int = 0


@dataclass
class Calibration:
    """The result of `fit_log`."""

    log: CaseLog
    span_hours: float
    categories: dict[str, CategoryFit]
    departments: dict[str, DepartmentFit]
    hod: pd.DataFrame          # hour, count, exposure_hours, rate_per_hour, weight
    dow: pd.DataFrame          # weekday, count, exposure_hours, rate_per_hour, weight
    hour_weights: list[float] | None
    dow_weights: list[float] | None
    channel_mix: pd.DataFrame  # channel, cases, share
    channel_raw: pd.DataFrame  # channel_raw, channel, cases
    shares: dict[str, float]   # duplicate, transferred, cancelled, open, repeat, on_time, ...
    ttc_all: DurationFit
    notes: list[str] = field(default_factory=list)
    demand: object = None      # demand.DemandFit, set by calibrate_log
    posterior: object = None   # behaviour.Posterior, set by calibrate_log --behaviour

    def quality_line(self) -> str:
        """One line: rows, cases, span, open cases."""
        q = self.log.quality
        return (f"{q.rows_read:,} rows, {q.rows_used:,} cases over {self.span_hours / 24:,.1f} "
                f"days from {self.log.window_start:%Y-%m-%d}, {q.open_censored:,} open "
                f"(censored), {len(self.categories)} categories")

    def category_table(self) -> pd.DataFrame:
        rows = []
        for c in self.categories.values():
            h = c.handling.chosen
            rows.append({
                "category": c.code, "name": c.name, "department": c.department,
                "family": c.family, "cases": c.cases, "arrivals": c.arrivals,
                "rate_per_day": c.rate_per_day, "rate_se_per_day": c.rate_se_per_day,
                "ttc_km_median_hours": c.ttc.km.quantile(0.5),
                "ttc_km_p90_hours": c.ttc.km.quantile(0.9),
                "ttc_censored": c.ttc.n_censored, "ttc_instant": c.ttc.n_instant,
                "handling_from": c.handling_from, "handling_kind": h.kind,
                "handling_mean_hours": h.mean_hours, "handling_cv": h.cv,
                "handling_median_hours": h.quantile(0.5),
                "deadline_hours": c.deadline_hours, "due_cases": c.due_cases,
                "on_time_share": c.on_time_share, "note": c.handling.note,
            })
        return pd.DataFrame(rows).sort_values("arrivals", ascending=False, kind="stable")

    def fit_table(self, what: str = "ttc") -> pd.DataFrame:
        """Every candidate fit per category (`ttc` or `handling`) and per department."""
        rows = []
        for c in self.categories.values():
            rows.append({"level": "category", "code": c.code,
                         **getattr(c, what).row()})
        if what == "ttc":
            for d in self.departments.values():
                rows.append({"level": "department", "code": d.code, **d.ttc.row()})
        return pd.DataFrame(rows)

    def department_table(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "department": d.code, "categories": len(d.categories), "cases": d.cases,
            "ttc_km_median_hours": d.ttc.km.quantile(0.5), "ttc_chosen": d.ttc.chosen.kind,
            "load_erlangs": d.load_erlangs, "staff_no_queue": d.staff_no_queue,
            "observed_mean_in_handling": d.mean_busy, "observed_peak_in_handling": d.peak_busy,
            "mean_open": d.in_hand_mean, "busiest_window_open": d.in_hand_busiest_window,
            "peak_open": d.in_hand_peak, "peak_open_q05": d.in_hand_peak_lo,
            "peak_open_q95": d.in_hand_peak_hi,
            "busiest_window_closures_per_day": d.busiest_window_throughput,
            "backlog_growth_per_day": d.backlog_growth_per_day,
            "staff_inferred": d.staff_inferred, "staff_q05": d.staff_lo, "staff_q95": d.staff_hi,
        } for d in self.departments.values()]).sort_values("cases", ascending=False)


# ----------------------------------------------------------------------------- pieces
def exposure_hours(start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Hours of the window [start, end] falling in each (weekday, hour) cell: array 7 x 24."""
    out = np.zeros((7, 24))
    if end <= start:
        return out
    t0 = start.floor("h")
    hours = pd.date_range(t0, end.floor("h"), freq="h")
    w = np.ones(len(hours))
    w[0] -= (start - t0) / pd.Timedelta(hours=1)
    w[-1] -= 1.0 - (end - hours[-1]) / pd.Timedelta(hours=1)
    if len(hours) == 1:
        w[0] = (end - start) / pd.Timedelta(hours=1)
    np.add.at(out, (hours.day_of_week.to_numpy(), hours.hour.to_numpy()), w)
    return out


def time_weights(cases: pd.DataFrame, start, end, notes: list[str]):
    """Hour-of-day and day-of-week arrival weights (mean 1) as counts over exposure hours."""
    exp = exposure_hours(start, end)
    t = cases["created"]
    counts_all = np.zeros((7, 24))
    np.add.at(counts_all, (t.dt.day_of_week.to_numpy(), t.dt.hour.to_numpy()), 1.0)
    timed = cases[~cases.get("date_only", False)]["created"] if "date_only" in cases else t
    counts_hod = np.zeros((7, 24))
    np.add.at(counts_hod, (timed.dt.day_of_week.to_numpy(), timed.dt.hour.to_numpy()), 1.0)

    def weights(count, expo, min_exp, label, n):
        rate = np.where(expo >= min_exp, count / np.maximum(expo, 1e-12), np.nan)
        ok = np.isfinite(rate)
        table = pd.DataFrame({label: np.arange(n), "count": count, "exposure_hours": expo,
                              "rate_per_hour": rate})
        if ok.sum() < n or rate[ok].sum() <= 0:
            table["weight"] = np.nan
            return table, None
        w = rate / rate.mean()
        table["weight"] = w
        return table, [float(f"{x:.4g}") for x in w]

    hod, hw = weights(counts_hod.sum(0), exp.sum(0), MIN_HOD_EXPOSURE_HOURS, "hour", 24)
    dow, dw = weights(counts_all.sum(1), exp.sum(1), MIN_DOW_EXPOSURE_HOURS, "weekday", 7)
    if hw is None:
        notes.append("hour-of-day weights not estimated (some hour has under "
                     f"{MIN_HOD_EXPOSURE_HOURS:g} h of exposure): left flat")
    if dw is None:
        seen = int((exp.sum(1) > 0).sum())
        notes.append(f"day-of-week weights not estimated (the log covers {seen} of 7 weekdays, "
                     f"some with under {MIN_DOW_EXPOSURE_HOURS:g} h): left flat")
    return hod, dow, hw, dw


def repeat_share(cases: pd.DataFrame, window_days: float, start) -> tuple[float, int, bool]:
    """Share of cases whose location and category had a case in the `window_days` before.

    Only cases created at least `window_days` after the log starts are eligible (a full look
    back); when none are, all cases are used and the result is flagged as truncated.
    Returns (share, eligible cases, truncated).
    """
    c = cases[cases["location"] != ""][["location", "category", "created"]]
    if c.empty:
        return float("nan"), 0, False
    c = c.sort_values(["location", "category", "created"], kind="stable")
    same = (c["location"].eq(c["location"].shift())
            & c["category"].eq(c["category"].shift()))
    gap = (c["created"] - c["created"].shift()) / pd.Timedelta(days=1)
    rep = same & (gap <= window_days)
    eligible = c["created"] >= start + pd.Timedelta(days=window_days)
    truncated = not eligible.any()
    if truncated:
        eligible = pd.Series(True, index=c.index)
    return float(rep[eligible].mean()), int(eligible.sum()), truncated


def on_time(cases: pd.DataFrame, extracted_at) -> tuple[float, int, float]:
    """(share closed by the due date, cases judged, median due - created hours).

    A closed case is on time if closed <= due; an open case past its due date is late; open
    cases not yet due are not judged. Duplicates/transfers/cancellations are not judged.
    """
    c = cases[cases["due"].notna() & cases["kind"].isin(["closed", "open"])]
    if c.empty:
        return float("nan"), 0, float("nan")
    allowed = (c["due"] - c["created"]) / pd.Timedelta(hours=1)
    allowed = allowed[allowed > 0]
    closed = c["closed"].notna()
    judged = closed | (c["due"] < extracted_at)
    ok = closed & (c["closed"] <= c["due"])
    n = int(judged.sum())
    share = float(ok[judged].mean()) if n else float("nan")
    return share, n, float(allowed.median()) if len(allowed) else float("nan")


def busy_profile(cases: pd.DataFrame, start, end) -> tuple[float, int]:
    """(mean, peak) cases in handling (started <= t < closed) over the window."""
    c = cases[cases["started"].notna()]
    if c.empty:
        return float("nan"), 0
    s = c["started"]
    e = c["closed"].fillna(end)
    e = e.where(e >= s, s)
    span = (end - start) / pd.Timedelta(hours=1)
    inside = ((e.clip(upper=end) - s.clip(lower=start)) / pd.Timedelta(hours=1)).clip(lower=0)
    ev = np.concatenate([s.to_numpy(dtype="datetime64[ns]").astype(np.int64),
                         e.to_numpy(dtype="datetime64[ns]").astype(np.int64)])
    step = np.concatenate([np.ones(len(s)), -np.ones(len(e))])
    order = np.lexsort((step, ev))          # ends before starts at the same instant
    peak = int(np.max(np.cumsum(step[order]))) if len(order) else 0
    return float(inside.sum() / max(span, 1e-9)), peak


def _open_intervals(cases: pd.DataFrame, start: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """(opened, closed) hours from `start` of every timed case (duplicates out; a case whose
    close time is unknown but that is not open is left out; an open case is open until the
    export time, where its time to close is censored)."""
    c = cases[(cases["kind"] != "duplicate") & cases["ttc_event"].notna()]
    s = ((c["created"] - start) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    e = s + np.maximum(c["ttc_hours"].to_numpy(dtype=float), 0.0)
    return s, e


def _peak(s: np.ndarray, e: np.ndarray) -> int:
    ev = np.concatenate([s, e])
    step = np.concatenate([np.ones(len(s)), -np.ones(len(e))])
    order = np.lexsort((step, ev))          # closures before openings at the same instant
    return int(np.max(np.cumsum(step[order]))) if len(order) else 0


def _in_hand_integral(s: np.ndarray, e: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Integral over [0, t] of the number of cases open (case-hours), at each t."""
    ss, es = np.sort(s), np.sort(e)
    cs, ce = np.concatenate([[0.0], np.cumsum(ss)]), np.concatenate([[0.0], np.cumsum(es)])
    ks, ke = np.searchsorted(ss, t, "right"), np.searchsorted(es, t, "right")
    return (ks * t - cs[ks]) - (ke * t - ce[ke])


def cases_in_hand(cases: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> dict:
    """A department's effective capacity read off its log (effective capacity from the log:
    the cases it demonstrably held open at once).

    - L_w, the time-average number of cases open in each window w (a day; an hour when the log
      spans under 30 days): Little's law over windows, L = lambda W (the area under the count
      of open cases is the sum of their times in system; Kim and Whitt 2013, "Statistical
      analysis with Little's law"); its mean over the whole window and its busiest window;
    - the throughput of the busiest window (closures per day);
    - the peak number open at one instant, with a 90% interval reading it as a Poisson count
      (the number open at an instant of an M(t)/G/infinity system is Poisson; resampling cases
      would bias a maximum upward);
    - the backlog's growth: the mean number open over the second half of the window minus the
      first half, per day of half-window spacing (positive = a growing backlog)."""
    s, e = _open_intervals(cases, start)
    span = max((end - start) / pd.Timedelta(hours=1), 1e-9)
    out = {"in_hand_mean": float("nan"), "in_hand_peak": 0, "in_hand_peak_lo": float("nan"),
           "in_hand_peak_hi": float("nan"), "busiest_window_throughput": float("nan"),
           "in_hand_busiest_window": float("nan"), "backlog_growth_per_day": float("nan")}
    if not len(s):
        return out
    e_c = np.minimum(e, span)
    width = 24.0 if span >= 30 * 24 else 1.0
    edges = np.arange(0.0, span + width, width)
    integ = _in_hand_integral(s, e_c, edges)
    L_w = np.diff(integ) / width
    out["in_hand_mean"] = float(integ[-1] / span)
    closed_w = np.histogram(e[e <= span], bins=edges)[0]
    out["busiest_window_throughput"] = float(closed_w.max() * 24.0 / width)
    out["in_hand_busiest_window"] = float(L_w.max())
    half = len(L_w) // 2
    if half >= 1:
        out["backlog_growth_per_day"] = float((L_w[half:].mean() - L_w[:half].mean())
                                              / (half * width / 24.0))
    out["in_hand_peak"] = _peak(s, e_c)
    # the count at its peak read as a Poisson count (cases open at an instant of an
    # M(t)/G/infinity system are Poisson): its 90% interval
    from scipy.stats import poisson

    peak = out["in_hand_peak"]
    out["in_hand_peak_lo"], out["in_hand_peak_hi"] = (float(x) for x in
                                                      poisson.ppf([0.05, 0.95], max(peak, 1e-9)))
    return out


def staff_for(peak: float) -> int:
    """Servers that hold `peak` cases at once with a margin for the simulation's own Poisson
    variation (Halfin-Whitt, BETA standard deviations): ceil(peak + BETA sqrt(peak)) + 1."""
    if not np.isfinite(peak):
        return 1
    return int(math.ceil(peak + BETA * math.sqrt(max(peak, 0.0)))) + 1


def on_shift_hours_until(t: pd.Series, shift) -> np.ndarray:
    """Working hours of a `Shift` from a fixed Monday epoch up to each time (vectorised)."""
    x = ((t - pd.Timestamp("1970-01-05")) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    day = np.floor(x / 24.0)
    hour = x - 24.0 * day
    length = shift.end_hour - shift.start_hour
    per_day = np.array([length if k in shift.days else 0.0 for k in range(7)])
    before = np.concatenate([[0.0], np.cumsum(per_day)])
    dow = np.mod(day, 7).astype(int)
    within = np.where(per_day[dow] > 0, np.clip(hour - shift.start_hour, 0.0, length), 0.0)
    return np.floor(day / 7.0) * per_day.sum() + before[dow] + within


def staff_hours(cases: pd.DataFrame, departments: dict, extracted_at) -> pd.Series:
    """Handling as staff time: on-shift hours between start and close (or the export time)
    minus the department's response hours, for departments with shifts or response times
    (cogov pauses work outside shifts; `response_hours` is part of the task)."""
    hours = cases["handling_hours"].copy()
    for code, dept in departments.items():
        if dept.shift.always and dept.response_hours == 0:
            continue
        m = (cases["department"] == code) & cases["handling_event"].notna()
        if not m.any():
            continue
        g = cases[m]
        end = g["closed"].where(g["handling_event"] == 1, extracted_at)
        work = on_shift_hours_until(end, dept.shift) - on_shift_hours_until(g["started"],
                                                                               dept.shift)
        hours[m] = np.maximum(work - dept.response_hours, 0.0)
    return hours


def family_of(code: str, raw: str, mapping) -> str:
    fams = mapping.categories.families
    if code in fams:
        return fams[code]
    for prefix, fam in fams.items():
        if raw.startswith(prefix):
            return fam
    return mapping.categories.family


def _mode(s: pd.Series) -> str:
    m = s.mode()
    return str(m.iat[0]) if len(m) else ""


# ----------------------------------------------------------------------------- main
def fit_log(log: CaseLog, ks_floor: float = 0.05, base=None) -> Calibration:
    """Fit everything the calibrated scenario and the report need.

    `base` (a Scenario, optional): with a start-time column and `sizing: keep`, handling is
    measured in the base departments' working hours (see `staff_hours`).
    """
    mapping = log.mapping
    cases = log.cases
    notes = list(log.quality.notes)
    if base is not None and mapping.columns.started and mapping.sizing == "keep":
        shifted = {k: d for k, d in base.departments.items()
                   if not d.shift.always or d.response_hours > 0}
        if shifted:
            cases = cases.copy()
            cases["handling_hours"] = staff_hours(cases, shifted, log.extracted_at)
            notes.append("handling = on-shift hours between start and close minus response "
                         "hours, using the base's shifts for " + ", ".join(sorted(shifted)))
    res = mapping.timestamps.resolution_hours
    frac = mapping.sampling_fraction
    arrivals = cases[cases["kind"] != "duplicate"]
    n_all = len(arrivals)
    # n points spread over [0, T] span (n - 1)/(n + 1) of it on average
    span = log.span_hours * ((n_all + 1) / max(n_all - 1, 1) if n_all > 1 else 1.0)
    started_mapped = bool(mapping.columns.started)

    cats: dict[str, CategoryFit] = {}
    for code, g in cases.groupby("category", sort=False):
        arr = g[g["kind"] != "duplicate"]
        n = len(arr)
        dept = _mode(g["department"])
        raw = _mode(g["category_raw"])
        lumped = g["category_raw"].nunique() > 1 and code.endswith("_other")
        ttc = fit_durations(g["ttc_hours"], g["ttc_event"], res, ks_floor)
        if started_mapped:
            hand = fit_durations(g["handling_hours"], g["handling_event"], res, ks_floor)
        else:
            hand = ttc
        share, n_due, allowed = on_time(g, log.extracted_at)
        ch = arr["channel"].dropna()
        cats[code] = CategoryFit(
            code=code, name=(f"Other ({dept})" if lumped else raw or code), department=dept,
            family=family_of(code, raw, mapping), cases=len(g), arrivals=n,
            rate_per_day=n / span * 24.0 / frac,
            rate_se_per_day=math.sqrt(max(n, 1)) / span * 24.0 / frac,
            ttc=ttc, handling=hand, deadline_hours=allowed, due_cases=n_due,
            on_time_share=share,
            channel_shares=(ch.value_counts(normalize=True).to_dict() if len(ch) else {}),
            handling_from="started" if started_mapped else "ttc")

    depts: dict[str, DepartmentFit] = {}
    for code, g in cases.groupby("department", sort=False):
        owned = [c.code for c in cats.values() if c.department == code]
        load = sum(cats[c].rate_per_day / 24.0 * cats[c].handling.chosen.mean_hours
                   for c in owned)
        mean_busy, peak = (busy_profile(g, log.window_start, log.extracted_at)
                           if started_mapped else (float("nan"), 0))
        # the simulation routes each category to its owner: the owner's capacity must hold
        # the cases of every category it owns (whichever office handled them in the log)
        cap = cases_in_hand(cases[cases["category"].isin(owned)], log.window_start,
                            log.extracted_at)
        depts[code] = DepartmentFit(
            code=code, name=_mode(g["department_raw"]) or code, categories=owned, cases=len(g),
            ttc=fit_durations(g["ttc_hours"], g["ttc_event"], res, ks_floor),
            load_erlangs=load, staff_no_queue=int(math.ceil(load + BETA * math.sqrt(load))) + 1,
            mean_busy=mean_busy, peak_busy=peak, **cap,
            staff_inferred=staff_for(cap["in_hand_peak"]),
            staff_lo=staff_for(cap["in_hand_peak_lo"]),
            staff_hi=staff_for(cap["in_hand_peak_hi"]))

    hod, dow, hw, dw = time_weights(arrivals, log.window_start, log.window_end, notes)

    ch = arrivals["channel"].dropna()
    vc = ch.value_counts()
    mix = pd.DataFrame({"channel": [str(x) for x in vc.index],
                        "cases": vc.to_numpy(dtype=np.int64)})
    mix["share"] = mix["cases"] / max(1, mix["cases"].sum())
    raw = (arrivals.groupby(["channel_raw", "channel"], dropna=False).size()
           .reset_index(name="cases").sort_values("cases", ascending=False))

    kinds = cases["kind"].value_counts(normalize=True)
    rep, eligible, truncated = repeat_share(arrivals, mapping.repeat_window_days,
                                            log.window_start)
    if truncated:
        notes.append(f"repeat rate: the log spans less than {mapping.repeat_window_days:g} "
                     f"days, so no case has a full look-back; computed over all cases "
                     f"(an underestimate)")
    ot, n_ot, _ = on_time(cases, log.extracted_at)
    shares = {
        "duplicate": float(kinds.get("duplicate", 0.0)),
        "transferred": float(kinds.get("transferred", 0.0)),
        "cancelled": float(kinds.get("cancelled", 0.0)),
        "open_at_export": float(kinds.get("open", 0.0)),
        "repeat": rep, "repeat_eligible_cases": float(eligible),
        "repeat_window_days": float(mapping.repeat_window_days),
        "on_time": ot, "on_time_judged_cases": float(n_ot),
        "complaints_per_case": float(cases["complaints"].mean()),
        "cases_per_day": n_all / span * 24.0 / frac,
    }
    if not ch.empty and ch.isin(["grid_patrol"]).any():
        notes.append(f"{(ch == 'grid_patrol').mean():.1%} of cases were logged by field staff "
                     f"(mapped to grid_patrol)")
    ttc_all = fit_durations(cases["ttc_hours"], cases["ttc_event"], res, ks_floor)
    if ttc_all.n_events == 0:
        notes.append("no case has a close time: time to close cannot be estimated; handling "
                     "is a placeholder (exponential with mean = the longest follow-up)")
    return Calibration(log=log, span_hours=span, categories=cats, departments=depts, hod=hod,
                       dow=dow, hour_weights=hw, dow_weights=dw, channel_mix=mix,
                       channel_raw=raw, shares=shares, ttc_all=ttc_all, notes=notes)
