"""`cogov diff A B`: every difference between two resolved scenarios is declared (lever,
assumption or data, with its source); an undeclared one is an error (exit 1); labelling fields
are never differences."""

from __future__ import annotations

import csv

import pytest

from sim.cli import main

from .conftest import SCENARIOS

PAIRS = {
    "shipped": ("baohe_before.yaml", "baohe_after.yaml"),
    "neutral": ("assumptions/neutral_before.yaml", "assumptions/neutral_after.yaml"),
    "stress": ("stress/thin_platform_before.yaml", "stress/thin_platform_after.yaml"),
}


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_every_difference_of_the_shipped_pairs_is_declared(pair, capsys):
    a, b = PAIRS[pair]
    assert main(["diff", str(SCENARIOS / a), str(SCENARIOS / b)]) == 0
    out = capsys.readouterr()
    assert "0 undeclared" in out.out and "error" not in out.err
    assert "routing.policy" in out.out and "lever" in out.out
    assert "display_name" not in out.out and "description" not in out.out


def _after_copy(tmp_path, extra: str) -> str:
    f = tmp_path / "after_copy.yaml"
    f.write_text(f"extends: [{(SCENARIOS / 'baohe_after.yaml').as_posix()}]\n"
                 f"name: after_copy\ndisplay_name: a copy\ndescription_zh: 副本\n{extra}",
                 encoding="utf-8")
    return str(f)


def test_a_setting_nobody_declared_is_an_error(tmp_path, capsys):
    b = _after_copy(tmp_path, "agents:\n  department:\n    params: {memory: 0.05}\n")
    out = tmp_path / "d"
    code = main(["diff", str(SCENARIOS / "baohe_after.yaml"), b, "--out", str(out)])
    cap = capsys.readouterr()
    assert code == 1
    assert "agents.department.params.memory" in cap.err and "not declared" in cap.err
    rows = list(csv.DictReader(open(out / "differences.csv", encoding="utf-8")))
    assert [(r["path"], r["kind"]) for r in rows] == [("agents.department.params.memory",
                                                      "undeclared")]


def test_labels_are_not_differences_and_assumptions_carry_their_neutral(tmp_path, capsys):
    b = _after_copy(tmp_path, "")
    assert main(["diff", str(SCENARIOS / "baohe_after.yaml"), b]) == 0
    assert "0 difference(s)" in capsys.readouterr().out
    b = _after_copy(tmp_path, "dispatch: {police_hours_share: 0.5}\n")
    out = tmp_path / "d2"
    assert main(["diff", str(SCENARIOS / "baohe_after.yaml"), b, "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "differences.csv", encoding="utf-8")))
    assert len(rows) == 1 and rows[0]["kind"] == "assumption" and rows[0]["neutral"] == "0.0"
    assert rows[0]["value_a"] == "1.0" and rows[0]["value_b"] == "0.5" and rows[0]["source"]


def test_bad_input_exits_2(tmp_path, capsys):
    assert main(["diff", str(tmp_path / "missing.yaml"), str(SCENARIOS / "baohe_after.yaml")]) \
        == 2
    assert "missing.yaml" in capsys.readouterr().err
