"""Load scenario files: `extends:` inheritance, `--set` overrides, strict validation.

Every problem found is collected as `FILE: path.to.field: what is wrong (and the fix)` and
raised together in one `ScenarioError`, so a user fixes a file in one pass.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import UserError
from ..yamlsafe import load_text, read_file
from .paths import set_path
from .schema import Scenario
from .uncertain import extract as extract_uncertain
from .uncertain import restore as restore_uncertain


class ScenarioError(UserError):
    """One or more problems with a scenario; `errors` lists them one per line."""


# libyaml's safe loader where PyYAML was built with it (the same documents, ~10x faster: the
# district's lists of grids and categories are most of `cogov validate`'s time otherwise)


def _read_yaml(path: Path, chain: tuple[Path, ...]) -> dict:
    via = f" (extended from {chain[-1]})" if chain else ""
    try:
        exists = path.exists()
    except OSError as exc:  # e.g. a symlink loop
        raise ScenarioError([f"{path}: cannot open ({exc.strerror or exc}){via}: fix the path "
                             f"or the symlink"]) from None
    if not exists:
        raise ScenarioError([f"{path}: file not found{via}: check the path"])
    if path.is_dir():
        key = f"{chain[-1]}: extends: " if chain else ""
        raise ScenarioError([f"{key}{path}: is a folder, not a scenario file: give the path of "
                             f"a .yaml file"])
    try:
        data = read_file(path, "scenario file")
    except UserError as exc:
        raise ScenarioError(exc.errors) from None
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
    try:
        path = Path(path).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        where = f"{_chain[-1]}: extends: " if _chain else ""
        raise ScenarioError([f"{where}{path}: cannot follow the path ({exc}): point the "
                             f"symlink at a real file"]) from None
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
        if not isinstance(p, str) or not p.strip():
            raise ScenarioError([f"{path}: extends: must be a file name or a list of them, "
                                 f"got {p!r}: name the scenario file this one builds on"])
        if (path.parent / p).is_dir():
            raise ScenarioError([f"{path}: extends: {p!r} is a folder, not a scenario file: "
                                 f"name a .yaml file (e.g. extends: common/district.yaml)"])
        merged = deep_merge(merged, load_raw(path.parent / p, (*_chain, path)))
    return deep_merge(merged, data)


#: sections whose keys are names the user chose (a missing one is a typo, not a new entry)
COLLECTIONS = {("catalogue",): "category", ("departments",): "department",
               ("channels",): "channel"}


def parse_set(expr: str) -> tuple[list[str], object]:
    """Parse `dotted.path=value`; the value is read as YAML (numbers, booleans, lists)."""
    if "=" not in expr:
        raise ScenarioError([f"--set {expr}: expected dotted.path=value, e.g. "
                             f"--set departments.police.staff=6"])
    key, _, raw = expr.partition("=")
    key = key.strip()
    if not key:
        raise ScenarioError([f"--set {expr}: empty path before '=': name the field, e.g. "
                             f"run.horizon_days"])
    parts = key.split(".")
    if any(not p for p in parts):
        raise ScenarioError([f"--set {expr}: empty part in the path {key!r}: write it as "
                             f"section.field"])
    wild = [p for p in parts if any(c in p for c in "*?[]")]
    if wild:
        raise ScenarioError([f"--set {expr}: {wild[0]!r}: wildcards are not allowed in --set "
                             f"(they would create an entry named {wild[0]!r}); name the key, "
                             f"or use a factor `path` with `*` in an experiment file"])
    if raw.strip():
        try:
            value = load_text(raw, f"--set {key}")
        except UserError as exc:
            if any("twice" in e or "not a real date" in e or "nested" in e or "NUL" in e
                   for e in exc.errors):
                raise ScenarioError(exc.errors) from None
            value = raw  # not YAML: taken as a plain string
    else:
        value = ""
    return parts, value


def _unknown_key(expr: str, parts: list[str], i: int, node: dict) -> ScenarioError:
    kind = COLLECTIONS[tuple(parts[:i])]
    key = parts[i]
    close = difflib.get_close_matches(key, [str(k) for k in node], n=1, cutoff=0.6)
    hint = (f"did you mean {close[0]!r}?" if close
            else f"one of {', '.join(sorted(map(str, node)))}" if node else "none defined")
    return ScenarioError([f"--set {expr}: {'.'.join(parts[:i + 1])}: unknown {kind} {key!r} "
                          f"({hint}); to add a new {kind}, set all of it at once: "
                          f"--set {'.'.join(parts[:i + 1])}='{{name: ..., ...}}'"])


def apply_set(data: dict, expr: str) -> dict:
    """Apply one `--set` override to a raw mapping (lists are indexed by number).

    Keys of `catalogue`, `departments` and `channels` must exist to set a field inside them
    (`departments.polce.staff=6` is a typo, not a new department)."""
    parts, value = parse_set(expr)
    node = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError([f"--set {expr}: {'.'.join(parts[:i + 1])}: "
                                     f"no list item {part} (the list has {len(node)} items, "
                                     f"numbered from 0)"])
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ScenarioError([f"--set {expr}: {'.'.join(parts[:i])} is not a section"])
        if tuple(parts[:i]) in COLLECTIONS and part not in node:
            raise _unknown_key(expr, parts, i, node)
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise ScenarioError([f"--set {expr}: no list item {last} (the list has {len(node)} "
                                 f"items, numbered from 0)"])
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
        elif err["type"] == "greater_than_equal" and loc.endswith("seed"):
            msg = "must be a whole number >= 0 (random seeds cannot be negative)"
        elif err["type"] == "finite_number":
            msg = "must be a finite number (infinity and NaN are not allowed): give a number"
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
    """Validate a merged mapping into a `Scenario`, or raise `ScenarioError` with every error.

    Uncertain fields (`{uncertain: FAMILY, ...}`, see `sim/scenario/uncertain.py`) are replaced
    by their point values before validation and kept on the scenario (`uncertain_fields`)."""
    specs: dict = {}
    if _has_uncertain(data):
        data = copy.deepcopy(data)
        specs, errors = extract_uncertain(data)
        if errors:
            raise ScenarioError([f"{path}: {e}" for e in errors])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_uncertain_hint(_format_validation(path, exc), specs, path)) \
            from None
    from ..mechanisms.registry import validate_mechanisms
    from ..policies import validate_policies  # late: policies import the schema

    errors = validate_policies(scenario) + validate_mechanisms(scenario)
    if specs and not errors:
        errors = _check_support(data, specs)
    from ..world.district import street_names as _street_names

    street_names = set(_street_names(scenario.district))
    for i, c in enumerate(scenario.campaigns):
        for s in c.streets:
            if s not in street_names:
                errors.append(f"campaigns.{i}.streets: unknown street {s!r}")
    if errors:
        raise ScenarioError([f"{path}: {e}" for e in errors])
    if specs:
        object.__setattr__(scenario, "__pydantic_private__",
                           {**(scenario.__pydantic_private__ or {}), "_uncertain": specs})
    return scenario


def _has_uncertain(node) -> bool:
    if isinstance(node, dict):
        return "uncertain" in node or any(_has_uncertain(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_uncertain(v) for v in node)
    return False


def _uncertain_hint(lines: list[str], specs: dict, path: str) -> list[str]:
    """Say which point value of an uncertain field the schema refused."""
    out = []
    for line in lines:
        loc = line[len(path) + 2:].partition(": ")[0]
        spec = specs.get(loc)
        if spec is not None:
            hint = " (add `integer: true` for a whole-number field)" if "integer" in line \
                and not spec.integer else ""
            line = f"{line} [the point value of uncertain {spec.describe()}]{hint}"
        out.append(line)
    return out


def _whole_number_paths(data: dict, specs: dict) -> list[str]:
    """Uncertain paths without `integer: true` whose field takes whole numbers: the point value
    validated as an int (a float field keeps 10.0 a float)."""
    trial = copy.deepcopy(data)
    for p, spec in specs.items():
        if not spec.integer:
            set_path(trial, p, 0.5)
    out = []
    try:
        Scenario.model_validate(trial)
    except ValidationError as exc:
        locs = {".".join(str(x) for x in e["loc"]) for e in exc.errors()
                if e["type"].startswith("int_")}
        out = [p for p in specs if p in locs]
    return out


def _check_support(data: dict, specs: dict) -> list[str]:
    """Every uncertain field must be valid over its distribution's whole support: validate the
    scenario with every uncertain field at the low end, then at the high end."""
    from ..policies import validate_policies

    errors: list[str] = []
    whole = _whole_number_paths(data, specs)
    for p in whole:
        errors.append(f"{p}: uncertain {specs[p].describe()}: a whole-number field: add "
                      f"`integer: true` so draws are rounded")
    if whole:
        return errors
    for end, i in (("low", 0), ("high", 1)):
        trial = copy.deepcopy(data)
        values = {}
        for p, spec in specs.items():
            v = spec.support()[i]
            values[p] = int(v) if spec.integer else v
            set_path(trial, p, values[p])
        try:
            found = validate_policies(Scenario.model_validate(trial))
        except ValidationError as exc:
            found = [line.partition(": ")[2] for line in _format_validation("x", exc)]
        for e in found:
            loc, _, msg = e.partition(": ")
            spec = specs.get(loc)
            if spec is not None:
                errors.append(f"{loc}: uncertain {spec.describe()}: its {end} end "
                              f"{values[loc]:g} is not allowed ({msg}): narrow the range "
                              f"(or truncate with low/high)")
            else:
                errors.append(f"{loc}: with every uncertain field at the {end} end of its "
                              f"range: {msg}")
    return list(dict.fromkeys(errors))


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Load, merge `extends`, apply `--set` overrides and validate a scenario file."""
    if str(path) == "":
        raise ScenarioError(["scenario: empty path: give a scenario YAML file"])
    data = load_raw(path)
    for expr in overrides:
        apply_set(data, expr)
    return validate_mapping(data, str(path))


def uncertain_fields(scenario: Scenario) -> dict:
    """{dotted path: `Uncertain`} of the scenario's uncertain fields (empty when none)."""
    return dict((scenario.__pydantic_private__ or {}).get("_uncertain") or {})


def scenario_to_dict(scenario: Scenario, uncertain: bool = False) -> dict:
    """The whole scenario, defaults included, as plain YAML-able data. With `uncertain`, the
    uncertain fields appear as their distributions (as in scenario.resolved.yaml), else as
    their point values."""
    data = scenario.model_dump(mode="json")
    specs = uncertain_fields(scenario) if uncertain else {}
    return restore_uncertain(data, specs) if specs else data


def scenario_sha256(scenario: Scenario) -> str:
    """A stable hash of the resolved scenario (seed and distributions included)."""
    blob = json.dumps(scenario_to_dict(scenario, uncertain=True), sort_keys=True,
                      ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def dump_yaml(data: dict) -> str:
    # libyaml's emitter where available: the same text (checked on the shipped scenarios) in
    # a fraction of the time
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                     allow_unicode=True, sort_keys=False, width=100)
