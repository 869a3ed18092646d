"""The one way to run a model and let it be freed (模型的生命周期: 建、跑、放).

Mesa 3.3 keeps a reference to every model ever built in the class attribute `Agent._ids` (a
`defaultdict` from model to its id counter; mesa issue #3179, fixed upstream by PR #3180). A
process that builds models in a loop - a sweep worker, `calibrate --behaviour`'s forward model,
`recommend`'s search, `explain`'s runs, the dashboard's resets - therefore grows by one whole
model per run unless that entry is dropped. Collecting garbage cannot free what a live class
attribute still holds. Every caller that builds models in a loop goes through this module:

    with run_model(scenario, seed=s) as res:      # res: sim.runner.RunResult
        summary = res.summary                     # take what is needed (small data) ...
    # ... here the model is out of Mesa's registry and its cycles get collected

    with built_model(scenario, seed=s) as model:  # the bare GovernanceModel (not run)
        model.engine.run_until(model.engine.horizon)

Freed models are collected by a budgeted collector (`Collector`): a full collection after a
run at most every ~5% of the run time, so memory stays flat at almost no cost in speed.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _registry() -> dict | None:
    """Mesa's model registry (`Agent._ids`), or None on a Mesa without it."""
    try:
        import mesa
    except ImportError:      # pragma: no cover - Mesa is a dependency
        return None
    ids = getattr(mesa.Agent, "_ids", None)
    return ids if isinstance(ids, dict) else None


def release(model: Any) -> None:
    """Drop `model` from Mesa's registry so it can be freed (safe to call twice, or on None)."""
    if model is None:
        return
    ids = _registry()
    if ids is not None:
        ids.pop(model, None)


def release_all(kind: type | None = None) -> int:
    """Drop every registered model (of class `kind`, subclasses included, when given) from
    Mesa's registry; returns how many. The dashboard calls it when it builds a new model on
    reset: the models it replaced are not used again."""
    ids = _registry()
    if not ids:
        return 0
    gone = [m for m in list(ids) if kind is None or isinstance(m, kind)]
    for m in gone:
        ids.pop(m, None)
    return len(gone)


def registered() -> int:
    """How many models Mesa's registry holds (a test's and a leak hunter's measure)."""
    ids = _registry()
    return len(ids) if ids is not None else 0


class Collector:
    """Free finished models (they hold reference cycles) so memory stays flat, spending at
    most ~5% of the time on it: a full collection after a run 20 times longer than the last
    collection took, or after `every` runs, whichever comes first."""

    def __init__(self, every: int = 20):
        self.every = every
        self.cost = 0.0
        self.since = 0

    def after_run(self, run_seconds: float) -> None:
        self.since += 1
        if run_seconds >= 20 * self.cost or self.since >= self.every:
            t = time.perf_counter()
            gc.collect()
            self.cost, self.since = time.perf_counter() - t, 0


#: the process's collector (one per process: a worker, or the main process of a serial run)
COLLECTOR = Collector()


@contextmanager
def _releasing() -> Iterator[None]:
    """Every model registered inside the block is released when it ends, also when building
    or running one raised half way (the half-built model is in the registry already)."""
    ids = _registry()
    before = {id(m) for m in ids} if ids else set()
    try:
        yield
    finally:
        ids = _registry()
        if ids:
            for m in [m for m in list(ids) if id(m) not in before]:
                ids.pop(m, None)


@contextmanager
def built_model(scenario, seed: int | None = None, *, model_class=None) -> Iterator[Any]:
    """A `GovernanceModel` (or `model_class`) built from `scenario`, released on exit."""
    if model_class is None:
        from .model import GovernanceModel as model_class
    t0 = time.perf_counter()
    with _releasing():
        model = model_class(scenario, seed) if seed is not None else model_class(scenario)
        try:
            yield model
        finally:
            del model
    COLLECTOR.after_run(time.perf_counter() - t0)


@contextmanager
def run_model(scenario, seed: int | None = None, progress: bool = False) -> Iterator[Any]:
    """Run `scenario` to its horizon (`sim.runner.run_scenario`) and yield its `RunResult`;
    on exit the model is released from Mesa's registry and collected within the budget. Keep
    only small data (the summary, tables) from the result: the model itself is not to be
    used after the block."""
    from .runner import run_scenario

    t0 = time.perf_counter()
    with _releasing():
        res = run_scenario(scenario, seed=seed, progress=progress)
        try:
            yield res
        finally:
            release(res.model)
            del res
    COLLECTOR.after_run(time.perf_counter() - t0)


def run_summary(scenario, seed: int | None = None) -> dict:
    """Run `scenario` and return only its summary (the model is freed)."""
    with run_model(scenario, seed=seed) as res:
        return res.summary
