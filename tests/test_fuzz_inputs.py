"""Property-based test (issue 17): whatever a user feeds cogov, the answer is exit 0, or exit 2
with a message, never a traceback, and no file that existed before is changed.

Hypothesis mutates five kinds of input: scenario fields (values of any type at existing and
schema paths, and raw-text edits of the file), `--set` expressions, experiment files (checked
with `cogov sweep --dry-run`), calibration mapping files (`cogov calibrate` on a small cogov
case log) and routing tables (`cogov routing import`). Derandomised with a fixed example budget
per input kind, so CI runs the same examples every time, in about a minute or two."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import itertools
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sim.cli import main  # noqa: E402

from .conftest import ROOT  # noqa: E402

MMC_TEXT = (ROOT / "scenarios" / "validation" / "mmc.yaml").read_text(encoding="utf-8")
MMC = yaml.safe_load(MMC_TEXT)
BASELINE = ROOT / "scenarios" / "mechanisms" / "baseline.yaml"
MAPPING = yaml.safe_load((ROOT / "mappings" / "cogov_caselog.yaml").read_text(encoding="utf-8"))
EXPERIMENT = {
    "name": "fuzz", "scenario": "mmc.yaml",
    "set": {"run.horizon_days": 30, "run.warmup_days": 5},
    "factors": {"staff": {"path": "departments.desk.staff", "levels": [9, 10]},
                "mean": {"path": "catalogue.job.handling.mean", "range": [1.0, 2.0]}},
    "design": {"kind": "grid", "steps": 2}, "replications": 1, "seed": 1,
    "outputs": {"figures": False, "metrics": ["mean_wait_hours"]},
}

SETTINGS = settings(derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])
COUNTER = itertools.count()
CODES: list[tuple[str, int]] = []  # (command, exit code) of every example, for the last test

# ----------------------------------------------------------------------------- strategies
ODD_TEXT = ["", " ", "*", "~", "null", ".inf", "-.inf", ".nan", "2024-02-30", "1e309", "-1",
            "desk", "dsek", "police", "[[[[", "{a: 1, a: 2}", "!!python/object:os.system ls",
            "0x10", "1_000", "yes", "é中", "a\tb", "x" * 300, "%Q", "\x00"]
values = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-10**15, max_value=10**15),
    st.sampled_from([0, -1, 1, 2**63, 10**12, 10**9]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-9, 1e-6, 1e300, -0.0, 0.5, 1.5]),
    st.text(max_size=12), st.sampled_from(ODD_TEXT),
    st.lists(st.one_of(st.integers(-3, 30), st.text(max_size=3)), max_size=4),
    st.dictionaries(st.sampled_from(["name", "kind", "mean", "x", "default", "staff"]),
                    st.one_of(st.integers(-2, 5), st.text(max_size=3)), max_size=3),
    st.dates(),
)


def leaf_paths(node, prefix=()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += leaf_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += leaf_paths(v, (*prefix, i))
    return out


def set_path(data, path: tuple, value):
    node = data
    for p in path[:-1]:
        node = node[p]
    if isinstance(node, list):
        node[path[-1]] = value
    else:
        node[path[-1]] = value


def plausible(original):
    """A value of the same kind as `original`, near it (most real mistakes look like this)."""
    if isinstance(original, bool):
        return st.booleans()
    if isinstance(original, int):
        return st.integers(min_value=-2, max_value=max(3, 3 * original))
    if isinstance(original, float):
        return st.one_of(st.floats(min_value=0.0, max_value=max(1.0, 3 * original)),
                         st.sampled_from([0.0, original, -original, original / 100]))
    if isinstance(original, str):
        return st.one_of(st.just(original), st.just(original.upper()),
                         st.just(original[:-1]), st.just(original + "x"))
    if isinstance(original, list) and original:
        return st.one_of(st.just(original[:-1]), st.just(original[::-1]),
                         st.just(original + original[-1:]))
    return values


def mutated(base: dict, extra_paths: list[tuple]):
    """A strategy of copies of `base` with 1-2 paths (existing or extra) set to a value near
    the original one or to an odd value of any type."""
    paths = leaf_paths(base) + extra_paths

    @st.composite
    def strat(draw):
        data = copy.deepcopy(base)
        for _ in range(draw(st.integers(1, 2))):
            path = draw(st.sampled_from(paths))
            try:
                node = data
                for p in path[:-1]:
                    if isinstance(node, dict):
                        node = node.setdefault(p, {})
                    else:
                        node = node[p]
                if not isinstance(node, (dict, list)):
                    continue
                old = node.get(path[-1]) if isinstance(node, dict) else node[path[-1]]
                wild = old is None or isinstance(old, dict) or draw(st.booleans())
                node[path[-1]] = draw(values if wild else plausible(old))
            except (KeyError, IndexError, TypeError):
                continue
        return data
    return strat()


def text_edit(text: str):
    """Raw edits of a YAML text: drop, duplicate or truncate lines, insert odd text."""
    lines = text.splitlines(keepends=True)

    @st.composite
    def strat(draw):
        out = list(lines)
        op = draw(st.sampled_from(["drop", "dup", "cut", "insert", "indent"]))
        i = draw(st.integers(0, len(out) - 1))
        if op == "drop":
            del out[i]
        elif op == "dup":
            out.insert(i, out[i])
        elif op == "cut":
            return "".join(out)[:draw(st.integers(0, len(text)))]
        elif op == "insert":
            out.insert(i, draw(st.sampled_from(ODD_TEXT + ["key: [", "- a\n", ": x\n",
                                                            "run: {seed: -4}\n"])) + "\n")
        else:
            out[i] = "  " + out[i]
        return "".join(out)
    return strat()


# ----------------------------------------------------------------------------- checking
def digest(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def check(capsys, root: Path, *args) -> int:
    """Run the CLI in this process: exit 0, or exit 2 with `error:` lines; no exception (a
    traceback for the user); no file under `root` that existed before is changed."""
    before = digest(root)
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse: bad flag values
        code = exc.code
    out = capsys.readouterr()
    assert code in (0, 2), (code, args, out.err[-2000:])
    CODES.append((str(args[0]), code))
    assert "Traceback" not in out.err and "Traceback" not in out.out
    if code == 2:
        assert "error" in out.err, (args, out.err)
    after = digest(root)
    for path, h in before.items():
        assert after.get(path) == h, f"{path} was changed or removed by {args}"
    return code


def dump(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder with the inputs: mmc.yaml, a small case log, a routing table."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "mmc.yaml").write_text(MMC_TEXT, encoding="utf-8")
    assert main(["run", str(root / "mmc.yaml"), "--out", str(root / "log"), "--quiet",
                 "--set", "run.horizon_days=3", "--set", "run.warmup_days=1"]) == 0
    assert main(["routing", "export", str(BASELINE), "--out", str(root / "table.csv")]) == 0
    return root


def fresh(work: Path, name: str) -> Path:
    return work / f"{next(COUNTER):05d}_{name}"


# ----------------------------------------------------------------------------- properties
EXTRA_SCENARIO_PATHS = [
    ("run", "seed"), ("run", "start_date"), ("run", "collect_interval_hours"),
    ("run", "horizon_days"), ("extends",), ("campaigns",), ("citizens", "hour_of_day_weights"),
    ("departments", "desk", "shift"), ("departments", "desk", "is_police"),
    ("district", "generate"), ("catalogue", "job", "recurrence_prob"), ("assessment",),
    ("routing", "params"), ("dispatch", "modes"), ("grid_workers", "detection_prob_by_family"),
]


@settings(SETTINGS, max_examples=60)
@given(data=mutated(MMC, EXTRA_SCENARIO_PATHS))
def test_scenario_fields(work, capsys, data):
    p = fresh(work, "s.yaml")
    p.write_text(dump(data), encoding="utf-8")
    check(capsys, work, "validate", p)


@settings(SETTINGS, max_examples=30)
@given(text=text_edit(MMC_TEXT))
def test_scenario_text(work, capsys, text):
    p = fresh(work, "t.yaml")
    p.write_text(text, encoding="utf-8")
    check(capsys, work, "validate", p)


PARTS = ["run", "horizon_days", "seed", "departments", "desk", "dsek", "staff", "catalogue",
         "job", "jbo", "handling", "mean", "*", "0", "1", "-1", "streets", "district", "grids",
         "population", "", "name", "shift", "days", "routing", "policy", "x y", "ünï", "?",
         "channels", "hotline_12345", "propensity", "start_date"]
set_exprs = st.builds(
    lambda parts, sep, value: ".".join(parts) + sep + value,
    st.lists(st.sampled_from(PARTS), min_size=1, max_size=4),
    st.sampled_from(["=", "=", "=", "", "==", " = "]),
    st.one_of(st.sampled_from(ODD_TEXT + ["6", "0.5", "[1, 2]", "{name: x}", "territorial"]),
              st.text(max_size=10)))


@settings(SETTINGS, max_examples=60)
@given(exprs=st.lists(set_exprs, min_size=1, max_size=2))
def test_set_expressions(work, capsys, exprs):
    args = ["validate", work / "mmc.yaml"]
    for e in exprs:
        if "\x00" in e:
            continue  # a command line cannot hold a NUL byte
        args += ["--set", e]
    check(capsys, work, *args)


@settings(SETTINGS, max_examples=40)
@given(data=mutated(EXPERIMENT, [("design", "samples"), ("design", "kind"),
                                 ("design", "second_order"), ("design", "trajectories"),
                                 ("factors", "staff", "scale"), ("factors", "mean", "integer"),
                                 ("factors", "new"), ("set", "catalogue.*.p_resolve"),
                                 ("common_random_numbers",)]))
def test_experiment_files(work, capsys, data):
    p = fresh(work, "e.yaml")
    p.write_text(dump(data), encoding="utf-8")
    out = fresh(work, "sweep_out")
    check(capsys, work, "sweep", p, "--out", out, "--dry-run", "--quiet")
    assert not out.exists(), "--dry-run wrote its --out"


@settings(SETTINGS, max_examples=25)
@given(data=mutated(MAPPING, [("timestamps", "formats"), ("repeat_window_days",),
                              ("sampling_fraction",), ("columns", "extra"),
                              ("timestamps", "extracted_at")]))
def test_mapping_files(work, capsys, data):
    m = fresh(work, "m.yaml")
    m.write_text(dump(data), encoding="utf-8")
    out = fresh(work, "cal.yaml")
    check(capsys, work, "calibrate", work / "log" / "cases.csv", "--mapping", m, "--base",
          work / "mmc.yaml", "--out", out)


@st.composite
def tables(draw, text: str):
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(["keep", "cell", "cell", "same_column", "same_column",
                                   "drop_col", "dup_row", "header", "short_row", "long_row"]))
        i = draw(st.integers(1, len(rows) - 1))
        j = draw(st.integers(0, len(rows[0]) - 1))
        if op == "cell":
            rows[i][j] = draw(st.one_of(st.sampled_from(ODD_TEXT + ["yes", "no", "dual",
                                                                    "police;housing", "-5"]),
                                        st.text(max_size=8)))
        elif op == "same_column":  # a value that is valid somewhere in this column
            rows[i][j] = draw(st.sampled_from([r[j] for r in rows[1:] if len(r) > j] or [""]))
        elif op == "drop_col":
            rows = [r[:j] + r[j + 1:] for r in rows]
        elif op == "dup_row":
            rows.insert(i, list(rows[i]))
        elif op == "header":
            rows[0][j] = draw(st.sampled_from(["", "code", "main", "colour", "main department"]))
        elif op == "short_row":
            rows[i] = rows[i][:j]
        elif op == "long_row":
            rows[i] = rows[i] + ["extra"]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_routing_tables(work, capsys, data):
    text = data.draw(tables((work / "table.csv").read_text(encoding="utf-8")))
    t = fresh(work, "table.csv")
    t.write_text(text, encoding="utf-8")
    check(capsys, work, "routing", "import", t, "--into", BASELINE, "--out",
          fresh(work, "routed.yaml"))


def test_every_kind_of_input_reached_both_answers():
    """The mutations are neither all harmless nor all fatal: each command saw both exit 0 and
    exit 2 (so the property was tested on inputs that get through validation, too)."""
    if not CODES:
        pytest.skip("run together with the property tests above")
    for cmd in ("validate", "sweep", "calibrate", "routing"):
        seen = {c for k, c in CODES if k == cmd}
        assert seen == {0, 2}, (cmd, seen)
