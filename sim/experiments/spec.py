"""Experiment files (`experiments/*.yaml`): a base scenario, factors, a design, replications.

The file is validated strictly (unknown keys are errors) and then checked against the base
scenario: every factor path must exist, every level (or both ends of a range) must give a valid
scenario on its own, and every metric named under `outputs` must exist. All problems are
collected as `FILE: path: message (fix)` and raised together in one `UserError`, so the CLI
exits 2 with the full list. The reference of every key is in docs/experiments.md.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import UserError
from ..scenario.loader import (
    ScenarioError,
    apply_set,
    load_raw,
    scenario_to_dict,
    validate_mapping,
)
from ..yamlsafe import read_file

RESERVED = {"run_id", "point", "replication", "seed", "status", "error", "traceback",
            "wall_seconds", "finished", "scenario"}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class FactorSpec(_Strict):
    """One factor: which scenario field(s) it sets and which values it takes."""

    path: str | None = Field(None, description="dotted scenario path, e.g. "
                                               "departments.police.staff; `*` matches every key")
    paths: list[str] | None = Field(None, description="several paths set to the same value")
    levels: list[Any] | dict[str, Any] | None = Field(
        None, description="the values: a list of numbers/strings, or a mapping label -> any "
                          "value (lists, mappings) for structured levels")
    range: tuple[float, float] | None = Field(None, description="[low, high] for a continuous "
                                                                "factor")
    integer: bool = Field(False, description="a range factor takes whole numbers")
    scale: bool = Field(False, description="the value multiplies each path's base value "
                                           "(rounded for whole-number fields)")
    steps: Annotated[int, Field(ge=2)] | None = Field(
        None, description="grid design: points along the range (default design.steps)")
    description: str = Field("", description="what the factor means (for figures and docs)")

    @model_validator(mode="after")
    def _one_of(self):
        errs = []
        if (self.path is None) == (self.paths is None):
            errs.append("give exactly one of `path` (one dotted path) or `paths` (a list)")
        if (self.levels is None) == (self.range is None):
            errs.append("give exactly one of `levels` (a list or label: value mapping) or "
                        "`range: [low, high]`")
        if self.paths is not None and not self.paths:
            errs.append("`paths` is empty: list at least one dotted path")
        if self.levels is not None and len(self.levels) == 0:
            errs.append("`levels` is empty: give at least one value")
        if isinstance(self.levels, list):
            bad = [v for v in self.levels if not isinstance(v, Scalar) and v is not None]
            if bad:
                errs.append("a `levels` list holds only numbers or strings; for lists or "
                            "mappings give labels: `levels: {label: value, ...}`")
            elif len({json.dumps(v) for v in self.levels}) != len(self.levels):
                errs.append("`levels` has duplicates: list each value once")
        if self.range is not None and not self.range[0] < self.range[1]:
            errs.append(f"`range` must be [low, high] with low < high, got {list(self.range)}")
        if self.range is None and (self.integer or self.steps):
            errs.append("`integer` and `steps` apply to `range` factors only")
        if self.scale and isinstance(self.levels, dict):
            errs.append("`scale: true` needs numeric levels (a list) or a range")
        if errs:
            raise ValueError("; ".join(errs))
        return self


class GridDesign(_Strict):
    """Full factorial: every combination of levels (ranges give `steps` evenly spaced values)."""

    kind: Literal["grid"]
    steps: Annotated[int, Field(ge=2)] = Field(3, description="points along each range factor")


class LhsDesign(_Strict):
    """Latin hypercube sample of `samples` points."""

    kind: Literal["lhs"]
    samples: Annotated[int, Field(ge=2)] = Field(description="number of design points")


class SobolDesign(_Strict):
    """Saltelli sample for Sobol indices: N x (D + 2) points (N x (2D + 2) with second order)."""

    kind: Literal["sobol"]
    samples: Annotated[int, Field(ge=2)] = Field(description="base sample size N (a power of 2)")
    second_order: bool = Field(False, description="also estimate second-order indices S2")

    @field_validator("samples")
    @classmethod
    def _pow2(cls, n):
        if n & (n - 1):
            raise ValueError(f"must be a power of 2 (balance of the Sobol sequence), got {n}: "
                             f"use {1 << (n.bit_length() - 1)} or {1 << n.bit_length()}")
        return n


class MorrisDesign(_Strict):
    """Morris elementary effects: `trajectories` x (D + 1) points on a `num_levels` grid."""

    kind: Literal["morris"]
    trajectories: Annotated[int, Field(ge=2)] = Field(10, description="number of trajectories r")
    num_levels: Annotated[int, Field(ge=2)] = Field(4, description="grid levels p (even)")


Design = Annotated[GridDesign | LhsDesign | SobolDesign | MorrisDesign,
                   Field(discriminator="kind")]


class OutputsSpec(_Strict):
    """What to keep and analyse. The ledger always keeps every summary metric of every run."""

    metrics: list[str] = Field(
        default_factory=lambda: ["recomplaint_rate", "chase_rate", "citizen_repeat_rate",
                                 "throughput_per_day"],
        description="metrics summarised per point, plotted and (sobol/morris) analysed")
    timeseries: bool = Field(False, description="keep each run's daily time series (Parquet)")
    figures: bool = Field(True, description="draw figures at the end (PNG and PDF)")


class ExperimentSpec(_Strict):
    """An experiment file."""

    name: str = Field(description="short name used in outputs")
    description: str = Field("", description="what the experiment asks")
    scenario: str = Field(description="base scenario file, relative to the experiment file")
    set: dict[str, Any] = Field(default_factory=dict,
                                description="fixed overrides of the base: dotted.path: value")
    factors: dict[str, FactorSpec] = Field(min_length=1, description="factors by name")
    design: Design = Field(default_factory=lambda: GridDesign(kind="grid"),
                           description="grid, lhs, sobol or morris")
    replications: Annotated[int, Field(ge=1)] = Field(1, description="runs per design point")
    seed: Annotated[int, Field(ge=0)] = Field(
        2019, description="root seed of every run's seed (SeedSequence), a whole number >= 0")
    common_random_numbers: bool = Field(
        True, description="replication r uses the same seed at every design point")
    outputs: OutputsSpec = Field(default_factory=OutputsSpec, description="outputs")


# ---------------------------------------------------------------- resolved experiment
@dataclass
class Factor:
    """A resolved factor: concrete paths (wildcards expanded) and how a sample maps to values."""

    name: str
    paths: list[str]
    labels: list[Any] | None = None       # level labels (levels factors)
    values: list[Any] | None = None       # level values
    low: float | None = None
    high: float | None = None
    integer: bool = False
    scale: bool = False
    base: list[Any] = field(default_factory=list)  # base value per path (scale factors)
    steps: int | None = None

    @property
    def is_levels(self) -> bool:
        return self.labels is not None

    def bounds(self) -> tuple[float, float]:
        """The sample space SALib sees: [0, n) for levels, [low, high + 1) for integers."""
        if self.is_levels:
            return 0.0, float(len(self.labels))
        if self.integer:
            return float(self.low), float(self.high) + 1.0
        return float(self.low), float(self.high)

    def value(self, x: float) -> Any:
        """The factor value (level label or number) at sample coordinate `x`."""
        if self.is_levels:
            return self.labels[min(int(math.floor(x)), len(self.labels) - 1)]
        if self.integer:
            return int(min(max(math.floor(x), self.low), self.high))
        return float(x)

    def overrides(self, value: Any) -> list[tuple[str, Any]]:
        """(path, value) pairs to set for factor value `value`."""
        if self.is_levels:
            raw = self.values[self.labels.index(value)]
        else:
            raw = value
        if not self.scale:
            return [(p, raw) for p in self.paths]
        out = []
        for p, b in zip(self.paths, self.base):
            v = b * raw
            out.append((p, int(round(v)) if isinstance(b, int) and not isinstance(b, bool)
                        else float(v)))
        return out

    def check_values(self) -> list[Any]:
        """Values checked one at a time at load: every level, or both ends of a range."""
        if self.is_levels:
            return list(self.labels)
        return [self.value(self.low), self.value(self.bounds()[1] - 1e-9)]


@dataclass
class Experiment:
    """A validated experiment: the spec, the base mapping (with `set` applied), the factors."""

    spec: ExperimentSpec
    source: str
    base_path: Path
    base_raw: dict
    factors: list[Factor]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def replications(self) -> int:
        return self.spec.replications

    @property
    def seed(self) -> int:
        return self.spec.seed

    @property
    def metrics(self) -> list[str]:
        return list(self.spec.outputs.metrics)

    def overrides(self, point_values: dict[str, Any]) -> list[tuple[str, Any]]:
        out = []
        for f in self.factors:
            out.extend(f.overrides(point_values[f.name]))
        return out

    def sha256(self) -> str:
        """Hash of everything that decides the results: the spec and the base mapping."""
        blob = json.dumps({"spec": self.spec.model_dump(mode="json"), "base": self.base_raw},
                          sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def set_value(data: dict, path: str, value: Any) -> dict:
    """Set one dotted path in a raw mapping with the loader's `apply_set` (value kept exact)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True)
    if text.endswith("\n...\n"):
        text = text[:-5]
    return apply_set(data, f"{path}={text.strip()}")


def build_scenario(raw: dict, overrides, label: str = "<run>"):
    """Validate `raw` with (path, value) `overrides` applied, into a `Scenario`."""
    data = copy.deepcopy(raw)
    for p, v in overrides:
        set_value(data, p, v)
    return validate_mapping(data, label)


# ---------------------------------------------------------------- loading
def _read(path: Path) -> dict:
    data = read_file(path, "experiment file")
    if not isinstance(data, dict):
        raise UserError([f"{path}: top level must be a mapping with `name`, `scenario`, "
                         f"`factors` and `design` (see docs/experiments.md)"])
    return data


def _format(source: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = list(err["loc"])
        if len(loc) > 1 and loc[0] == "design" and loc[1] in ("grid", "lhs", "sobol", "morris"):
            del loc[1]
        if len(loc) > 2 and loc[0] == "factors" and loc[2] in ("list[any]", "dict[str,any]"):
            del loc[2]
        where = ".".join(str(x) for x in loc) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (a typo? the allowed keys are listed in docs/experiments.md)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            where = f"{where}.kind"
            msg = (f"unknown design {err['input'].get('kind')!r}: use grid, lhs, sobol or morris"
                   if err["type"] == "union_tag_invalid" else
                   "missing `kind`: one of grid, lhs, sobol, morris")
        elif err["type"] not in ("union_tag_invalid", "union_tag_not_found") and not isinstance(
                err.get("input"), (dict, list)):
            msg = f"{msg} (got {err.get('input')!r})"
        for part in msg.split("; ") if err["type"] == "value_error" else [msg]:
            out.append(f"{source}: {where}: {part}")
    return list(dict.fromkeys(out))


def _expand(node: Any, parts: list[str], prefix: list[str]) -> list[str]:
    """Concrete dotted paths matching `parts` (`*` = every key) in the resolved scenario."""
    if not parts:
        return [".".join(prefix)]
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, dict):
            keys = list(node)
        elif isinstance(node, list):
            keys = [str(i) for i in range(len(node))]
        else:
            return []
        out = []
        for k in keys:
            child = node[k] if isinstance(node, dict) else node[int(k)]
            out.extend(_expand(child, rest, [*prefix, k]))
        return out
    if isinstance(node, dict) and head in node:
        return _expand(node[head], rest, [*prefix, head])
    if isinstance(node, list) and head.isdigit() and int(head) < len(node):
        return _expand(node[int(head)], rest, [*prefix, head])
    if "*" in rest:
        return []
    return [".".join([*prefix, *parts])]   # not in the base: validation will judge it


def _lookup(node: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def known_metrics(departments, channels=()) -> list[str]:
    """Names of every flattened summary metric for a scenario with these departments and
    channels (empty if they cannot be determined, which turns the check off)."""
    fixed = _fixed_metric_names()
    if not fixed:
        return []
    out = [m for m in fixed if not m.startswith(("utilization.", "staff_hours.",
                                                 "complaints_by_channel."))]
    out += [f"utilization.{d}" for d in departments] + [f"staff_hours.{d}" for d in departments]
    out += [f"complaints_by_channel.{c}" for c in channels]
    return out


_FIXED: list[str] = []


def _fixed_metric_names() -> list[str]:
    """Summary keys, read off a one-day run of a one-desk queue (always in step with records)."""
    if not _FIXED:
        from ..runner import run_scenario
        from .backends import flatten_summary
        tiny = {"district": {"streets": [{"name": "S", "grids": [{"name": "G",
                                                                    "population": 100}]}]},
                "catalogue": {"job": {"name": "job", "family": "urban_management",
                                      "owner": "desk"}},
                "departments": {"desk": {"name": "desk"}},
                "channels": {"h": {"name": "h", "kind": "hotline"}},
                "run": {"horizon_days": 1, "warmup_days": 0}}
        try:
            summary = run_scenario(validate_mapping(tiny, "<tiny>")).summary
        except Exception:  # the schema moved on: skip the metric-name check, never block
            return []
        _FIXED.extend(flatten_summary(summary))
    return _FIXED


def _scenario_errors(exc: ScenarioError, marker: str) -> list[str]:
    return [e[len(marker) + 2:] if e.startswith(marker + ": ") else e for e in exc.errors]


def load_experiment(path: str | Path) -> Experiment:
    """Read, validate and resolve an experiment file (raises `UserError` listing every error)."""
    path = Path(path)
    return experiment_from_dict(_read(path), base_dir=path.parent, source=str(path))


def experiment_from_dict(data: dict, base_dir: str | Path = ".",
                         source: str = "<experiment>") -> Experiment:
    """Validate an experiment given as a mapping (the Python API's way to build one)."""
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise UserError(_format(source, exc)) from None
    errors: list[str] = []
    for name in spec.factors:
        if not NAME_RE.match(name) or name in RESERVED:
            errors.append(f"{source}: factors.{name}: bad factor name: use letters, digits and "
                          f"_ (not one of {', '.join(sorted(RESERVED))})")
    base_path = (Path(base_dir) / spec.scenario)
    if not base_path.exists():
        raise UserError(errors + [f"{source}: scenario: file not found: {base_path} (the path is "
                                  f"relative to the experiment file)"])
    try:
        raw = load_raw(base_path)
    except ScenarioError as exc:
        raise UserError(errors + exc.errors) from None
    for key, value in spec.set.items():
        try:
            set_value(raw, key, value)
        except ScenarioError as exc:
            errors += [f"{source}: set.{key}: {e.split(': ', 2)[-1]}" for e in exc.errors]
    marker = "@@"
    try:
        base = validate_mapping(copy.deepcopy(raw), marker)
    except ScenarioError as exc:
        raise UserError(errors + [f"{source}: scenario {base_path} with `set`: {e}"
                                  for e in _scenario_errors(exc, marker)]) from None
    resolved = scenario_to_dict(base)
    factors = []
    for name, fs in spec.factors.items():
        f, errs = _resolve_factor(name, fs, resolved, source)
        errors += errs
        if f is None:
            continue
        factors.append(f)
        for v in f.check_values():
            try:
                build_scenario(raw, f.overrides(v), marker)
            except ScenarioError as exc:
                errors += [f"{source}: factors.{name}: at {v!r}: {e}"
                           for e in _scenario_errors(exc, marker)]
    known = known_metrics(base.departments, base.channels)
    for name in spec.factors:
        if name in known:
            errors.append(f"{source}: factors.{name}: name clashes with the summary metric "
                          f"{name!r}: rename the factor")
    for i, m in enumerate(spec.outputs.metrics):
        if known and m not in known:
            near = difflib.get_close_matches(m, known, n=1)
            hint = f"did you mean {near[0]!r}?" if near else "see docs/metrics.md"
            errors.append(f"{source}: outputs.metrics.{i}: unknown metric {m!r} ({hint})")
    if errors:
        raise UserError(list(dict.fromkeys(errors)))
    return Experiment(spec, source, base_path, raw, factors)


def _resolve_factor(name: str, fs: FactorSpec, resolved: dict, source: str):
    errors = []
    patterns = [fs.path] if fs.path is not None else list(fs.paths)
    paths: list[str] = []
    for pat in patterns:
        found = _expand(resolved, pat.split("."), [])
        if not found:
            errors.append(f"{source}: factors.{name}: path {pat!r} matches nothing in the base "
                          f"scenario (check the spelling; `*` matches existing keys only)")
        paths += found
    paths = list(dict.fromkeys(paths))
    base = []
    if fs.scale:
        for p in paths:
            b = _lookup(resolved, p)
            if isinstance(b, bool) or not isinstance(b, (int, float)):
                errors.append(f"{source}: factors.{name}: scale: {p} has no numeric base value "
                              f"(got {b!r}): set it in the scenario or `set:`, or drop `scale`")
            base.append(b)
    if errors:
        return None, errors
    f = Factor(name=name, paths=paths, integer=fs.integer,
               scale=fs.scale, base=base, steps=fs.steps)
    if isinstance(fs.levels, dict):
        f.labels, f.values = list(fs.levels), list(fs.levels.values())
    elif fs.levels is not None:
        f.labels, f.values = list(fs.levels), list(fs.levels)
    else:
        f.low, f.high = fs.range
        if fs.integer and (f.low != int(f.low) or f.high != int(f.high)):
            errors.append(f"{source}: factors.{name}: range: an integer factor needs whole-"
                          f"number ends, got {list(fs.range)}")
            return None, errors
        if fs.integer:
            f.low, f.high = int(f.low), int(f.high)
    return f, errors
