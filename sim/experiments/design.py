"""Designs: which factor values each design point takes.

- `grid`: every combination (first factor slowest); a range gives `steps` evenly spaced values.
- `lhs`: a Latin hypercube of `samples` points (scipy.stats.qmc, seeded by the root seed).
- `sobol`: Saltelli's scheme (SALib `sobol.sample`, scrambled, seeded): N x (D + 2) points,
  N x (2D + 2) with second order. Analysed by `sensitivity.sobol_indices`.
- `morris`: `trajectories` one-at-a-time trajectories on a `num_levels` grid (SALib).

Every design is a matrix `X` in the SALib "problem" space (see `Factor.bounds`): ranges are
themselves, whole-number ranges are [low, high + 1) floored, and level factors are [0, n) floored
to a level index, so every level is equally likely. Level factors in sobol/morris designs are
therefore allowed, but their indices are coarser than those of continuous factors.
The design is a pure function of the experiment: `--resume` recomputes it and checks its hash.
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .spec import Experiment, Factor


@dataclass
class Design:
    """Design points: `X` (n x D sample coordinates), `points` (factor values per point)."""

    kind: str
    factors: list[Factor]
    X: np.ndarray
    points: pd.DataFrame

    @property
    def problem(self) -> dict:
        """The SALib problem definition."""
        return {"num_vars": len(self.factors), "names": [f.name for f in self.factors],
                "bounds": [list(f.bounds()) for f in self.factors]}

    def __len__(self) -> int:
        return len(self.X)

    def values(self, point: int) -> dict:
        """{factor name: value} at `point`, as plain Python values."""
        out = {}
        for f in self.factors:
            v = self.points.at[point, f.name]
            out[f.name] = v.item() if isinstance(v, np.generic) else v
        return out

    def sha256(self) -> str:
        return hashlib.sha256(np.ascontiguousarray(np.round(self.X, 12)).tobytes()).hexdigest()


def _grid_axis(f: Factor, steps: int) -> list[float]:
    if f.is_levels:
        return [float(i) for i in range(len(f.labels))]
    n = f.steps or steps
    if f.integer:
        vals = sorted({int(round(v)) for v in np.linspace(f.low, f.high, n)})
        return [float(v) for v in vals]
    return [float(v) for v in np.linspace(f.low, f.high, n)]


def _from_unit(factors: list[Factor], U: np.ndarray) -> np.ndarray:
    lo = np.array([f.bounds()[0] for f in factors])
    hi = np.array([f.bounds()[1] for f in factors])
    return lo + U * (hi - lo)


MAX_POINTS = 1_000_000


def _check_size(exp: Experiment) -> None:
    """Refuse a design too large to hold (before drawing it): the message says how many."""
    from ..errors import UserError

    d = exp.spec.design
    k = len(exp.factors)
    if d.kind == "grid":
        n = 1
        for f in exp.factors:
            n *= len(f.labels) if f.is_levels else (f.steps or d.steps)
    elif d.kind == "lhs":
        n = d.samples
    elif d.kind == "sobol":
        n = d.samples * ((2 * k + 2) if d.second_order else (k + 2))
    else:
        n = d.trajectories * (k + 1)
    if n * exp.replications > MAX_POINTS:
        raise UserError([f"{exp.source}: design: {n:,} points x {exp.replications} replications "
                         f"= {n * exp.replications:,} runs, more than {MAX_POINTS:,} (the design "
                         f"and its ledger are held and written whole): use fewer samples, "
                         f"levels or steps"])


def make_design(exp: Experiment) -> Design:
    """The design of experiment `exp` (deterministic in the experiment's seed)."""
    d = exp.spec.design
    factors = exp.factors
    seed = int(exp.seed)
    _check_size(exp)
    if d.kind == "grid":
        X = np.array(list(itertools.product(*[_grid_axis(f, d.steps) for f in factors])), float)
    elif d.kind == "lhs":
        from scipy.stats import qmc
        X = _from_unit(factors, qmc.LatinHypercube(d=len(factors), seed=seed).random(d.samples))
    elif d.kind == "sobol":
        from SALib.sample import sobol
        problem = {"num_vars": len(factors), "names": [f.name for f in factors],
                   "bounds": [list(f.bounds()) for f in factors]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = sobol.sample(problem, d.samples, calc_second_order=d.second_order,
                             scramble=True, seed=seed)
    elif d.kind == "morris":
        from SALib.sample import morris
        problem = {"num_vars": len(factors), "names": [f.name for f in factors],
                   "bounds": [list(f.bounds()) for f in factors]}
        X = morris.sample(problem, d.trajectories, num_levels=d.num_levels, seed=seed)
    else:  # pragma: no cover - the spec forbids it
        raise ValueError(d.kind)
    X = np.asarray(X, float).reshape(-1, len(factors))
    points = pd.DataFrame({f.name: [f.value(x) for x in X[:, j]]
                           for j, f in enumerate(factors)})
    points.insert(0, "point", np.arange(len(points)))
    return Design(d.kind, factors, X, points)
