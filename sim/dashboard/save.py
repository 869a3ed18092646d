""""Save as scenario": the settings of a dashboard run as a YAML file `cogov validate` accepts.

The file is self-contained (the base scenario's merged mapping, `extends:` resolved and the
command line's `--set` overrides applied, with the lever values on top), so it can be moved,
compared (`cogov compare`) and briefed without the files it came from. A comment block at the
top says where it came from and which settings differ from the base.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path

from ..scenario.loader import dump_yaml, validate_mapping
from .controls import changed, scenario_mapping

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def default_name(base, values: dict, seed: int) -> str:
    """`<base>-<routing>-<assessment>-seed<N>`, or `<base>-seed<N>` when nothing changed."""
    parts = [base.scenario.name]
    for lv, v in changed(base, values):
        if lv.key in ("routing", "assessment"):
            parts.append(str(v))
    if len(parts) == 1 and changed(base, values):
        parts.append("custom")
    parts.append(f"seed{seed}")
    return _SAFE.sub("_", "-".join(parts))


def scenario_document(base, values: dict, seed: int, name: str | None = None) -> tuple[str, dict]:
    """(YAML text, mapping) of the scenario these settings run; validated before it is returned
    (raises `ScenarioError` with every problem otherwise)."""
    raw = scenario_mapping(base, values)
    name = name or default_name(base, values, seed)
    diffs = changed(base, values)
    raw["name"] = name
    # its own display names, so `compare` and a brief never show two columns with one title
    sc = base.scenario
    en = sc.display_name or sc.name
    zh = sc.display_name_zh or en
    levers = ", ".join(f"{lv.key} {v}" for lv, v in diffs) or "as the base"
    raw["display_name"] = f"{en} (dashboard: {levers}, seed {seed})"
    raw["display_name_zh"] = f"{zh}（看板保存：{levers}，种子 {seed}）"
    what = "; ".join(f"{lv.path} = {v}" for lv, v in diffs) or "no lever changed"
    raw["description"] = (f"Saved from the cogov dashboard: {base.scenario.name} with {what}, "
                          f"seed {seed}.")
    run = dict(raw.get("run") or {})
    run["seed"] = int(seed)
    raw["run"] = run
    validate_mapping(raw, name)
    header = [f"# {name}: saved from the cogov dashboard on "
              f"{_dt.datetime.now().isoformat(timespec='seconds')}",
              f"# base scenario: {base.label}"]
    if base.overrides:
        header.append(f"# with --set {' --set '.join(base.overrides)}")
    header.append("# settings changed from the base:" if diffs else
                  "# no setting changed from the base")
    for lv, v in diffs:
        header.append(f"#   {lv.path}: {lv.value} -> {v}")
    header.append(f"#   run.seed: {seed}")
    header.append("# self-contained (extends resolved); check it with: cogov validate FILE")
    return "\n".join(header) + "\n" + dump_yaml(raw), raw


def save_scenario(base, values: dict, seed: int, path: str | Path | None = None,
                  name: str | None = None) -> Path:
    """Write the scenario of these settings; returns the file written. `path` may be a
    directory (the file is then `<name>.yaml` in it) or a file; default `base.save_dir`."""
    name = name or default_name(base, values, seed)
    text, _ = scenario_document(base, values, seed, name)
    target = Path(path) if path else Path(base.save_dir)
    if target.suffix.lower() not in (".yaml", ".yml"):
        target = target / f"{_SAFE.sub('_', name)}.yaml"
    base_path = getattr(base, "path", None)
    if base_path and Path(base_path).exists() and target.resolve() == Path(base_path).resolve():
        raise ValueError(f"{target}: is the base scenario itself; save under another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)       # whole or absent, never half a file
    return target
