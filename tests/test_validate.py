"""`cogov validate`: exit 0 with a summary line, or exit 2 listing every error, no traceback."""

from __future__ import annotations

from pathlib import Path

from sim.scenario.docgen import render

from .conftest import ROOT, cogov

MMC = (ROOT / "scenarios" / "validation" / "mmc.yaml").read_text()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _errors(proc) -> list[str]:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def test_valid_scenario(mmc_path):
    proc = cogov("validate", mmc_path)
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout and "1 grids" in proc.stdout


def test_every_error_is_listed_with_file_and_field(tmp_path):
    bad = MMC.replace("p_resolve: 1.0", "p_resolve: 1.5\n    colour: red").replace(
        "incidence_per_1000_per_year: {default: 35040.0}",
        "incidence_per_1000_per_year: {default: -3}").replace("owner: desk", "owner: nobody")
    p = _write(tmp_path, "bad.yaml", bad)
    errs = _errors(cogov("validate", p))
    text = "\n".join(errs)
    assert all(str(p) in e for e in errs)
    assert "catalogue.job.p_resolve" in text
    assert "catalogue.job.colour: unknown key" in text
    assert "catalogue.job.incidence_per_1000_per_year.default" in text
    assert len(errs) >= 3


def test_reference_errors(tmp_path):
    p = _write(tmp_path, "bad.yaml", MMC.replace("owner: desk", "owner: nobody"))
    assert any("catalogue.job.owner: unknown department 'nobody'" in e
               for e in _errors(cogov("validate", p)))
    p = _write(tmp_path, "nostaff.yaml", MMC.replace("staff: 10", "staff: 0"))
    assert any("has no staff" in e for e in _errors(cogov("validate", p)))


def test_extends_missing_cycle_and_bad_files(tmp_path):
    p = _write(tmp_path, "child.yaml", "extends: nowhere.yaml\nname: x\n")
    assert any("file not found" in e for e in _errors(cogov("validate", p)))
    _write(tmp_path, "a.yaml", "extends: b.yaml\n")
    _write(tmp_path, "b.yaml", "extends: a.yaml\n")
    assert any("cycle" in e for e in _errors(cogov("validate", tmp_path / "a.yaml")))
    p = _write(tmp_path, "empty.yaml", "")
    assert any("empty" in e for e in _errors(cogov("validate", p)))
    p = _write(tmp_path, "broken.yaml", "name: [unclosed\n")
    assert any("not valid YAML" in e for e in _errors(cogov("validate", p)))
    p = _write(tmp_path, "list.yaml", "- 1\n- 2\n")
    assert any("mapping" in e for e in _errors(cogov("validate", p)))


def test_extends_inherits_and_overrides(tmp_path, mmc_path):
    p = _write(tmp_path, "child.yaml", f"extends: {mmc_path}\nname: child\n"
                                       "departments: {desk: {staff: 12}}\n")
    proc = cogov("validate", p)
    assert proc.returncode == 0, proc.stderr
    assert "'child'" in proc.stdout


def test_set_overrides_are_type_checked(mmc_path, tmp_path):
    errs = _errors(cogov("validate", mmc_path, "--set", "departments.desk.staff=many"))
    assert any("departments.desk.staff" in e for e in errs)
    errs = _errors(cogov("validate", mmc_path, "--set", "run.horizon_dayz=3"))
    assert any("run.horizon_dayz: unknown key" in e for e in errs)
    proc = cogov("validate", mmc_path, "--set", "run.horizon_days=30")
    assert proc.returncode == 0 and "30 days" in proc.stdout


def test_unclearable_load_warns(mmc_path):
    proc = cogov("validate", mmc_path, "--set", "departments.desk.staff=5")
    assert proc.returncode == 0
    assert "never clear" in proc.stderr and "utilisation 1.60" in proc.stderr


def test_unknown_policy_is_an_error(mmc_path):
    errs = _errors(cogov("validate", mmc_path, "--set", "routing.policy=teleport"))
    assert any("routing.policy: unknown routing policy 'teleport'" in e for e in errs)
    errs = _errors(cogov("validate", mmc_path, "--set", "routing.params.speed=3"))
    assert any("routing.params.speed" in e for e in errs)


def test_run_fails_before_writing_on_bad_input(mmc_path, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    _errors(cogov("run", mmc_path, "--out", out, "--set", "catalogue.job.p_resolve=2"))
    assert (out / "keep.txt").read_text() == "precious"
    assert not (out / "summary.json").exists()


def test_scenario_reference_is_current():
    committed = (ROOT / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/scenario-reference.md is stale: run " \
                                  "`python -m sim.scenario.docgen`"
