"""Real-world mess is counted and reported, never a crash; bad input is a clear UserError (exit 2).
"""

from __future__ import annotations

import pytest
import yaml

from sim.calibrate.cli import calibrate_log
from sim.calibrate.mapping import load_mapping, mapping_from_dict
from sim.calibrate.read import read_log
from sim.errors import UserError

from .conftest import cogov

MAPPING = {
    "name": "messy",
    "columns": {"id": "id", "created": "created", "closed": "closed", "category": "type",
                "agency": "agency", "channel": "source", "status": "status",
                "location": {"address": "address"}},
    "timestamps": {"formats": ["%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M", "ISO8601"]},
    "status": {"closed": ["Closed"], "duplicate": ["Closed (Duplicate)"]},
    "channels": {"map": {"Phone": "hotline_12345", "App": "app"}, "default": "app"},
    "categories": {"codes": {"Pothole": "pothole", "Graffiti": "graffiti"}, "min_cases": 5},
}

HEADER = b"id,created,closed,type,agency,source,status,address\n"


def messy_bytes() -> bytes:
    rows = []
    # 40 ordinary rows over 20 days, two categories, two formats
    for i in range(40):
        day = 1 + i // 2
        if i % 2:
            c, x = f"01/{day:02d}/2024 09:{i:02d}:00 AM", f"01/{day:02d}/2024 03:00:00 PM"
        else:
            c, x = f"2024-01-{day:02d}T10:{i:02d}:00", f"2024-01-{day + 1:02d}T10:00:00"
        cat = "Pothole" if i % 3 else "Graffiti"
        rows.append(f"R{i},{c},{x},{cat},Roads,Phone,Closed,{i} MAIN ST".encode())
    rows += [
        b"M1,2024-01-05 08:30,,Pothole,Roads,App,Open,1 ELM ST",              # open: censored
        b"R3,2024-01-06T10:00:00,2024-01-07T10:00:00,Pothole,Roads,Phone,Closed,dup id",
        b"M2,2024-01-08T10:00:00,2024-01-07T10:00:00,Pothole,Roads,Phone,Closed,2 ELM ST",  # neg
        b"M3,2024-01-08T11:00:00,2024-01-08T12:00:00,,Roads,Phone,Closed,3 ELM ST",  # no cat
        b"M4,2024-01-09T11:00:00,2024-01-09T12:00:00,Graffiti,Parks,App,Closed,4 \xff\xfe ST",
        b"M5,not a date,2024-01-09T12:00:00,Graffiti,Parks,App,Closed,5 ELM ST",  # bad created
        b"M6,2024-01-09T11:00:00,Pothole,Roads",                                  # ragged
        b"M7,2024-01-10T11:00:00,,Pothole,Roads,Phone,Closed,7 ELM ST",  # closed, no time
        b"M8,2024-01-10T12:00:00,31/31/2024,Pothole,Roads,Phone,Closed,8 ELM ST",  # bad close
        b"M9,2024-01-11T12:00:00,2024-01-11T13:00:00,Pothole,,Carrier pigeon,Closed,9 ELM",
        b"M10,2024-01-11T12:00:00,2024-01-11T13:00:00,Pothole,Roads,Phone,Closed (Duplicate),x",
        b"M11,2024-01-12T12:00:00,2024-01-12T13:00:00,Streetlight,Lights,Phone,Closed,11 ELM",
        b"M12,2024-01-12T12:00:00,2024-01-12T12:00:00,Pothole,Roads,Ph\x00one,Closed,12 ELM",
    ]
    return HEADER + b"\n".join(rows) + b"\n"


@pytest.fixture
def messy(tmp_path):
    log = tmp_path / "messy.csv"
    log.write_bytes(messy_bytes())
    mapping = tmp_path / "messy.yaml"
    mapping.write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({
        "name": "b", "district": {"streets": [{"name": "S", "grids": [
            {"name": "G", "population": 10000}]}]},
        "catalogue": {"x": {"name": "x", "family": "urban_management", "owner": "d"}},
        "departments": {"d": {"name": "d"}, "p": {"name": "p", "is_police": True}}}),
        encoding="utf-8")
    return {"log": log, "mapping": mapping, "base": base, "dir": tmp_path}


def test_every_oddity_is_counted(messy):
    log = read_log(messy["log"], load_mapping(messy["mapping"]))
    q = log.quality
    assert q.rows_read == 53
    assert q.ragged_rows == 1
    assert q.duplicate_ids == 1
    assert q.bad_created == 1
    assert q.bad_bytes >= 1
    assert q.nul_bytes == 1
    assert q.mixed_formats and set(q.formats_used["created"]) == {
        "%m/%d/%Y %I:%M:%S %p", "ISO8601", "%Y-%m-%d %H:%M"}
    assert q.bad_timestamps["closed"] == 1
    assert q.open_censored == 1
    assert q.closed_without_time == 2
    assert q.negative_durations == 1
    assert q.unknown_categories == 1
    assert q.unlisted_categories == 1          # Streetlight is not in the mapping list
    assert q.unknown_channels == 1
    assert q.missing_agency == 1
    assert q.lumped_categories >= 1           # rare categories go to <department>_other
    assert q.rows_used == 50
    cases = log.cases
    open_row = cases[cases["id"] == "M1"].iloc[0]
    assert open_row["ttc_event"] == 0 and open_row["ttc_hours"] > 0   # censored, not dropped
    assert cases.loc[cases["id"] == "M2", "ttc_event"].isna().all()   # negative: not a duration
    assert cases.loc[cases["id"] == "M10", "kind"].iat[0] == "duplicate"
    labels = [r[0] for r in q.rows()]
    assert "negative durations" in labels and "open (right-censored)" in labels


def test_messy_log_calibrates_end_to_end(messy):
    d = messy["dir"]
    cal, path, _ = calibrate_log(messy["log"], messy["mapping"], messy["base"],
                                 d / "out" / "cal.yaml", d / "report")
    assert path.exists()
    dq = (d / "report" / "data_quality.csv").read_text(encoding="utf-8")
    assert "negative durations" in dq and "ragged rows" in dq
    assert "pothole" in cal.categories


def test_cli_reports_mess_and_exits_0(messy):
    d = messy["dir"]
    p = cogov("calibrate", messy["log"], "--mapping", messy["mapping"], "--base", messy["base"],
              "--out", d / "c.yaml")
    assert p.returncode == 0, p.stderr
    assert "negative durations 1" in p.stdout and "ragged rows 1" in p.stdout


# ----------------------------------------------------------------------------- bad input
def _expect_user_error(fn, *needles):
    with pytest.raises(UserError) as exc:
        fn()
    text = "\n".join(exc.value.errors)
    for n in needles:
        assert n in text, text
    return text


def test_mapping_names_a_missing_column(messy):
    data = {**MAPPING, "columns": {**MAPPING["columns"], "closed": "CloseDate"}}
    path = messy["dir"] / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    _expect_user_error(lambda: read_log(messy["log"], load_mapping(path), str(path)),
                       str(path), "columns.closed", "'CloseDate'", "fix the mapping")


def test_not_a_table(tmp_path):
    m = mapping_from_dict(MAPPING)
    binary = tmp_path / "x.xlsx"
    binary.write_bytes(bytes(range(256)) * 40)
    _expect_user_error(lambda: read_log(binary, m), str(binary), "not a text table")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _expect_user_error(lambda: read_log(empty, m), "empty")
    prose = tmp_path / "notes.txt"
    prose.write_text("This is a memo\nnot a table at all\n", encoding="utf-8")
    _expect_user_error(lambda: read_log(prose, m), "not a table")
    header = tmp_path / "header.csv"
    header.write_bytes(HEADER)
    _expect_user_error(lambda: read_log(header, m), "no data rows")
    _expect_user_error(lambda: read_log(tmp_path / "missing.csv", m), "not found")


def test_bad_mapping_files(tmp_path):
    _expect_user_error(lambda: mapping_from_dict({**MAPPING, "colums": {}}, "m.yaml"),
                       "m.yaml", "colums", "unknown key")
    _expect_user_error(lambda: mapping_from_dict({"name": "x", "columns": {"created": "c"}},
                                                 "m.yaml"), "columns.category", "missing")
    _expect_user_error(lambda: load_mapping(tmp_path / "nope.yaml"), "not found")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    _expect_user_error(lambda: load_mapping(bad), "not valid YAML")


def test_unknown_family_is_a_user_error(messy):
    data = {**MAPPING, "categories": {**MAPPING["categories"], "family": "astrology"}}
    path = messy["dir"] / "fam.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    _expect_user_error(lambda: calibrate_log(messy["log"], path, messy["base"],
                                             messy["dir"] / "o.yaml"), "astrology", "family")


def test_cli_exit_2_without_traceback(messy, tmp_path):
    data = {**MAPPING, "columns": {**MAPPING["columns"], "category": "Kind"}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    p = cogov("calibrate", messy["log"], "--mapping", path, "--base", messy["base"],
              "--out", tmp_path / "c.yaml")
    assert p.returncode == 2
    assert "columns.category" in p.stderr and "Traceback" not in p.stderr
    binary = tmp_path / "x.bin"
    binary.write_bytes(bytes(range(256)) * 40)
    p = cogov("validate-against", binary, "--mapping", messy["mapping"], "--scenario",
              messy["base"], "--out", tmp_path / "v")
    assert p.returncode == 2 and "not a text table" in p.stderr and "Traceback" not in p.stderr
