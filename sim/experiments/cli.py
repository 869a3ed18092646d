"""`cogov compare`, `cogov explain` and `cogov sweep` (thin: parse, call, print)."""

from __future__ import annotations

import argparse
import sys

from ..argtypes import seed_arg
from ..outdir import add_out_args
from ..resources import add_args as add_resource_args


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _guard_scenarios(paths, args, source: str, more_runs: int = 0, counts: str = "") -> None:
    """Validate every scenario (all errors at once) and check the resource estimate of the
    largest before anything runs."""
    from ..errors import UserError
    from ..resources import guard
    from ..scenario.loader import load_scenario

    scenarios, errors = [], []
    for path in paths:
        try:
            scenarios.append(load_scenario(path, args.overrides))
        except UserError as exc:
            errors += exc.errors
    if errors:
        raise UserError(errors)
    held = len(scenarios) * args.replications      # time series kept until the end
    guard(scenarios, args, source, parallel=args.workers or 1, runs=held + more_runs,
          quiet=args.quiet, held=held, counts=counts or "--replications")


def _guard_compare(args) -> None:
    n = len(args.scenarios) * args.replications
    draws = getattr(args, "uncertainty", None)
    _guard_scenarios(args.scenarios, args, "compare",
                     more_runs=(draws + 1) * n if draws else 0,
                     counts="--replications, --uncertainty" if draws else "--replications")


def _guard_sweep(args) -> None:
    """Validate the experiment and estimate its largest run (both ends of every factor)."""
    from ..resources import guard
    from .spec import build_scenario, load_experiment

    exp = load_experiment(args.experiment)
    scenarios = [build_scenario(exp.base_raw, (), exp.source)]
    for f in exp.factors:
        for v in f.check_values():
            scenarios.append(build_scenario(exp.base_raw, f.overrides(v), exp.source))
    from .design import make_design

    design = make_design(exp)
    runs = len(design) * exp.replications
    parallel = 1 if args.backend == "serial" else (args.workers or 2)
    guard(scenarios, args, args.experiment, parallel=parallel, runs=runs,
          quiet=args.quiet and not args.dry_run)
    if args.dry_run:
        print(f"{args.experiment}: ok: experiment {exp.name!r}, {len(design):,} design points "
              f"x {exp.replications} replications = {runs:,} runs, {design.kind} design, "
              f"factors {', '.join(f.name for f in exp.factors)}")


def cmd_compare(args) -> int:
    from .compare import compare, print_report

    _guard_compare(args)

    if args.uncertainty is None and (args.ranges or args.resume):
        from ..errors import UserError
        raise UserError([f"{'--ranges' if args.ranges else '--resume'} needs --uncertainty N "
                         f"(the number of parameter draws)"])
    if args.uncertainty is not None:
        from .robustness import check_args, default_ranges
        if args.ranges is None:
            args.ranges = default_ranges(args.scenarios)
            if args.ranges is not None and not args.quiet:
                print(f"uncertainty: using the ranges in {args.ranges} (give --ranges FILE "
                      f"for others)", file=sys.stderr)
        elif args.ranges.lower() == "none":
            args.ranges = None
        check_args(args.scenarios, args.uncertainty, args.ranges, args.overrides)
    # --resume: the comparison is written anew (same seeds, same numbers) and the draws so far
    # in OUT/uncertainty/ are carried over; --force: everything is redone
    resume = bool(args.uncertainty is not None and args.resume)
    res = compare(args.scenarios, replications=args.replications, out=args.out, seed=args.seed,
                  workers=args.workers, overrides=args.overrides, quiet=args.quiet,
                  command=["cogov", *sys.argv[1:]], force=args.force or resume, fmt=args.format,
                  keep=("uncertainty",) if resume else ())
    print_report(res, show_all=args.all)
    if args.uncertainty is not None:
        from .robustness import add_point_effects, print_robustness, robustness
        try:
            rob = robustness(args.scenarios, draws=args.uncertainty,
                             replications=args.replications, out=args.out, ranges=args.ranges,
                             seed=args.seed, workers=args.workers, overrides=args.overrides,
                             resume=args.resume, quiet=args.quiet,
                             max_memory=getattr(args, "max_memory", None), force=args.force)
        except KeyboardInterrupt:
            print(f"\ninterrupted: every finished draw is in {args.out}/uncertainty/"
                  f"ledger.sqlite; continue with the same command and --resume",
                  file=sys.stderr)
            return 130
        add_point_effects(rob, res.comparison)
        print_robustness(rob)
        return 1 if res.failed or rob.failed else 0
    return 1 if res.failed else 0


def _guard_explain(args) -> None:
    perms = getattr(args, "permutations", None) or 0    # each order runs every factor
    _guard_scenarios((args.a, args.b), args, "explain",
                     more_runs=perms * args.replications,
                     counts="--permutations, --replications" if perms else "--replications")


def cmd_explain(args) -> int:
    from .explain import explain, report

    _guard_explain(args)

    try:
        res = explain(args.a, args.b, args.out, replications=args.replications, seed=args.seed,
                      backend=args.backend, workers=args.workers, scheduler=args.scheduler,
                      overrides=args.overrides, factor_specs=args.factors,
                      permutations=args.permutations, resume=args.resume, quiet=args.quiet,
                      command=["cogov", *sys.argv[1:]], force=args.force)
    except KeyboardInterrupt:
        print(f"\ninterrupted: every finished run is in {args.out}/ledger.sqlite; continue "
              f"with the same command and --resume", file=sys.stderr)
        return 130
    report(res)
    return 1 if res.failed or res.missing else 0


def cmd_sweep(args) -> int:
    from .sweep import report, sweep

    _guard_sweep(args)
    if args.dry_run:
        return 0
    try:
        res = sweep(args.experiment, args.out, backend=args.backend, workers=args.workers,
                    scheduler=args.scheduler, resume=args.resume,
                    retry_failed=args.retry_failed, quiet=args.quiet,
                    command=["cogov", *sys.argv[1:]], force=args.force)
    except KeyboardInterrupt:
        print(f"\ninterrupted: every finished run is in {args.out}/ledger.sqlite; continue "
              f"with: cogov sweep {args.experiment} --out {args.out} --resume", file=sys.stderr)
        return 130
    report(res)
    return 1 if res.failed or res.missing else 0


def register(sub) -> None:
    """Add `compare`, `explain` and `sweep` to the `cogov` command."""
    p = sub.add_parser(
        "compare", help="run scenarios R times each (common random numbers) and compare them",
        description="Run each scenario R times with seeds from one root seed; replication r "
                    "of every scenario uses the same seed (common random numbers), so the "
                    "paired differences isolate the policy. Prints mean and 95%% CI of every "
                    "metric and each scenario's difference to the first.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario YAML files; the "
                   "first is the reference of the differences")
    p.add_argument("--replications", "-r", type=_positive, default=5,
                   help="runs per scenario (default 5)")
    add_out_args(p, "output folder (new or empty; --force replaces an earlier compare there)")
    p.add_argument("--seed", type=seed_arg, default=None,
                   help="root seed (default: the first scenario's run.seed), >= 0")
    p.add_argument("--workers", type=_positive, default=None,
                   help="parallel processes (default: CPU count; 1 = in this process)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a field of every scenario "
                   "(repeatable), e.g. --set run.horizon_days=90")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                   help="time series as timeseries.parquet (default) or timeseries.csv")
    p.add_argument("--all", action="store_true",
                   help="show every metric in the table, with per-department rows and internal "
                        "counters (comparison.csv always has them all)")
    p.add_argument("--uncertainty", type=_positive, default=None, metavar="N",
                   help="also draw N parameter sets (Latin hypercube) from the scenarios' "
                        "uncertain fields and --ranges, run every scenario under each, and "
                        "write robustness.csv (see docs/experiments.md)")
    p.add_argument("--ranges", default=None, metavar="FILE",
                   help="ranges of assumed values (dotted path: distribution + why); default: "
                        "assumptions/ranges.yaml beside the first scenario if it exists "
                        "(`none`: only the scenarios' own uncertain fields); needs "
                        "--uncertainty")
    p.add_argument("--resume", action="store_true",
                   help="with --uncertainty: continue the draws recorded in "
                        "OUT/uncertainty/ledger.sqlite")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_resource_args(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "explain", help="attribute B - A to the settings that differ (Shapley values, "
                        "interactions, waterfall figures)",
        description="Group the settings in which B differs from A into factors, run every "
                    "combination of A's and B's factor settings with common random numbers, "
                    "and split each metric's B - A into Shapley contributions that add up to "
                    "the total, with 95%% CIs over replications. Streams into a resumable "
                    "ledger like `cogov sweep`. See docs/experiments.md.")
    p.add_argument("a", metavar="A", help="the reference scenario (e.g. before the reform)")
    p.add_argument("b", metavar="B", help="the scenario to explain (e.g. after the reform)")
    p.add_argument("--replications", "-r", type=_positive, default=3,
                   help="runs per combination (default 3; 2 or more for CIs)")
    add_out_args(p, "output folder (new or empty; --resume continues an explain run there; "
                    "--force starts it again)")
    p.add_argument("--seed", type=seed_arg, default=None,
                   help="root seed (default: A's run.seed), a whole number >= 0")
    p.add_argument("--factors", action="append", default=[], metavar="NAME=PATH[,PATH...]",
                   help="group settings into a factor by dotted paths (`*` matches any key), "
                        "e.g. 'staffing=departments.*.staff' (repeatable; the rest keep the "
                        "default grouping by top-level section)")
    p.add_argument("--permutations", type=int, default=None, metavar="M",
                   help="estimate by M sampled orders instead of all 2^k combinations "
                        "(default: exact up to 8 factors, 2k orders above)")
    p.add_argument("--backend", choices=("serial", "process", "dask"), default="process",
                   help="process (default: local processes), serial or dask")
    p.add_argument("--workers", type=_positive, default=None,
                   help="processes / Dask workers (default: CPU count)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (default: start a LocalCluster)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a field of both scenarios (repeatable)")
    p.add_argument("--resume", action="store_true",
                   help="continue the explain run in --out: run only what is missing")
    p.add_argument("--quiet", action="store_true", help="no progress bar or start line")
    add_resource_args(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "sweep", help="run an experiment file (grid, lhs, sobol, morris) into a resumable "
                      "ledger",
        description="Run the design of an experiment file (experiments/*.yaml). Every "
                    "finished run is committed to DIR/ledger.sqlite at once, so an interrupted "
                    "sweep continues with --resume. Exit code 1 if any run failed.")
    p.add_argument("experiment", help="experiment YAML file")
    add_out_args(p, "output folder (new or empty; --resume continues the sweep there; "
                    "--force replaces it)")
    p.add_argument("--backend", choices=("serial", "process", "dask"), default="serial",
                   help="serial (default), process (local processes) or dask")
    p.add_argument("--workers", type=_positive, default=None,
                   help="processes / Dask workers (default: CPU count)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: start a "
                        "LocalCluster)")
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep in --out: run only what is missing or was lost")
    p.add_argument("--retry-failed", action="store_true",
                   help="with --resume, also rerun runs that raised an error")
    p.add_argument("--quiet", action="store_true", help="no progress bar or start line")
    p.add_argument("--dry-run", action="store_true",
                   help="check the experiment and print its size and resource estimate; run "
                        "nothing, write nothing")
    add_resource_args(p)
    p.set_defaults(func=cmd_sweep)

    from .patterns_cli import register as register_patterns

    register_patterns(sub)
