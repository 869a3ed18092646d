"""Pausing Python's cyclic garbage collector around bulk work (drawing problems, a run,
building the result tables): such work allocates millions of objects without reference
cycles, and every automatic collection meanwhile walks all live objects of the run, a cost that
grows with the run's size. Reference counting still frees everything as usual."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from functools import wraps


@contextmanager
def paused_gc():
    """`with paused_gc(): ...` runs the block with the collector off (restored afterwards)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def gc_paused(fn):
    """Decorator: run `fn` inside `paused_gc()`."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        with paused_gc():
            return fn(*args, **kwargs)
    return wrapper
