"""The `cogov` command: thin (parse, call, print). Bad input exits 2 with every error listed."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__, engine_info
from .argtypes import seed_arg
from .errors import UserError
from .outdir import add_out_args
from .resources import add_args as add_resource_args

# Modules that add their own subcommands with `register(subparsers)`, if present.
COMMAND_MODULES = ("sim.experiments.cli", "sim.calibrate.cli", "sim.report.cli",
                   "sim.dashboard.cli", "sim.scenario.diff")


def _add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override any scenario field by its dotted path, type-checked "
                        "(repeatable), e.g. --set departments.police.staff=6")


def _add_format_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                   help="case log and time series as Parquet (default: cases.parquet, "
                        "timeseries.parquet) or CSV (cases.csv, timeseries.csv)")


def cmd_validate(args) -> int:
    from .resources import guard
    from .scenario.checks import load_warnings
    from .scenario.loader import load_scenario
    from .world.district import district_size

    scenario = load_scenario(args.scenario, args.overrides)
    # the district is never built here: its size comes from the spec (a 100,000-street
    # district validates in about a second)
    streets, grids, population = district_size(scenario.district)
    for w in load_warnings(scenario):
        print(f"{args.scenario}: warning: {w}", file=sys.stderr)
    guard(scenario, args, args.scenario)
    print(f"{args.scenario}: ok: scenario {scenario.name!r}, {streets:,} streets, "
          f"{grids:,} grids, {population:,} residents, "
          f"{len(scenario.catalogue)} categories, {len(scenario.departments)} departments, "
          f"routing {scenario.routing.policy}, assessment "
          f"{'+'.join(p.policy for p in scenario.assessment.policies) or 'none'}, "
          f"{scenario.run.horizon_days:g} days")
    return 0


def cmd_run(args) -> int:
    from .outdir import OutputDir
    from .resources import guard
    from .runner import run_scenario, write_outputs
    from .scenario.checks import load_warnings
    from .scenario.loader import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    for w in load_warnings(scenario):
        print(f"{args.scenario}: warning: {w}", file=sys.stderr)
    guard(scenario, args, args.scenario, quiet=args.quiet)
    from .gcpause import paused_gc

    target = OutputDir(args.out, force=args.force, inputs=[args.scenario], command="run")
    # checked and locked before the simulation starts. The cyclic collector stays off for the
    # whole run: one model has nothing for it to free, and each collection re-enabled between
    # the run, the tables and the files would walk every case record again
    with target as tmp, paused_gc():
        result = run_scenario(scenario, seed=args.seed, progress=not args.quiet)
        write_outputs(result, tmp, fmt=args.format)
    out = target.final
    from .steady import steady_state, warning

    trend_note = warning(steady_state(result.series, scenario.run.warmup_days),
                         scenario.name)
    if trend_note:
        print(f"{args.scenario}: warning: {trend_note}", file=sys.stderr)
    if not args.quiet:
        s = result.summary
        rr = s.get("recomplaint_rate")
        rr_text = "n/a (run shorter than the repeat window)" if rr is None else f"{rr:.1%}"
        print(f"{scenario.name} (seed {s['seed']}): {s['complaints']:,} complaints, "
              f"re-complaint rate {rr_text}, "
              f"{s['chase_rate']:.3f} chases per case, "
              f"{s['throughput_per_day']:.1f} cases closed/day, "
              f"median time to close {s['median_time_to_close_hours'] or 0:.1f} h, "
              f"backlog {s['backlog_end']:,} cases at the end "
              f"({s['wall_seconds']:.1f} s wall)")
        ext = args.format
        print(f"results: {out}/summary.json, cases.{ext}, timeseries.{ext} "
              f"(metrics defined in docs/metrics.md)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cogov", description="Agent-based simulator of enforcement governance: compare "
                                  "routing and assessment policies before changing the live "
                                  "system.")
    parser.add_argument("--version", action="version",
                        version=f"cogov {__version__} (engine {engine_info()['reason']})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run one scenario and write its outputs")
    p.add_argument("scenario", help="scenario YAML file")
    add_out_args(p, "output folder (new or empty; --force replaces an earlier run's outputs)")
    p.add_argument("--seed", type=seed_arg, default=None,
                   help="root seed (default: run.seed), a whole number >= 0")
    _add_format_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary line")
    _add_scenario_args(p)
    add_resource_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a scenario file; list every error")
    p.add_argument("scenario", help="scenario YAML file")
    _add_scenario_args(p)
    add_resource_args(p)
    p.set_defaults(func=cmd_validate)

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that part of cogov is not installed in this checkout
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The `cogov` command. `argv` None: the process's own arguments (the program's entry)."""
    if argv is None:
        # no command does large linear algebra: OpenBLAS's worker threads (started when numpy
        # is imported, which it is not yet) would only spin beside the simulation
        import os

        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if argv is None:
        _terminate_like_ctrl_c()
    try:
        code = int(args.func(args) or 0)
        if argv is None:
            _before_exit()
        return code
    except UserError as exc:
        for line in exc.errors:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except Terminated:
        print("terminated (SIGTERM): no output was left half written; a sweep, explain or "
              "compare --uncertainty continues with the same command and --resume",
              file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted: no output was left half written", file=sys.stderr)
        return 130
    except Exception as exc:    # a full disk or quota (sqlite's "database or disk is full")
        from .outdir import full_disk_error, is_full_disk

        if not is_full_disk(exc):
            raise
        for line in full_disk_error(exc).errors:
            print(f"error: {line}", file=sys.stderr)
        return 2


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every clean-up runs: temporary output folders are
    removed, locks released, worker pools ended (`kill PID` leaves nothing behind)."""


def _terminate_like_ctrl_c() -> None:
    import signal
    import threading

    def on_term(signum, frame):
        raise Terminated()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)


def _before_exit() -> None:
    """The command is done and the process ends next. Python's shutdown runs one last full
    cyclic collection over every live object: after a district-year (a million case records)
    that alone takes about 2 s, for memory the process hands back anyway. Moving the objects to
    the permanent generation (`gc.freeze`) leaves them out of it; nothing else changes (files are
    closed and flushed already, and reference counting still frees what it frees)."""
    import gc

    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()


if __name__ == "__main__":
    raise SystemExit(main())
