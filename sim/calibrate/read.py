"""Read a case log robustly: every oddity is counted in a `DataQuality` report, never a crash.

What is counted and what happens to it:
- bad bytes (not valid in the encoding): replaced, counted; NUL bytes: removed, counted;
- ragged rows (wrong number of fields): skipped, counted;
- duplicated ids: the first row is kept;
- rows sharing a `case_id` (cogov: repeat complaints on one case): the first row is the case;
- timestamps: each format of the mapping is tried in order; unparseable values are missing;
- a missing or bad created time: the row is dropped (nothing can be timed), counted;
- no close time: the case is open, right-censored at the export time (kept, counted);
- closed status without a close time: kept for arrivals, left out of time-to-close;
- negative durations (closed before created): left out of time-to-close, counted;
- empty category: category `unknown`; categories not in the mapping's list: counted.

Only problems a user must fix raise `UserError`: a file that is missing, empty, binary or not
a delimited table, and a mapping that names a column the file does not have.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from .mapping import Mapping, slug

HOUR = np.timedelta64(1, "h")

#: kinds of record from the status column
KINDS = ("closed", "open", "duplicate", "transferred", "cancelled")


@dataclass
class DataQuality:
    """Counts of everything odd found while reading one log."""

    source: str = ""
    rows_read: int = 0
    rows_used: int = 0
    bad_bytes: int = 0
    nul_bytes: int = 0
    ragged_rows: int = 0
    duplicate_ids: int = 0
    attached_complaints: int = 0
    bad_created: int = 0
    created_after_export: int = 0
    bad_timestamps: dict[str, int] = field(default_factory=dict)
    formats_used: dict[str, dict[str, int]] = field(default_factory=dict)
    open_censored: int = 0
    closed_without_time: int = 0
    close_time_on_open_status: int = 0
    negative_durations: int = 0
    instant_closures: int = 0
    unknown_categories: int = 0
    unlisted_categories: int = 0
    lumped_categories: int = 0
    lumped_cases: int = 0
    unknown_channels: int = 0
    missing_agency: int = 0
    placeholder_latlong: int = 0
    held_out: int = 0
    spreadsheet: str = ""
    dropped_examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def dropped_share(self) -> float:
        """Share of the rows read that were dropped for a bad or missing created time."""
        return self.bad_created / max(1, self.rows_read)

    def dropped_line(self) -> str:
        """Count, share and up to three examples of the rows dropped for their created time."""
        ex = "; ".join(self.dropped_examples)
        return (f"{self.bad_created:,} of {self.rows_read:,} rows ({self.dropped_share:.1%}) "
                f"dropped: created time missing or not in any of the mapping's formats"
                + (f" (e.g. {ex})" if ex else ""))

    @property
    def mixed_formats(self) -> bool:
        return any(len(v) > 1 for v in self.formats_used.values())

    def rows(self) -> list[tuple[str, int, str]]:
        """(item, count, what was done) for the report."""
        bad_ts = sum(self.bad_timestamps.values())
        fmts = "; ".join(f"{k}: " + ", ".join(f"{f} x{n}" for f, n in v.items())
                         for k, v in self.formats_used.items())
        return [
            ("rows read", self.rows_read, "data rows in the file"),
            ("rows used", self.rows_used, "cases after dropping/merging the rows below"),
            ("bad bytes", self.bad_bytes, "replaced by U+FFFD"),
            ("NUL bytes", self.nul_bytes, "removed"),
            ("ragged rows", self.ragged_rows, "wrong number of fields: skipped"),
            ("duplicated ids", self.duplicate_ids, "first row kept"),
            ("attached complaints", self.attached_complaints,
             "rows sharing a case id (repeat complaints): first row is the case"),
            ("bad created time", self.bad_created, "missing/unparseable: row dropped"),
            ("held out", self.held_out, "created outside the --until/--from window: not used"),
            ("created after export time", self.created_after_export, "row dropped"),
            ("bad other timestamps", bad_ts, "unparseable: treated as missing "
             + str(self.bad_timestamps)),
            ("mixed timestamp formats", int(self.mixed_formats), fmts or "-"),
            ("open (right-censored)", self.open_censored,
             "no close time: censored at the export time in every fit"),
            ("closed without close time", self.closed_without_time,
             "counted in arrivals, left out of time-to-close"),
            ("close time on an open status", self.close_time_on_open_status,
             "close time trusted"),
            ("negative durations", self.negative_durations,
             "closed before created/started: left out of time-to-close"),
            ("instant closures", self.instant_closures,
             "closed within the timestamp resolution: interval-censored [0, resolution]"),
            ("unknown (empty) categories", self.unknown_categories, "category `unknown`"),
            ("categories not in the mapping list", self.unlisted_categories,
             "code made from the value"),
            ("rare categories lumped", self.lumped_categories,
             f"{self.lumped_cases} cases moved to `<department>_other`"),
            ("unknown channels", self.unknown_channels, "mapped to the default channel"),
            ("missing agency", self.missing_agency, "department `unknown_agency`"),
            ("placeholder lat/long", self.placeholder_latlong, "not used as a location"),
        ]


@dataclass
class CaseLog:
    """A log read through a mapping: one row per case, in cogov's terms.

    `cases` columns: id, created, closed, started, due (datetime64), category, category_raw,
    department, channel, channel_raw, status_raw, kind (closed/open/duplicate/transferred/
    cancelled), location, street, complaints (rows merged into the case), ttc_hours (created to
    closed, or to the export time when open), ttc_event (True = closed, False = censored, NaN =
    unusable), handling_hours / handling_event (started to closed; NaN when not started).
    """

    cases: pd.DataFrame
    quality: DataQuality
    mapping: Mapping
    extracted_at: pd.Timestamp
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    source: str = ""

    @property
    def span_hours(self) -> float:
        """Observation window for arrivals, hours (at least one hour)."""
        return max(1.0, (self.window_end - self.window_start) / pd.Timedelta(hours=1))


# ----------------------------------------------------------------------------- text and table
#: first bytes of binary formats a user might give instead of a CSV: (magic, what, fix)
MAGIC = (
    (b"PK\x03\x04", "a zip archive (.xlsx, .docx, .zip)", "read as .xlsx when it is one"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE2 file (.xls, .doc)", ""),
    (b"%PDF", "a PDF document", "export the table as CSV or .xlsx"),
    (b"\x1f\x8b", "a gzip archive", "decompress it first (gunzip)"),
    (b"7z\xbc\xaf", "a 7-zip archive", "extract it first"),
    (b"Rar!", "a RAR archive", "extract it first"),
    (b"SQLite format 3", "an SQLite database", "export the table as CSV"),
    (b"PAR1", "a Parquet file", "export the table as CSV"),
)


def sniff(head: bytes) -> str:
    """`xlsx`, `xls` or `text` from a file's first bytes (the name's suffix is not trusted)."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    return "text"


def _decode(raw: bytes, encoding: str, dq: DataQuality, name: str) -> str:
    if not raw.strip():
        raise UserError([f"{name}: file is empty: expected a CSV table with a header row"])
    for magic, what, fix in MAGIC[2:]:
        if raw.startswith(magic):
            raise UserError([f"{name}: is {what}, not a table cogov can read: {fix}"])
    wide = encoding.lower().replace("_", "-").startswith(("utf-16", "utf16", "utf-32", "utf32"))
    if wide:    # declared in the mapping: NUL bytes belong to the encoding (issue 27)
        try:
            return raw.decode(encoding).removeprefix("\ufeff")
        except (UnicodeDecodeError, LookupError) as exc:
            raise UserError([f"{name}: not {encoding} text as the mapping's `encoding:` says "
                             f"({exc}): fix `encoding:` or export the log as UTF-8 CSV"]) \
                from None
    nul = raw.count(b"\x00")
    if nul > 0.01 * len(raw):
        raise UserError([f"{name}: not a text table ({nul} NUL bytes of {len(raw)}): is it a "
                         f"spreadsheet or archive? Export it as CSV first"])
    dq.nul_bytes = nul
    raw = raw.replace(b"\x00", b"")
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise UserError([f"{name}: unknown encoding {encoding!r} in the mapping "
                         f"(`encoding:`, e.g. utf-8, gb18030, latin-1)"]) from None
    except UnicodeDecodeError:
        before = raw.decode(encoding, errors="ignore").count("\ufffd")
        text = raw.decode(encoding, errors="replace")
        dq.bad_bytes = text.count("\ufffd") - before
        if dq.bad_bytes > 0.05 * max(1, len(text)):
            raise UserError([f"{name}: not a text table in {encoding} ({dq.bad_bytes} bad "
                             f"bytes): set `encoding:` in the mapping or export as UTF-8 "
                             f"CSV"]) from None
    return text.removeprefix("\ufeff")


def read_table(path: str | Path, mapping: Mapping, dq: DataQuality) -> pd.DataFrame:
    """The raw table as strings ('' = missing), ragged rows skipped and counted."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise UserError([f"{name}: log file not found: check the path"])
    if path.is_dir():
        raise UserError([f"{name}: is a directory: give the CSV file"])
    from ..yamlsafe import regular_file

    regular_file(path, "log file")      # a FIFO would wait for a writer for ever
    if is_parquet(path):
        return read_parquet_table(path)
    raw = path.read_bytes()
    kind = sniff(raw[:8])
    if kind != "text":
        return read_spreadsheet(raw, kind, mapping, dq, name)
    if mapping.sheet is not None:
        dq.notes.append(f"`sheet: {mapping.sheet}` ignored: {name} is a text table")
    text = _decode(raw, mapping.encoding, dq, name)
    csv.field_size_limit(1 << 30)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise UserError([f"{name}: file is empty: expected a CSV table with a header row"]) \
            from None
    except csv.Error as exc:
        raise UserError([f"{name}: not a readable table ({exc})"]) from None
    header = [h.strip() for h in header]
    if len(header) < 2:
        raise UserError([f"{name}: not a table: the first line has a single field "
                         f"({header[0][:60]!r}); expected a header row separated by "
                         f"{mapping.delimiter!r} (set `delimiter:` in the mapping)"])
    width = len(header)
    rows = []
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                dq.ragged_rows += 1
                continue
            rows.append(row)
    except csv.Error as exc:
        dq.notes.append(f"CSV parsing stopped early at line {reader.line_num}: {exc}")
    if not rows:
        raise UserError([f"{name}: the table has a header but no data rows"])
    return pd.DataFrame(rows, columns=_unique(header), dtype=str)


def _cell(v) -> str:
    """A spreadsheet cell as text: dates and times in ISO 8601, whole numbers without `.0`."""
    import datetime as dt

    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.isoformat(sep="T", timespec="seconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat(timespec="seconds")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_spreadsheet(raw: bytes, kind: str, mapping: Mapping, dq: DataQuality,
                     name: str) -> pd.DataFrame:
    """An .xlsx (openpyxl) or .xls (xlrd) worksheet as a table of strings. Date cells become
    ISO 8601 text, and `ISO8601` is tried after the mapping's formats (see `read_log`)."""
    sheet = mapping.sheet
    if kind == "xlsx":
        import openpyxl

        try:
            wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as exc:   # noqa: BLE001 - any zip that is not a workbook
            raise UserError([f"{name}: a zip archive but not an .xlsx workbook ({exc}): "
                             f"export the table as CSV or .xlsx"]) from None
        names = list(wb.sheetnames)
        pick = _pick_sheet(names, sheet, name)
        rows_iter = ([_cell(v) for v in r] for r in
                     wb[pick].iter_rows(values_only=True))
    else:
        try:
            import xlrd
        except ImportError:
            raise UserError([f"{name}: an .xls (Excel 97-2003) workbook, and xlrd is not "
                             f"installed: `pip install xlrd`, or save it as .xlsx or "
                             f"CSV"]) from None
        try:
            book = xlrd.open_workbook(file_contents=raw)
        except Exception as exc:   # noqa: BLE001
            raise UserError([f"{name}: an OLE2 file but not a readable .xls workbook "
                             f"({exc}): save it as .xlsx or CSV"]) from None
        names = book.sheet_names()
        pick = _pick_sheet(names, sheet, name)
        sh = book.sheet_by_name(pick)

        def xls_cell(c):
            if c.ctype == xlrd.XL_CELL_DATE:
                return _cell(xlrd.xldate.xldate_as_datetime(c.value, book.datemode))
            return _cell(c.value if c.ctype != xlrd.XL_CELL_EMPTY else None)

        rows_iter = ([xls_cell(c) for c in sh.row(i)] for i in range(sh.nrows))
    rows = [r for r in rows_iter if any(x != "" for x in r)]
    if not rows:
        raise UserError([f"{name}: worksheet {pick!r} is empty: expected a header row "
                         f"(choose another with `sheet:` in the mapping; sheets: "
                         f"{', '.join(map(str, names))})"])
    header = [h.strip() for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    if width < 2:
        raise UserError([f"{name}: worksheet {pick!r} has a single column in its first row: "
                         f"expected a header row (choose another with `sheet:`)"])
    body = []
    for r in rows[1:]:
        r = (r + [""] * width)[:width] if len(r) < width or not any(r[width:]) else None
        if r is None:
            dq.ragged_rows += 1
            continue
        body.append(r)
    if not body:
        raise UserError([f"{name}: worksheet {pick!r} has a header but no data rows"])
    dq.notes.append(f"read worksheet {pick!r} of the {kind} workbook (sheets: "
                    f"{', '.join(map(str, names))})")
    dq.spreadsheet = kind
    return pd.DataFrame(body, columns=_unique(header), dtype=str)


def _pick_sheet(names: list[str], sheet, name: str) -> str:
    if sheet is None:
        return names[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
    elif sheet in names:
        return sheet
    raise UserError([f"{name}: `sheet: {sheet}` in the mapping is not a worksheet of this "
                     f"workbook: sheets are {', '.join(map(repr, names))} (or a 0-based "
                     f"index)"])


def is_parquet(path: Path) -> bool:
    """A Parquet file (cogov's default case log), told by its magic bytes, not its name."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def read_parquet_table(path: Path) -> pd.DataFrame:
    """A Parquet log as the same table of strings a CSV gives: timestamps as ISO-8601 text
    (seconds), missing values as ''."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = str(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise UserError([f"{name}: not a readable Parquet file ({exc})"]) from None
    if table.num_rows == 0:
        raise UserError([f"{name}: the table has a header but no data rows"])
    cols = {}
    numeric = {fld.name: str(fld.type) for fld in table.schema
               if pa.types.is_integer(fld.type) or pa.types.is_floating(fld.type)}
    for fld, col in zip(table.schema, table.columns):
        if pa.types.is_dictionary(fld.type):
            col = col.cast(fld.type.value_type)
        if pa.types.is_timestamp(fld.type):
            v = col.to_numpy(zero_copy_only=False).astype("datetime64[s]")
            text = np.datetime_as_string(v, unit="s").astype(object)
            text[np.isnat(v)] = ""
            cols[fld.name] = text
        else:
            ser = col.to_pandas()
            cols[fld.name] = ser.astype(object).where(ser.notna(), "").astype(str).to_numpy()
    df = pd.DataFrame(cols, columns=_unique(table.column_names), dtype=str)
    df.attrs["numeric_columns"] = numeric      # a time column stored as a number is named
    return df


def _unique(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in header:
        n = seen.get(h, 0)
        out.append(h if n == 0 else f"{h}.{n}")
        seen[h] = n + 1
    return out


def check_columns(df: pd.DataFrame, mapping: Mapping, source: str, mapping_path: str) -> None:
    """Every column the mapping names must exist, else `UserError` naming each one. Names are
    matched exactly, else ignoring case and surrounding spaces (the column is renamed in
    place)."""
    have = set(df.columns)
    errors = []
    for where, col in mapping.columns.named().items():
        if col not in have:
            close = [c for c in df.columns if c.strip().lower() == col.strip().lower()]
            if len(close) == 1:   # case-insensitive match: use that column
                df.rename(columns={close[0]: col}, inplace=True)
                have = set(df.columns)
                continue
            hint = (f"several columns match it ignoring case: {close}" if close else
                    "columns there: " + ", ".join(list(df.columns)[:30]))
            errors.append(f"{mapping_path}: {where}: column {col!r} is not in {source} "
                          f"({hint}); fix the mapping")
    if errors:
        raise UserError(errors)


# ----------------------------------------------------------------------------- timestamps
def parse_times(values: pd.Series, formats: list[str], dq: DataQuality, what: str) -> pd.Series:
    """Parse strings with each format in turn; count formats used and unparseable values."""
    s = values.fillna("").astype(str).str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    todo = s != ""
    used: dict[str, int] = {}
    for fmt in formats:
        if not todo.any():
            break
        sub = s[todo]
        if fmt.upper() == "ISO8601":
            parsed = pd.to_datetime(sub, format="ISO8601", errors="coerce", utc=True)
            parsed = parsed.dt.tz_localize(None)
        elif "%z" in fmt or "%Z" in fmt:   # offsets: to UTC, as ISO 8601 with an offset
            parsed = pd.to_datetime(sub, format=fmt, errors="coerce", utc=True)
            parsed = parsed.dt.tz_localize(None)
        else:
            parsed = pd.to_datetime(sub, format=fmt, errors="coerce")
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        ok = parsed.notna()
        if ok.any():
            out.loc[ok[ok].index] = parsed[ok].astype("datetime64[ns]")
            used[fmt] = int(ok.sum())
            todo.loc[ok[ok].index] = False
    if used:
        dq.formats_used[what] = used
    bad = int(todo.sum())
    if bad:
        dq.bad_timestamps[what] = bad
    return out


# ----------------------------------------------------------------------------- codes
def _status_kind(raw: pd.Series, mapping: Mapping) -> pd.Series:
    st = mapping.status
    low = raw.str.strip().str.lower()
    kind = pd.Series("other", index=raw.index, dtype=object)
    for name, values in (("closed", st.closed), ("duplicate", st.duplicate),
                         ("transferred", st.transferred), ("cancelled", st.cancelled)):
        vals = {v.strip().lower() for v in values}
        kind[low.isin(vals)] = name
    return kind


def _codes(raw: pd.Series, table: dict[str, str], identity: bool, default: str | None,
           empty: str) -> tuple[pd.Series, int]:
    """Map raw values to codes; returns (codes, number of non-empty values not in `table`)."""
    raw = raw.fillna("").astype(str).str.strip()
    uniq = raw.unique()
    lut = {}
    unlisted = set()
    for v in uniq:
        if v == "":
            lut[v] = empty
        elif identity:
            lut[v] = v
        elif v in table:
            lut[v] = table[v]
        else:
            if table:
                unlisted.add(v)
            lut[v] = default if default else slug(v)
    codes = raw.map(lut)
    return codes, int(raw.isin(unlisted).sum())


def _location(df: pd.DataFrame, mapping: Mapping, dq: DataQuality) -> pd.Series:
    loc = mapping.columns.location
    key = pd.Series("", index=df.index, dtype=object)
    for col in (loc.grid, loc.address):
        if col:
            v = df[col].fillna("").astype(str).str.strip().str.upper()
            key = key.where(key != "", v)
    if loc.lat and loc.long:
        lat = pd.to_numeric(df[loc.lat], errors="coerce")
        lon = pd.to_numeric(df[loc.long], errors="coerce")
        bad = pd.Series(False, index=df.index)
        for plat, plon in loc.placeholder_latlong:
            bad |= (lat.round(6) == round(plat, 6)) & (lon.round(6) == round(plon, 6))
        dq.placeholder_latlong = int(bad.sum())
        d = loc.latlong_decimals
        ll = lat.round(d).astype(str) + "," + lon.round(d).astype(str)
        ll = ll.where(lat.notna() & lon.notna() & ~bad, "")
        key = key.where(key != "", ll)
    return key


# ----------------------------------------------------------------------------- main entry
#: above this share of rows dropped for their created time, reading stops (exit 2) unless
#: the user passes --allow-drop
MAX_DROP_SHARE = 0.05


def naive_time(value, where: str) -> pd.Timestamp:
    """A date or date-time as the log's clock has it: a value with a UTC offset is converted
    to UTC without the offset (as the log's own ISO 8601 times with offsets are); a value that
    is not a date is a `UserError` naming `where`."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        ts = None
    if ts is None or ts is pd.NaT or pd.isna(ts):
        raise UserError([f"{where}: {str(value)[:60]!r} is not a date: give YYYY-MM-DD or "
                         f"YYYY-MM-DDTHH:MM (an offset such as +08:00 may follow)"])
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def read_log(source: str | Path | pd.DataFrame, mapping: Mapping, mapping_path: str = "<mapping>",
             extracted_at: pd.Timestamp | None = None, lump: bool = True,
             allow_drop: bool = False, until=None, since=None,
             groups: dict[str, str] | None = None) -> CaseLog:
    """Read a log (a CSV/.xlsx/.xls path or a DataFrame of strings) through a mapping into a
    `CaseLog`.

    `allow_drop`: go on when over `MAX_DROP_SHARE` of the rows have no usable created time
    (else `UserError`). `until`: keep only cases created before it, and know only what was
    known then (close times after it are unknown: the case is open, censored at `until`).
    `since`: keep only cases created at or after it (the held-out rows of an out-of-sample
    check). `groups`: the category grouping of a fit (code -> the fit's code, as recorded in
    the calibrated scenario's header): used instead of lumping this log's rare categories anew
    (`group_as_fit`).
    """
    until = naive_time(until, "--until") if until is not None else None
    since = naive_time(since, "--from") if since is not None else None
    dq = DataQuality()
    if isinstance(source, pd.DataFrame):
        name = "<table>"
        df = source.astype(object).where(source.notna(), "").astype(str).reset_index(drop=True)
    else:
        name = str(source)
        df = read_table(source, mapping, dq)
    dq.source = name
    dq.rows_read = len(df) + dq.ragged_rows
    check_columns(df, mapping, name, mapping_path)
    cols = mapping.columns
    numeric = df.attrs.get("numeric_columns", {})
    for what in ("created", "closed", "started", "updated", "due"):
        col = getattr(cols, what, None)
        if col and col in numeric:
            raise UserError([f"{name}: column {col!r} (columns.{what} in {mapping_path}) holds "
                             f"numbers ({numeric[col]}) in the Parquet file, not date-times: "
                             f"store it as a timestamp or ISO 8601 text (cogov does not guess "
                             f"what a number such as epoch seconds means)"])
    fmts = list(mapping.timestamps.formats)
    if dq.spreadsheet and not any(f.upper() == "ISO8601" for f in fmts):
        fmts.append("ISO8601")   # date cells of a workbook arrive as ISO 8601 text
    line = pd.Series(np.arange(2, len(df) + 2), index=df.index)   # header is line 1

    # ids: duplicated ids, then rows attached to one case
    if cols.id:
        ids = df[cols.id].str.strip()
        dup = ids.duplicated() & (ids != "")
        dq.duplicate_ids = int(dup.sum())
        df, line = df[~dup].reset_index(drop=True), line[~dup].reset_index(drop=True)
    created = parse_times(df[cols.created], fmts, dq, "created")
    bad = created.isna()
    dq.bad_created = int(bad.sum())
    if dq.bad_created:
        raw_bad = df.loc[bad, cols.created].head(3)
        dq.dropped_examples = [f"line {line[i]}: {v.strip()[:40]!r}" if v.strip() else
                               f"line {line[i]}: empty" for i, v in raw_bad.items()]
    if bool(bad.all()):
        raise UserError([f"{name}: no row has a usable created time (column "
                         f"{cols.created!r}; e.g. {'; '.join(dq.dropped_examples)}): add "
                         f"their format to `timestamps.formats` in {mapping_path} (strptime "
                         f"codes, e.g. \"%m/%d/%Y %I:%M:%S %p\"; tried: {', '.join(fmts)})"])
    if dq.dropped_share > MAX_DROP_SHARE and not allow_drop:
        raise UserError([f"{name}: {dq.dropped_line()}. Over {MAX_DROP_SHARE:.0%} of the log "
                         f"would be lost and every rate would be that much too low: add the "
                         f"missing format to `timestamps.formats` in {mapping_path} (tried: "
                         f"{', '.join(fmts)}), or pass --allow-drop to go on without these "
                         f"rows"])
    if dq.bad_created:
        dq.notes.append(dq.dropped_line())
    df, created = df[~bad].reset_index(drop=True), created[~bad].reset_index(drop=True)
    span = (created.min(), created.max())
    if since is not None:
        early = created < pd.Timestamp(since)
        dq.held_out += int(early.sum())
        df, created = df[~early].reset_index(drop=True), created[~early].reset_index(drop=True)
    if until is not None:
        late_ = created >= pd.Timestamp(until)
        dq.held_out += int(late_.sum())
        df, created = df[~late_].reset_index(drop=True), created[~late_].reset_index(drop=True)
    if created.empty:
        raise UserError([f"{name}: no case created "
                         + (f"from {since} " if since is not None else "")
                         + (f"before {until} " if until is not None else "")
                         + f"(the log runs from {span[0]:%Y-%m-%d %H:%M} to "
                           f"{span[1]:%Y-%m-%d %H:%M}): choose a date inside the log"])
    complaints = pd.Series(1, index=df.index)
    if cols.case_id:
        key = df[cols.case_id].str.strip()
        key = key.where(key != "", "row" + df.index.astype(str))
        order = created.sort_values(kind="stable").index
        df, created, key = (df.loc[order].reset_index(drop=True),
                            created.loc[order].reset_index(drop=True),
                            key.loc[order].reset_index(drop=True))
        sizes = key.map(key.value_counts())
        first = ~key.duplicated()
        dq.attached_complaints = int((~first).sum())
        complaints = sizes[first].reset_index(drop=True)
        df, created = df[first].reset_index(drop=True), created[first].reset_index(drop=True)

    def times(col, what):
        if not col:
            return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
        return parse_times(df[col], fmts, dq, what)

    closed, started = times(cols.closed, "closed"), times(cols.started, "started")
    updated, due = times(cols.updated, "updated"), times(cols.due, "due")

    # export time: explicit, given, or the latest timestamp seen
    if extracted_at is None and mapping.timestamps.extracted_at:
        extracted_at = naive_time(mapping.timestamps.extracted_at,
                                  f"{mapping_path}: timestamps.extracted_at")
    if extracted_at is None:
        extracted_at = max(t.max() for t in (created, closed, started, updated) if t.notna().any())
    extracted_at = naive_time(extracted_at, "extracted_at")
    unknown_then = pd.Series(False, index=df.index)
    if until is not None and pd.Timestamp(until) < extracted_at:
        # fit as of `until`: later closures and starts were not known yet
        extracted_at = pd.Timestamp(until)
        unknown_then = closed > extracted_at
        closed = closed.where(~unknown_then)
        started = started.where(~(started > extracted_at))
    late = created > extracted_at
    dq.created_after_export = int(late.sum())
    keep = ~late
    df, created, closed, started, due, complaints = (
        x[keep].reset_index(drop=True) for x in (df, created, closed, started, due, complaints))

    status_raw = df[cols.status].str.strip() if cols.status else pd.Series("", index=df.index)
    kind = _status_kind(status_raw, mapping) if cols.status else pd.Series("other",
                                                                             index=df.index)
    has_close = closed.notna()
    dq.close_time_on_open_status = int((has_close & (kind == "other") & bool(cols.status)).sum())
    kind = kind.where(~((kind == "other") & has_close), "closed")
    kind = kind.where(kind != "other", "open")
    kind = kind.where(~(unknown_then.to_numpy() & (kind == "closed").to_numpy()), "open")
    dq.closed_without_time = int(((kind == "closed") & ~has_close).sum())

    cat_raw = df[cols.category].str.strip()
    cat, dq.unlisted_categories = _codes(cat_raw, mapping.categories.codes,
                                         mapping.categories.identity, None, "unknown")
    dq.unknown_categories = int((cat == "unknown").sum())
    if cols.agency:
        dept, _ = _codes(df[cols.agency], mapping.departments.codes,
                         mapping.departments.identity, None, "unknown_agency")
        dq.missing_agency = int((df[cols.agency].str.strip() == "").sum())
        dept_raw = df[cols.agency].str.strip()
    else:
        dept_raw = pd.Series(mapping.name, index=df.index, dtype=object)
        dept = pd.Series(slug(mapping.name), index=df.index, dtype=object)
    if cols.channel:
        ch_raw = df[cols.channel].str.strip()
        ch, dq.unknown_channels = _codes(ch_raw, mapping.channels.map, mapping.channels.identity,
                                         mapping.channels.default, mapping.channels.default
                                         or "unknown")
    elif mapping.channels.default:   # no channel column: every case came by the default
        ch_raw = pd.Series("", index=df.index)
        ch = pd.Series(mapping.channels.default, index=df.index, dtype=object)
    else:
        ch_raw = pd.Series("", index=df.index)
        ch = pd.Series(None, index=df.index, dtype=object)

    res = mapping.timestamps.resolution_hours
    ttc, ttc_ev, neg1, inst1 = _durations(created, closed, kind, extracted_at, res)
    if cols.started:
        hand, hand_ev, neg2, _ = _durations(started, closed, kind, extracted_at, res)
        hand[started.isna()] = np.nan
        hand_ev[started.isna()] = np.nan
    else:
        hand, hand_ev, neg2 = ttc.copy(), ttc_ev.copy(), pd.Series(False, index=df.index)
    dq.negative_durations = int((neg1 | neg2).sum())
    dq.instant_closures = int(inst1.sum())
    dq.open_censored = int((ttc_ev == 0).sum())

    cases = pd.DataFrame({
        "id": df[cols.id].str.strip() if cols.id else df.index.astype(str),
        "created": created, "closed": closed, "started": started, "due": due,
        "category": cat, "category_raw": cat_raw, "department": dept,
        "department_raw": dept_raw,
        "channel": ch, "channel_raw": ch_raw, "status_raw": status_raw, "kind": kind,
        "location": _location(df, mapping, dq),
        "street": (df[cols.location.street].str.strip() if cols.location.street
                   else pd.Series("", index=df.index)),
        "complaints": complaints.to_numpy(),
        "ttc_hours": ttc, "ttc_event": ttc_ev, "handling_hours": hand, "handling_event": hand_ev,
    })
    cases["category_unlumped"] = cases["category"]
    if groups is not None:
        cases = group_as_fit(cases, groups, dq)
    elif lump and not mapping.categories.identity:
        cases = lump_rare(cases, mapping.categories.min_cases, dq)
    _clock_spike(cases, dq)
    dq.rows_used = len(cases)
    return CaseLog(cases=cases, quality=dq, mapping=mapping, extracted_at=extracted_at,
                   window_start=created.min(), window_end=created.max(), source=name)


def _durations(start: pd.Series, closed: pd.Series, kind: pd.Series, extracted_at, res: float):
    """(hours, event, negative, instant): event 1 = closed, 0 = censored, NaN = unusable.

    Duplicates, transfers and cancellations are not closures of the problem: unusable.
    """
    hours = (closed - start) / HOUR
    event = pd.Series(np.where(closed.notna(), 1.0, np.nan), index=start.index)
    open_ = (kind == "open") & closed.isna()
    hours = hours.where(~open_, (extracted_at - start) / HOUR)
    event[open_] = 0.0
    neg = hours < 0
    unusable = neg | kind.isin(["duplicate", "transferred", "cancelled"]) | start.isna()
    event[unusable] = np.nan
    hours = hours.where(event.notna())
    inst = (event == 1) & (hours <= res)
    return hours.astype(float), event, neg & ~kind.isin(["duplicate", "transferred",
                                                          "cancelled"]), inst


def lump_rare(cases: pd.DataFrame, min_cases: int, dq: DataQuality) -> pd.DataFrame:
    """Categories with fewer than `min_cases` cases become `<department>_other`."""
    counts = cases["category"].value_counts()
    rare = counts[counts < min_cases].index
    if len(rare) == 0:
        return cases
    mask = cases["category"].isin(rare)
    cases = cases.copy()
    owner = cases.groupby("category")["department"].agg(lambda s: s.mode().iat[0])
    cases.loc[mask, "category"] = cases.loc[mask, "category"].map(owner) + "_other"
    dq.lumped_categories = int(len(rare))
    dq.lumped_cases = int(mask.sum())
    return cases


def group_as_fit(cases: pd.DataFrame, groups: dict[str, str], dq: DataQuality
                 ) -> pd.DataFrame:
    """Group categories the way the fit did (`validate-against` on a calibrated scenario): a
    code the fit saw takes the fit's code (its own, or the `<department>_other` it was lumped
    into); a code the fit never saw (0 cases there, so rare) goes to `<department>_other` when
    the fit has that group, else keeps its own code (and has no simulated counterpart)."""
    fit_codes = set(groups.values())
    cases = cases.copy()
    cat = cases["category"]
    known = cat.isin(list(groups))
    mapped = cat.map(groups)
    other = cases["department"].astype(str) + "_other"
    new = mapped.where(known, other.where(other.isin(list(fit_codes)), cat))
    moved = new != cat
    cases["category"] = new
    dq.lumped_categories = int(cat[moved].nunique())
    dq.lumped_cases = int(moved.sum())
    return cases


def _clock_spike(cases: pd.DataFrame, dq: DataQuality) -> None:
    """Flag exact times of day holding a suspicious share of created times (date-only entries,
    e.g. midnight UTC shown in local time); they are left out of hour-of-day weights."""
    cases["date_only"] = False
    if len(cases) < 100:
        return
    tod = cases["created"].dt.strftime("%H:%M:%S")
    share = tod.value_counts(normalize=True)
    spikes = [t for t, s in share.items() if s > 0.02 and t.endswith(":00:00")]
    if spikes:
        cases["date_only"] = tod.isin(spikes)
        total = float(share[spikes].sum())
        dq.notes.append(f"{total:.1%} of created times are exactly {', '.join(sorted(spikes))}: "
                        f"probably date-only entries; left out of the hour-of-day weights "
                        f"(still counted in rates)")
