"""cogov: an agent-based simulator of enforcement governance (Hefei Baohe "大共治").

The engine (`sim.kernel`, `sim.mechanisms`, `sim.engine`, `sim.streams`: `ENGINE_MODULES`) is
compiled with mypyc at install time, as one group, where it can be (see setup.py). The
compiled modules are used only if they were built from the sources now on disk; otherwise,
or with COGOV_PURE_PYTHON=1, the same code runs as plain Python.
`engine_info()` says which and why.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings

__version__ = "0.3.0.dev0"

#: the kernel's modules compiled with mypyc, in import order (each imports only earlier ones)
KERNEL_MODULES = ("streams", "kernel.heap", "kernel.views", "kernel.entities",
                  "kernel.calendar", "kernel.ledger", "kernel.hooks", "kernel.contacts",
                  "kernel.lifecycle")
#: the default agents' decision rules and the shipped routing policies' answers
#: (sim/agents/rules.py, sim/policies/routing_rules.py), compiled with the kernel so that the
#: engine's calls into them and their reads of its records are C calls and C fields
RULE_MODULES = ("agents.rules", "policies.routing_rules")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _mechanism_modules() -> tuple[str, ...]:
    """Every module of sim/mechanisms/ but the package's and the registry's (setup.py does the
    same): a new mechanism module is compiled with the group without being listed."""
    names = sorted(f[:-3] for f in os.listdir(os.path.join(_HERE, "mechanisms"))
                   if f.endswith(".py") and f not in ("__init__.py", "registry.py"))
    return tuple(f"mechanisms.{n}" for n in names)


#: the modules compiled with mypyc as ONE group (setup.py), in import order
ENGINE_MODULES = KERNEL_MODULES + RULE_MODULES + _mechanism_modules() + ("engine",)
BUILD_RECORD = "_engine_build.json"        # written by setup.py: hashes of the compiled sources
_engine_state = {"compiled": False, "reason": "not imported yet"}


def _source(name: str) -> str:
    return os.path.join(_HERE, *name.split(".")) + ".py"


def source_hashes() -> dict[str, str]:
    """sha256 of each engine module's source."""
    out = {}
    for name in ENGINE_MODULES:
        with open(_source(name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def _compiled_available() -> tuple[bool, str]:
    if os.environ.get("COGOV_PURE_PYTHON") == "1":
        return False, "COGOV_PURE_PYTHON=1"
    # look for the extension files themselves: `find_spec` would import the parent packages
    # (sim.agents imports the engine), and so the compiled modules before this check is done
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    for name in ENGINE_MODULES:
        base = os.path.join(_HERE, *name.split("."))
        if not any(os.path.exists(base + sfx) for sfx in suffixes):
            return False, "not compiled (no mypyc or no C compiler at install time)"
    try:
        with open(os.path.join(_HERE, BUILD_RECORD), encoding="utf-8") as f:
            built = json.load(f)
    except (OSError, ValueError):
        return True, "compiled with mypyc"
    group = built.pop("__group__", None) if isinstance(built, dict) else None
    if built != source_hashes():
        warnings.warn("cogov: the compiled engine was built from older sources than "
                      "sim/engine.py, sim/streams.py, sim/kernel/, sim/mechanisms/ or the "
                      "compiled rules; running "
                      "them as plain Python (slower). "
                      "Rebuild with `pip install -e .`.", stacklevel=2)
        return False, "compiled modules are stale (sources changed since the build)"
    # the group's shared library is a top-level module: finding it imports no package
    if group and importlib.util.find_spec(group) is None:
        warnings.warn(f"cogov: the compiled engine's library {group} cannot be imported here "
                      "(an editable install made before the list of compiled modules changed); "
                      "running the engine as plain Python (slower). "
                      "Rebuild with `pip install -e .`.", stacklevel=2)
        return False, f"compiled library {group} not importable (install older than the build)"
    return True, "compiled with mypyc"


def _load_engine_source() -> None:
    """Import the engine modules from their .py files even where extensions exist. The
    packages that only hold them (`sim.kernel`, `sim.mechanisms`: docstrings) are imported
    first; `sim.agents` and `sim.policies` import the engine themselves, so they are left to
    be imported later, when they find these modules already loaded."""
    for package in ("kernel", "mechanisms"):
        importlib.import_module(f"{__name__}.{package}")
    for name in ENGINE_MODULES:
        full = f"{__name__}.{name}"
        spec = importlib.util.spec_from_file_location(full, _source(name))
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
        parent, _, child = full.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)


def engine_info() -> dict:
    """{'compiled': bool, 'reason': str}: whether this process runs the compiled engine."""
    return dict(_engine_state)


_ok, _why = _compiled_available()
if not _ok and any(f"{__name__}.{n}" not in sys.modules for n in ENGINE_MODULES):
    _load_engine_source()
_engine_state.update(compiled=_ok, reason=_why)
