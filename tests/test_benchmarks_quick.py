"""The benchmark suite keeps working: `python -m benchmarks --quick` writes its table.

No timing assertions: speed depends on the machine. Only that every part ran and reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow   # the quick benchmarks (.ci/run runs them again anyway): ~75 s
def test_quick_benchmarks_write_all_four_parts(tmp_path):
    out = tmp_path / "results.md"
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-4000:]
    text = out.read_text(encoding="utf-8")
    for heading in ("## Targets", "## (a) M/M/c", "## (b) District-year", "## (c) Scaling",
                    "## (d) Sweep", "## (e) Whole processes"):
        assert heading in text, heading
    assert "Python" in text and "numpy" in text and "mesa" in text  # the machine line

    res = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert res["mode"] == "quick" and not res["errors"]
    assert {"a", "b", "c", "d", "e"} <= res.keys()
    targets = [t["key"] for p in "abcd" for t in res[p]["targets"]]
    assert targets == ["a", "b_time", "b_rss", "c", "d"]
    # the numbers are there and sane (not their size)
    a = res["a"]
    assert a["cogov_cases"] > 0 and a["simpy_cases"] > 0 and a["ratio"] > 0
    assert res["b"]["complaints"] > 0 and res["b"]["peak_rss"] > 0
    assert [r["fraction"] for r in res["c"]["rows"]] == [0.125, 0.25, 0.5, 1.0]
    assert res["d"]["identical_results"] is True
    assert res["d"]["runs"] > 0 and res["d"]["ratio"] > 0
    e = res["e"]       # whole processes: cogov run beside SimPy's script, start-up times
    assert [t["key"] for t in e["targets"]] == ["e_district", "e_mmc", "e_help", "e_validate"]
    assert e["mmc_cases"] > 0 and e["ratio"] > 0 and "cases.parquet" in e["output_bytes"]
    assert all(e["best"][k]["wall_s"] > 0 for k in ("district", "mmc", "simpy", "help"))
