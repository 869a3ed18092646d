"""Mesa's core (`Model`, `Agent`, `DataCollector`) without importing the rest of Mesa at start.

`import mesa` runs Mesa's package `__init__`, which imports every part of Mesa (spaces with
SciPy and NetworkX, the batch runner, the experimental modules): about a second of start-up
for a `cogov run` that uses none of them. Here the package module is created from its spec
without running that `__init__`, and only `mesa.agent`, `mesa.model` and `mesa.datacollection`
are imported. The first access to any other attribute of `mesa` (`mesa.space`,
`mesa.__version__`, ...) runs the real `__init__`, so code that needs the rest (the dashboard's
`mesa.visualization`, a user's `import mesa`) sees the whole package as usual. Where Mesa was
imported already, that module is used as it is.
"""

from __future__ import annotations

import importlib.util
import sys


def _load():
    if "mesa" in sys.modules:
        return sys.modules["mesa"]
    spec = importlib.util.find_spec("mesa")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        import mesa  # not a normal package: import it the usual way

        return mesa
    pkg = importlib.util.module_from_spec(spec)
    sys.modules["mesa"] = pkg
    state = {"full": False}

    def __getattr__(name: str):
        if name.startswith("__") and name not in ("__version__", "__all__"):
            raise AttributeError(name)
        if not state["full"]:
            state["full"] = True
            spec.loader.exec_module(pkg)      # the real __init__: everything else
            pkg.__dict__.pop("__getattr__", None)
            if name in pkg.__dict__:
                return pkg.__dict__[name]
        raise AttributeError(f"module 'mesa' has no attribute {name!r}")

    try:
        from mesa.agent import Agent
        from mesa.datacollection import DataCollector
        from mesa.model import Model
    except BaseException:
        del sys.modules["mesa"]
        raise
    pkg.Agent, pkg.Model, pkg.DataCollector = Agent, Model, DataCollector
    pkg.__getattr__ = __getattr__
    return pkg


mesa = _load()
