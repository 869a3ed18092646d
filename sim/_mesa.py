"""Mesa's core (`Model`, `Agent`) without importing the rest of Mesa at start.

`import mesa` runs Mesa's package `__init__`, which imports every part of Mesa (spaces with
SciPy and NetworkX, the batch runner, the experimental modules): about a second of start-up
for a `cogov run` that uses none of them. Here the package module is created from its spec
without running that `__init__`, and only `mesa.agent` and `mesa.model` are imported
(not `mesa.datacollection`, which imports pandas; the model's time series is
`sim.series.SeriesCollector`) (with Mesa's module loggers named without `inspect.stack()`, see
`_fast_module_loggers`). The first access to any other attribute of `mesa` (`mesa.space`,
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
        _fast_module_loggers()
        from mesa.agent import Agent
        from mesa.model import Model
    except BaseException:
        del sys.modules["mesa"]
        raise
    pkg.Agent, pkg.Model = Agent, Model
    pkg.__getattr__ = __getattr__
    return pkg


def _fast_module_loggers() -> None:
    """Mesa names each module's logger after the calling module, found with
    `inspect.stack()`, which reads the source of every frame on the stack (a deep import stack:
    a few tenths of a second). `sys._getframe` gives the same module name at once."""
    try:
        import mesa.mesa_logging as ml
    except ImportError:   # pragma: no cover - another Mesa layout: leave it as it is
        return
    orig = ml.create_module_logger
    if getattr(orig, "_cogov_fast", False):
        return

    def create_module_logger(name: str | None = None):
        if name is None:
            name = sys._getframe(1).f_globals.get("__name__", "mesa")
        return orig(name)

    create_module_logger._cogov_fast = True
    create_module_logger.__doc__ = orig.__doc__
    ml.create_module_logger = create_module_logger


mesa = _load()
