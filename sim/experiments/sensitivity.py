"""Sensitivity indices with SALib: Sobol S1/ST (and S2) and Morris mu*/sigma, with 95% CIs.

The output of a design point is the mean of the metric over its successful replications (with
common random numbers the replications' noise is shared by all points). A metric with any point
lacking a successful run is skipped with a note, since SALib needs every point of its scheme.
Confidence intervals come from SALib's bootstrap (`conf_level=0.95`, seeded by the root seed).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .design import Design


def point_outputs(design: Design, runs: pd.DataFrame, metric: str) -> np.ndarray:
    """Per design point (in order): the mean of `metric` over successful replications."""
    ok = runs[runs["status"] == "ok"]
    if metric not in ok:
        return np.full(len(design), np.nan)
    y = pd.to_numeric(ok[metric], errors="coerce").groupby(ok["point"]).mean()
    return y.reindex(range(len(design))).to_numpy(float)


def sobol_indices(design: Design, runs: pd.DataFrame, metrics: list[str], seed: int = 0,
                  second_order: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(first/total-order table, second-order table, notes) for a `sobol` design."""
    from SALib.analyze import sobol

    rows, rows2, notes = [], [], []
    problem = design.problem
    for m in metrics:
        y = point_outputs(design, runs, m)
        if np.isnan(y).any():
            notes.append(f"sobol: {m}: skipped, {int(np.isnan(y).sum())} design points have no "
                         f"successful run (rerun with --resume --retry-failed?)")
            continue
        if np.ptp(y) == 0:
            notes.append(f"sobol: {m}: skipped, the output does not vary over the design")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = sobol.analyze(problem, y, calc_second_order=second_order, conf_level=0.95,
                               print_to_console=False, seed=seed)
        for j, name in enumerate(problem["names"]):
            rows.append({"metric": m, "factor": name, "S1": si["S1"][j],
                         "S1_conf": si["S1_conf"][j], "ST": si["ST"][j],
                         "ST_conf": si["ST_conf"][j]})
        if second_order:
            for a in range(len(problem["names"])):
                for b in range(a + 1, len(problem["names"])):
                    rows2.append({"metric": m, "factor_a": problem["names"][a],
                                  "factor_b": problem["names"][b], "S2": si["S2"][a, b],
                                  "S2_conf": si["S2_conf"][a, b]})
    return pd.DataFrame(rows), pd.DataFrame(rows2), notes


def morris_indices(design: Design, runs: pd.DataFrame, metrics: list[str], num_levels: int,
                   seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """(mu, mu*, mu* CI, sigma per metric and factor, notes) for a `morris` design."""
    from SALib.analyze import morris

    rows, notes = [], []
    for m in metrics:
        y = point_outputs(design, runs, m)
        if np.isnan(y).any():
            notes.append(f"morris: {m}: skipped, {int(np.isnan(y).sum())} design points have "
                         f"no successful run")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = morris.analyze(design.problem, design.X, y, conf_level=0.95,
                                num_levels=num_levels, print_to_console=False, seed=seed)
        for j, name in enumerate(design.problem["names"]):
            rows.append({"metric": m, "factor": name, "mu": si["mu"][j],
                         "mu_star": si["mu_star"][j], "mu_star_conf": si["mu_star_conf"][j],
                         "sigma": si["sigma"][j]})
    return pd.DataFrame(rows), notes
