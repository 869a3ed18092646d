"""Duration fitting with censoring: Kaplan-Meier, and exponential/lognormal/gamma by maximum
likelihood, chosen by AIC or replaced by the empirical distribution when no family fits.

Observations come as (hours, event): event 1 = closed at `hours`, 0 = still open after `hours`
(right-censored). Closures at or below the timestamp resolution are interval-censored in
[0, resolution] (their exact time is unknown; a log-likelihood on a zero would be -inf).

The likelihood of one sample is
    sum over closed log f(t) + sum over instant log F(res) + sum over open log S(c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

FAMILIES = ("exponential", "lognormal", "gamma")
MAX_EMPIRICAL_VALUES = 200


@dataclass
class KaplanMeier:
    """The Kaplan-Meier estimate: `times` (event times, hours) and `cdf` just after each."""

    times: np.ndarray
    cdf: np.ndarray
    n: int
    n_events: int
    var: np.ndarray | None = None   # Greenwood variance of F at each time

    def median_ci(self, z: float = 1.96) -> tuple[float, float]:
        """Approximate confidence interval of the median: the times where the Greenwood band
        of F crosses 0.5 (Brookmeyer-Crowley style); NaN where not reached."""
        if not len(self.cdf) or self.var is None:
            return float("nan"), float("nan")
        se = np.sqrt(self.var)
        lo_i = np.nonzero(self.cdf + z * se >= 0.5)[0]
        hi_i = np.nonzero(self.cdf - z * se >= 0.5)[0]
        lo = float(self.times[lo_i[0]]) if len(lo_i) else float("nan")
        hi = float(self.times[hi_i[0]]) if len(hi_i) else float("nan")
        return lo, hi

    def at(self, t) -> np.ndarray:
        """F(t) (right-continuous step function)."""
        i = np.searchsorted(self.times, np.asarray(t, dtype=float), side="right")
        return np.where(i > 0, self.cdf[np.maximum(i - 1, 0)], 0.0)

    def quantile(self, p: float) -> float:
        """Smallest event time with F >= p; NaN when the estimate never reaches p."""
        if not len(self.cdf) or self.cdf[-1] < p - 1e-12:
            return float("nan")
        return float(self.times[np.searchsorted(self.cdf, p - 1e-12, side="left")])

    @property
    def max_cdf(self) -> float:
        return float(self.cdf[-1]) if len(self.cdf) else 0.0


def kaplan_meier(hours: np.ndarray, event: np.ndarray) -> KaplanMeier:
    """Kaplan-Meier estimate from durations and event flags (1 closed, 0 censored)."""
    hours = np.asarray(hours, dtype=float)
    event = np.asarray(event, dtype=float)
    ok = np.isfinite(hours) & np.isfinite(event)
    hours, event = hours[ok], event[ok]
    n = len(hours)
    if n == 0:
        return KaplanMeier(np.array([]), np.array([]), 0, 0, np.array([]))
    # events before censorings at tied times
    order = np.lexsort((1 - event, hours))
    h, e = hours[order], event[order]
    uniq, first = np.unique(h, return_index=True)
    d = np.add.reduceat(e, first)
    at_risk = n - first
    surv = np.cumprod(1.0 - d / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(at_risk > d, d / (at_risk * (at_risk - d)), 0.0)
    var = surv ** 2 * np.cumsum(terms)
    keep = d > 0
    return KaplanMeier(uniq[keep], 1.0 - surv[keep], n, int(e.sum()), var[keep])


# ----------------------------------------------------------------------------- families
def _cdf(kind: str, params: dict, t) -> np.ndarray:
    """CDF of a fitted family (closed forms; scipy's frozen distributions are slow to build)."""
    t = np.maximum(np.asarray(t, dtype=float), 0.0)
    with np.errstate(divide="ignore"):
        if kind == "exponential":
            return -np.expm1(-t / params["mean"])
        if kind == "lognormal":
            return special.ndtr((np.log(t) - params["mu"]) / params["sigma"])
        if kind == "gamma":
            return special.gammainc(params["shape"], t / params["scale"])
    raise ValueError(kind)


def _ppf(kind: str, params: dict, p: float) -> float:
    if kind == "exponential":
        return float(-params["mean"] * math.log1p(-p))
    if kind == "lognormal":
        return float(math.exp(params["mu"] + params["sigma"] * special.ndtri(p)))
    if kind == "gamma":
        return float(special.gammaincinv(params["shape"], p) * params["scale"])
    raise ValueError(kind)


def _unpack(kind: str, theta: np.ndarray) -> dict:
    if kind == "exponential":
        return {"mean": float(np.exp(theta[0]))}
    if kind == "lognormal":
        return {"mu": float(theta[0]), "sigma": float(np.exp(theta[1]))}
    return {"shape": float(np.exp(theta[0])), "scale": float(np.exp(theta[1]))}


def _loglik(kind: str, params: dict, exact: np.ndarray, n_instant: int, res: float,
            cens: np.ndarray) -> float:
    """Censored log-likelihood, written out (scipy's frozen distributions are too slow here)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if kind == "exponential":
            m = params["mean"]
            ll = -len(exact) * math.log(m) - float(np.sum(exact)) / m
            inst = math.log(-math.expm1(-res / m)) if n_instant else 0.0
            ll += n_instant * inst - float(np.sum(cens)) / m
        elif kind == "lognormal":
            mu, s = params["mu"], params["sigma"]
            lx = np.log(exact)
            z = (lx - mu) / s
            ll = float(np.sum(-lx - 0.5 * z * z)) - len(exact) * (math.log(s) + _HALF_LOG_2PI)
            if n_instant:
                ll += n_instant * float(special.log_ndtr((math.log(res) - mu) / s))
            if len(cens):
                zc = (np.log(np.maximum(cens, 1e-300)) - mu) / s
                ll += float(np.sum(special.log_ndtr(-zc)))
        else:
            k, th = params["shape"], params["scale"]
            ll = float(np.sum((k - 1) * np.log(exact) - exact / th)) - len(exact) * (
                special.gammaln(k) + k * math.log(th))
            if n_instant:
                ll += n_instant * float(np.log(special.gammainc(k, res / th)))
            if len(cens):
                ll += float(np.sum(np.log(special.gammaincc(k, cens / th))))
    ll = float(ll)
    return ll if np.isfinite(ll) else -1e300


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _start(kind: str, exact: np.ndarray, res: float, n_instant: int) -> np.ndarray:
    pts = np.concatenate([exact, np.full(n_instant, res / 2.0)]) if n_instant else exact
    if len(pts) == 0:
        pts = np.array([1.0])
    m = max(float(np.mean(pts)), 1e-6)
    if kind == "exponential":
        return np.array([math.log(m)])
    if kind == "lognormal":
        lg = np.log(np.maximum(pts, 1e-9))
        return np.array([float(np.mean(lg)), math.log(max(float(np.std(lg)), 0.05))])
    v = float(np.var(pts)) if len(pts) > 1 else m * m
    shape = min(max(m * m / max(v, 1e-12), 0.05), 50.0)
    return np.array([math.log(shape), math.log(m / shape)])


@dataclass
class FamilyFit:
    """One fitted family (or the empirical distribution)."""

    kind: str
    params: dict
    loglik: float = float("nan")
    aic: float = float("nan")
    ks: float = float("nan")
    values: np.ndarray | None = None   # empirical only

    def cdf(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if self.kind == "empirical":
            v = np.sort(self.values)
            return np.searchsorted(v, t, side="right") / len(v)
        return _cdf(self.kind, self.params, t)

    def cdf_left(self, t) -> np.ndarray:
        """F(t-): differs from F(t) only for the empirical (step) distribution."""
        if self.kind == "empirical":
            v = np.sort(self.values)
            return np.searchsorted(v, np.asarray(t, dtype=float), side="left") / len(v)
        return self.cdf(t)

    def quantile(self, p: float) -> float:
        if self.kind == "empirical":
            return float(np.quantile(self.values, p))
        return _ppf(self.kind, self.params, p)

    @property
    def mean_hours(self) -> float:
        p = self.params
        if self.kind == "empirical":
            return float(np.mean(self.values))
        if self.kind == "exponential":
            return float(p["mean"])
        if self.kind == "gamma":
            return float(p["shape"] * p["scale"])
        x = p["mu"] + p["sigma"] ** 2 / 2.0
        return math.exp(x) if x < 700 else math.inf

    @property
    def cv(self) -> float:
        if self.kind == "exponential":
            return 1.0
        if self.kind == "empirical":
            m = float(np.mean(self.values))
            return float(np.std(self.values) / m) if m > 0 else 1.0
        if self.kind == "lognormal":
            s2 = self.params["sigma"] ** 2
            return math.sqrt(math.expm1(s2)) if s2 < 700 else math.inf
        return 1.0 / math.sqrt(self.params["shape"])

    def to_distribution(self) -> dict:
        """The scenario `Distribution` (hours) as a plain dict."""
        mean = max(self.mean_hours, 1e-6)
        if self.kind == "exponential":
            return {"kind": "exponential", "mean": _r(mean), "cv": 1.0}
        if self.kind == "empirical":
            return {"kind": "empirical", "mean": _r(mean), "cv": _r(max(self.cv, 1e-6)),
                    "values": [_r(x) for x in self.values]}
        return {"kind": self.kind, "mean": _r(mean), "cv": _r(max(self.cv, 1e-6))}


def _r(x: float) -> float:
    """Round to 6 significant digits (readable YAML, no loss that matters)."""
    return float(f"{float(x):.6g}")


def fit_family(kind: str, exact, n_instant: int, res: float, cens) -> FamilyFit:
    """Maximum-likelihood fit of one family to closed, instant and censored durations."""
    exact = np.asarray(exact, dtype=float)
    cens = np.asarray(cens, dtype=float)
    theta0 = _start(kind, exact, res, n_instant)

    def nll(theta):
        if np.any(np.abs(theta) > 50):
            return 1e300
        return -_loglik(kind, _unpack(kind, theta), exact, n_instant, res, cens)

    if kind == "exponential":
        r = optimize.minimize_scalar(lambda x: nll(np.array([x])),
                                     bracket=(theta0[0] - 1, theta0[0] + 1))
        theta = np.array([r.x])
    else:
        r = optimize.minimize(nll, theta0, method="Nelder-Mead",
                              options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 2000})
        theta = r.x
    params = _unpack(kind, theta)
    ll = _loglik(kind, params, exact, n_instant, res, cens)
    k = 1 if kind == "exponential" else 2
    return FamilyFit(kind, params, ll, 2 * k - 2 * ll)


def ks_distance(fit: FamilyFit, km: KaplanMeier) -> float:
    """sup |F_fit - F_KM| over the KM event times (both sides of each step)."""
    if not len(km.times):
        return float("nan")
    before = np.concatenate([[0.0], km.cdf[:-1]])
    return float(max(np.max(np.abs(fit.cdf(km.times) - km.cdf)),
                     np.max(np.abs(fit.cdf_left(km.times) - before))))


def empirical_from_km(km: KaplanMeier, res: float, longest: float) -> np.ndarray:
    """Up to 200 equally spaced KM quantiles; probability mass beyond the last event (all
    remaining cases censored) is put at the longest follow-up (a lower bound)."""
    k = int(min(MAX_EMPIRICAL_VALUES, max(km.n_events, 1)))
    ps = (np.arange(k) + 0.5) / k
    idx = np.searchsorted(km.cdf, ps - 1e-12, side="left")
    vals = np.where(idx < len(km.times), km.times[np.minimum(idx, len(km.times) - 1)], longest)
    return np.maximum(vals, res / 2.0)


@dataclass
class DurationFit:
    """All candidate fits of one sample and the chosen one."""

    n: int
    n_events: int
    n_censored: int
    n_instant: int
    km: KaplanMeier
    candidates: dict[str, FamilyFit] = field(default_factory=dict)
    chosen: FamilyFit | None = None
    ks_limit: float = float("nan")
    note: str = ""

    def row(self) -> dict:
        c = self.chosen
        out = {"n": self.n, "closed": self.n_events, "censored": self.n_censored,
               "instant": self.n_instant,
               "km_median_hours": self.km.quantile(0.5), "km_p90_hours": self.km.quantile(0.9),
               "chosen": c.kind if c else "", "mean_hours": c.mean_hours if c else np.nan,
               "cv": c.cv if c else np.nan, "median_hours": c.quantile(0.5) if c else np.nan,
               "ks_chosen": c.ks if c else np.nan, "ks_limit": self.ks_limit, "note": self.note}
        for kind in FAMILIES:
            f = self.candidates.get(kind)
            out[f"aic_{kind}"] = f.aic if f else np.nan
            out[f"ks_{kind}"] = f.ks if f else np.nan
        return out


#: a fitted family whose median is further than this from the Kaplan-Meier median is not
#: kept (with 20+ closures): the time to close a calibration must reproduce is the median's
MEDIAN_TOL = 0.10


def fit_durations(hours, event, res: float, ks_floor: float = 0.05,
                  allow_empirical: bool = True) -> DurationFit:
    """Fit every family; keep the best AIC unless its KS distance to Kaplan-Meier exceeds
    max(ks_floor, 1.36 / sqrt(closed)) (rejected at about 5%), or its median is more than
    `MEDIAN_TOL` off the Kaplan-Meier median: then use the empirical one."""
    hours = np.asarray(hours, dtype=float)
    event = np.asarray(event, dtype=float)
    ok = np.isfinite(hours) & np.isfinite(event)
    hours, event = hours[ok], event[ok]
    closed = event == 1
    instant = closed & (hours <= res)
    hours = np.where(instant, res / 2.0, hours)   # instants sit mid-interval for KM and KS
    exact = hours[closed & ~instant]
    cens = hours[~closed]
    out = DurationFit(n=len(hours), n_events=int(closed.sum()), n_censored=int((~closed).sum()),
                      n_instant=int(instant.sum()), km=kaplan_meier(hours, event))
    if out.n_events == 0:
        mean = max(float(cens.max()) if len(cens) else 1.0, res)
        out.chosen = FamilyFit("exponential", {"mean": mean})
        out.note = "no closed case: exponential with mean = longest follow-up (a lower bound)"
        return out
    for kind in FAMILIES:
        if kind != "exponential" and out.n_events < 3:
            continue
        f = fit_family(kind, exact, out.n_instant, res, cens)
        f.ks = ks_distance(f, out.km)
        out.candidates[kind] = f
    longest = float(hours.max())
    ranked = sorted(out.candidates.values(), key=lambda f: f.aic)
    # a family whose mean lies beyond every observed duration extrapolates a tail the data
    # never showed (a lognormal with a huge sigma): not plausible
    plausible = [f for f in ranked if f.mean_hours <= max(longest, res)]
    out.ks_limit = max(ks_floor, 1.36 / math.sqrt(out.n_events))
    best = plausible[0] if plausible else None
    if out.n_events == out.n_instant:
        out.chosen = FamilyFit("empirical", {}, values=np.array([res / 2.0]))
        out.note = "every closure within the timestamp resolution: half the resolution"
        return out
    if not allow_empirical or out.n_events < 20:
        out.chosen = best or out.candidates["exponential"]
        return out
    km_med = out.km.quantile(0.5)
    med_off = (abs(max(best.quantile(0.5), res) - max(km_med, res)) / max(km_med, res)
               if best is not None and np.isfinite(km_med) else 0.0)
    if best is not None and best.ks <= out.ks_limit and med_off <= MEDIAN_TOL:
        out.chosen = best
        return out
    emp = FamilyFit("empirical", {}, values=empirical_from_km(out.km, res, longest))
    emp.ks = ks_distance(emp, out.km)
    out.candidates["empirical"] = emp
    out.chosen = emp
    if best is not None and best.ks <= out.ks_limit:
        out.note = (f"best family {best.kind} passes KS ({best.ks:.3f}) but its median is "
                    f"{med_off:.0%} off the Kaplan-Meier median (over {MEDIAN_TOL:.0%}): "
                    f"empirical")
    elif best is None:
        out.note = (f"best family {ranked[0].kind} has mean {ranked[0].mean_hours:.4g} h beyond "
                    f"the longest observed {longest:.4g} h: empirical")
    else:
        out.note = (f"best family {best.kind} rejected (KS {best.ks:.3f} > "
                    f"{out.ks_limit:.3f}): empirical")
    if out.km.max_cdf < 0.999:
        out.note += (f"; {1 - out.km.max_cdf:.1%} of mass beyond the last closure put at the "
                     f"longest follow-up")
    return out
