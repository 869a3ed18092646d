"""Subcommands `brief`, `routing import|export` and `recommend` (registered by sim/cli.py)."""

from __future__ import annotations

import sys


def cmd_brief(args) -> int:
    from .brief import build_brief

    argv = ["cogov", "brief", args.results, "--out", args.out, "--lang", args.lang,
            *_opt("--question", args.question), *_opt("--objective", args.objective),
            *_opt("--title", args.title), *_opt("--explain", args.explain)]
    out = build_brief(args.results, args.out, lang=args.lang, question=args.question,
                      objective=args.objective, title=args.title, argv=argv,
                      explain_dir=args.explain)
    print(f"brief: {out} (figures as PNG and PDF in {out.parent / (out.stem + '_figures')})")
    return 0


def cmd_routing_export(args) -> int:
    from .routing_table import export_table

    path = export_table(args.scenario, args.out, overrides=args.overrides, fmt=args.format)
    print(f"routing table: {path}")
    return 0


def cmd_routing_import(args) -> int:
    from .routing_table import import_table

    argv = ["cogov", "routing", "import", args.table, "--into", args.into, "--out", args.out,
            *(["--resolved"] if args.resolved else []), *_sets(args.overrides)]
    path, warnings = import_table(args.table, args.into, args.out, overrides=args.overrides,
                                  resolved=args.resolved, argv=argv)
    for w in warnings:
        print(f"{args.table}: warning: {w}", file=sys.stderr)
    print(f"scenario: {path} (check it with: cogov validate {path})")
    return 0


def cmd_recommend(args) -> int:
    from .recommend import recommend

    argv = ["cogov", "recommend", args.scenario, "--objective", args.objective,
            *_opt("--direction", args.direction),
            *[a for c in args.constraint for a in ("--constraint", c)],
            "--budget", str(args.budget), "--replications", str(args.replications),
            *_opt("--validation-replications", args.validation_replications),
            "--seed", str(args.seed), "--owners", args.owners, "--lang", args.lang,
            "--out", args.out, *_sets(args.overrides)]
    recommend(args.scenario, args.out, objective=args.objective, direction=args.direction,
              constraints=args.constraint, budget=args.budget, replications=args.replications,
              validation_replications=args.validation_replications, seed=args.seed,
              overrides=args.overrides, owners=args.owners, lang=args.lang,
              workers=args.workers, quiet=args.quiet, argv=argv)
    return 0


def _opt(flag: str, value) -> list[str]:
    return [] if value is None else [flag, str(value)]


def _sets(overrides) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


def _set(p) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario field by its dotted path (repeatable)")


def register(sub) -> None:
    """Add `brief`, `routing` and `recommend` to the `cogov` subcommands."""
    p = sub.add_parser("brief", help="a self-contained HTML policy brief from compare/sweep "
                                     "results")
    p.add_argument("results", help="results directory of `cogov compare` or `cogov sweep`")
    p.add_argument("--out", required=True, help="HTML file to write (figures go to "
                                                "<name>_figures/ beside it)")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the brief")
    p.add_argument("--question", default=None, help="the question the brief answers "
                                                    "(default: generated from the scenarios)")
    p.add_argument("--objective", default=None, help="metric to lead the findings with")
    p.add_argument("--title", default=None, help="title of the page")
    p.add_argument("--explain", default=None, metavar="DIR",
                   help="a `cogov explain` output for the section \"What drives this result\" "
                        "(default: RESULTS/attribution.csv or RESULTS/explain/)")
    p.set_defaults(func=cmd_brief)

    rp = sub.add_parser("routing", help="the live routing table as a file: import, export")
    rsub = rp.add_subparsers(dest="routing_command", metavar="ACTION")
    rp.set_defaults(func=lambda args: (rp.print_help(), 2)[1])
    e = rsub.add_parser("export", help="write a scenario's routing table (CSV or YAML)")
    e.add_argument("scenario", help="scenario YAML file")
    e.add_argument("--out", required=True, help="table to write: .csv, .yaml or .yml")
    e.add_argument("--format", choices=["csv", "yaml"], default=None,
                   help="format (default: from the file name)")
    _set(e)
    e.set_defaults(func=cmd_routing_export)
    i = rsub.add_parser("import", help="build a scenario's routing from a routing table")
    i.add_argument("table", help="routing table, .csv or .yaml")
    i.add_argument("--into", required=True, help="the scenario the table applies to")
    i.add_argument("--out", required=True, help="new scenario YAML to write")
    i.add_argument("--resolved", action="store_true",
                   help="write the whole resolved scenario instead of a small file that "
                        "`extends:` the original")
    _set(i)
    i.set_defaults(func=cmd_routing_import)

    p = sub.add_parser("recommend", help="search per-category routing choices for the best "
                                         "objective under constraints")
    p.add_argument("scenario", help="scenario YAML file (the current routing)")
    p.add_argument("--objective", default="repeat_complaint_rate",
                   help="summary metric to optimise (default: repeat_complaint_rate)")
    p.add_argument("--direction", choices=["min", "max"], default=None,
                   help="minimise or maximise (default: by the metric; min when unknown)")
    p.add_argument("--constraint", action="append", default=[], metavar="METRIC<=VALUE",
                   help='e.g. "staff_hours.police<=5000" (repeatable; <=, >=, <, >)')
    p.add_argument("--budget", type=int, default=20,
                   help="candidate routings to evaluate (each with --replications runs)")
    p.add_argument("--replications", type=int, default=5,
                   help="runs per candidate, on common seeds (default 5)")
    p.add_argument("--validation-replications", type=int, default=None,
                   help="fresh runs for the before/after evidence (default: 2 x replications)")
    p.add_argument("--seed", type=int, default=2024, help="root seed of the search")
    p.add_argument("--owners", choices=["jurisdiction", "any", "current"],
                   default="jurisdiction",
                   help="main departments to try: those whose `jurisdiction` lists the "
                        "category's family (default), any staffed department, or none")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the brief")
    p.add_argument("--workers", type=int, default=1, help="parallel processes")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    _set(p)
    p.set_defaults(func=cmd_recommend)
