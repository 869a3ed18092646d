"""Subcommands `brief`, `routing import|export` and `recommend` (registered by sim/cli.py)."""

from __future__ import annotations

import sys

from ..argtypes import positive_int, seed_arg
from ..outdir import add_out_args
from ..resources import add_args as add_resource_args


def cmd_brief(args) -> int:
    from .brief import build_brief

    argv = ["cogov", "brief", args.results, "--out", args.out, "--lang", args.lang,
            *_opt("--question", args.question), *_opt("--objective", args.objective),
            *_opt("--title", args.title), *_opt("--explain", args.explain)]
    out = build_brief(args.results, args.out, lang=args.lang, question=args.question,
                      objective=args.objective, title=args.title, argv=argv,
                      force=args.force, explain_dir=args.explain)
    print(f"brief: {out} (figures as PNG and PDF in {out.parent / (out.stem + '_figures')})")
    return 0


def cmd_routing_export(args) -> int:
    from ..scenario.routing_table import export_table

    path = export_table(args.scenario, args.out, overrides=args.overrides, fmt=args.format,
                        force=args.force)
    print(f"routing table: {path}")
    return 0


def cmd_routing_import(args) -> int:
    from ..scenario.routing_table import import_table

    argv = ["cogov", "routing", "import", args.table, "--into", args.into, "--out", args.out,
            *(["--resolved"] if args.resolved else []), *_sets(args.overrides)]
    path, warnings = import_table(args.table, args.into, args.out, overrides=args.overrides,
                                  resolved=args.resolved, argv=argv, force=args.force)
    for w in warnings:
        print(f"{args.table}: warning: {w}", file=sys.stderr)
    print(f"scenario: {path} (check it with: cogov validate {path})")
    return 0


def _memory_guard(args) -> None:
    """The memory check of every command that runs models (sim/resources.py): the search's
    runs at once, and a record of each run kept."""
    from ..resources import guard
    from ..scenario.loader import load_scenario

    runs = args.budget + 2 * (args.validation_replications or 2 * args.replications) + \
        args.robust_candidates * (args.draws or 8)
    guard(load_scenario(args.scenario, args.overrides), args, "recommend",
          parallel=args.workers, runs=runs, counts="--budget, --draws, --robust-candidates")


def cmd_recommend(args) -> int:
    from ..experiments.recommend import recommend

    argv = ["cogov", "recommend", args.scenario, *_opt("--objective", args.objective),
            *_opt("--objectives", args.objectives),
            *[a for c in args.constraint for a in ("--constraint", c)],
            "--budget", str(args.budget), "--replications", str(args.replications),
            *_opt("--validation-replications", args.validation_replications),
            "--seed", str(args.seed), "--owners", args.owners, *_opt("--space", args.space),
            *_opt("--ranges", args.ranges), *_opt("--draws", args.draws),
            *_opt("--population", args.population),
            "--robust-candidates", str(args.robust_candidates), "--backend", args.backend,
            "--workers", str(args.workers), *_opt("--scheduler", args.scheduler),
            *(["--resume"] if args.resume else []), "--sampler", args.sampler,
            "--lang", args.lang,
            "--out", args.out, *_sets(args.overrides)]
    objectives = [m.strip() for m in args.objectives.split(",") if m.strip()] \
        if args.objectives else None
    _memory_guard(args)
    res = recommend(args.scenario, args.out, objective=args.objective, objectives=objectives,
                    constraints=args.constraint, budget=args.budget,
                    replications=args.replications,
                    validation_replications=args.validation_replications, seed=args.seed,
                    overrides=args.overrides, owners=args.owners, space_file=args.space,
                    ranges=args.ranges, draws=args.draws, population=args.population,
                    robust_candidates=args.robust_candidates, backend=args.backend,
                    workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                    lang=args.lang, quiet=args.quiet, sampler=args.sampler, argv=argv,
                    force=args.force)
    print(res["message"])
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
    add_out_args(p, "HTML file to write (figures go to <name>_figures/ beside it; --force "
                    "replaces an earlier brief)")
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
    add_out_args(e, "table to write: .csv, .yaml or .yml (never the scenario itself)")
    e.add_argument("--format", choices=["csv", "yaml"], default=None,
                   help="format (default: from the file name)")
    _set(e)
    e.set_defaults(func=cmd_routing_export)
    i = rsub.add_parser("import", help="build a scenario's routing from a routing table")
    i.add_argument("table", help="routing table, .csv or .yaml")
    i.add_argument("--into", required=True, help="the scenario the table applies to")
    add_out_args(i, "new scenario YAML to write (never the table or --into)")
    i.add_argument("--resolved", action="store_true",
                   help="write the whole resolved scenario instead of a small file that "
                        "`extends:` the original")
    _set(i)
    i.set_defaults(func=cmd_routing_import)

    p = sub.add_parser("recommend", help="multi-objective search for a live routing "
                                         "configuration (routing, dispatch, handback, staff)")
    p.add_argument("scenario", help="scenario YAML file (today's configuration)")
    p.add_argument("--objective", default=None,
                   help="primary objective (default: recomplaint_rate, else "
                        "citizen_repeat_rate)")
    p.add_argument("--objectives", default=None, metavar="M1,M2,...",
                   help="all objectives, primary first (default: the primary, "
                        "median_time_to_close_hours, staff_hours); directions from "
                        "sim/metrics.py")
    p.add_argument("--constraint", action="append", default=[], metavar="METRIC<=VALUE",
                   help='e.g. "staff_hours_total<=current", "on_time_rate>=90%%", '
                        '"median_time_to_close_hours<=current*1.1" (repeatable; default '
                        '"staff_hours_total<=current")')
    p.add_argument("--budget", type=positive_int, default=60,
                   help="simulation runs the search may use (default 60)")
    p.add_argument("--replications", type=positive_int, default=2,
                   help="most runs per candidate, on common seeds (default 2)")
    p.add_argument("--validation-replications", type=positive_int, default=None,
                   help="fresh runs for the before/after evidence (default: 2 x replications)")
    p.add_argument("--seed", type=seed_arg, default=2024, help="root seed of the search (>= 0)")
    p.add_argument("--owners", choices=["jurisdiction", "any", "current"],
                   default="jurisdiction",
                   help="main departments to try: those whose `jurisdiction` lists the "
                        "category's family (default), any staffed department, or none")
    p.add_argument("--space", default=None, metavar="FILE",
                   help="YAML restricting or extending the decision space "
                        "(docs/routing-table.md)")
    p.add_argument("--ranges", default=None, metavar="FILE",
                   help="YAML of uncertain parameters (dotted path: [low, high] or a "
                        "distribution) for the robustness draws")
    p.add_argument("--draws", type=positive_int, default=None,
                   help="robustness draws per front candidate (default 8 with uncertain "
                        "parameters, else 4 fresh seeds)")
    p.add_argument("--population", type=positive_int, default=None,
                   help="NSGA-II population per generation (default 8-16 by space size)")
    p.add_argument("--sampler", choices=["nsga2", "tpe"], default="nsga2",
                   help="optuna sampler: NSGA-II (default) or multi-objective TPE")
    p.add_argument("--robust-candidates", type=positive_int, default=8,
                   help="front candidates re-evaluated for robustness (default 8)")
    p.add_argument("--backend", choices=["serial", "process", "dask"], default="serial",
                   help="where runs execute (default serial; process with --workers > 1)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="parallel processes / Dask workers")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (--backend dask)")
    p.add_argument("--resume", action="store_true",
                   help="continue a killed run in --out from its ledger")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the brief")
    add_out_args(p, "output folder (new or empty; --resume continues a search there; "
                    "--force replaces an earlier one)")
    p.add_argument("--quiet", action="store_true", help="no progress")
    _set(p)
    add_resource_args(p)     # --max-memory (sim/resources.py)
    p.set_defaults(func=cmd_recommend)
