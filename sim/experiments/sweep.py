"""`cogov sweep`: run an experiment file's design, streaming every run to a resumable ledger.

Output directory:

    manifest.json          what ran (experiment, its hash, design, seeds, counts)
    experiment.yaml        the validated experiment as run
    design.csv             point, factor values (written before the first run)
    ledger.sqlite          the run ledger, one committed row per finished run (see store.py)
    timeseries/            run-<id>.parquet per run, if `outputs.timeseries: true`
    runs.csv               the ledger exported at the end (without tracebacks)
    points.csv             per design point: factor values, runs ok/failed, mean/CI per metric
    sensitivity_sobol.csv  (sobol) metric, factor, S1, S1_conf, ST, ST_conf  (+ _s2.csv)
    sensitivity_morris.csv (morris) metric, factor, mu, mu_star, mu_star_conf, sigma
    figures/               PNG and PDF

Resume rules (`--resume`): the experiment and its design must hash to what the ledger recorded
(else the sweep refuses: results would mix two experiments). Runs recorded `ok` or `error` are
kept; runs never recorded or recorded `lost` (a worker died) run again; `--retry-failed` also
reruns `error` runs. Each run's seed depends only on (root seed, point, replication), never on
order or backend, so the final ledger equals that of an uninterrupted sweep (except the timing
columns `wall_seconds` and `finished`).
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .. import __version__
from ..errors import UserError
from ..outdir import OutputDir
from ..progress import Progress
from .backends import Backend, RunTask, make_backend
from .design import Design, make_design
from .seeds import SeedPlan
from .spec import Experiment, load_experiment
from .stats import point_summary
from .store import LEDGER, Ledger, write_csv, write_part


@dataclass
class SweepResult:
    """What a sweep left in `out`, as DataFrames."""

    out: Path
    runs: pd.DataFrame
    points: pd.DataFrame
    total: int
    sobol: pd.DataFrame | None = None
    sobol_s2: pd.DataFrame | None = None
    morris: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)

    def count(self, status: str) -> int:
        return int((self.runs["status"] == status).sum()) if len(self.runs) else 0

    @property
    def failed(self) -> int:
        """Runs that did not succeed (`error` or `lost`)."""
        return len(self.runs) - self.count("ok")

    @property
    def missing(self) -> int:
        return self.total - len(self.runs)


def _check_resume(ledger: Ledger, exp: Experiment, design: Design, out: Path) -> None:
    meta = ledger.get_meta()
    if not meta:
        return
    if meta.get("experiment_sha256") != exp.sha256() or meta.get("design_sha256") != \
            design.sha256():
        raise UserError([f"{out}: the sweep there was started from a different experiment or "
                         f"base scenario ({meta.get('experiment', '?')}, changed since?): "
                         f"results would mix two experiments; restore the files or use a new "
                         f"--out"])
    if meta.get("cogov_version") != __version__:
        print(f"{out}: warning: started with cogov {meta.get('cogov_version')}, resuming with "
              f"{__version__}: runs may not be comparable", file=sys.stderr)


def _open_ledger(path: Path, names: list[str]) -> Ledger:
    """Open the run ledger; a file that is not one (corrupt, truncated) is a `UserError` and is
    left as it is."""
    import sqlite3

    try:
        ledger = Ledger(path, names)
        ledger.get_meta()
        ledger.counts()
        return ledger
    except sqlite3.DatabaseError as exc:
        from ..outdir import full_disk_error, is_full_disk

        if is_full_disk(exc) or "disk I/O" in str(exc):   # not corrupt: no room to write
            raise full_disk_error(exc, "--out", str(path.parent)) from None
        raise UserError([f"{path}: not a readable cogov run ledger ({exc}): the file is corrupt "
                         f"or not from cogov sweep; move it away to start the sweep afresh "
                         f"(finished runs in it are lost), or choose another --out"]) from None


def sweep(experiment: str | Path | Experiment, out: str | Path, backend: str | Backend = "serial",
          workers: int | None = None, scheduler: str | None = None, resume: bool = False,
          retry_failed: bool = False, quiet: bool = True,
          command: list[str] | None = None, force: bool = False) -> SweepResult:
    """Run (or resume) an experiment into directory `out`; returns the results as DataFrames.

    `backend`: "serial", "process" (`workers` local processes), "dask" (`scheduler` address or a
    LocalCluster of `workers`), or a `Backend` instance.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    design = make_design(exp)
    inputs = [exp.source if isinstance(exp.source, str) else None,
              getattr(exp, "base_path", None)]
    target = OutputDir(out, force=force and not resume, command="sweep", in_place=True,
                       inputs=inputs)      # checks the name at once
    out = target.final
    ledger_path = out / LEDGER
    if ledger_path.exists() and not resume and not force:
        raise UserError([f"--out {out}: already holds a sweep ({ledger_path}): add --resume "
                         f"to continue it, --force to start it again from nothing, or choose "
                         f"another --out"])
    target.resume = resume and ledger_path.exists()
    be = backend if isinstance(backend, Backend) else make_backend(backend, workers, scheduler)
    with target:
        return _sweep(exp, design, Path(out), be, resume, retry_failed, quiet, command)


def _sweep(exp: Experiment, design: Design, out: Path, be: Backend, resume: bool,
           retry_failed: bool, quiet: bool, command) -> SweepResult:
    ledger_path = out / LEDGER
    names = [f.name for f in exp.factors]
    ledger = _open_ledger(ledger_path, names)
    try:
        _check_resume(ledger, exp, design, out)
        R = exp.replications
        total = len(design) * R
        seeds = SeedPlan(exp.seed, R, exp.spec.common_random_numbers)
        if not ledger.get_meta():
            ledger.set_meta(experiment=exp.source, experiment_sha256=exp.sha256(),
                            design_sha256=design.sha256(), points=len(design), runs=total,
                            cogov_version=__version__,
                            created=_dt.datetime.now().astimezone().isoformat(timespec="seconds"))
            write_csv(design.points, out / "design.csv")
            (out / "experiment.yaml").write_text(
                yaml.safe_dump(exp.spec.model_dump(mode="json"), sort_keys=False,
                               allow_unicode=True), encoding="utf-8")
        _write_manifest(out, exp, design, seeds, command, ledger.counts())
        keep = ("ok",) if retry_failed else ("ok", "error")
        skip = ledger.ids(keep)
        counts = ledger.counts()
        failed = 0 if retry_failed else counts.get("error", 0)
        todo = total - len(skip)
        if not quiet:
            what = f"resuming: {len(skip)} of {total} runs already done, " if skip else ""
            print(f"sweep {exp.name}: {what}{todo} runs to go ({len(design)} design points x "
                  f"{R} replications, {exp.spec.design.kind} design, backend {be.name})",
                  file=sys.stderr)
        bar = Progress(total, f"sweep {exp.name}", enabled=False if quiet else None,
                       lines=True)
        done = len(skip)
        keep_ts = exp.spec.outputs.timeseries

        def tasks():
            for p in range(len(design)):
                values = design.values(p)
                ov = None
                for r in range(R):
                    rid = p * R + r
                    if rid in skip:
                        continue
                    ov = ov if ov is not None else tuple(exp.overrides(values))
                    yield RunTask(rid, seeds.seed(p, r), overrides=ov,
                                  label=f"{exp.source} point {p}", keep_timeseries=keep_ts)

        try:
            for task, res in be.run(tasks(), shared=exp.base_raw):
                p, r = divmod(task.run_id, R)
                row = {"run_id": task.run_id, "point": p, "replication": r, "seed": task.seed,
                       "status": res["status"], "error": res["error"], **design.values(p),
                       **res["summary"], "wall_seconds": res["wall_seconds"],
                       "traceback": res["traceback"]}
                if keep_ts and res["status"] == "ok":
                    ts = res["timeseries"]
                    for i, (k, v) in enumerate((("run_id", task.run_id), ("point", p),
                                                ("replication", r), ("seed", task.seed))):
                        ts.insert(i, k, v)
                    write_part(out / "timeseries", task.run_id, ts)
                ledger.record(row)
                done += 1
                failed += res["status"] != "ok"
                bar.update(done, failed)
        finally:
            bar.close()
        result = finalize(out, exp, design, ledger)
        _write_manifest(out, exp, design, seeds, command, ledger.counts())
        return result
    finally:
        ledger.close()


def _write_manifest(out: Path, exp: Experiment, design: Design, seeds: SeedPlan, command,
                    counts: dict) -> None:
    manifest = {
        "kind": "sweep",
        "command": command or ["cogov", "sweep", exp.source, "--out", str(out)],
        "experiment": {"name": exp.name, "path": exp.source, "sha256": exp.sha256()},
        "scenario": {"path": str(exp.base_path), "set": exp.spec.set},
        "design": exp.spec.design.model_dump(mode="json"),
        "factors": [{"name": f.name, "paths": f.paths,
                     **({"levels": f.labels} if f.is_levels else {"range": [f.low, f.high]}),
                     "integer": f.integer, "scale": f.scale} for f in exp.factors],
        "points": len(design), "replications": exp.replications,
        "runs": len(design) * exp.replications, "root_seed": exp.seed,
        "common_random_numbers": exp.spec.common_random_numbers,
        "seeds": seeds.seed_list() if exp.spec.common_random_numbers else "per run: runs.csv",
        "status": counts, "cogov_version": __version__,
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    path = out / "manifest.json"
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n",
                   encoding="utf-8")
    tmp.replace(path)


def finalize(out: Path, exp: Experiment, design: Design, ledger: Ledger) -> SweepResult:
    """Export runs.csv and points.csv, compute sensitivity indices, draw figures."""
    from .figures import morris_figure, save, sobol_figure, sweep_figures
    from .sensitivity import morris_indices, sobol_indices

    runs = ledger.read()
    total = len(design) * exp.replications
    names = [f.name for f in exp.factors]
    metrics = exp.metrics
    write_csv(runs.drop(columns=["traceback"], errors="ignore"), out / "runs.csv")
    points = point_summary(runs, names, metrics) if len(runs) else pd.DataFrame()
    write_csv(points, out / "points.csv")
    res = SweepResult(out, runs, points, total)
    figs = out / "figures"
    draw = exp.spec.outputs.figures
    if draw and len(points):
        res.figures += sweep_figures(points, exp.factors, metrics, design.kind, figs)
    d = exp.spec.design
    if len(runs) == total and d.kind == "sobol":
        s1, s2, notes = sobol_indices(design, runs, metrics, exp.seed, d.second_order)
        res.sobol, res.sobol_s2, res.notes = s1, s2, res.notes + notes
        write_csv(s1, out / "sensitivity_sobol.csv")
        if d.second_order:
            write_csv(s2, out / "sensitivity_sobol_s2.csv")
        for m in s1["metric"].unique() if draw and len(s1) else []:
            res.figures.append(save(sobol_figure(s1, m), figs / f"sobol_{m}")[0])
    elif len(runs) == total and d.kind == "morris":
        mo, notes = morris_indices(design, runs, metrics, d.num_levels, exp.seed)
        res.morris, res.notes = mo, res.notes + notes
        write_csv(mo, out / "sensitivity_morris.csv")
        for m in mo["metric"].unique() if draw and len(mo) else []:
            res.figures.append(save(morris_figure(mo, m), figs / f"morris_{m}")[0])
    elif d.kind in ("sobol", "morris"):
        res.notes.append(f"{d.kind}: sensitivity indices need every run: "
                         f"{total - len(runs)} missing (rerun with --resume)")
    return res


def report(res: SweepResult, stream=None) -> str:
    """The closing lines: counts, notes, where results are. Returns the final line."""
    stream = stream or sys.stdout
    for n in res.notes:
        print(f"note: {n}", file=stream)
    o = res.out
    files = ["runs.csv", "points.csv"]
    if res.sobol is not None:
        files.append("sensitivity_sobol.csv")
    if res.morris is not None:
        files.append("sensitivity_morris.csv")
    print(f"results: {o}/ledger.sqlite (run ledger), {', '.join(files)}", file=stream)
    if res.figures:
        print(f"figures: {o}/figures/ ({len(res.figures)} figures, PNG and PDF)", file=stream)
    ok, err, lost = res.count("ok"), res.count("error"), res.count("lost")
    line = f"{ok} of {res.total} runs ok, {res.failed} failed"
    why = []
    if err:
        why.append(f"{err} raised an error: see runs.csv `error`; after a fix rerun them with "
                   f"--resume --retry-failed")
    if lost:
        why.append(f"{lost} lost (a worker died): rerun them with --resume")
    if why:
        line += f" ({'; '.join(why)})"
    if res.missing:
        line += f", {res.missing} not run: continue with --resume"
    print(line, file=stream)
    return line
