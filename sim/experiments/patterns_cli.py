"""`cogov patterns` on the command line: the parser only, so that building the command line
(every `cogov` command) does not import pandas; `sim.experiments.patterns` does the work."""

from __future__ import annotations


def _cmd_patterns(args) -> int:
    from .patterns import cmd_patterns

    return cmd_patterns(args)


def register(sub) -> None:
    from ..argtypes import seed_arg
    from ..outdir import add_out_args
    from ..resources import add_args as add_resource_args
    from .cli import _positive

    p = sub.add_parser(
        "patterns", help="check the model against published figures (targets with sources)",
        description="Run the scenarios (the first: before the reform, the second: after) R "
                    "times with common random numbers and compare each pattern of the targets "
                    "files (a published figure with an honest range and its source) with the "
                    "simulated mean and 95%% CI. Writes patterns.csv, figures/patterns.png and "
                    "the compare outputs. Exit 0 when it ran; with --strict, 1 when a pattern "
                    "is missed; 2 on bad input. See docs/input-data.md, 'Patterns'.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="one or two scenario files: before, after (or as `roles:` says)")
    p.add_argument("--targets", action="append", default=None, metavar="FILE",
                   help="targets YAML file (repeatable; default: every "
                        "scenarios/targets/*.yaml)")
    p.add_argument("--replications", "-r", type=_positive, default=3,
                   help="runs per scenario (default 3)")
    add_out_args(p, "output folder (new or empty; --force replaces an earlier output there)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a pattern is missed")
    p.add_argument("--seed", type=seed_arg, default=None,
                   help="root seed (default: the first scenario's run.seed), >= 0")
    p.add_argument("--workers", type=_positive, default=1,
                   help="parallel processes (default 1)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a field of every scenario "
                   "(repeatable), e.g. --set run.horizon_days=120")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_resource_args(p)
    p.set_defaults(func=_cmd_patterns)
