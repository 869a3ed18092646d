"""Problems (问题) drawn in bulk before the run: when each arises, and when a citizen first
reports it or a patrol detects it (numpy, vectorised; the engine then replays them in time
order). Per-category rates here are also what the engine uses for recurrences."""

from __future__ import annotations

import math

import numpy as np

from ..scenario.schema import LAND_USES
from ..streams import draw


def channel_cdf(scenario, cats, channel_codes, channel_kinds, citizen_channels) -> np.ndarray:
    """Per category, the cumulative weights of the citizen channels (patrol excluded)."""
    rows = []
    for c in cats:
        w = np.array([(c.channel_weights or {}).get(code, 0.0) if c.channel_weights
                      else scenario.channels[code].propensity for code in channel_codes])
        w[[k == "patrol" for k in channel_kinds]] = 0.0
        if w.sum() <= 0:
            w[citizen_channels] = 1.0
        rows.append(np.cumsum(w / w.sum()))
    cdf = np.array(rows)
    cdf[:, -1] = 1.0
    return cdf


def patrol_hazard(scenario, cats) -> np.ndarray:
    """Per category, the hazard per hour that patrolling grid workers detect a problem:
    -ln(1 - p) per full patrol, times patrols per hour."""
    gw = scenario.grid_workers
    patrols_per_hour = (gw.per_grid + gw.extra_forces_per_grid) * gw.patrol_hours_per_day \
        / gw.full_patrol_hours / 24.0
    p = np.array([gw.detection_prob_by_family.get(c.family, gw.detection_prob) for c in cats])
    return -np.log1p(-np.minimum(p, 1 - 1e-12)) * patrols_per_hour


def report_probability(scenario, cats) -> np.ndarray:
    return np.array([c.p_report for c in cats]) * scenario.citizens.report_propensity


def arrival_times(scenario, horizon: float, gen, n: int) -> np.ndarray:
    """Problem arrival times (hours): uniform, or by hour-of-day and weekday weights."""
    c = scenario.citizens
    if c.hour_of_day_weights is None and c.day_of_week_weights is None:
        return gen.uniform(0.0, horizon, n)
    hod = np.asarray(c.hour_of_day_weights or [1.0] * 24, dtype=float)
    dow = np.asarray(c.day_of_week_weights or [1.0] * 7, dtype=float)
    n_hours = int(math.ceil(horizon))
    h = np.arange(n_hours)
    wd0 = scenario.run.start_date.weekday()
    w = hod[h % 24] * dow[(wd0 + h // 24) % 7]
    last = horizon - (n_hours - 1)   # length of a partial last hour
    w[-1] *= last
    slot = np.searchsorted(np.cumsum(w) / w.sum(), gen.random(n), side="right")
    width = np.where(slot == n_hours - 1, last, 1.0)
    return slot + gen.random(n) * width


def demand_multipliers(scenario, cats, horizon: float) -> np.ndarray | None:
    """Per category and hour of the run, the factor of `Category.demand` (n_cat x hours), or
    None when no category has a profile (then arrivals are drawn as before, bit for bit).
    Categories without a profile have factor 1."""
    if not any(c.demand is not None for c in cats):
        return None
    n_hours = int(math.ceil(horizon))
    start = np.datetime64(scenario.run.start_date, "h")
    stamps = start + np.arange(n_hours).astype("timedelta64[h]")
    how = (scenario.run.start_date.weekday() * 24 + np.arange(n_hours)) % 168
    month = stamps.astype("datetime64[M]").astype(int) % 12
    out = np.ones((len(cats), n_hours))
    for k, c in enumerate(cats):
        d = c.demand
        if d is None:
            continue
        if d.hour_of_week is not None:
            w = np.asarray(d.hour_of_week, dtype=float)
            out[k] *= w[how] / w.mean()
        if d.month is not None:
            w = np.asarray(d.month, dtype=float)
            out[k] *= w[month] / w.mean()
        if d.trend_per_year:
            ref = np.datetime64(d.reference_date or scenario.run.start_date, "h")
            years = (stamps - ref).astype(float) / (365.25 * 24.0)
            out[k] *= (1.0 + d.trend_per_year) ** years
    return out


def _thinned(lam, cats, mult, horizon, gen, scenario):
    """Counts, grids, categories and times of the problems when some categories have a demand
    profile: candidates at each category's peak rate, uniform in time, each kept with
    probability rate(t) / peak (thinning, Lewis and Shedler 1979). Categories without a
    profile are drawn as in `arrival_times`."""
    peak = mult.max(axis=1)
    profiled = np.array([c.demand is not None for c in cats])
    counts = gen.poisson(lam * np.where(profiled, peak, 1.0)[None, :]).ravel()
    n_cat = len(cats)
    idx = np.repeat(np.arange(counts.size), counts)
    grid, cat = idx // n_cat, idx % n_cat
    on = profiled[cat]
    t0 = np.empty(idx.size)
    t0[~on] = arrival_times(scenario, horizon, gen, int((~on).sum()))
    t0[on] = gen.uniform(0.0, horizon, int(on.sum()))
    hour = np.minimum(t0.astype(np.int64), mult.shape[1] - 1)
    keep = ~on | (gen.random(idx.size) * peak[cat] < mult[cat, hour])
    return grid[keep], cat[keep], t0[keep]


def generate(engine) -> np.ndarray:
    """Draw every problem of the run, and its first citizen report and patrol detection, into
    the engine's problem table and arrival arrays. Returns each problem's reporting uniform
    (by problem id): a citizen reports when it falls below the report probability, which the
    engine's `_p_rep` bounds (citizens who learn compare it again, at the moment of reporting,
    with their probability then: `Citizen.reports`)."""
    s = engine.scenario
    layout = engine.layout
    streams = engine.streams
    horizon = engine.horizon
    cats = engine.cats
    pop, street_of, mix = layout.arrays()
    inc = np.array([[c.incidence_per_1000_per_year.get(
        u, c.incidence_per_1000_per_year.get("default", 0.0)) for u in LAND_USES]
        for c in cats])
    lam = (pop[:, None] / 1000.0) * (mix @ inc.T) * (s.run.horizon_days / 365.0)
    gen = streams["arrivals"]
    mult = demand_multipliers(s, cats, horizon)
    if mult is None:
        counts = gen.poisson(lam).ravel()
        n_cat = len(cats)
        idx = np.repeat(np.arange(counts.size), counts)
        grid, cat = idx // n_cat, idx % n_cat
        t0 = arrival_times(s, horizon, gen, idx.size)
    else:
        grid, cat, t0 = _thinned(lam, cats, mult, horizon, gen, s)
    order = np.argsort(t0, kind="stable")
    grid, cat, t0 = grid[order], cat[order], t0[order]
    # one shared int object per grid, not one per problem (760k fewer objects in memory)
    shared = np.array(range(len(engine.grid_street)), dtype=object)
    engine.add_problems(shared[grid].tolist(), cat.tolist(), t0.tolist(), -1)

    # contacts: first citizen report (and its channel), patrol detection
    n = t0.size
    g_rep, g_pat, g_ch = streams["reporting"], streams["patrol"], streams["channel"]
    u_rep = g_rep.random(n)
    reports = u_rep < np.asarray(engine._p_rep)[cat]   # the citizens' decision (or candidates)
    t_cit = np.where(reports, t0 + draw(s.citizens.report_delay, g_rep, n), np.inf)
    cum = channel_cdf(s, cats, engine.channel_codes, engine.channel_kinds,
                      engine.citizen_channels)
    ch = (g_ch.random(n)[:, None] > cum[cat]).sum(axis=1)
    ch = np.minimum(ch, len(engine.channel_codes) - 1)
    hz = patrol_hazard(s, cats)[cat]
    for c in s.campaigns:
        if c.detection_boost == 1.0:
            continue
        hit = (t0 >= c.start_day * 24) & (t0 < c.end_day * 24)
        if c.categories:
            hit &= np.isin(cat, [engine.cat_index[k] for k in c.categories])
        if c.streets:
            names = {st.name: st.index for st in layout.streets}
            hit &= np.isin(np.asarray(engine.grid_street)[grid], [names[x] for x in c.streets])
        hz = np.where(hit, hz * c.detection_boost, hz)
    with np.errstate(divide="ignore"):
        wait = np.where(hz > 0, g_pat.exponential(1.0, n) / np.where(hz > 0, hz, 1.0), np.inf)
    t_pat = t0 + wait if engine.patrol_channel >= 0 else np.full(n, np.inf)

    pid = np.arange(n)
    cit_ok = t_cit < horizon
    pat_ok = t_pat < horizon
    times = np.concatenate([t_cit[cit_ok], t_pat[pat_ok]])
    pids = np.concatenate([pid[cit_ok], pid[pat_ok]])
    chans = np.concatenate([ch[cit_ok], np.full(int(pat_ok.sum()), engine.patrol_channel)])
    cits = np.concatenate([np.ones(int(cit_ok.sum()), bool), np.zeros(int(pat_ok.sum()), bool)])
    o = np.lexsort((pids, times))
    engine.set_arrivals(times[o].tolist(), pids[o].tolist(), chans[o].tolist(),
                        cits[o].tolist())
    return u_rep
