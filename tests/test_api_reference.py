"""The API reference is generated from the docstrings with pdoc (`python -m pdoc -o DIR sim`,
see docs/design.md) and builds: the core's pages in every run, the whole package as a slow
test."""

from __future__ import annotations

import pytest

CORE = ["sim.kernel", "sim.mechanisms", "sim.world", "sim.engine", "sim.model", "sim.runner",
        "sim.streams"]


def _build(modules, out):
    pdoc = pytest.importorskip("pdoc", reason="pdoc is in the test extra: pip install -e .[test]")
    pdoc.pdoc(*modules, output_directory=out)
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
