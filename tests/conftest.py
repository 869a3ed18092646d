from __future__ import annotations

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
