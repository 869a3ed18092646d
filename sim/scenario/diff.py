"""`cogov diff A B`: every setting in which two resolved scenarios differ, and what it is.

Each differing leaf (a dotted path of the resolved scenario, defaults included) is declared in
`sim.assumptions` as one of three kinds:

- `lever`: a policy choice (routing, dispatch, assessment, staffing, ownership ...);
- `assumption`: an assumed effect size (`ASSUMED_EFFECTS`: neutral value, range in
  `scenarios/assumptions/ranges.yaml`);
- `data`: an input with a source (district, catalogue rates, channels, citizens).

A difference no declaration covers is an error: a comparison of A and B would then rest on a
setting nobody has said is a policy, an assumption or a measurement. Labelling fields (names,
display names, descriptions) are not differences. `cogov explain` groups its default factors by
the same declarations (`factor_groups`).

    cogov diff scenarios/baohe_before.yaml scenarios/baohe_after.yaml [--out DIR]

prints one row per difference (path, value in A, value in B, kind, source) and exits 0 when
every difference is declared, 1 when any is not, 2 on bad input. `--out DIR` also writes
`differences.csv` and `differences.json`.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from ..assumptions import assumed_effect, declaration, group_of, is_label

ABSENT = "(not set)"


def diff_leaves(a, b, prefix: str = "") -> list[str]:
    """Dotted paths where mappings `a` and `b` differ; recursion only where both are mappings
    (a list, or a key present on one side only, is one leaf)."""
    out = []
    for k in list(a) + [k for k in b if k not in a]:
        p = f"{prefix}{k}"
        if k not in a or k not in b:
            out.append(p)
        elif isinstance(a[k], dict) and isinstance(b[k], dict):
            out += diff_leaves(a[k], b[k], p + ".")
        elif a[k] != b[k]:
            out.append(p)
    return out


def get_path(data, path: str, default=ABSENT):
    node = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


@dataclass
class Difference:
    path: str
    value_a: object
    value_b: object
    kind: str           # "lever", "assumption", "data", or "undeclared"
    group: str          # the explain factor it belongs to ("" when undeclared)
    source: str
    what: str
    neutral: object = None   # assumptions: the neutral value

    @property
    def declared(self) -> bool:
        return self.kind != "undeclared"


def differences(a: dict, b: dict) -> list[Difference]:
    """Every non-label leaf where the resolved scenario mappings `a` and `b` differ, classified
    by its declaration (`kind` "undeclared" when none covers it)."""
    out = []
    for path in diff_leaves(a, b):
        if is_label(path):
            continue
        d = declaration(path)
        va, vb = get_path(a, path), get_path(b, path)
        if d is None:
            out.append(Difference(path, va, vb, "undeclared", "", "", "not declared in "
                                  "sim/assumptions.py (LEVERS, DATA_INPUTS or ASSUMED_EFFECTS)"))
            continue
        eff = assumed_effect(path) if d.kind == "assumption" else None
        out.append(Difference(path, va, vb, d.kind, group_of(path) or "", d.source, d.what,
                              eff.neutral if eff is not None else None))
    return out


def factor_groups(leaves: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """`cogov explain`'s default factors: differing leaves grouped by their declaration's group
    (labels left out). Returns (groups, undeclared leaves); an undeclared leaf is grouped by its
    top-level section so that explain still runs, and `cogov diff` reports it."""
    groups: dict[str, list[str]] = {}
    undeclared = []
    for leaf in leaves:
        if is_label(leaf):
            continue
        name = group_of(leaf)
        if name is None:
            undeclared.append(leaf)
            name = leaf.split(".")[0]
        groups.setdefault(name, []).append(leaf)
    return groups, undeclared


def _show(v) -> str:
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, default=str)


@dataclass
class DiffResult:
    a: str
    b: str
    rows: list[Difference]

    @property
    def undeclared(self) -> list[Difference]:
        return [r for r in self.rows if not r.declared]


def diff_scenarios(a_path, b_path, overrides=()) -> DiffResult:
    """Load and resolve both scenarios (raises UserError/ScenarioError on bad input)."""
    from .loader import load_scenario, scenario_to_dict

    sc = []
    errors = []
    for p in (a_path, b_path):
        try:
            sc.append(load_scenario(p, list(overrides)))
        except Exception as exc:   # ScenarioError / UserError: collect both files' errors
            errs = getattr(exc, "errors", None)
            if errs is None:
                raise
            errors += list(errs)
    if errors:
        from ..errors import UserError
        raise UserError(errors)
    A, B = sc
    return DiffResult(A.name, B.name, differences(scenario_to_dict(A), scenario_to_dict(B)))


def format_table(res: DiffResult, width: int = 40) -> str:
    def cut(s: str, width: int = width) -> str:
        s = s.replace("\n", " ")
        return s if len(s) <= width else s[:width - 1] + "…"

    lines = [f"{res.a} -> {res.b}: {len(res.rows)} difference(s) "
             f"({sum(r.kind == 'lever' for r in res.rows)} lever, "
             f"{sum(r.kind == 'assumption' for r in res.rows)} assumption, "
             f"{sum(r.kind == 'data' for r in res.rows)} data, "
             f"{len(res.undeclared)} undeclared)"]
    rows = [["setting", res.a, res.b, "kind", "source"]]
    for r in res.rows:
        rows.append([r.path, cut(_show(r.value_a)), cut(_show(r.value_b)), r.kind,
                     cut(r.source or r.what, 64)])
    w = [max(len(row[i]) for row in rows) for i in range(5)]
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w[j]) for j, c in enumerate(row)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * x for x in w))
    return "\n".join(lines)


CSV_COLUMNS = ("path", "kind", "value_a", "value_b", "group", "neutral", "source", "what")


def write(res: DiffResult, out: Path) -> None:
    with open(out / "differences.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in res.rows:
            d = asdict(r)
            w.writerow([_show(d[c]) if c.startswith("value") or c == "neutral" else d[c]
                        for c in CSV_COLUMNS])
    doc = {"a": res.a, "b": res.b, "undeclared": len(res.undeclared),
           "differences": [asdict(r) for r in res.rows]}
    (out / "differences.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False,
                                                     default=str) + "\n", encoding="utf-8")


def cmd_diff(args) -> int:
    from ..outdir import OutputDir

    res = diff_scenarios(args.a, args.b, args.overrides)
    if args.out:
        with OutputDir(args.out, force=args.force, inputs=[args.a, args.b],
                       command="diff") as tmp:
            write(res, Path(tmp))
    print(format_table(res))
    for r in res.undeclared:
        print(f"error: {r.path}: {res.a} {_show(r.value_a)!s} vs {res.b} {_show(r.value_b)!s} "
              f"is not declared: add it to sim/assumptions.py as a lever, an assumed effect "
              f"(with neutral value and range) or a data input with its source",
              file=sys.stderr)
    if args.out:
        print(f"results: {args.out}/differences.csv, differences.json")
    return 1 if res.undeclared else 0


def register(sub) -> None:
    """Add `diff` to the `cogov` command."""
    from ..outdir import add_out_args

    p = sub.add_parser("diff", help="every setting in which two scenarios differ: lever, "
                                    "assumption or data, and its source (exit 1 when one is "
                                    "undeclared)")
    p.add_argument("a", help="scenario YAML file A")
    p.add_argument("b", help="scenario YAML file B")
    add_out_args(p, "also write differences.csv and differences.json to this folder (new or "
                    "empty)", required=False)
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a scenario field in both (repeatable)")
    p.set_defaults(func=cmd_diff)
