"""[hardening] Issue 27: signals leave nothing behind.

- SIGKILL of the main process: its pool workers end by themselves (they watch their parent),
  instead of staying alive idle;
- SIGTERM: handled like Ctrl-C: one line, exit 143, the temporary output folder removed, the
  pool's workers ended;
- Ctrl-C (SIGINT to the whole terminal's process group, workers included): one line, exit 130,
  no traceback from the main process or from any worker.

Real processes: each test starts `python -m sim ...` (or a small script) and signals it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .conftest import ROOT

MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")


def alive(pid: int) -> bool:
    """A process that runs (a zombie waiting to be reaped counts as ended)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except OSError:
        return False
    return False


def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def wait_for(cond, timeout: float, step: float = 0.2) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["ProcessBackend(workers=2)",
                                     "DaskBackend(workers=2, processes=True)"])
def test_sigkill_of_the_main_process_ends_its_pool_workers(tmp_path, backend):
    if backend.startswith("Dask"):
        pytest.importorskip("distributed")
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        from types import SimpleNamespace
        sys.path.insert(0, {str(ROOT)!r})
        from sim.experiments import backends as B
        from tests.test_hardening_signals import _sleepy
        B.run_task = _sleepy
        if __name__ == "__main__":
            tasks = [SimpleNamespace(run_id=i, seed=i) for i in range(8)]
            for t, r in B.{backend}.run(tasks):
                pass
    """), encoding="utf-8")
    env = _env()
    env["COGOV_TEST_PIDS"] = str(tmp_path)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: len(list(tmp_path.glob("pid-*"))) >= 2, 90), \
            proc.stderr.read().decode() if proc.poll() is not None else "no worker started"
        workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("pid-*")]
        assert all(alive(w) for w in workers)
        proc.kill()                       # SIGKILL: no clean-up code of its own runs
        proc.wait(10)
        assert wait_for(lambda: not any(alive(w) for w in workers), 15), \
            f"pool workers {workers} still alive 15 s after their parent was killed"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in tmp_path.glob("pid-*"):
            try:
                os.kill(int(p.name.split("-")[1]), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def _sleepy(task, shared=None):
    """A run that records its worker's pid and then takes long."""
    d = os.environ["COGOV_TEST_PIDS"]
    Path(d, f"pid-{os.getpid()}").write_text("")
    time.sleep(60)
    return {"run_id": task.run_id, "status": "ok"}


def _ctrl_c_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_compare(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        # 200 replications of 0.2-0.3 s each: still running when the signal comes (4 used
        # to be enough, before the compiled rules made a run three times faster)
        [sys.executable, "-m", "sim", "compare", MMC, MMC, "--replications", "200", "--workers",
         "2", "--out", out, "--quiet"], cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        # a shell starts background jobs with Ctrl-C ignored, and Python then keeps it ignored:
        # the command gets Ctrl-C as a user's terminal gives it, however pytest was started
        preexec_fn=_ctrl_c_default)
    # running when both workers exist and the temporary output folder is there
    ok = wait_for(lambda: len(children(proc.pid)) >= 2 and list(tmp_path.glob(".out.tmp-*")),
                  90)
    if not ok:
        proc.kill()
        out_, err = proc.communicate(10)
        pytest.fail(f"compare did not start its workers: {err.decode()[-2000:]}")
    time.sleep(1.0)
    return proc, out


@pytest.mark.timeout(180)
@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"),
                                             (signal.SIGINT, 130, "interrupted")])
def test_sigterm_and_ctrl_c_leave_nothing_behind(tmp_path, sig, code, word):
    proc, out = _start_compare(tmp_path)
    workers = children(proc.pid)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, signal.SIGINT)     # Ctrl-C reaches the whole process group
    else:
        proc.send_signal(sig)
    try:
        so, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = err.decode()
    assert proc.returncode == code, (proc.returncode, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert word in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) <= 2, err
    assert not out.exists()
    assert not list(tmp_path.glob(".out*")), list(tmp_path.iterdir())
    assert wait_for(lambda: not any(alive(w) for w in workers), 15), \
        f"workers {workers} still alive after the command ended"
