"""The levers: controls derived from the scenario schema, never from a hand-kept list of values.

A lever names a field of the schema by its dotted path (`handback.enabled`,
`departments.police.staff`, ...). Its widget, choices, bounds and help text come from that
field: a `bool` is a checkbox, a `Literal[...]` a select of its values, an `int` a slider from
its `ge` bound, a policy name a select of the policy registry (`sim.policies.ROUTING`,
`ASSESSMENT`). One lever is made per department and per campaign the scenario defines. The
lowest staff value offered is the lowest the scenario validator accepts (a department that owns
categories needs at least one person).

`scenario_mapping(base, values)` applies lever values to the base scenario's raw mapping; the
result is what a reset runs and what "save as scenario" writes.
"""

from __future__ import annotations

import copy
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..policies import ASSESSMENT, ROUTING
from ..scenario.loader import ScenarioError, validate_mapping
from ..scenario.paths import get_path, set_path
from ..scenario.schema import Scenario

AS_SCENARIO = "as in scenario"


# ---------------------------------------------------------------- the schema, walked by path
def schema_field(path: str) -> tuple[FieldInfo, Any]:
    """The pydantic field at a dotted path of `Scenario` and its annotation.

    Mapping keys (`departments.police`) and list indices (`campaigns.0`) step into the value
    type. Raises `KeyError` for a path that is not in the schema.
    """
    model: Any = Scenario
    info: FieldInfo | None = None
    ann: Any = None
    for part in path.split("."):
        if isinstance(model, type) and issubclass(model, BaseModel):
            if part not in model.model_fields:
                raise KeyError(f"{path}: no field {part!r} in {model.__name__}")
            info = model.model_fields[part]
            ann = info.annotation
            model = _unwrap(ann)
            continue
        origin = typing.get_origin(model)
        args = typing.get_args(model)
        if origin is dict:
            model = _unwrap(args[1])
        elif origin is list:
            if not part.isdigit():
                raise KeyError(f"{path}: {part!r} is not a list index")
            model = _unwrap(args[0])
        else:
            raise KeyError(f"{path}: cannot step into {model!r} with {part!r}")
        ann = model
    if info is None:
        raise KeyError(path)
    return info, ann


def _unwrap(ann):
    """`X | None` -> X."""
    args = typing.get_args(ann)
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return ann


def _bound(info: FieldInfo, kind) -> float | None:
    for m in info.metadata:
        if isinstance(m, kind):
            return getattr(m, kind.__name__.lower())
    return None


def _doc(cls) -> str:
    return (cls.__doc__ or "").strip().split("\n")[0]


# ---------------------------------------------------------------- levers
@dataclass
class Lever:
    """One control: `key` is the keyword the model takes, `path` the schema field it sets."""

    key: str
    path: str
    kind: Literal["select", "checkbox", "int"]
    label: str
    help: str
    value: Any                       # the base scenario's value
    values: list[str] = field(default_factory=list)
    min: int | None = None
    max: int | None = None
    step: int = 1

    def model_param(self) -> dict:
        """The SolaraViz `model_params` entry of this lever."""
        if self.kind == "select":
            return {"type": "Select", "value": self.value, "values": list(self.values),
                    "label": self.label}
        if self.kind == "checkbox":
            return {"type": "Checkbox", "value": bool(self.value), "label": self.label}
        return {"type": "SliderInt", "value": int(self.value), "min": self.min, "max": self.max,
                "step": self.step, "label": self.label}

    def check(self, value) -> Any:
        """The value coerced to the lever's type; `ScenarioError` if it is not allowed."""
        if self.kind == "select":
            if value not in self.values:
                raise ScenarioError([f"{self.path}: {value!r} is not one of "
                                     f"{', '.join(map(str, self.values))}"])
            return value
        if self.kind == "checkbox":
            return bool(value)
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise ScenarioError([f"{self.path}: expected a whole number, got {value!r}"]) \
                from None
        if self.min is not None and v < self.min:
            raise ScenarioError([f"{self.path}: {v} is below the minimum {self.min}"])
        return v


_get = get_path
_set = set_path


def _assessment_value(scenario: Scenario) -> str:
    pols = scenario.assessment.policies
    if not pols:
        return "none"
    if len(pols) == 1 and pols[0].weight == 1.0:
        return pols[0].policy
    return AS_SCENARIO


def _assessment_text(scenario: Scenario) -> str:
    pols = scenario.assessment.policies
    return " + ".join(f"{p.policy}×{p.weight:g}" for p in pols) or "none"


def _field_lever(key: str, path: str, label: str, value, extra_help: str = "") -> Lever:
    """A lever whose widget comes from the field's type (bool, Literal, int)."""
    info, ann = schema_field(path)
    help_text = (info.description or "") + (f" {extra_help}" if extra_help else "")
    if ann is bool:
        return Lever(key, path, "checkbox", label, help_text, bool(value))
    if typing.get_origin(ann) is Literal:
        return Lever(key, path, "select", label, help_text, value,
                     values=[str(a) for a in typing.get_args(ann)])
    if ann is int:
        lo = _bound(info, annotated_types.Ge)
        lo = int(lo) if lo is not None else 0
        hi = _bound(info, annotated_types.Le)
        top = int(hi) if hi is not None else max(10, 3 * int(value))
        return Lever(key, path, "int", label, help_text, int(value), min=lo, max=top)
    raise TypeError(f"{path}: no widget for a field of type {ann!r}")


def _lowest_valid(base, lever: Lever) -> int:
    """The smallest value from the schema's lower bound up that the validator accepts."""
    lo = lever.min or 0
    for v in range(lo, max(lo, lever.value) + 1):
        raw = copy.deepcopy(base.raw)
        _set(raw, lever.path, v)
        try:
            validate_mapping(raw)
            return v
        except ScenarioError:
            continue
    return lever.value


def build_levers(base) -> list[Lever]:
    """Every lever for a base scenario (cached on the base)."""
    cached = getattr(base, "_levers", None)
    if cached is not None:
        return cached
    from .components import display_name

    s: Scenario = base.scenario
    levers: list[Lever] = []

    info, _ = schema_field("routing.policy")
    levers.append(Lever("routing", "routing.policy", "select", "Routing policy",
                        f"{info.description}: " + "; ".join(
                            f"{n}: {_doc(ROUTING[n])}" for n in sorted(ROUTING)),
                        s.routing.policy, values=sorted(ROUTING)))

    info, _ = schema_field("assessment.policies")
    names = sorted(ASSESSMENT)
    current = _assessment_value(s)
    values = ([f"{AS_SCENARIO} ({_assessment_text(s)})"] if current == AS_SCENARIO else []) + names
    levers.append(Lever("assessment", "assessment.policies", "select", "Assessment policy",
                        f"{info.description}: " + "; ".join(
                            f"{n}: {_doc(ASSESSMENT[n])}" for n in names),
                        values[0] if current == AS_SCENARIO else current, values=values))

    levers.append(_field_lever("handback", "handback.enabled", "Handback to the grid (双向流转)",
                               s.handback.enabled))
    levers.append(_field_lever("dispatch_mode", "dispatch.default_mode", "Dispatch mode",
                               s.dispatch.default_mode,
                               "(per-category modes and dual families stay as in the scenario)"))
    levers.append(_field_lever("grid_workers", "grid_workers.per_grid", "Grid workers per grid",
                               s.grid_workers.per_grid))
    for i, c in enumerate(s.campaigns):
        info, _ = schema_field(f"campaigns.{i}")
        name = display_name(c.name, c.name_zh, html=True)
        levers.append(Lever(f"campaign.{i}", f"campaigns.{i}", "checkbox",
                            f"Campaign: {name} (days {c.start_day:g}–{c.end_day:g})",
                            f"{info.description}: {_doc(type(c))} Off removes it from the "
                            f"scenario.", True))
    for code, d in s.departments.items():
        lv = _field_lever(f"staff.{code}", f"departments.{code}.staff",
                          f"Staff: {display_name(d.name, d.name_zh, html=True)}"
                          + (" (per street)" if d.level == "street" else " (district pool)"),
                          d.staff)
        lv.min = _lowest_valid(base, lv)
        levers.append(lv)
    base._levers = levers
    return levers


def model_params(base) -> dict:
    """SolaraViz `model_params`: every lever, then the seed (blank = the scenario's)."""
    params = {lv.key: lv.model_param() for lv in build_levers(base)}
    params["seed"] = {"type": "InputText", "value": str(base.scenario.run.seed),
                      "label": "Seed (applied at Reset)"}
    return params


def scenario_mapping(base, values: dict, levers: list[Lever] | None = None) -> dict:
    """The base scenario's raw mapping with the lever values applied (only the changed ones,
    so everything else, policy parameters included, stays as the base has it)."""
    levers = levers if levers is not None else build_levers(base)
    raw = copy.deepcopy(base.raw)
    drop: set[int] = set()
    for lv in levers:
        if lv.key not in values:
            continue
        v = lv.check(values[lv.key])
        if v == lv.value:
            continue
        if lv.key == "routing":
            raw["routing"] = {"policy": v, "params": {}}
        elif lv.key == "assessment":
            if not str(v).startswith(AS_SCENARIO):
                raw["assessment"] = {"policies": [{"policy": v}]}
        elif lv.key.startswith("campaign."):
            if not v:
                drop.add(int(lv.key.split(".")[1]))
        else:
            _set(raw, lv.path, v)
    if drop:
        raw["campaigns"] = [c for i, c in enumerate(raw.get("campaigns", [])) if i not in drop]
    return raw


def changed(base, values: dict) -> list[tuple[Lever, Any]]:
    """The levers whose value differs from the base scenario, with the new value."""
    out = []
    for lv in build_levers(base):
        if lv.key in values and lv.check(values[lv.key]) != lv.value:
            out.append((lv, values[lv.key]))
    return out
