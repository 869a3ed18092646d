"""Safe output folders (`sim/outdir.py`) and, for every command that writes, that it never
writes over its own input, refuses a used `--out` without --force, and checks `--out` before
any simulation."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from sim.errors import UserError
from sim.outdir import MARKER, OutputDir, OutputFile

from .conftest import ROOT, cogov

MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
SHORT = ["--set", "run.horizon_days=20", "--set", "run.warmup_days=2",
         "--set", "catalogue.job.incidence_per_1000_per_year.default=8760"]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def siblings(folder: Path) -> list[str]:
    """Temporary and lock files left beside a folder (there should be none)."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}"))


# ----------------------------------------------------------------------------- the helper
def test_writes_into_a_temporary_folder_and_renames(tmp_path):
    out = tmp_path / "a" / "b"
    with OutputDir(out) as tmp:
        assert tmp != out and tmp.parent == out.parent and not out.exists()
        (tmp / "x.csv").write_text("1\n")
    assert (out / "x.csv").read_text() == "1\n" and (out / MARKER).exists()
    assert siblings(out) == []


def test_a_failure_leaves_nothing(tmp_path):
    out = tmp_path / "new" / "run"
    with pytest.raises(RuntimeError):
        with OutputDir(out) as tmp:
            (tmp / "x.csv").write_text("1\n")
            raise RuntimeError("boom")
    assert not out.exists() and not (tmp_path / "new").exists()


def test_a_failure_keeps_the_earlier_outputs(tmp_path):
    out = tmp_path / "run"
    with OutputDir(out) as tmp:
        (tmp / "summary.json").write_text("{}\n")
    before = digest(out)
    with pytest.raises(KeyboardInterrupt):
        with OutputDir(out, force=True) as tmp:
            (tmp / "summary.json").write_text("half")
            raise KeyboardInterrupt
    assert digest(out) == before and siblings(out) == []


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_name(bad):
    with pytest.raises(UserError, match="--out '': empty name"):
        OutputDir(bad)


def test_an_existing_file(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("keep")
    with pytest.raises(UserError, match="is a file, not a folder"):
        OutputDir(f).check()
    assert f.read_text() == "keep"


def test_earlier_outputs_need_force_and_foreign_files_are_never_replaced(tmp_path):
    out = tmp_path / "run"
    with OutputDir(out) as tmp:
        (tmp / "summary.json").write_text("1")
    with pytest.raises(UserError, match="add --force to replace them"):
        OutputDir(out).check()
    with OutputDir(out, force=True) as tmp:
        (tmp / "summary.json").write_text("2")
    assert (out / "summary.json").read_text() == "2"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    with pytest.raises(UserError, match="files cogov did not write.*thesis.docx"):
        OutputDir(mine, force=True).check()
    assert (mine / "thesis.docx").read_text() == "precious"


def test_an_empty_existing_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    with OutputDir(out) as tmp:
        (tmp / "x.csv").write_text("1")
    assert (out / "x.csv").exists()


def test_two_writers_never_share_a_folder(tmp_path):
    out = tmp_path / "run"
    with OutputDir(out) as tmp:
        (tmp / "x.csv").write_text("first")
        with pytest.raises(UserError, match="another cogov process is writing there"):
            with OutputDir(out):
                pass
    assert (out / "x.csv").read_text() == "first"
    with OutputDir(tmp_path / "other"):      # the lock is released and gone
        pass
    assert siblings(out) == []


def test_an_unwritable_folder(tmp_path, monkeypatch):
    import sim.outdir as od

    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(od.Path, "mkdir", refuse)
    with pytest.raises(UserError, match=r"cannot write there \(Permission denied\)"):
        with OutputDir(tmp_path / "ro" / "run"):
            pass


def test_input_inside_the_folder(tmp_path):
    out = tmp_path / "run"
    with OutputDir(out) as tmp:
        (tmp / "summary.json").write_text("1")
    shutil.copy(MMC, out / "mmc.yaml")
    with pytest.raises(UserError, match="own input"):
        OutputDir(out, force=True, inputs=[out / "mmc.yaml"]).check()


def test_output_file(tmp_path):
    f = tmp_path / "t.csv"
    with OutputFile(f) as tmp:
        tmp.write_text("a\n")
    assert f.read_text() == "a\n"
    with pytest.raises(UserError, match="already exists: add --force"):
        OutputFile(f).check()
    with pytest.raises(UserError, match="own input"):
        OutputFile(f, force=True, inputs=[f]).check()
    with OutputFile(f, force=True) as tmp:
        tmp.write_text("b\n")
    assert f.read_text() == "b\n" and siblings(f) == []


# ----------------------------------------------------------------------------- cogov run
def test_second_run_into_a_used_folder_exits_2_and_keeps_the_first(tmp_path):
    out = tmp_path / "run"
    cogov("run", MMC, "--out", out, "--quiet", *SHORT, check=True)
    before = digest(out)
    assert any(n.startswith("cases.") for n in before)
    p = cogov("run", MMC, "--out", out, "--quiet", "--seed", "7", *SHORT)
    assert p.returncode == 2, p.stderr
    assert "--out" in p.stderr and "--force" in p.stderr and "Traceback" not in p.stderr
    assert digest(out) == before
    p = cogov("run", MMC, "--out", out, "--quiet", "--seed", "7", "--force", *SHORT)
    assert p.returncode == 0, p.stderr
    assert digest(out) != before and siblings(out) == []


def test_run_checks_out_before_simulating(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("keep")
    for out, msg in ((f, "is a file"), ("", "empty name")):
        p = cogov("run", MMC, "--out", out, "--quiet", "--set", "run.horizon_days=30000")
        assert p.returncode == 2 and msg in p.stderr and "Traceback" not in p.stderr
    assert f.read_text() == "keep"


def test_run_never_replaces_its_own_scenario(tmp_path):
    out = tmp_path / "run"
    cogov("run", MMC, "--out", out, "--quiet", *SHORT, check=True)
    p = cogov("run", out / "scenario.resolved.yaml", "--out", out, "--force", "--quiet")
    assert p.returncode == 2 and "own input" in p.stderr
    assert (out / "scenario.resolved.yaml").exists()


# ----------------------------------------------------------------------------- each command
def test_compare_never_replaces_its_input(tmp_path):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    sc = out / "mmc.yaml"
    shutil.copy(MMC, sc)
    before = digest(out)
    p = cogov("compare", sc, "-r", "1", "--workers", "1", "--out", out, "--force", "--quiet",
              *SHORT)
    assert p.returncode == 2 and "own input" in p.stderr, p.stderr
    p = cogov("compare", MMC, "-r", "1", "--workers", "1", "--out", out, "--quiet", *SHORT)
    assert p.returncode == 2 and "--force" in p.stderr
    assert digest(out) == before


def test_sweep_never_replaces_its_input(tmp_path):
    out = tmp_path / "sw"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    exp = out / "e.yaml"
    exp.write_text(f"name: e\nscenario: {MMC}\n"
                   "set: {run.horizon_days: 5, run.warmup_days: 1}\nfactors:\n"
                   "  staff: {path: departments.desk.staff, levels: [9, 10]}\n"
                   "design: {kind: grid}\nreplications: 1\n")
    p = cogov("sweep", exp, "--out", out, "--force", "--quiet")
    assert p.returncode == 2 and "own input" in p.stderr, p.stderr
    assert exp.exists()


def test_brief_never_replaces_its_input_or_an_earlier_brief(tmp_path):
    res = tmp_path / "b_figures"
    res.mkdir()
    (res / "manifest.json").write_text("{}")
    p = cogov("brief", res, "--out", tmp_path / "b.html", "--force")
    assert p.returncode == 2 and "input" in p.stderr, p.stderr
    html = tmp_path / "old.html"
    html.write_text("earlier brief")
    p = cogov("brief", res, "--out", html)
    assert p.returncode == 2 and "--force" in p.stderr
    assert html.read_text() == "earlier brief" and (res / "manifest.json").exists()


def test_routing_export_and_import_never_replace_their_input(tmp_path):
    sc = tmp_path / "own.yaml"
    shutil.copy(MMC, sc)
    before = sc.read_bytes()
    p = cogov("routing", "export", sc, "--out", sc)
    assert p.returncode == 2 and "own input" in p.stderr, p.stderr
    p = cogov("routing", "export", sc, "--out", sc, "--force")
    assert p.returncode == 2 and "own input" in p.stderr
    table = tmp_path / "t.yaml"
    cogov("routing", "export", sc, "--out", table, check=True)
    tb = table.read_bytes()
    for out in (sc, table):
        p = cogov("routing", "import", table, "--into", sc, "--out", out, "--force")
        assert p.returncode == 2 and "own input" in p.stderr, p.stderr
    assert sc.read_bytes() == before and table.read_bytes() == tb
    new = tmp_path / "new.yaml"
    cogov("routing", "import", table, "--into", sc, "--out", new, check=True)
    assert "extends: own.yaml" in new.read_text()
    p = cogov("routing", "export", sc, "--out", table)
    assert p.returncode == 2 and "--force" in p.stderr


def test_recommend_never_replaces_its_input(tmp_path):
    out = tmp_path / "rec"
    out.mkdir()
    (out / "search.json").write_text("{}")
    sc = out / "own.yaml"
    shutil.copy(MMC, sc)
    p = cogov("recommend", sc, "--out", out, "--force", "--budget", "1", "--replications", "1",
              "--quiet")
    assert p.returncode == 2 and "own input" in p.stderr, p.stderr
    assert sc.read_bytes() == MMC.read_bytes()


@pytest.fixture(scope="module")
def own_log(tmp_path_factory) -> Path:
    """A small case log of cogov's own (the calibrate inputs)."""
    out = tmp_path_factory.mktemp("log") / "run"
    cogov("run", MMC, "--out", out, "--quiet", *SHORT, check=True)
    return next(out.glob("cases.*"))


def test_calibrate_never_replaces_its_input(tmp_path, own_log):
    base = tmp_path / "base.yaml"
    shutil.copy(MMC, base)
    mapping = ROOT / "mappings" / "cogov_caselog.yaml"
    log = tmp_path / own_log.name
    shutil.copy(own_log, log)
    sums = {p: p.read_bytes() for p in (base, log)}
    for out in (base, log):
        p = cogov("calibrate", log, "--mapping", mapping, "--base", base, "--out", out,
                  "--force")
        assert p.returncode == 2 and "own input" in p.stderr, p.stderr
    p = cogov("calibrate", log, "--mapping", mapping, "--base", base, "--out",
              tmp_path / "cal.yaml", "--report", tmp_path, "--force")
    assert p.returncode == 2 and ("input" in p.stderr or "inside" in p.stderr), p.stderr
    assert all(p.read_bytes() == b for p, b in sums.items())
    # and it works when the places are right, and refuses to repeat without --force
    cal = tmp_path / "out" / "cal.yaml"
    cogov("calibrate", log, "--mapping", mapping, "--base", base, "--out", cal, "--report",
          tmp_path / "rep", check=True)
    assert cal.exists() and (tmp_path / "rep" / "index.md").exists()
    p = cogov("calibrate", log, "--mapping", mapping, "--base", base, "--out", cal)
    assert p.returncode == 2 and "--force" in p.stderr


def test_validate_against_never_replaces_its_input(tmp_path, own_log):
    out = tmp_path / "val"
    out.mkdir()
    (out / "index.md").write_text("earlier report")
    log = out / own_log.name
    shutil.copy(own_log, log)
    mapping = ROOT / "mappings" / "cogov_caselog.yaml"
    p = cogov("validate-against", log, "--mapping", mapping, "--scenario", MMC, "--out", out,
              "--force", "--replications", "1")
    assert p.returncode == 2 and "own input" in p.stderr, p.stderr
    p = cogov("validate-against", log, "--mapping", mapping, "--scenario", MMC, "--out", log,
              "--replications", "1")
    assert p.returncode == 2 and "is a file" in p.stderr
    assert log.read_bytes() == own_log.read_bytes()


def test_the_current_folder(tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    with OutputDir(".") as tmp:
        (tmp / "summary.json").write_text("1")
    assert (here / "summary.json").read_text() == "1" and siblings(here) == []
    with pytest.raises(UserError, match="add --force"):
        OutputDir(".").check()
    ino = here.stat().st_ino
    with OutputDir(".", force=True) as tmp:       # the folder itself stays (it is our cwd)
        (tmp / "summary.json").write_text("2")
    assert (here / "summary.json").read_text() == "2"
    assert here.stat().st_ino == ino and Path.cwd().stat().st_ino == ino
