"""Log-distance measures between an observed and a simulated case log (Simod's measures).

The measures used to judge business-process simulation models learned from event logs
(Chapela-Campa, Camargo, Dumas et al.; the `log-distance-measures` package), with each case as
a one-activity trace (activity = category, start = created, end = closed):

- **cycle-time distribution distance**: earth mover's distance (EMD, Wasserstein-1) between the
  histograms of the cases' cycle times (created -> closed) in 1-hour bins, in hours;
- **case-arrival distribution distance**: EMD between the histograms of the cases' arrival
  times by absolute hour, in hours;
- **circadian event distribution distance**: per weekday, EMD between the histograms of
  arrival hours of the day, averaged over the weekdays both logs have (hours).

When `log-distance-measures` is installed it computes them (`SOURCE` says which); else the same
definitions are computed here with `scipy.stats.wasserstein_distance`. Only closed cases enter
the cycle time (an open case has no cycle time); the simulated side is one replication (the
histograms are compared as distributions, so the number of cases does not matter).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

try:   # the field's package, when it installs
    from log_distance_measures.case_arrival_distribution import (
        case_arrival_distribution_distance,
    )
    from log_distance_measures.circadian_event_distribution import (
        circadian_event_distribution_distance,
    )
    from log_distance_measures.config import AbsoluteTimestampType, EventLogIDs
    from log_distance_measures.cycle_time_distribution import cycle_time_distribution_distance

    try:
        from importlib.metadata import version

        SOURCE = f"log-distance-measures {version('log-distance-measures')}"
    except Exception:   # noqa: BLE001
        SOURCE = "log-distance-measures"
except ImportError:    # pragma: no cover - depends on the environment
    SOURCE = "scipy (log-distance-measures not installed; same definitions)"
    case_arrival_distribution_distance = None

IDS = dict(case="case_id", activity="activity", start_time="start_time", end_time="end_time")


def _event_log(cases: pd.DataFrame, closed_only: bool) -> pd.DataFrame:
    c = cases[cases["kind"] != "duplicate"]
    if closed_only:
        c = c[(c["ttc_event"] == 1) & c["closed"].notna()]
    start = pd.to_datetime(c["created"]).dt.tz_localize("UTC")
    end = pd.to_datetime(c["closed"].where(c["closed"].notna(), c["created"]))
    end = end.dt.tz_localize("UTC")
    end = end.where(end >= start, start)
    return pd.DataFrame({"case_id": np.arange(len(c)), "activity": c["category"].astype(str),
                         "start_time": start.to_numpy(), "end_time": end.to_numpy()})


def _hours(a: pd.Series) -> np.ndarray:
    return (a.astype("int64") // 3_600_000_000_000).to_numpy(dtype=float)


def cycle_time_emd(obs: pd.DataFrame, sim: pd.DataFrame) -> float:
    """EMD of the cycle times of closed cases, 1-hour bins, hours (NaN: no closed case)."""
    a, b = _event_log(obs, True), _event_log(sim, True)
    if a.empty or b.empty:
        return float("nan")
    if case_arrival_distribution_distance is not None:
        ids = EventLogIDs(**IDS)
        return float(cycle_time_distribution_distance(a, ids, b, ids, dt.timedelta(hours=1)))
    ca = np.floor((a["end_time"] - a["start_time"]).dt.total_seconds() / 3600.0)
    cb = np.floor((b["end_time"] - b["start_time"]).dt.total_seconds() / 3600.0)
    return float(wasserstein_distance(ca, cb))


def arrival_emd(obs: pd.DataFrame, sim: pd.DataFrame) -> float:
    """EMD of arrival times by absolute hour, hours."""
    a, b = _event_log(obs, False), _event_log(sim, False)
    if a.empty or b.empty:
        return float("nan")
    if case_arrival_distribution_distance is not None:
        ids = EventLogIDs(**IDS)
        return float(case_arrival_distribution_distance(a, ids, b, ids))
    return float(wasserstein_distance(_hours(a["start_time"]), _hours(b["start_time"])))


def circadian_emd(obs: pd.DataFrame, sim: pd.DataFrame) -> float:
    """Mean over weekdays of the EMD of arrival hours of the day, hours."""
    a, b = _event_log(obs, False), _event_log(sim, False)
    if a.empty or b.empty:
        return float("nan")
    if case_arrival_distribution_distance is not None:
        ids = EventLogIDs(**IDS)
        return float(circadian_event_distribution_distance(
            a, ids, b, ids, AbsoluteTimestampType.START))
    out = []
    for d in range(7):
        ha = a["start_time"][a["start_time"].dt.day_of_week == d].dt.hour
        hb = b["start_time"][b["start_time"].dt.day_of_week == d].dt.hour
        if len(ha) and len(hb):
            out.append(wasserstein_distance(ha, hb))
    return float(np.mean(out)) if out else float("nan")
