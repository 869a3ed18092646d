"""`cogov compare`: a handful of scenarios, R replications each, with common random numbers.

Replication r of every scenario runs with the same seed, so each scenario faces the same
problems at the same times and the paired difference (scenario - first scenario, replication by
replication) isolates the policy. Output directory (read by the briefing, keep it stable):

    manifest.json     what ran: command, scenarios (name, path, sha256, overrides), seeds
    runs.csv          one row per run: scenario, replication, seed, status, error, every metric
    comparison.csv    scenario, metric, mean, ci_low, ci_high, sd, n,
                      diff_mean, diff_ci_low, diff_ci_high (vs the first scenario; paired t, 95%)
    timeseries.parquet  scenario, replication, day, and the model's time-series columns
                      (timeseries.csv with --format csv)
    by_grid.csv       scenario, grid, street, population, means over replications
    by_street.csv     scenario, street, name_zh, population, means over replications
    by_category.csv   scenario, category, name, name_zh, family, owner, means over replications
    figures/          throughput_per_day, repeat_complaint_rate (CI error bars),
                      backlog_over_time, repeats_over_time (95% bands); PNG and PDF
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__
from ..errors import UserError
from ..metrics import GROUP_LABELS, GROUPS, LEAD_METRICS, improves, metric_def
from ..outdir import OutputDir
from ..progress import Progress
from ..scenario.loader import load_scenario, scenario_sha256
from ..scenario.schema import Scenario
from .backends import Backend, ProcessBackend, RunTask, SerialBackend
from .seeds import replication_seeds
from .stats import comparison_table, numeric_metrics
from .store import write_csv, write_parquet

GROUP_KEYS = {"by_grid": ["grid", "street", "population"],
              "by_street": ["street", "name_zh", "population"],
              "by_category": ["category", "name", "name_zh", "family", "owner"]}
NOT_COMPARED = ("wall_seconds",)


@dataclass
class CompareResult:
    """Everything `compare` produced, as DataFrames (also written to `out` when given)."""

    manifest: dict
    runs: pd.DataFrame
    comparison: pd.DataFrame
    timeseries: pd.DataFrame
    by_grid: pd.DataFrame
    by_street: pd.DataFrame
    by_category: pd.DataFrame
    out: Path | None = None
    figures: list[Path] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)   # display names (display_name)

    @property
    def failed(self) -> int:
        return int((self.runs["status"] != "ok").sum())

    @property
    def scenarios(self) -> list[str]:
        return [s["name"] for s in self.manifest["scenarios"]]


def _load_all(items, overrides) -> list[tuple[str, str | None, Scenario]]:
    """Load every scenario, collecting every error of every file before raising."""
    loaded, errors = [], []
    for item in items:
        if isinstance(item, Scenario):
            sc = item
            if overrides:
                raise UserError(["compare: overrides apply to scenario files, not to Scenario "
                                 "objects (use scenario.model_copy or pass the file path)"])
            loaded.append((sc.name, None, sc))
            continue
        try:
            loaded.append((None, str(item), load_scenario(item, list(overrides))))
        except UserError as exc:
            errors += exc.errors
    if errors:
        raise UserError(errors)
    out, seen = [], set()
    for _, path, sc in loaded:
        name = sc.name
        if name in seen:
            name = f"{name}_{Path(path).stem}" if path else name
        i = 2
        while name in seen:
            name, i = f"{sc.name}_{i}", i + 1
        seen.add(name)
        out.append((name, path, sc))
    return out


def compare(scenarios: list, replications: int = 5, out: str | Path | None = None,
            seed: int | None = None, workers: int | None = 1, overrides: tuple | list = (),
            quiet: bool = True, backend: Backend | None = None,
            command: list[str] | None = None, force: bool = False,
            fmt: str = "parquet", keep: tuple = ()) -> CompareResult:
    """Run each scenario (file path or `Scenario`) `replications` times with common random
    numbers and compare them. Returns DataFrames; writes the output directory if `out` is set.

    `seed` is the root seed (default: the first scenario's `run.seed`); `workers` > 1 uses local
    processes (or pass any `backend`); `overrides` are `--set` strings applied to every file.
    `out` is checked and locked before the first run and written in one piece at the end
    (`sim.outdir`); `force` replaces an earlier output there.
    """
    if replications < 1:
        raise UserError([f"--replications {replications}: need at least 1 (5 or more for "
                         f"useful confidence intervals)"])
    if not scenarios:
        raise UserError(["compare: give at least one scenario file"])
    loaded = _load_all(scenarios, overrides)
    root = int(seed if seed is not None else loaded[0][2].run.seed)
    seeds = replication_seeds(root, replications)
    names = [n for n, _, _ in loaded]
    total = len(loaded) * replications
    if backend is None:
        n = min(workers or os.cpu_count() or 1, total)
        backend = SerialBackend() if n <= 1 else ProcessBackend(n)
    tasks, meta = [], {}
    for r in range(replications):         # replication-major: early results come in pairs
        for i, (name, _, sc) in enumerate(loaded):
            rid = r * len(loaded) + i
            tasks.append(RunTask(rid, seeds[r], scenario=sc, label=name, keep_timeseries=True,
                                 keep_groups=True))
            meta[rid] = (name, r)
    manifest = {
        "kind": "compare",
        "command": command or ["cogov", "compare", *[p or n for n, p, _ in loaded],
                               "--replications", str(replications), "--seed", str(root),
                               *[a for o in overrides for a in ("--set", o)]],
        "scenarios": [{"name": n, "path": p, "sha256": scenario_sha256(sc),
                       "overrides": list(overrides)} for n, p, sc in loaded],
        "replications": replications, "root_seed": root, "seeds": seeds,
        "warmup_days": loaded[0][2].run.warmup_days,
        "cogov_version": __version__,
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    target = (OutputDir(out, force=force, command="compare", keep=keep,
                        inputs=[p for _, p, _ in loaded if p]) if out is not None
              else contextlib.nullcontext(None))
    with target as tmp:
        results: dict = {}
        bar = Progress(total, "compare", enabled=False if quiet else None, lines=True)
        failed = 0
        for task, res in backend.run(tasks):
            results[task.run_id] = res
            failed += res["status"] != "ok"
            bar.update(len(results), failed)
        bar.close()
        result = _assemble(manifest, names, results, meta)
        result.labels = {n: sc.display_name or n for n, _, sc in loaded}
        if tmp is not None:
            write_compare(result, tmp, fmt)
            from .figures import compare_figures
            warm = loaded[0][2].run.warmup_days
            figs = compare_figures(result, tmp / "figures", warmup_days=warm)
    if out is not None:
        result.out = Path(out)
        result.figures = [result.out / "figures" / f.name for f in figs]
    return result


def _assemble(manifest, names, results, meta) -> CompareResult:
    rows, ts, groups = [], [], {k: [] for k in GROUP_KEYS}
    for rid in sorted(results, key=lambda k: (names.index(meta[k][0]), meta[k][1])):
        res = results[rid]
        name, r = meta[rid]
        rows.append({"scenario": name, "replication": r, "seed": res["seed"],
                     "status": res["status"], "error": res["error"], **res["summary"],
                     **({} if "wall_seconds" in res["summary"]
                        else {"wall_seconds": res["wall_seconds"]})})
        if res["status"] != "ok":
            continue
        t = res["timeseries"].copy()
        day = t.pop("day")
        t.insert(0, "day", day)
        t.insert(0, "replication", r)
        t.insert(0, "scenario", name)
        ts.append(t)
        for k in GROUP_KEYS:
            g = res[k].copy()
            g.insert(0, "scenario", name)
            groups[k].append(g)
    runs = pd.DataFrame(rows)
    if "wall_seconds" in runs:
        runs["wall_seconds"] = runs.pop("wall_seconds")
    comparison = comparison_table(runs, names, numeric_metrics(runs, NOT_COMPARED))
    timeseries = pd.concat(ts, ignore_index=True) if ts else pd.DataFrame()
    means = {k: _group_means(v, GROUP_KEYS[k]) for k, v in groups.items()}
    return CompareResult(manifest, runs, comparison, timeseries, means["by_grid"],
                         means["by_street"], means["by_category"])


def _group_means(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    keys = ["scenario", *[k for k in keys if k in df]]
    values = [c for c in df.columns if c not in keys and pd.api.types.is_numeric_dtype(df[c])]
    return df.groupby(keys, sort=False, dropna=False)[values].mean().reset_index()


def write_compare(result: CompareResult, out: str | Path, fmt: str = "parquet") -> Path:
    """Write the compare output directory (CSV tables, the time series as Parquet or CSV, and
    manifest.json)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result.runs, out / "runs.csv")
    write_csv(result.comparison, out / "comparison.csv")
    if fmt == "csv":
        write_csv(result.timeseries, out / "timeseries.csv")
    else:
        write_parquet(result.timeseries, out / "timeseries.parquet")
    write_csv(result.by_grid, out / "by_grid.csv")
    write_csv(result.by_street, out / "by_street.csv")
    write_csv(result.by_category, out / "by_category.csv")
    (out / "manifest.json").write_text(json.dumps(result.manifest, indent=2, ensure_ascii=False)
                                       + "\n", encoding="utf-8")
    return out


UNIT_LABELS = {"share": "%", "hours": "hours", "days": "days", "per_day": "per day",
               "cases": "cases", "complaints": "complaints", "problems": "problems",
               "staff_hours": "staff hours", "transfers": "transfers", "visits": "visits",
               "count": "count"}
BETTER_LABELS = {"lower": "lower", "higher": "higher", "": "neither"}
BOTTLENECK = 0.85     # per-department utilisation shown without --all from this load up


def _unit_code(kind: str) -> str:
    return "%" if kind == "share" else ""


def _decimals(values, unit: str) -> int:
    """Decimals that give the row's largest value three significant digits (at most 3), so
    every cell of a row has the same precision."""
    scale = 100.0 if unit == "%" else 1.0
    vals = [abs(float(v)) * scale for v in values if v is not None and not pd.isna(v)]
    big = max(vals, default=0.0)
    if big <= 0:
        return 0
    return int(min(3, max(0, 2 - math.floor(math.log10(big)))))


def _pm(mean, lo, hi, unit: str, signed: bool = False, dec: int | None = None) -> str:
    """`mean ± half-width` of a 95% CI with `dec` decimals (the row's precision: three
    significant digits of its largest value); just the mean when there is no interval."""
    if pd.isna(mean):
        return "-"
    scale = 100.0 if unit == "%" else 1.0
    if dec is None:
        dec = _decimals([mean], unit)
    sign = "+" if signed else ""
    m = mean * scale
    if pd.isna(lo) or pd.isna(hi) or hi - lo <= 0:
        return f"{m:{sign},.{dec}f}"
    half = (hi - lo) / 2 * scale
    return f"{m:{sign},.{dec}f} ± {half:,.{dec}f}"


def _shown(metric: str, g: pd.DataFrame, show_all: bool) -> bool:
    d = metric_def(metric)
    if show_all:
        return True
    if d.internal:
        return False
    head, _, dept = metric.partition(".")
    if dept:      # per-department breakdowns: only a department near or over capacity
        return head == "utilization" and bool((g["mean"] >= BOTTLENECK).any())
    return True


def _verdict(metric: str, r) -> str:
    lo, hi, m = r["diff_ci_low"], r["diff_ci_high"], r["diff_mean"]
    if pd.isna(m):
        return ""
    if pd.isna(lo) or pd.isna(hi):
        return "one run: no CI"
    if lo <= 0 <= hi:
        return "within noise"
    ok = improves(metric, m)
    if ok is None:
        return "higher" if m > 0 else "lower"
    return "better" if ok else "worse"


ARROWS = {"lower": "↓", "higher": "↑", "": ""}
COUNT_KINDS = {"cases", "complaints", "problems", "transfers", "visits", "count"}


def format_table(result: CompareResult, show_all: bool = False, columns: int | None = None
                 ) -> str:
    """The metrics a planner reads: the headline first (re-complaint rate after closure, chases
    per case, median time to close: `sim.metrics.LEAD_METRICS`), then grouped (demand, quality,
    speed, workload): label, unit, which way is better (sim/metrics.py), mean ± 95% CI per
    scenario, and the paired difference to the first scenario with a word for what it means.
    Internal counters and per-department rows are left out unless `show_all` (every row is in
    comparison.csv).

    The table fits `columns` (default: `$COLUMNS`, at least 80; widths count a Chinese
    character as two): when too wide, the unit and direction fold into the label (↓ lower is
    better, ↑ higher), then the scenarios are named A, B, ... with a legend, then labels wrap
    and the scenario columns split into blocks (sim/report/terminal.py)."""
    from ..report.terminal import fit_table, terminal_width, width, wrap

    total = columns or terminal_width()
    names = result.scenarios
    ref = names[0]
    c = result.comparison
    lab = {n: result.labels.get(n, n) for n in names}
    shown_groups = ("headline", *GROUPS)
    by_group: dict[str, list[tuple]] = {g: [] for g in shown_groups}
    hidden = 0
    for metric, g in c.groupby("metric", sort=False):
        g = g.set_index("scenario")
        if not _shown(metric, g, show_all):
            hidden += 1
            continue
        d = metric_def(metric)
        unit = _unit_code(d.kind)
        dec = _decimals([g.loc[s, "mean"] for s in names], unit)
        vals = [_pm(g.loc[s, "mean"], g.loc[s, "ci_low"], g.loc[s, "ci_high"], unit, dec=dec)
                for s in names]
        diffs = []
        for s in names[1:]:
            r = g.loc[s]
            diff = _pm(r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"], unit, True, dec)
            if unit == "%" and diff != "-":
                diff += " pp"
            diffs += [diff, _verdict(metric, r)]
        by_group["headline" if metric in LEAD_METRICS else d.group].append((d, vals, diffs))
    by_group["headline"].sort(key=lambda row: LEAD_METRICS.index(row[0].name))

    def build(fold: bool, letters: bool):
        short = {n: (chr(ord("A") + i) if i < 26 else f"S{i + 1}") if letters else lab[n]
                 for i, n in enumerate(names)}
        head = ["metric"] + ([] if fold else ["unit", "better"]) + [short[n] for n in names]
        for s in names[1:]:
            head += [f"{short[s]} - {short[ref]}" if (letters or len(names) > 2) else
                     f"difference ({short[s]} - {short[ref]})", "meaning"]
        rows, groups = [], []
        for g in shown_groups:
            for d, vals, diffs in by_group[g]:
                unit_l = UNIT_LABELS.get(d.kind, d.kind)
                shown_unit = "" if d.kind in COUNT_KINDS else f" ({unit_l})"
                label = (f"{d.en}{shown_unit} {ARROWS[d.better]}".rstrip() if fold else d.en)
                rows.append([label] + ([] if fold else [unit_l, BETTER_LABELS[d.better]])
                            + vals + diffs)
            groups.append((GROUP_LABELS[g][0], len(by_group[g])))
        first = 1 if fold else 3
        right = {i for i in range(first, len(head))
                 if i < first + len(names) or (i - first - len(names)) % 2 == 0}
        legend = []
        if fold:
            legend.append("↓ lower is better, ↑ higher is better")
        if letters:
            legend += wrap("; ".join(f"{short[n]} = {lab[n]}" for n in names), total)
        return head, rows, groups, right, legend

    out: list[str] = []
    for fold, letters in ((False, False), (True, False), (True, True)):
        head, rows, groups, right, legend = build(fold, letters)
        widths = [max(width(r[i]) for r in [head, *rows]) for i in range(len(head))]
        if 2 + sum(widths) + 2 * (len(widths) - 1) <= total or (fold and letters):
            break
    out = legend + fit_table(head, rows, groups, right, total)
    if hidden:
        out += wrap(f"({hidden} more rows: per-department staff hours and utilisation, "
                    f"internal counters; --all shows them, comparison.csv has every row)",
                    total)
    return "\n".join(out)


def noise_sentence(result: CompareResult, show_all: bool = False) -> str:
    """One sentence for how many differences are beyond random variation."""
    c = result.comparison
    d = c[c["scenario"] != result.scenarios[0]].dropna(subset=["diff_mean"])
    if not len(d):
        return "One scenario: no differences to judge."
    d = d[[_shown(m, c[c["metric"] == m].set_index("scenario"), show_all)
           for m in d["metric"]]]
    has_ci = d["diff_ci_low"].notna() & d["diff_ci_high"].notna()
    if not has_ci.any():
        return ("Each scenario ran once: no confidence intervals, so no difference can be told "
                "from random variation (use --replications 5 or more).")
    beyond = has_ci & ((d["diff_ci_low"] > 0) | (d["diff_ci_high"] < 0))
    n, k = int(has_ci.sum()), int(beyond.sum())
    if k == n:
        return "All differences below are beyond random variation at 95%."
    if k == 0:
        return ("None of the differences below is beyond random variation at 95%: "
                "the scenarios cannot be told apart with these replications.")
    return (f"{k} of {n} differences below are beyond random variation at 95%; the others "
            f"are marked 'within noise'.")


def steady_notes(result: CompareResult) -> list[str]:
    """A sentence per scenario whose backlog is still trending at the horizon (sim/steady.py),
    from the mean time series over replications."""
    from ..steady import steady_state, warning

    ts = result.timeseries
    if ts is None or not len(ts) or "scenario" not in ts:
        return []
    warm = float(result.manifest.get("warmup_days", 0.0))
    notes = []
    for name in result.scenarios:
        note = warning(steady_state(ts[ts["scenario"] == name], warm), name)
        if note:
            notes.append(note)
    return notes


def print_report(result: CompareResult, stream=None, show_all: bool = False) -> None:
    """The table, how to read it, the failures, and where everything is."""
    import sys

    from ..report.terminal import fill

    stream = stream or sys.stdout
    out = stream

    class _Wrapped:
        def write(self, text):
            out.write("\n".join(fill(x, indent=" " * (len(x) - len(x.lstrip())))
                                 if x else x for x in text.split("\n")))

    raw, stream = stream, _Wrapped()
    m = result.manifest
    n_ok = len(result.runs) - result.failed
    print(f"{len(result.scenarios)} scenarios x {m['replications']} replications "
          f"({n_ok} runs ok), common random numbers from root seed {m['root_seed']}. "
          f"Each cell is the mean ± the half-width of its 95% confidence interval; "
          f"differences are paired by replication; shares in %, their differences in "
          f"percentage points (pp).", file=stream)
    print(noise_sentence(result, show_all), file=stream)
    print(format_table(result, show_all), file=raw)
    for note in steady_notes(result):
        print(f"warning: {note}", file=stream)
    if result.failed:
        err = result.runs.loc[result.runs["status"] != "ok", "error"].iloc[0]
        print(f"{result.failed} of {len(result.runs)} runs failed (first error: {err}); "
              f"see runs.csv, column `error`", file=stream)
    if result.out is not None:
        o = result.out
        ts = "timeseries.csv" if (o / "timeseries.csv").exists() else "timeseries.parquet"
        print(f"results in {o}/:", file=stream)
        print(f"  comparison.csv (table above), runs.csv, {ts}, by_grid.csv, by_street.csv, "
              f"by_category.csv, manifest.json", file=stream)
        if result.figures:
            print(f"  figures: figures/ ({', '.join(p.name for p in result.figures)})",
                  file=stream)
