"""A minimal terminal progress bar (stderr, only on a TTY, never with --quiet)."""

from __future__ import annotations

import sys
import time


class Progress:
    """`Progress(total, label)`; call `update(done, failed=0)`; `close()` at the end.

    Draws only on a terminal and only once the job has taken `delay` seconds, so quick runs and
    pipes stay clean.
    """

    def __init__(self, total: float, label: str = "", enabled: bool | None = None,
                 delay: float = 2.0, stream=None):
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()
        self.delay = delay
        self.drawn = False
        self._last = 0.0

    def update(self, done: float, failed: int = 0, unit: str = "") -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        el = now - self.t0
        if el < self.delay or (now - self._last < 0.2 and done < self.total):
            return
        self._last = now
        frac = min(1.0, done / self.total) if self.total else 1.0
        eta = el / frac - el if frac > 0 else float("inf")
        bar = "#" * int(frac * 30)
        fail = f", {failed} failed" if failed else ""
        count = f"{done:g}/{self.total:g}{unit}" if unit != "%" else f"{frac:5.1%}"
        self.stream.write(f"\r{self.label} [{bar:<30}] {count}{fail} "
                          f"elapsed {el:5.1f}s ETA {eta:5.1f}s ")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
