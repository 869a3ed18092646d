"""The compiled engine (mypyc) and the pure-Python engine are the same model: identical
results for a scenario and seed; a stale build is never used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]

RUN = """
import json, sys
import sim
from sim.runner import run_scenario
from sim.scenario.loader import load_scenario
sc = load_scenario(sys.argv[1], ["district.generate.grids_per_street=6",
                                 "district.generate.population=120000",
                                 "run.horizon_days=90", "run.warmup_days=10"])
r = run_scenario(sc, seed=7)
r.summary.pop("wall_seconds")   # the one number that may (and should) differ
print(json.dumps({"engine": sim.engine_info(), "summary": r.summary}))
"""


def _run(env_extra: dict, scenario: str) -> dict:
    env = {**os.environ, **env_extra}
    out = subprocess.run([sys.executable, "-c", RUN, scenario], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("scenario", ["scenarios/baohe_after.yaml",
                                      "scenarios/baohe_before.yaml"])
def test_compiled_and_pure_engine_give_identical_results(scenario):
    pure = _run({"COGOV_PURE_PYTHON": "1"}, scenario)
    assert pure["engine"]["compiled"] is False
    default = _run({"COGOV_PURE_PYTHON": "0"}, scenario)
    if not default["engine"]["compiled"]:
        pytest.skip(f"engine not compiled here ({default['engine']['reason']}): "
                    "only the pure-Python path can be checked")
    assert default["summary"] == pure["summary"]
    assert pure["summary"]["complaints"] > 1000   # a run with something in it


def test_the_engine_modules_are_one_compiled_group():
    """Kernel, mechanisms, engine and streams compiled together (setup.py, separate=False):
    every module of `sim.ENGINE_MODULES` is an extension and they share ONE mypyc library, so
    calls between them are direct C calls."""
    code = ("import importlib, json, sys, sim; "
            "mods = [importlib.import_module('sim.' + m) for m in sim.ENGINE_MODULES]; "
            "print(json.dumps({'info': sim.engine_info(), "
            "'files': [m.__file__ for m in mods], "
            "'groups': sorted(n for n in sys.modules if n.endswith('__mypyc'))}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "COGOV_PURE_PYTHON": "0"})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if not got["info"]["compiled"]:
        pytest.skip(f"engine not compiled here ({got['info']['reason']})")
    assert all(not f.endswith(".py") for f in got["files"]), got["files"]
    assert len(got["groups"]) == 1, got["groups"]


def test_engine_info_reports_a_reason():
    info = sim.engine_info()
    assert isinstance(info["compiled"], bool) and info["reason"]


def _import_with_record(record_data: dict) -> tuple[dict, list[str], str]:
    """Import `sim` in a fresh process with the build record replaced by `record_data`
    (restored after): (engine_info, [sim.engine's file, sim.kernel.lifecycle's file], stderr)."""
    record = ROOT / "sim" / sim.BUILD_RECORD
    if not record.exists():
        pytest.skip("no compiled build in this checkout (nothing can be stale)")
    saved = record.read_text()
    try:
        record.write_text(json.dumps(record_data))
        code = ("import warnings, json; warnings.simplefilter('always'); import sim; "
                "print(json.dumps(sim.engine_info())); import sim.engine as e; "
                "import sim.kernel.lifecycle as k; print(e.__file__); print(k.__file__)")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, timeout=120,
                             env={**os.environ, "COGOV_PURE_PYTHON": "0"})
    finally:
        record.write_text(saved)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    return json.loads(lines[0]), lines[1:3], out.stderr


def test_a_stale_build_record_falls_back_to_the_sources():
    """Edited sources with an old compiled build: the sources run, with a warning."""
    info, files, err = _import_with_record({m: "0" * 64 for m in sim.ENGINE_MODULES})
    assert info["compiled"] is False and "stale" in info["reason"]
    assert files[0].endswith("engine.py") and files[1].endswith("lifecycle.py")
    assert "Rebuild with `pip install -e .`" in err


def test_a_compiled_library_this_install_cannot_import_falls_back():
    """Sources unchanged, but the group's shared library (`<hash>__mypyc`) is not importable:
    an editable install made before the list of compiled modules changed maps the old name.
    The sources run, with a warning that says to reinstall, instead of an import traceback."""
    info, files, err = _import_with_record({**sim.source_hashes(),
                                            "__group__": "f" * 20 + "__mypyc"})
    assert info["compiled"] is False and "not importable" in info["reason"]
    assert files[0].endswith("engine.py") and files[1].endswith("lifecycle.py")
    assert "Rebuild with `pip install -e .`" in err
