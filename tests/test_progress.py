"""Progress: a tqdm bar on a terminal, periodic plain lines when not a terminal."""

from __future__ import annotations

import io

from sim.progress import Progress

from .conftest import ROOT, cogov


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_lines_when_not_a_terminal():
    out = io.StringIO()
    bar = Progress(4, "compare", stream=out, lines=True, every=0.0)
    for i in range(1, 5):
        bar.update(i, failed=int(i > 2))
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("compare: 1 of 4 runs done")
    assert lines[-1].startswith("compare: 4 of 4 runs done, 1 failed")
    assert "\r" not in out.getvalue()


def test_nothing_when_quiet_or_not_asked():
    out = io.StringIO()
    for bar in (Progress(3, "x", stream=out, enabled=False, lines=True),
                Progress(3, "x", stream=out)):
        bar.update(3)
        bar.close()
    assert out.getvalue() == ""


def test_a_bar_on_a_terminal():
    out = Tty()
    bar = Progress(100.0, "run", stream=out, delay=0.0, unit="%")
    bar.update(50.0)
    bar.close()
    assert "50%" in out.getvalue() and "run" in out.getvalue()


def test_compare_prints_progress_lines_into_a_log(tmp_path):
    p = cogov("compare", ROOT / "scenarios" / "validation" / "mmc.yaml", "-r", "2",
              "--workers", "1", "--out", tmp_path / "o", "--set", "run.horizon_days=10",
              "--set", "run.warmup_days=1")
    assert p.returncode == 0, p.stderr
    assert "compare: 2 of 2 runs done" in p.stderr
