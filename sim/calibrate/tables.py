"""A case-log file to a table of strings: CSV or other delimited text in the mapping's
encoding, .xlsx / .xls spreadsheets, Parquet. Bad bytes, NUL bytes and ragged rows are counted
in the `DataQuality` report; a file that is missing, empty, binary or not a table is a
`UserError` naming the fix. `check_columns` matches the mapping's column names to the table.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from .mapping import Mapping
from .quality import DataQuality

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

