"""The `calibrate` and `validate-against` subcommands (registered by `sim/cli.py`)."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from pathlib import Path

from ..argtypes import number_or_nan, positive_fraction, positive_int, seed_arg
from ..errors import UserError
from ..outdir import OutputDir, OutputFile, add_out_args
from ..resources import add_args as add_resource_args


def calibrate_log(log: str | Path, mapping_path: str | Path, base: str | Path,
                  out: str | Path, report: str | Path | None = None, command: str = "",
                  allow_drop: bool = False, until: str | None = None,
                  behaviour: bool = False, abc_population: int | None = None,
                  abc_generations: int | None = None, seed: int = 1, workers: int = 1,
                  progress: bool = True, force: bool = False, abc_max_minutes: float = 14.0,
                  trend_beyond: float = 1.0):
    """Read, fit, write the calibrated scenario (and the report). Returns (Calibration, path,
    notes). `until`: fit on the cases created before this date only (out-of-sample checks).
    `behaviour`: also infer the behaviour parameters by ABC-SMC (`behaviour`); the posterior
    is in `cal.posterior`, its files in `report` (default: `<out stem>_report`). Both outputs
    are checked before reading the log and written safely (`sim.outdir`): never over an
    input, an earlier one only with `force`."""
    inputs = [log, mapping_path, base]
    target = OutputFile(out, force=force, inputs=inputs, suffixes=(".yaml", ".yml"),
                        what="calibrated scenario")
    if behaviour and report is None:    # the posterior's folder beside --out (as documented)
        report = Path(out).with_name(Path(out).stem + "_report")
        rflag = "--out"
    else:
        rflag = "--report"
    rtarget = (OutputDir(report, flag=rflag, force=force, inputs=inputs,
                         command="calibrate --report") if report is not None else None)
    # the ranges file beside --out (behaviour): checked, locked and written like --out
    ntarget = (OutputFile(Path(out).with_name(Path(out).stem + ".ranges.yaml"), force=force,
                          inputs=inputs, suffixes=(".yaml",), what="ranges file")
               if behaviour else None)
    if rtarget is not None and _overlap(target.final, rtarget.final):
        raise UserError(f"--out {out} lies inside --report {report}: give the scenario a "
                        f"place outside the report folder")
    target.check()
    if rtarget is not None:
        rtarget.check()
    if ntarget is not None:
        ntarget.check()
    from .demand import fit_demand
    from .fit import fit_log
    from .mapping import load_mapping
    from .read import read_log
    from .scenario_out import write_scenario

    mapping = load_mapping(mapping_path)
    if not Path(base).exists():
        raise UserError([f"{base}: base scenario not found: give an existing scenario file "
                         f"with --base"])
    from ..scenario.loader import load_scenario

    base_scenario = load_scenario(base)
    until_ts = parse_date(until, "--until") if until else None
    cal = fit_log(read_log(log, mapping, str(mapping_path), allow_drop=allow_drop,
                           until=until_ts), base=base_scenario)
    arrivals = cal.log.cases[cal.log.cases["kind"] != "duplicate"]
    demand = fit_demand(arrivals, cal.log.window_start, cal.log.window_end, trend_beyond)
    cal.notes += demand.notes
    cal.demand = demand
    extra = {"catalogue": {code: {"demand": p} for code, p in demand.profiles.items()
                           if code in cal.categories}}
    cal.posterior = None
    with target as tmp, (ntarget or contextlib.nullcontext()) as ntmp:
        _, notes = write_scenario(cal, base, tmp, command, until=until_ts, extra=extra)
        if behaviour:
            notes += _calibrate_behaviour(cal, tmp, target.final, base, command, until_ts,
                                          extra, abc_population, abc_generations, seed,
                                          workers, progress, abc_max_minutes, ranges_tmp=ntmp)
        if rtarget is not None:
            from .report import write_calibration_report

            with rtarget as rtmp:
                write_calibration_report(cal, rtmp, target.final, notes)
                if cal.posterior is not None:
                    from .behaviour import write_posterior

                    write_posterior(cal.posterior, rtmp)
    return cal, target.final, notes


def _trend_bound(text: str) -> float:
    v = number_or_nan(text)
    if not 1.0 <= v <= 10.0:
        raise argparse.ArgumentTypeError(f"{text}: give a factor from 1 (flat beyond the fit "
                                         f"window) to 10")
    return v


def _minutes(text: str) -> float:
    v = number_or_nan(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text}: give a positive number of minutes")
    return v


def _overlap(a: Path, b: Path) -> bool:
    try:
        a.resolve().relative_to(b.resolve())
        return True
    except ValueError:
        return False


def parse_date(text: str, flag: str):
    """A date or date-time given on the command line, else `UserError` naming the flag."""
    from .read import naive_time

    return naive_time(str(text), flag)     # an offset (+08:00) is converted, as in the log


def _calibrate_behaviour(cal, path, final, base, command, until_ts, extra, population,
                         generations, seed, workers, progress, max_minutes=14.0,
                         ranges_tmp=None) -> list[str]:
    """ABC-SMC on the written scenario `path`; rewrite it with the posterior means; write the
    ranges beside `final` (the posterior files are written by the caller). Returns notes."""
    import yaml

    from ..scenario.loader import load_scenario
    from . import behaviour as bh
    from .scenario_out import _merge, write_scenario

    sc = load_scenario(path)
    post, fwd = bh.infer_behaviour(cal, sc, population, generations, seed, workers, progress,
                                   max_minutes)
    cal.posterior = post
    inferred = {r.split(".")[1] for r in post.table["parameter"] if r.startswith("catalogue.")}
    rest = [c for c in cal.categories if c not in inferred]
    more = {"catalogue": {code: {"incidence_per_1000_per_year":
                                 {k: float(f"{v:.6g}") for k, v in
                                  fwd.catalogue[code].incidence_per_1000_per_year.items()}}
                          for code in cal.categories if code in fwd.catalogue},
            "citizens": {"repeat": {"max_repeats": bh.MAX_REPEATS}}}
    _merge(more, bh.overrides(post, rest))
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in extra.items()}
    _merge(merged, more)
    _, notes = write_scenario(cal, base, path, command, until=until_ts, extra=merged)
    # the 90% ranges are uncertain fields in the scenario itself (see behaviour.overrides);
    # the same ranges as a ranges file beside it, for `cogov compare --uncertainty --ranges`
    rng = Path(final).with_name(Path(final).stem + ".ranges.yaml")
    head = ("# 90% posterior ranges of `cogov calibrate --behaviour` (ABC-SMC), as a ranges "
            "file\n# (cogov compare --uncertainty N --ranges THIS_FILE)\n")
    Path(ranges_tmp or rng).write_text(
        head + yaml.safe_dump(bh.ranges(post, str(cal.log.source)), sort_keys=False,
                              allow_unicode=True), encoding="utf-8")
    return notes + post.notes + [f"behaviour: posterior written as uncertain fields (point "
                                 f"value = posterior mean); ranges file {rng}; posterior.csv "
                                 f"in the report folder"]


def cmd_calibrate(args) -> int:
    command = "cogov " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else ""
    cal, path, notes = calibrate_log(args.log, args.mapping, args.base, args.out, args.report,
                                     command, allow_drop=args.allow_drop, until=args.until,
                                     behaviour=args.behaviour,
                                     abc_population=args.abc_population,
                                     abc_generations=args.abc_generations, seed=args.seed,
                                     workers=args.workers, force=args.force,
                                     trend_beyond=args.trend_beyond,
                                     abc_max_minutes=args.abc_max_minutes)
    q = cal.log.quality
    print(f"{args.log}: {cal.quality_line()}")
    odd = [(item, n) for item, n, _ in q.rows()[2:] if n]
    if odd:
        print("data quality: " + "; ".join(f"{item} {n:,}" for item, n in odd))
    for n in cal.notes + notes:
        print(f"note: {n}")
    print(f"calibrated scenario: {path}")
    if cal.posterior is not None:
        for r in cal.posterior.table.itertuples():
            flag = "" if r.identified else "  NOT IDENTIFIED (as wide as its prior)"
            print(f"  {r.parameter}: {r.mean:.4g} (90% interval {r.q05:.4g} to {r.q95:.4g})"
                  f"{flag}")
    if args.report is not None:
        print(f"report: {Path(args.report) / 'index.md'}")
    return 0


def cmd_validate_against(args) -> int:
    from .mapping import load_mapping
    from .validate import validate_against

    if args.replications < 1:
        raise UserError([f"--replications {args.replications}: must be at least 1"])
    _memory_guard(args, args.scenario, runs=args.replications, held=args.replications)
    mapping = load_mapping(args.mapping)
    since = parse_date(args.since, "--from") if args.since else None
    until = parse_date(args.until, "--until") if args.until else None
    if since is not None and until is not None and until <= since:
        raise UserError([f"--until {args.until}: must be after --from {args.since}"])
    v, index = validate_against(args.log, mapping, str(args.mapping), args.scenario, args.out,
                                args.replications, args.seed, args.overrides, args.tolerance,
                                allow_drop=args.allow_drop, since=since, force=args.force,
                                until=until)
    print(v.summary_line(args.scenario, args.log))
    for n in v.notes:
        print(f"note: {n}")
    print(f"report: {index}")
    return 0


def _memory_guard(args, scenario_path, runs: int, held: int = 0) -> None:
    """sim/resources.py's check before reading the log: the scenario's peak, and what the
    command keeps per run (validate-against keeps each replication's case log)."""
    from ..resources import guard
    from ..scenario.loader import load_scenario

    guard(load_scenario(scenario_path, args.overrides), args, str(scenario_path), runs=runs,
          held=held, counts="--replications" if held else "")


def cmd_replay(args) -> int:
    from .mapping import load_mapping
    from .replay import replay

    target = OutputDir(args.out, force=args.force, command="replay",   # sim/outdir.py
                       inputs=[args.log, args.mapping, args.scenario])
    target.check()
    _memory_guard(args, args.scenario, runs=1)
    mapping = load_mapping(args.mapping)
    with target as tmp:
        result, counts, notes = replay(args.log, mapping, str(args.mapping), args.scenario, tmp,
                                       args.seed, args.overrides, args.follow_up_days,
                                       args.allow_drop, progress=not args.quiet, fmt=args.format)
    s = result.summary
    print(f"replayed {counts['replayed']:,} of {counts['cases']:,} logged cases through "
          f"{args.scenario} (seed {s['seed']}): {s['complaints']:,} complaints, repeat-complaint "
          f"rate {s['repeat_complaint_rate']:.1%}, median time to close "
          f"{s['median_time_to_close_hours'] or 0:.1f} h, backlog {s['backlog_end']:,} cases "
          f"at the end")
    for n in notes:
        print(f"note: {n}")
    print(f"results: {args.out}/summary.json, cases.{args.format}, replay_input.json")
    return 0


def register(subparsers) -> None:
    """Add `calibrate` and `validate-against` to the `cogov` command."""
    p = subparsers.add_parser(
        "calibrate", help="fit a scenario to a real case log (12345/311/grid platform export)",
        description="Read a case log through a mapping, fit arrival rates, channel mix and "
                    "time-to-close distributions, and write a scenario that extends --base.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("log", help="case log (CSV, .xlsx, .xls, or Parquet such as cogov's own "
                                "cases.parquet)")
    p.add_argument("--mapping", required=True, help="mapping YAML (see mappings/)")
    p.add_argument("--base", required=True, help="base scenario the calibrated one extends")
    add_out_args(p, "calibrated scenario YAML to write (never over --base, the log or the "
                    "mapping; --force replaces an earlier one, and an earlier --report)")
    p.add_argument("--report", default=None, help="directory for tables, figures and index.md")
    p.add_argument("--until", default=None, metavar="DATE",
                   help="fit on the cases created before DATE only (closures after DATE are "
                        "not known yet); validate on the rest with validate-against --from")
    p.add_argument("--trend-beyond", type=_trend_bound, default=1.0, metavar="FACTOR",
                   help="beyond the fit window the fitted trend is flat (1); a FACTOR > 1 "
                        "extrapolates it, its factor kept within [f/FACTOR, f x FACTOR] of its "
                        "value f at the window's end (at most 10)")
    p.add_argument("--allow-drop", action="store_true",
                   help="go on when over 5%% of the rows have no usable created time")
    p.add_argument("--behaviour", action="store_true",
                   help="also infer the behaviour parameters (p_resolve, patience, chance to "
                        "complain again) from the log's repeat structure by ABC-SMC (pyabc); "
                        "writes posterior.csv and plots into --report")
    p.add_argument("--abc-population", type=int, default=None, metavar="N",
                   help="ABC-SMC particles per generation (default: by log size)")
    p.add_argument("--abc-generations", type=int, default=None, metavar="G",
                   help="ABC-SMC generations at most (default 8; stops at 14 minutes)")
    p.add_argument("--abc-max-minutes", type=_minutes, default=14.0, metavar="M",
                   help="time limit of the ABC-SMC inference (held within about one "
                        "simulation: a generation still running at the limit is abandoned)")
    p.add_argument("--seed", type=int, default=1, help="seed of the ABC-SMC sampler")
    p.add_argument("--workers", type=int, default=1,
                   help="processes for ABC-SMC simulations (1 = reproducible order)")
    p.set_defaults(func=cmd_calibrate)

    p = subparsers.add_parser(
        "validate-against", help="run a calibrated scenario and compare it with the log",
        description="Run the scenario with replications and set simulated against observed "
                    "arrivals, time to close and channel mix, with goodness-of-fit measures.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("log", help="case log (CSV, .xlsx, .xls, or Parquet such as cogov's own "
                                "cases.parquet)")
    p.add_argument("--mapping", required=True, help="mapping YAML used to calibrate")
    p.add_argument("--scenario", required=True, help="calibrated scenario YAML")
    add_out_args(p, "report folder (new or empty; --force replaces an earlier report)")
    add_resource_args(p)
    p.add_argument("--replications", type=positive_int, default=3,
                   help="runs with seeds seed, seed+1..")
    p.add_argument("--seed", type=seed_arg, default=None,
                   help="first seed (default: run.seed), >= 0")
    p.add_argument("--tolerance", type=positive_fraction, default=0.20,
                   help="relative tolerance of a category's median time to close (strict: "
                        "no interval-overlap pass)")
    p.add_argument("--from", dest="since", default=None, metavar="DATE",
                   help="compare with the cases created from DATE on only (out of sample "
                        "when the scenario was calibrated with --until DATE or earlier)")
    p.add_argument("--until", default=None, metavar="DATE",
                   help="compare with the cases created before DATE only, knowing what was "
                        "known then (closures after DATE censored there), e.g. the fit window "
                        "of calibrate --until DATE: an in-sample check on the fitted rows")
    p.add_argument("--allow-drop", action="store_true",
                   help="go on when over 5%% of the rows have no usable created time")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a scenario field (repeatable), e.g. "
                                              "--set run.horizon_days=30")
    p.set_defaults(func=cmd_validate_against)

    p = subparsers.add_parser(
        "replay", help="run a scenario on a log's actual complaints instead of drawn arrivals",
        description="Each logged case becomes one problem first reported at its logged time, "
                    "category, channel and (mapped) grid; the scenario does the rest. Replay "
                    "two scenarios on one log to compare them on the same real demand.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("log", help="case log (CSV, .xlsx, .xls)")
    p.add_argument("--mapping", required=True, help="mapping YAML of the log")
    p.add_argument("--scenario", required=True, help="scenario to replay the complaints through")
    add_out_args(p, "output directory (as `cogov run`: new or empty; never over the log, the "
                    "mapping or the scenario; --force replaces an earlier replay)")
    add_resource_args(p)
    p.add_argument("--seed", type=seed_arg, default=None, help="seed (default: run.seed), >= 0")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                   help="format of the case log and time series (as `cogov run`)")
    p.add_argument("--follow-up-days", type=float, default=30.0,
                   help="days run after the last logged complaint")
    p.add_argument("--allow-drop", action="store_true",
                   help="go on when over 5%% of the rows or categories cannot be replayed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a scenario field (repeatable)")
    p.set_defaults(func=cmd_replay)
