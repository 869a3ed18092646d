"""Load scenario files: `extends:` inheritance, `--set` overrides, strict validation.

Every problem found is collected as `FILE: path.to.field: what is wrong (and the fix)` and
raised together in one `ScenarioError`, so a user fixes a file in one pass.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import UserError
from .schema import Scenario


class ScenarioError(UserError):
    """One or more problems with a scenario; `errors` lists them one per line."""


# libyaml's safe loader where PyYAML was built with it (the same documents, ~10x faster: the
# district's lists of grids and categories are most of `cogov validate`'s time otherwise)
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, chain: tuple[Path, ...]) -> dict:
    if not path.exists():
        via = f" (extended from {chain[-1]})" if chain else ""
        raise ScenarioError([f"{path}: file not found{via}: check the path"])
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise ScenarioError([f"{path}: cannot read as UTF-8 text ({exc})"]) from None
    try:
        data = yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError([f"{path}: not valid YAML{where}: "
                             f"{getattr(exc, 'problem', exc)}"]) from None
    if data is None:
        raise ScenarioError([f"{path}: file is empty: a scenario needs at least `district`, "
                             f"`catalogue` and `departments` (or `extends:`)"])
    if not isinstance(data, dict):
        raise ScenarioError([f"{path}: top level must be a mapping of sections, "
                             f"got {type(data).__name__}"])
    return data


def deep_merge(base: dict, over: dict) -> dict:
    """Merge `over` into a copy of `base`: mappings merge key by key, anything else replaces;
    a key set to null (`~`) in `over` removes the inherited entry (e.g. drop a category)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None and key in out:
            del out[key]
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """The merged mapping of a file and everything it extends (no validation)."""
    path = Path(path).resolve()
    if path in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, path))
        raise ScenarioError([f"{_chain[-1]}: extends: cycle {cycle}: remove one `extends`"])
    data = _read_yaml(path, _chain)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    parents = parent if isinstance(parent, list) else [parent]
    merged: dict = {}
    for p in parents:
        if not isinstance(p, str):
            raise ScenarioError([f"{path}: extends: must be a file name or a list of them"])
        merged = deep_merge(merged, load_raw(path.parent / p, (*_chain, path)))
    return deep_merge(merged, data)


def parse_set(expr: str) -> tuple[list[str], object]:
    """Parse `dotted.path=value`; the value is read as YAML (numbers, booleans, lists)."""
    if "=" not in expr:
        raise ScenarioError([f"--set {expr}: expected dotted.path=value"])
    key, _, raw = expr.partition("=")
    key = key.strip()
    if not key:
        raise ScenarioError([f"--set {expr}: empty path before '='"])
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_set(data: dict, expr: str) -> dict:
    """Apply one `--set` override to a raw mapping (lists are indexed by number)."""
    parts, value = parse_set(expr)
    node = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError([f"--set {expr}: {'.'.join(parts[:i + 1])}: "
                                     f"no list item {part}"])
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ScenarioError([f"--set {expr}: {'.'.join(parts[:i])} is not a section"])
        node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise ScenarioError([f"--set {expr}: no list item {last}"])
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError([f"--set {expr}: {'.'.join(parts[:-1])} is not a section"])
    return data


def _format_validation(path: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (a typo? see docs/scenario-reference.md for the allowed keys)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if "; " in msg and err["type"] == "value_error":
            # our cross-reference validator joins several messages
            for part in msg.split("; "):
                sub_loc, _, sub_msg = part.partition(": ")
                out.append(f"{path}: {sub_loc}: {sub_msg}" if sub_msg else f"{path}: {loc}: {part}")
            continue
        if err["type"] == "value_error" and ": " in msg and msg.split(": ")[0].count(".") >= 1 \
                and loc == "(top level)":
            sub_loc, _, sub_msg = msg.partition(": ")
            out.append(f"{path}: {sub_loc}: {sub_msg}")
            continue
        got = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden", "value_error") and not isinstance(
                got, (dict, list)):
            msg = f"{msg} (got {got!r})"
        out.append(f"{path}: {loc}: {msg}")
    return out


def validate_mapping(data: dict, path: str = "<scenario>") -> Scenario:
    """Validate a merged mapping into a `Scenario`, or raise `ScenarioError` with every error."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_validation(path, exc)) from None
    from ..policies import validate_policies  # late: policies import the schema

    errors = validate_policies(scenario)
    from ..world.district import build_district

    district = build_district(scenario.district)
    street_names = {s.name for s in district.streets}
    for i, c in enumerate(scenario.campaigns):
        for s in c.streets:
            if s not in street_names:
                errors.append(f"campaigns.{i}.streets: unknown street {s!r}")
    if errors:
        raise ScenarioError([f"{path}: {e}" for e in errors])
    return scenario


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Load, merge `extends`, apply `--set` overrides and validate a scenario file."""
    data = load_raw(path)
    for expr in overrides:
        apply_set(data, expr)
    return validate_mapping(data, str(path))


def scenario_to_dict(scenario: Scenario) -> dict:
    """The whole scenario, defaults included, as plain YAML-able data."""
    return scenario.model_dump(mode="json")


def scenario_sha256(scenario: Scenario) -> str:
    """A stable hash of the resolved scenario (seed included)."""
    blob = json.dumps(scenario_to_dict(scenario), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def dump_yaml(data: dict) -> str:
    # libyaml's emitter where available: the same text (checked on the shipped scenarios) in
    # a fraction of the time
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                     allow_unicode=True, sort_keys=False, width=100)
