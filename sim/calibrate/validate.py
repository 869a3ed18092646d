"""`validate-against`: run a calibrated scenario and set simulated against observed statistics.

Both sides go through the same reader and estimators: the observed log through its mapping, the
simulated case logs through the identity mapping (censored at the horizon). Compared:
- arrival rate per category (cases per day; z = difference over the combined Poisson sd);
- arrivals by hour of day and day of week (shares; KS and total-variation distance);
- time to close by category: Kaplan-Meier quantiles (p10..p90), the median's 95% interval
  (Greenwood), relative error of the median and the KS distance between the two KM curves;
- channel mix (shares; total-variation distance).

Strict rule (no interval-overlap pass): a category's median time to close is *compared* when
both sides have at least `MIN_CLOSED` closed cases and a Kaplan-Meier median, and it is
*within* when |simulated - observed| / observed <= `rel_tol` (default 20%; medians at or below
the log's timestamp resolution count as equal). Categories not compared are listed with the
reason ("not compared"). `share_within_20pct` = within / compared. Also: the log-distance
measures of `distances` (cycle-time EMD, arrival EMD, circadian EMD) and the repeat share.

Judged fairly: beside the share, what a perfect model reaches on the same rows
(`perfect_model_reference`, a bootstrap of the compared cases) and the gap to it. The compared
rows are grouped into categories the fit's way (the scenario header's `# category-groups:`).
Chases and re-complaints are counted with the agreed names (`chases_and_recomplaints`).

Out of sample: `--from DATE` compares with the cases created from DATE on only; the scenario
is run from DATE. `in_sample` in validation.json is false only when the scenario's header
records a fit window that ends at or before DATE (`calibrate --until`).

Modules: this one runs the scenario and the comparison (`validate_against`); the measures are
in `validation_metrics.py`, the figures and files in `validation_report.py` (their names stay
importable from here).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .mapping import Mapping, cogov_mapping
from .read import CaseLog, read_log
from .validation_metrics import (  # noqa: F401  (re-exported: the measures stay importable here)
    MIN_CLOSED,
    NOT_COMPARED,
    PERFECT_BOOTSTRAP,
    PERFECT_GAP_POINTS,
    QUANTILES,
    Side,
    Validation,
    _ttc_km,
    chases_and_recomplaints,
    compare,
    compare_arrivals,
    compare_channels,
    compare_time_of_day,
    compare_ttc,
    km_distance,
    perfect_model_reference,
    repeat_by_category,
    side_from_log,
)
from .validation_report import write_validation_files, write_validation_report  # noqa: F401


def simulate(scenario_path: str | Path, replications: int, seed: int | None,
             overrides: list[str] = (), location: str = "grid") -> tuple[list[CaseLog], object]:
    """Run the scenario `replications` times; each case log read with the identity mapping
    (`location`: `grid`, or `problem_id` to locate a case by its problem, as an address does)."""
    from ..lifetime import run_model
    from ..scenario.loader import load_scenario

    scenario = load_scenario(scenario_path, list(overrides))
    base_seed = scenario.run.seed if seed is None else int(seed)
    mapping = cogov_mapping(location)
    end = pd.Timestamp(scenario.run.start_date) + pd.Timedelta(days=scenario.run.horizon_days)
    logs = []
    for r in range(replications):
        with run_model(scenario, seed=base_seed + r) as res:     # freed after each
            logs.append(read_log(res.cases.astype(str), mapping, extracted_at=end, lump=False,
                                 allow_drop=True))
    return logs, scenario


def out_of_sample_overrides(scenario_path, since: pd.Timestamp, obs_log: CaseLog,
                            overrides: list[str]) -> list[str]:
    """`--set`s that run the scenario over the validation window: from `since` to the log's
    last case plus a follow-up long enough to observe the validation cases' medians (the
    larger of the 90th percentile of time to close and the largest category median of the
    compared rows, at most 60 days; how long the simulation is watched, not a fitted value)."""
    from .scenario_out import MAX_FOLLOW_UP_DAYS

    qs = []
    c = obs_log.cases[obs_log.cases["ttc_event"].notna()]
    res = obs_log.mapping.timestamps.resolution_hours
    if len(c):
        qs.append(_ttc_km(c, res).quantile(0.9))
        qs += [_ttc_km(g, res).quantile(0.5) for _, g in c.groupby("category")]
    qs = [q for q in qs if np.isfinite(q)]
    follow = float(min(max(qs) / 24.0 if qs else 30.0, MAX_FOLLOW_UP_DAYS))
    span = (obs_log.window_end - since.normalize()) / pd.Timedelta(days=1)
    return [f"run.start_date={since.date().isoformat()}",
            f"run.horizon_days={math.ceil(span + follow)}", "run.warmup_days=0", *overrides]


def validate_against(log_path: str | Path, mapping: Mapping, mapping_path: str,
                     scenario_path: str | Path, out: str | Path, replications: int = 3,
                     seed: int | None = None, overrides: list[str] = (),
                     rel_tol: float = 0.20, allow_drop: bool = False,
                     since: pd.Timestamp | None = None, force: bool = False,
                     until: pd.Timestamp | None = None) -> tuple[Validation, Path]:
    """Read the log, run the scenario, compare, and write the report into `out`
    (index.md, validation.csv, validation.json, tables, figures; checked before the runs,
    written safely: `sim.outdir`)."""
    from ..outdir import OutputDir
    from .scenario_out import read_fit_window

    if not Path(scenario_path).exists():
        from ..errors import UserError

        raise UserError([f"{scenario_path}: scenario not found: give the calibrated scenario "
                         f"with --scenario"])
    target = OutputDir(out, force=force, inputs=[log_path, mapping_path, scenario_path],
                       command="validate-against")
    target.check()
    from .scenario_out import read_category_groups

    groups = read_category_groups(scenario_path)
    obs_log = read_log(log_path, mapping, mapping_path, allow_drop=allow_drop, since=since,
                       until=until, groups=groups)
    overrides = list(overrides)
    if since is not None:
        overrides = out_of_sample_overrides(scenario_path, since, obs_log, overrides)
    location = "grid" if mapping.columns.location.grid else "problem_id"
    with target as tmp:
        sim_logs, scenario = simulate(scenario_path, replications, seed, overrides, location)
        v = compare(obs_log, sim_logs, rel_tol)
        fw = read_fit_window(scenario_path)
        v.in_sample = not (fw is not None and fw[1] <= obs_log.window_start)
        v.windows = {"fit_window": [fw[0].isoformat(), fw[1].isoformat()] if fw else None,
                     "validation_window": [obs_log.window_start.isoformat(),
                                           obs_log.window_end.isoformat()]}
        if fw is None:
            v.notes.append("the scenario's header records no fit window (not written by "
                           "`cogov calibrate`?): treated as in sample")
        elif v.in_sample and since is not None:
            v.notes.append(f"in sample: the scenario was fitted on cases up to "
                           f"{fw[1]:%Y-%m-%d}, after --from {since:%Y-%m-%d}; calibrate with "
                           f"--until {since:%Y-%m-%d} for an out-of-sample check")
        if groups is None:
            v.notes.append("the scenario's header records no category grouping (written by an "
                           "older `cogov calibrate`?): rare categories were lumped anew in the "
                           "compared window")
        v.notes += _coverage_notes(obs_log, v)
        index = write_validation_report(v, tmp, obs_log, scenario_path, scenario, rel_tol)
    return v, target.final / index.name


def _coverage_notes(obs_log: CaseLog, v: Validation) -> list[str]:
    notes = []
    unseen = v.arrivals[(v.arrivals["observed_cases"] > 0) & (v.arrivals["simulated_cases"] == 0)]
    if len(unseen):
        notes.append(f"{len(unseen)} observed categories never occur in the simulation (is the "
                     f"scenario calibrated from this log with this mapping?): "
                     + ", ".join(unseen["category"].head(10)))
    na = v.ttc[v.ttc["simulated_p50"].isna() & (v.ttc["simulated_n"] > 0)]
    if len(na):
        notes.append(f"{len(na)} categories have no simulated median (fewer than half their "
                     f"cases close within the horizon: lengthen run.horizon_days with --set)")
    return notes

