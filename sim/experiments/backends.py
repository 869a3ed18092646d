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
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

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
    from ..lifetime import run_model
    from .spec import build_scenario

    t0 = time.perf_counter()
    out: dict = {"run_id": task.run_id, "seed": task.seed, "status": "ok", "error": None,
                 "traceback": None, "summary": {}}
    try:
        scenario = task.scenario
        if scenario is None:
            base = shared if shared is not None else _SHARED
            scenario = build_scenario(base, task.overrides, task.label or f"run {task.run_id}")
        with run_model(scenario, seed=task.seed) as res:   # the model is freed after it
            out["summary"] = flatten_summary(res.summary)
            if task.keep_timeseries:
                out["timeseries"] = res.timeseries
            if task.keep_groups:
                out["by_grid"] = res.by_grid()
                out["by_street"] = res.by_street()
                out["by_category"] = res.by_category()
    except Exception as exc:  # a failing run is data, not a crash
        out.update(status="error", error=_short(exc),
                   traceback="".join(traceback.format_exception(exc, limit=-12)))
    out["wall_seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _release(model) -> None:
    """Kept for callers of the earlier name: see `sim.lifetime.release`."""
    from ..lifetime import release

    release(model)


# ----------------------------------------------------------------------------- worker watch
_WATCH: dict = {"parent": None}


def watch_parent(parent_pid: int, every: float = 1.0) -> None:
    """In a worker process: end this process when `parent_pid` (the cogov command that started
    it) is gone, e.g. killed by SIGKILL, which runs no clean-up of its own. Without this the
    pool's workers of a killed `sweep`, `compare` or `explain` stay alive (measured: still idle
    100 s later). A daemon thread checks every `every` seconds that the parent is still this
    process's parent (a killed parent's children are handed to init or a subreaper)."""
    if _WATCH["parent"] == parent_pid:
        return
    _WATCH["parent"] = parent_pid
    try:    # Ctrl-C is the parent's to handle (it ends the pool): no traceback per worker
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:      # not the main thread (a Dask worker's plugin): leave it
        pass
    if os.getppid() != parent_pid:        # already orphaned before the watch started
        os._exit(0)

    def watch():
        while True:
            time.sleep(every)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="cogov-parent-watch", daemon=True).start()


def _init_worker(shared: Any, parent_pid: int) -> None:
    """Process-pool initializer: the base scenario mapping (sent once per worker) and the
    watch that ends the worker with its parent."""
    _init_shared(shared)
    watch_parent(parent_pid)


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
    """Local worker processes (`concurrent.futures`; forked where safe, see `start_context`).
    Each worker ends by itself when this process is gone (`watch_parent`), and the pool's
    processes are ended when the sweep stops early (an error, Ctrl-C, SIGTERM)."""

    name = "process"

    #: how often a wait with nothing finishing checks that the pool is alive (seconds), and how
    #: long runs of a broken pool may stay unanswered before they are reported lost
    poll_seconds = 5.0
    broken_grace = 30.0

    def __init__(self, workers: int | None = None, max_in_flight: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.max_in_flight = max_in_flight or 2 * self.workers

    def _pool(self, shared):
        return ProcessPoolExecutor(self.workers, mp_context=start_context(),
                                   initializer=_init_worker, initargs=(shared, os.getpid()))

    @staticmethod
    def _end(pool, kill: bool) -> None:
        """Shut the pool down without waiting; `kill`: end its processes now (a sweep stopped
        early must not leave workers running their last run for minutes)."""
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        if kill:
            for p in procs:
                try:
                    p.kill()
                except (OSError, ValueError, AttributeError):
                    pass
            for p in procs:
                try:
                    p.join(5)
                except (OSError, ValueError, AssertionError, AttributeError):
                    pass

    @staticmethod
    def _submit(pool, task):
        """Submit; worker processes started by it begin with Ctrl-C ignored (the parent
        handles it and ends them), so an interrupt prints one line, not a traceback each."""
        if threading.current_thread() is not threading.main_thread():
            return pool.submit(run_task, task)
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return pool.submit(run_task, task)
        finally:
            signal.signal(signal.SIGINT, old)

    @staticmethod
    def _broken(pool) -> bool:
        if getattr(pool, "_broken", False):
            return True
        procs = (getattr(pool, "_processes", None) or {}).values()
        return any(p.exitcode is not None for p in procs)

    def run(self, tasks, shared=None):
        it = iter(tasks)
        gen = 0
        pool = self._pool(shared)
        pending: dict = {}
        finished = False
        broken_since: float | None = None
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < self.max_in_flight:
                    t = next(it, None)
                    if t is None:
                        exhausted = True
                        break
                    try:
                        fut = self._submit(pool, t)
                    except (BrokenProcessPool, RuntimeError):
                        self._end(pool, kill=True)
                        pool, gen = self._pool(shared), gen + 1
                        fut = self._submit(pool, t)
                    pending[fut] = (t, gen)
                if not pending:
                    break
                done, _ = wait(pending, timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
                if not done:
                    # nothing finished for a while: a pool whose worker died answers its runs
                    # with BrokenProcessPool by itself; if it has not within the grace period,
                    # report them lost (--resume runs them again) and start a new pool
                    if not self._broken(pool):
                        broken_since = None
                        continue
                    now = time.monotonic()
                    broken_since = broken_since or now
                    if now - broken_since < self.broken_grace:
                        continue
                    for fut, (t, _g) in list(pending.items()):
                        pending.pop(fut)
                        yield t, lost(t, BrokenProcessPool("a worker process died and the "
                                                           "pool did not answer"))
                    self._end(pool, kill=True)
                    pool, gen, broken_since = self._pool(shared), gen + 1, None
                    continue
                for fut in done:
                    t, g = pending.pop(fut)
                    try:
                        res = fut.result(timeout=0)
                    except Exception as exc:  # the worker process died
                        res = lost(t, exc)
                        if isinstance(exc, BrokenProcessPool) and g == gen:
                            self._end(pool, kill=True)
                            pool, gen = self._pool(shared), gen + 1
                    yield t, res
            finished = True
        finally:
            self._end(pool, kill=not finished)


class DaskBackend(Backend):
    """Dask distributed: an existing scheduler (`address`) or a `LocalCluster` of `workers`.

    No wait is without an end: connecting, scattering the base scenario, waiting for runs and
    fetching a finished run's result all have time limits; when every worker is gone and none
    comes back within `no_worker_timeout`, the sweep stops with exit 2 and the `--resume`
    message (every finished run is in the ledger)."""

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
    #: how long fetching the result of a finished run may take (seconds); a run whose worker
    #: vanished between "finished" and the fetch goes back to waiting
    result_timeout = 30.0
    close_timeout = 10.0

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
        from .daskwatch import ParentWatchPlugin

        cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                               processes=self.processes, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster, timeout=self.connect_timeout)
        if self.processes:     # our own worker processes end with this process
            try:
                client.register_plugin(ParentWatchPlugin(os.getpid()))
            except Exception:   # pragma: no cover - an older distributed: no watch
                logging.getLogger(__name__).debug("no parent watch on the workers")
        return client, cluster

    def _all_lost(self, unfinished: int | None) -> UserError:
        left = f" ({unfinished} runs unfinished)" if unfinished else ""
        return UserError([
            f"--backend dask: every worker of the scheduler {self.address or '(LocalCluster)'} "
            f"is gone{left} and none came back within {self.no_worker_timeout:g} s: every "
            f"finished run is saved in the ledger; start workers and continue with the same "
            f"command plus --resume (runs that were in flight run again)"])

    def _need_a_worker(self, client, unfinished: int | None) -> None:
        """Return when the scheduler has a worker; the --resume error after the timeout."""
        try:
            if not client.nthreads():
                client.wait_for_workers(1, timeout=self.no_worker_timeout)
        except (TimeoutError, OSError):
            raise self._all_lost(unfinished) from None

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
                self._need_a_worker(client, None)
                try:
                    [shared_f] = client.scatter([shared], broadcast=True, hash=False,
                                                timeout=self.no_worker_timeout)
                except (TimeoutError, OSError):
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
                    self._need_a_worker(client, len(inflight))
                    continue
                except CancelledError:
                    # the scheduler dropped runs (their worker died holding the base
                    # scenario): they are lost; the base goes out again once a worker is there
                    self._need_a_worker(client, len(inflight))
                    for fut in [f for f in inflight if f.cancelled()]:
                        t = inflight.pop(fut)
                        yield t, lost(t, CancelledError("its worker died"))
                    if shared_f is not None and shared_f.status != "finished":
                        try:
                            [shared_f] = client.scatter([shared], broadcast=True, hash=False,
                                                        timeout=self.no_worker_timeout)
                        except (TimeoutError, OSError):
                            raise self._all_lost(len(inflight)) from None
                    fill()
                    continue
                progressed = False
                for fut in done:
                    t = inflight[fut]
                    try:
                        res = fut.result(timeout=self.result_timeout)
                    except TimeoutError:
                        # "finished", then its worker vanished before the result came (the
                        # future is pending again): keep waiting for it, within the limits
                        continue
                    except Exception as exc:  # KilledWorker, lost connection
                        res = lost(t, exc)
                    inflight.pop(fut)
                    progressed = True
                    fut.release()
                    yield t, res
                if not progressed:
                    self._need_a_worker(client, len(inflight))
                fill()
        finally:
            try:
                client.close(timeout=self.close_timeout)
            except Exception:   # closing a client of a dead scheduler: nothing left to free
                pass
            finally:
                if cluster is not None:
                    try:
                        cluster.close(timeout=self.close_timeout)
                    except Exception:
                        pass


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
