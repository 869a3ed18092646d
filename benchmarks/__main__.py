"""`python -m benchmarks [--quick] [--out FILE] [--parts abcd] [--scenario YAML]`.

Runs the parts of the suite (see benchmarks/cases.py), prints progress, and writes a Markdown
table (default benchmarks/results.md) and the raw numbers as JSON next to it (same name,
`.json`).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from . import ROOT
from . import cases as C


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def ver(pkg):
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "-"

    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / C.GIB
    except (ValueError, OSError, AttributeError):
        mem = float("nan")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                                capture_output=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sim"], cwd=ROOT,
                               text=True, capture_output=True).stdout.strip()
        commit = commit + (" (sim/ modified)" if dirty else "")
    except OSError:
        commit = "-"
    import sim
    return {"engine": sim.engine_info()["reason"], "cpu": cpu, "cores": os.cpu_count(),
            "memory_gib": round(mem, 1),
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "numpy": ver("numpy"), "mesa": ver("mesa"),
            "simpy": ver("simpy"), "pandas": ver("pandas"), "cogov": ver("cogov"),
            "commit": commit, "loadavg_start": _loadavg()}


def _cpu_ticks() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat (Linux)."""
    try:
        f = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7]   # user nice system irq softirq steal
    return busy / hz, sum(f) / hz


def _own_cpu() -> float:
    import resource

    ru_s, ru_c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return ru_s.ru_utime + ru_s.ru_stime + ru_c.ru_utime + ru_c.ru_stime


def other_load(start, own0: float) -> dict | None:
    """Core-seconds other processes used while the benchmark ran, and their share of the
    machine: above ~10%, timings (CPU seconds too: shared caches) are disturbed."""
    end = _cpu_ticks()
    if start is None or end is None:
        return None
    busy, total = end[0] - start[0], end[1] - start[1]
    other = max(0.0, busy - (_own_cpu() - own0))
    return {"other_core_s": round(other, 1), "other_share": round(other / total, 3)
            if total > 0 else None}


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ---------------------------------------------------------------- Markdown
def _ok(t, quick):
    if t["ok"] is None:
        return "n/a"
    word = "PASS" if t["ok"] else "FAIL"
    return f"{word} (indicative: quick sizes)" if quick else f"**{word}**"


def _fmt(v, nd=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def render(res: dict) -> str:
    quick = res["mode"] == "quick"
    m = res["machine"]
    rep = res["sizes"]["repeat"]
    cmd = "python -m benchmarks" + (" --quick" if quick else "") + (
        f" --repeat {rep}" if rep > 1 else "")
    out = [f"# cogov benchmarks ({res['mode']} mode)", "",
           f"Run {res['date']} in {res['total_s']:.0f} s with `{cmd}`.", "",
           f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; "
           f"Python {m['python']}, numpy {m['numpy']}, mesa {m['mesa']}, simpy {m['simpy']}, "
           f"pandas {m['pandas']}; cogov {m['cogov']} at {m['commit']}, engine "
           f"{m.get('engine', '-')}. Load average at start "
           f"{m['loadavg_start']}, at end {res.get('loadavg_end')}.", ""]
    busy = res.get("other_load")
    if busy and busy["other_share"] is not None:
        out += [f"Other processes used {busy['other_core_s']:,.0f} core-seconds while this ran "
                f"({busy['other_share']:.0%} of the machine)"
                + (": **the machine was busy, timings are inflated and noisy; rerun on an idle "
                   "machine before judging the targets.**" if busy["other_share"] > 0.10
                   else "."), ""]
    if quick:
        out += ["Quick mode uses small sizes so CI runs in under 2 minutes; its pass/fail marks "
                "are indicative only (the targets are for the full sizes).", ""]
    out += ["Single-core targets ((a)-(c)) are judged on the CPU seconds of the one process "
            "(= wall seconds on an idle core; less disturbed than wall time by other load, but not "
            "immune: shared caches); wall seconds are shown alongside. (d) is judged on wall "
            "time.", "",
            "## Targets", "", "| Part | Measure | Value | Target | Result |",
            "|---|---|---:|---:|---|"]
    for part in "abcde":
        for t in res.get(part, {}).get("targets", []):
            out.append(f"| ({part}) | {t['what']} | {_fmt(t['value'])} | {t['op']} "
                       f"{t['limit']:g} | {_ok(t, quick)} |")
    if "a" in res:
        a = res["a"]
        p = a["params"]
        out += ["", "## (a) M/M/c: cogov against SimPy", "",
                f"lambda = {p['lam']:g}/h, mean service {p['mean_s']:g} h, c = {p['c']}, "
                f"{p['days']} days ({p['warmup_days']} warm-up), median of {p['repeats']} "
                f"run(s) each (alternating, each in a fresh process), seeds from {p['seed']}. "
                "cogov: `scenarios/validation/mmc.yaml`, "
                "model build + run; SimPy: `benchmarks/simpy_mmc.py` (Resource + generator "
                "processes), environment build + run.", "",
                "| Implementation | Cases | CPU s | Cases / CPU s | Cases / wall s | "
                "Mean wait, h |", "|---|---:|---:|---:|---:|---:|"]
        for name in ("cogov", "simpy"):
            runs = a[name]["runs"]
            cpu = sorted(r["cpu_s"] for r in runs)[len(runs) // 2]
            out.append(f"| {name} | {a[f'{name}_cases']:,} | {cpu:.2f} | "
                       f"{a[f'{name}_cases_per_cpu_s']:,.0f} | {a[f'{name}_cases_per_s']:,.0f} | "
                       f"{a[f'{name}_mean_wait_h']:.3f} |")
        out += [f"| Erlang C | | | | | {a['erlang_c_wait_h']:.3f} |", "",
                f"Ratio cogov / SimPy: **{a['ratio']:.2f}x** on CPU time "
                f"({a['ratio_wall']:.2f}x on wall time). Mean waits "
                + ("not compared (too few cases for a stable mean)." if a["waits_agree"] is None
                   else "agree with each other and Erlang C (within 15%)." if a["waits_agree"]
                   else "DIFFER by more than 15% from Erlang C: check the two models.")]
    if "b" in res:
        b = res["b"]
        ev = (f"{b['events']:,} events, {b['events_per_cpu_s']:,.0f} events / CPU s of the run"
              if b.get("events") else "events: not counted by the model yet (`model.events`)")
        out += ["", "## (b) District-year", "",
                f"Scenario `{res['scenario']['label']}` ({res['scenario']['name']}): "
                f"{b['streets']} streets, {b['grids']:,} grids, {b['population']:,} residents, "
                f"{b['horizon_days']:g} days; mechanisms: "
                f"{', '.join(res['scenario']['mechanisms'])}.", "",
                "| Phase | CPU s | Wall s |", "|---|---:|---:|",
                f"| load scenario (not counted) | | {b['load_s']:.2f} |",
                f"| build model (draw problems) | {b['build_cpu_s']:.2f} | {b['build_s']:.2f} |",
                f"| run to horizon | {b['run_cpu_s']:.2f} | {b['run_s']:.2f} |",
                f"| summary + time series | {b['summary_cpu_s']:.2f} | {b['summary_s']:.2f} |",
                f"| **total** | **{b['cpu_s']:.2f}** | **{b['wall_s']:.2f}** |", "",
                f"{b['complaints']:,} complaints (incl. warm-up), {b['cases']:,} cases, "
                f"{b['problems']:,} problems; backlog at the end {b['backlog_end']:,} cases. "
                f"Throughput {b['work_per_cpu_s']:,.0f} complaints + cases per CPU second "
                f"({b['work_per_s']:,.0f} per wall second); {ev}. Peak RSS "
                f"{b['peak_rss'] / C.GIB:.2f} GiB ({b['rss_after_imports'] / C.GIB:.2f} GiB "
                "after imports, before the scenario is loaded)."]
        ref = b.get("reference")
        if ref and ref.get("compared"):
            out += ["", f"Against the engine before the redesign (`{ref['commit']}`, built in a "
                    "git worktree, its own scenario file, the same run settings), alternating "
                    f"in fresh processes: **{ref['ratio']:.3f}x** its CPU seconds (least of "
                    f"{len(ref['cpu_s_all'])}: {ref['cpu_s']:.2f} s now, {ref['ref_cpu_s']:.2f} "
                    "s then; all runs now "
                    + ", ".join(f"{x:.2f}" for x in ref["cpu_s_all"]) + "; then "
                    + ", ".join(f"{x:.2f}" for x in ref["ref_cpu_s_all"]) + ")."]
        elif ref:
            out += ["", f"Against `{ref['commit']}`: not compared ({ref['reason']})."]
    if "c" in res:
        c = res["c"]
        out += ["", "## (c) Scaling", "",
                "Population, grids per street and every department's staff scaled together "
                "(staff rounded, at least 1), so the load per member of staff and the queueing "
                "regime stay the same: the backlog column shows whether they do. "
                f"Measured in {c.get('rounds', 1)} round(s), each running every scale once, in "
                "order, so all scales see the same conditions of the machine; each scale keeps "
                "its least-CPU run.", "",
                "| Scale | Grids | Residents | Complaints + cases | Backlog at end | CPU s | "
                "Run CPU s | Wall s | Work / CPU s | Peak RSS, GiB |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in c["rows"]:
            out.append(f"| {r['fraction']:g} | {r['grids']:,} | {r['population']:,} | "
                       f"{r['work']:,} | {r['backlog_end']:,} | {r['cpu_s']:.2f} | "
                       f"{r['run_cpu_s']:.2f} | "
                       f"{r['wall_s']:.2f} | {r['work_per_cpu_s']:,.0f} | "
                       f"{r['peak_rss'] / C.GIB:.2f} |")
        out += ["", f"Full / eighth: cost **{c['cost_ratio']:.2f}x** CPU "
                f"({c['cost_ratio_wall']:.2f}x wall; run phase alone "
                f"{c['run_cost_ratio']:.2f}x) for {c['work_ratio']:.2f}x "
                f"the work: cost per unit of work x{c['cost_per_work_ratio']:.2f} "
                "(1.00 = linear in work)."]
        if len(c.get("round_ratios", [])) > 1:
            out += ["", "Full / eighth within each round (CPU): "
                    + ", ".join(f"{x:.2f}x" for x in c["round_ratios"])
                    + ". CPU seconds of every run, by scale: "
                    + "; ".join(f"{r['fraction']:g}: "
                                + ", ".join(f"{x:.2f}" for x in r["cpu_s_all"])
                                for r in c["rows"]) + "."]
    if "d" in res:
        d = res["d"]
        out += ["", "## (d) Sweep", "",
                f"{d['runs']} runs of the district at small scale (`{' '.join(d['overrides'])}`), "
                f"seeds from {d['seeds']}, via {d['runner']}.", "",
                "| Mode | Wall s | Runs / s |", "|---|---:|---:|",
                f"| serial | {d['serial_s']:.1f} | {d['serial_runs_per_s']:.2f} |",
                f"| {d['workers']} processes | {d['parallel_s']:.1f} | "
                f"{d['parallel_runs_per_s']:.2f} |", "",
                f"Throughput ratio **{d['ratio']:.2f}x**; results identical serial and parallel: "
                f"{d['identical_results']}."]
    if "e" in res:
        e = res["e"]
        b = e["best"]
        days = "the scenario's horizon" if e["district_days"] is None else \
            f"{e['district_days']} days"
        out += ["", "## (e) Whole processes, as a user runs them", "",
                "Each command in a fresh process, timed from start to exit (imports, "
                "simulation, summary, written outputs); the fastest of "
                f"{len(e['runs']['mmc'])} run(s) each, cogov and SimPy alternating.", "",
                "| Command | Wall s | CPU s | Peak RSS, GiB |", "|---|---:|---:|---:|",
                f"| `cogov run` district ({days}), Parquet outputs | "
                f"{b['district']['wall_s']:.2f} | {b['district']['cpu_s']:.2f} | "
                f"{b['district']['peak_rss'] / C.GIB:.2f} |",
                f"| `cogov run` M/M/c, {e['mmc_days']:,} days ({e['mmc_cases']:,} cases) | "
                f"{b['mmc']['wall_s']:.2f} | {b['mmc']['cpu_s']:.2f} | "
                f"{b['mmc']['peak_rss'] / C.GIB:.2f} |",
                f"| SimPy script, same queue (`python -m benchmarks.simpy_mmc`) | "
                f"{b['simpy']['wall_s']:.2f} | {b['simpy']['cpu_s']:.2f} | "
                f"{b['simpy']['peak_rss'] / C.GIB:.2f} |",
                f"| `cogov --help` | {b['help']['wall_s']:.2f} | {b['help']['cpu_s']:.2f} | |",
                f"| `cogov validate` district | {b['validate']['wall_s']:.2f} | "
                f"{b['validate']['cpu_s']:.2f} | |", "",
                f"SimPy / cogov, whole process: **{e['ratio']:.2f}x**. District outputs: "
                + ", ".join(f"{k} {v / 1e6:,.1f} MB" for k, v in
                            sorted(e["output_bytes"].items(), key=lambda kv: -kv[1])[:3]) + "."]
    if res.get("errors"):
        out += ["", "## Errors", ""] + [f"- ({k}) {v}" for k, v in res["errors"].items()]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (CI): about a minute")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results.md"),
                    help="Markdown table to write (JSON next to it); default %(default)s")
    ap.add_argument("--parts", default="abcde",
                    help="which parts to run, e.g. 'ab' (default abcde)")
    ap.add_argument("--scenario", default=None,
                    help="district scenario for (b)-(d) (default scenarios/baohe_after.yaml)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run the (b) district N times, and (c) in N rounds of every scale; "
                         "keep each one's least CPU time (default 1; use 3 on a noisy machine)")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    cfg = dict(C.SIZES[mode], repeat=args.repeat)
    parts = [p for p in "abcde" if p in args.parts]
    t0 = time.perf_counter()
    res: dict = {"mode": mode, "date": _dt.datetime.now().isoformat(timespec="seconds"),
                 "machine": machine(), "sizes": cfg, "errors": {}}

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    ticks0, own0 = _cpu_ticks(), _own_cpu()
    path = base = None
    if any(p in parts for p in "bcde"):
        path, label = C.district_scenario(args.scenario)
        base = C.district_base(path)
        res["scenario"] = {"path": str(path), "label": label, "name": path.stem, **base}
    for p in parts:
        try:
            if p == "a":
                res["a"] = C.part_a(cfg, log=log)
            elif p == "b":
                res["b"] = C.part_b(cfg, path, base, log=log)
            elif p == "c":
                res["c"] = C.part_c(cfg, path, base, log=log)
            elif p == "d":
                res["d"] = C.part_d(cfg, path, base, log=log)
            elif p == "e":
                res["e"] = C.part_e(cfg, path, log=log)
        except Exception as exc:  # report, go on with the other parts
            res["errors"][p] = f"{type(exc).__name__}: {exc}"
            log(f"({p}) failed: {exc}")
    res["total_s"] = time.perf_counter() - t0
    res["loadavg_end"] = _loadavg()
    res["other_load"] = other_load(ticks0, own0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(res), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(res, indent=2, default=str) + "\n",
                                        encoding="utf-8")
    log(f"wrote {out} and {out.with_suffix('.json')}")
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
