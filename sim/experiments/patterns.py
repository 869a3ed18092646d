"""`cogov patterns`: does the model reproduce what is known about the real system?

Pattern-oriented validation (Grimm et al. 2005): a set of published figures about the system
(12345 volumes per resident, handling times, resolution and satisfaction rates, the reform
report's own counts), each with an honest range, is compared with the simulated summary
metrics of the scenarios they describe, over R replications with common random numbers.

A targets file (scenarios/targets/*.yaml) lists patterns:

    roles: {baohe_before: before, baohe_after: after}   # optional; else 1st = before, 2nd = after
    patterns:
      - id: hotline_volume_per_1000
        metric: complaints_by_channel.hotline_12345
        per: year_per_1000_residents        # as_is (default), year, year_per_1000_residents
        scenario: both                      # before, after, both, after-before
        low: 20
        high: 150
        check: mean                         # mean (default): the mean lies in [low, high];
                                            # ci: the whole 95% CI lies in it
        why_range: why these bounds (period, scope, vagueness of the source)
        constrains: [citizens.report_propensity]       # settings this pattern pins down
        source:
          title: ...
          publisher: ...
          date: 2021-03-16
          url: https://...
          quote: 热线受理总量达到1400395件         # the figure in its original language
          conversion: how the quoted figure became low/high

`per`: summary counts cover the window after warm-up (`run.horizon_days - run.warmup_days`);
`year` scales them to 365 days, `year_per_1000_residents` also divides by the district's
residents / 1,000. Shares, hours and rates are used as they are (`as_is`).

Outputs (one folder, written in one piece): the compare outputs (runs.csv, comparison.csv, ...),
`patterns.csv` (scenario, pattern, metric, low, high, simulated, ci_low, ci_high, ok, source)
and `figures/patterns.png|pdf` (one row per pattern: target range and simulated 95% CI).
"""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError

ROLES = ("before", "after")
SCOPES = ("before", "after", "both", "after-before")
PERS = ("as_is", "year", "year_per_1000_residents")
CHECKS = ("mean", "ci")
SOURCE_FIELDS = ("title", "publisher", "date", "url", "quote", "conversion")
PATTERN_FIELDS = {"id", "title", "metric", "per", "scenario", "low", "high", "check",
                  "why_range", "constrains", "source", "note"}
# per-department / per-channel metric families (the part after the dot is a name of the
# scenario's departments or channels)
DOTTED = {"staff_hours": "departments", "utilization": "departments", "queue": "departments",
          "complaints_by_channel": "channels"}
COLUMNS = ["scenario", "pattern", "metric", "low", "high", "simulated", "ci_low", "ci_high",
           "ok", "source"]


@dataclass(frozen=True)
class Source:
    title: str
    publisher: str
    date: str
    url: str
    quote: str
    conversion: str

    def cite(self) -> str:
        """One line: publisher, title, date, URL."""
        return f"{self.publisher}, {self.title} ({self.date}), {self.url}"


@dataclass(frozen=True)
class Pattern:
    id: str
    title: str
    metric: str
    per: str
    scenario: str
    low: float
    high: float
    check: str
    why_range: str
    source: Source
    file: str
    constrains: tuple[str, ...] = ()


@dataclass
class Targets:
    patterns: list[Pattern]
    roles: dict[str, str] = field(default_factory=dict)   # scenario name -> before/after
    files: list[str] = field(default_factory=list)


def default_targets() -> list[Path]:
    """The shipped targets files (scenarios/targets/*.yaml of this checkout)."""
    root = Path(__file__).resolve().parents[2] / "scenarios" / "targets"
    return sorted(root.glob("*.yaml"))


def _num(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def _known_metric(metric: str) -> bool:
    from ..metrics import METRIC_DEFS

    head, dot, tail = metric.partition(".")
    return metric in METRIC_DEFS or bool(dot and tail and head in DOTTED)


def load_targets(paths) -> Targets:
    """Read and check every targets file; every error of every file at once (`UserError`,
    exit 2), each naming the file, the pattern, the field and the fix."""
    from ..yamlsafe import read_file

    paths = [Path(p) for p in (paths or default_targets())]
    if not paths:
        raise UserError(["--targets: no targets file given and none in scenarios/targets/"])
    errors: list[str] = []
    patterns: list[Pattern] = []
    roles: dict[str, str] = {}
    seen: dict[str, str] = {}
    for path in paths:
        where = str(path)
        data = read_file(path, "targets file", "--targets")
        if not isinstance(data, dict) or not isinstance(data.get("patterns"), list):
            errors.append(f"{where}: a targets file is a mapping with a list `patterns:` "
                          f"(see docs/input-data.md, 'Patterns')")
            continue
        extra = set(data) - {"patterns", "roles", "description"}
        if extra:
            errors.append(f"{where}: unknown top-level key(s) {', '.join(sorted(extra))}; "
                          f"allowed: patterns, roles, description")
        r = data.get("roles") or {}
        if not isinstance(r, dict) or any(v not in ROLES for v in r.values()):
            errors.append(f"{where}: roles: map scenario names to before or after, e.g. "
                          f"{{baohe_before: before, baohe_after: after}}")
        else:
            roles.update({str(k): v for k, v in r.items()})
        if not data["patterns"]:
            errors.append(f"{where}: patterns: the list is empty; give at least one pattern")
        for i, item in enumerate(data["patterns"]):
            at = f"{where}: patterns[{i}]"
            if not isinstance(item, dict):
                errors.append(f"{at}: each pattern is a mapping (id, metric, scenario, low, "
                              f"high, source, ...)")
                continue
            pid = item.get("id")
            if not isinstance(pid, str) or not pid.strip():
                errors.append(f"{at}: id: give a short name (letters, digits, _)")
                pid = f"#{i}"
            else:
                at = f"{where}: pattern {pid!r}"
                if pid in seen:
                    errors.append(f"{at}: id: also used in {seen[pid]}; ids must be unique")
                seen[pid] = where
            unknown = set(item) - PATTERN_FIELDS
            if unknown:
                errors.append(f"{at}: unknown field(s) {', '.join(sorted(unknown))}; allowed: "
                              f"{', '.join(sorted(PATTERN_FIELDS))}")
            metric = item.get("metric")
            if not isinstance(metric, str) or not _known_metric(metric):
                errors.append(f"{at}: metric: {metric!r} is not a summary metric (names in "
                              f"docs/metrics.md, or staff_hours.<dept>, "
                              f"complaints_by_channel.<channel>, ...)")
            per = item.get("per", "as_is")
            if per not in PERS:
                errors.append(f"{at}: per: {per!r}; use one of {', '.join(PERS)}")
            scope = item.get("scenario")
            if scope not in SCOPES:
                errors.append(f"{at}: scenario: {scope!r}; use one of {', '.join(SCOPES)}")
            check = item.get("check", "mean")
            if check not in CHECKS:
                errors.append(f"{at}: check: {check!r}; use mean (the simulated mean lies in "
                              f"the range) or ci (the whole 95% CI does)")
            low, high = _num(item.get("low")), _num(item.get("high"))
            if low is None or high is None:
                errors.append(f"{at}: low, high: give both bounds as finite numbers (an honest "
                              f"range, in the metric's unit after `per`)")
            elif low > high:
                errors.append(f"{at}: low {low:g} > high {high:g}; swap them")
            why = item.get("why_range")
            if not isinstance(why, str) or not why.strip():
                errors.append(f"{at}: why_range: say why the bounds are where they are "
                              f"(period, scope, how vague the source is)")
            src = item.get("source")
            if not isinstance(src, dict):
                errors.append(f"{at}: source: a mapping with {', '.join(SOURCE_FIELDS)}")
                src = {}
            for f in SOURCE_FIELDS:
                v = src.get(f)
                if isinstance(v, (_dt.date, int, float)) and not isinstance(v, bool):
                    v = str(v)
                if not isinstance(v, str) or not v.strip():
                    errors.append(f"{at}: source.{f}: missing; every pattern names its source "
                                  f"(title, publisher, date, url, the quoted figure in its "
                                  f"original language, how it was converted)")
            cons = item.get("constrains") or []
            if not isinstance(cons, list) or not all(isinstance(c, str) for c in cons):
                errors.append(f"{at}: constrains: a list of dotted setting paths")
                cons = []
            if not any(e.startswith(at) for e in errors):
                s = {f: str(src[f]).strip() for f in SOURCE_FIELDS}
                patterns.append(Pattern(pid, str(item.get("title") or pid), metric, per, scope,
                                        low, high, check, why.strip(), Source(**s), where,
                                        tuple(cons)))
    if errors:
        raise UserError(errors)
    return Targets(patterns, roles, [str(p) for p in paths])


def assign_roles(names: list[str], targets: Targets) -> dict[str, str]:
    """Role (before/after) of each scenario: from the targets files' `roles`, else by
    position (the first is before, the second after)."""
    if len(names) > 2:
        raise UserError([f"patterns: give one or two scenarios (before, after), got "
                         f"{len(names)}"])
    out = {n: targets.roles[n] for n in names if n in targets.roles}
    for n, role in zip(names, ROLES, strict=False):
        if n not in out and role not in out.values():
            out[n] = role
    if len(set(out.values())) < len(out):
        raise UserError([f"patterns: two scenarios play the same role ({out}); fix `roles:` in "
                         f"the targets file"])
    return out


def _scale(p: Pattern, window_days: float, population: float) -> float:
    if p.per == "year":
        return 365.0 / window_days
    if p.per == "year_per_1000_residents":
        return 365.0 / window_days * 1000.0 / population
    return 1.0


def _check_names(patterns: list[Pattern], scenarios: dict) -> None:
    """Dotted metrics name a department or channel that exists in the scenarios."""
    errors = []
    for p in patterns:
        head, dot, tail = p.metric.partition(".")
        if dot and head in DOTTED:
            section = DOTTED[head]
            for name, sc in scenarios.items():
                known = getattr(sc, section)
                if tail not in known:
                    errors.append(f"{p.file}: pattern {p.id!r}: metric: {section[:-1]} "
                                  f"{tail!r} is not in scenario {name} (it has "
                                  f"{', '.join(known)})")
    if errors:
        raise UserError(errors)


def evaluate(runs: pd.DataFrame, targets: Targets, roles: dict[str, str],
             info: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """One row per (pattern, scenario it applies to): the simulated mean and its 95%
    t-interval over replications, in the pattern's unit. `info`: scenario -> (window days,
    residents). Differences (after-before) are paired by replication (common random
    numbers)."""
    from .stats import t_interval

    by_role = {r: n for n, r in roles.items()}
    ok_runs = runs[runs["status"] == "ok"]
    rows = []
    for p in targets.patterns:
        if p.scenario == "both":
            applies = [by_role[r] for r in ROLES if r in by_role]
        elif p.scenario == "after-before":
            applies = ["after-before"] if {"before", "after"} <= set(by_role) else []
        else:
            applies = [by_role[p.scenario]] if p.scenario in by_role else []
        for name in applies:
            if name == "after-before":
                a, b = by_role["before"], by_role["after"]
                va = _values(ok_runs, a, p, info)
                vb = _values(ok_runs, b, p, info)
                common = va.index.intersection(vb.index)
                x = (vb.loc[common] - va.loc[common]).to_numpy()
            else:
                x = _values(ok_runs, name, p, info).to_numpy()
            t = t_interval(x)
            mean, lo, hi = t["mean"], t["ci_low"], t["ci_high"]
            if not np.isfinite(mean):
                ok = False
            elif p.check == "ci" and np.isfinite(lo):
                ok = bool(p.low <= lo and hi <= p.high)
            else:
                ok = bool(p.low <= mean <= p.high)
            rows.append({"scenario": name, "pattern": p.id, "metric": p.metric, "low": p.low,
                         "high": p.high, "simulated": mean, "ci_low": lo, "ci_high": hi,
                         "ok": ok, "source": p.source.cite(), "per": p.per, "check": p.check,
                         "title": p.title, "n": t["n"]})
    return pd.DataFrame(rows, columns=[*COLUMNS, "per", "check", "title", "n"])


def _values(runs: pd.DataFrame, name: str, p: Pattern, info) -> pd.Series:
    if p.metric not in runs:
        raise UserError([f"{p.file}: pattern {p.id!r}: metric: {p.metric!r} is not in the "
                         f"runs' summary (this cogov does not compute it; see "
                         f"docs/metrics.md)"])
    r = runs[runs["scenario"] == name].set_index("replication")
    window, pop = info[name]
    return pd.to_numeric(r[p.metric], errors="coerce") * _scale(p, window, pop)


def _unit(p_per: str, metric: str) -> str:
    from .stats import unit_of

    if p_per == "year":
        return "per year"
    if p_per == "year_per_1000_residents":
        return "per 1,000 residents per year"
    return {"%": "share", "h": "hours", "/day": "per day", "": "count"}[unit_of(metric)]


def patterns_figure(table: pd.DataFrame, stem: Path, labels: dict | None = None) -> list[Path]:
    """Save `figure(table)` as STEM.png and STEM.pdf."""
    from .figures import save

    return save(figure(table, labels), stem)


def figure(table: pd.DataFrame, labels: dict | None = None, lang: str = "en"):
    """One row per (pattern, scenario): the target range as a band, the simulated 95% CI as a
    bar with its mean; green when reproduced, red when missed. Each row on its own scale (the
    range spans the middle of the row). Returns the matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report.fonts import use_cjk_font

    use_cjk_font(quiet=True)
    zh = lang == "zh"
    labels = labels or {}
    n = len(table)
    fig, ax = plt.subplots(figsize=(9.5, 0.55 * n + 1.4))
    for i, (_, r) in enumerate(table.iloc[::-1].iterrows()):
        lo, hi = r["low"], r["high"]
        span = (hi - lo) or max(abs(hi), 1.0)
        pts = [v for v in (r["simulated"], r["ci_low"], r["ci_high"]) if np.isfinite(v)]
        left = min([lo, *pts]) - 0.15 * span
        right = max([hi, *pts]) + 0.15 * span

        def x(v, left=left, right=right):
            return (v - left) / (right - left)

        ax.add_patch(plt.Rectangle((x(lo), i - 0.3), x(hi) - x(lo), 0.6, color="#c9d8ea",
                                   zorder=1))
        colour = "#2a7d3b" if r["ok"] else "#c0392b"
        if np.isfinite(r["ci_low"]):
            ax.plot([x(r["ci_low"]), x(r["ci_high"])], [i, i], color=colour, lw=3, zorder=2)
        if np.isfinite(r["simulated"]):
            ax.plot([x(r["simulated"])], [i], "o", color=colour, zorder=3)
        ax.text(1.01, i, f"{_fmt(r['simulated'])} in [{_fmt(lo)}, {_fmt(hi)}]",
                va="center", fontsize=7, transform=ax.get_yaxis_transform())
    ax.set_yticks(range(n))
    ax.set_yticklabels([f"{r['pattern']} ({labels.get(r['scenario'], r['scenario'])})"
                        for _, r in table.iloc[::-1].iterrows()], fontsize=7)
    ax.set_xticks([])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, n - 0.3)
    ok = int(table["ok"].sum())
    ax.set_title(f"模型能否重现已知事实？{n} 项中重现 {ok} 项\n"
                 f"蓝带：公开数据的范围；线段：模拟值 95% 置信区间；"
                 f"圆点：均值（绿：重现，红：未重现）" if zh else
                 f"Does the model reproduce what is known? {ok} of {n} patterns reproduced\n"
                 f"blue band: published range; bar: simulated 95% CI; dot: mean "
                 f"(green reproduced, red missed)", fontsize=9)
    fig.tight_layout()
    return fig


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "n/a"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 1:
        return f"{v:.1f}"
    return f"{v:.3f}"


@dataclass
class PatternsResult:
    table: pd.DataFrame
    targets: Targets
    compare: object
    out: Path | None = None

    @property
    def reproduced(self) -> int:
        return int(self.table["ok"].sum())

    @property
    def missed(self) -> pd.DataFrame:
        return self.table[~self.table["ok"]]


def run_patterns(scenarios: list, targets_files=None, replications: int = 3,
                 out: str | Path | None = None, seed: int | None = None, workers: int | None = 1,
                 overrides=(), quiet: bool = True, force: bool = False,
                 command: list[str] | None = None) -> PatternsResult:
    """Check the targets, run the scenarios with `compare` (common random numbers), evaluate
    every pattern, and write the compare outputs plus patterns.csv and figures/patterns.* to
    `out` (checked before the first run, written in one piece at the end)."""
    import contextlib

    from ..outdir import OutputDir
    from .compare import _load_all, compare, write_compare
    from .figures import compare_figures

    targets = load_targets(targets_files)
    loaded = _load_all(scenarios, overrides)
    names = [n for n, _, _ in loaded]
    roles = assign_roles(names, targets)
    _check_names(targets.patterns, {n: sc for n, _, sc in loaded})
    info = {n: (sc.run.horizon_days - sc.run.warmup_days, _population(sc))
            for n, _, sc in loaded}
    target = (OutputDir(out, force=force, command="patterns",
                        inputs=[*[p for _, p, _ in loaded if p], *targets.files])
              if out is not None else contextlib.nullcontext(None))
    with target as tmp:
        res = compare([sc for _, _, sc in loaded], replications=replications, seed=seed,
                      workers=workers, quiet=quiet, command=command)
        res.manifest["scenarios"] = [
            {**m, "path": p, "overrides": list(overrides)}
            for m, (_, p, _) in zip(res.manifest["scenarios"], loaded, strict=True)]
        res.manifest["kind"] = "compare"
        res.manifest["patterns"] = {"targets": targets.files, "roles": roles}
        table = evaluate(res.runs, targets, roles, info)
        if tmp is not None:
            write_compare(res, tmp)
            compare_figures(res, tmp / "figures", warmup_days=loaded[0][2].run.warmup_days)
            table[COLUMNS].to_csv(tmp / "patterns.csv", index=False)
            if len(table):
                patterns_figure(table, tmp / "figures" / "patterns", res.labels)
    result = PatternsResult(table, targets, res, Path(out) if out is not None else None)
    return result


def _population(sc) -> float:
    gen = getattr(sc.district, "generate", None)
    if gen is not None and getattr(gen, "population", None):
        return float(gen.population)
    grids = getattr(sc.district, "grids", None) or []
    return float(sum(getattr(g, "population", 0) for g in grids)) or float("nan")


def print_summary(res: PatternsResult, stream=None) -> None:
    """"N of M patterns reproduced", each miss with its range and simulated value."""
    stream = stream or sys.stdout
    t = res.table
    print(f"{res.reproduced} of {len(t)} patterns reproduced "
          f"({t['pattern'].nunique()} patterns from {len(res.targets.files)} targets file(s); "
          f"mean of {int(t['n'].max()) if len(t) else 0} replications, 95% CI)", file=stream)
    for _, r in t.iterrows():
        mark = "ok  " if r["ok"] else "MISS"
        ci = (f" (95% CI {_fmt(r['ci_low'])} to {_fmt(r['ci_high'])})"
              if np.isfinite(r["ci_low"]) else "")
        unit = _unit(r["per"], r["metric"])
        print(f"  {mark} {r['pattern']} [{r['scenario']}] {r['metric']}, {unit}: "
              f"simulated {_fmt(r['simulated'])}{ci}, target [{_fmt(r['low'])}, "
              f"{_fmt(r['high'])}]", file=stream)
    if len(res.missed):
        print("missed: " + ", ".join(f"{r['pattern']} ({r['scenario']})"
                                     for _, r in res.missed.iterrows()), file=stream)
    from .compare import steady_notes

    for note in steady_notes(res.compare):
        print(f"warning: {note}", file=stream)
    if res.out is not None:
        print(f"results: {res.out}/patterns.csv, figures/patterns.png (and the compare "
              f"outputs: comparison.csv, runs.csv, ...)", file=stream)


def cmd_patterns(args) -> int:
    from .cli import _guard_scenarios

    load_targets(args.targets)           # bad targets: exit 2 before anything runs
    _guard_scenarios(args.scenarios, args, "patterns")
    res = run_patterns(args.scenarios, args.targets, replications=args.replications,
                       out=args.out, seed=args.seed, workers=args.workers,
                       overrides=args.overrides, quiet=args.quiet, force=args.force,
                       command=["cogov", *sys.argv[1:]])
    print_summary(res)
    if res.compare.failed:
        return 1
    return 1 if args.strict and len(res.missed) else 0
