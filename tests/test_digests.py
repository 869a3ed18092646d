"""The model's results, pinned: summaries of 3 scenarios x 2 seeds at a reduced scale, hashed
and compared with stored digests (tests/data/digests.json).

A refactor must reproduce them exactly. A model change that moves results on purpose updates
them deliberately, with a CHANGELOG line:

    python -m tests.test_digests --update

The stored file also keeps every summary at full precision, so a mismatch names the metrics
that moved (and by how much), not just a different hash.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "digests.json"

#: two streets of 20 grids, 110 days: every mechanism of the scenarios still fires
SMALL = ("district.generate.streets=2", "district.generate.grids_per_street=20",
         "district.generate.population=48000",
         "district.generate.street_names=[Wuhulu, Baogong]",
         "run.horizon_days=110", "run.warmup_days=10")
#: scenario -> its extra overrides. Between them: platform triage, transfers, dual dispatch,
#: main/co-handling, linkage, handback, on-site action, recurrence, a campaign (days 50-100)
SCENARIOS = {"baohe_before": (), "baohe_after": (),
             "mechanisms/campaign": ("linkage.enabled=true", "dispatch.default_mode=dual")}
SEEDS = (3, 4)
#: keys that describe the run rather than its result
VOLATILE = ("wall_seconds", "cogov_version", "scenario_sha256")


def summary(name: str, seed: int) -> dict:
    from sim.runner import run_scenario
    from sim.scenario.loader import load_scenario

    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml", [*SMALL, *SCENARIOS[name]])
    out = dict(run_scenario(sc, seed=seed).summary)
    for k in VOLATILE:
        out.pop(k, None)
    return out


def canonical(s: dict) -> str:
    """The summary as text with every float at full precision (repr round-trips)."""
    return json.dumps(s, sort_keys=True, ensure_ascii=True, allow_nan=True)


def digest(s: dict) -> str:
    return hashlib.sha256(canonical(s).encode()).hexdigest()


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def moved(stored: dict, now: dict) -> list[str]:
    """The metrics that differ, each with its stored and its new value."""
    a, b = _flat(stored), _flat(now)
    lines = []
    for k in sorted(set(a) | set(b)):
        if k not in a or k not in b or not _same(a[k], b[k]):
            lines.append(f"{k}: stored {a.get(k, '<absent>')!r}, now {b.get(k, '<absent>')!r}")
    return lines


def overrides() -> dict:
    return {name: [*SMALL, *extra] for name, extra in SCENARIOS.items()}


def _key(name: str, seed: int) -> str:
    return f"{name}@{seed}"


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("seed", SEEDS)
def test_summary_matches_stored_digest(name, seed):
    stored = json.loads(DATA.read_text(encoding="utf-8"))
    entry = stored["runs"][_key(name, seed)]
    assert stored["overrides"] == overrides(), "digests stored for other overrides: --update"
    now = summary(name, seed)
    assert now["complaints"] > 100   # a run with something in it
    if digest(now) != entry["digest"]:
        diff = moved(entry["summary"], now)
        pytest.fail(f"{name} seed {seed}: results changed ({len(diff)} metrics):\n"
                    + "\n".join(diff[:40]))


def update() -> None:
    runs = {}
    for name in SCENARIOS:
        for seed in SEEDS:
            s = summary(name, seed)
            runs[_key(name, seed)] = {"digest": digest(s), "summary": json.loads(canonical(s))}
            print(f"{name} seed {seed}: {runs[_key(name, seed)]['digest'][:16]}")
    DATA.write_text(json.dumps({"overrides": overrides(), "runs": runs}, indent=1,
                               sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {DATA}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.test_digests --update  (regenerates the stored digests "
                 "on purpose; add a CHANGELOG line)")
    update()
