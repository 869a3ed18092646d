"""The results store of a sweep: a SQLite run ledger plus optional Parquet time-series parts.

Why SQLite for the ledger: it ships with Python (no new dependency), every finished run is one
committed transaction (a crash or SIGKILL loses at most the runs still in flight, never a
half-written row: SQLite's journal rolls an interrupted write back), `INSERT OR REPLACE` on the
run id makes a rerun of the same run overwrite rather than duplicate it, and readers (pandas,
the dashboard, `cogov` itself) can query it while the sweep is still writing (WAL mode).
`pd.read_sql("select * from runs", sqlite3.connect("ledger.sqlite"))` reads it directly, and
`read_runs(DIR)` does that for you. Parquet is the better format for bulky columnar data,
but appending one row per run would create one file per run or need rewriting; SQLite is
built for exactly that append-and-query pattern.

Why Parquet for time series: a run's daily series is a table of a few hundred rows and tens of
columns; one Parquet file per run (`timeseries/run-000042.parquet`, written to a temporary name
and renamed, so a part is either whole or absent) needs no coordination, and
`pd.read_parquet(DIR / "timeseries")` reads all parts as one table.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from pathlib import Path

import pandas as pd

LEDGER = "ledger.sqlite"
FIXED = ["run_id", "point", "replication", "seed", "status", "error"]
TAIL = ["wall_seconds", "finished", "traceback"]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Ledger:
    """One row per run: ids, factor values, seed, status, error, every summary metric."""

    def __init__(self, path: str | Path, factor_names: list[str] | None = None):
        self.path = Path(path)
        self.con = sqlite3.connect(self.path, timeout=60)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        if not self._table_columns():
            cols = ["run_id INTEGER PRIMARY KEY", "point INTEGER", "replication INTEGER",
                    "seed INTEGER", "status TEXT", "error TEXT"]
            cols += [_q(f) for f in factor_names or []]
            cols += ["wall_seconds REAL", "finished TEXT", "traceback TEXT"]
            self.con.execute(f"CREATE TABLE runs ({', '.join(cols)})")
        self.con.commit()
        self.columns = self._table_columns()

    def _table_columns(self) -> list[str]:
        return [r[1] for r in self.con.execute("PRAGMA table_info(runs)")]

    # -------------------------------------------------------------- meta
    def get_meta(self) -> dict:
        return {k: json.loads(v) for k, v in self.con.execute("SELECT key, value FROM meta")}

    def set_meta(self, **items) -> None:
        with self.con:
            self.con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                 [(k, json.dumps(v)) for k, v in items.items()])

    # -------------------------------------------------------------- runs
    def record(self, row: dict) -> None:
        """Write (or overwrite) one run's row and commit."""
        row = dict(row, finished=_dt.datetime.now().isoformat(timespec="seconds"))
        new = [k for k in row if k not in self.columns]
        with self.con:
            for k in new:
                self.con.execute(f"ALTER TABLE runs ADD COLUMN {_q(k)}")
                self.columns.append(k)
            keys = list(row)
            self.con.execute(f"INSERT OR REPLACE INTO runs ({', '.join(map(_q, keys))}) "
                             f"VALUES ({', '.join('?' * len(keys))})",
                             [_sql_value(row[k]) for k in keys])

    def ids(self, statuses: tuple[str, ...]) -> set[int]:
        marks = ", ".join("?" * len(statuses))
        return {r[0] for r in self.con.execute(
            f"SELECT run_id FROM runs WHERE status IN ({marks})", statuses)}

    def counts(self) -> dict[str, int]:
        return dict(self.con.execute("SELECT status, COUNT(*) FROM runs GROUP BY status"))

    def read(self) -> pd.DataFrame:
        return read_ledger(self.con)

    def close(self) -> None:
        self.con.close()


def _sql_value(v):
    if v is None or isinstance(v, (int, float, str, bytes)):
        return v
    if hasattr(v, "item"):          # numpy scalar
        return v.item()
    return json.dumps(v)


def read_ledger(con: sqlite3.Connection) -> pd.DataFrame:
    df = pd.read_sql("SELECT * FROM runs ORDER BY run_id", con)
    front = [c for c in FIXED if c in df.columns]
    tail = [c for c in TAIL if c in df.columns]
    middle = [c for c in df.columns if c not in front and c not in tail]
    return df[front + middle + tail]


def read_runs(out: str | Path) -> pd.DataFrame:
    """The run ledger of sweep directory `out` as a DataFrame (works while a sweep is running)."""
    path = Path(out) / LEDGER
    if not path.exists():
        raise FileNotFoundError(f"{path}: no run ledger (not a `cogov sweep` output directory?)")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    try:
        return read_ledger(con)
    finally:
        con.close()


def write_part(directory: Path, run_id: int, df: pd.DataFrame) -> Path:
    """Write one run's time series as `run-<id>.parquet`, atomically (temp file + rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"run-{run_id:06d}.parquet"
    tmp = directory / f".run-{run_id:06d}.parquet.tmp"
    df.to_parquet(tmp, index=False)
    os.replace(tmp, final)
    return final


def read_timeseries(out: str | Path) -> pd.DataFrame:
    """Every kept time series of sweep directory `out`, one table (run_id, point, replication,
    seed, day, ...)."""
    directory = Path(out) / "timeseries"
    parts = sorted(directory.glob("run-*.parquet"))
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Write a Parquet file atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_parquet(tmp, index=False, compression="zstd")
    os.replace(tmp, path)
    return path


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write a CSV atomically, so an interrupted export never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path
