"""The decision space of `cogov recommend`, its constraints and its uncertainty draws.

A **dimension** is one decision: a name, the dotted scenario paths it sets (one, or several set
together, e.g. handback for every category of a group), and its choices (categorical) or an
integer range (staff). The default space is built from the scenario schema, and a dimension is
included only when the schema has its field, so a field added later (e.g.
`catalogue.<code>.via_platform` or `platform.triage_staff`) joins the space without a code
change:

- `owner.<code>`: the category's main department (`catalogue.<code>.owner`), among the staffed
  departments whose `jurisdiction` lists its family, for the categories that weigh most on the
  primary objective (default: the 6 largest by expected repeat contacts);
- `dispatch.<code>`: `dispatch.modes.<code>`, single or dual, for categories dispatched dual
  today (dual families or `dispatch.modes`); the police's own categories have no dual;
- `handback.<group>`: `catalogue.<code>.handback` for every category of a group (the
  category's `group`, else its family) on which the police act on site;
- `routing.policy`: today's policy or `territorial` (the street platform triages and
  dispatches), when the schema has `catalogue.<code>.via_platform` and today's is not
  territorial;
- `via_platform.<group>`: `catalogue.<code>.via_platform` per group (when the schema has it):
  through the platform's triage desk (None/True) or straight to the owner (False); it acts
  under territorial routing only;
- `staff.<dept>`: `departments.<dept>.staff`, an integer from 75% to 125% of today's, and
  `platform.triage_staff` (when the schema has it and the platform routes); a candidate's
  **headcount** (staff x
  streets for street-level teams, staff for district pools) is repaired onto the headcount
  budget (default: today's), by taking staff back from the departments that gained most.

A space file (`--space FILE`, YAML) restricts or extends it:

    defaults: true              # start from the default space (false: only what is listed)
    keep: [handback.*, owner.*] # keep only dimensions matching these patterns (fnmatch)
    drop: [staff.*]             # then drop these
    owner_categories: 10        # how many categories get an owner dimension (default 6)
    headcount_budget: 2400      # or "current" (default)
    dimensions:                 # added (or replacing a default of the same name)
      - name: handback.neighbour_dispute
        paths: [catalogue.neighbour_dispute.handback]
        choices: [false, true]
      - {name: staff.police, paths: [departments.police.staff], low: 5, high: 10}
    seeds:                      # configurations tried first (besides today's)
      - {handback.disputes: true}

Constraints: `METRIC OP VALUE` with OP one of `<= >= < >` and VALUE a number, a percentage
(`90%`) or relative to the current configuration: `current`, `current*1.05`, `current+100`,
`current-2%` (percentage points of a share).

Uncertainty draws: `{uncertain: FAMILY, ...}` fields of the scenario and a ranges file
(`--ranges FILE`, the format of scenarios/assumptions/ranges.yaml: `ranges:` of dotted path or
pattern to `{uncertain: FAMILY, ..., why: ...}`) are read by the one reader of distributions
(sim/scenario/uncertain.py, through sim/experiments/robustness.py's `load_ranges`), so
`recommend` accepts exactly what `cogov validate` and `compare --uncertainty` accept; they are
sampled by Latin hypercube (SALib) here; each draw sets those paths.
"""

from __future__ import annotations

import copy
import fnmatch
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..scenario import uncertain as UN
from ..scenario.paths import get_path, set_path
from ..scenario.schema import Scenario
from ..world.compiled import compile_demand
from ..yamlsafe import read_file

OPS = {"<=": np.less_equal, ">=": np.greater_equal, "<": np.less, ">": np.greater}


# ----------------------------------------------------------------------------- constraints
@dataclass(frozen=True)
class Constraint:
    """`metric op bound`, where bound = value, or current (op2 value) when `relative`."""

    metric: str
    op: str
    value: float
    text: str
    relative: str = ""   # "" | "=" | "*" | "+" | "-"

    def bound(self, current: float | None) -> float:
        if not self.relative:
            return self.value
        if current is None or not math.isfinite(current):
            return math.nan
        return {"=": current, "*": current * self.value, "+": current + self.value,
                "-": current - self.value}[self.relative]

    def violation(self, x: float, current: float | None = None) -> float:
        """0 when satisfied, else how far off (in the metric's units); inf when unknown."""
        b = self.bound(current)
        if not (math.isfinite(x) and math.isfinite(b)):
            return math.inf
        if OPS[self.op](x, b):
            return 0.0
        return abs(x - b) + (1e-12 if self.op in ("<", ">") else 0.0)


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def parse_constraint(text: str) -> Constraint:
    m = re.fullmatch(rf"\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*(?:(current)\s*(?:([*+-])\s*"
                     rf"({_NUM})\s*(%?))?|({_NUM})\s*(%?))\s*", text or "")
    if not m:
        raise UserError(f"--constraint {text!r}: expected METRIC OP VALUE with OP one of <=, "
                        f">=, <, > and VALUE a number, a percentage or relative to the current "
                        f"configuration, e.g. \"staff_hours_total<=current\", "
                        f"\"median_time_to_close_hours<=current*1.1\", \"on_time_rate>=90%\"")
    metric, op = m.group(1), m.group(2)
    if m.group(3):
        if m.group(4):
            v = float(m.group(5)) / (100.0 if m.group(6) else 1.0)
            return Constraint(metric, op, v, text.strip(), m.group(4))
        return Constraint(metric, op, 1.0, text.strip(), "=")
    v = float(m.group(7)) / (100.0 if m.group(8) else 1.0)
    return Constraint(metric, op, v, text.strip())


# ----------------------------------------------------------------------------- schema paths
def schema_has(path: str) -> bool:
    """Whether the scenario schema has the field at dotted `path` (dict keys and list indices
    match any key)."""
    from typing import get_args, get_origin

    from pydantic import BaseModel

    tp: object = Scenario
    for part in path.split("."):
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            f = tp.model_fields.get(part)
            if f is None:
                return False
            tp = f.annotation
            continue
        origin = get_origin(tp)
        if origin in (dict, list):
            tp = get_args(tp)[-1]
            continue
        return False
    return True


def _unwrap(tp):
    """Strip Annotated and `X | None` around a type."""
    import types
    from typing import Annotated, Union, get_args, get_origin

    while True:
        o = get_origin(tp)
        if o is Annotated:
            tp = get_args(tp)[0]
            continue
        if o in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def scenario_value(scenario: Scenario, path: str):
    node = scenario
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        else:
            node = getattr(node, part, None)
        if node is None:
            return None
    return node


# ----------------------------------------------------------------------------- dimensions
@dataclass
class Dimension:
    name: str
    paths: list[str]
    kind: str                      # "cat" | "int"
    choices: list = field(default_factory=list)
    low: int = 0
    high: int = 0
    current: object = None
    group: str = ""                # owner, dispatch, handback, via_platform, staff, other
    headcount: list[int] = field(default_factory=list)   # per path: heads per unit of value

    def distribution(self):
        import optuna

        if self.kind == "int":
            return optuna.distributions.IntDistribution(self.low, self.high)
        return optuna.distributions.CategoricalDistribution(self.choices)

    def describe(self) -> str:
        if self.kind == "int":
            return f"{self.name}: {self.low}..{self.high} (now {self.current})"
        return f"{self.name}: {' | '.join(map(str, self.choices))} (now {self.current})"


REFORM_VALUE = {"routing": "territorial", "handback": True, "dispatch": "single",
                "via_platform": True}


@dataclass
class Space:
    dims: list[Dimension]
    headcount_budget: int
    headcount_base: int            # heads outside the staff dimensions
    seeds: list[dict] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dims]

    def current(self) -> dict:
        return {d.name: d.current for d in self.dims}

    def headcount(self, config: dict) -> int:
        n = self.headcount_base
        for d in self.dims:
            if d.headcount:
                n += sum(int(config[d.name]) * h for h in d.headcount)
        return n

    def repair(self, config: dict) -> dict:
        """Project a candidate onto the headcount budget: while over it, take one staff from
        the staff dimension that gained most over today's (relative), never below its low."""
        cfg = dict(config)
        staff = [d for d in self.dims if d.headcount]
        over = self.headcount(cfg) - self.headcount_budget
        while over > 0:
            movable = [d for d in staff if cfg[d.name] > d.low]
            if not movable:
                break
            d = max(movable, key=lambda d: ((cfg[d.name] - d.current) / max(1, d.current),
                                            sum(d.headcount), d.name))
            cfg[d.name] = int(cfg[d.name]) - 1
            over -= sum(d.headcount)
        return cfg

    def levers(self) -> list[dict]:
        """Structured first candidates: each reform lever alone (every dimension of a kind at
        its reform value), then all of them together."""
        cur = self.current()
        out = []
        combo = dict(cur)
        for group, value in REFORM_VALUE.items():
            ds = [d for d in self.dims if d.group == group and value in d.choices
                  and d.current != value]
            if not ds:
                continue
            cfg = dict(cur)
            for d in ds:
                cfg[d.name] = value
                combo[d.name] = value
            out.append(cfg)
        if len(out) > 1:
            out.append(combo)
        for s in self.seeds:
            out.append({**cur, **s})
        return out


def _n_streets(scenario: Scenario) -> int:
    return compile_demand(scenario).n_streets


def category_weights(scenario: Scenario) -> dict[str, float]:
    """Expected repeat-prone contacts a year per category: which categories to search first
    (new problems from the World's demand table, `sim.world.compiled.compile_demand`)."""
    rates = compile_demand(scenario).rates()
    out = {}
    for code, cat in scenario.catalogue.items():
        n = rates[str(code)] * 365.0 * 24.0 * cat.p_report
        n *= (1.0 - cat.p_resolve) + cat.recurrence_prob + 0.1 * cat.police_on_site
        out[code] = n
    return out


def owner_choices(scenario: Scenario, code: str, owners: str = "jurisdiction") -> list[str]:
    cat = scenario.catalogue[code]
    staffed = [c for c, d in scenario.departments.items() if d.staff > 0]
    if owners == "current":
        return [cat.owner]
    if owners == "any":
        return [cat.owner] + [c for c in staffed if c != cat.owner]
    return [cat.owner] + [c for c in staffed if c != cat.owner
                          and cat.family in scenario.departments[c].jurisdiction]


def _group_of(cat) -> str:
    return cat.group or cat.family


def default_space(scenario: Scenario, owners: str = "jurisdiction", owner_categories: int = 6,
                  staff: bool = True) -> list[Dimension]:
    """The default decision space of a scenario (see the module docstring)."""
    dims: list[Dimension] = []
    cats = scenario.catalogue
    police = next((c for c, d in scenario.departments.items() if d.is_police), None)
    weights = category_weights(scenario)
    # owners: the heaviest categories with a choice
    if schema_has("catalogue.x.owner") and owner_categories > 0:
        n = 0
        for code in sorted(cats, key=lambda c: (-weights.get(c, 0.0), c)):
            ch = owner_choices(scenario, code, owners)
            if len(ch) < 2:
                continue
            dims.append(Dimension(f"owner.{code}", [f"catalogue.{code}.owner"], "cat", ch,
                                  current=cats[code].owner, group="owner"))
            n += 1
            if n >= owner_categories:
                break
    # dispatch: categories dispatched dual today (and not owned by the police)
    if schema_has("dispatch.modes.x") and police:
        from ..scenario.routing_table import default_mode

        for code, cat in cats.items():
            mode = scenario.dispatch.modes.get(code, default_mode(scenario, code))
            if mode == "dual" and cat.owner != police:
                dims.append(Dimension(f"dispatch.{code}", [f"dispatch.modes.{code}"], "cat",
                                      ["dual", "single"], current="dual", group="dispatch"))
    # the street platform: routing through it (以块为主) is a decision when the schema lets a
    # category go through the platform or straight to its owner
    platform = schema_has("catalogue.x.via_platform")
    if platform and scenario.routing.policy != "territorial" and schema_has("routing.policy"):
        dims.append(Dimension("routing.policy", ["routing.policy"], "cat",
                              [scenario.routing.policy, "territorial"],
                              current=scenario.routing.policy, group="routing"))
    # handback (per group of the categories the police act on site for) and platform triage
    # (per group: None/True = through the platform's triage desk, False = straight to the owner)
    for fld, group in (("handback", "handback"), ("via_platform", "via_platform")):
        if not schema_has(f"catalogue.x.{fld}"):
            continue
        groups: dict[str, list[str]] = {}
        for code, cat in cats.items():
            if fld == "handback" and not cat.police_on_site:
                continue
            groups.setdefault(_group_of(cat), []).append(code)
        for g, codes in groups.items():
            cur = [_effective(scenario, c, fld) for c in codes]
            if fld == "via_platform":
                current = cur[0] if all(x == cur[0] for x in cur) else None
                choices = [current, False if current is not False else True]
            else:
                current = cur[0] if all(x == cur[0] for x in cur) else None
                choices = [False, True] if current is not None else [None, False, True]
            dims.append(Dimension(f"{group}.{g}", [f"catalogue.{c}.{fld}" for c in codes],
                                  "cat", choices, current=current, group=group))
    if staff:
        ns = _n_streets(scenario)
        for code, d in scenario.departments.items():
            if d.staff <= 0:
                continue
            low = max(1, int(math.floor(0.75 * d.staff)))
            high = max(d.staff + 1, int(math.ceil(1.25 * d.staff)))
            dims.append(Dimension(f"staff.{code}", [f"departments.{code}.staff"], "int",
                                  low=low, high=high, current=int(d.staff), group="staff",
                                  headcount=[ns if d.level == "street" else 1]))
        if schema_has("platform.triage_staff") and (
                scenario.routing.policy == "territorial" or any(d.group == "routing"
                                                                for d in dims)):
            v = scenario_value(scenario, "platform.triage_staff")
            if isinstance(v, int) and not isinstance(v, bool):
                dims.append(Dimension("staff.platform_triage", ["platform.triage_staff"], "int",
                                      low=max(0, int(math.floor(0.75 * v))),
                                      high=max(v + 1, int(math.ceil(1.25 * v))), current=v,
                                      group="staff", headcount=[ns]))
            elif isinstance(v, dict):  # per street: one decision per street
                for street, n in v.items():
                    if isinstance(n, int) and not isinstance(n, bool):
                        dims.append(Dimension(
                            f"staff.platform_triage.{street}",
                            [f"platform.triage_staff.{street}"], "int",
                            low=max(0, int(math.floor(0.75 * n))),
                            high=max(n + 1, int(math.ceil(1.25 * n))), current=n,
                            group="staff", headcount=[1]))
    return dims


def _effective(scenario: Scenario, code: str, fld: str):
    cat = scenario.catalogue[code]
    v = getattr(cat, fld, None)
    if fld == "handback" and v is None:
        return bool(scenario.handback.enabled)
    return v


def total_headcount(scenario: Scenario) -> int:
    ns = _n_streets(scenario)
    n = sum(d.staff * (ns if d.level == "street" else 1) for d in scenario.departments.values())
    v = scenario_value(scenario, "platform.triage_staff")
    if isinstance(v, int) and not isinstance(v, bool):
        n += v * ns
    elif isinstance(v, dict):
        n += sum(x for x in v.values() if isinstance(x, int) and not isinstance(x, bool))
    return int(n)


def build_space(scenario: Scenario, space_file: str | Path | None = None,
                owners: str = "jurisdiction") -> Space:
    """The default space, restricted or extended by a space file."""
    spec: dict = {}
    src = str(space_file) if space_file else ""
    if space_file:
        p = Path(space_file)
        # the strict loader (sim/yamlsafe.py): duplicate keys, bad dates, deep nesting, text
        # that is not UTF-8, alias bombs, a FIFO: exit 2 naming the file
        spec = read_file(p, "space file", "--space") or {}
        if not isinstance(spec, dict):
            raise UserError(f"{src}: expected a mapping (defaults, keep, drop, dimensions, "
                            f"headcount_budget, seeds)")
        unknown = set(spec) - {"defaults", "keep", "drop", "dimensions", "headcount_budget",
                               "seeds", "owner_categories"}
        if unknown:
            raise UserError(f"{src}: unknown key(s) {', '.join(sorted(unknown))} (use defaults, "
                            f"keep, drop, dimensions, headcount_budget, seeds, owner_categories)")
    errors: list[str] = []
    n_owner = spec.get("owner_categories", 6)
    if not isinstance(n_owner, int) or n_owner < 0:
        raise UserError(f"{src}: owner_categories: a whole number >= 0")
    dims = default_space(scenario, owners, n_owner) if spec.get("defaults", True) else []
    for key in ("keep", "drop"):
        pats = spec.get(key)
        if pats is None:
            continue
        if not isinstance(pats, list) or not all(isinstance(x, str) for x in pats):
            raise UserError(f"{src}: {key}: a list of name patterns, e.g. [handback.*]")
        hit = [d for d in dims if any(fnmatch.fnmatch(d.name, x) for x in pats)]
        dims = hit if key == "keep" else [d for d in dims if d not in hit]
    for i, item in enumerate(spec.get("dimensions") or []):
        where = f"{src}: dimensions.{i}"
        try:
            d = _parse_dim(item, scenario)
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
            continue
        dims = [x for x in dims if x.name != d.name] + [d]
    seen: dict[str, str] = {}
    for d in dims:
        for p in d.paths:
            if p in seen:
                errors.append(f"{src or 'space'}: {p} is set by both {seen[p]} and {d.name}")
            seen[p] = d.name
    current_heads = total_headcount(scenario)
    hb = spec.get("headcount_budget", "current")
    if hb == "current":
        budget = current_heads
    elif isinstance(hb, int) and not isinstance(hb, bool) and hb > 0:
        budget = hb
    else:
        errors.append(f"{src}: headcount_budget: a positive whole number or \"current\"")
        budget = current_heads
    seeds = spec.get("seeds") or []
    names = {d.name for d in dims}
    for i, s in enumerate(seeds):
        if not isinstance(s, dict) or not set(s) <= names:
            bad = sorted(set(s) - names) if isinstance(s, dict) else s
            errors.append(f"{src}: seeds.{i}: unknown dimension(s) {bad} (dimensions: "
                          f"{', '.join(sorted(names))})")
    if errors:
        raise UserError(errors)
    staff_heads = sum(int(d.current) * h for d in dims for h in d.headcount)
    space = Space(dims, budget, current_heads - staff_heads, [dict(s) for s in seeds])
    lows = space.headcount_base + sum(d.low * h for d in dims for h in d.headcount)
    if lows > budget:
        raise UserError(f"{src or 'space'}: headcount_budget {budget} is below the smallest "
                        f"staffing the space allows ({lows}): raise it or lower the staff lows")
    for d in dims:
        if d.kind == "cat" and d.current not in d.choices:
            d.choices = [d.current, *d.choices]
        if d.kind == "int" and not d.low <= d.current <= d.high:
            d.low, d.high = min(d.low, d.current), max(d.high, d.current)
    if not dims:
        raise UserError(f"{src or 'space'}: the decision space is empty: nothing to search")
    return space


def _parse_dim(item, scenario: Scenario) -> Dimension:
    if not isinstance(item, dict) or "name" not in item:
        raise ValueError("expected a mapping with name, paths and choices (or low/high)")
    name = str(item["name"])
    paths = item.get("paths") or ([item["path"]] if "path" in item else [])
    if not paths or not all(isinstance(p, str) for p in paths):
        raise ValueError("paths: a list of dotted scenario paths")
    for p in paths:
        if not schema_has(p):
            raise ValueError(f"{p}: not a field of the scenario schema "
                             f"(docs/scenario-reference.md)")
    cur = scenario_value(scenario, paths[0])
    group = name.split(".")[0] if name.split(".")[0] in (*REFORM_VALUE, "owner", "staff") \
        else "other"
    if "choices" in item:
        ch = item["choices"]
        if not isinstance(ch, list) or len(ch) < 1:
            raise ValueError("choices: a non-empty list")
        if paths[0].startswith("catalogue.") and paths[0].endswith(".handback") and cur is None:
            code = paths[0].split(".")[1]
            cur = _effective(scenario, code, "handback") if code in scenario.catalogue else cur
        m = re.fullmatch(r"dispatch\.modes\.([^.]+)", paths[0])
        if m and cur is None and m.group(1) in scenario.catalogue:
            from ..scenario.routing_table import default_mode

            cur = default_mode(scenario, m.group(1))
        return Dimension(name, list(paths), "cat", list(ch), current=cur, group=group)
    lo, hi = item.get("low"), item.get("high")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (lo, hi)) or lo > hi:
        raise ValueError("give choices: [...] or whole numbers low <= high")
    heads = []
    for p in paths:
        m = re.fullmatch(r"departments\.([^.]+)\.staff", p)
        if m and m.group(1) in scenario.departments:
            lvl = scenario.departments[m.group(1)].level
            heads.append(_n_streets(scenario) if lvl == "street" else 1)
        elif p == "platform.triage_staff":
            heads.append(_n_streets(scenario))
    return Dimension(name, list(paths), "int", low=lo, high=hi,
                     current=int(cur) if cur is not None else lo, group=group,
                     headcount=heads if len(heads) == len(paths) else [])


def apply_config(data: dict, space: Space, config: dict) -> dict:
    """A copy of raw scenario mapping `data` with a candidate's values set."""
    new = copy.deepcopy(data)
    for d in space.dims:
        v = config[d.name]
        for p in d.paths:
            set_path(new, p, int(v) if d.kind == "int" else v)
            m = re.fullmatch(r"catalogue\.([^.]+)\.owner", p)
            if m:  # the main department is not its own co-handler
                co = get_path(new, f"catalogue.{m.group(1)}.co_handlers")
                if isinstance(co, list) and v in co:
                    set_path(new, f"catalogue.{m.group(1)}.co_handlers",
                             [c for c in co if c != v])
    return new


# ----------------------------------------------------------------------------- uncertainty
@dataclass
class Uncertain:
    """One uncertain path of the draws: the dotted path and its distribution, read by the one
    reader of distributions (`sim.scenario.uncertain.parse`, shared with `cogov validate`,
    `compare --uncertainty` and `explain`). With `scale` (a ranges-file entry `scale: true`)
    the draw multiplies the path's value `base`."""

    path: str
    spec: UN.Uncertain
    scale: bool = False
    base: float | None = None

    @property
    def kind(self) -> str:
        return self.spec.family

    @property
    def params(self) -> dict:
        return dict(self.spec.params)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        x = np.asarray(self.spec.ppf(u), dtype=float)
        return x * float(self.base) if self.scale and self.base is not None else x


def find_uncertain(data) -> list[Uncertain]:
    """`{uncertain: FAMILY, ...}` fields of a raw scenario mapping (errors as `UserError`)."""
    found, errors = UN.extract(copy.deepcopy(data))
    if errors:
        raise UserError([f"scenario: {e}" for e in errors])
    return [Uncertain(p, spec) for p, spec in found.items()]


def load_ranges(path: str | Path, data: dict | None = None) -> list[Uncertain]:
    """The uncertain paths of a ranges file (`--ranges FILE`, the format of
    scenarios/assumptions/ranges.yaml, read by `sim.experiments.robustness.load_ranges`),
    each pattern resolved on the raw scenario mapping `data` (point values)."""
    from .robustness import _get_or_none, resolve
    from .robustness import load_ranges as read_ranges

    entries = read_ranges(path)
    out, errors = [], []
    for pattern, (spec, _why, _neutral) in entries.items():
        scale = bool(spec.extra.get("scale"))
        hits = resolve(data, pattern) if data is not None else [pattern]
        if data is not None and scale:
            hits = [h for h in hits if isinstance(_get_or_none(data, h), (int, float))]
        if not hits and not schema_has(pattern.replace("*", "x")):
            errors.append(f"{path}: ranges.{pattern}: not a field of the scenario schema")
        for h in hits:
            base = _get_or_none(data, h) if (scale and data is not None) else None
            out.append(Uncertain(h, spec, scale, base))
    if errors:
        raise UserError(errors)
    return out


def point_values(data: dict, uncertain: list[Uncertain] | None = None) -> dict:
    """A copy of `data` with every `{uncertain: ...}` field replaced by its point value (as
    the scenario loader does)."""
    new = copy.deepcopy(data)
    UN.extract(new)
    return new


def lhs_draws(uncertain: list[Uncertain], n: int, seed: int) -> list[dict[str, float]]:
    """`n` Latin-hypercube draws (SALib) of the uncertain paths: [{path: value}]."""
    if not uncertain or n <= 0:
        return []
    from SALib.sample import latin

    problem = {"num_vars": len(uncertain), "names": [u.path for u in uncertain],
               "bounds": [[0.0, 1.0]] * len(uncertain)}
    u = latin.sample(problem, n, seed=int(seed) % (2 ** 32))
    u = np.clip(u, 1e-6, 1 - 1e-6)
    cols = [x.ppf(u[:, j]) for j, x in enumerate(uncertain)]
    return [{x.path: _as_field(x, float(cols[j][i])) for j, x in enumerate(uncertain)}
            for i in range(n)]


def _as_field(u: Uncertain, v: float):
    """Whole numbers for integer fields (staff, counts)."""
    if u.spec.integer or u.path.endswith((".staff", "max_repeats", "per_grid", "followup_limit",
                                          "triage_staff", "max_transfers", "extra_staff")):
        return int(round(v))
    return v
