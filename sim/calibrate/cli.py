"""The `calibrate` and `validate-against` subcommands (registered by `sim/cli.py`)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..argtypes import positive_fraction, positive_int, seed_arg
from ..errors import UserError
from ..outdir import OutputDir, OutputFile, add_out_args


def calibrate_log(log: str | Path, mapping_path: str | Path, base: str | Path,
                  out: str | Path, report: str | Path | None = None, command: str = "",
                  force: bool = False):
    """Read, fit, write the calibrated scenario (and the report). Returns (Calibration, path,
    notes). Both outputs are checked before reading the log and written safely (`sim.outdir`):
    never over an input, an earlier one only with `force`."""
    inputs = [log, mapping_path, base]
    target = OutputFile(out, force=force, inputs=inputs, suffixes=(".yaml", ".yml"),
                        what="calibrated scenario")
    rtarget = (OutputDir(report, flag="--report", force=force, inputs=inputs,
                         command="calibrate --report") if report is not None else None)
    if rtarget is not None and _overlap(target.final, rtarget.final):
        raise UserError(f"--out {out} lies inside --report {report}: give the scenario a "
                        f"place outside the report folder")
    target.check()
    if rtarget is not None:
        rtarget.check()
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
    cal = fit_log(read_log(log, mapping, str(mapping_path)), base=base_scenario)
    with target as tmp:
        _, notes = write_scenario(cal, base, tmp, command)
        if rtarget is not None:
            from .report import write_calibration_report

            with rtarget as rtmp:
                write_calibration_report(cal, rtmp, target.final, notes)
    return cal, target.final, notes


def _overlap(a: Path, b: Path) -> bool:
    try:
        a.resolve().relative_to(b.resolve())
        return True
    except ValueError:
        return False


def cmd_calibrate(args) -> int:
    command = "cogov " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else ""
    cal, path, notes = calibrate_log(args.log, args.mapping, args.base, args.out, args.report,
                                     command, force=args.force)
    q = cal.log.quality
    print(f"{args.log}: {cal.quality_line()}")
    odd = [(item, n) for item, n, _ in q.rows()[2:] if n]
    if odd:
        print("data quality: " + "; ".join(f"{item} {n:,}" for item, n in odd))
    for n in cal.notes + notes:
        print(f"note: {n}")
    print(f"calibrated scenario: {path}")
    if args.report is not None:
        print(f"report: {Path(args.report) / 'index.md'}")
    return 0


def cmd_validate_against(args) -> int:
    from .mapping import load_mapping
    from .validate import validate_against

    if args.replications < 1:
        raise UserError([f"--replications {args.replications}: must be at least 1"])
    mapping = load_mapping(args.mapping)
    v, index = validate_against(args.log, mapping, str(args.mapping), args.scenario, args.out,
                                args.replications, args.seed, args.overrides, args.tolerance,
                                force=args.force)
    g = v.gof
    print(f"{args.scenario} vs {args.log}: total arrival rate "
          f"{g['total_rate_relative_error']:+.1%}, time-to-close KS {g['ttc_ks_all']:.3f}, "
          f"medians within tolerance: {g['median_ok_share_top10']:.0%} of the top 10 "
          f"categories, channel TV {g['channel_tv']:.3f}")
    for n in v.notes:
        print(f"note: {n}")
    print(f"report: {index}")
    return 0


def register(subparsers) -> None:
    """Add `calibrate` and `validate-against` to the `cogov` command."""
    p = subparsers.add_parser(
        "calibrate", help="fit a scenario to a real case log (12345/311/grid platform export)",
        description="Read a case log through a mapping, fit arrival rates, channel mix and "
                    "time-to-close distributions, and write a scenario that extends --base.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("log", help="case log (CSV, or Parquet such as cogov's own "
                                    "cases.parquet)")
    p.add_argument("--mapping", required=True, help="mapping YAML (see mappings/)")
    p.add_argument("--base", required=True, help="base scenario the calibrated one extends")
    add_out_args(p, "calibrated scenario YAML to write (never over --base, the log or the "
                    "mapping; --force replaces an earlier one, and an earlier --report)")
    p.add_argument("--report", default=None, help="directory for tables, figures and index.md")
    p.set_defaults(func=cmd_calibrate)

    p = subparsers.add_parser(
        "validate-against", help="run a calibrated scenario and compare it with the log",
        description="Run the scenario with replications and set simulated against observed "
                    "arrivals, time to close and channel mix, with goodness-of-fit measures.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("log", help="case log (CSV, or Parquet such as cogov's own "
                                    "cases.parquet)")
    p.add_argument("--mapping", required=True, help="mapping YAML used to calibrate")
    p.add_argument("--scenario", required=True, help="calibrated scenario YAML")
    add_out_args(p, "report folder (new or empty; --force replaces an earlier report)")
    p.add_argument("--replications", type=positive_int, default=3,
                   help="runs with seeds seed, seed+1..")
    p.add_argument("--seed", type=seed_arg, default=None,
                   help="first seed (default: run.seed), >= 0")
    p.add_argument("--tolerance", type=positive_fraction, default=0.25,
                   help="relative tolerance of a category's median time to close")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a scenario field (repeatable), e.g. "
                                              "--set run.horizon_days=30")
    p.set_defaults(func=cmd_validate_against)
