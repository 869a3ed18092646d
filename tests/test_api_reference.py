"""The API reference is generated from the docstrings with pdoc (`python -m pdoc -o DIR sim`,
see docs/design.md) and builds: the core's pages in every run, the whole package as a slow
test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ["sim.kernel", "sim.mechanisms", "sim.world", "sim.engine", "sim.model", "sim.runner",
        "sim.streams"]


def _build(modules, out):
    """pdoc in a fresh process on the sources (COGOV_PURE_PYTHON=1: the compiled modules keep
    no source for pdoc to read), as `python -m pdoc -o OUT MODULES` would run."""
    pytest.importorskip("pdoc", reason="pdoc is in the test extra: pip install -e .[test]")
    proc = subprocess.run([sys.executable, "-m", "pdoc", "-o", str(out), *modules], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COGOV_PURE_PYTHON": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_the_core_api_reference_builds(tmp_path):
    out = _build(CORE, tmp_path)
    for page in ["sim/kernel/calendar.html", "sim/kernel/lifecycle.html",
                 "sim/mechanisms/supervision.html", "sim/world/compiled.html", "sim/engine.html"]:
        assert (out / page).exists(), page
    text = (out / "sim/kernel/calendar.html").read_text(encoding="utf-8")
    assert "sched_after" in text and "first-in-first-out" in text   # docstrings are in it
    assert "compile_world" in (out / "sim/world/compiled.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_whole_api_reference_builds(tmp_path):
    out = _build(["sim"], tmp_path)
    assert (out / "sim.html").exists() and (out / "index.html").exists()
    assert len(list(out.rglob("*.html"))) > 60
