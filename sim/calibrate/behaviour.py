"""`calibrate --behaviour`: behaviour parameters from the log's repeat structure, by ABC-SMC.

A case log shows complaints, not what citizens and departments did between them. What it does
show is the *repeat structure*: complaints about the same location and category within
`repeat_window_days`, whether the earlier case was still open then, how long after, and by
which channel. The parameters behind it are inferred by simulation-based inference with
pyabc's ABC-SMC (Toni et al. 2009; Klinger et al. 2018), not a hand-written sampler:

- `catalogue.<code>.p_resolve` for the categories with the most cases (`MAX_CATEGORIES`; the
  others get the mean of their posterior means): a handling that does not truly resolve the
  problem brings a repeat *after* the case closed;
- `citizens.repeat.patience.mean` (hours): the gap between a complaint and its repeat;
- `citizens.repeat.p_complain_again`: repeats *while* the case is still open, and the length
  of repeat chains;
- `citizens.repeat.switch_channel_prob` (the escalation the model has: a repeat by another
  channel, e.g. from 12345 to 110), when the log has two or more citizen channels.

Summary statistics, computed the same way on the log (a complaint located by its address or
grid) and on each simulation (located by its problem): the share of complaints that repeat,
overall and by channel; the share that repeat while the earlier case is still open; per
inferred category the share that repeat after the earlier case closed; the median gap of
repeats (log hours); the share of repeats by another channel. Only complaints with a full
look-back window count. The distance is pyabc's adaptive weighted Euclidean distance (each
statistic scaled by its spread), priors are uniform (patience: uniform in log10 hours), the
epsilon schedule is the median of the last generation's distances.

The forward model is the calibrated scenario with repeats switched on and each category's
incidence lowered to first complaints (arrivals minus repeats the log counts as separate
cases), so totals still match. Outputs: posterior means in the scenario, the 90% ranges as
uncertain fields or `ranges.yaml`, `posterior.csv` (parameter, mean, q05, q95) and plots.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError

MAX_CATEGORIES = 3
P_RESOLVE = (0.2, 1.0)
P_AGAIN = (0.02, 1.0)
LOG10_PATIENCE = (0.0, 2.7)        # 1 h to 500 h
SWITCH = (0.0, 1.0)
#: complaints per simulation (the horizon is cut to this many at the calibrated rate)
SIM_COMPLAINTS = 5_000
MAX_REPEATS = 5
#: a posterior whose 90% interval is at least this share of the prior's 90% width is flagged
#: as not identified (a uniform posterior gives 1)
FLAT_POSTERIOR = 0.8


@dataclass
class Param:
    path: str            # dotted scenario path
    low: float
    high: float
    log10: bool = False  # sampled as log10 of the value

    @property
    def name(self) -> str:   # pyabc parameter name (no dots)
        return self.path.replace(".", "__")


@dataclass
class Posterior:
    table: pd.DataFrame                       # parameter, mean, q05, q95
    samples: pd.DataFrame                     # last generation, in scenario units
    weights: np.ndarray
    observed: dict[str, float]
    generations: int
    simulations: int
    seconds: float
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- statistics
def complaint_frame(cases: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Complaint rows of a `CaseLog` as hours from `start`: location, category, t, closed, ch."""
    c = cases[cases["kind"] != "duplicate"]
    t = ((c["created"] - start) / pd.Timedelta(hours=1)).to_numpy(float)
    closed = ((c["closed"] - start) / pd.Timedelta(hours=1)).to_numpy(float)
    return pd.DataFrame({"location": c["location"].astype(str).to_numpy(),
                         "category": c["category"].astype(str).to_numpy(), "t": t,
                         "closed": np.where(np.isfinite(closed), closed, np.inf),
                         "channel": c["channel"].astype(str).to_numpy()})


def _gap_bins(window_h: float) -> list[tuple[str, float, float]]:
    """Bins of the gap to the previous complaint at the same place and category (hours)."""
    edges = [("le_1h", -1.0, 1.0), ("1h_to_24h", 1.0, 24.0)]
    if window_h > 24.0:
        edges.append(("24h_to_window", 24.0, window_h))
    edges.append(("over_window", max(window_h, 24.0), np.inf))
    return edges


def repeat_stats(f: pd.DataFrame, window_h: float, categories: list[str],
                 channels: list[str], span_h: float) -> dict[str, float]:
    """The summary statistics (see the module docstring), vectorised with numpy."""
    f = f[f["location"] != ""]
    loc = pd.factorize(f["location"])[0]
    cat_s = f["category"].to_numpy()
    cat = pd.factorize(cat_s)[0]
    t = f["t"].to_numpy(float)
    order = np.lexsort((t, cat, loc))
    loc, cat, t = loc[order], cat[order], t[order]
    cat_s = cat_s[order]
    closed = f["closed"].to_numpy(float)[order]
    ch = f["channel"].to_numpy()[order]
    same = np.zeros(len(t), bool)
    same[1:] = (loc[1:] == loc[:-1]) & (cat[1:] == cat[:-1])
    gap = np.full(len(t), np.inf)
    gap[1:] = t[1:] - t[:-1]
    rep = same & (gap <= window_h)
    prev_closed = np.full(len(t), np.inf)
    prev_closed[1:] = closed[:-1]
    while_open = rep & (prev_closed > t)
    after = rep & ~while_open
    elig = t >= (window_h if span_h > 2 * window_h else 0.0)
    if not elig.any():
        elig = np.ones(len(t), bool)

    def share(x, m):
        return float(x[m].mean()) if m.any() else 0.0

    out = {"repeat_share": share(rep, elig), "repeat_while_open_share": share(while_open, elig),
           "repeat_after_close_share": share(after, elig)}
    g = gap[rep & elig]
    for q in (25, 50, 75):
        out[f"repeat_gap_log_hours.p{q}"] = float(np.log1p(np.percentile(g, q))) if g.size \
            else 0.0
    # the distribution of gaps to the previous complaint at the same place and category,
    # whatever the gap (a log's quick re-reports: 41% of NYC 311's repeats within 1 h)
    prev = same & elig
    gp = gap[prev]
    for label, lo, hi in _gap_bins(window_h):
        out[f"gap_share.{label}"] = float(((gp > lo) & (gp <= hi)).mean()) if gp.size else 0.0
    prev_rep = np.zeros(len(t), bool)
    prev_rep[1:] = rep[:-1]
    out["repeat_of_repeat_share"] = share(prev_rep, rep & elig)
    if len(categories) > 1:   # with one category these repeat the overall shares
        for c in categories:
            m = elig & (cat_s == c)
            out[f"after_close_share.{c}"] = share(after, m)
            out[f"while_open_share.{c}"] = share(while_open, m)
    if len(channels) > 1:
        prev_ch = np.empty(len(t), dtype=object)
        prev_ch[1:] = ch[:-1]
        out["switch_share"] = share(ch != prev_ch, rep)
        for c in channels:
            out[f"repeat_share_by_channel.{c}"] = share(rep, elig & (ch == c))
    return out


# ----------------------------------------------------------------------------- forward model
class OutOfTime(Exception):
    """Raised by the forward model once the time limit has passed: the running generation is
    abandoned and the last completed one is the posterior (pyabc's own `max_walltime` is only
    checked between generations, so a generation could overrun the limit by minutes)."""


def _set(d: dict, path: str, value) -> None:
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value


class Forward:
    """Runs the scenario with given behaviour parameters; returns the summary statistics."""

    def __init__(self, scenario, params: list[Param], categories, channels, window_h,
                 horizon_days, rest: list[str]):
        from ..scenario.schema import Scenario

        self.base = scenario.model_dump(mode="json")
        self.base["run"]["horizon_days"] = float(horizon_days)
        self.base["run"]["warmup_days"] = 0.0
        self.Scenario = Scenario
        self.params, self.categories, self.channels = params, categories, channels
        self.window_h, self.span_h = window_h, horizon_days * 24.0
        self.rest = rest       # categories that get the mean inferred p_resolve
        self.calls = 0
        self.deadline: float | None = None    # perf_counter time after which runs stop

    def scenario(self, values: dict[str, float]):
        d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.base.items()}
        d["catalogue"] = {k: dict(v) for k, v in self.base["catalogue"].items()}
        d["citizens"] = {**self.base["citizens"],
                         "repeat": {**self.base["citizens"]["repeat"]}}
        d["citizens"]["repeat"]["patience"] = dict(d["citizens"]["repeat"]["patience"])
        pr = []
        for p in self.params:
            _set(d, p.path, float(values[p.path]))
            if p.path.endswith(".p_resolve"):
                pr.append(float(values[p.path]))
        for code in self.rest:
            d["catalogue"][code]["p_resolve"] = float(np.mean(pr)) if pr else 1.0
        return self.Scenario.model_validate(d)

    def stats(self, values: dict[str, float], seed: int) -> dict[str, float]:
        from ..lifetime import built_model
        from ..records import case_table, complaint_table

        s = self.scenario(values)
        with built_model(s, seed) as m:     # sim/lifetime.py: out of Mesa's registry after
            m.engine.run_until(m.engine.horizon)
            m.finish()
            comp, cases = complaint_table(m), case_table(m)
            codes = np.asarray(m.cat_codes, dtype=object)
            chans = np.asarray(m.channel_codes, dtype=object)
        ci = comp["case_id"]
        closed = cases["closed"][ci]
        f = pd.DataFrame({"location": comp["pid"].astype(str),
                          "category": codes[cases["k"][ci]],
                          "t": comp["t"],
                          "closed": np.where(closed >= 0, closed, np.inf),
                          "channel": chans[comp["channel"]]})
        self.calls += 1
        return repeat_stats(f, self.window_h, self.categories, self.channels, self.span_h)

    def __call__(self, par):
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise OutOfTime()
        values = {p.path: (10.0 ** par[p.name] if p.log10 else par[p.name]) for p in self.params}
        seed = int(np.random.randint(0, 2 ** 31 - 1))   # pyabc's seeded global stream
        return self.stats(values, seed)


# ----------------------------------------------------------------------------- set-up
def behaviour_scenario(cal, scenario, obs: pd.DataFrame, window_h: float):
    """The calibrated scenario with repeats on and incidence lowered to first complaints."""
    from ..scenario.schema import Scenario

    d = scenario.model_dump(mode="json")
    d["citizens"]["repeat"]["max_repeats"] = MAX_REPEATS
    merged = bool(cal.log.mapping.columns.case_id)
    f = obs.sort_values(["location", "category", "t"], kind="stable")
    same = (f["location"].eq(f["location"].shift()) & f["category"].eq(f["category"].shift())
            & (f["location"] != ""))
    rep = same & ((f["t"] - f["t"].shift()) <= window_h)
    after = rep & (f["closed"].shift() <= f["t"])
    counted = after if merged else rep     # repeats the calibration counted as arrivals
    n_rep = f[counted].groupby("category").size()
    notes = []
    for code, c in cal.categories.items():
        if code not in d["catalogue"] or c.arrivals <= 0:
            continue
        factor = max(0.05, 1.0 - float(n_rep.get(code, 0)) / c.arrivals)
        inc = d["catalogue"][code]["incidence_per_1000_per_year"]
        d["catalogue"][code]["incidence_per_1000_per_year"] = {k: v * factor
                                                               for k, v in inc.items()}
    notes.append("incidence of each category lowered to first complaints (arrivals minus the "
                 "repeats the log counts as cases) so totals match with repeats on")
    return Scenario.model_validate(d), notes


def choose_params(cal, channels: list[str]) -> tuple[list[Param], list[str], list[str]]:
    ranked = [c.code for c in sorted(cal.categories.values(), key=lambda c: -c.arrivals)]
    cats = ranked[:MAX_CATEGORIES]
    params = [Param(f"catalogue.{c}.p_resolve", *P_RESOLVE) for c in cats]
    params += [Param("citizens.repeat.patience.mean", *LOG10_PATIENCE, log10=True),
               Param("citizens.repeat.p_complain_again", *P_AGAIN)]
    if len(channels) > 1:
        params.append(Param("citizens.repeat.switch_channel_prob", *SWITCH))
    return params, cats, ranked[MAX_CATEGORIES:]


# ----------------------------------------------------------------------------- inference
def infer_behaviour(cal, scenario, population: int | None = None,
                    generations: int | None = None, seed: int = 1, workers: int = 1,
                    progress: bool = True, max_minutes: float = 14.0
                    ) -> tuple[Posterior, object]:
    """ABC-SMC posterior of the behaviour parameters. Returns (Posterior, forward scenario)."""
    try:
        import pyabc
    except ImportError:
        raise UserError(["--behaviour needs pyabc: pip install 'cogov[behaviour]' (or pip "
                         "install pyabc)"]) from None
    from .mapping import cogov_mapping
    from .read import read_log

    log = cal.log
    window_h = log.mapping.repeat_window_days * 24.0
    m = log.mapping
    clog = log
    if m.is_cogov_log or m.columns.case_id:
        # complaint rows, not merged into cases (cogov's own log: located by their problem)
        cm = cogov_mapping("problem_id") if m.is_cogov_log else m
        cm = cm.model_copy(update={"columns": cm.columns.model_copy(update={"case_id": None})})
        clog = read_log(log.source, cm, allow_drop=True, extracted_at=log.extracted_at,
                        lump=False)
        keep = clog.cases["created"] <= log.window_end
        clog.cases = clog.cases[keep].reset_index(drop=True)
        if not m.is_cogov_log and m.categories.identity is False:
            # categories as the calibration lumped them
            known = set(cal.categories)
            c = clog.cases["category"]
            clog.cases["category"] = c.where(c.isin(known), clog.cases["department"] + "_other")
    obs = complaint_frame(clog.cases, log.window_start)
    if (obs["location"] == "").all():
        raise UserError([f"{log.source}: --behaviour needs a location column (address, grid "
                         f"or lat/long in the mapping): repeats are complaints about the same "
                         f"location"])
    channels = sorted(c for c in obs["channel"].unique()
                      if c not in ("", "None", "nan") and _is_citizen(scenario, c))
    params, cats, rest = choose_params(cal, channels)
    span_h = max(1.0, float(obs["t"].max()))
    observed = repeat_stats(obs, window_h, cats, channels, span_h)
    fwd_scenario, notes = behaviour_scenario(cal, scenario, obs, window_h)
    rate_per_day = max(1e-9, sum(c.rate_per_day for c in cal.categories.values()))
    horizon = min(span_h / 24.0, max(2 * log.mapping.repeat_window_days + 7,
                                     SIM_COMPLAINTS / rate_per_day))
    horizon = max(horizon, min(span_h / 24.0, 1.0))
    fwd = Forward(fwd_scenario, params, cats, channels, window_h, horizon, rest)
    n = len(obs)
    generations = generations or 8
    t0 = time.perf_counter()
    if population is None:
        population, note = _population_for_budget(fwd, params, 100 if n < 20_000 else 150,
                                                  max_minutes, seed)
        if note:
            notes.append(note)
    prior = pyabc.Distribution(**{p.name: pyabc.RV("uniform", p.low, p.high - p.low)
                                  for p in params})
    sampler = (pyabc.sampler.SingleCoreSampler() if workers <= 1 else
               pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers))
    # each statistic scaled by its spread (median absolute deviation) in the first
    # generation, then fixed, so that epsilon falls generation by generation
    distance = pyabc.AdaptivePNormDistance(p=2, fit_scale_ixs={0})
    abc = pyabc.ABCSMC(fwd, prior, distance, population_size=population, sampler=sampler)
    np.random.seed(seed)
    for name in ("ABC", "ABC.History", "ABC.Distance", "ABC.Epsilon", "ABC.Sampler",
                 "ABC.Population", "ABC.Acceptor", "ABC.Transition"):
        logging.getLogger(name).setLevel(logging.INFO if progress else logging.WARNING)
    if progress:
        print(f"calibrate --behaviour: ABC-SMC over {len(params)} parameters, {population} "
              f"particles, at most {generations} generations, each simulation "
              f"{horizon:.1f} days", file=sys.stderr)
    # the limit is enforced inside the forward model (OutOfTime), not only between
    # generations: a generation still running at the limit is abandoned
    fwd.deadline = t0 + max_minutes * 60.0
    stopped = False
    with tempfile.TemporaryDirectory() as tmp:
        abc.new("sqlite:///" + str(Path(tmp) / "abc.db"), observed)
        try:
            history = abc.run(max_nr_populations=generations,
                              max_walltime=dt.timedelta(minutes=max_minutes))
        except OutOfTime:
            stopped = True
            history = abc.history
        if history.max_t < 0:
            raise UserError([f"calibrate --behaviour: no ABC-SMC generation completed within "
                             f"the time limit of {max_minutes:g} minutes ({fwd.calls:,} "
                             f"simulations): raise --abc-max-minutes or lower "
                             f"--abc-population (now {population})"])
        df, w = history.get_distribution(m=0, t=history.max_t)
        sims = int(fwd.calls)
        gens = int(history.max_t) + 1
    seconds = time.perf_counter() - t0
    gc.collect()
    if stopped:
        notes.append(f"ABC-SMC stopped at the time limit ({max_minutes:g} min) during "
                     f"generation {gens + 1}: the posterior is generation {gens}'s")
    from pyabc.weighted_statistics import weighted_quantile

    w = np.asarray(w, float) / np.sum(w)
    rows, samples = [], {}
    for p in params:
        x = df[p.name].to_numpy(float)
        x = 10.0 ** x if p.log10 else x
        samples[p.path] = x
        q05 = float(weighted_quantile(x, w, alpha=0.05))
        q95 = float(weighted_quantile(x, w, alpha=0.95))
        # width of the 90% interval against the prior's own 90% width (in the sampled scale)
        lo_s, hi_s = (np.log10(q05), np.log10(q95)) if p.log10 else (q05, q95)
        ratio = float((hi_s - lo_s) / (0.9 * (p.high - p.low)))
        rows.append({"parameter": p.path, "mean": float(np.sum(w * x)), "q05": q05,
                     "q95": q95, "prior_low": 10.0 ** p.low if p.log10 else p.low,
                     "prior_high": 10.0 ** p.high if p.log10 else p.high,
                     "width_vs_prior": ratio, "identified": bool(ratio < FLAT_POSTERIOR)})
    table = pd.DataFrame(rows)
    flat = table.loc[~table["identified"], "parameter"].tolist()
    if flat:
        notes.append(f"not identified by the log (posterior 90% interval at least "
                     f"{FLAT_POSTERIOR:.0%} as wide as the prior's): {', '.join(flat)}; their "
                     f"values are the prior's, not the log's")
    if rest:
        notes.append(f"{len(rest)} smaller categories take the mean of the inferred p_resolve "
                     f"values (only the {len(cats)} largest are inferred)")
    if progress:
        print(f"calibrate --behaviour: {gens} generations, {sims:,} simulations in "
              f"{seconds:,.0f} s", file=sys.stderr)
    return Posterior(table, pd.DataFrame(samples), w, observed, gens, sims, seconds, notes), \
        fwd_scenario


#: pilot simulations timed before the inference (they count in the time limit)
PILOT_RUNS = 3
#: the default population is lowered so that about this many generations fit the time limit
#: (generation 0 costs about two populations: pyabc's calibration sample and the first one)
TARGET_GENERATIONS = 3
MIN_POPULATION = 20


def _population_for_budget(fwd, params, default: int, max_minutes: float, seed: int
                           ) -> tuple[int, str | None]:
    """Time `PILOT_RUNS` simulations at the prior's centre and lower the default population
    so that about `TARGET_GENERATIONS` generations fit in the time limit (a log whose
    simulations are slow would otherwise not finish its first generation)."""
    mid = {p.path: (10.0 ** ((p.low + p.high) / 2) if p.log10 else (p.low + p.high) / 2)
           for p in params}
    t = time.perf_counter()
    for k in range(PILOT_RUNS):
        fwd.stats(mid, seed + k)
    per_sim = (time.perf_counter() - t) / PILOT_RUNS
    fits = int(max_minutes * 60.0 / max(per_sim, 1e-6) / (TARGET_GENERATIONS + 1))
    if fits >= default:
        return default, None
    pop = max(MIN_POPULATION, fits)
    return pop, (f"ABC-SMC population lowered from {default} to {pop}: a simulation takes "
                 f"{per_sim:.1f} s, so about {TARGET_GENERATIONS} generations fit in "
                 f"{max_minutes:g} minutes (give --abc-population to choose)")


def _is_citizen(scenario, code: str) -> bool:
    ch = scenario.channels.get(code)
    return ch is not None and ch.kind != "patrol"


# ----------------------------------------------------------------------------- outputs
def _triangular(r) -> dict:
    low, high = float(f"{r.q05:.4g}"), float(f"{r.q95:.4g}")
    if high <= low:
        high = low + max(1e-6, abs(low) * 1e-3)
    mode = min(max(float(f"{r.mean:.4g}"), low), high)
    return {"uncertain": "triangular", "low": low, "mode": mode, "high": high}


def overrides(post: Posterior, rest: list[str] | None = None) -> dict:
    """The posterior as scenario overrides (nested dict): each inferred parameter an uncertain
    field `{uncertain: triangular, low: q05, mode: mean, high: q95}` (its point value, used by
    `run`, is the mode = the posterior mean); the categories not inferred get the mean of the
    inferred p_resolve as a plain number."""
    out: dict = {}
    pr = []
    for r in post.table.itertuples():
        _set(out, r.parameter, _triangular(r))
        if r.parameter.endswith(".p_resolve"):
            pr.append(r.mean)
    for code in rest or []:
        _set(out, f"catalogue.{code}.p_resolve", float(f"{np.mean(pr):.4g}") if pr else 1.0)
    return out


def ranges(post: Posterior, source: str = "") -> dict:
    """The 90% posterior ranges as a ranges file (`cogov compare --uncertainty --ranges`)."""
    return {"ranges": {r.parameter: {**_triangular(r),
                                     "why": f"90% posterior interval (mode: posterior mean) of "
                                            f"`cogov calibrate --behaviour` (ABC-SMC, "
                                            f"{post.generations} generations, "
                                            f"{post.simulations} simulations) from {source}"}
                       for r in post.table.itertuples()}}


def write_posterior(post: Posterior, report: str | Path) -> list[Path]:
    """posterior.csv, posterior_stats.csv and one density plot per parameter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .report import figure_fonts

    figure_fonts()
    report = Path(report)
    report.mkdir(parents=True, exist_ok=True)
    post.table[["parameter", "mean", "q05", "q95", "width_vs_prior", "identified"]].to_csv(
        report / "posterior.csv", index=False)
    pd.DataFrame(list(post.observed.items()), columns=["statistic", "observed"]).to_csv(
        report / "posterior_statistics.csv", index=False)
    n = len(post.table)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, r in zip(axes.ravel(), post.table.itertuples()):
        x = post.samples[r.parameter].to_numpy()
        ax.hist(x, bins=25, weights=post.weights, density=True, color="tab:blue", alpha=0.6)
        ax.axvline(r.mean, color="black", lw=1.5, label="mean")
        ax.axvspan(r.q05, r.q95, color="tab:orange", alpha=0.2, label="90% interval")
        ax.set_xlim(r.prior_low, r.prior_high)
        ax.set_title(r.parameter, fontsize=8)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.suptitle(f"ABC-SMC posterior ({post.generations} generations, {post.simulations:,} "
                 f"simulations; x axis = prior range)", fontsize=9)
    fig.tight_layout()
    path = report / "posterior.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [report / "posterior.csv", path]
