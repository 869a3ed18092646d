"""[hardening] When every Dask worker is gone, a sweep stops with exit 2 and says the runs are
resumable with --resume (instead of waiting forever for the scheduler to find a worker)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from sim.errors import UserError


def _slow(task, shared):
    time.sleep(0.5)
    return {"run_id": task.run_id}


def test_every_worker_lost_says_resume(monkeypatch):
    pytest.importorskip("distributed")
    from sim.experiments import backends as B

    monkeypatch.setattr(B, "run_task", _slow)
    be = B.DaskBackend(workers=1, processes=False)
    be.no_worker_timeout = 2.0
    be.poll_seconds = 0.3
    made = {}
    connect = be._connect

    def capture():
        client, cluster = connect()
        made["client"], made["cluster"] = client, cluster
        return client, cluster

    be._connect = capture
    tasks = [SimpleNamespace(run_id=i) for i in range(40)]
    got = []

    def retire_soon():
        time.sleep(1.5)
        made["cluster"].scale(0)

    with pytest.raises(UserError) as exc:
        for t, _res in be.run(tasks):
            got.append(t.run_id)
            if len(got) == 1:
                threading.Thread(target=retire_soon, daemon=True).start()
    msg = str(exc.value)
    assert "--resume" in msg and "every worker" in msg, msg
    assert 0 < len(got) < len(tasks)
