"""Repeat shares in the public 311 logs of ../shared/data/case-logs (pattern `recomplaint_rate`
and the Baltimore duplicate flag, scenarios/targets/baohe.yaml). Prints each figure with the
computation that produced it. Usage: python scripts/repeat_shares_311.py [DATA_DIR]

- Baltimore (10,000 requests sampled at random from 2014-2019): the share of requests the city
  itself closed as duplicates ("Closed (Duplicate)", "Open (Duplicate)", "New (Duplicate)"),
  among requests made by residents (MethodReceived != "Internal"). A random sample cannot show
  same-address repeats (two requests about one problem are rarely both sampled); the city's own
  duplicate flag can.
- Los Angeles (every MyLA311 request, 2020-01-01 00:02 to 2020-01-03 14:22): a request is a
  repeat when an earlier request has the same address and request type and was made more than
  60 minutes before (same-hour rows are one visit's multi-item entries); `after closure` when
  the earlier request was already closed. The log covers 2.6 days, so these are lower bounds for
  any 30-day window.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main(folder: str | None = None) -> None:
    root = Path(folder) if folder else Path(__file__).resolve().parents[2] / "shared" / "data" \
        / "case-logs"
    if not (root / "baltimore_311_sample_2014-2019.csv").exists():
        raise SystemExit(f"{root}: the 311 logs are not there; give the case-logs folder "
                         f"(../shared/data/case-logs of the project) as the argument")
    b = pd.read_csv(root / "baltimore_311_sample_2014-2019.csv")
    dup = b["SRStatus"].str.contains("Duplicate", na=False)
    resident = b["MethodReceived"] != "Internal"
    print(f"Baltimore: {int(dup[resident].sum())} of {int(resident.sum())} residents' requests "
          f"flagged duplicate = {dup[resident].mean():.4f}")
    la = pd.read_csv(root / "la_myla311_2020-01-01_to_03.csv")
    la["t"] = pd.to_datetime(la["createddate"], format="%m/%d/%y %H:%M")
    la["closed"] = pd.to_datetime(la["closeddate"], format="%m/%d/%y %H:%M", errors="coerce")
    la = la[la["address"].notna()].sort_values("t", kind="stable")
    g = la.groupby(["address", "requesttype"])
    prev_t, prev_closed = g["t"].shift(1), g["closed"].shift(1)
    repeat = prev_t.notna() & ((la["t"] - prev_t) > pd.Timedelta("60min"))
    after_closure = repeat & prev_closed.notna() & (la["t"] > prev_closed)
    n = len(la)
    print(f"Los Angeles ({la['t'].min()} to {la['t'].max()}): {int(repeat.sum())} of {n} "
          f"requests repeat an earlier one (same address and type, > 60 min apart) = "
          f"{repeat.mean():.4f}; {int(after_closure.sum())} of them after the earlier one was "
          f"closed = {after_closure.sum() / n:.4f} of all requests")


if __name__ == "__main__":
    main(*sys.argv[1:2])
