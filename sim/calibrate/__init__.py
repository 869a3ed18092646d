"""Calibration and validation from real case logs (issue 6).

`cogov calibrate` reads a 12345/311/grid-platform export through a mapping file
(`mappings/*.yaml`), fits arrival rates, channel mix and time-to-close distributions, and writes a
scenario that `extends:` a base scenario. `cogov validate-against` runs a calibrated scenario and
sets simulated statistics against the observed ones.

Modules: `mapping` (the mapping file), `read` (robust reading with a `DataQuality` report),
`fit` (estimation), `scenario_out` (the calibrated YAML), `report` (tables and figures),
`validate` (simulated vs observed), `cli` (the two subcommands).
"""

from __future__ import annotations

__all__ = ["calibrate_log", "load_mapping", "read_log"]


def __getattr__(name):  # late imports keep `import sim.calibrate` cheap
    if name == "load_mapping":
        from .mapping import load_mapping
        return load_mapping
    if name == "read_log":
        from .read import read_log
        return read_log
    if name == "calibrate_log":
        from .cli import calibrate_log
        return calibrate_log
    raise AttributeError(name)
