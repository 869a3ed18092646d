"""The worked example of docs/design.md, "A new mechanism": supervision (督办), one module
(sim/mechanisms/supervision.py), one registry name, one YAML key, this test. The module and the
scenario snippet shown in docs/design.md are checked against the real ones, and run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.mechanisms.registry import registry
from sim.model import GovernanceModel
from sim.scenario.loader import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
SMALL = ["district.generate.streets=2", "district.generate.grids_per_street=10",
         "district.generate.population=24000", "district.generate.street_names=[Wuhulu, Baogong]",
         "run.horizon_days=40", "run.warmup_days=5"]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DESIGN.read_text(encoding="utf-8"), re.S)


def _scenario(tmp_path: Path, after_hours: float | None, extra=()):
    """The design doc's scenario snippet (with `after_hours` replaced), extending the real
    baohe_after.yaml; None: without the mechanisms section."""
    snippet = next(b for b in _blocks("yaml") if "supervision" in b)
    text = snippet.replace("extends: baohe_after.yaml",
                           f"extends: {(ROOT / 'scenarios' / 'baohe_after.yaml').as_posix()}")
    if after_hours is None:
        text = text[:text.index("mechanisms:")]
    else:
        text = re.sub(r"after_hours: [0-9.]+", f"after_hours: {after_hours}", text)
    path = tmp_path / f"supervised_{after_hours}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path, [*SMALL, *extra])


def _run(sc, seed=5):
    m = GovernanceModel(sc, seed=seed)
    m.run()
    return m


def test_the_design_doc_shows_the_module_as_it_is():
    shown = next(b for b in _blocks("python") if "class Supervision(Mechanism)" in b)
    assert shown == (ROOT / "sim" / "mechanisms" / "supervision.py").read_text(encoding="utf-8")


def test_one_registry_name_and_one_yaml_key():
    cls = registry()["supervision"]
    assert cls.KEY == "mechanisms.supervision" and cls.__module__ == "sim.mechanisms.supervision"
    assert list(registry()).index("supervision") == len(registry()) - 1   # ORDER 60: last


def test_supervision_raises_priority_of_exactly_the_cases_open_too_long(tmp_path):
    m = _run(_scenario(tmp_path, 72))
    e = m.engine
    sup = next(x for x in e.mechanisms if x.NAME == "supervision")
    # independently: cases opened at least 72 h before the horizon and not closed by then
    expected = sum(1 for c in e.cases if c.opened + 72.0 <= e.horizon
                   and (c.closed < 0 or c.closed > c.opened + 72.0))
    assert sup.supervised == expected > 20
    assert all(c.prio == 0 for c in e.cases if c.closed < 0 and c.opened + 72.0 <= e.horizon)


def test_off_or_never_due_changes_nothing(tmp_path):
    from sim.records import case_table, complaint_table, summarize

    def summary(m):
        return summarize(m, case_table(m), complaint_table(m))
    off = _run(_scenario(tmp_path, None))
    never = _run(_scenario(tmp_path, 10_000))     # after the horizon: never fires
    assert not any(x.NAME == "supervision" for x in off.engine.mechanisms)
    assert summary(off) == summary(never)


@pytest.mark.parametrize("snippet, message", [
    ("mechanisms: {supervison: {after_hours: 72}}", "mechanisms.supervison: unknown mechanism"),
    ("mechanisms: {supervision: {after_hour: 72}}",
     "mechanisms.supervision.after_hour: unknown parameter"),
    ("mechanisms: {supervision: {after_hours: soon}}",
     "mechanisms.supervision.after_hours: 'soon' is not a float"),
])
def test_bad_yaml_names_the_key(tmp_path, snippet, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"extends: {(ROOT / 'scenarios' / 'baohe_after.yaml').as_posix()}\n"
                    f"{snippet}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert message in str(exc.value)
