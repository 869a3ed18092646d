"""Progress on stderr: a tqdm bar on a terminal, periodic lines elsewhere, nothing with --quiet.

On a terminal the bar (tqdm) appears only once the job has taken `delay` seconds, so quick
runs stay clean. When stderr is not a terminal (a log file, CI, `nohup`), jobs that ask for
`lines=True` (`compare`, `sweep`) print one plain line every `every` seconds and one at the
end, which a log keeps readable, instead of a bar's carriage returns.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """`Progress(total, label)`; call `update(done, failed=0)`; `close()` at the end.

    `enabled`: None = decide from the stream (bar on a terminal; lines when `lines`), False =
    nothing, True = a bar even when not a terminal."""

    def __init__(self, total: float, label: str = "", enabled: bool | None = None,
                 delay: float = 2.0, stream=None, lines: bool = False, every: float = 10.0,
                 unit: str = "runs"):
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.unit = unit
        self.every = every
        self.t0 = time.perf_counter()
        self._last = self.t0
        self.failed = 0
        self.done = 0.0
        self.bar = None
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        if enabled is False:
            self.mode = None
        elif enabled or tty:
            self.mode = "bar"
        else:
            self.mode = "lines" if lines else None
        if self.mode == "bar":
            from tqdm import tqdm

            fmt = ("{desc}: {percentage:3.0f}%|{bar}| elapsed {elapsed}, ETA {remaining}"
                   if unit == "%" else None)
            self.bar = tqdm(total=total, desc=label, file=self.stream, delay=delay,
                            unit=" " + unit if unit != "%" else "%", dynamic_ncols=True,
                            mininterval=0.2, leave=True, bar_format=fmt)

    @property
    def enabled(self) -> bool:
        return self.mode is not None

    def update(self, done: float, failed: int = 0, unit: str = "") -> None:
        self.done, self.failed = done, failed
        if self.mode == "bar":
            if failed:
                self.bar.set_postfix_str(f"{failed} failed", refresh=False)
            self.bar.update(done - self.bar.n)
        elif self.mode == "lines":
            now = time.perf_counter()
            if now - self._last >= self.every and done < self.total:
                self._last = now
                self._line(now)

    def _line(self, now: float) -> None:
        el = now - self.t0
        frac = min(1.0, self.done / self.total) if self.total else 1.0
        eta = f", ETA {el / frac - el:.0f} s" if 0 < frac < 1 else ""
        fail = f", {self.failed} failed" if self.failed else ""
        count = (f"{frac:.0%}" if self.unit == "%" else
                 f"{self.done:g} of {self.total:g} {self.unit}")
        print(f"{self.label}: {count} done{fail}, elapsed {el:.0f} s{eta}", file=self.stream,
              flush=True)

    def close(self) -> None:
        if self.mode == "bar" and self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.mode == "lines":
            self._line(time.perf_counter())
            self.mode = None
