"""Uncertain parameters: any numeric scenario field may be given as a distribution.

    catalogue:
      street_vending:
        p_resolve: {uncertain: triangular, low: 0.6, mode: 0.75, high: 0.85}
    main_co:
      p_resolve_solo_factor: {uncertain: uniform, low: 0.4, high: 1.0, point: 0.6}

The loader takes every `{uncertain: ...}` mapping out before validation and puts its **point
value** in its place, so `cogov run`, `compare` and `sweep` use the point value and the schema
checks it like any number. The distribution is kept on the validated scenario and written back
into `scenario.resolved.yaml`, so it round-trips; `cogov compare --uncertainty N` draws from it.

Families, their parameters and their point value (used by `cogov run`):

| family | parameters | point value |
|---|---|---|
| `uniform` | `low`, `high` | the midpoint (mean = median) |
| `triangular` | `low`, `mode`, `high` | the mode (the most plausible value) |
| `normal` | `mean`, `sd`; optional `low`, `high` truncate | the mean |
| `beta` | `alpha`, `beta`; optional `low` (0), `high` (1) rescale | the mean |
| `lognormal` | `median`, `sigma` (sd of the log), or `mean`, `cv` | the median |

Any family also takes `point:` (a value inside its support) to use instead of the default, and
`integer: true` for whole-number fields (draws and the point are rounded). Other keys are
errors. A distribution whose support leaves what the field allows (say a probability drawn
from a normal without `low: 0, high: 1`) is an error too: the loader validates the scenario at
both ends of every distribution's support (the 0.1% and 99.9% quantiles where it is unbounded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .paths import set_path

FAMILIES = {
    "uniform": ({"low", "high"}, set()),
    "triangular": ({"low", "mode", "high"}, set()),
    "normal": ({"mean", "sd"}, {"low", "high"}),
    "beta": ({"alpha", "beta"}, {"low", "high"}),
    "lognormal": (set(), {"median", "sigma", "mean", "cv"}),
}
COMMON = {"uncertain", "point", "integer"}
# keys a ranges file may add to an entry (see sim/experiments/robustness.py)
RANGE_KEYS = {"why", "neutral", "source", "scale"}
TAIL = 0.001   # support ends of unbounded families, as quantiles


class UncertainError(ValueError):
    """A bad distribution; the message names what is wrong and the fix."""


@dataclass
class Uncertain:
    """One uncertain field: its family, parameters and point value."""

    family: str
    params: dict[str, float]
    point: float
    integer: bool = False
    extra: dict[str, Any] = field(default_factory=dict)   # `why`, `neutral` ... (ranges file)

    # ------------------------------------------------------------------ distribution
    def _dist(self):
        from scipy import stats

        p = self.params
        f = self.family
        if f == "uniform":
            return stats.uniform(p["low"], p["high"] - p["low"])
        if f == "triangular":
            lo, hi = p["low"], p["high"]
            return stats.triang((p["mode"] - lo) / (hi - lo), lo, hi - lo)
        if f == "normal":
            lo, hi = p.get("low", -math.inf), p.get("high", math.inf)
            if math.isinf(lo) and math.isinf(hi):
                return stats.norm(p["mean"], p["sd"])
            return stats.truncnorm((lo - p["mean"]) / p["sd"], (hi - p["mean"]) / p["sd"],
                                   p["mean"], p["sd"])
        if f == "beta":
            lo, hi = p.get("low", 0.0), p.get("high", 1.0)
            return stats.beta(p["alpha"], p["beta"], lo, hi - lo)
        if f == "lognormal":
            median, sigma = _lognormal_params(p)
            return stats.lognorm(sigma, 0.0, median)
        raise UncertainError(f"unknown family {f!r}")

    def ppf(self, u):
        """The value at quantile(s) `u` in [0, 1] (rounded for integer fields)."""
        import numpy as np

        x = self._dist().ppf(np.clip(u, 0.0, 1.0))
        if self.integer:
            x = np.round(x)
        return x

    def value(self, u: float) -> float | int:
        v = float(self.ppf(u))
        return int(v) if self.integer else v

    def support(self) -> tuple[float, float]:
        """The ends of the support (the 0.1% and 99.9% quantiles where it is unbounded)."""
        d = self._dist()
        lo, hi = d.support()
        if not math.isfinite(lo):
            lo = float(d.ppf(TAIL))
        if not math.isfinite(hi):
            hi = float(d.ppf(1 - TAIL))
        if self.integer:
            lo, hi = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
        return float(lo), float(hi)

    def as_dict(self) -> dict:
        """The mapping as written in a scenario file (round-trips through `parse`)."""
        out: dict[str, Any] = {"uncertain": self.family, **self.params}
        if self.point != _default_point(self.family, self.params):
            out["point"] = self.point
        if self.integer:
            out["integer"] = True
        return out

    def describe(self) -> str:
        ps = ", ".join(f"{k} {_g(v)}" for k, v in self.params.items())
        return f"{self.family}({ps}), point {_g(self.point)}"


def _g(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def np_quiet():
    """numpy/scipy floating-point warnings off: the results are checked for finiteness."""
    import numpy as np

    return np.errstate(all="ignore")


def _lognormal_params(p: dict) -> tuple[float, float]:
    if "median" in p:
        return p["median"], p["sigma"]
    sigma = math.sqrt(math.log1p(p["cv"] ** 2))
    return p["mean"] / math.exp(sigma ** 2 / 2), sigma


def _default_point(family: str, p: dict) -> float:
    if family == "uniform":
        return (p["low"] + p["high"]) / 2
    if family == "triangular":
        return p["mode"]
    if family == "normal":
        return p["mean"] if "low" not in p and "high" not in p else float(
            Uncertain(family, p, 0.0)._dist().mean())
    if family == "beta":
        lo, hi = p.get("low", 0.0), p.get("high", 1.0)
        return lo + (hi - lo) * p["alpha"] / (p["alpha"] + p["beta"])
    return _lognormal_params(p)[0]


def is_uncertain(node: Any) -> bool:
    """`{uncertain: FAMILY, ...}`. A mapping under the key `uncertain` is not one: it is an
    entry that happens to be named so (a department called `uncertain`, say)."""
    return isinstance(node, dict) and "uncertain" in node and not isinstance(
        node["uncertain"], dict)


def parse(node: dict, allow: set[str] = frozenset()) -> Uncertain:
    """An `{uncertain: FAMILY, ...}` mapping as an `Uncertain`, or `UncertainError`."""
    fam = node.get("uncertain")
    if not isinstance(fam, str) or fam not in FAMILIES:
        raise UncertainError(f"uncertain: {fam!r} is not a distribution family (use one of "
                             f"{', '.join(FAMILIES)})")
    need, optional = FAMILIES[fam]
    unknown = sorted(set(node) - need - optional - COMMON - set(allow))
    if unknown:
        allowed = sorted(need | optional | COMMON - {"uncertain"})
        raise UncertainError(f"{fam}: unknown key {', '.join(map(repr, unknown))} (a {fam} "
                             f"takes {', '.join(allowed)})")
    missing = sorted(need - set(node))
    if fam == "lognormal":
        has_median = "median" in node or "sigma" in node
        has_mean = "mean" in node or "cv" in node
        if has_median == has_mean:
            raise UncertainError("lognormal: give either `median` and `sigma` (sd of the log) "
                                 "or `mean` and `cv`")
        missing = sorted(({"median", "sigma"} if has_median else {"mean", "cv"}) - set(node))
    if missing:
        raise UncertainError(f"{fam}: missing {', '.join(missing)} (a {fam} needs "
                             f"{', '.join(sorted(need)) or 'median and sigma, or mean and cv'})")
    params: dict[str, float] = {}
    for k in node:
        if k in COMMON or k in allow:
            continue
        v = node[k]
        try:    # a 400-digit whole number does not fit a float (OverflowError)
            ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
        except OverflowError:
            raise UncertainError(f"{fam}: {k} is too large for a number ({len(str(v))} digits):"
                                 f" give a value below 1e308") from None
        if not ok:
            raise UncertainError(f"{fam}: {k} must be a finite number, got {_short(v)}")
        params[k] = float(v)
    p = params
    problems = []
    if "low" in p and "high" in p and not p["low"] < p["high"]:
        problems.append(f"low ({_g(p['low'])}) must be below high ({_g(p['high'])})")
    if fam == "triangular" and not problems and not p["low"] <= p["mode"] <= p["high"]:
        problems.append(f"mode ({_g(p['mode'])}) must lie between low and high")
    if fam == "normal" and p["sd"] <= 0:
        problems.append(f"sd must be positive, got {_g(p['sd'])}")
    if fam == "normal" and not problems and not (p.get("low", -math.inf) <= p["mean"]
                                                 <= p.get("high", math.inf)):
        problems.append("mean must lie between low and high")
    if fam == "beta":
        for k in ("alpha", "beta"):
            if p[k] <= 0:
                problems.append(f"{k} must be positive, got {_g(p[k])}")
    if fam == "lognormal":
        for k in ("median", "sigma", "mean", "cv"):
            if k in p and p[k] <= 0:
                problems.append(f"{k} must be positive, got {_g(p[k])}")
    if problems:
        raise UncertainError(f"{fam}: " + "; ".join(problems))
    integer = node.get("integer", False)
    if not isinstance(integer, bool):
        raise UncertainError(f"integer must be true or false, got {integer!r}")
    spec = Uncertain(fam, params, 0.0, integer, {k: node[k] for k in allow if k in node})
    try:    # a lognormal with a huge median or sigma overflows: its tail is not a number
        with np_quiet():
            lo, hi = spec.support()
            mid = _default_point(fam, params)
    except (OverflowError, FloatingPointError, ValueError, ZeroDivisionError):
        lo = hi = mid = math.inf
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(mid)):
        raise UncertainError(f"{fam}: the distribution overflows (its 0.1%-99.9% range or "
                             f"its point is not a finite number): use smaller parameters")
    if "point" in node:
        pt = node["point"]
        try:
            ok = not isinstance(pt, bool) and isinstance(pt, (int, float)) and math.isfinite(pt)
        except OverflowError:
            ok = False
        if not ok:
            raise UncertainError(f"point must be a finite number, got {_short(pt)}")
        if not lo <= pt <= hi:
            raise UncertainError(f"point {_g(pt)} lies outside the distribution "
                                 f"[{_g(lo)}, {_g(hi)}]")
        spec.point = float(pt)
    else:
        spec.point = _default_point(fam, params)
    if integer:
        spec.point = float(round(spec.point))
    return spec


def point_value(spec: Uncertain) -> float | int:
    return int(spec.point) if spec.integer else spec.point


# ---------------------------------------------------------------------- paths in mappings
def extract(data: Any, prefix: str = "") -> tuple[dict[str, Uncertain], list[str]]:
    """Replace (in place) every `{uncertain: ...}` in `data` by its point value.

    Returns ({dotted path: Uncertain}, [errors as `path: message`]). List items are addressed
    by index (`assessment.policies.0.params.p_resolve_delta`)."""
    found: dict[str, Uncertain] = {}
    errors: list[str] = []

    def walk(node, path):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in list(items):
            p = f"{path}.{k}" if path else str(k)
            if is_uncertain(v):
                try:
                    spec = parse(v)
                except UncertainError as exc:
                    errors.append(f"{p}: {exc}")
                    node[k] = None if isinstance(node, list) else node[k]
                    continue
                found[p] = spec
                node[k] = point_value(spec)
            elif isinstance(v, (dict, list)):
                walk(v, p)

    if isinstance(data, (dict, list)):
        walk(data, prefix)
    return found, errors


def get_path(data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node


def restore(dumped: dict, specs: dict[str, Uncertain]) -> dict:
    """Put the distributions back into a dumped scenario mapping (for scenario.resolved.yaml)."""
    for path, spec in specs.items():
        try:
            set_path(dumped, path, spec.as_dict())
        except (KeyError, IndexError, ValueError, TypeError):
            continue
    return dumped
