"""Write the calibrated scenario: a YAML file that `extends:` the base and overrides it.

The calibrated scenario is a *reproduction* scenario: it makes every observed case one problem
reported once, routed straight to its owner, so that the model reproduces the log's arrivals,
channel mix and time to close. What it sets (see docs/calibration.md for the why):

- catalogue: one entry per observed category (codes of the base are overridden, new codes
  added); `incidence_per_1000_per_year` from the arrival rate and the base district's
  population; `handling` fitted to the observed handling time (or time to close); `p_report`
  = the share not logged by field staff (the rest is found at once by grid patrol);
  `p_resolve` 1, no recurrence, no on-the-spot settlement; `deadline_hours` from due dates.
  Base categories absent from the log get incidence 0.
- channels: citizen channels' `propensity` = observed shares; per-category `channel_weights`
  when a category has enough cases.
- departments: `sizing: no_queue` (no start times in the log: time to close is mostly waiting,
  so it becomes handling time) gives owners 24/7 district pools with staff from the implied
  load, so queueing adds little; `sizing: keep` (start times known) keeps the base's
  departments, whose queues then make the waiting.
- citizens: no report delay, no repeat complaints (repeats are already counted as arrivals);
  hour-of-day and day-of-week weights from the log.
- mechanisms off: direct routing, no assessment policies, main/co, dual dispatch, handback,
  linkage or campaigns (their effects are already inside the observed times).
- run: start date = the log's first day, horizon = log span + follow-up, no warm-up.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..errors import UserError
from ..scenario.loader import load_raw, load_scenario
from ..scenario.schema import FAMILIES, Scenario
from ..world.district import build_district
from .fit import BETA, Calibration, staff_for

#: categories with at least this many citizen-channel cases get their own channel weights
MIN_CASES_CHANNEL_WEIGHTS = 50
#: report delay of a reproduction scenario: the complaint *is* the problem's arrival
INSTANT_HOURS = 1e-9
MAX_FOLLOW_UP_DAYS = 60.0
#: the channel of a log that says nothing about channels
NO_CHANNEL = "unknown_channel"


def guess_kind(code: str) -> str:
    """Channel kind from its code: patrol, police, hotline or app."""
    c = code.lower()
    if "patrol" in c or "grid" in c or "field" in c or "internal" in c:
        return "patrol"
    if "police" in c or "110" in c:
        return "police"
    if "hotline" in c or "12345" in c or "phone" in c or "call" in c or "311" in c:
        return "hotline"
    return "app"


def _r(x: float, digits: int = 6) -> float:
    return float(f"{float(x):.{digits}g}")


def horizon_days(cal: Calibration) -> float:
    """The log's span plus a follow-up: the larger of the 90th percentile of time to close and
    the largest per-category median, at most 60 days, so that the cases arriving in the span
    can close within the run and every category's median is observable."""
    span = cal.span_hours / 24.0
    qs = [cal.ttc_all.km.quantile(0.9)] + [c.ttc.km.quantile(0.5)
                                           for c in cal.categories.values()]
    qs = [q for q in qs if np.isfinite(q)]
    follow = min(max(qs) / 24.0 if qs else MAX_FOLLOW_UP_DAYS, MAX_FOLLOW_UP_DAYS)
    return float(math.ceil(span + follow))


def peak_load_erlangs(cal: Calibration, dept: str, horizon_hours: float) -> float:
    """Cases a department holds at once in an M/G/infinity system fed at its categories' peak
    rates (the demand profile's largest factor over the fit window, on the anchored rate) with
    the fitted handling cut at the run's horizon: sum of lambda_peak x E[min(S, H)]. Staff
    sized on this holds peaks, not only the average load."""
    demand = getattr(cal, "demand", None)
    u = (np.arange(400) + 0.5) / 400.0
    load = 0.0
    for c in cal.categories.values():
        if c.department != dept:
            continue
        anchor = demand.anchor.get(c.code, 1.0) if demand is not None else 1.0
        peak = demand.peak.get(c.code, 1.0) if demand is not None else 1.0
        lam = c.rate_per_day / 24.0 * peak / (anchor if anchor > 0 else 1.0)
        q = np.array([c.handling.chosen.quantile(float(x)) for x in u])
        q = np.where(np.isfinite(q), q, horizon_hours)
        load += lam * float(np.mean(np.minimum(q, horizon_hours)))
    return load


def _base_rate_per_year(base: Scenario, code: str) -> float:
    """Problems per year of a base category in the base district."""
    pop, _, mix = build_district(base.district).arrays()
    from ..scenario.schema import LAND_USES

    inc = base.catalogue[code].incidence_per_1000_per_year
    vec = np.array([inc.get(u, inc.get("default", 0.0)) for u in LAND_USES])
    return float(np.sum(pop / 1000.0 * (mix @ vec)))


def build_overrides(cal: Calibration, base: Scenario, base_raw: dict
                    ) -> tuple[dict, list[str]]:
    """The override mapping (without `extends`) and notes on what could not be set."""
    m = cal.log.mapping
    notes: list[str] = []
    population = build_district(base.district).population
    if population <= 0:
        raise UserError(["base scenario: district has no residents: incidence per 1,000 "
                         "residents cannot be set"])
    sizing = m.sizing

    # ---- channels
    # every channel written in full: a base that relies on the schema's default channels has
    # none in its file, and a partial entry would not validate
    channels: dict[str, dict] = {code: ch.model_dump(mode="json")
                                 for code, ch in base.channels.items()}
    kinds = {code: ch.kind for code, ch in base.channels.items()}
    mix = cal.channel_mix
    if mix.empty:
        # no channel column and no `channels.default`: the log says nothing about channels, so
        # none of the base's mix may leak in (a 110 share the log never showed): every case
        # comes by one neutral citizen channel
        mix = pd.DataFrame({"channel": [NO_CHANNEL], "cases": [1], "share": [1.0]})
        notes.append(f"the log has no channel column and the mapping no `channels.default`: "
                     f"every case arrives by channel {NO_CHANNEL!r} (kind app); set "
                     f"`channels.default` to the channel the log's cases came by")
    for code in mix["channel"]:
        if code not in kinds:
            kind = m.channels.kinds.get(code, guess_kind(code))
            kinds[code] = kind
            channels[code] = {"name": code, "name_zh": "", "kind": kind, "propensity": 0.0}
    citizen = mix[np.array([kinds[c] != "patrol" for c in mix["channel"]], dtype=bool)]
    total = float(citizen["cases"].sum())
    shares = dict(zip(citizen["channel"], citizen["cases"] / total)) if total else {}
    if shares:
        for code, kind in kinds.items():
            if kind != "patrol":
                channels[code]["propensity"] = _r(shares.get(code, 0.0), 4)
    else:
        notes.append("the log has no citizen channel (every case was logged by field "
                     "staff): channel propensities stay as the base's")
    patrol_codes = {c for c, k in kinds.items() if k == "patrol"}
    #: the log's citizen-channel mix, the fallback of categories with few cases of their own
    overall = {k: _r(v, 4) for k, v in sorted(shares.items())} or None

    # ---- departments
    departments: dict[str, dict] = {}
    owners = {}
    for c in cal.categories.values():
        if sizing == "keep" and c.code in base.catalogue:
            owners[c.code] = base.catalogue[c.code].owner
        else:
            owners[c.code] = c.department
    for code in sorted(set(owners.values())):
        if sizing == "keep" and code in base.departments:
            continue
        d = cal.departments.get(code)
        staff = d.staff_inferred if d else 1
        peak_load = peak_load_erlangs(cal, code, horizon_days(cal) * 24.0)
        staff_model = staff_for(peak_load)
        if staff_model > staff:
            notes.append(f"department {code}: staff raised from the log's {staff} to "
                         f"{staff_model}: at the fitted peak arrival rate, with the fitted "
                         f"handling cut at the run's horizon, an M/G/infinity system holds "
                         f"{peak_load:,.1f} cases at once (an upper bound on the peaks the "
                         f"run can reach; the log's window, which starts empty, showed "
                         f"fewer)")
            staff = staff_model
        if d is not None:
            grow = d.backlog_growth_per_day
            notes.append(
                f"department {code}: staff {staff} inferred from the log (the most cases it "
                f"held open at once, {d.in_hand_peak:,}, 90% interval {d.in_hand_peak_lo:,.0f}"
                f" to {d.in_hand_peak_hi:,.0f}, plus {BETA:g} sqrt for the simulation's own "
                f"variation: staff interval {d.staff_lo} to {d.staff_hi}); mean open "
                f"{d.in_hand_mean:,.1f}, busiest window {d.in_hand_busiest_window:,.1f}"
                + (f"; cases open grew by {grow:,.2f} a day (second half of the window "
                   f"against the first; the log starts empty): the capacity does not cap "
                   f"that backlog, it is kept through the log's times to close, open cases "
                   f"censored" if np.isfinite(grow) and grow > 0 else ""))
        if sizing == "keep":  # a department the base lacks: size it anyway
            notes.append(f"department {code!r} is not in the base: sized for no queueing")
        departments[code] = {
            "name": d.name if d else code, "level": "district", "staff": int(staff),
            "shift": {"start_hour": 0.0, "end_hour": 24.0, "days": list(range(7))},
            "response_hours": 0.0}

    # ---- catalogue
    catalogue: dict[str, dict] = {}
    any_patrol = False
    for c in cal.categories.values():
        entry: dict = {}
        # divided by the mean factor of the category's demand profile over the fit window, so
        # that the simulated arrivals over the window add up to the log's (demand.anchor_factors)
        demand = getattr(cal, "demand", None)
        anchor = demand.anchor.get(c.code, 1.0) if demand is not None else 1.0
        rate_year = c.rate_per_day * 365.0 / (anchor if anchor > 0 else 1.0)
        if c.code in base.catalogue and _base_rate_per_year(base, c.code) > 0:
            factor = rate_year / _base_rate_per_year(base, c.code)
            inc = {k: _r(v * factor) for k, v in
                   base.catalogue[c.code].incidence_per_1000_per_year.items()}
        else:
            old = base.catalogue[c.code].incidence_per_1000_per_year if \
                c.code in base.catalogue else {}
            inc = {k: 0.0 for k in old}
            inc["default"] = 0.0
            for k in inc:
                inc[k] = _r(rate_year / (population / 1000.0))
        entry["incidence_per_1000_per_year"] = inc
        if c.code not in base.catalogue:
            fam = c.family
            entry.update({"name": c.name, "family": fam, "tier": 1})
        entry["owner"] = owners[c.code]
        entry["handling"] = {**c.handling.chosen.to_distribution()}
        entry["handling"].setdefault("values", None)
        patrol_share = sum(v for k, v in c.channel_shares.items() if k in patrol_codes)
        any_patrol |= patrol_share > 0
        shares_c = c.channel_shares or ({NO_CHANNEL: 1.0} if cal.channel_mix.empty else {})
        cit = {k: v for k, v in shares_c.items() if k not in patrol_codes}
        n_cit = c.arrivals * sum(cit.values())
        if n_cit >= MIN_CASES_CHANNEL_WEIGHTS and sum(cit.values()) > 0:
            tot = sum(cit.values())
            entry["channel_weights"] = {k: _r(v / tot, 4) for k, v in sorted(cit.items())}
        else:
            # always the log's mix, never the base category's own weights (which `extends`
            # would otherwise keep)
            entry["channel_weights"] = overall
        if entry["channel_weights"] is not None:
            # every channel named, the unused ones 0: `extends` merges mappings, so a channel
            # the base category weighted would otherwise keep its weight
            entry["channel_weights"] = {k: entry["channel_weights"].get(k, 0.0)
                                        for k in channels}
        entry.update({"p_report": _r(1.0 - patrol_share, 6), "p_resolve": 1.0,
                      "recurrence_prob": 0.0, "p_grid_settle": 0.0, "police_on_site": False,
                      "p_unsettled_after_police": 0.0, "co_handlers": []})
        if np.isfinite(c.deadline_hours) and c.deadline_hours > 0:
            entry["deadline_hours"] = _r(c.deadline_hours)
        catalogue[c.code] = entry
    for code, cat in base.catalogue.items():
        if code not in catalogue:
            zero = {k: 0.0 for k in cat.incidence_per_1000_per_year}
            zero["default"] = 0.0
            catalogue[code] = {"incidence_per_1000_per_year": zero}
    bad = sorted({e["family"] for e in catalogue.values() if "family" in e} - set(FAMILIES))
    if bad:
        raise UserError([f"mapping {m.name}: categories.family/families: unknown family "
                         f"{b!r} (one of {', '.join(FAMILIES)})" for b in bad])

    # ---- citizens, grid workers, mechanisms
    citizens = {
        "report_propensity": 1.0,
        "report_delay": {"kind": "fixed", "mean": INSTANT_HOURS, "values": None},
        "repeat": {"p_complain_again": 0.0, "max_repeats": 0},
        "hour_of_day_weights": cal.hour_weights,
        "day_of_week_weights": cal.dow_weights,
    }
    fam_keys = set(base.grid_workers.detection_prob_by_family)
    if any_patrol:
        if not patrol_codes:
            notes.append("the log has field-staff cases but the scenario has no patrol channel")
        grid_workers = {"per_grid": max(1, base.grid_workers.per_grid),
                        "extra_forces_per_grid": 0.0, "patrol_hours_per_day": 24.0,
                        "full_patrol_hours": 0.01, "detection_prob": 1.0,
                        "detection_prob_by_family": {f: 1.0 for f in sorted(fam_keys)}}
    else:
        grid_workers = {"detection_prob": 0.0,
                        "detection_prob_by_family": {f: 0.0 for f in sorted(fam_keys)}}
    out = {
        "name": f"calibrated_{m.name}",
        "description": (f"Calibrated by `cogov calibrate` from {Path(cal.log.source).name} "
                        f"through mapping {m.name}: {cal.quality_line()}. A reproduction "
                        f"scenario: mechanisms off, see docs/calibration.md."),
        "catalogue": catalogue,
        "channels": channels,
        "departments": departments,
        "citizens": citizens,
        "grid_workers": grid_workers,
        "assessment": {"policies": []},
        "main_co": {"enabled": False},
        "dispatch": {"default_mode": "single", "dual_families": [],
                     "modes": {k: "single" for k in base.dispatch.modes}},
        "handback": {"enabled": False},
        "linkage": {"enabled": False},
        "campaigns": [],
        "run": {"start_date": cal.log.window_start.date().isoformat(),
                "horizon_days": horizon_days(cal), "warmup_days": 0.0},
    }
    if not departments:
        del out["departments"]
    routing = _direct_routing(base, base_raw)
    if routing is None:
        notes.append(f"routing stays {base.routing.policy!r}: the base sets parameters that "
                     f"`direct` does not take, and `extends` cannot remove keys; use a base "
                     f"with `routing: {{policy: direct}}` for a faithful reproduction")
    else:
        out["routing"] = routing
    return out, notes


def _direct_routing(base: Scenario, base_raw: dict) -> dict | None:
    from ..policies import ROUTING

    params = (base_raw.get("routing") or {}).get("params") or {}
    allowed = set(ROUTING["direct"].Params.model_fields)
    if set(params) - allowed:
        return None
    return {"policy": "direct", "params": {k: 0.0 for k in params}}


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of plain numbers/strings, which go on one (wrapped) line."""


def _list(dumper, data):
    flow = all(isinstance(x, (int, float, str)) and not isinstance(x, bool) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow and
                                     bool(data))


_Dumper.add_representer(list, _list)


def dump_yaml(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


#: header line recording the rows a calibrated scenario was fitted on (read by validate)
FIT_WINDOW = "# fit-window:"


#: header line recording the fit's category grouping (raw code -> the fit's code; read by
#: validate-against so that a validation window is grouped the fit's way)
GROUPS = "# category-groups:"


def category_groups(cal: Calibration) -> dict[str, str]:
    c = cal.log.cases
    if "category_unlumped" not in c:
        return {}
    pairs = c[["category_unlumped", "category"]].drop_duplicates()
    return dict(zip(pairs["category_unlumped"].astype(str), pairs["category"].astype(str)))


def read_category_groups(path: str | Path) -> dict[str, str] | None:
    """The fit's category grouping from a calibrated scenario's header (None: not recorded)."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            for k, line in enumerate(fh):
                if line.startswith(GROUPS):
                    return {str(a): str(b) for a, b in
                            json.loads(line[len(GROUPS):]).items()}
                if k > 400 or not line.startswith("#"):
                    return None
    except (OSError, ValueError):
        return None
    return None


def read_fit_window(path: str | Path) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """(first created, end) of the rows a calibrated scenario was fitted on, from its header;
    end is the `--until` date, or just after the last case. None when not recorded."""
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines()[:40]:
            if line.startswith(FIT_WINDOW):
                a, b = line[len(FIT_WINDOW):].split()[:2]
                return pd.Timestamp(a), pd.Timestamp(b)
    except (OSError, ValueError):
        return None
    return None


def write_scenario(cal: Calibration, base_path: str | Path, out_path: str | Path,
                   command: str = "", until=None, extra: dict | None = None
                   ) -> tuple[Path, list[str]]:
    """Write the calibrated scenario next to `out_path`, check it loads, return (path, notes).

    `until`: the `--until` date the fit stopped at (recorded in the header). `extra`: more
    overrides merged in last (the demand profiles, the behaviour posterior)."""
    base_path, out_path = Path(base_path), Path(out_path)
    base = load_scenario(base_path)
    base_raw = load_raw(base_path)
    over, notes = build_overrides(cal, base, base_raw)
    for key, val in (extra or {}).items():
        if isinstance(val, dict) and isinstance(over.get(key), dict):
            _merge(over[key], val)
        else:
            over[key] = val
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(base_path.resolve(), out_path.parent.resolve())
    data = {"extends": Path(rel).as_posix(), **over}
    by = f": {command}" if command else ""
    fit_end = (pd.Timestamp(until) if until is not None
               else cal.log.window_end + pd.Timedelta(seconds=1))
    head = [f"# Calibrated scenario written by `cogov calibrate`{by}",
            f"# log: {cal.log.source} ({cal.quality_line()})",
            f"# mapping: {cal.log.mapping.name}; base: {rel}",
            f"{FIT_WINDOW} {cal.log.window_start.isoformat()} {fit_end.isoformat()}"
            f"  (cases created in [first, end) were fitted)",
            f"{GROUPS} " + json.dumps(category_groups(cal), ensure_ascii=False,
                                      sort_keys=True),
            "# A reproduction scenario (mechanisms off). Tables, fits and figures: the --report "
            "directory.", "# Notes:"]
    head += [f"#  - {n}" for n in (cal.notes + notes)] or ["#  (none)"]
    out_path.write_text("\n".join(head) + "\n" + dump_yaml(data), encoding="utf-8")
    try:
        load_scenario(out_path)
    except UserError as exc:
        raise UserError([f"{out_path}: the calibrated scenario does not validate against the "
                         f"base {base_path}:"] + exc.errors) from None
    return out_path, notes


def _merge(into: dict, new: dict) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v
