"""The assumptions of `cogov compare --uncertainty` and where their draws land.

An `Assumption` is one dimension of the Latin-hypercube draws: the uncertain fields the
scenarios declare themselves (`{uncertain: ...}`) and the entries of a ranges file
(`load_ranges`), resolved to the concrete dotted paths of each scenario (`resolve`,
`assumptions_for`). `check_support` fails early when a scenario would not stay valid at an
end of a range; `lhs` draws the points of the unit hypercube. The run and its analysis:
`sim/experiments/robustness.py` and `sim/experiments/robustness_analysis.py`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..scenario.loader import ScenarioError, validate_mapping
from ..scenario.paths import set_path
from ..scenario.uncertain import RANGE_KEYS, Uncertain, UncertainError, parse


# ---------------------------------------------------------------------- ranges and paths
@dataclass
class Assumption:
    """One dimension of the draws: a name and, per scenario, the concrete paths it sets."""

    name: str
    spec: Uncertain
    why: str = ""
    neutral: float | None = None
    source: str = ""                                    # "scenario NAME" or the ranges file
    paths: dict[str, list[tuple[str, Uncertain]]] = field(default_factory=dict)
    scale: bool = False           # the draw multiplies the value at each path

    def value_at(self, spec: Uncertain, base, x: float):
        """The field's value for draw (or neutral) value `x`: `x` itself, or `base * x`."""
        if self.scale:
            x = float(base) * x
        return int(round(x)) if spec.integer else x


_SEG = re.compile(r"^([^\[\]]+)(?:\[([^\[\]]+)\])?$")


def resolve(data: dict, pattern: str) -> list[str]:
    """Concrete dotted paths of `data` matched by `pattern` (`*` any key; `key[NAME]` the
    mapping (or list items) under `key` whose `policy` or `name` is NAME). The last segment may
    be absent (a parameter left at its default)."""
    segs = pattern.split(".")
    out: list[str] = []

    def walk(node, i, path):
        if i == len(segs):
            out.append(".".join(path))
            return
        m = _SEG.match(segs[i])
        if not m:
            return
        key, sel = m.groups()
        last = i == len(segs) - 1
        if isinstance(node, list):
            keys = [str(j) for j in range(len(node))] if key == "*" else (
                [key] if key.isdigit() and int(key) < len(node) else [])
            get = lambda k: node[int(k)]  # noqa: E731
        elif isinstance(node, dict):
            keys = list(node) if key == "*" else ([key] if key in node or (last and not sel)
                                                  else [])
            get = node.get
        else:
            return
        for k in keys:
            child = get(k)
            if sel is None:
                if last:
                    if child is None or isinstance(child, (int, float)):
                        out.append(".".join([*path, k]))
                else:
                    walk(child, i + 1, [*path, k])
                continue
            if isinstance(child, list):
                for j, item in enumerate(child):
                    if isinstance(item, dict) and sel in (item.get("policy"), item.get("name")):
                        walk(item, i + 1, [*path, k, str(j)])
            elif isinstance(child, dict) and sel in (child.get("policy"), child.get("name")):
                walk(child, i + 1, [*path, k])

    walk(data, 0, [])
    return out


def _get_or_none(data, path):
    from ..scenario.uncertain import get_path

    try:
        return get_path(data, path)
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def load_ranges(path: str | Path) -> dict[str, tuple[Uncertain, str, float | None]]:
    """{pattern: (distribution, why, neutral)} of a ranges file; every error listed."""
    from ..yamlsafe import read_file

    p = Path(path)
    data = read_file(p, "ranges file", "--ranges")     # strict: sim/yamlsafe.py
    if not isinstance(data, dict) or not isinstance(data.get("ranges"), dict):
        raise UserError([f"{p}: expected a mapping `ranges:` of dotted path: "
                         f"{{uncertain: FAMILY, ..., why: ...}} (see "
                         f"scenarios/assumptions/ranges.yaml)"])
    extra = sorted(set(data) - {"ranges", "version", "description"})
    errors = [f"{p}: {k}: unknown top-level key (use `ranges`)" for k in extra]
    out = {}
    for key, entry in data["ranges"].items():
        where = f"{p}: ranges.{key}"
        if not isinstance(entry, dict) or "uncertain" not in entry:
            errors.append(f"{where}: expected {{uncertain: FAMILY, ...params, why: ...}}")
            continue
        try:
            spec = parse(entry, allow=RANGE_KEYS)
        except UncertainError as exc:
            errors.append(f"{where}: {exc}")
            continue
        why = str(entry.get("why") or "").strip()
        if not why:
            errors.append(f"{where}: `why` is missing: say where the range comes from")
        neutral = entry.get("neutral")
        if neutral is not None and (isinstance(neutral, bool)
                                    or not isinstance(neutral, (int, float))):
            errors.append(f"{where}: neutral must be a number, got {neutral!r}")
            neutral = None
        scale = entry.get("scale", False)
        if not isinstance(scale, bool):
            errors.append(f"{where}: scale must be true or false, got {scale!r}")
        spec.extra["scale"] = bool(scale)
        out[str(key)] = (spec, why, None if neutral is None else float(neutral))
    if errors:
        raise UserError(errors)
    return out


def assumptions_for(loaded: list[tuple[str, dict, dict]], ranges: dict | None,
                    ranges_source: str = "") -> tuple[list[Assumption], list[str]]:
    """The draw dimensions from each (name, point mapping, uncertain fields) and the ranges."""
    dims: dict[str, Assumption] = {}
    notes = []
    own: dict[str, set[str]] = {}
    for name, _, specs in loaded:
        own[name] = set(specs)
        for p, spec in specs.items():
            a = dims.setdefault(p, Assumption(p, spec, source=f"scenario {name}"))
            a.paths.setdefault(name, []).append((p, spec))
    for pattern, (spec, why, neutral) in (ranges or {}).items():
        a = Assumption(pattern, spec, why, neutral, ranges_source,
                       scale=bool(spec.extra.get("scale")))
        for name, data, _ in loaded:
            hits = [c for c in resolve(data, pattern) if c not in own[name]]
            if a.scale:     # a multiplier needs a number to multiply
                hits = [c for c in hits if isinstance(_get_or_none(data, c), (int, float))]
            if hits:
                a.paths[name] = [(c, spec) for c in hits]
        if a.paths:
            if pattern in dims:
                dims[pattern].paths.update(a.paths)
            else:
                dims[pattern] = a
        else:
            notes.append(f"{ranges_source}: {pattern}: applies to none of the scenarios "
                         f"(left out)")
    return list(dims.values()), notes


def check_support(names, datas, dims) -> list[str]:
    """Every scenario must stay valid with every assumption at the low end of its range, and
    at the high end (and at its neutral value): else a draw would fail. Errors name the
    assumption, the scenario and the fix."""
    from ..scenario.uncertain import get_path

    errors = []
    ends = [("low end", 0.0), ("high end", 1.0), ("neutral value", None)]
    for name, data in zip(names, datas):
        for d in dims:
            for path, spec in d.paths.get(name, []):
                try:
                    v = get_path(data, path)
                except (KeyError, IndexError, ValueError, TypeError):
                    continue
                if isinstance(v, int) and not isinstance(v, bool) and not spec.integer \
                        and not d.scale:
                    errors.append(f"{d.source or 'uncertain fields'}: {d.name}: {path} takes "
                                  f"whole numbers in {name}: add `integer: true`")
        for what, u in ends:
            trial = copy.deepcopy(data)
            where = {}
            for d in dims:
                for path, spec in d.paths.get(name, []):
                    if u is None:
                        if d.neutral is None:
                            continue
                        x = d.neutral
                    else:
                        x = spec.support()[int(u)]
                    v = d.value_at(spec, _get_or_none(data, path), x)
                    set_path(trial, path, v)
                    where[path] = (d, v)
            if not where:
                continue
            try:
                validate_mapping(trial, name)
            except ScenarioError as exc:
                for e in exc.errors:
                    loc, _, msg = e.partition(": ")[2].partition(": ")
                    hit = where.get(loc)
                    if hit:
                        d, v = hit
                        errors.append(f"{d.source or 'uncertain fields'}: {d.name}: its {what} "
                                      f"{v:g} is not allowed in {name} ({loc}: {msg}): narrow "
                                      f"the range" + (" or add `integer: true`" if "integer"
                                                      in msg else ""))
                    else:
                        errors.append(f"{name} with every assumption at its {what}: {e}")
    return list(dict.fromkeys(errors))


def lhs(n_dims: int, n: int, seed: int) -> np.ndarray:
    """n Latin-hypercube points in [0, 1]^n_dims (SALib)."""
    from SALib.sample import latin

    problem = {"num_vars": n_dims, "names": [f"x{i}" for i in range(n_dims)],
               "bounds": [[0.0, 1.0]] * n_dims}
    return np.asarray(latin.sample(problem, n, seed=int(seed) % (2 ** 32)), float)
