"""The routing table as a file: export, import, lossless round trips, every error by row and
column (exit 2)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.scenario import routing_table as RT
from sim.scenario.loader import load_scenario, scenario_sha256

ROOT = Path(__file__).resolve().parents[1]
COMMON = ROOT / "scenarios" / "common"


@pytest.fixture
def baohe(tmp_path) -> Path:
    """The Baohe catalogue (core + non-police list) with territorial routing and handback."""
    p = tmp_path / "baohe.yaml"
    p.write_text(
        f"extends: [{(COMMON / 'district.yaml').as_posix()}, "
        f"{(COMMON / 'catalogue_core.yaml').as_posix()}, "
        f"{(COMMON / 'nonpolice_list.yaml').as_posix()}]\n"
        "name: baohe_test\nrouting: {policy: territorial}\nhandback: {enabled: true}\n"
        "dispatch: {dual_families: [market]}\n", encoding="utf-8")
    return p


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


@pytest.mark.parametrize("ext", ["csv", "yaml"])
def test_scenario_table_scenario_is_lossless(baohe, tmp_path, ext):
    table = tmp_path / f"t.{ext}"
    assert main(["routing", "export", str(baohe), "--out", str(table)]) == 0
    new = tmp_path / "new.yaml"
    assert main(["routing", "import", str(table), "--into", str(baohe), "--out", str(new)]) == 0
    assert scenario_sha256(load_scenario(new)) == scenario_sha256(load_scenario(baohe))
    resolved = tmp_path / "resolved.yaml"
    assert main(["routing", "import", str(table), "--into", str(baohe), "--out", str(resolved),
                 "--resolved"]) == 0
    assert scenario_sha256(load_scenario(resolved)) == scenario_sha256(load_scenario(baohe))


def edited_table(baohe: Path, tmp_path: Path) -> Path:
    """An exported table with real routing changes and awkward text."""
    t = tmp_path / "t.csv"
    assert main(["routing", "export", str(baohe), "--out", str(t)]) == 0
    rows = read_csv(t)
    h = rows[0]
    col = {c: h.index(c) for c in h}
    by_code = {r[0]: r for r in rows[1:]}
    by_code["street_vending"][col["main_department"]] = "market_reg"
    by_code["street_vending"][col["co_handlers"]] = "urban_mgmt;community"
    by_code["street_vending"][col["dispatch_mode"]] = "dual"
    by_code["street_vending"][col["name"]] = 'Street vending, "mobile" stalls'
    by_code["street_vending"][col["name_zh"]] = "占道经营，流动摊贩"
    by_code["street_vending"][col["deadline_hours"]] = "36.5"
    by_code["food_safety"][col["dispatch_mode"]] = "single"  # overrides dual_families
    by_code["illegal_construction"][col["co_handlers"]] = ""
    write_csv(t, rows)
    return t


def test_table_scenario_table_is_lossless(baohe, tmp_path):
    t = edited_table(baohe, tmp_path)
    new = tmp_path / "new.yaml"
    assert main(["routing", "import", str(t), "--into", str(baohe), "--out", str(new)]) == 0
    sc = load_scenario(new)
    cat = sc.catalogue["street_vending"]
    assert cat.owner == "market_reg" and cat.co_handlers == ["urban_mgmt", "community"]
    assert cat.deadline_hours == 36.5 and cat.name_zh == "占道经营，流动摊贩"
    assert sc.dispatch.modes["street_vending"] == "dual"
    assert sc.dispatch.modes["food_safety"] == "single"
    back = tmp_path / "back.csv"
    assert main(["routing", "export", str(new), "--out", str(back)]) == 0
    assert read_csv(back) == read_csv(t)
    # CSV and YAML carry the same table
    y = tmp_path / "back.yaml"
    assert main(["routing", "export", str(new), "--out", str(y)]) == 0
    rows_csv, _, e1 = RT.read_table(back)
    rows_yaml, _, e2 = RT.read_table(y)
    assert not e1 and not e2
    assert [r for _, r in rows_csv] == [r for _, r in rows_yaml]
    # and the YAML imports to the same scenario
    new2 = tmp_path / "new2.yaml"
    assert main(["routing", "import", str(y), "--into", str(baohe), "--out", str(new2)]) == 0
    assert scenario_sha256(load_scenario(new2)) == scenario_sha256(sc)


def test_the_written_scenario_extends_the_original(baohe, tmp_path):
    t = edited_table(baohe, tmp_path)
    new = tmp_path / "sub" / "new.yaml"
    assert main(["routing", "import", str(t), "--into", str(baohe), "--out", str(new)]) == 0
    doc = yaml.safe_load(new.read_text(encoding="utf-8"))
    assert doc["extends"] == "../baohe.yaml"
    assert set(doc["catalogue"]) == {"street_vending", "illegal_construction"}
    assert main(["validate", str(new)]) == 0


def test_bad_table_lists_every_error_by_row_and_column(baohe, tmp_path, capsys):
    t = tmp_path / "t.csv"
    assert main(["routing", "export", str(baohe), "--out", str(t)]) == 0
    rows = read_csv(t)
    h = rows[0]
    col = {c: h.index(c) for c in h}
    rows[1][col["main_department"]] = "no_such_dept"             # row 2
    rows[3][col["code"]] = rows[2][col["code"]]                  # row 4: duplicate of row 3
    rows[4][col["dispatch_mode"]] = "triple"                     # row 5
    rows[5][col["deadline_hours"]] = "-3"                        # row 6
    rows[6][col["co_handlers"]] = "housing;ghost"                # row 7
    rows[7][col["handback"]] = "maybe"                           # row 8
    bad = tmp_path / "bad.csv"
    write_csv(bad, rows)
    capsys.readouterr()
    assert main(["routing", "import", str(bad), "--into", str(baohe), "--out",
                 str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err
    for frag in ("row 2, column main_department: unknown department 'no_such_dept'",
                 "row 4, column code: duplicate code",
                 "row 5, column dispatch_mode",
                 "row 6, column deadline_hours",
                 "row 7, column co_handlers: unknown department 'ghost'",
                 "row 8, column handback",
                 "column code: category"):  # the category whose row became a duplicate
        assert frag in err, f"{frag!r} not in:\n{err}"
    assert not (tmp_path / "x.yaml").exists()


def test_missing_and_unknown_columns(baohe, tmp_path, capsys):
    t = tmp_path / "t.csv"
    assert main(["routing", "export", str(baohe), "--out", str(t)]) == 0
    rows = read_csv(t)
    drop = rows[0].index("dispatch_mode")
    rows = [r[:drop] + r[drop + 1:] for r in rows]
    rows[0][0] = "code"
    rows[0].append("colour")
    for r in rows[1:]:
        r.append("red")
    rows[2][rows[0].index("main_department")] = "nobody"
    bad = tmp_path / "bad.csv"
    write_csv(bad, rows)
    capsys.readouterr()
    assert main(["routing", "import", str(bad), "--into", str(baohe), "--out",
                 str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err
    assert "row 1, column dispatch_mode: missing column" in err
    assert "row 1, column colour: unknown column" in err
    assert "row 3, column main_department: unknown department 'nobody'" in err  # still checked


def test_handback_rows_must_agree_while_the_switch_is_global(baohe, tmp_path, capsys):
    if RT.PER_CATEGORY_HANDBACK:
        pytest.skip("the schema has per-category handback")
    t = tmp_path / "t.csv"
    assert main(["routing", "export", str(baohe), "--out", str(t)]) == 0
    rows = read_csv(t)
    h = rows[0]
    col = {c: h.index(c) for c in h}
    on_site = [i for i, r in enumerate(rows[1:], start=2) if r[col["police_on_site"]] == "yes"]
    assert len(on_site) > 3
    i = on_site[0]
    rows[i - 1][col["handback"]] = "no"
    rows[i - 1][col["followup_owner"]] = ""
    bad = tmp_path / "bad.csv"
    write_csv(bad, rows)
    capsys.readouterr()
    assert main(["routing", "import", str(bad), "--into", str(baohe), "--out",
                 str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"row {i}, column handback" in err and "handback.enabled" in err
    # passing it to its owner instead (police_on_site no) is expressible
    rows[i - 1][col["police_on_site"]] = "no"
    write_csv(bad, rows)
    new = tmp_path / "ok.yaml"
    assert main(["routing", "import", str(bad), "--into", str(baohe), "--out", str(new)]) == 0
    code = rows[i - 1][0]
    sc = load_scenario(new)
    assert not sc.catalogue[code].police_on_site and sc.handback.enabled
    # handing back needs the police on site
    rows[i - 1][col["handback"]] = "yes"
    write_csv(bad, rows)
    assert main(["routing", "import", str(bad), "--into", str(baohe), "--out",
                 str(tmp_path / "x.yaml")]) == 2
    assert "police_on_site is no" in capsys.readouterr().err


def test_yaml_errors_by_row(baohe, tmp_path, capsys):
    y = tmp_path / "t.yaml"
    assert main(["routing", "export", str(baohe), "--out", str(y)]) == 0
    doc = yaml.safe_load(y.read_text(encoding="utf-8"))
    doc["routing_table"][1]["main_department"] = "ghost"
    del doc["routing_table"][2]["deadline_hours"]
    y.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    assert main(["routing", "import", str(y), "--into", str(baohe), "--out",
                 str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err
    assert "row 2, column main_department: unknown department 'ghost'" in err
    assert "row 3, column deadline_hours" in err


def test_unreadable_inputs_exit_2(baohe, tmp_path, capsys):
    assert main(["routing", "export", str(baohe), "--out", str(tmp_path / "t.txt")]) == 2
    assert main(["routing", "import", str(tmp_path / "none.csv"), "--into", str(baohe),
                 "--out", str(tmp_path / "x.yaml")]) == 2
    empty = tmp_path / "e.csv"
    empty.write_text("", encoding="utf-8")
    assert main(["routing", "import", str(empty), "--into", str(baohe), "--out",
                 str(tmp_path / "x.yaml")]) == 2
    assert main(["routing"]) == 2
