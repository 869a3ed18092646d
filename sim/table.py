"""Table: named numpy columns of one length, the plain record a run's results are built from.

`cogov run` builds its case, complaint, per-group and time-series tables as `Table`s, summarises
them with numpy and writes them with the standard `csv` module or pyarrow, so that a run never
imports pandas (about 0.4 s of every run's start-up, more than the M/M/c benchmark's whole
simulation of a year). A coded column (`outcome`, `agency`, ...) holds integer codes into its
`labels`; `decoded(name)` gives the text. `to_pandas()` gives the DataFrame the library API
returns (`RunResult.by_grid()`, `RunResult.timeseries`), coded columns as categories.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np


def arrow_array(values: np.ndarray, mask: np.ndarray | None = None, type=None):
    """A pyarrow array over a numpy column's memory (`mask` True: null). Built from buffers:
    `pyarrow.array()` imports pandas on its first call, whatever it is given, which a
    `cogov run` does not otherwise need. Numbers, bools, `datetime64[s]` (as `type`, default
    timestamp[s]) and text (object arrays of str, None: null) are handled."""
    import pyarrow as pa

    v = np.asarray(values)
    n = len(v)
    if v.dtype == object:   # text: UTF-8 bytes and int32 offsets
        if mask is None:
            mask = np.fromiter((x is None for x in v), bool, n)
        enc = [b"" if x is None else str(x).encode("utf-8") for x in v.tolist()]
        offsets = np.zeros(n + 1, np.int32)
        np.cumsum([len(b) for b in enc], out=offsets[1:])
        data = [pa.py_buffer(offsets), pa.py_buffer(b"".join(enc))]
        typ = pa.string()
    elif v.dtype == bool:
        data = [pa.py_buffer(np.packbits(v, bitorder="little"))]
        typ = pa.bool_()
    elif v.dtype.kind == "M":
        data = [pa.py_buffer(np.ascontiguousarray(v.astype("datetime64[s]").view(np.int64)))]
        typ = type or pa.timestamp("s")
    else:
        v = np.ascontiguousarray(v)
        data = [pa.py_buffer(v)]
        typ = type or pa.from_numpy_dtype(v.dtype)
    if mask is not None and mask.any():
        valid = pa.py_buffer(np.packbits(~np.asarray(mask, bool), bitorder="little"))
        return pa.Array.from_buffers(typ, n, [valid, *data], null_count=int(mask.sum()))
    return pa.Array.from_buffers(typ, n, [None, *data], null_count=0)


def dictionary_array(codes: np.ndarray, labels: Sequence[str]):
    """A dictionary-encoded pyarrow array (pandas reads it as a category): codes into
    `labels`, code -1: null."""
    import pyarrow as pa

    codes = np.asarray(codes, dtype=np.int32)
    return pa.DictionaryArray.from_arrays(arrow_array(codes, mask=codes < 0),
                                          arrow_array(np.asarray(list(labels), dtype=object)))


def _array(values) -> np.ndarray:
    """A column: text as object arrays (pandas' own text columns), the rest as numpy makes it."""
    v = np.asarray(values)
    return v.astype(object) if v.dtype.kind == "U" else v


class Table:
    """Columns `name -> 1-d numpy array` (all the same length), in order; `labels[name]`: the
    text of each code of a coded column."""

    __slots__ = ("columns", "labels")

    def __init__(self, columns: dict[str, np.ndarray],
                 labels: dict[str, Sequence[str]] | None = None):
        self.columns = {k: _array(v) for k, v in columns.items()}
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: "
                             f"{ {k: len(v) for k, v in self.columns.items()} }")
        self.labels = {k: list(v) for k, v in (labels or {}).items()}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __len__(self) -> int:
        """Rows."""
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def insert(self, pos: int, name: str, values) -> None:
        """Add column `name` at position `pos` (as `DataFrame.insert`)."""
        v = _array(values)
        if self.columns and len(v) != len(self):
            raise ValueError(f"column {name!r}: {len(v)} values for {len(self)} rows")
        items = list(self.columns.items())
        items.insert(pos, (name, v))
        self.columns = dict(items)

    def decoded(self, name: str) -> np.ndarray:
        """Column `name` as text when it is coded (code -1: None), else as it is."""
        v = self.columns[name]
        if name not in self.labels:
            return v
        return np.asarray([*self.labels[name], None], dtype=object)[v]

    # ------------------------------------------------------------------ conversions
    def to_pandas(self):
        """A pandas DataFrame (coded columns as categories)."""
        import pandas as pd

        data = {}
        for name, v in self.columns.items():
            if name in self.labels:
                data[name] = pd.Categorical.from_codes(v, self.labels[name])
            else:
                data[name] = v
        return pd.DataFrame(data, columns=self.names, copy=False)

    def to_arrow(self):
        """A pyarrow Table (coded columns dictionary-encoded, read as categories by pandas)."""
        import pyarrow as pa

        arrays = []
        for name, v in self.columns.items():
            if name in self.labels:
                arrays.append(dictionary_array(v, self.labels[name]))
            else:
                arrays.append(arrow_array(v))
        return pa.Table.from_arrays(arrays, names=self.names)

    def write_csv(self, path: str | Path) -> Path:
        """CSV as pandas' `to_csv(index=False)` writes it: a header, floats in Python's
        shortest round-trip form, NaN and missing text as empty fields, minimal quoting."""
        cols = []
        for name in self.columns:
            v = self.decoded(name)
            if v.dtype.kind == "f" and np.isnan(v).any():
                cols.append(["" if x != x else x for x in v.tolist()])
            elif v.dtype == object:
                cols.append(["" if x is None else x for x in v.tolist()])
            else:
                cols.append(v.tolist())
        path = Path(path)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(self.names)
            w.writerows(zip(*cols))
        return path

    def write_parquet(self, path: str | Path) -> Path:
        """Parquet (zstd)."""
        import pyarrow.parquet as pq

        pq.write_table(self.to_arrow(), path, compression="zstd")
        return Path(path)
