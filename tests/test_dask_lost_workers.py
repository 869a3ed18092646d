"""[hardening] Workers that die never hang a sweep (issue 27, part 1).

When every Dask worker is gone, a sweep stops with exit 2 and says the runs are resumable with
--resume (instead of waiting forever for the scheduler to find a worker). The lost workers are
real worker *processes* killed by SIGKILL in the middle of a sweep, not only retired politely
(`scale(0)`); when some workers survive (or a nanny restarts them), the sweep finishes and every
run comes back exactly once, as `ok` or as `lost` (rerun by --resume).

Each test bounds its own time (pytest-timeout, and the backends' own limits set small here): a
hang fails with the stacks of every thread instead of stalling the suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from sim.errors import UserError

from .conftest import ROOT


def _slow(task, shared=None):
    time.sleep(0.4)
    return {"run_id": task.run_id, "status": "ok", "pid": os.getpid()}


def _tasks(n):
    return [SimpleNamespace(run_id=i, seed=i) for i in range(n)]


def _fast_limits(be):
    be.no_worker_timeout = 3.0
    be.poll_seconds = 0.3
    be.result_timeout = 2.0
    return be


@pytest.mark.timeout(90)
def test_every_worker_lost_says_resume(monkeypatch):
    """Workers retired by the cluster (`scale(0)`)."""
    pytest.importorskip("distributed")
    from sim.experiments import backends as B

    monkeypatch.setattr(B, "run_task", _slow)
    be = _fast_limits(B.DaskBackend(workers=1, processes=False))
    made = {}
    connect = be._connect

    def capture():
        client, cluster = connect()
        made["client"], made["cluster"] = client, cluster
        return client, cluster

    be._connect = capture
    tasks = _tasks(40)
    got = []

    def retire_soon():
        time.sleep(1.0)
        made["cluster"].scale(0)

    with pytest.raises(UserError) as exc:
        for t, _res in be.run(tasks):
            got.append(t.run_id)
            if len(got) == 1:
                threading.Thread(target=retire_soon, daemon=True).start()
    msg = str(exc.value)
    assert "--resume" in msg and "every worker" in msg, msg
    assert 0 < len(got) < len(tasks)


def _start_worker(address: str) -> subprocess.Popen:
    """A real `dask worker` process without a nanny (so nothing restarts it)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny",
         "--nthreads", "1", "--no-dashboard", "--death-timeout", "30"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.timeout(120)
def test_worker_process_sigkilled_mid_sweep_says_resume(monkeypatch):
    """The only worker process of a scheduler is killed by SIGKILL while it runs: the sweep
    stops with the --resume message within the no-worker timeout (it used to hang in
    `Future.result` for ever)."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from sim.experiments import backends as B

    monkeypatch.setattr(B, "run_task", _slow)
    cluster = LocalCluster(n_workers=0, processes=False, dashboard_address=None,
                           protocol="tcp://", host="127.0.0.1", scheduler_port=0)
    worker = _start_worker(cluster.scheduler_address)
    try:
        with Client(cluster.scheduler_address, timeout="20s") as c:
            c.wait_for_workers(1, timeout=60)       # the worker process has started
        be = _fast_limits(B.DaskBackend(address=cluster.scheduler_address))
        got = []
        t0 = time.monotonic()
        with pytest.raises(UserError) as exc:
            for t, res in be.run(_tasks(60), shared={"base": 1}):
                got.append((t.run_id, res["status"]))
                if len(got) == 2:
                    os.kill(worker.pid, signal.SIGKILL)
        took = time.monotonic() - t0
        msg = str(exc.value)
        assert "--resume" in msg and "every worker" in msg, msg
        assert 2 <= len(got) < 60
        assert len({r for r, _ in got}) == len(got)          # no run reported twice
        assert took < 60, f"the sweep took {took:.0f} s to give up"
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait(10)
        cluster.close(timeout=10)


@pytest.mark.timeout(120)
def test_one_of_two_worker_processes_sigkilled_the_sweep_finishes(monkeypatch):
    """A LocalCluster worker process killed by SIGKILL mid-sweep (its nanny restarts it): the
    sweep ends, and every run comes back exactly once, ok or lost."""
    pytest.importorskip("distributed")
    from sim.experiments import backends as B

    monkeypatch.setattr(B, "run_task", _slow)
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    be = _fast_limits(B.DaskBackend(workers=2, processes=True))
    be.no_worker_timeout = 30.0
    tasks = _tasks(24)
    got = {}
    for t, res in be.run(tasks, shared={"base": 1}):
        assert t.run_id not in got, f"run {t.run_id} came back twice"
        got[t.run_id] = res
        if len(got) == 3:
            os.kill(res["pid"], signal.SIGKILL)
    assert sorted(got) == list(range(len(tasks)))
    assert {r["status"] for r in got.values()} <= {"ok", "lost"}
    assert sum(r["status"] == "ok" for r in got.values()) >= len(tasks) - 2


@pytest.mark.timeout(120)
def test_process_pool_worker_sigkilled_mid_sweep(monkeypatch):
    """The process backend: a pool worker killed by SIGKILL mid-sweep; the sweep ends, every
    run comes back exactly once (the ones the dead pool held as `lost`), the rest still run."""
    from sim.experiments import backends as B

    monkeypatch.setattr(B, "run_task", _slow)
    be = B.ProcessBackend(workers=2)
    be.poll_seconds, be.broken_grace = 0.3, 5.0
    tasks = _tasks(16)
    got = {}
    for t, res in be.run(tasks):
        assert t.run_id not in got, f"run {t.run_id} came back twice"
        got[t.run_id] = res
        if len(got) == 2:
            os.kill(res["pid"], signal.SIGKILL)
    assert sorted(got) == list(range(len(tasks)))
    statuses = [r["status"] for r in got.values()]
    assert set(statuses) <= {"ok", "lost"} and "lost" in statuses
    assert statuses.count("ok") >= len(tasks) - 2 * be.max_in_flight
