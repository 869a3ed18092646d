"""Run one scenario with one seed and write its outputs."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .model import Arrivals, GovernanceModel
from .progress import Progress
from .records import (
    by_category,
    by_grid,
    by_street,
    case_log,
    case_log_arrow,
    case_table,
    complaint_table,
    summarize,
    timeseries,
)
from .scenario.loader import dump_yaml, scenario_sha256, scenario_to_dict
from .scenario.schema import Scenario
from .table import Table

CHUNK = 200_000  # case-log rows formatted at a time


@dataclass
class RunResult:
    """Everything one run produced. The case and complaint tables are built once (the summary
    needs them) and kept for the case log and the group summaries; the log itself is built on
    demand. The tables are `sim.table.Table`s; the methods and properties below give pandas
    DataFrames (pandas is imported on first use: `cogov run` itself never needs it)."""

    scenario: Scenario
    seed: int
    summary: dict
    series: Table                       # the daily time series
    model: GovernanceModel = field(repr=False)
    _cases: object | None = field(default=None, repr=False)
    _tables: tuple[Table, Table] | None = field(default=None, repr=False)

    def tables(self) -> tuple[Table, Table]:
        """The case table (one row per case) and the complaint table (one row per complaint)."""
        if self._tables is None:
            self._tables = (case_table(self.model), complaint_table(self.model))
        return self._tables

    @property
    def timeseries(self):
        """The daily time series as a pandas DataFrame (as written to timeseries.parquet)."""
        return self.series.to_pandas()

    @property
    def cases(self):
        """The case log (one row per complaint) as a pandas DataFrame, as written to
        cases.csv."""
        if self._cases is None:
            self._cases = case_log(self.model, *self.tables())
        return self._cases

    def by_street(self):
        return by_street(self.model, *self.tables()).to_pandas()

    def by_grid(self):
        return by_grid(self.model, *self.tables()).to_pandas()

    def by_category(self):
        return by_category(self.model, *self.tables()).to_pandas()


def run_scenario(scenario: Scenario, seed: int | None = None, progress: bool = False,
                 arrivals: Arrivals | None = None) -> RunResult:
    """Run `scenario` (with `seed`, default `run.seed`) to its horizon. `arrivals` fills in the
    run's problems (default: the bulk draw; see `GovernanceModel`)."""
    if seed is not None:
        scenario = scenario.model_copy(update={"run": scenario.run.model_copy(
            update={"seed": int(seed)})})
    t0 = time.perf_counter()
    model = GovernanceModel(scenario, arrivals=arrivals)
    bar = Progress(100.0, f"{scenario.name} seed {scenario.run.seed}", enabled=None
                   if progress else False, unit="%")
    model.run(progress=(lambda f: bar.update(f * 100, unit="%")) if progress else None)
    bar.close()
    tables = (case_table(model), complaint_table(model))
    summary = summarize(model, *tables)
    summary.update({"seed": scenario.run.seed, "cogov_version": __version__,
                    "scenario_sha256": scenario_sha256(scenario),
                    "wall_seconds": round(time.perf_counter() - t0, 3)})
    return RunResult(scenario, scenario.run.seed, summary, timeseries(model), model,
                     _tables=tables)


FORMATS = ("parquet", "csv")


def write_outputs(result: RunResult, out: str | Path, fmt: str = "parquet") -> Path:
    """Write summary.json, the case log and time series (`cases.parquet`, `timeseries.parquet`;
    `fmt="csv"`: `cases.csv`, `timeseries.csv`), per-street/-grid/-category summaries and
    scenario.resolved.yaml into `out`."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    m = result.model
    cases, comp = result.tables()
    n = len(comp)
    if fmt == "parquet":
        write_case_log_parquet(result, out / "cases.parquet")
        result.series.write_parquet(out / "timeseries.parquet")
    elif result._cases is not None:
        result.cases.to_csv(out / "cases.csv", index=False)
    else:  # in chunks, so a district-year's log never sits in memory as strings at once
        with open(out / "cases.csv", "w", encoding="utf-8", newline="") as fh:
            for i, start in enumerate(range(0, max(n, 1), CHUNK)):
                case_log(m, cases, comp, slice(start, start + CHUNK)).to_csv(
                    fh, index=False, header=(i == 0))
    if fmt == "csv":
        result.series.write_csv(out / "timeseries.csv")
    by_street(m, cases, comp).write_csv(out / "summary_by_street.csv")
    by_grid(m, cases, comp).write_csv(out / "summary_by_grid.csv")
    by_category(m, cases, comp).write_csv(out / "summary_by_category.csv")
    (out / "scenario.resolved.yaml").write_text(
        f"# cogov {__version__}: the whole scenario with defaults and seed.\n"
        "# Rerun exactly with: cogov run scenario.resolved.yaml --out DIR\n"
        + dump_yaml(scenario_to_dict(result.scenario, uncertain=True)), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(result.summary, indent=2, ensure_ascii=False)
                                      + "\n", encoding="utf-8")
    return out


PARQUET_ROWS = 1 << 20     # rows per row group of cases.parquet


def write_case_log_parquet(result: RunResult, path: Path) -> Path:
    """The case log as Parquet, built and written a row group at a time (zstd; no text is
    formatted, so a district-year's million rows take about a second)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    m = result.model
    cases, comp = result.tables()
    n = len(comp)
    writer = None
    try:
        for start in range(0, max(n, 1), PARQUET_ROWS):
            table = case_log_arrow(m, cases, comp, slice(start, start + PARQUET_ROWS))
            if writer is None:
                # dictionary pages only for the text columns (already dictionary-encoded):
                # on ids and timestamps they cost time and make the file larger
                # ids delta-encoded (about 7% smaller); statistics only where a reader filters
                # (time, case), not on every column
                text = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
                writer = pq.ParquetWriter(
                    path, table.schema, compression="zstd", compression_level=1,
                    use_dictionary=text, write_statistics=["requested_datetime", "case_id"],
                    column_encoding={c: "DELTA_BINARY_PACKED"
                                     for c in ("service_request_id", "problem_id", "case_id")})
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return path
