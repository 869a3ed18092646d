"""Builds cogov's engine (the kernel, the default agents' rules, the mechanisms, `sim/engine.py`,
`sim/streams.py`) as C extensions with mypyc, as ONE group: calls between these modules are direct
C calls.

Everything else is in pyproject.toml. The compiled modules are optional: where mypyc or a C
compiler is missing, or with COGOV_PURE_PYTHON=1, cogov installs and runs as plain Python from
the same source (same results, about 2-3x slower; `cogov --version` says which).
"""

import hashlib
import json
import os
import sys

from setuptools import setup


# the modules compiled together: sim.KERNEL_MODULES and sim.RULE_MODULES (read from the file,
# not imported: importing sim here would import numpy and pydantic at build time), every module of
# sim/mechanisms/ but the registry, and sim/engine.py: sim.ENGINE_MODULES
def _engine_modules() -> list[str]:
    import ast
    with open("sim/__init__.py", encoding="utf-8") as f:
        tree = ast.parse(f.read())
    found = {}
    for node in tree.body:
        name = getattr(node.targets[0], "id", "") if isinstance(node, ast.Assign) else ""
        if name in ("KERNEL_MODULES", "RULE_MODULES"):
            found[name] = list(ast.literal_eval(node.value))
    if len(found) != 2:
        raise RuntimeError("sim/__init__.py: KERNEL_MODULES or RULE_MODULES not found")
    kernel = found["KERNEL_MODULES"] + found["RULE_MODULES"]
    mechanisms = sorted(f[:-3] for f in os.listdir("sim/mechanisms")
                        if f.endswith(".py") and f not in ("__init__.py", "registry.py"))
    return kernel + [f"mechanisms.{m}" for m in mechanisms] + ["engine"]


COMPILED = ["sim/" + m.replace(".", "/") + ".py" for m in _engine_modules()]


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
    # separate=False: one shared library for the whole group (cross-module native calls)
    exts = mypycify(COMPILED, opt_level="3", debug_level="0", separate=False)
    # record what was compiled, so `sim` can tell a stale build (edited sources) at import
    record = {p[len("sim/"):-len(".py")].replace("/", "."):
              hashlib.sha256(open(p, "rb").read()).hexdigest() for p in COMPILED}
    # and the group's shared library (`<hash>__mypyc`, at the top level): an editable install
    # made before the module list changed maps an older name, and `sim` then falls back
    shared = [ext.name for ext in exts if ext.name.endswith("__mypyc")]
    if shared:
        record["__group__"] = shared[0]
    with open("sim/_engine_build.json", "w", encoding="utf-8") as f:
        json.dump(record, f)
    for ext in exts:
        ext.optional = True  # a failed C build leaves the pure-Python engine in place
    return exts


setup(ext_modules=ext_modules())
