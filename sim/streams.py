"""Random streams: one numpy Generator per source of randomness, all spawned from one seed.

Common random numbers: two scenarios run with the same seed draw problem arrivals, reporting
and patrol detection from identical streams, so their difference is the policy's, not the
noise's. Streams are spawned in the fixed order of `STREAMS` (append only, never reorder).
Values are drawn in numpy blocks and handed out one by one (cheap on the hot path).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:   # types only: the compiled kernel imports this module, not the schema
    from .scenario.schema import Distribution

STREAMS = ("arrivals", "reporting", "patrol", "channel", "handling", "outcome", "patience",
           "routing", "followup", "recurrence", "coordination", "report_delay", "redetect",
           "complexity", "citizen", "grid", "triage")

BLOCK = 4096


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent Generator per named stream, from `SeedSequence(seed)`."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(ss)) for name, ss in zip(STREAMS, children)}


class Uniforms:
    """Uniform(0, 1) numbers from a generator, drawn in blocks."""

    __slots__ = ("gen", "buf", "i")

    def __init__(self, gen: np.random.Generator):
        self.gen = gen
        self.buf: list[float] = []
        self.i = 0

    def __call__(self) -> float:
        return self.next()

    def next(self) -> float:
        """The next number (what calling the object returns; from compiled code, a direct
        call that returns a C double, where calling the object goes through Python's call
        protocol)."""
        i = self.i
        if i >= len(self.buf):
            self.buf = self.gen.random(BLOCK).tolist()
            i = 0
        self.i = i + 1
        return self.buf[i]

    def exp(self, mean: float) -> float:
        """An exponential draw with the given mean."""
        return -mean * math.log(1.0 - self.next())


def draw(dist: Distribution, gen: np.random.Generator, size: int) -> np.ndarray:
    """`size` draws (hours) from a scenario `Distribution`."""
    m = dist.mean
    if dist.kind == "exponential":
        return gen.exponential(m, size)
    if dist.kind == "fixed":
        return np.full(size, float(m))
    if dist.kind == "lognormal":
        s2 = math.log1p(dist.cv ** 2)
        return gen.lognormal(math.log(m) - s2 / 2, math.sqrt(s2), size)
    if dist.kind == "gamma":
        k = 1.0 / dist.cv ** 2
        return gen.gamma(k, m / k, size)
    if dist.kind == "empirical":
        return gen.choice(np.asarray(dist.values, dtype=float), size)
    raise ValueError(f"unknown distribution kind {dist.kind!r}")


class Sampler:
    """Draws from one `Distribution`, in blocks, from a shared generator."""

    __slots__ = ("dist", "gen", "buf", "i")

    def __init__(self, dist: Distribution, gen: np.random.Generator):
        self.dist = dist
        self.gen = gen
        self.buf: list[float] = []
        self.i = 0

    def __call__(self) -> float:
        return self.next()

    def next(self) -> float:
        """The next draw (see `Uniforms.next`)."""
        i = self.i
        if i >= len(self.buf):
            self.buf = draw(self.dist, self.gen, 512).tolist()
            i = 0
        self.i = i + 1
        return self.buf[i]
