"""`cogov replay`: drive the model with a log's actual complaints instead of drawn arrivals.

Each case of the log (duplicates left out: they are not new problems) becomes one problem whose
first contact is the logged complaint: at the logged time, about the logged category, by the
logged channel, in a grid found from the logged location. Everything after that first contact
(routing, queues, handling, repeats, escalation, grid follow-ups) is the scenario's, so two
scenarios replayed on one log are compared on the same real demand ("last month's complaints
under the new routing table").

- time: hours from the run's start, which is set to the log's first day; the horizon is the
  log's span plus `follow_up_days` (default 30) so that late complaints can close;
- category: the log's category code (through the mapping) must be a catalogue code of the
  scenario; cases of other categories are left out and counted (`UserError` when none is
  left, or when over 5% are left out without `allow_drop`);
- grid: the log's grid (by grid name) when the mapping names a grid column; else its street
  (by street name) and then a grid of that street; else the location key (address, lat/long)
  alone. The grid within a street or the district is chosen by population, deterministically
  from a hash of the location key, so one address is always one grid; cases without a
  location are placed by population with the run's channel stream;
- channel: the log's channel code when the scenario has it (a patrol-kind channel makes it a
  grid worker's report); else drawn from the category's channel weights.

The problems are injected through the engine's `add_problems` / `set_arrivals`, the path the
bulk draw (`world.problems.generate`) uses, by standing in for that draw while the model is
built; nothing else of the model changes.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from .read import MAX_DROP_SHARE, CaseLog


def _stable_u(keys: pd.Series) -> np.ndarray:
    """A number in [0, 1) per key, the same for the same key on every run and machine."""
    return np.array([zlib.crc32(str(k).encode("utf-8")) / 2.0 ** 32 for k in keys])


def _by_population(u: np.ndarray, pop: np.ndarray, members: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(pop[members])
    cdf = cdf / cdf[-1]
    return members[np.minimum(np.searchsorted(cdf, u, side="right"), len(members) - 1)]


def place(log: CaseLog, layout) -> tuple[np.ndarray, dict]:
    """Grid index per case and counts of how each was placed."""
    cases = log.cases
    grids = layout.grids
    pop = np.array([max(g.population, 0) for g in grids], dtype=float)
    if pop.sum() <= 0:
        pop = np.ones(len(grids))
    all_idx = np.arange(len(grids))
    out = np.full(len(cases), -1, dtype=np.int64)
    how = {"by grid name": 0, "by street name": 0, "by location key": 0, "no location": 0}
    loc = log.mapping.columns.location
    key = cases["location"].astype(str)
    if loc.grid:
        by_name = {g.name.upper(): g.index for g in grids}
        hit = key.str.upper().map(by_name)
        ok = hit.notna().to_numpy()
        out[ok] = hit[ok].astype(int).to_numpy()
        how["by grid name"] = int(ok.sum())
    todo = out < 0
    street = cases["street"].astype(str).str.strip().str.upper()
    if todo.any() and (street != "").any():
        names = {s.name.upper(): s.index for s in layout.streets}
        sidx = street.map(names)
        sel = todo & sidx.notna().to_numpy()
        for s_i in np.unique(sidx[sel].astype(int)):
            idx = np.where(sel & (sidx == s_i).to_numpy())[0]
            members = np.array([g.index for g in layout.streets[s_i].grids])
            out[idx] = _by_population(_stable_u(key.iloc[idx] + "|" + street.iloc[idx]), pop,
                                      members)
            how["by street name"] += len(idx)
    todo = out < 0
    keyed = todo & (key != "").to_numpy()
    if keyed.any():
        out[keyed] = _by_population(_stable_u(key[keyed]), pop, all_idx)
        how["by location key"] = int(keyed.sum())
    rest = out < 0
    if rest.any():
        # no location at all: by population, from a hash of the case id (reproducible)
        out[rest] = _by_population(_stable_u("id:" + cases["id"].astype(str)[rest]), pop,
                                   all_idx)
        how["no location"] = int(rest.sum())
    return out, how


def replay_inputs(log: CaseLog, scenario, layout, allow_drop: bool):
    """(t0 hours, category index, grid index, channel code or None, counts, notes)."""
    cases = log.cases[log.cases["kind"] != "duplicate"].reset_index(drop=True)
    log = CaseLog(cases, log.quality, log.mapping, log.extracted_at, log.window_start,
                  log.window_end, log.source)
    codes = list(scenario.catalogue)
    known = cases["category"].isin(codes)
    notes = []
    if not known.any():
        raise UserError([f"{log.source}: none of the log's categories is in the scenario's "
                         f"catalogue (log: {', '.join(cases['category'].value_counts().index[:8])}"
                         f"; scenario: {', '.join(codes[:8])}): replay on a scenario calibrated "
                         f"from this log with this mapping (cogov calibrate)"])
    lost = float((~known).mean())
    if lost > 0:
        top = cases.loc[~known, "category"].value_counts().head(5)
        line = (f"{int((~known).sum()):,} cases ({lost:.1%}) have a category the scenario "
                f"lacks (e.g. {', '.join(f'{k} x{v}' for k, v in top.items())})")
        if lost > MAX_DROP_SHARE and not allow_drop:
            raise UserError([f"{log.source}: {line}: add them to the scenario's catalogue or "
                             f"pass --allow-drop to replay without them"])
        notes.append(line + ": left out")
    grid, how = place(log, layout)
    start = pd.Timestamp(scenario.run.start_date)
    t0 = ((cases["created"] - start) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    cat_index = {c: i for i, c in enumerate(codes)}
    keep = known.to_numpy() & (t0 >= 0)
    ch = cases["channel"].where(cases["channel"].notna(), None).to_numpy(dtype=object)
    counts = {"cases": int(len(cases)), "replayed": int(keep.sum()),
              "category not in scenario": int((~known).sum()), **how}
    return (t0[keep], np.array([cat_index[c] for c in cases["category"][keep]], dtype=np.int64),
            grid[keep], ch[keep], counts, notes)


def replay(log_path, mapping, mapping_path: str, scenario_path, out, seed=None,
           overrides=(), follow_up_days: float = 30.0, allow_drop: bool = False,
           progress: bool = False, fmt: str = "parquet"):
    """Replay the log's complaints through the scenario; write the run's outputs into `out`
    plus `replay_input.json`. Returns (RunResult, counts, notes)."""
    import json
    import math

    from ..runner import write_outputs
    from ..scenario.loader import load_scenario
    from ..world.district import build_district
    from .read import read_log

    log = read_log(log_path, mapping, mapping_path, allow_drop=allow_drop)
    if not Path(scenario_path).exists():
        raise UserError([f"{scenario_path}: scenario not found: check --scenario"])
    span = (log.window_end - log.window_start.normalize()) / pd.Timedelta(days=1)
    sets = [f"run.start_date={log.window_start.date().isoformat()}",
            f"run.horizon_days={math.ceil(span + follow_up_days)}", "run.warmup_days=0",
            *overrides]
    scenario = load_scenario(scenario_path, sets)
    layout = build_district(scenario.district)
    t0, cat, grid, ch, counts, notes = replay_inputs(log, scenario, layout, allow_drop)

    def generate(engine) -> None:
        order = np.argsort(t0, kind="stable")
        shared = np.array(range(len(engine.grid_street)), dtype=object)
        engine.add_problems(shared[grid[order]].tolist(), cat[order].tolist(),
                            t0[order].tolist())
        n = len(order)
        codes = {c: i for i, c in enumerate(engine.channel_codes)}
        kinds = engine.channel_kinds
        chans = np.array([codes.get(c, -1) if c is not None else -1 for c in ch[order]])
        missing = chans < 0
        if missing.any():   # no usable channel in the log: the category's channel weights
            cum = np.asarray(engine.world.channel_cdf)
            u = engine.streams["channel"].random(int(missing.sum()))
            drawn = (u[:, None] > cum[cat[order][missing]]).sum(axis=1)
            chans[missing] = np.minimum(drawn, len(engine.channel_codes) - 1)
        cits = np.array([kinds[c] != "patrol" for c in chans], dtype=bool)
        engine.set_arrivals(t0[order].tolist(), list(range(n)), chans.tolist(),
                            cits.tolist())
        counts["channel from the log"] = int((~missing).sum())
        counts["channel drawn"] = int(missing.sum())

    from ..runner import run_scenario

    result = run_scenario(scenario, seed=seed, progress=progress, arrivals=generate)
    out = write_outputs(result, out, fmt)
    (Path(out) / "replay_input.json").write_text(json.dumps(
        {"log": str(log_path), "mapping": mapping.name, "scenario": str(scenario_path),
         "start_date": str(scenario.run.start_date),
         "horizon_days": scenario.run.horizon_days, "counts": counts, "notes": notes},
        indent=2, ensure_ascii=False), encoding="utf-8")
    return result, counts, notes
