"""The routing table's file formats (sim/scenario/routing_table.py uses them): the columns and
their aliases, yes/no words, and reading CSV (`,`, `;` or tab, UTF-8 or GB18030), Excel
workbooks (.xlsx) and YAML tables and packages into rows of text."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from ..errors import UserError
from ..yamlsafe import load_text

COLUMNS = ("code", "name", "name_zh", "main_department", "co_handlers", "dispatch_mode",
           "handback", "followup_owner", "deadline_hours", "police_on_site",
           "main_department_zh", "co_handlers_zh")
REQUIRED = COLUMNS[:9]
# optional columns: police_on_site; the departments' Chinese names (written by export for
# readers; on import they must agree with the codes, so an edit to them alone is not lost)
ZH_COLUMNS = {"main_department_zh": "main_department", "co_handlers_zh": "co_handlers"}
# a decision of a package (`settings:`) that a row carries instead (never a setting)
ROW_PATHS = re.compile(r"catalogue\.[^.]+\.(owner|co_handlers|handback|police_on_site|"
                       r"deadline_hours|name|name_zh|followup_owner)$|dispatch\.modes\.[^.]+$")
PACKAGE_MARK = "# cogov package"
NAME_KEYS = ("name", "display_name", "display_name_zh")
ALIASES = {"owner": "main_department", "main_dept": "main_department",
           "department": "main_department", "co_handler": "co_handlers", "mode": "dispatch_mode",
           "dispatch": "dispatch_mode", "deadline": "deadline_hours", "follow_up_owner":
           "followup_owner", "category": "code", "category_code": "code"}
YES = {"yes", "y", "true", "1", "是", "有"}
NO = {"no", "n", "false", "0", "否", "无"}
FOLLOWUP_OWNERS = {"grid": "grid", "grid_worker": "grid", "网格": "grid", "网格员": "grid"}


def _fmt_float(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _yn(b: bool) -> str:
    return "yes" if b else "no"



def _format_of(path: Path) -> str:
    ext = path.suffix.lower()
    if ext == ".csv":
        return "csv"
    if ext in (".yaml", ".yml"):
        return "yaml"
    if ext == ".xlsx":
        return "xlsx"
    raise UserError(f"{path}: unknown table format {ext or '(no extension)'!r}: "
                    f"use .csv, .xlsx, .yaml or .yml (or --format)")



# ----------------------------------------------------------------------------- reading
def _norm_col(c: str) -> str:
    c = (c or "").strip().lstrip("\ufeff").lower()
    c = re.sub(r"[\s\-]+", "_", c)
    return ALIASES.get(c, c)


def _delimiter(header_line: str) -> str:
    """`,`, `;` or a tab: whichever the header row uses (spreadsheets in locales with a decimal
    comma save `;`-separated "CSV"; some save tab-separated text)."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _csv_lines(path: Path, raw: bytes) -> list[list[str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise UserError(f"{path}: not UTF-8 or GB18030 text: save the table as CSV "
                            f"UTF-8") from None
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith(
        ("#", '"#'))), "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    try:
        return list(reader)
    except csv.Error as exc:
        raise UserError(f"{path}: not valid CSV ({exc})") from None


def _xlsx_lines(path: Path) -> list[list[str]]:
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file
        raise UserError(f"{path}: not a readable Excel workbook ({type(exc).__name__}: "
                        f"{exc}): save it again as .xlsx, or as CSV UTF-8") from None
    ws = wb["routing_table"] if "routing_table" in wb.sheetnames else wb.worksheets[0]
    out = []
    for row in ws.iter_rows(values_only=True):
        cells = []
        for v in row:
            if v is None:
                v = ""
            elif isinstance(v, bool):
                v = _yn(v)
            elif isinstance(v, float):
                v = _fmt_float(v)
            cells.append(str(v))
        while cells and not cells[-1]:
            cells.pop()
        out.append(cells)
    wb.close()
    return out


def read_package(path: str | Path) -> tuple[dict, dict, bool]:
    """(settings, scenario names, whether the file carries the settings) of a table: a YAML
    package carries `settings:`; a CSV or workbook only lists them on a `# cogov package`
    first line (so that importing it would lose them)."""
    path = Path(path)
    fmt = _format_of(path)
    if not path.is_file() or (fmt != "xlsx" and b"\x00" in path.read_bytes()):
        return {}, {}, True     # read_table says what is wrong
    if fmt == "yaml":
        data = load_text(path.read_bytes().decode("utf-8-sig", errors="replace"), str(path))
        if not isinstance(data, dict):
            return {}, {}, True
        settings = data.get("settings") or {}
        names = data.get("scenario") or {}
        if not isinstance(settings, dict) or not isinstance(names, dict):
            raise UserError(f"{path}: `settings:` and `scenario:` must be mappings (dotted "
                            f"scenario path: value; name, display_name, display_name_zh)")
        return settings, {k: str(v) for k, v in names.items() if k in NAME_KEYS}, True
    lines = (_csv_lines(path, path.read_bytes()) if fmt == "csv" else _xlsx_lines(path))
    for ln in lines:
        if ln and ln[0].startswith("#"):
            cell = ",".join(ln)
            if cell.startswith(PACKAGE_MARK) and "{" in cell:
                try:
                    return json.loads(cell[cell.index("{"):]), {}, False
                except ValueError:
                    return {"(the first line, damaged)": "?"}, {}, False
            continue
        break
    return {}, {}, True


def read_table(path: str | Path) -> tuple[list[tuple[int, dict]], list[str], list[str]]:
    """(rows as (row number, {column: text}), columns, errors) of a CSV, Excel (.xlsx) or YAML
    table. CSV: `,`, `;` or tab separated (detected from the header row); leading lines
    starting with `#` are comments."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    fmt = _format_of(path)
    raw = path.read_bytes()
    if fmt != "xlsx" and b"\x00" in raw:
        line = raw[:raw.index(b"\x00")].count(b"\n") + 1
        raise UserError(f"{path}: line {line}: contains a NUL byte (a binary file, or a table "
                        f"saved as UTF-16?): save it as CSV UTF-8")
    if fmt in ("csv", "xlsx"):
        lines = _csv_lines(path, raw) if fmt == "csv" else _xlsx_lines(path)
        skip = 0
        while skip < len(lines) and (not any(x.strip() for x in lines[skip])
                                     or lines[skip][0].lstrip().startswith("#")):
            skip += 1
        lines = lines[skip:]
        if not lines:
            raise UserError(f"{path}: empty table: the first row must name the columns "
                            f"({', '.join(REQUIRED)})")
        if len(lines[0]) == 1 and len(REQUIRED) > 1 and any(
                d in lines[0][0] for d in ("|", ":")):
            raise UserError(f"{path}: row {skip + 1}: the header is one cell "
                            f"{lines[0][0][:60]!r}: separate the columns by commas, "
                            f"semicolons or tabs (save as CSV UTF-8)")
        cols = [_norm_col(c) for c in lines[0]]
        rows = []
        errors = []
        for i, ln in enumerate(lines[1:], start=skip + 2):
            if not any(x.strip() for x in ln):
                continue
            if len(ln) > len(cols):
                errors.append(f"row {i}: {len(ln)} cells but {len(cols)} columns in the "
                              f"header (a comma inside a value needs quotes)")
            rows.append((i, {c: (ln[j] if j < len(ln) else "") for j, c in enumerate(cols)}))
        return rows, cols, errors
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason}): save it as UTF-8") from None
    data = load_text(text, str(path))
    if isinstance(data, dict):
        data = data.get("routing_table", data.get("categories"))
    if not isinstance(data, list) or not data:
        raise UserError(f"{path}: expected `routing_table:` with a list of rows (one mapping "
                        f"per category)")
    rows, cols, errors = [], [], []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            errors.append(f"row {i}: expected a mapping of columns, got {type(item).__name__}")
            continue
        row = {}
        for k, v in item.items():
            c = _norm_col(str(k))
            if c not in cols:
                cols.append(c)
            if isinstance(v, bool):
                v = _yn(v)
            elif isinstance(v, list):
                v = ";".join(str(x) for x in v)
            elif v is None:
                v = ""
            row[c] = str(v)
        rows.append((i, row))
    # YAML rows may leave out a column only where every row does: check per row below
    return rows, cols, errors
