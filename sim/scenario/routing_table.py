"""The live routing table as a file (CSV, Excel .xlsx or YAML; formats and reading in
routing_table_format.py): one row per case category.

Columns (docs/routing-table.md): `code, name, name_zh, main_department, co_handlers,
dispatch_mode, handback, followup_owner, deadline_hours` (required), `police_on_site` and the
departments' Chinese names `main_department_zh`, `co_handlers_zh` (optional; export always
writes them). How a row maps onto the scenario:

- code: the key of `catalogue` (the category must exist in the scenario);
- name, name_zh: `catalogue.<code>.name`, `.name_zh`;
- main_department: `catalogue.<code>.owner`;
- co_handlers: `catalogue.<code>.co_handlers` (`;`-separated in CSV);
- dispatch_mode: `dispatch.modes.<code>` (written only where it differs from what
  `dispatch.default_mode` and `dispatch.dual_families` give);
- police_on_site: `catalogue.<code>.police_on_site`, the police act on site when a 110 call
  about it arrives;
- handback: `catalogue.<code>.handback` (written only where the row departs from what the
  scenario does now; unset, a category follows `handback.enabled`): police-closed but unsettled
  cases go to grid follow-up. The model hands back only cases the police closed on site, so
  `yes` needs police on site;
- followup_owner: `grid` (the case's grid worker, the model's only follow-up) or empty;
- deadline_hours: `catalogue.<code>.deadline_hours`.

Import writes a small scenario that `extends:` the original and sets only what the table
changes, under its own name (or, with `resolved=True`, the whole resolved scenario). A YAML
**package** (what `cogov recommend` writes) also carries `settings:` (the decisions no row
carries: routing policy, staffing ...) and `scenario:` names, applied with the rows; a CSV or
workbook marked as part of a package is refused, saying which decisions it would lose.
Every problem in a table is reported as `TABLE: row N, column C: ...` (CSV rows numbered as
in a spreadsheet, the header being row 1; YAML rows numbered from 1 in list order) and raised
together as one `UserError`.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
from pathlib import Path

import yaml

from .. import __version__
from ..errors import UserError
from ..outdir import OutputFile
from ..scenario.loader import (
    ScenarioError,
    apply_set,
    dump_yaml,
    load_raw,
    load_scenario,
    scenario_sha256,
    scenario_to_dict,
    validate_mapping,
)
from ..scenario.paths import set_path
from ..scenario.schema import Scenario
from .routing_table_format import (  # noqa: F401 (re-exported)
    ALIASES,
    COLUMNS,
    FOLLOWUP_OWNERS,
    NAME_KEYS,
    NO,
    PACKAGE_MARK,
    REQUIRED,
    ROW_PATHS,
    YES,
    ZH_COLUMNS,
    _csv_lines,
    _delimiter,
    _fmt_float,
    _format_of,
    _norm_col,
    _xlsx_lines,
    _yn,
    read_package,
    read_table,
)


# ----------------------------------------------------------------------------- values
def default_mode(scenario: Scenario, code: str) -> str:
    """The dispatch mode a category gets without a `dispatch.modes` entry."""
    d = scenario.dispatch
    fam = scenario.catalogue[code].family
    return "dual" if (fam in d.dual_families or d.default_mode == "dual") else "single"


def handback_of(scenario: Scenario, code: str) -> bool:
    """Whether unsettled police-closed cases of `code` go to grid follow-up."""
    cat = scenario.catalogue[code]
    if cat.handback is not None:
        return bool(cat.police_on_site and cat.handback)
    return bool(cat.police_on_site and scenario.handback.enabled)


def table_rows(scenario: Scenario) -> list[dict]:
    """The routing table of a scenario: one dict per category, canonical values."""
    rows = []
    for code, cat in scenario.catalogue.items():
        hb = handback_of(scenario, code)
        rows.append({
            "code": code,
            "name": cat.name,
            "name_zh": cat.name_zh,
            "main_department": cat.owner,
            "co_handlers": list(cat.co_handlers),
            "dispatch_mode": scenario.dispatch.modes.get(code, default_mode(scenario, code)),
            "handback": _yn(hb),
            "followup_owner": "grid" if hb else "",
            "deadline_hours": _fmt_float(cat.deadline_hours),
            "police_on_site": _yn(cat.police_on_site),
            "main_department_zh": _dept_zh(scenario, cat.owner),
            "co_handlers_zh": [_dept_zh(scenario, c) for c in cat.co_handlers],
        })
    return rows


def _dept_zh(scenario: Scenario, code: str) -> str:
    d = scenario.departments.get(code)
    return d.name_zh if d is not None else ""


# ----------------------------------------------------------------------------- writing
def write_table(rows: list[dict], path: str | Path, fmt: str | None = None,
                header: str = "", settings: dict | None = None,
                names: dict | None = None) -> Path:
    """Write rows as CSV (UTF-8 with BOM, so spreadsheet programs show Chinese), an Excel
    workbook (.xlsx) or YAML.

    A **package** (what `cogov recommend` writes) also has `settings` (dotted scenario path ->
    value: the decisions a row cannot carry, such as `routing.policy` or a department's staff)
    and `names` (the derived scenario's `name`, `display_name`, `display_name_zh`). YAML
    carries both; a CSV or workbook cannot, so it gets a first line `# cogov package ...`
    listing them, and `cogov routing import` refuses it (saying what would be lost)."""
    path = Path(path)
    fmt = fmt or _format_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [[r[c] if not isinstance(r[c], list) else ";".join(r[c]) for c in COLUMNS]
             for r in rows]
    mark = (f"{PACKAGE_MARK} (a CSV or workbook cannot carry these decisions: import the "
            f"YAML package instead): " + json.dumps(settings, ensure_ascii=False)
            if settings else "")
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if mark:
            w.writerow([mark])
        w.writerow(COLUMNS)
        w.writerows(lines)
        path.write_text(buf.getvalue(), encoding="utf-8-sig", newline="")
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "routing_table"
        if mark:
            ws.append([mark])
        ws.append(list(COLUMNS))
        for ln in lines:
            ws.append(ln)
        wb.save(path)
    else:
        items = []
        for r in rows:
            item = {c: r[c] for c in COLUMNS}
            item["deadline_hours"] = float(r["deadline_hours"])
            if item["deadline_hours"].is_integer():
                item["deadline_hours"] = int(item["deadline_hours"])
            items.append(item)
        doc: dict = {}
        if names:
            doc["scenario"] = {k: names[k] for k in NAME_KEYS if names.get(k)}
        if settings:
            doc["settings"] = dict(settings)
        doc["routing_table"] = items
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
        path.write_text(header + text, encoding="utf-8")
    return path


def export_table(scenario_path: str | Path, out: str | Path, overrides=(),
                 fmt: str | None = None, force: bool = False) -> Path:
    """`cogov routing export`: write the scenario's routing table (never over the scenario
    itself; an existing table only with `force`)."""
    target = OutputFile(out, force=force, inputs=[scenario_path], what="routing table")
    fmt = fmt or _format_of(target.final)
    target.check()
    scenario = load_scenario(scenario_path, list(overrides))
    header = (f"# cogov {__version__} routing table of {scenario_path} (scenario "
              f"{scenario.name!r}); columns: docs/routing-table.md\n")
    with target as tmp:
        write_table(table_rows(scenario), tmp, fmt, header)
    return target.final


def _split_list(s: str) -> list[str]:
    return [x for x in re.split(r"[;,、，\s|]+", s.strip()) if x]


def parse_rows(path: str | Path, scenario: Scenario) -> tuple[list[dict], list[str]]:
    """Validate a table against a scenario: (canonical rows, every error by row and column)."""
    rows, cols, errors = read_table(path)
    errors = list(errors)
    p = str(path)
    missing = [c for c in REQUIRED if c not in cols]
    for c in missing:
        errors.append(f"row 1, column {c}: missing column (required: {', '.join(REQUIRED)})")
    for c in cols:
        if c not in COLUMNS:
            errors.append(f"row 1, column {c or '(empty)'}: unknown column (columns: "
                          f"{', '.join(COLUMNS)})")
    has_pos = "police_on_site" in cols
    depts = scenario.departments
    by_zh = {d.name_zh: c for c, d in depts.items() if d.name_zh}
    empty_zh: list[int] = []
    out = []
    first_row: dict[str, int] = {}
    for n, r in rows:
        def err(col, msg, n=n):
            errors.append(f"row {n}, column {col}: {msg}")

        get = r.get
        _corruption(r, err)
        code = (get("code") or "").strip()
        row: dict = {"_row": n, "code": code}
        if not code:
            err("code", "empty: every row needs the category code")
        elif code in first_row:
            err("code", f"duplicate code {code!r} (first in row {first_row[code]})")
        else:
            first_row[code] = n
            if code not in scenario.catalogue:
                err("code", f"unknown category {code!r}: the table routes the scenario's "
                            f"categories; add it to the catalogue first")
        known = scenario.catalogue.get(code)
        if "name" in cols:
            row["name"] = (get("name") or "").strip()
            if not row["name"]:
                err("name", "empty: give the category's English name"
                    + (f" (the scenario's is {known.name!r}; re-export the table to get "
                       f"the names back)" if known is not None else ""))
        row["name_zh"] = (get("name_zh") or "").strip()
        if not row["name_zh"] and known is not None and known.name_zh:
            empty_zh.append(n)
            err("name_zh", f"empty, but the scenario's Chinese name is {known.name_zh!r}: "
                           f"importing would wipe it; put it back (or re-export the table)")
        if "main_department" in cols:
            md = (get("main_department") or "").strip()
            md = by_zh.get(md, md)
            row["main_department"] = md
            if not md:
                err("main_department", "empty: name the owning department")
            elif md not in depts:
                err("main_department", f"unknown department {md!r} (one of "
                                       f"{', '.join(depts)})")
            elif depts[md].staff == 0:
                err("main_department", f"department {md!r} has no staff in this scenario")
        if "co_handlers" in cols:
            co = [by_zh.get(c, c) for c in _split_list(get("co_handlers") or "")]
            row["co_handlers"] = co
            seen = set()
            for c in co:
                if c not in depts:
                    err("co_handlers", f"unknown department {c!r} (one of {', '.join(depts)})")
                elif c in seen:
                    err("co_handlers", f"{c!r} listed twice")
                elif c == row.get("main_department"):
                    err("co_handlers", f"{c!r} is the main department")
                seen.add(c)
        if "dispatch_mode" in cols:
            mode = (get("dispatch_mode") or "").strip().lower()
            mode = {"单": "single", "单派": "single", "双": "dual", "双派": "dual"}.get(mode, mode)
            row["dispatch_mode"] = mode
            if mode not in ("single", "dual"):
                err("dispatch_mode", f"{get('dispatch_mode')!r}: use single or dual")
        for col in ("handback", "police_on_site"):
            if col not in cols:
                continue
            v = (get(col) or "").strip().lower()
            if v in YES:
                row[col] = True
            elif v in NO:
                row[col] = False
            else:
                err(col, f"{get(col)!r}: use yes or no")
        if "followup_owner" in cols:
            fo = (get("followup_owner") or "").strip()
            fo_c = FOLLOWUP_OWNERS.get(fo.lower(), FOLLOWUP_OWNERS.get(fo, fo))
            row["followup_owner"] = fo_c
            if fo_c not in ("", "grid"):
                err("followup_owner", f"{fo!r}: the model's only follow-up is by the case's "
                                      f"grid worker: use grid, or leave it empty")
            elif row.get("handback") is False and fo_c:
                err("followup_owner", f"{fo!r} but handback is no: nothing is handed back; "
                                      f"leave it empty or set handback to yes")
        if "deadline_hours" in cols:
            dl = (get("deadline_hours") or "").strip()
            try:
                v = float(dl)
                if not v > 0 or v != v or v == float("inf"):
                    raise ValueError
                row["deadline_hours"] = v
            except ValueError:
                err("deadline_hours", f"{dl!r}: a positive number of hours")
        if code in scenario.catalogue:
            cat = scenario.catalogue[code]
            if not has_pos:
                # without the column: yes needs the police on site; no keeps the scenario's
                row["police_on_site"] = True if row.get("handback") else cat.police_on_site
            elif row.get("handback") and row.get("police_on_site") is False:
                err("handback", "yes, but police_on_site is no: only a case the police "
                                "closed on site can be handed back to the grid")
        out.append(row)
    _zh_agree(rows, out, scenario, errors)
    for code in scenario.catalogue:
        if code not in first_row:
            errors.append(f"row -, column code: category {code!r} of the scenario has no row "
                          f"(every category needs one)")
    if len(empty_zh) > 1 and len(empty_zh) == len(rows):
        errors = [e for e in errors if "column name_zh: empty" not in e]
        errors.append(f"rows {_ranges(empty_zh)}, column name_zh: empty in every row: the "
                      f"Chinese names would all be wiped (a spreadsheet dropped the column?); "
                      f"put them back, or re-export the table and redo the edits")
    return out, [f"{p}: {e}" for e in errors]


_CORRUPT = re.compile(r"\ufffd|\?{2,}|^\s*\?\s*$")


def _corruption(r: dict, err) -> None:
    """Chinese text a spreadsheet could not encode comes back as `?` (or U+FFFD when the bytes
    were decoded wrongly): refuse it rather than import `????` as a name."""
    for col, v in r.items():
        if v and _CORRUPT.search(v):
            err(col, f"{v[:40]!r} looks like text lost in saving (Chinese characters turned "
                     f"into '?' or '\ufffd'): save the table as 'CSV UTF-8' (or .xlsx) and "
                     f"retype the cell, or re-export it with cogov routing export")


def _zh_agree(rows, out, scenario: Scenario, errors: list[str]) -> None:
    """The departments' Chinese-name columns against the code columns. Where only one of the
    two differs from the scenario, that one is the edit (a Chinese name alone edited changes
    the code; a code edited leaves a stale Chinese name, which follows it); where both
    differ and disagree, the row is refused, so no edit is lost silently."""
    by_code = {r["_row"]: r for r in out}
    by_zh = {d.name_zh: c for c, d in scenario.departments.items() if d.name_zh}
    by_zh.update({d.name: c for c, d in scenario.departments.items() if d.name})
    for n, raw in rows:
        row = by_code.get(n)
        cat = scenario.catalogue.get(row["code"]) if row is not None else None
        if cat is None:
            continue
        for zcol, col in ZH_COLUMNS.items():
            text = (raw.get(zcol) or "").strip()
            if zcol not in raw or col not in row:
                continue
            listed = col == "co_handlers"
            want = list(row[col]) if listed else [row[col]]
            base = list(cat.co_handlers) if listed else [cat.owner]
            got = [by_zh.get(x, x) for x in re.split(r"\s*[;；,，、|]\s*", text) if x]
            if not text or got == want:     # empty: the Chinese names are informational
                continue
            if want == base:        # only the Chinese names were edited: they decide
                unknown = [x for x in got if x not in scenario.departments]
                if unknown:
                    errors.append(f"row {n}, column {zcol}: unknown department "
                                  f"{unknown[0]!r} (Chinese names: {', '.join(by_zh)})")
                else:
                    row[col] = got if listed else got[0]
            elif got != base:       # both edited, and they disagree
                names = [_dept_zh(scenario, c) for c in want]
                errors.append(f"row {n}, column {zcol}: {text!r} does not match {col} "
                              f"{';'.join(want)!r} ({';'.join(names)}): make them agree "
                              f"(or empty {zcol})")


def _ranges(nums: list[int]) -> str:
    nums = sorted(nums)
    if len(nums) > 8:
        return ", ".join(map(str, nums[:8])) + f" and {len(nums) - 8} more"
    return ", ".join(map(str, nums))


# ----------------------------------------------------------------------------- applying
def apply_rows(data: dict, scenario: Scenario, rows: list[dict]) -> dict:
    """A copy of the raw scenario mapping `data` (whose validated form is `scenario`) with the
    routing of `rows` applied."""
    new = copy.deepcopy(data)
    cat_raw = new.setdefault("catalogue", {})
    modes = dict((new.get("dispatch") or {}).get("modes") or {})
    for r in rows:
        code = r["code"]
        cat = scenario.catalogue[code]
        want = {"name": r["name"], "name_zh": r["name_zh"], "owner": r["main_department"],
                "co_handlers": list(r["co_handlers"]), "deadline_hours": r["deadline_hours"],
                "police_on_site": bool(r["police_on_site"])}
        if bool(r["handback"]) != handback_of(scenario, code):
            # only where the table departs from what the scenario does now (a per-category
            # override of `handback.enabled`), so an unchanged table round-trips losslessly
            want["handback"] = bool(r["handback"])
        for k, v in want.items():  # write only what changes (a minimal scenario diff)
            if getattr(cat, k, None) != v:
                cat_raw.setdefault(code, {})[k] = v
        if code in modes or r["dispatch_mode"] != default_mode(scenario, code):
            modes[code] = r["dispatch_mode"]
    if modes:
        new.setdefault("dispatch", {})["modes"] = modes
    return new


def _diff(base, new):
    """The part of `new` that differs from `base` (mappings key by key, anything else
    whole), or None when equal."""
    if isinstance(base, dict) and isinstance(new, dict):
        out = {}
        for k, v in new.items():
            if k not in base:
                out[k] = v
            else:
                d = _diff(base[k], v)
                if d is not None:
                    out[k] = d
        return out or None
    return None if base == new else new


def import_table(table: str | Path, into: str | Path, out: str | Path, overrides=(),
                 resolved: bool = False, argv: list[str] | None = None, force: bool = False
                 ) -> tuple[Path, list[str]]:
    """`cogov routing import`: write a scenario whose routing is the table's (never over the
    table or the scenario it applies to; an existing file only with `force`)."""
    target = OutputFile(out, force=force, inputs=[table, into], suffixes=(".yaml", ".yml"),
                        what="scenario")
    target.check()
    file_raw = load_raw(into)
    data = copy.deepcopy(file_raw)
    for expr in overrides:
        apply_set(data, expr)
    scenario = validate_mapping(copy.deepcopy(data), str(into))
    settings, names, carried = read_package(table)
    if settings and not carried:
        lost = ", ".join(f"{k} = {v}" for k, v in settings.items())
        yaml_twin = Path(table).with_suffix(".yaml")
        raise UserError(
            f"{table}: row 1: this table is part of a package (cogov recommend) that also "
            f"changes {len(settings)} decision(s) a {Path(table).suffix or 'CSV'} table cannot "
            f"carry: {lost}; importing it would lose them and give a configuration nobody "
            f"evaluated: import the YAML package ({yaml_twin.name}) instead, or apply "
            f"recommended_scenario.yaml")
    rows, errors = parse_rows(table, scenario)
    errors += _settings_errors(settings, table)
    if errors:
        raise UserError(errors)
    new = apply_rows(data, scenario, rows)
    for k, v in settings.items():
        set_path(new, k, v)
    new.update(derived_names(scenario, table, out_name=Path(out).stem, names=names))
    try:
        new_scenario = validate_mapping(copy.deepcopy(new), f"{table} applied to {into}")
    except ScenarioError as exc:
        raise UserError(_map_scenario_errors(exc.errors, rows, str(table))) from None
    out = target.final
    cmd = " ".join(argv) if argv else f"cogov routing import {table} --into {into} --out {out}"
    head = (f"# Generated by cogov {__version__}: {cmd}\n"
            f"# Routing from the table {table} applied to {into}.\n")
    with target as tmp:
        if resolved:
            tmp.write_text(head + dump_yaml(scenario_to_dict(new_scenario)), encoding="utf-8")
        else:
            overlay = _diff(file_raw, new) or {}
            rel = os.path.relpath(Path(into).resolve(), out.resolve().parent)
            doc = {"extends": Path(rel).as_posix(), **overlay}
            tmp.write_text(head + dump_yaml(doc), encoding="utf-8")
        check = load_scenario(tmp)
        if scenario_sha256(check) != scenario_sha256(new_scenario):  # pragma: no cover
            raise UserError(f"{out}: the written scenario does not reproduce the table; write "
                            f"it with --resolved instead")
    return out, []


def _settings_errors(settings: dict, table) -> list[str]:
    from ..experiments.recommend_space import schema_has

    out = []
    for k in settings:
        if not isinstance(k, str) or not schema_has(k):
            out.append(f"{table}: settings.{k}: not a field of the scenario schema (a package's "
                       f"settings are dotted scenario paths such as routing.policy)")
        elif ROW_PATHS.match(k):
            out.append(f"{table}: settings.{k}: a row of the table sets this: change the row")
    return out


def derived_names(scenario: Scenario, table, out_name: str, names: dict | None = None) -> dict:
    """The names of a scenario derived from `scenario` by a routing table: the package's own
    names when it has them, else `<out file stem>` and "<base> + routing table <file>" (so
    `compare` never shows two columns with one title)."""
    names = dict(names or {})
    base_en = scenario.display_name or scenario.name
    base_zh = scenario.display_name_zh or base_en
    return {"name": names.get("name") or out_name,
            "display_name": names.get("display_name")
            or f"{base_en} + routing table {Path(table).name}",
            "display_name_zh": names.get("display_name_zh")
            or f"{base_zh}（派单表 {Path(table).name}）"}


def decision_sha256(scenario: Scenario) -> str:
    """A hash of everything a scenario decides: the resolved scenario without its names and
    descriptions (two scenarios with equal hashes run identically)."""
    import hashlib

    d = scenario_to_dict(scenario, uncertain=False)
    for k in ("name", "display_name", "display_name_zh", "description", "description_zh"):
        d.pop(k, None)
    # every category's effective dispatch mode (an explicit entry equal to the default and
    # no entry decide the same)
    d.setdefault("dispatch", {})["modes"] = {
        c: scenario.dispatch.modes.get(c, default_mode(scenario, c)) for c in scenario.catalogue}
    blob = json.dumps(d, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _map_scenario_errors(errors: list[str], rows: list[dict], table: str) -> list[str]:
    by_code = {r["code"]: r["_row"] for r in rows}
    cols = {"owner": "main_department", "co_handlers": "co_handlers",
            "deadline_hours": "deadline_hours", "name": "name", "police_on_site":
            "police_on_site"}
    out = []
    for e in errors:
        m = re.search(r"catalogue\.([^.:\s]+)\.([a-z_]+)", e)
        if m and m.group(1) in by_code:
            msg = e.split(": ", 2)[-1]
            out.append(f"{table}: row {by_code[m.group(1)]}, column "
                       f"{cols.get(m.group(2), m.group(2))}: {msg}")
        else:
            out.append(e)
    return out


def rows_equal(a: list[dict], b: list[dict]) -> bool:
    keys = COLUMNS
    return [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]


__all__ = ["COLUMNS", "REQUIRED", "table_rows", "read_package", "derived_names",
           "decision_sha256", "write_table", "export_table", "read_table",
           "parse_rows", "apply_rows", "import_table", "default_mode", "handback_of"]
