"""Generate docs/scenario-reference.md from the schema (`python -m sim.scenario.docgen`).

A test regenerates the page and fails when the committed file differs: the docs cannot drift
from the schema.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ..policies import ASSESSMENT, ROUTING
from .schema import Scenario

HEADER = """# Scenario reference

Generated from `sim/scenario/schema.py` by `python -m sim.scenario.docgen`; do not edit by hand
(a test fails when this page is stale). Units: hours unless a name ends in `_days`; incidence
per 1,000 residents per year; probabilities in [0, 1]. Unknown keys are errors.

A scenario may start with `extends: other.yaml` (or a list of files): mappings merge key by key,
anything else replaces, and a key set to `~` (null) removes what was inherited (for example
`catalogue: {noise: ~}` drops a category). Any field can be overridden on the command line with
`--set dotted.path=value` (list items by index, e.g. `assessment.policies.0.weight=0.5`); the
value is read as YAML and type-checked.
"""


def _type_name(ann) -> str:
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if ann is type(None):
        return "null"
    if origin is typing.Union or str(origin) == "types.UnionType" or (
            origin is not None and getattr(origin, "__name__", "") == "UnionType"):
        return " or ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_name(args[1])}" if len(args) == 2 else "mapping"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"[{ann.__name__}](#{ann.__name__.lower()})"
    return getattr(ann, "__name__", str(ann))


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "(section defaults)"
    if isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel):
        return "(see defaults below)"
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return f"`{text}`" if len(text) < 60 else f"`{text[:57]}...`"


def _bounds(field) -> str:
    out = []
    for m in field.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                out.append(f"{sym} {v}")
    return ", ".join(out)


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def visit(model):
        if model in seen:
            return
        seen.append(model)
        for f in model.model_fields.values():
            for t in _walk(f.annotation):
                if isinstance(t, type) and issubclass(t, BaseModel):
                    visit(t)

    visit(root)
    return seen


def _walk(ann):
    yield ann
    for a in typing.get_args(ann):
        yield from _walk(a)


def _table(model: type[BaseModel]) -> list[str]:
    lines = ["| field | type | default | constraints | meaning |", "|---|---|---|---|---|"]
    for name, f in model.model_fields.items():
        desc = (f.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{name}` | {_type_name(f.annotation)} | {_default(f)} | {_bounds(f)} "
                     f"| {desc} |")
    return lines


def _doc(obj) -> str:
    return " ".join((obj.__doc__ or "").split())


def render() -> str:
    out = [HEADER]
    for model in _models(Scenario):
        out += ["", f"## {model.__name__}", "", _doc(model), ""] + _table(model)
    out += ["", "## Routing policies (`routing.policy`, parameters in `routing.params`)", ""]
    for name, cls in sorted(ROUTING.items()):
        out += [f"### `{name}`", "", _doc(cls), ""] + _table(cls.Params) + [""]
    out += ["## Assessment policies (`assessment.policies[].policy`, parameters in `params`)", ""]
    for name, cls in sorted(ASSESSMENT.items()):
        out += [f"### `{name}`", "", _doc(cls), ""]
        if cls.Params.model_fields:
            out += _table(cls.Params)
        out += [""]
    return "\n".join(out).rstrip() + "\n"


def main(argv=None) -> int:
    target = Path(argv[0] if argv else "docs/scenario-reference.md")
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
