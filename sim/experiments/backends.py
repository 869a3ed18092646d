"""Where runs execute: in this process, in local worker processes, or on a Dask cluster.

Every backend takes an iterable of `RunTask`s and yields `(task, result)` pairs as runs finish,
keeping at most `max_in_flight` runs submitted at once, so a 10,000-run sweep never holds more
than a handful of results in memory. A run's result is a small dict (status, flattened summary,
optionally its time series and per-grid/street/category tables); the model never leaves the
worker.

The worker function `run_task` is a top-level function of this module, so it pickles by name
and works with the `spawn` start method and on remote Dask workers (which need cogov
installed). Local workers are forked where that is safe (Linux, one thread in this process:
they start with cogov already imported instead of importing it again, about 1.4 s each) and
spawned elsewhere; `COGOV_START_METHOD` (fork, forkserver, spawn) overrides the choice. The
results are the same either way: every run builds its own model from its own seed. A run
that raises is returned as `status="error"` with its message: it never stops a sweep. A run
whose worker died (killed process, lost Dask worker) comes back as `status="lost"`;
`--resume` runs it again.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import mesa

from ..errors import UserError

SKIP_KEYS = {"scenario", "cogov_version", "scenario_sha256", "seed"}


@dataclass
class RunTask:
    """One run: its id, seed, and either a validated scenario or overrides of the shared base."""

    run_id: int
    seed: int
    overrides: tuple = ()
    scenario: Any = None
    label: str = ""
    keep_timeseries: bool = False
    keep_groups: bool = False


def flatten_summary(summary: dict, prefix: str = "") -> dict:
    """Nested summary dicts become dotted keys (`utilization.police`); labels are dropped."""
    out: dict = {}
    for k, v in summary.items():
        if not prefix and k in SKIP_KEYS:
            continue
        if isinstance(v, dict):
            out.update(flatten_summary(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


_SHARED: Any = None


def _init_shared(shared: Any) -> None:
    """Process-pool initializer: the base scenario mapping, sent once per worker."""
    global _SHARED
    _SHARED = shared


def _short(exc: BaseException) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list):
        return f"{type(exc).__name__}: " + "; ".join(str(e) for e in errors)
    return f"{type(exc).__name__}: {exc}"


def run_task(task: RunTask, shared: Any = None) -> dict:
    """Run one task and return only small picklable data. Never raises for a model error."""
    from ..runner import run_scenario
    from .spec import build_scenario

    t0 = time.perf_counter()
    out: dict = {"run_id": task.run_id, "seed": task.seed, "status": "ok", "error": None,
                 "traceback": None, "summary": {}}
    try:
        scenario = task.scenario
        if scenario is None:
            base = shared if shared is not None else _SHARED
            scenario = build_scenario(base, task.overrides, task.label or f"run {task.run_id}")
        res = run_scenario(scenario, seed=task.seed)
        out["summary"] = flatten_summary(res.summary)
        if task.keep_timeseries:
            out["timeseries"] = res.timeseries
        if task.keep_groups:
            out["by_grid"] = res.by_grid()
            out["by_street"] = res.by_street()
            out["by_category"] = res.by_category()
        _release(res.model)
        del res
    except Exception as exc:  # a failing run is data, not a crash
        out.update(status="error", error=_short(exc),
                   traceback="".join(traceback.format_exception(exc, limit=-12)))
    out["wall_seconds"] = round(time.perf_counter() - t0, 3)
    _maybe_collect(out["wall_seconds"])
    return out


def _release(model) -> None:
    """Let the finished model be freed. Mesa 3.3 keeps a reference to every model ever built in
    the class attribute `Agent._ids` (mesa issue #3179, fixed upstream by PR #3180): without this,
    a worker grows by the size of one model per run."""
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


_GC = {"cost": 0.0, "since": 0}


def _maybe_collect(run_seconds: float) -> None:
    """Free the finished model (it holds reference cycles) so memory stays flat, but spend at
    most ~5% of the time on it: collect after a run 20 times longer than the last collection,
    or after 20 small runs."""
    _GC["since"] += 1
    if run_seconds >= 20 * _GC["cost"] or _GC["since"] >= 20:
        t = time.perf_counter()
        gc.collect()
        _GC["cost"], _GC["since"] = time.perf_counter() - t, 0


def lost(task: RunTask, exc: BaseException) -> dict:
    """The result of a run whose worker died: rerun by `--resume`."""
    return {"run_id": task.run_id, "seed": task.seed, "status": "lost", "error": _short(exc),
            "traceback": None, "summary": {}, "wall_seconds": None}


class Backend:
    """Base: `run(tasks, shared)` yields `(task, result)` as runs finish."""

    name = "base"
    workers = 1

    def run(self, tasks: Iterable[RunTask], shared: Any = None) -> Iterator[tuple[RunTask, dict]]:
        raise NotImplementedError


class SerialBackend(Backend):
    """Runs one after another in this process (simplest to debug; no start-up cost)."""

    name = "serial"

    def run(self, tasks, shared=None):
        for t in tasks:
            yield t, run_task(t, shared)


def start_context():
    """How local workers start: `fork` on Linux when this process runs one thread (forking a
    process with other threads can deadlock the child), else `spawn`; `COGOV_START_METHOD`
    overrides. Before a fork, the parent's objects are moved out of the garbage collector's
    reach (`gc.freeze`), so that the children's collections do not touch (and copy) them."""
    method = os.environ.get("COGOV_START_METHOD", "")
    if method not in multiprocessing.get_all_start_methods():
        method = "fork" if (sys.platform.startswith("linux")
                            and threading.active_count() == 1) else "spawn"
    if method == "fork":
        gc.freeze()
    return multiprocessing.get_context(method)


class ProcessBackend(Backend):
    """Local worker processes (`concurrent.futures`; forked where safe, see `start_context`)."""

    name = "process"

    def __init__(self, workers: int | None = None, max_in_flight: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.max_in_flight = max_in_flight or 2 * self.workers

    def _pool(self, shared):
        return ProcessPoolExecutor(self.workers, mp_context=start_context(),
                                   initializer=_init_shared, initargs=(shared,))

    def run(self, tasks, shared=None):
        it = iter(tasks)
        gen = 0
        pool = self._pool(shared)
        pending: dict = {}
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < self.max_in_flight:
                    t = next(it, None)
                    if t is None:
                        exhausted = True
                        break
                    try:
                        fut = pool.submit(run_task, t)
                    except BrokenProcessPool:
                        pool.shutdown(wait=False, cancel_futures=True)
                        pool, gen = self._pool(shared), gen + 1
                        fut = pool.submit(run_task, t)
                    pending[fut] = (t, gen)
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    t, g = pending.pop(fut)
                    try:
                        res = fut.result()
                    except Exception as exc:  # the worker process died
                        res = lost(t, exc)
                        if isinstance(exc, BrokenProcessPool) and g == gen:
                            pool.shutdown(wait=False, cancel_futures=True)
                            pool, gen = self._pool(shared), gen + 1
                    yield t, res
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


class DaskBackend(Backend):
    """Dask distributed: an existing scheduler (`address`) or a `LocalCluster` of `workers`."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None,
                 processes: bool = True, max_in_flight: int | None = None):
        self.address = address
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.processes = processes
        self.max_in_flight = max_in_flight

    #: how long to wait for a scheduler, and for a worker when every worker is gone (seconds)
    connect_timeout = "20s"
    no_worker_timeout = 60.0
    poll_seconds = 5.0     # how often a sweep with nothing finishing checks for workers

    def _connect(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UserError(["--backend dask: dask.distributed is not installed: "
                             "pip install 'cogov[dask]'"]) from None
        if self.address:
            try:
                client = Client(self.address, timeout=self.connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise UserError([f"--scheduler {self.address}: cannot connect ({exc}): is the "
                                 f"scheduler running (dask scheduler) and reachable?"]) from None
            except (ValueError, TypeError) as exc:
                raise UserError([f"--scheduler {self.address}: not a scheduler address ({exc}): "
                                 f"give one like tcp://10.0.0.5:8786"]) from None
            return client, None
        cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                               processes=self.processes, dashboard_address=None,
                               silence_logs=logging.ERROR)
        return Client(cluster), cluster

    def _all_lost(self, unfinished: int | None) -> UserError:
        left = f" ({unfinished} runs unfinished)" if unfinished else ""
        return UserError([
            f"--backend dask: every worker of the scheduler {self.address or '(LocalCluster)'} "
            f"is gone{left} and none came back within {self.no_worker_timeout:g} s: every "
            f"finished run is saved in the ledger; start workers and continue with the same "
            f"command plus --resume (runs that were in flight run again)"])

    def run(self, tasks, shared=None):
        from distributed import wait

        client, cluster = self._connect()
        try:
            n = sum(client.nthreads().values()) or self.workers
            limit = self.max_in_flight or 2 * n
            tag = uuid.uuid4().hex
            # The base mapping goes to the workers as ONE object under a key unique to this
            # sweep. (Scattering the dict itself would store each top-level key - `run`,
            # `district`, ... - under its literal name, so two sweeps on one scheduler would
            # overwrite each other's data.)
            shared_f = None
            if shared is not None:
                try:
                    client.wait_for_workers(1, timeout=self.no_worker_timeout)
                    [shared_f] = client.scatter([shared], broadcast=True, hash=False)
                except TimeoutError:
                    raise self._all_lost(None) from None
            it = iter(tasks)
            inflight: dict = {}    # future -> task

            def fill():
                while len(inflight) < limit:
                    t = next(it, None)
                    if t is None:
                        return
                    fut = client.submit(run_task, t, shared_f, pure=False,
                                        key=f"cogov-run-{t.run_id}-{tag}")
                    inflight[fut] = t

            fill()
            while inflight:
                try:
                    done, _ = wait(list(inflight), timeout=self.poll_seconds,
                                   return_when="FIRST_COMPLETED")
                except TimeoutError:
                    # nothing finished for a while: if every worker is gone, wait for one to
                    # come back, then stop with the --resume message (the scheduler would
                    # otherwise hold the runs forever)
                    if not client.nthreads():
                        try:
                            client.wait_for_workers(1, timeout=self.no_worker_timeout)
                        except TimeoutError:
                            raise self._all_lost(len(inflight)) from None
                    continue
                for fut in done:
                    t = inflight.pop(fut)
                    try:
                        res = fut.result()
                    except Exception as exc:  # KilledWorker, lost connection
                        res = lost(t, exc)
                    fut.release()
                    yield t, res
                fill()
        finally:
            try:
                client.close()
            finally:
                if cluster is not None:
                    cluster.close()


def make_backend(name: str = "serial", workers: int | None = None,
                 scheduler: str | None = None) -> Backend:
    """`serial`, `process` or `dask` (with `scheduler` address, or a LocalCluster)."""
    if scheduler and name != "dask":
        raise UserError([f"--scheduler needs --backend dask (got --backend {name})"])
    if name == "serial":
        return SerialBackend()
    if name == "process":
        return ProcessBackend(workers)
    if name == "dask":
        return DaskBackend(scheduler, workers)
    raise UserError([f"--backend {name}: unknown backend (serial, process or dask)"])
