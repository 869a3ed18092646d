from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
#: the real case logs (../shared/data next to the repository); COGOV_SHARED_DATA overrides it
#: (e.g. for a git worktree that does not sit next to shared/)
SHARED_DATA = Path(os.environ.get("COGOV_SHARED_DATA") or ROOT.parent / "shared" / "data")


def cogov(*args, cwd=None, check=False) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess (as a user would), capturing output."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=env, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"cogov {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


@pytest.fixture
def mmc_path() -> Path:
    return SCENARIOS / "validation" / "mmc.yaml"


@pytest.fixture(autouse=True)
def _free_finished_models():
    """After each test, let the models it built be freed: Mesa 3.3 keeps every model alive in
    `Agent._ids` (mesa issue #3179, see `sim.experiments.backends._release`), so a suite of
    hundreds of runs in one process would otherwise grow by one model per run (13 GB measured)."""
    yield
    try:
        import mesa
    except ImportError:
        return
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict) and ids:
        ids.clear()
        gc.collect()
