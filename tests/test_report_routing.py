"""The routing table as a file: export, import, lossless round trips, every error by row and
column (exit 2)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.scenario import routing_table as RT
from sim.scenario.loader import load_scenario

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
    assert RT.decision_sha256(load_scenario(new)) == RT.decision_sha256(load_scenario(baohe))
    resolved = tmp_path / "resolved.yaml"
    assert main(["routing", "import", str(table), "--into", str(baohe), "--out", str(resolved),
                 "--resolved"]) == 0
    assert RT.decision_sha256(load_scenario(resolved)) == RT.decision_sha256(load_scenario(baohe))


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
    # the departments' Chinese names follow the edited codes; everything else round-trips
    assert [r[:10] for r in read_csv(back)] == [r[:10] for r in read_csv(t)]
    assert read_csv(back)[1][10] == "市场监管所"
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
    assert RT.decision_sha256(load_scenario(new2)) == RT.decision_sha256(sc)


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


def test_handback_is_decided_per_row(baohe, tmp_path, capsys):
    """Each row's handback is its own (`catalogue.<code>.handback`): one row set to `no` among
    `yes` rows imports, changes that category only, and writes nothing else; `yes` without
    the police on site, or a follow-up owner other than the grid, is refused by row."""
    t = tmp_path / "t.csv"
    assert main(["routing", "export", str(baohe), "--out", str(t)]) == 0
    rows = read_csv(t)
    h = rows[0]
    col = {c: h.index(c) for c in h}
    on_site = [i for i, r in enumerate(rows[1:], start=2) if r[col["handback"]] == "yes"]
    assert len(on_site) >= 2     # the report's two kinds of matter (nonpolice_list.yaml)
    i = on_site[0]
    code = rows[i - 1][0]
    rows[i - 1][col["handback"]] = "no"
    rows[i - 1][col["followup_owner"]] = ""
    edited = tmp_path / "one_off.csv"
    write_csv(edited, rows)
    new = tmp_path / "ok.yaml"
    assert main(["routing", "import", str(edited), "--into", str(baohe), "--out", str(new)]) == 0
    sc, base = load_scenario(new), load_scenario(baohe)
    assert sc.catalogue[code].handback is False and sc.catalogue[code].police_on_site
    assert sc.handback.enabled
    others = [rows[k - 1][0] for k in on_site[1:]]
    assert all(RT.handback_of(sc, c) for c in others)
    assert [c for c in sc.catalogue if RT.handback_of(sc, c) != RT.handback_of(base, c)] == [code]
    # handing back needs the police on site
    rows[i - 1][col["handback"]] = "yes"
    rows[i - 1][col["followup_owner"]] = "grid"
    rows[i - 1][col["police_on_site"]] = "no"
    bad = tmp_path / "bad.csv"
    write_csv(bad, rows)
    capsys.readouterr()
    assert main(["routing", "import", str(bad), "--into", str(baohe), "--out",
                 str(tmp_path / "x.yaml")]) == 2
    assert f"row {i}, column handback" in (err := capsys.readouterr().err)
    assert "police_on_site is no" in err
    # the model's only follow-up is the grid worker
    rows[i - 1][col["police_on_site"]] = "yes"
    rows[i - 1][col["followup_owner"]] = "street office"
    write_csv(bad, rows)
    assert main(["routing", "import", str(bad), "--into", str(baohe), "--out",
                 str(tmp_path / "x.yaml")]) == 2
    assert f"row {i}, column followup_owner" in capsys.readouterr().err


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


# ---------------------------------------------------------------------- import guards (issue 26)
def _exported(baohe: Path, tmp_path: Path) -> list[list[str]]:
    t = tmp_path / "orig.csv"
    assert main(["routing", "export", str(baohe), "--out", str(t), "--force"]) == 0
    return read_csv(t)


def _import(t: Path, baohe: Path, tmp_path: Path, capsys) -> tuple[int, str]:
    rc = main(["routing", "import", str(t), "--into", str(baohe), "--out",
               str(tmp_path / f"new_{t.stem}.yaml")])
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("bad", ["????", "占道\ufffd经营", "?"])
def test_question_marks_and_replacement_characters_are_refused(baohe, tmp_path, capsys, bad):
    rows = _exported(baohe, tmp_path)
    rows[3][2] = bad
    t = tmp_path / "q.csv"
    write_csv(t, rows)
    rc, err = _import(t, baohe, tmp_path, capsys)
    assert rc == 2 and "row 4, column name_zh" in err and "CSV UTF-8" in err
    assert not (tmp_path / "new_q.yaml").exists()


def test_an_emptied_chinese_name_column_is_refused(baohe, tmp_path, capsys):
    rows = _exported(baohe, tmp_path)
    for r in rows[1:]:
        r[2] = ""
    t = tmp_path / "e.csv"
    write_csv(t, rows)
    rc, err = _import(t, baohe, tmp_path, capsys)
    assert rc == 2 and "column name_zh: empty in every row" in err
    rows = _exported(baohe, tmp_path)
    rows[5][2] = ""
    t = tmp_path / "e2.csv"
    write_csv(t, rows)
    rc, err = _import(t, baohe, tmp_path, capsys)
    assert rc == 2 and "row 6, column name_zh: empty" in err and "wipe" in err


@pytest.mark.parametrize("delim", [";", "\t"])
def test_semicolon_and_tab_tables_import(baohe, tmp_path, capsys, delim):
    rows = _exported(baohe, tmp_path)
    t = tmp_path / "d.csv"
    with open(t, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=delim).writerows(rows)
    rc, err = _import(t, baohe, tmp_path, capsys)
    assert rc == 0, err
    assert RT.decision_sha256(load_scenario(tmp_path / "new_d.yaml")) == \
        RT.decision_sha256(load_scenario(baohe))


def test_xlsx_round_trip_and_chinese_department_names(baohe, tmp_path, capsys):
    x = tmp_path / "t.xlsx"
    assert main(["routing", "export", str(baohe), "--out", str(x)]) == 0
    rows, cols, errors = RT.read_table(x)
    assert not errors and "main_department_zh" in cols
    sc = load_scenario(baohe)
    r = rows[0][1]
    assert r["main_department_zh"] == sc.departments[r["main_department"]].name_zh
    rc, err = _import(x, baohe, tmp_path, capsys)
    assert rc == 0, err
    assert RT.decision_sha256(load_scenario(tmp_path / "new_t.yaml")) == \
        RT.decision_sha256(sc)


def test_editing_only_the_chinese_department_name_changes_the_owner(baohe, tmp_path, capsys):
    rows = _exported(baohe, tmp_path)
    h = rows[0]
    sc = load_scenario(baohe)
    by = {r[0]: r for r in rows[1:]}
    by["street_vending"][h.index("main_department_zh")] = sc.departments["market_reg"].name_zh
    t = tmp_path / "z.csv"
    write_csv(t, rows)
    rc, err = _import(t, baohe, tmp_path, capsys)
    assert rc == 0, err
    assert load_scenario(tmp_path / "new_z.yaml").catalogue["street_vending"].owner == \
        "market_reg"
    # both columns edited and disagreeing: refused
    by["street_vending"][h.index("main_department")] = "community"
    t = tmp_path / "z2.csv"
    write_csv(t, rows)
    rc, err = _import(t, baohe, tmp_path, capsys)
    assert rc == 2 and "column main_department_zh" in err


def test_an_imported_scenario_has_its_own_name(baohe, tmp_path, capsys):
    t = edited_table(baohe, tmp_path)
    rc, err = _import(t, baohe, tmp_path, capsys)
    sc = load_scenario(tmp_path / "new_t.yaml")
    assert sc.name == "new_t" and sc.name != load_scenario(baohe).name
    assert "t.csv" in sc.display_name and "派单表" in sc.display_name_zh


def test_a_package_table_that_cannot_carry_its_settings_is_refused(baohe, tmp_path, capsys):
    sc = load_scenario(baohe)
    settings = {"departments.police.staff": sc.departments["police"].staff + 1}
    rows = RT.table_rows(sc)
    c = RT.write_table(rows, tmp_path / "p.csv", settings=settings)
    rc, err = _import(c, baohe, tmp_path, capsys)
    assert rc == 2 and "departments.police.staff" in err and "p.yaml" in err
    assert not (tmp_path / "new_p.yaml").exists()
    y = RT.write_table(rows, tmp_path / "p.yaml", settings=settings,
                       names={"name": "pkg", "display_name": "Package"})
    rc, err = _import(y, baohe, tmp_path, capsys)
    assert rc == 0, err
    new = load_scenario(tmp_path / "new_p.yaml")
    assert new.departments["police"].staff == settings["departments.police.staff"]
    assert new.name == "pkg" and new.display_name == "Package"
