"""Builds cogov's engine (`sim/engine.py`, `sim/streams.py`) as C extensions with mypyc.

Everything else is in pyproject.toml. The compiled modules are optional: where mypyc or a C
compiler is missing, or with COGOV_PURE_PYTHON=1, cogov installs and runs as plain Python from
the same source (same results, about 2-3x slower; `cogov --version` says which).
"""

import hashlib
import json
import os
import sys

from setuptools import setup

COMPILED = ["sim/engine.py", "sim/streams.py"]


def ext_modules():
    if os.environ.get("COGOV_PURE_PYTHON") == "1":
        print("cogov: COGOV_PURE_PYTHON=1, the engine stays pure Python", file=sys.stderr)
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        print(f"cogov: mypyc not available ({exc}); the engine stays pure Python",
              file=sys.stderr)
        return []
    exts = mypycify(COMPILED, opt_level="3", debug_level="0")
    # record what was compiled, so `sim` can tell a stale build (edited sources) at import
    record = {os.path.basename(p)[:-3]: hashlib.sha256(open(p, "rb").read()).hexdigest()
              for p in COMPILED}
    with open("sim/_engine_build.json", "w", encoding="utf-8") as f:
        json.dump(record, f)
    for ext in exts:
        ext.optional = True  # a failed C build leaves the pure-Python engine in place
    return exts


setup(ext_modules=ext_modules())
