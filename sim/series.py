"""The model's time series: one row of model-level values per data-collection interval.

It plays the part of Mesa's `DataCollector` for model reporters, with the same reading
interface (`model_vars`, `get_model_vars_dataframe()`, used by Mesa's SolaraViz plots and the
dashboard), but it is handed each row the model computed (`GovernanceModel._collect`) instead of
calling one reporter function per column, and it does not import pandas until a DataFrame is
asked for: `mesa.datacollection` imports pandas at start, about 0.4 s of every `cogov run`.
"""

from __future__ import annotations

import numpy as np


class SeriesCollector:
    """Columns `name -> list of values`, one value per recorded row, in recording order."""

    def __init__(self, names: list[str]):
        self.model_vars: dict[str, list] = {n: [] for n in names}

    def record(self, row: dict) -> None:
        """Append one row (a value for every column)."""
        for name, values in self.model_vars.items():
            values.append(row[name])

    def __len__(self) -> int:
        return len(next(iter(self.model_vars.values()))) if self.model_vars else 0

    def columns(self) -> dict[str, np.ndarray]:
        """Every column as a numpy array."""
        return {n: np.asarray(v) for n, v in self.model_vars.items()}

    def get_model_vars_dataframe(self):
        """The rows as a pandas DataFrame (as `mesa.DataCollector.get_model_vars_dataframe`)."""
        import pandas as pd

        return pd.DataFrame(self.model_vars)
