"""[hardening] Issue 27: every command that writes goes through the safe-output code
(`sim.outdir`): a check before any work, a lock, a temporary folder renamed into place,
`--force` for an earlier cogov output only, and never a write over a file an input reads
(`extends` parents included). A full disk is exit 2 naming the output, earlier outputs intact.

One parametrised test per class of fault; each case is one that ended in a traceback, or
changed or destroyed earlier files, before (issue 27's list).
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
import yaml

from sim.runner import run_scenario, write_outputs
from sim.scenario.loader import validate_mapping

from .conftest import ROOT
from .test_hardening import cli, refused, snapshot
from .test_hardening_memory import TINY

MAPPING = ROOT / "mappings" / "cogov_caselog.yaml"


def tiny_yaml(days: int = 5) -> str:
    m = yaml.safe_load(yaml.safe_dump(TINY))
    m["district"]["streets"][0]["grids"] = [{"name": "G1", "population": 4000},
                                            {"name": "G2", "population": 4000}]
    m["run"]["horizon_days"] = days
    return yaml.safe_dump(m, sort_keys=False)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> Path:
    """A tiny scenario and its own case log (CSV), read through cogov's identity mapping."""
    d = tmp_path_factory.mktemp("log")
    (d / "tiny.yaml").write_text(tiny_yaml(), encoding="utf-8")
    sc = validate_mapping(yaml.safe_load(tiny_yaml()), "tiny")
    write_outputs(run_scenario(sc), d / "run", "csv")
    return d


# ----------------------------------------------------------------------------- replay
def _replay_cases(d: Path):
    """(name, args, out folder to prepare, what must be named)"""
    log, sc = d / "run" / "cases.csv", d / "tiny.yaml"
    return {
        "empty --out": (["replay", log, "--mapping", MAPPING, "--scenario", sc, "--out", ""],
                        ["--out"]),
        "into its own input's folder": (["replay", log, "--mapping", MAPPING, "--scenario", sc,
                                         "--out", d / "run", "--format", "csv", "--force"],
                                        ["--out", "own input"]),
        "over an earlier run without --force": (["replay", log, "--mapping", MAPPING,
                                                 "--scenario", sc, "--out", d / "earlier"],
                                                ["--out", "--force"]),
        "over a user's folder": (["replay", log, "--mapping", MAPPING, "--scenario", sc,
                                  "--out", d / "mine", "--force"], ["--out", "did not write"]),
        "the scenario as --out": (["replay", log, "--mapping", MAPPING, "--scenario", sc,
                                   "--out", sc, "--force"], ["--out"]),
    }


@pytest.mark.parametrize("case", ["empty --out", "into its own input's folder",
                                  "over an earlier run without --force", "over a user's folder",
                                  "the scenario as --out"])
def test_replay_refuses_unsafe_outputs(capsys, logdir, case, tmp_path):
    (logdir / "earlier").mkdir(exist_ok=True)
    (logdir / "earlier" / "summary.json").write_text("{}", encoding="utf-8")
    (logdir / "mine").mkdir(exist_ok=True)
    (logdir / "mine" / "notes.txt").write_text("my notes", encoding="utf-8")
    args, names = _replay_cases(logdir)[case]
    refused(capsys, *args, names=tuple(names), keep=(logdir,))


def test_replay_writes_whole_outputs_and_force_replaces(capsys, logdir, tmp_path):
    out = tmp_path / "rp"
    base = ["replay", logdir / "run" / "cases.csv", "--mapping", MAPPING, "--scenario",
            logdir / "tiny.yaml", "--out", out, "--quiet", "--format", "csv"]
    code, _, err = cli(capsys, *base)
    assert code == 0, err
    assert (out / "summary.json").exists() and (out / "replay_input.json").exists()
    assert (out / ".cogov-output.json").exists()
    refused(capsys, *base, names=("--out", "--force"), keep=(out,))
    code, _, err = cli(capsys, *base, "--force")
    assert code == 0, err
    assert not list(tmp_path.glob(".rp.*")), list(tmp_path.iterdir())   # no temp left


# ----------------------------------------------------------------------------- calibrate
@pytest.mark.parametrize("case", ["ranges file over a user's file", "report over a user's folder",
                                  "ranges file is the mapping", "--out is a parent of --base"])
def test_calibrate_outputs_are_checked_first(capsys, logdir, tmp_path, case):
    """calibrate --behaviour's OUT.ranges.yaml and OUT_report/ go through the safe-output code
    (checked before the log is read: these exit at once, before any ABC run)."""
    d = tmp_path
    (d / "base.yaml").write_text(f"extends: {logdir / 'tiny.yaml'}\nname: base\n",
                                 encoding="utf-8")
    mapping = d / "m.yaml"
    mapping.write_text(MAPPING.read_text(encoding="utf-8"), encoding="utf-8")
    out, names, force = d / "cal.yaml", ("--out",), []
    if case == "ranges file over a user's file":
        (d / "cal.ranges.yaml").write_text("mine: 1\n", encoding="utf-8")
        names = ("--out", "already exists")
    elif case == "report over a user's folder":
        (d / "cal_report").mkdir()
        (d / "cal_report" / "posterior.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        (d / "cal_report" / "notes.txt").write_text("mine", encoding="utf-8")
        force = ["--force"]
    elif case == "ranges file is the mapping":
        mapping = d / "cal.ranges.yaml"
        mapping.write_text(MAPPING.read_text(encoding="utf-8"), encoding="utf-8")
        force, names = ["--force"], ("own input",)
    else:
        out, force, names = logdir / "tiny.yaml", ["--force"], ("own input",)
    refused(capsys, "calibrate", logdir / "run" / "cases.csv", "--mapping", mapping,
            "--base", d / "base.yaml", "--out", out, "--behaviour", *force, names=names,
            keep=(d, logdir))


# ----------------------------------------------------------------------------- extends
@pytest.fixture
def family(tmp_path) -> Path:
    """parent.yaml <- child.yaml (extends), and a compare results folder."""
    (tmp_path / "parent.yaml").write_text(tiny_yaml(2), encoding="utf-8")
    (tmp_path / "child.yaml").write_text("extends: parent.yaml\nname: child\n",
                                         encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("command", ["routing export", "routing import", "calibrate", "run"])
def test_no_output_replaces_an_extends_parent(capsys, family, logdir, command):
    d = family
    if command == "routing export":
        args = ["routing", "export", d / "child.yaml", "--out", d / "parent.yaml", "--force"]
    elif command == "routing import":
        code, _, err = cli(capsys, "routing", "export", d / "child.yaml", "--out",
                           d / "t.csv")
        assert code == 0, err
        args = ["routing", "import", d / "t.csv", "--into", d / "child.yaml", "--out",
                d / "parent.yaml", "--force"]
    elif command == "calibrate":
        args = ["calibrate", logdir / "run" / "cases.csv", "--mapping", MAPPING, "--base",
                d / "child.yaml", "--out", d / "parent.yaml", "--force"]
    else:                  # a results folder that holds the parent
        args = ["run", d / "child.yaml", "--out", d, "--force", "--quiet"]
    refused(capsys, *args, names=("--out", "parent.yaml") if command != "run" else ("--out",),
            keep=(d,))


def test_brief_never_replaces_its_own_input_table(capsys, tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    (res / "comparison.csv").write_text("metric,a\nx,1\n", encoding="utf-8")
    (res / "manifest.json").write_text("{}", encoding="utf-8")
    refused(capsys, "brief", res, "--out", res / "comparison.csv", "--force",
            names=("--out", "input folder"), keep=(res,))


# ----------------------------------------------------------------------------- compare
@pytest.mark.slow   # three compare --uncertainty runs with figures: ~35 s of a 2-core host
def test_compare_uncertainty_force_and_resume_in_its_own_folder(capsys, tmp_path, logdir):
    """A finished `compare --uncertainty` can be redone with --force and continued with
    --resume in its own folder (both used to exit 2: "holds files cogov did not write")."""
    sc = tmp_path / "a.yaml"
    sc.write_text(tiny_yaml(2), encoding="utf-8")
    sb = tmp_path / "b.yaml"
    sb.write_text("extends: a.yaml\nname: b\ndepartments:\n  env:\n    staff: 7\n",
                  encoding="utf-8")
    ranges = tmp_path / "r.yaml"
    ranges.write_text("ranges:\n  departments.env.staff:\n    uncertain: uniform\n"
                      "    low: 4\n    high: 8\n    integer: true\n    why: test\n",
                      encoding="utf-8")
    out = tmp_path / "o"
    base = ["compare", sc, sb, "--replications", "1", "--uncertainty", "2", "--ranges", ranges,
            "--out", out, "--quiet"]
    code, _, err = cli(capsys, *base)
    assert code in (0, 1), err
    ledger = out / "uncertainty" / "ledger.sqlite"
    assert ledger.exists()
    n = sqlite3.connect(ledger).execute("select count(*) from runs").fetchone()[0]
    code, _, err = cli(capsys, *base, "--resume")
    assert code in (0, 1) and "error" not in err, err
    assert sqlite3.connect(ledger).execute("select count(*) from runs").fetchone()[0] == n
    code, _, err = cli(capsys, *base, "--force")
    assert code in (0, 1) and "error" not in err, err
    assert ledger.exists()


# ----------------------------------------------------------------------------- full disk
def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("command", ["run", "compare", "calibrate", "sweep"])
def test_full_disk_exits_2_naming_the_output(capsys, monkeypatch, tmp_path, logdir, command):
    sc = tmp_path / "a.yaml"
    sc.write_text(tiny_yaml(2), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"earlier": true}', encoding="utf-8")
    target = out
    if command == "run":
        import sim.runner

        monkeypatch.setattr(sim.runner, "write_outputs", _enospc)
        args = ["run", sc, "--out", out, "--force", "--quiet"]
    elif command == "compare":
        import importlib

        # the module (sim.experiments re-exports a function of the same name)
        C = importlib.import_module("sim.experiments.compare")

        monkeypatch.setattr(C, "write_comparison", _enospc, raising=False)
        monkeypatch.setattr(C.pd.DataFrame, "to_csv", _enospc)
        args = ["compare", sc, "--replications", "1", "--out", out, "--force", "--quiet"]
    elif command == "calibrate":
        import sim.calibrate.scenario_out as S

        monkeypatch.setattr(S, "write_scenario", _enospc)
        target = tmp_path / "cal.yaml"
        target.write_text("earlier: true\n", encoding="utf-8")
        args = ["calibrate", logdir / "run" / "cases.csv", "--mapping", MAPPING, "--base", sc,
                "--out", target, "--force"]
    else:
        from sim.experiments.store import Ledger

        def full(self, row):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(Ledger, "record", full)
        exp = tmp_path / "exp.yaml"
        exp.write_text(f"name: e\nscenario: {sc}\nreplications: 1\nfactors:\n"
                       f"  staff: {{path: departments.env.staff, levels: [5, 6]}}\n",
                       encoding="utf-8")
        target = tmp_path / "sw"
        args = ["sweep", exp, "--out", target, "--quiet"]
    before = snapshot(out)
    code, so, err = cli(capsys, *args)
    assert code == 2, (code, so, err)
    assert "Traceback" not in err and "no space left" in err, err
    assert str(target) in err, err
    assert "corrupt" not in err
    assert snapshot(out) == before
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
