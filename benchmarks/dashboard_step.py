"""`python -m benchmarks.dashboard_step [--scenario YAML] [--days N] [--warm N] [--out FILE]`:
the dashboard's time for one simulated day on the shipped district (issue 26: <= 0.5 s).

One "step" of the page is what happens after STEP is pressed with "days per step" 1: the model
advances one day (`DashboardModel.step`) and the page redraws the district map and the five
charts (`sim.dashboard.components`: the figures kept per model and updated in place, then
encoded as PNG). The browser's own work (receiving and showing six images) is not in it.

With `--browser` it also serves the page (`cogov dashboard`) and times, in headless Chromium,
the click on Step until the page is idle again (busy line gone, the new day shown, every image
decoded): the day as the planner waits for it, websocket and browser included.

Measure with the compiled engine (`python setup.py build_ext --inplace`; the report says which
engine ran). It runs `--warm` days first (the figures are built then), then times `--days`
days and reports the median and the 90th percentile of wall time and of this process's CPU
time per day, for the simulation and the redraw apart, with the engine in use (compiled or
pure Python) and the load of the machine (other processes' CPU share during the run): on a
busy machine the CPU time is what the day costs on a quiet one. Writes Markdown (default
benchmarks/dashboard_step.md) and the numbers as JSON beside it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.5


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:      # pragma: no cover - not on every platform
        return None


def _quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def measure(scenario: str | Path, days: int = 20, warm: int = 3) -> dict:
    sys.path.insert(0, str(ROOT))
    import sim
    from sim.dashboard import components as C
    from sim.dashboard.model import bind, load_base

    base = load_base(scenario)
    model = bind(base)()

    def redraw():
        C.png(C.map_figure(model))
        for _, fn in C.CHARTS.values():
            C.png(fn(model))

    for _ in range(warm):
        model.step()
        redraw()
    rows = []
    load0 = _load()
    for _ in range(days):
        c0, w0 = time.process_time(), time.perf_counter()
        model.step()
        c1, w1 = time.process_time(), time.perf_counter()
        redraw()
        c2, w2 = time.process_time(), time.perf_counter()
        rows.append({"sim_wall": w1 - w0, "sim_cpu": c1 - c0, "redraw_wall": w2 - w1,
                     "redraw_cpu": c2 - c1, "day_wall": w2 - w0, "day_cpu": c2 - c0})
    load1 = _load()
    try:
        shown = Path(scenario).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        shown = str(scenario)
    out = {"scenario": shown, "grids": len(model.layout.grids),
           "streets": len(model.layout.streets), "days_timed": days, "warm_days": warm,
           "engine": str(sim.engine_info()) if hasattr(sim, "engine_info") else "?",
           "compiled": bool(getattr(sim, "engine_info", dict)().get("compiled")),
           "python": platform.python_version(), "machine": platform.machine(),
           "cpus": os.cpu_count(), "load_average": [load0, load1],
           "when": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
           "target_seconds": TARGET_S}
    for k in rows[0]:
        xs = [r[k] for r in rows]
        out[k] = {"median": statistics.median(xs), "p90": _quantile(xs, 0.9), "max": max(xs)}
    out["meets_target_cpu"] = out["day_cpu"]["median"] <= TARGET_S
    out["meets_target_wall"] = out["day_wall"]["median"] <= TARGET_S
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str | None:
    import shutil

    for cand in (os.environ.get("COGOV_CHROMIUM"), shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def measure_browser(scenario: str | Path, days: int = 10, warm: int = 2) -> dict:
    """One day as the planner sees it: `cogov dashboard` served, headless Chromium presses
    Step; the time from the click until the page is idle again (the busy line gone, the new
    day in the status line and every image decoded). Needs Chromium and playwright."""
    import signal
    import socket
    import subprocess
    import tempfile

    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    if chromium is None:
        raise RuntimeError("no Chromium (scripts/ci_install_browser.sh, or set COGOV_CHROMIUM)")
    port = _free_port()
    log = tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "sim", "dashboard", str(scenario), "--port",
                             str(port), "--host", "127.0.0.1", "--save-dir",
                             tempfile.mkdtemp()], stdout=log, stderr=subprocess.STDOUT,
                            cwd=ROOT, stdin=subprocess.DEVNULL, start_new_session=True)
    idle = ("d => !document.querySelector('.cogov-busy') && !!document.querySelector("
            "'.cogov-status') && document.querySelector("
            "'.cogov-status').innerText.startsWith('Day ' + d + ' ') && [...document."
            "querySelectorAll('img.cogov-map-image, img.cogov-chart-image')].every("
            "i => i.complete && i.naturalWidth > 100)")
    walls = []
    try:
        end = time.monotonic() + 120
        while True:
            with socket.socket() as so:
                if so.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"cogov dashboard did not start (log: {log.name})")
            time.sleep(0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=["--no-sandbox", "--disable-gpu",
                                               "--disable-dev-shm-usage"])
            try:
                page = browser.new_page(viewport={"width": 1500, "height": 2300})
                page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
                page.wait_for_function(idle, arg=0, timeout=120_000)
                step = page.locator("button.cogov-step")
                for day in range(1, warm + days + 1):
                    t0 = time.perf_counter()
                    step.click()
                    page.wait_for_function(idle, arg=day, timeout=60_000, polling=10)
                    if day > warm:
                        walls.append(time.perf_counter() - t0)
            finally:
                browser.close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)   # our own server's process group
            proc.wait(20)
    return {"median": statistics.median(walls), "p90": _quantile(walls, 0.9),
            "max": max(walls), "days": days}


def markdown(r: dict) -> str:
    def row(k, label):
        return (f"| {label} | {r[k]['median']:.3f} | {r[k]['p90']:.3f} | "
                f"{r[k.replace('wall', 'cpu')]['median']:.3f} | "
                f"{r[k.replace('wall', 'cpu')]['p90']:.3f} |")

    load = ", ".join("-" if x is None else f"{x:.1f}" for x in r["load_average"])
    return "\n".join([
        "# Dashboard: time for one simulated day",
        "",
        f"Scenario `{r['scenario']}` ({r['streets']} streets, {r['grids']} grids); "
        f"{r['days_timed']} days timed after {r['warm_days']} warm-up days; engine "
        f"{r['engine']}; Python {r['python']} on {r['cpus']} CPUs; load average at start and "
        f"end {load}; {r['when']}. Command: `python -m benchmarks.dashboard_step"
        f"{' --browser' if r.get('browser') else ''}`.",
        "",
        "| part | wall median (s) | wall p90 (s) | CPU median (s) | CPU p90 (s) |",
        "|---|---|---|---|---|",
        row("sim_wall", "simulation (one day)"),
        row("redraw_wall", "redraw (map + 5 charts, PNG)"),
        row("day_wall", "**one day (server side)**"),
        *([f"| **one day in the browser** (click Step until idle, {b['days']} days) | "
           f"{b['median']:.3f} | {b['p90']:.3f} | – | – |"] if (b := r.get("browser")) else []),
        "",
        *([] if r.get("compiled") else [
            "The engine was NOT compiled for this measurement (pure Python, 2-3x slower "
            "simulation): build it with `python setup.py build_ext --inplace` for the shipped "
            "speed.", ""]),
        f"Target <= {r['target_seconds']} s per day: "
        f"{'met' if r['meets_target_cpu'] else 'NOT met'} on CPU time (what a day costs on a "
        f"quiet machine), {'met' if r['meets_target_wall'] else 'not met'} on wall time "
        f"(inflated when other processes share the CPUs; see the load average)"
        + (f"; {'met' if b['median'] <= r['target_seconds'] else 'NOT met'} in the browser "
           f"(median {b['median']:.2f} s; the p90, {b['p90']:.2f} s, is "
           f"{'within it too' if b['p90'] <= r['target_seconds'] else 'above it'})."
           if (b := r.get("browser")) else "."),
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.dashboard_step",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baohe_after.yaml"))
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "dashboard_step.md"))
    ap.add_argument("--browser", action="store_true",
                    help="also time Step in headless Chromium against `cogov dashboard` "
                         "(needs Chromium and playwright)")
    a = ap.parse_args(argv)
    if a.days < 1 or a.warm < 0:
        print("error: --days must be >= 1 and --warm >= 0", file=sys.stderr)
        return 2
    r = measure(a.scenario, a.days, a.warm)
    if a.browser:
        r["browser"] = measure_browser(a.scenario, min(a.days, 10))
    md = markdown(r)
    out = Path(a.out)
    out.write_text(md, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    print(md)
    ok = r["meets_target_cpu"] and (not a.browser or r["browser"]["median"] <= TARGET_S)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
