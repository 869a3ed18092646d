"""What the engine keeps in memory: far-ahead events as packed numbers, a problem record only
while something can still happen to the problem, and the case table read in slices. These
are the layout choices behind the benchmark's memory and scaling figures; the results must not
depend on them."""

from __future__ import annotations

import pandas as pd
import pytest

import sim.records as records
from sim.kernel import calendar as C
from sim.kernel import contacts as P
from sim.kernel import entities as E
from sim.model import GovernanceModel
from sim.scenario.loader import load_scenario

from .conftest import SCENARIOS

SMALL = ["district.generate.grids_per_street=4", "district.generate.population=60000",
         "run.horizon_days=60", "run.warmup_days=5"]


@pytest.fixture(scope="module")
def model():
    m = GovernanceModel(load_scenario(SCENARIOS / "baohe_after.yaml", SMALL))
    m.run()
    return m


@pytest.mark.parametrize("kind", [P.EV_CONTACT, P.EV_PATIENCE, P.EV_PATROL])
@pytest.mark.parametrize("pid,ch", [(0, -1), (1, 0), (762_118, 3), (2 ** 40, 253)])
def test_a_far_event_code_unpacks_to_what_was_packed(kind, pid, ch):
    code = C.far_pack(kind, pid, ch)
    assert code >> (C.FAR_CH_BITS + C.FAR_KIND_BITS) == pid
    assert (code >> C.FAR_CH_BITS) & C.FAR_KIND_MASK == kind
    assert (code & C.FAR_CH_MASK) - 1 == ch


def test_problem_records_exist_only_while_something_can_happen(model):
    e = model.engine
    probs = e.problems
    assert len(probs) == len(e.p_t0) == len(e.p_cat) == len(e.p_grid)
    resolved = sum(1 for p in probs if p is E.RESOLVED_PROBLEM)
    untouched = sum(1 for p in probs if p is None)
    live = [p for p in probs if p is not None and p is not E.RESOLVED_PROBLEM]
    # every resolved problem shares one record, counted in the summary's own counter
    assert resolved >= e.ledger.problems_resolved > 0
    # problems nobody reported or detected (yet) have no record at all
    assert untouched > 0
    assert all(p.state != E.RESOLVED for p in live)
    # an open case's problem has its own record pointing to that case
    for c in e.cases:
        if c.closed < 0:
            pr = probs[c.pid]
            assert pr is not None and pr.case is c and pr.state == E.OPEN_CASE


def test_nothing_is_left_in_the_far_calendar_before_the_horizon(model):
    e = model.engine
    assert all(day * 24.0 >= e.horizon for day in e._far_days)
    assert all(e.now <= t for t in e._far_t[e._far_i:])


def test_the_case_table_is_the_same_whatever_the_slice(model, monkeypatch):
    whole = records.case_table(model)
    assert len(whole) == len(model.engine.cases) > 1000
    assert whole["case_id"].tolist() == list(range(len(whole)))
    monkeypatch.setattr(records, "CASE_TABLE_SLICE", 7)   # slices that do not divide it
    pd.testing.assert_frame_equal(records.case_table(model).to_pandas(), whole.to_pandas())

