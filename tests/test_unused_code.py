"""No unused code in sim/ (vulture, as .ci/run runs it; settings in pyproject.toml, names
used where vulture cannot see in .ci/vulture_whitelist.py, each with its reason)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_vulture_finds_no_unused_code():
    pytest.importorskip("vulture", reason="vulture is in the test extra: pip install -e .[test]")
    exe = shutil.which("vulture", path=str(Path(sys.executable).parent)) or "vulture"
    out = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, "unused code (remove it, or whitelist it with a reason in " \
                                ".ci/vulture_whitelist.py):\n" + out.stdout + out.stderr
