"""Timestamps of a case log: parsing with the mapping's formats (`parse_times`, each format
used and each unparseable value counted), dates given on the command line (`naive_time`) and
durations from created (or started) to closed (`durations`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import UserError
from .quality import DataQuality

HOUR = np.timedelta64(1, "h")


def parse_times(values: pd.Series, formats: list[str], dq: DataQuality, what: str) -> pd.Series:
    """Parse strings with each format in turn; count formats used and unparseable values."""
    s = values.fillna("").astype(str).str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    todo = s != ""
    used: dict[str, int] = {}
    for fmt in formats:
        if not todo.any():
            break
        sub = s[todo]
        if fmt.upper() == "ISO8601":
            parsed = pd.to_datetime(sub, format="ISO8601", errors="coerce", utc=True)
            parsed = parsed.dt.tz_localize(None)
        elif "%z" in fmt or "%Z" in fmt:   # offsets: to UTC, as ISO 8601 with an offset
            parsed = pd.to_datetime(sub, format=fmt, errors="coerce", utc=True)
            parsed = parsed.dt.tz_localize(None)
        else:
            parsed = pd.to_datetime(sub, format=fmt, errors="coerce")
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        ok = parsed.notna()
        if ok.any():
            out.loc[ok[ok].index] = parsed[ok].astype("datetime64[ns]")
            used[fmt] = int(ok.sum())
            todo.loc[ok[ok].index] = False
    if used:
        dq.formats_used[what] = used
    bad = int(todo.sum())
    if bad:
        dq.bad_timestamps[what] = bad
    return out



def naive_time(value, where: str) -> pd.Timestamp:
    """A date or date-time as the log's clock has it: a value with a UTC offset is converted
    to UTC without the offset (as the log's own ISO 8601 times with offsets are); a value that
    is not a date is a `UserError` naming `where`."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        ts = None
    if ts is None or ts is pd.NaT or pd.isna(ts):
        raise UserError([f"{where}: {str(value)[:60]!r} is not a date: give YYYY-MM-DD or "
                         f"YYYY-MM-DDTHH:MM (an offset such as +08:00 may follow)"])
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts
