from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHARED_DATA = ROOT.parent / "shared" / "data"


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
