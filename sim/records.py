"""Records: turning a finished model into the case log, time series and summary.

Every metric here is defined in docs/metrics.md. "After warm-up" means an event time at or
after `run.warmup_days`.

The tables are `sim.table.Table`s (numpy columns): a run is summarised and written without
pandas; `case_log()` alone, the text case log of the library API and of `--format csv`,
builds a pandas DataFrame.
"""

from __future__ import annotations

import numpy as np

from .engine import OUTCOMES, RESOLVING, Case  # noqa: F401  (Case: the case record)
from .gcpause import gc_paused
from .table import Table, arrow_array, dictionary_array

CASE_LOG_COLUMNS = [
    "service_request_id", "service_code", "service_name", "status", "agency_responsible",
    "requested_datetime", "updated_datetime", "expected_datetime", "problem_id", "case_id",
    "channel", "street", "grid", "is_repeat", "dispatched_at", "started_at", "closed_at",
    "outcome",
]


def _iso(base: np.datetime64, hours: np.ndarray) -> np.ndarray:
    """ISO-8601 strings (seconds) for hours from `base`; '' where hours < 0."""
    secs = np.round(np.where(hours >= 0, hours, 0.0) * 3600.0).astype("int64")
    out = np.datetime_as_string(base + secs.astype("timedelta64[s]"), unit="s").astype(object)
    out[hours < 0] = ""
    return out


_RESOLVING_CODES = [OUTCOMES.index(o) for o in RESOLVING]

CASE_TABLE_TYPES = {
    "case_id": np.int64, "problem_id": np.int64, "k": np.int64, "street": np.int64,
    "grid": np.int64, "opened": float, "dispatched": float, "started": float, "closed": float,
    "outcome": np.int8, "agency": np.int16, "transfers": np.int64, "dissatisfied": bool}
CASE_TABLE_SLICE = 4096   # cases read per pass: the temporary lists stay in the L2 cache


@gc_paused
def case_table(model) -> Table:
    """One row per case (internal; the basis of the case log and the summaries); `outcome`
    and `agency` are codes (labels: `OUTCOMES`, the engine's agency names). Read from the engine
    a slice at a time into preallocated arrays, so the cost stays proportional to the number of
    cases (no million-element temporary lists)."""
    e = model.engine
    n = len(e.cases)
    data = {name: np.empty(n, dtype=t) for name, t in CASE_TABLE_TYPES.items()}
    for a in range(0, n, CASE_TABLE_SLICE):
        b = min(n, a + CASE_TABLE_SLICE)
        for name, v in e.case_columns(a, b).items():
            data[name][a:b] = np.fromiter(v, data[name].dtype, b - a)   # one pass
    return Table(data, labels={"outcome": OUTCOMES, "agency": e.agency_names()})


@gc_paused
def complaint_table(model) -> Table:
    """One row per complaint (internal): time (hours), problem, case, channel code, whether it
    repeats an open problem's complaint, whether a citizen (not a patrol) made it."""
    n = len(model.c_t)   # np.fromiter: one pass over each list (np.asarray makes two)
    return Table({
        "t": np.fromiter(model.c_t, float, n),
        "pid": np.fromiter(model.c_pid, np.int64, n),
        "case_id": np.fromiter(model.c_case, np.int64, n),
        "channel": np.fromiter(model.c_channel, np.int64, n),
        "is_repeat": np.fromiter(model.c_repeat, bool, n),
        "citizen": np.fromiter(model.c_citizen, bool, n),
    })


def _rows(t: Table, rows: slice) -> Table:
    return Table({k: v[rows] for k, v in t.columns.items()}, t.labels)


def _case_log_parts(model, cases: Table | None, complaints: Table | None,
                    rows: slice | None) -> tuple[dict, int]:
    """The case log's columns as codes and numbers (one definition for CSV and Parquet):
    `(parts, first_row)`. Text columns are `(codes, labels)`; times are hours (< 0: none)."""
    cases = case_table(model) if cases is None else cases
    comp = complaint_table(model) if complaints is None else complaints
    first = 0
    if rows is not None:
        first = rows.start or 0
        comp = _rows(comp, rows)
    ci = comp["case_id"]
    k = cases["k"][ci]
    closed = cases["closed"][ci]
    dispatched = cases["dispatched"][ci]
    started = cases["started"][ci]
    t = comp["t"]
    deadline = np.asarray(model.deadline)[k]
    updated = np.where(closed >= 0, closed, np.maximum.reduce([t, dispatched, started]))
    parts = {
        "service_request_id": np.arange(first + 1, first + len(comp) + 1),
        "service_code": (k, list(model.cat_codes)),
        "service_name": (k, [c.name for c in model.cats]),
        "status": ((closed < 0).astype(np.int8), ["closed", "open"]),
        "agency_responsible": (cases["agency"][ci], cases.labels["agency"]),
        "requested_datetime": t,
        "updated_datetime": updated,
        "expected_datetime": t + deadline,
        "problem_id": comp["pid"],
        "case_id": ci,
        "channel": (comp["channel"], list(model.channel_codes)),
        "street": (cases["street"][ci], [s.name for s in model.layout.streets]),
        "grid": (cases["grid"][ci], [g.name for g in model.layout.grids]),
        "is_repeat": comp["is_repeat"].astype(np.int8),
        "dispatched_at": dispatched,
        "started_at": started,
        "closed_at": closed,
        "outcome": (cases["outcome"][ci], cases.labels["outcome"]),
    }
    return parts, first


TIME_COLUMNS = ("requested_datetime", "updated_datetime", "expected_datetime", "dispatched_at",
                "started_at", "closed_at")


@gc_paused
def case_log(model, cases: Table | None = None, complaints: Table | None = None,
             rows: slice | None = None):
    """The case log: one row per complaint, Open311 GeoReport v2 names where one fits
    (`rows`: only that slice of complaints, to write a large log in chunks). Times are ISO-8601
    text ('' when none), as in `cases.csv`. A pandas DataFrame (the library API's
    `RunResult.cases`, and `--format csv`)."""
    import pandas as pd

    parts, _ = _case_log_parts(model, cases, complaints, rows)
    base = np.datetime64(model.scenario.run.start_date.isoformat(), "s")
    data = {}
    for name in CASE_LOG_COLUMNS:
        v = parts[name]
        if isinstance(v, tuple):
            codes, labels = v
            col = np.asarray([*labels, None], dtype=object)[codes]   # code -1: None (empty)
            data[name] = col
        elif name in TIME_COLUMNS:
            data[name] = _iso(base, v)
        else:
            data[name] = v
    data["is_repeat"] = data["is_repeat"].astype(int)
    return pd.DataFrame(data, columns=CASE_LOG_COLUMNS)


@gc_paused
def case_log_arrow(model, cases: Table | None = None, complaints: Table | None = None,
                   rows: slice | None = None):
    """The same case log as a pyarrow Table for `cases.parquet`: text columns dictionary-encoded
    (pandas reads them as categories), times as timestamps in seconds (null when none), so
    pandas, polars and DuckDB read typed columns without parsing text."""
    import pyarrow as pa

    parts, _ = _case_log_parts(model, cases, complaints, rows)
    base = np.datetime64(model.scenario.run.start_date.isoformat(), "s")
    arrays = []
    for name in CASE_LOG_COLUMNS:
        v = parts[name]
        if isinstance(v, tuple):
            arrays.append(dictionary_array(*v))
        elif name in TIME_COLUMNS:
            secs = np.round(np.where(v >= 0, v, 0.0) * 3600.0).astype("int64")
            arrays.append(arrow_array(base + secs.astype("timedelta64[s]"), mask=v < 0))
        else:
            arrays.append(arrow_array(v))
    return pa.Table.from_arrays(arrays, names=CASE_LOG_COLUMNS)


def _ttc_stats(opened, closed) -> dict:
    done = closed >= 0
    ttc = closed[done] - opened[done]
    if ttc.size == 0:
        return {"mean_time_to_close_hours": None, "median_time_to_close_hours": None,
                "p90_time_to_close_hours": None}
    return {"mean_time_to_close_hours": float(ttc.mean()),
            "median_time_to_close_hours": float(np.median(ttc)),
            "p90_time_to_close_hours": float(np.quantile(ttc, 0.9))}


def _r(x, nd=6):
    return None if x is None else round(float(x), nd)


def citizen_repeats(comp, window_hours: float) -> np.ndarray:
    """Per complaint: True for a citizen complaint about a problem that citizens already
    reported within `window_hours` before (the 12345-style repeat; patrol reports neither
    count nor make later complaints repeats)."""
    cit = np.asarray(comp["citizen"])   # a complaint Table or DataFrame
    idx = np.flatnonzero(cit)
    out = np.zeros(len(comp), bool)
    if idx.size < 2:
        return out
    pid = np.asarray(comp["pid"])[idx]
    t = np.asarray(comp["t"])[idx]
    order = np.lexsort((t, pid))
    ps, ts = pid[order], t[order]
    same = ps[1:] == ps[:-1]
    rep = np.zeros(idx.size, bool)
    rep[1:] = same & (ts[1:] - ts[:-1] <= window_hours)
    out[idx[order]] = rep
    return out


def complaint_kinds(cases: Table, comp: Table, window_hours: float) -> dict[str, np.ndarray]:
    """Per complaint, what a hotline would call it (one definition for every summary):

    - `first`: the first report of a problem (nobody had reported it: no case before);
    - `chase` (催办): a complaint about a problem whose case is still open (it joins that case);
    - `recomplaint` (重复投诉): a complaint that opens a new case of a problem whose previous
      case was closed at most `window_hours` before;
    - `later`: a complaint that opens a new case of a problem whose previous case was closed
      longer ago than the window.
    Made by citizens or by patrols alike (the caller masks by `comp["citizen"]`). A complaint
    opens a case when it is the first complaint of that case; a problem has one open case at a
    time, so "the previous case" is the problem's case opened before this one."""
    ci = np.asarray(comp["case_id"])
    n = ci.size
    opens = np.zeros(n, bool)
    if n:
        _, first_row = np.unique(ci, return_index=True)
        opens[first_row] = True
    # per case: the close time of the problem's previous case (-inf when it has none)
    pid = np.asarray(cases["problem_id"])
    order = np.lexsort((np.asarray(cases["opened"]), pid))
    prev_closed = np.full(pid.size, -np.inf)
    if pid.size > 1:
        same = pid[order][1:] == pid[order][:-1]
        prev_closed[order[1:][same]] = np.asarray(cases["closed"])[order[:-1][same]]
    pc = prev_closed[ci] if n else np.zeros(0)
    has_prev = pc > -np.inf
    t = np.asarray(comp["t"])
    recent = has_prev & (t - pc <= window_hours)
    return {"first": opens & ~has_prev, "chase": ~opens, "recomplaint": opens & recent,
            "later": opens & has_prev & ~recent}


def recomplaint_rate(cases: Table, kinds: dict[str, np.ndarray], comp: Table, start: float,
                     horizon: float, window_hours: float) -> tuple[float | None, int]:
    """Share of the cases closed from `start` on that are followed by a re-complaint (a
    complaint opening a new case of the same problem) within `window_hours` of closing, and
    the number of cases it is a share of. Right-censored: a case closed less than the window
    before the horizon could still be re-complained about after the run ends, so only cases
    closed by `horizon - window_hours` count."""
    closed = np.asarray(cases["closed"])
    eligible = (closed >= start) & (closed >= 0) & (closed <= horizon - window_hours)
    n = int(eligible.sum())
    if n == 0:
        return None, 0
    # the case each re-complaint opened, and that case's predecessor (the closed case)
    new_case = np.asarray(comp["case_id"])[kinds["recomplaint"]]
    pid = np.asarray(cases["problem_id"])
    order = np.lexsort((np.asarray(cases["opened"]), pid))
    prev = np.full(pid.size, -1, dtype=np.int64)
    if pid.size > 1:
        same = pid[order][1:] == pid[order][:-1]
        prev[order[1:][same]] = order[:-1][same]
    followed = np.zeros(pid.size, bool)
    followed[prev[new_case]] = True
    return float(followed[eligible].mean()), n


def joint_operations(model) -> int:
    """Linkage and campaign actions started after warm-up (联合执法/专项整治 counted as actions,
    not per case co-handled): each case handled through routine linkage (联动: co-handlers
    organised into one joint action on site) and each special campaign that starts in the
    counted period. Main/co-handling (主协办) is joint work on one case, not an operation."""
    W, H = model.warmup, model.horizon
    linkage = sum(1 for c in model.cases if c.joint == "linkage" and c.opened >= W)
    campaigns = sum(1 for c in model.scenario.campaigns if W <= c.start_day * 24.0 < H)
    return int(linkage + campaigns)


def _mean_sd(n: float, total: float, sq: float) -> tuple[float | None, float | None]:
    if n <= 0:
        return None, None
    mean = total / n
    var = max(0.0, sq / n - mean * mean)
    return mean, var ** 0.5


def decision_spread(model) -> dict:
    """`effort_mean`, `effort_sd` (over department tasks handled after warm-up: the effort each
    department chose, `Department.effort`) and `followup_hours_sd` (over grid-days after
    warm-up: the follow-up hours each grid's workers planned, `GridWorker.plan_day`). None
    when the agents keep no such record (a custom behaviour) or nothing was counted."""
    n = tot = sq = 0.0
    for d in getattr(model, "departments", ()):
        n += getattr(d, "effort_n", 0)
        tot += getattr(d, "effort_sum", 0.0)
        sq += getattr(d, "effort_sq", 0.0)
    e_mean, e_sd = _mean_sd(n, tot, sq)
    n = tot = sq = 0.0
    for g in getattr(model, "grid_agents", ()):
        n += getattr(g, "days_n", 0)
        tot += getattr(g, "followup_sum", 0.0)
        sq += getattr(g, "followup_sq", 0.0)
    _, f_sd = _mean_sd(n, tot, sq)
    return {"effort_mean": _r(e_mean), "effort_sd": _r(e_sd), "followup_hours_sd": _r(f_sd)}


@gc_paused
def summarize(model, cases: Table | None = None, complaints: Table | None = None) -> dict:
    """summary.json: every metric defined in docs/metrics.md."""
    s = model.scenario
    cases = case_table(model) if cases is None else cases
    comp = complaint_table(model) if complaints is None else complaints
    W, H = model.warmup, model.horizon
    span_days = (H - W) / 24.0
    post_c = comp["t"] >= W
    n_compl = int(post_c.sum())
    n_rep = int((comp["is_repeat"] & post_c).sum())
    cit = comp["citizen"] & post_c
    n_cit = int(cit.sum())
    n_cit_rep = int((comp["is_repeat"] & cit).sum())
    n_cit_win = int((citizen_repeats(comp, s.run.repeat_window_days * 24.0) & post_c).sum())
    patrol = ~comp["citizen"] & post_c
    n_redetect = int((comp["is_repeat"] & patrol).sum())
    window_h = s.run.repeat_window_days * 24.0
    kinds = complaint_kinds(cases, comp, window_h)
    n_chase = int((kinds["chase"] & cit).sum())
    n_recompl = int((kinds["recomplaint"] & cit).sum())
    n_first = int((kinds["first"] & cit).sum())
    rr, _ = recomplaint_rate(cases, {k: v & comp["citizen"] for k, v in kinds.items()}, comp,
                             W, H, window_h)
    by_channel = np.bincount(comp["channel"][post_c], minlength=len(model.channel_codes))
    opened = cases["opened"]
    closed = cases["closed"]
    post_open = opened >= W
    post_closed = closed >= W
    outcome = cases["outcome"]   # codes into OUTCOMES
    ttc = _ttc_stats(opened[post_open], closed[post_open])
    on_time = None
    done = post_open & (closed >= 0)
    if done.any():
        dl = np.asarray(model.deadline)[cases["k"][done]]
        on_time = float(((closed[done] - opened[done]) <= dl).mean())
    busy: dict[str, float] = {}
    cap: dict[str, float] = {}
    for u in model.units.values():
        b0, c0 = model._warm_snapshot[id(u)]
        busy[u.code] = busy.get(u.code, 0.0) + u.busy_area - b0
        cap[u.code] = cap.get(u.code, 0.0) + u.cap_area - c0
    util = {c: _r(busy[c] / cap[c] if cap[c] > 0 else 0.0) for c in s.departments}
    police_hours = model.dept_hours.get(model.police_code, 0.0) if model.police_code else 0.0
    n_closed_post = int(post_closed.sum())
    dissat = cases["dissatisfied"][post_closed]
    summary = {
        "scenario": s.name,
        "complaints": n_compl,
        "repeat_complaints": n_rep,
        "repeat_complaint_rate": _r(n_rep / n_compl if n_compl else 0.0),
        "citizen_complaints": n_cit,
        "citizen_repeat_complaints": n_cit_rep,
        "citizen_repeat_complaint_rate": _r(n_cit_rep / n_cit if n_cit else 0.0),
        "citizen_repeat_rate": _r(n_cit_win / n_cit if n_cit else 0.0),
        "grid_redetections": n_redetect,
        "first_reports": n_first,
        "chase_complaints": n_chase,
        "recomplaints_after_closure": n_recompl,
        "recomplaint_rate": _r(rr),
        "complaints_by_channel": {c: int(v) for c, v in zip(model.channel_codes, by_channel)},
        "escalations": int(model.escalations),
        "escalations_to_petition": int(model.escalations_petition),
        "cases_opened": int(post_open.sum()),
        "chase_rate": _r(n_chase / post_open.sum() if post_open.any() else 0.0),
        "cases_closed": n_closed_post,
        "throughput_per_day": _r(n_closed_post / span_days),
        "case_arrival_rate_per_day": _r(post_open.sum() / span_days),
        "problems_arisen": int(np.sum(np.asarray(model.p_t0) >= W)),
        "problems_resolved": int(model.problems_resolved),
        "problems_solved_per_day": _r(model.problems_resolved / span_days),
        "mean_wait_hours": _r(model.wait_sum / model.wait_n if model.wait_n else 0.0),
        "platform_wait_hours": _r(model.platform_wait_sum / model.platform_wait_n
                                  if model.platform_wait_n else 0.0),
        **{k: _r(v) for k, v in ttc.items()},
        "on_time_rate": _r(on_time),
        "backlog_end": int(model.n_open),
        "mean_open_cases": _r((model.open_area - model.open_area_warm) / (H - W)),
        "transfers": int(model.transfers),
        "joint_cases": int(model.joint_cases),
        "joint_operations": joint_operations(model),
        "staff_hours_total": _r(sum(model.dept_hours.values()), 3),
        "police_nonpolice_hours": _r(model.police_nonpolice_hours, 3),
        "police_nonpolice_share": _r(model.police_nonpolice_hours / police_hours
                                     if police_hours else 0.0),
        **decision_spread(model),
        "handbacks": int(model.handbacks),
        "grid_followups": int(model.grid_followups),
        "settled_by_grid": int(model.settled_by_grid),
        "settled_on_spot": int(np.sum((outcome == OUTCOMES.index("settled_on_spot"))
                                      & post_closed)),
        "resolved_share_of_closed": _r(np.isin(outcome[post_closed], _RESOLVING_CODES).mean()
                                       if n_closed_post else 0.0),
        "dissatisfaction_rate": _r(dissat.mean() if dissat.size else 0.0),
        "grid_hours": _r(model.grid_hours, 3),
        "staff_hours": {c: _r(v, 3) for c, v in model.dept_hours.items()},
        "utilization": util,
        "cases_opened_total": int(len(cases)),
        "cases_closed_total": int(np.sum(closed >= 0)),
    }
    return summary


def _group_summary(model, cases, comp, key_case: np.ndarray, labels: list[str],
                   label_name: str) -> Table:
    W = model.warmup
    ci = comp["case_id"]
    post_c = comp["t"] >= W
    key_c = key_case[ci]
    n = len(labels)
    complaints = np.bincount(key_c[post_c], minlength=n)
    repeats = np.bincount(key_c[post_c & comp["is_repeat"]], minlength=n)
    opened = cases["opened"]
    closed = cases["closed"]
    po = opened >= W
    pc = closed >= W
    done = po & (closed >= 0)
    ttc = np.where(done, closed - opened, 0.0)
    n_done = np.bincount(key_case[done], minlength=n)
    sum_ttc = np.bincount(key_case[done], weights=ttc[done], minlength=n)
    resolved = np.isin(cases["outcome"], _RESOLVING_CODES)
    return Table({
        label_name: np.asarray(labels, dtype=object),
        "complaints": complaints,
        "repeat_complaints": repeats,
        "repeat_complaint_rate": np.round(np.divide(repeats, complaints, out=np.zeros(n),
                                                    where=complaints > 0), 6),
        "cases_opened": np.bincount(key_case[po], minlength=n),
        "cases_closed": np.bincount(key_case[pc], minlength=n),
        "resolved_closed": np.bincount(key_case[pc & resolved], minlength=n),
        "mean_time_to_close_hours": np.round(np.divide(sum_ttc, n_done, out=np.full(n, np.nan),
                                                       where=n_done > 0), 4),
        "backlog_end": np.bincount(key_case[closed < 0], minlength=n),
        "transfers": np.bincount(key_case[po], weights=cases["transfers"][po],
                                 minlength=n).astype(int),
    })


def by_street(model, cases, comp) -> Table:
    names = [s.name for s in model.layout.streets]
    zh = [s.name_zh for s in model.layout.streets]
    pop = [sum(g.population for g in s.grids) for s in model.layout.streets]
    df = _group_summary(model, cases, comp, cases["street"], names, "street")
    df.insert(1, "name_zh", zh)
    df.insert(2, "population", pop)
    return df


def by_grid(model, cases, comp) -> Table:
    grids = model.layout.grids
    df = _group_summary(model, cases, comp, cases["grid"], [g.name for g in grids],
                        "grid")
    df.insert(1, "street", [model.layout.streets[g.street].name for g in grids])
    df.insert(2, "population", [g.population for g in grids])
    return df


def by_category(model, cases, comp) -> Table:
    df = _group_summary(model, cases, comp, cases["k"], list(model.cat_codes),
                        "category")
    df.insert(1, "name", [c.name for c in model.cats])
    df.insert(2, "name_zh", [c.name_zh for c in model.cats])
    df.insert(3, "family", [c.family for c in model.cats])
    df.insert(4, "owner", [c.owner for c in model.cats])
    return df


def timeseries(model) -> Table:
    """The daily time series (see docs/metrics.md): `date` (ISO-8601 text), `day`, then the
    model's collected columns."""
    cols = model.datacollector.columns()
    hours = cols["time_hours"]
    base = np.datetime64(model.scenario.run.start_date.isoformat(), "s")
    secs = np.round(hours * 3600.0).astype("int64").astype("timedelta64[s]")
    date = np.datetime_as_string(base + secs, unit="s").astype(object)
    return Table({"date": date, "day": np.round(hours / 24.0, 6), **cols})
