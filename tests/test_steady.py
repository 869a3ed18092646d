"""The steady-state warning: a trend test on the backlog after warm-up (sim/steady.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.steady import steady_state, warning

from .conftest import ROOT, cogov


def series(backlog, queue=None):
    days = np.arange(1, len(backlog) + 1, dtype=float)
    d = {"day": days, "backlog": backlog}
    if queue is not None:
        d["queue.police"] = queue
    return pd.DataFrame(d)


def ar1(n, rng, level=200.0, phi=0.95, sd=10.0):
    x = np.empty(n)
    x[0] = 0.0
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal(0, sd)
    return level + x


def test_a_growing_backlog_is_named_with_its_queue():
    rng = np.random.default_rng(1)
    n = 365
    grow = 100 + 30 * np.arange(n) + rng.normal(0, 50, n)
    flat = ar1(n, rng, level=20)
    note = warning(steady_state(series(grow, grow - 50), 30), "baohe_before",
                   dept_labels={"police": "Police"})
    assert note and "still growing" in note and "Police" in note
    assert warning(steady_state(series(grow, flat), 30), "x").endswith("run length.")


def test_a_stationary_queue_is_rarely_flagged():
    """Autocorrelated noise around a level: the batch-means test with a materiality floor keeps
    false alarms rare (a plain regression on the days would flag most of these)."""
    rng = np.random.default_rng(7)
    flagged = sum(warning(steady_state(series(ar1(365, rng, phi=0.9)), 30)) is not None
                  for _ in range(200))
    assert flagged <= 6           # at most 3%
    growing = sum(warning(steady_state(series(ar1(365, rng, phi=0.9) + np.arange(365.0)),
                                       30)) is not None for _ in range(50))
    assert growing >= 48          # +1 case a day on a queue that wanders by +-23


def test_too_short_a_run_has_no_verdict():
    assert steady_state(series(np.arange(30.0)), 10) == []


def test_run_warns_when_the_staff_cannot_keep_up(tmp_path):
    p = cogov("run", ROOT / "scenarios" / "validation" / "mmc.yaml", "--out", tmp_path / "o",
              "--quiet", "--set", "departments.desk.staff=7", "--set", "run.horizon_days=200")
    assert p.returncode == 0, p.stderr
    assert "the backlog is still growing at the horizon" in p.stderr
    assert "growing queues: desk" in p.stderr
    assert "--set departments.desk.staff=10" in p.stderr     # the validate-time suggestion


def test_t_table_matches_scipy():
    from scipy.stats import t

    from sim.steady import t975

    for df in (1, 2, 3, 5, 10, 30, 31, 60, 200):
        assert abs(t975(df) - t.ppf(0.975, df)) < 0.003, df


def test_a_queue_that_built_up_after_warm_up_is_named_even_when_level_at_the_horizon():
    """Today's baohe_before: the police queue grows for ~150 days after warm-up, then levels off;
    the district backlog hardly moves. The averages include the build-up: warn, name the queue."""
    rng = np.random.default_rng(3)
    n = 365
    police = np.minimum(np.arange(n, dtype=float), 250.0) * 1.3 + ar1(n, rng, level=0, sd=8)
    backlog = ar1(n, rng, level=4000, sd=40) + police
    note = warning(steady_state(series(backlog, police), 30), "before",
                   dept_labels={"police": "Police"})
    assert note and "building up after warm-up" in note and "Police" in note


def test_a_queue_growing_at_the_horizon_is_named_when_the_backlog_is_level():
    rng = np.random.default_rng(5)
    n = 365
    police = 20 + np.clip(np.arange(n, dtype=float) - 30, 0, None) * 0.8 + ar1(n, rng, 0, sd=5)
    backlog = ar1(n, rng, level=20000, sd=400)
    note = warning(steady_state(series(backlog, police), 30), "x")
    assert note and "still trending at the horizon: police" in note


def test_a_level_queue_after_a_quick_start_is_not_flagged():
    """A queue that fills within the warm-up and then wanders about its level is steady."""
    rng = np.random.default_rng(11)
    flagged = 0
    for _ in range(50):
        q = np.minimum(np.arange(365.0), 10.0) * 20 + ar1(365, rng, level=0, phi=0.9)
        flagged += warning(steady_state(series(q + 1000, q), 30)) is not None
    assert flagged <= 3


def test_run_of_a_stable_queue_prints_no_warning(tmp_path):
    """The same M/M/c queue with enough staff (c = 10 at 80% load): no trend, no build-up."""
    p = cogov("run", ROOT / "scenarios" / "validation" / "mmc.yaml", "--out", tmp_path / "o",
              "--quiet", "--set", "run.horizon_days=200")
    assert p.returncode == 0, p.stderr
    assert "steady state" not in p.stderr and "warning" not in p.stderr


@pytest.mark.slow
def test_compare_of_the_shipped_pair_prints_no_steady_state_warning(tmp_path):
    """`cogov compare` of the recalibrated Baohe pair, the whole district with its 120-day
    warm-up and 120 days after it (one replication): no department queue trends or builds up.
    Before issue 24 baohe_before's police queue grew for 150 days and nothing was said.
    A few minutes in pure Python: slow."""
    p = cogov("compare", ROOT / "scenarios" / "baohe_before.yaml",
              ROOT / "scenarios" / "baohe_after.yaml", "--replications", "1", "--workers", "1",
              "--out", tmp_path / "c", "--quiet", "--set", "run.horizon_days=240")
    assert p.returncode == 0, p.stderr
    assert "steady state" not in p.stdout + p.stderr, p.stdout
