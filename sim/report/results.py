"""Results directories: read a `compare` or `sweep` output, and write a compare-format one.

The compare format (the contract with `cogov compare`, see docs/briefing.md):
`manifest.json`, `runs.csv` (one row per run, every flattened summary metric),
`comparison.csv` (scenario, metric, mean, ci_low, ci_high, sd, n, diff_mean, diff_ci_low,
diff_ci_high; differences against the first scenario), `timeseries.parquet` (or `.csv`),
`by_grid.csv`, `by_street.csv`, `by_category.csv` (means over replications), `figures/`.
A sweep directory has `manifest.json` with kind "sweep", a runs ledger (`runs.csv`,
`runs.parquet` or an SQLite file with a `runs` table) and optionally `sensitivity/*.csv`.

`write_compare_dir` writes the compare format from in-memory runs; `cogov recommend` uses it for
its evidence, and the tests use it as a fixture until `cogov compare` exists.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .. import __version__
from ..errors import UserError

ID_COLUMNS = ("scenario", "replication", "seed", "status", "error", "run_id", "wall_seconds",
              "cogov_version", "scenario_sha256", "point", "finished", "traceback")
GROUP_MEAN_COLUMNS = ("population", "complaints", "repeat_complaints", "repeat_complaint_rate",
                      "cases_opened", "cases_closed", "resolved_closed",
                      "mean_time_to_close_hours", "backlog_end", "transfers")


@dataclass
class ScenarioRef:
    """One scenario of a results directory, and its resolved scenario when it still loads."""

    name: str
    path: str = ""
    sha256: str = ""
    overrides: list[str] = field(default_factory=list)
    scenario: object | None = None   # sim.scenario.schema.Scenario
    load_error: str = ""
    changed: bool = False            # the file resolves to another sha256 than when it ran


@dataclass
class Results:
    """A results directory loaded into DataFrames (None where a file is absent)."""

    path: Path
    manifest: dict
    kind: str
    runs: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    timeseries: pd.DataFrame | None = None
    by_grid: pd.DataFrame | None = None
    by_street: pd.DataFrame | None = None
    by_category: pd.DataFrame | None = None
    sensitivity: dict[str, pd.DataFrame] = field(default_factory=dict)
    scenarios: list[ScenarioRef] = field(default_factory=list)

    @property
    def scenario_names(self) -> list[str]:
        if self.scenarios:
            return [s.name for s in self.scenarios]
        if self.comparison is not None:
            return list(dict.fromkeys(self.comparison["scenario"]))
        return []

    def scenario(self, name: str):
        for s in self.scenarios:
            if s.name == name:
                return s.scenario
        return None


# ----------------------------------------------------------------------------- statistics
def t_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, low, high, sd) of a t confidence interval for the mean of `x` (NaNs dropped)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return (math.nan,) * 4
    m = float(x.mean())
    if n == 1:
        return m, math.nan, math.nan, math.nan
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return m, m - half, m + half, sd


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float,
                                                                              float]:
    """(mean(b) - mean(a), low, high): Welch's t interval for independent samples."""
    a = np.asarray(a, float)[np.isfinite(a)]
    b = np.asarray(b, float)[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        d = float(b.mean() - a.mean()) if a.size and b.size else math.nan
        return d, math.nan, math.nan
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    d = float(b.mean() - a.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return d, d, d
    dof = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
    return d, d - half, d + half


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """The numeric metric columns of a runs table (identifiers excluded). A metric with no
    value in any run (e.g. a right-censored rate of short runs) is left out: it has no mean,
    and the same runs give the same table whether read from memory (None) or CSV (NaN)."""
    out = []
    for c in runs.columns:
        if c in ID_COLUMNS or c.startswith("factor.") or c.startswith("param."):
            continue
        if runs[c].isna().all():
            continue
        if pd.api.types.is_numeric_dtype(runs[c]) or pd.api.types.is_bool_dtype(runs[c]):
            out.append(c)
    return out


def compare_table(runs: pd.DataFrame, order: list[str] | None = None,
                  level: float = 0.95) -> pd.DataFrame:
    """comparison.csv from a runs table: per scenario and metric the mean with its t interval,
    and the difference to the first scenario. Differences are paired by replication when the
    scenarios ran on the same seeds (common random numbers), else Welch intervals."""
    ok = runs[runs["status"].fillna("ok") == "ok"] if "status" in runs else runs
    order = order or list(dict.fromkeys(ok["scenario"]))
    metrics = metric_columns(ok)
    base_name = order[0]
    base = ok[ok["scenario"] == base_name]
    rows = []
    for name in order:
        sub = ok[ok["scenario"] == name]
        paired = ("seed" in sub and name != base_name and len(sub) == len(base)
                  and sorted(sub["seed"]) == sorted(base["seed"]))
        for m in metrics:
            x = sub[m].to_numpy(dtype=float)
            mean, lo, hi, sd = t_interval(x, level)
            if name == base_name:
                d = (0.0, 0.0, 0.0)
            elif paired:
                joined = sub[["seed", m]].merge(base[["seed", m]], on="seed", suffixes=("", "_b"))
                dm, dlo, dhi, _ = t_interval(joined[m].to_numpy(float)
                                             - joined[m + "_b"].to_numpy(float), level)
                d = (dm, dlo, dhi)
            else:
                d = welch_interval(base[m].to_numpy(float), x, level)
            rows.append({"scenario": name, "metric": m, "mean": mean, "ci_low": lo,
                         "ci_high": hi, "sd": sd, "n": int(np.isfinite(x).sum()),
                         "diff_mean": d[0], "diff_ci_low": d[1], "diff_ci_high": d[2]})
    return pd.DataFrame(rows, columns=["scenario", "metric", "mean", "ci_low", "ci_high", "sd",
                                       "n", "diff_mean", "diff_ci_low", "diff_ci_high"])


def flatten(summary: dict, prefix: str = "") -> dict:
    """{"utilization": {"police": 0.8}} -> {"utilization.police": 0.8}."""
    out = {}
    for k, v in summary.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


# ----------------------------------------------------------------------------- writing
def write_compare_dir(out: str | Path, entries: list[dict], command: list[str],
                      root_seed: int | None, seeds: list[int]) -> Path:
    """Write a compare-format directory.

    `entries`: one dict per scenario, in order, with `name`, `path`, `overrides`, `scenario`
    (the resolved Scenario) and `results` (a list of `sim.runner.RunResult`, one per seed).
    """
    from ..scenario.loader import scenario_sha256

    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    run_rows, ts, grids, streets, cats = [], [], [], [], []
    for e in entries:
        for rep, res in enumerate(e["results"]):
            row = {"scenario": e["name"], "replication": rep, "seed": res.seed, "status": "ok"}
            row.update({k: v for k, v in flatten(res.summary).items()
                        if k not in ("scenario", "seed")})
            run_rows.append(row)
            t = res.timeseries.drop(columns=["date", "time_hours"], errors="ignore").copy()
            t.insert(0, "replication", rep)
            t.insert(0, "scenario", e["name"])
            ts.append(t)
            for lst, df in ((grids, res.by_grid()), (streets, res.by_street()),
                            (cats, res.by_category())):
                df = df.copy()
                df.insert(0, "replication", rep)
                df.insert(0, "scenario", e["name"])
                lst.append(df)
    runs = pd.DataFrame(run_rows)
    runs.to_csv(out / "runs.csv", index=False)
    compare_table(runs, [e["name"] for e in entries]).to_csv(out / "comparison.csv", index=False)
    pd.concat(ts, ignore_index=True).to_parquet(out / "timeseries.parquet", index=False,
                                                compression="zstd")
    for fname, parts, keys in (("by_grid.csv", grids, ["grid", "street"]),
                               ("by_street.csv", streets, ["street", "name_zh"]),
                               ("by_category.csv", cats, ["category", "name", "name_zh",
                                                          "family", "owner"])):
        df = pd.concat(parts, ignore_index=True)
        cols = [c for c in GROUP_MEAN_COLUMNS if c in df.columns]
        mean = df.groupby(["scenario", *keys], sort=False, dropna=False)[cols].mean()
        mean = mean.reset_index()
        if "repeat_complaint_rate" in mean:  # rate of the mean counts, not mean of rates
            with np.errstate(divide="ignore", invalid="ignore"):
                mean["repeat_complaint_rate"] = np.where(
                    mean["complaints"] > 0, mean["repeat_complaints"] / mean["complaints"], 0.0)
        mean.to_csv(out / fname, index=False)
    manifest = {
        "kind": "compare",
        "command": list(command),
        "scenarios": [{"name": e["name"], "path": str(e["path"]),
                       "sha256": scenario_sha256(e["scenario"]),
                       "overrides": list(e.get("overrides", []))} for e in entries],
        "replications": len(seeds),
        "root_seed": root_seed,
        "seeds": [int(s) for s in seeds],
        "cogov_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return out


# ----------------------------------------------------------------------------- reading
def _csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"{path}: cannot read as CSV ({exc})") from None


def read_timeseries(d: Path) -> pd.DataFrame | None:
    """The time series of a compare or sweep folder, whichever way it was written:
    `timeseries.parquet` (the default), `timeseries.csv` (`--format csv`) or a sweep's
    `timeseries/run-*.parquet` parts."""
    p = d / "timeseries.parquet"
    if p.is_file():
        try:
            return pd.read_parquet(p)
        except (OSError, ValueError) as exc:
            raise UserError(f"{p}: cannot read as Parquet ({exc})") from None
    if (d / "timeseries.csv").is_file():
        return _csv(d / "timeseries.csv")
    parts = sorted((d / "timeseries").glob("run-*.parquet")) if (d / "timeseries").is_dir() \
        else []
    if parts:
        return pd.concat([pd.read_parquet(x) for x in parts], ignore_index=True)
    return None


def _read_runs(d: Path) -> pd.DataFrame | None:
    for name in ("runs.csv", "ledger.csv"):
        df = _csv(d / name)
        if df is not None:
            return df
    for name in ("runs.parquet", "ledger.parquet"):
        if (d / name).is_file():
            return pd.read_parquet(d / name)
    for pattern in ("*.sqlite", "*.sqlite3", "*.db"):
        for p in sorted(d.glob(pattern)):
            with sqlite3.connect(f"file:{p}?mode=ro", uri=True) as con:
                tables = {r[0] for r in con.execute(
                    "select name from sqlite_master where type in ('table', 'view')")}
                for t in ("runs", "ledger"):
                    if t in tables:
                        return pd.read_sql_query(f"select * from {t}", con)
    return None


def _flatten_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """A ledger that stores the summary as JSON text in one column gets it spread out."""
    for col in ("summary", "summary_json", "metrics"):
        if col in runs.columns and runs[col].dtype == object:
            spread = pd.DataFrame([flatten(json.loads(s)) if isinstance(s, str) and s else {}
                                   for s in runs[col]], index=runs.index)
            spread = spread[[c for c in spread.columns if c not in runs.columns]]
            runs = pd.concat([runs.drop(columns=[col]), spread], axis=1)
    if "scenario" not in runs.columns:
        runs = runs.assign(scenario="sweep")
    return runs


def _scenario_refs(d: Path, manifest: dict) -> list[ScenarioRef]:
    from ..scenario.loader import load_scenario, scenario_sha256

    refs = []
    for s in manifest.get("scenarios") or []:
        if isinstance(s, str):
            s = {"name": Path(s).stem, "path": s}
        ref = ScenarioRef(name=str(s.get("name", "")), path=str(s.get("path", "")),
                          sha256=str(s.get("sha256", "")),
                          overrides=list(s.get("overrides") or []))
        candidates = [Path(ref.path), d / ref.path, d / Path(ref.path).name]
        resolved = next((p for p in candidates if ref.path and p.is_file()), None)
        if resolved is None:
            ref.load_error = f"scenario file {ref.path!r} not found"
        else:
            try:
                ref.scenario = load_scenario(resolved, ref.overrides)
                ref.changed = bool(ref.sha256) and scenario_sha256(ref.scenario) != ref.sha256
            except UserError as exc:
                ref.load_error = "; ".join(exc.errors)
        refs.append(ref)
    base = manifest.get("scenario") or manifest.get("base") or manifest.get("base_scenario")
    if not refs and isinstance(base, (str, dict)):
        if isinstance(base, dict):  # a sweep: {"path", "set": {dotted.path: value}}
            sets = base.get("set") or base.get("overrides") or []
            if isinstance(sets, dict):
                sets = [f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
                        for k, v in sets.items()]
            name = (manifest.get("experiment") or {}).get("name") or \
                Path(str(base.get("path", "base"))).stem
            base = {"name": name, "path": base.get("path", ""), "overrides": sets}
        return _scenario_refs(d, {"scenarios": [base]})
    return refs


def load_results(path: str | Path) -> Results:
    """Read a `compare` or `sweep` results directory; `UserError` when it is not one."""
    d = Path(path)
    if not d.is_dir():
        raise UserError(f"{d}: not a directory: give the --out directory of `cogov compare` or "
                        f"`cogov sweep`")
    mf = d / "manifest.json"
    if not mf.is_file():
        raise UserError(f"{d}: no manifest.json: is this the output directory of "
                        f"`cogov compare` or `cogov sweep`?")
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{mf}: not valid JSON ({exc})") from None
    kind = str(manifest.get("kind", "compare"))
    res = Results(path=d, manifest=manifest, kind=kind)
    runs = _read_runs(d)
    res.runs = _flatten_runs(runs) if runs is not None else None
    res.comparison = _csv(d / "comparison.csv")
    res.timeseries = read_timeseries(d)
    res.by_grid = _csv(d / "by_grid.csv")
    res.by_street = _csv(d / "by_street.csv")
    res.by_category = _csv(d / "by_category.csv")
    sens = d / "sensitivity"
    files = sorted(d.glob("sensitivity_*.csv")) + (sorted(sens.rglob("*.csv"))
                                                   if sens.is_dir() else [])
    for p in files:
        df = _csv(p)
        if df is not None and len(df):
            key = str(p.relative_to(sens) if p.is_relative_to(sens) else p.name)
            res.sensitivity[key.removesuffix(".csv")] = df
    res.scenarios = _scenario_refs(d, manifest)
    if res.comparison is None and res.runs is not None and kind == "compare":
        res.comparison = compare_table(res.runs, [s.name for s in res.scenarios] or None)
    if kind == "compare" and res.comparison is None:
        raise UserError(f"{d}: neither comparison.csv nor runs.csv: the compare run did not "
                        f"finish; rerun `cogov compare`")
    if res.comparison is not None:
        missing = {"scenario", "metric", "mean", "ci_low", "ci_high"} - set(res.comparison)
        if missing:
            raise UserError(f"{d / 'comparison.csv'}: missing columns {sorted(missing)}")
        if not res.scenarios:
            res.scenarios = [ScenarioRef(name=n) for n in
                             dict.fromkeys(res.comparison["scenario"])]
    return res
