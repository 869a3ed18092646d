"""sim.table.Table: the numpy-column records `cogov run` writes without pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.table import Table, arrow_array

ROOT = Path(__file__).resolve().parents[1]


def _table() -> Table:
    return Table({"name": ["a", "b,c", 'q"x', "中文"],
                  "n": np.array([1, 2, 3, 4]),
                  "x": np.array([0.1, np.nan, 1e-7, 12345678.123456]),
                  "flag": np.array([True, False, True, False]),
                  "outcome": np.array([0, 1, -1, 1])},
                 labels={"outcome": ["resolved", "open"]})


def test_csv_is_what_pandas_writes(tmp_path):
    t = _table()
    t.write_csv(tmp_path / "t.csv")
    t.to_pandas().to_csv(tmp_path / "p.csv", index=False)
    assert (tmp_path / "t.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()


def test_parquet_reads_back_as_the_dataframe(tmp_path):
    t = _table()
    t.write_parquet(tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    want = t.to_pandas()
    assert list(back.columns) == t.names
    assert back["outcome"].isna().tolist() == [False, False, True, False]
    assert back["outcome"].astype(object).tolist()[:2] == ["resolved", "open"]
    for c in ("name", "n", "flag"):
        assert back[c].tolist() == want[c].tolist()
    np.testing.assert_array_equal(back["x"].to_numpy(), t["x"])


def test_arrow_array_masks_and_types():
    a = arrow_array(np.array(["2024-01-01T00:00:00", "2024-01-02T12:00:00"],
                             dtype="datetime64[s]"), mask=np.array([False, True]))
    assert str(a.type) == "timestamp[s]" and a.null_count == 1
    assert a.to_pylist()[0].isoformat() == "2024-01-01T00:00:00"
    s = arrow_array(np.array(["x", None, "中"], dtype=object))
    assert s.to_pylist() == ["x", None, "中"]
    assert arrow_array(np.array([True, False, True])).to_pylist() == [True, False, True]
    assert arrow_array(np.arange(3, dtype=np.int16)).to_pylist() == [0, 1, 2]


def test_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="different lengths"):
        Table({"a": [1, 2], "b": [1]})


def test_cogov_run_never_imports_pandas(tmp_path):
    """`cogov run` writes Parquet, CSV summaries and the time series without pandas (its
    import is about 0.4 s of every run's start-up); the outputs still read in pandas."""
    code = ("import sys; from sim.cli import main; "
            f"rc = main(['run', 'scenarios/validation/mmc.yaml', '--out', {str(tmp_path / 'o')!r}, "
            "'--quiet', '--set', 'run.horizon_days=20', '--set', 'run.warmup_days=2']); "
            "assert rc == 0, rc; assert 'pandas' not in sys.modules, 'pandas imported'; "
            "assert 'scipy' not in sys.modules, 'scipy imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    assert len(pd.read_parquet(tmp_path / "o" / "cases.parquet")) > 0
    assert pq.read_schema(tmp_path / "o" / "timeseries.parquet").names[:2] == ["date", "day"]
