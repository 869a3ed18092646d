"""The registry of mechanisms: every `sim.kernel.hooks.Mechanism` subclass with a `NAME` in a
module of this package, found by scanning the package (a new mechanism is one module: nothing
to add here), in hook order (`ORDER`, then name). Kept apart from the package's `__init__` so
that importing the package imports no compiled module (see `sim.ENGINE_MODULES`)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from ..kernel.hooks import Mechanism

_NOT_MECHANISMS = ("registry",)


@cache
def registry() -> dict[str, type[Mechanism]]:
    """name -> class, in hook order (joint handling before dual dispatch: the police's share
    depends on whether the case is handled jointly)."""
    from .. import mechanisms as pkg

    found: list[type[Mechanism]] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name in _NOT_MECHANISMS:
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Mechanism) and cls.__module__ == module.__name__ and cls.NAME:
                found.append(cls)
    found.sort(key=lambda c: (c.ORDER, c.NAME))
    names = [c.NAME for c in found]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RuntimeError(f"mechanism names registered twice: {', '.join(dup)}")
    return {c.NAME: c for c in found}


def wanted(world) -> list[type[Mechanism]]:
    """The mechanism classes the World switches on, in hook order."""
    return [cls for cls in registry().values() if cls.wanted(world)]


def validate_mechanisms(scenario) -> list[str]:
    """Every name under the scenario's `mechanisms` section is a registered mechanism that
    takes its parameters there, with known parameters of the right type."""
    reg = registry()
    takes = {n: c for n, c in reg.items() if c.PARAMS or c.KEY == f"mechanisms.{n}"}
    errors = []
    for name, given in (scenario.mechanisms or {}).items():
        cls = takes.get(name)
        if cls is None:
            errors.append(f"mechanisms.{name}: unknown mechanism (one of "
                          f"{', '.join(sorted(takes)) or 'none'}; the others have sections of "
                          "their own, see docs/design.md)")
            continue
        if given is None:
            continue
        if not isinstance(given, dict):
            errors.append(f"mechanisms.{name}: a mapping of parameters, e.g. "
                          + ", ".join(f"{k}: {d}" for k, (_, d, _) in cls.PARAMS.items()))
            continue
        for key, value in given.items():
            spec = cls.PARAMS.get(key)
            if spec is None:
                errors.append(f"mechanisms.{name}.{key}: unknown parameter (one of "
                              f"{', '.join(cls.PARAMS)})")
                continue
            typ = spec[0]
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
                if typ is float else isinstance(value, typ)
            if not ok:
                errors.append(f"mechanisms.{name}.{key}: {value!r} is not a {typ.__name__} "
                              f"({spec[2]})")
    return errors


def table() -> str:
    """The README's mechanism table (Markdown), generated from the registry:
    `python -m sim.mechanisms.registry`."""
    rows = ["| mechanism | switched on by | what it does | module |", "|---|---|---|---|"]
    for name, cls in registry().items():
        rows.append(f"| `{name}` | `{cls.KEY}` | {cls.SUMMARY} | `{cls.__module__}` |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(table(), end="")
