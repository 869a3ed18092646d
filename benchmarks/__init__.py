"""cogov benchmark suite (issue 7): `python -m benchmarks [--quick] [--out FILE]`.

Four parts, each measured in fresh subprocesses so that timings and peak memory are the run's
own: (a) the M/M/c queue in cogov against the same queue in SimPy, (b) a Baohe-scale
district-year, (c) that district at 1/8, 1/4, 1/2 and full scale, (d) a 200-run sweep, serial
against two processes. See benchmarks/README.md.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
