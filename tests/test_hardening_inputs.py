"""[hardening] Issue 27: new kinds of bad input get a clean exit 2 (or a correct result).

Classes, one parametrised test each:
- uncertain fields: a family given as a list or a mapping, a department named `uncertain`,
  400-digit numbers, a lognormal that overflows, a NaN range;
- ranges and space files read through the strict loader (`sim/yamlsafe.py`): duplicate keys,
  impossible dates, deep nesting, GBK text, an alias bomb, a named pipe;
- logs with time zones and encodings: `--until`/`--from` with an offset, `%z` formats,
  `extracted_at` with an offset or not a date, UTF-16 when the mapping declares it, an
  integer `created` column in Parquet (named as a type error);
- a FIFO (named pipe) as any input: refused up front instead of waiting for ever.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.errors import UserError

from .test_hardening import cli, refused
from .test_hardening_outputs import MAPPING, logdir, tiny_yaml  # noqa: F401 (fixture)

BIG = "1" + "0" * 399      # a 400-digit whole number


def scenario_with(tmp_path: Path, change) -> Path:
    m = yaml.safe_load(tiny_yaml(2))
    change(m)
    p = tmp_path / "s.yaml"
    text = yaml.safe_dump(m, sort_keys=False).replace("'__BIG__'", BIG).replace("__BIG__", BIG)
    p.write_text(text, encoding="utf-8")
    return p


# ----------------------------------------------------------------------------- uncertain fields
BAD_UNCERTAIN = {
    "family as a list": (lambda m: m["departments"]["env"].update(
        staff={"uncertain": ["uniform"], "low": 4, "high": 8}), "distribution family"),
    "family as a mapping": (lambda m: m["departments"]["env"].update(
        staff={"uncertain": {"uniform": 1}, "low": 4, "high": 8}), "staff"),
    "400-digit parameter": (lambda m: m["departments"]["env"].update(
        staff={"uncertain": "uniform", "low": 4, "high": "__BIG__"}), "too large"),
    "400-digit value": (lambda m: m["departments"]["env"].update(staff="__BIG__"), "staff"),
    "overflowing lognormal": (lambda m: m["catalogue"]["noise"]["handling"].update(
        mean={"uncertain": "lognormal", "median": 1e300, "sigma": 100}), "overflows"),
    "NaN bound": (lambda m: m["catalogue"]["noise"].update(
        p_resolve={"uncertain": "uniform", "low": float("nan"), "high": 0.9}), "finite"),
}


@pytest.mark.parametrize("case", list(BAD_UNCERTAIN))
def test_bad_uncertain_fields_exit_2(capsys, tmp_path, case):
    change, word = BAD_UNCERTAIN[case]
    p = scenario_with(tmp_path, change)
    err = refused(capsys, "validate", p, names=(str(p),), keep=(tmp_path,))
    assert word in err, err


def test_a_department_named_uncertain_is_a_department(capsys, tmp_path):
    p = scenario_with(tmp_path, lambda m: m["departments"].update(
        uncertain={"name": "Uncertain affairs", "staff": 2}))
    code, out, err = cli(capsys, "validate", p)
    assert code == 0, err
    from sim.scenario.loader import load_scenario

    assert load_scenario(p).departments["uncertain"].staff == 2


# ----------------------------------------------------------------------------- ranges / space
ALIAS_BOMB = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
    f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]) + "\n"
BAD_YAML = {
    "duplicate key": ("ranges:\n  departments.env.staff: {uncertain: uniform, low: 4, "
                      "high: 8}\n  departments.env.staff: {uncertain: uniform, low: 1, "
                      "high: 2}\n", "twice"),
    "impossible date": ("version: 2024-02-30\nranges: {}\n", "not a real date"),
    "deep nesting": ("ranges: " + "[" * 600 + "]" * 600 + "\n", "nested"),
    "GBK text": ("ranges:\n  # 环境部门人数\n  departments.env.staff: {uncertain: uniform, "
                 "low: 4, high: 8}\n", "UTF-8"),
    "alias bomb": (ALIAS_BOMB, "alias"),
    "named pipe": (None, "named pipe"),
}


def _bad_file(tmp_path: Path, case: str) -> Path:
    text, _ = BAD_YAML[case]
    p = tmp_path / "bad.yaml"
    if text is None:
        os.mkfifo(p)
    elif case == "GBK text":
        p.write_bytes(text.encode("gbk"))
    else:
        p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("case", list(BAD_YAML))
def test_ranges_file_through_the_strict_loader(capsys, tmp_path, case):
    """compare --uncertainty --ranges: exit 2 naming the file (before any run)."""
    p = _bad_file(tmp_path, case)
    sc = tmp_path / "a.yaml"
    sc.write_text(tiny_yaml(2), encoding="utf-8")
    err = refused(capsys, "compare", sc, sc, "--uncertainty", "2", "--ranges", p, "--out",
                  tmp_path / "o", names=(str(p),))
    assert BAD_YAML[case][1] in err, err


@pytest.mark.parametrize("case", list(BAD_YAML))
def test_recommend_space_and_ranges_files_through_the_strict_loader(tmp_path, case):
    from sim.report.recommend_space import build_space, load_ranges
    from sim.scenario.loader import load_scenario

    p = _bad_file(tmp_path, case)
    sc = tmp_path / "a.yaml"
    sc.write_text(tiny_yaml(2), encoding="utf-8")
    for read in (lambda: build_space(load_scenario(sc), p), lambda: load_ranges(p)):
        with pytest.raises(UserError) as exc:
            read()
        assert str(p) in str(exc.value) and BAD_YAML[case][1] in str(exc.value), exc.value


# ----------------------------------------------------------------------------- logs
def _log_variant(logdir: Path, tmp_path: Path, case: str):  # noqa: F811
    """(log path, mapping path, extra args, expected exit, words)"""
    src = pd.read_csv(logdir / "run" / "cases.csv", dtype=str, keep_default_na=False)
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    log, extra, code, words = tmp_path / "log.csv", [], 0, ()
    if case == "--until with an offset":
        extra = ["--until", "2024-01-03T08:00:00+08:00"]
    elif case == "%z format":
        for c in ("requested_datetime", "closed_at", "started_at", "updated_datetime",
                  "expected_datetime"):
            src[c] = src[c].where(src[c] == "", src[c] + "+0800")
        mapping["timestamps"]["formats"] = ["%Y-%m-%dT%H:%M:%S%z"]
    elif case == "extracted_at with an offset":
        mapping["timestamps"]["extracted_at"] = "2024-01-06T08:00:00+08:00"
    elif case == "extracted_at not a date":
        mapping["timestamps"]["extracted_at"] = "last tuesday"
        code, words = 2, ("timestamps.extracted_at", "not a date")
    elif case == "UTF-16 declared":
        mapping["encoding"] = "utf-16"
    elif case == "integer created in Parquet":
        log = tmp_path / "log.parquet"
        src["requested_datetime"] = range(len(src))
        code, words = 2, ("requested_datetime", "numbers")
    if log.suffix == ".parquet":
        src.to_parquet(log)
    elif case == "UTF-16 declared":
        log.write_bytes(src.to_csv(index=False).encode("utf-16"))
    else:
        log.write_text(src.to_csv(index=False), encoding="utf-8")
    mp = tmp_path / "m.yaml"
    mp.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    return log, mp, extra, code, words


LOG_CASES = ["--until with an offset", "%z format", "extracted_at with an offset",
             "extracted_at not a date", "UTF-16 declared", "integer created in Parquet"]


@pytest.mark.parametrize("case", LOG_CASES)
def test_logs_with_time_zones_and_encodings(capsys, tmp_path, logdir, case):  # noqa: F811
    log, mp, extra, code, words = _log_variant(logdir, tmp_path, case)
    args = ["calibrate", log, "--mapping", mp, "--base", logdir / "tiny.yaml", "--out",
            tmp_path / "cal.yaml", *extra]
    if code == 2:
        refused(capsys, *args, names=words, keep=(tmp_path,))
        return
    got, out, err = cli(capsys, *args)
    assert got == 0, err
    assert "Traceback" not in err
    assert (tmp_path / "cal.yaml").exists()


@pytest.mark.parametrize("flag", ["--until", "--from"])
def test_bad_dates_on_the_command_line(capsys, tmp_path, logdir, flag):  # noqa: F811
    cmd = "calibrate" if flag == "--until" else "validate-against"
    args = [cmd, logdir / "run" / "cases.csv", "--mapping", MAPPING,
            "--base" if cmd == "calibrate" else "--scenario", logdir / "tiny.yaml",
            "--out", tmp_path / ("c.yaml" if cmd == "calibrate" else "v"), flag, "not-a-date"]
    refused(capsys, *args, names=(flag, "not a date"), keep=(tmp_path,))


# ----------------------------------------------------------------------------- FIFOs
FIFO_CASES = ["validate scenario", "explain scenario", "calibrate log", "calibrate mapping",
              "sweep experiment", "run scenario"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", FIFO_CASES)
def test_a_named_pipe_as_input_is_refused_up_front(capsys, tmp_path, logdir, case):  # noqa: F811
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    sc = logdir / "tiny.yaml"
    args = {
        "validate scenario": ["validate", fifo],
        "explain scenario": ["explain", sc, fifo, "--out", tmp_path / "e"],
        "calibrate log": ["calibrate", fifo, "--mapping", MAPPING, "--base", sc, "--out",
                          tmp_path / "c.yaml"],
        "calibrate mapping": ["calibrate", logdir / "run" / "cases.csv", "--mapping", fifo,
                              "--base", sc, "--out", tmp_path / "c.yaml"],
        "sweep experiment": ["sweep", fifo, "--out", tmp_path / "s"],
        "run scenario": ["run", fifo, "--out", tmp_path / "r"],
    }[case]
    refused(capsys, *args, names=("named pipe",))


# ----------------------------------------------------------------------------- memory guards
MEMORY_CASES = ["compare --replications", "compare --uncertainty", "explain --permutations",
                # runs the point comparison first (figures included): ~45 s on a busy host
                pytest.param("an uncertainty draw that grows the district",
                             marks=pytest.mark.slow),
                "replay", "validate-against", "recommend"]


@pytest.mark.parametrize("case", MEMORY_CASES)
def test_memory_guards_refuse_before_running(capsys, tmp_path, logdir, case):  # noqa: F811
    """Every command that runs models checks memory first: huge counts of runs, a draw that
    grows the district past --max-memory, and the commands that had no check."""
    sc = tmp_path / "a.yaml"
    sc.write_text(tiny_yaml(2), encoding="utf-8")
    log, out = logdir / "run" / "cases.csv", tmp_path / "o"
    ranges = tmp_path / "r.yaml"
    ranges.write_text("ranges:\n  district.streets.0.grids.0.population:\n    uncertain: "
                      "uniform\n    low: 25000000000\n    high: 75000000000\n    integer: true\n"
                      "    why: test\n", encoding="utf-8")
    args, names = {
        "compare --replications": (["compare", sc, "--replications", "1000000000", "--out",
                                    out], ("--replications", "memory")),
        "compare --uncertainty": (["compare", sc, sc, "--uncertainty", "1000000000",
                                   "--ranges", ranges, "--out", out], ("--uncertainty",)),
        "explain --permutations": (["explain", sc, sc, "--permutations", "1000000000", "--out",
                                    out], ("--permutations",)),
        "an uncertainty draw that grows the district": (
            ["compare", sc, sc, "--replications", "1", "--uncertainty", "2", "--ranges", ranges,
             "--out", out, "--max-memory", "4G", "--quiet"],
            ("--uncertainty", "draw", "4.0")),
        "replay": (["replay", log, "--mapping", MAPPING, "--scenario", sc, "--out", out,
                    "--max-memory", "1M"], ("memory",)),
        "validate-against": (["validate-against", log, "--mapping", MAPPING, "--scenario", sc,
                              "--out", out, "--max-memory", "1M"], ("memory",)),
        "recommend": (["recommend", sc, "--out", out, "--max-memory", "1M"], ("memory",)),
    }[case]
    err = refused(capsys, *args, keep=(tmp_path,))
    for n in names:
        assert n in err, (n, err)
