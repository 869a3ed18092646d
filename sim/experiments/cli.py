"""`cogov compare` and `cogov sweep` (thin: parse, call, print)."""

from __future__ import annotations

import argparse
import sys

from ..outdir import add_out_args


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def cmd_compare(args) -> int:
    from .compare import compare, print_report

    res = compare(args.scenarios, replications=args.replications, out=args.out, seed=args.seed,
                  workers=args.workers, overrides=args.overrides, quiet=args.quiet,
                  command=["cogov", *sys.argv[1:]], force=args.force, fmt=args.format)
    print_report(res, show_all=args.all)
    return 1 if res.failed else 0


def cmd_sweep(args) -> int:
    from .sweep import report, sweep

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
    """Add `compare` and `sweep` to the `cogov` command."""
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
    p.add_argument("--seed", type=int, default=None,
                   help="root seed (default: the first scenario's run.seed)")
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
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compare)

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
    p.set_defaults(func=cmd_sweep)
