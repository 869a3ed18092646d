"""Read a case log robustly: every oddity is counted in a `DataQuality` report, never a crash.

What is counted and what happens to it:
- bad bytes (not valid in the encoding): replaced, counted; NUL bytes: removed, counted;
- ragged rows (wrong number of fields): skipped, counted;
- duplicated ids: the first row is kept;
- rows sharing a `case_id` (cogov: repeat complaints on one case): the first row is the case;
- timestamps: each format of the mapping is tried in order; unparseable values are missing;
- a missing or bad created time: the row is dropped (nothing can be timed), counted;
- no close time: the case is open, right-censored at the export time (kept, counted);
- closed status without a close time: kept for arrivals, left out of time-to-close;
- negative durations (closed before created): left out of time-to-close, counted;
- empty category: category `unknown`; categories not in the mapping's list: counted.

Only problems a user must fix raise `UserError`: a file that is missing, empty, binary or not
a delimited table, and a mapping that names a column the file does not have.

Modules: this one turns a table into cases (`read_log`, `CaseLog`); the file formats are in
`tables.py`, the timestamps in `times.py`, the counts in `quality.py` (`DataQuality`); their
names stay importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from .mapping import Mapping, slug
from .quality import DataQuality
from .tables import (  # noqa: F401  (re-exported: the readers' names stay importable here)
    MAGIC,
    check_columns,
    is_parquet,
    read_parquet_table,
    read_spreadsheet,
    read_table,
    sniff,
)
from .times import HOUR, naive_time, parse_times

#: kinds of record from the status column
KINDS = ("closed", "open", "duplicate", "transferred", "cancelled")


@dataclass
class CaseLog:
    """A log read through a mapping: one row per case, in cogov's terms.

    `cases` columns: id, created, closed, started, due (datetime64), category, category_raw,
    department, channel, channel_raw, status_raw, kind (closed/open/duplicate/transferred/
    cancelled), location, street, complaints (rows merged into the case), ttc_hours (created to
    closed, or to the export time when open), ttc_event (True = closed, False = censored, NaN =
    unusable), handling_hours / handling_event (started to closed; NaN when not started).
    """

    cases: pd.DataFrame
    quality: DataQuality
    mapping: Mapping
    extracted_at: pd.Timestamp
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    source: str = ""

    @property
    def span_hours(self) -> float:
        """Observation window for arrivals, hours (at least one hour)."""
        return max(1.0, (self.window_end - self.window_start) / pd.Timedelta(hours=1))


# ----------------------------------------------------------------------------- codes
def _status_kind(raw: pd.Series, mapping: Mapping) -> pd.Series:
    st = mapping.status
    low = raw.str.strip().str.lower()
    kind = pd.Series("other", index=raw.index, dtype=object)
    for name, values in (("closed", st.closed), ("duplicate", st.duplicate),
                         ("transferred", st.transferred), ("cancelled", st.cancelled)):
        vals = {v.strip().lower() for v in values}
        kind[low.isin(vals)] = name
    return kind


def _codes(raw: pd.Series, table: dict[str, str], identity: bool, default: str | None,
           empty: str) -> tuple[pd.Series, int]:
    """Map raw values to codes; returns (codes, number of non-empty values not in `table`)."""
    raw = raw.fillna("").astype(str).str.strip()
    uniq = raw.unique()
    lut = {}
    unlisted = set()
    for v in uniq:
        if v == "":
            lut[v] = empty
        elif identity:
            lut[v] = v
        elif v in table:
            lut[v] = table[v]
        else:
            if table:
                unlisted.add(v)
            lut[v] = default if default else slug(v)
    codes = raw.map(lut)
    return codes, int(raw.isin(unlisted).sum())


def _location(df: pd.DataFrame, mapping: Mapping, dq: DataQuality) -> pd.Series:
    loc = mapping.columns.location
    key = pd.Series("", index=df.index, dtype=object)
    for col in (loc.grid, loc.address):
        if col:
            v = df[col].fillna("").astype(str).str.strip().str.upper()
            key = key.where(key != "", v)
    if loc.lat and loc.long:
        lat = pd.to_numeric(df[loc.lat], errors="coerce")
        lon = pd.to_numeric(df[loc.long], errors="coerce")
        bad = pd.Series(False, index=df.index)
        for plat, plon in loc.placeholder_latlong:
            bad |= (lat.round(6) == round(plat, 6)) & (lon.round(6) == round(plon, 6))
        dq.placeholder_latlong = int(bad.sum())
        d = loc.latlong_decimals
        ll = lat.round(d).astype(str) + "," + lon.round(d).astype(str)
        ll = ll.where(lat.notna() & lon.notna() & ~bad, "")
        key = key.where(key != "", ll)
    return key


# ----------------------------------------------------------------------------- main entry
#: above this share of rows dropped for their created time, reading stops (exit 2) unless
#: the user passes --allow-drop
MAX_DROP_SHARE = 0.05


def read_log(source: str | Path | pd.DataFrame, mapping: Mapping, mapping_path: str = "<mapping>",
             extracted_at: pd.Timestamp | None = None, lump: bool = True,
             allow_drop: bool = False, until=None, since=None,
             groups: dict[str, str] | None = None) -> CaseLog:
    """Read a log (a CSV/.xlsx/.xls path or a DataFrame of strings) through a mapping into a
    `CaseLog`.

    `allow_drop`: go on when over `MAX_DROP_SHARE` of the rows have no usable created time
    (else `UserError`). `until`: keep only cases created before it, and know only what was
    known then (close times after it are unknown: the case is open, censored at `until`).
    `since`: keep only cases created at or after it (the held-out rows of an out-of-sample
    check). `groups`: the category grouping of a fit (code -> the fit's code, as recorded in
    the calibrated scenario's header): used instead of lumping this log's rare categories anew
    (`group_as_fit`).
    """
    until = naive_time(until, "--until") if until is not None else None
    since = naive_time(since, "--from") if since is not None else None
    dq = DataQuality()
    if isinstance(source, pd.DataFrame):
        name = "<table>"
        df = source.astype(object).where(source.notna(), "").astype(str).reset_index(drop=True)
    else:
        name = str(source)
        df = read_table(source, mapping, dq)
    dq.source = name
    dq.rows_read = len(df) + dq.ragged_rows
    check_columns(df, mapping, name, mapping_path)
    cols = mapping.columns
    numeric = df.attrs.get("numeric_columns", {})
    for what in ("created", "closed", "started", "updated", "due"):
        col = getattr(cols, what, None)
        if col and col in numeric:
            raise UserError([f"{name}: column {col!r} (columns.{what} in {mapping_path}) holds "
                             f"numbers ({numeric[col]}) in the Parquet file, not date-times: "
                             f"store it as a timestamp or ISO 8601 text (cogov does not guess "
                             f"what a number such as epoch seconds means)"])
    fmts = list(mapping.timestamps.formats)
    if dq.spreadsheet and not any(f.upper() == "ISO8601" for f in fmts):
        fmts.append("ISO8601")   # date cells of a workbook arrive as ISO 8601 text
    line = pd.Series(np.arange(2, len(df) + 2), index=df.index)   # header is line 1

    # ids: duplicated ids, then rows attached to one case
    if cols.id:
        ids = df[cols.id].str.strip()
        dup = ids.duplicated() & (ids != "")
        dq.duplicate_ids = int(dup.sum())
        df, line = df[~dup].reset_index(drop=True), line[~dup].reset_index(drop=True)
    created = parse_times(df[cols.created], fmts, dq, "created")
    bad = created.isna()
    dq.bad_created = int(bad.sum())
    if dq.bad_created:
        raw_bad = df.loc[bad, cols.created].head(3)
        dq.dropped_examples = [f"line {line[i]}: {v.strip()[:40]!r}" if v.strip() else
                               f"line {line[i]}: empty" for i, v in raw_bad.items()]
    if bool(bad.all()):
        raise UserError([f"{name}: no row has a usable created time (column "
                         f"{cols.created!r}; e.g. {'; '.join(dq.dropped_examples)}): add "
                         f"their format to `timestamps.formats` in {mapping_path} (strptime "
                         f"codes, e.g. \"%m/%d/%Y %I:%M:%S %p\"; tried: {', '.join(fmts)})"])
    if dq.dropped_share > MAX_DROP_SHARE and not allow_drop:
        raise UserError([f"{name}: {dq.dropped_line()}. Over {MAX_DROP_SHARE:.0%} of the log "
                         f"would be lost and every rate would be that much too low: add the "
                         f"missing format to `timestamps.formats` in {mapping_path} (tried: "
                         f"{', '.join(fmts)}), or pass --allow-drop to go on without these "
                         f"rows"])
    if dq.bad_created:
        dq.notes.append(dq.dropped_line())
    df, created = df[~bad].reset_index(drop=True), created[~bad].reset_index(drop=True)
    span = (created.min(), created.max())
    if since is not None:
        early = created < pd.Timestamp(since)
        dq.held_out += int(early.sum())
        df, created = df[~early].reset_index(drop=True), created[~early].reset_index(drop=True)
    if until is not None:
        late_ = created >= pd.Timestamp(until)
        dq.held_out += int(late_.sum())
        df, created = df[~late_].reset_index(drop=True), created[~late_].reset_index(drop=True)
    if created.empty:
        raise UserError([f"{name}: no case created "
                         + (f"from {since} " if since is not None else "")
                         + (f"before {until} " if until is not None else "")
                         + f"(the log runs from {span[0]:%Y-%m-%d %H:%M} to "
                           f"{span[1]:%Y-%m-%d %H:%M}): choose a date inside the log"])
    complaints = pd.Series(1, index=df.index)
    if cols.case_id:
        key = df[cols.case_id].str.strip()
        key = key.where(key != "", "row" + df.index.astype(str))
        order = created.sort_values(kind="stable").index
        df, created, key = (df.loc[order].reset_index(drop=True),
                            created.loc[order].reset_index(drop=True),
                            key.loc[order].reset_index(drop=True))
        sizes = key.map(key.value_counts())
        first = ~key.duplicated()
        dq.attached_complaints = int((~first).sum())
        complaints = sizes[first].reset_index(drop=True)
        df, created = df[first].reset_index(drop=True), created[first].reset_index(drop=True)

    def times(col, what):
        if not col:
            return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
        return parse_times(df[col], fmts, dq, what)

    closed, started = times(cols.closed, "closed"), times(cols.started, "started")
    updated, due = times(cols.updated, "updated"), times(cols.due, "due")

    # export time: explicit, given, or the latest timestamp seen
    if extracted_at is None and mapping.timestamps.extracted_at:
        extracted_at = naive_time(mapping.timestamps.extracted_at,
                                  f"{mapping_path}: timestamps.extracted_at")
    if extracted_at is None:
        extracted_at = max(t.max() for t in (created, closed, started, updated) if t.notna().any())
    extracted_at = naive_time(extracted_at, "extracted_at")
    unknown_then = pd.Series(False, index=df.index)
    if until is not None and pd.Timestamp(until) < extracted_at:
        # fit as of `until`: later closures and starts were not known yet
        extracted_at = pd.Timestamp(until)
        unknown_then = closed > extracted_at
        closed = closed.where(~unknown_then)
        started = started.where(~(started > extracted_at))
    late = created > extracted_at
    dq.created_after_export = int(late.sum())
    keep = ~late
    df, created, closed, started, due, complaints, unknown_then = (
        x[keep].reset_index(drop=True)
        for x in (df, created, closed, started, due, complaints, unknown_then))

    status_raw = df[cols.status].str.strip() if cols.status else pd.Series("", index=df.index)
    kind = _status_kind(status_raw, mapping) if cols.status else pd.Series("other",
                                                                             index=df.index)
    has_close = closed.notna()
    dq.close_time_on_open_status = int((has_close & (kind == "other") & bool(cols.status)).sum())
    kind = kind.where(~((kind == "other") & has_close), "closed")
    kind = kind.where(kind != "other", "open")
    kind = kind.where(~(unknown_then.to_numpy() & (kind == "closed").to_numpy()), "open")
    dq.closed_without_time = int(((kind == "closed") & ~has_close).sum())

    cat_raw = df[cols.category].str.strip()
    cat, dq.unlisted_categories = _codes(cat_raw, mapping.categories.codes,
                                         mapping.categories.identity, None, "unknown")
    dq.unknown_categories = int((cat == "unknown").sum())
    if cols.agency:
        dept, _ = _codes(df[cols.agency], mapping.departments.codes,
                         mapping.departments.identity, None, "unknown_agency")
        dq.missing_agency = int((df[cols.agency].str.strip() == "").sum())
        dept_raw = df[cols.agency].str.strip()
    else:
        dept_raw = pd.Series(mapping.name, index=df.index, dtype=object)
        dept = pd.Series(slug(mapping.name), index=df.index, dtype=object)
    if cols.channel:
        ch_raw = df[cols.channel].str.strip()
        ch, dq.unknown_channels = _codes(ch_raw, mapping.channels.map, mapping.channels.identity,
                                         mapping.channels.default, mapping.channels.default
                                         or "unknown")
    elif mapping.channels.default:   # no channel column: every case came by the default
        ch_raw = pd.Series("", index=df.index)
        ch = pd.Series(mapping.channels.default, index=df.index, dtype=object)
    else:
        ch_raw = pd.Series("", index=df.index)
        ch = pd.Series(None, index=df.index, dtype=object)

    res = mapping.timestamps.resolution_hours
    ttc, ttc_ev, neg1, inst1 = _durations(created, closed, kind, extracted_at, res)
    if cols.started:
        hand, hand_ev, neg2, _ = _durations(started, closed, kind, extracted_at, res)
        hand[started.isna()] = np.nan
        hand_ev[started.isna()] = np.nan
    else:
        hand, hand_ev, neg2 = ttc.copy(), ttc_ev.copy(), pd.Series(False, index=df.index)
    dq.negative_durations = int((neg1 | neg2).sum())
    dq.instant_closures = int(inst1.sum())
    dq.open_censored = int((ttc_ev == 0).sum())

    cases = pd.DataFrame({
        "id": df[cols.id].str.strip() if cols.id else df.index.astype(str),
        "created": created, "closed": closed, "started": started, "due": due,
        "category": cat, "category_raw": cat_raw, "department": dept,
        "department_raw": dept_raw,
        "channel": ch, "channel_raw": ch_raw, "status_raw": status_raw, "kind": kind,
        "location": _location(df, mapping, dq),
        "street": (df[cols.location.street].str.strip() if cols.location.street
                   else pd.Series("", index=df.index)),
        "complaints": complaints.to_numpy(),
        "ttc_hours": ttc, "ttc_event": ttc_ev, "handling_hours": hand, "handling_event": hand_ev,
    })
    cases["category_unlumped"] = cases["category"]
    if groups is not None:
        cases = group_as_fit(cases, groups, dq)
    elif lump and not mapping.categories.identity:
        cases = lump_rare(cases, mapping.categories.min_cases, dq)
    _clock_spike(cases, dq)
    dq.rows_used = len(cases)
    return CaseLog(cases=cases, quality=dq, mapping=mapping, extracted_at=extracted_at,
                   window_start=created.min(), window_end=created.max(), source=name)


def _durations(start: pd.Series, closed: pd.Series, kind: pd.Series, extracted_at, res: float):
    """(hours, event, negative, instant): event 1 = closed, 0 = censored, NaN = unusable.

    Duplicates, transfers and cancellations are not closures of the problem: unusable.
    """
    hours = (closed - start) / HOUR
    event = pd.Series(np.where(closed.notna(), 1.0, np.nan), index=start.index)
    open_ = (kind == "open") & closed.isna()
    hours = hours.where(~open_, (extracted_at - start) / HOUR)
    event[open_] = 0.0
    neg = hours < 0
    unusable = neg | kind.isin(["duplicate", "transferred", "cancelled"]) | start.isna()
    event[unusable] = np.nan
    hours = hours.where(event.notna())
    inst = (event == 1) & (hours <= res)
    return hours.astype(float), event, neg & ~kind.isin(["duplicate", "transferred",
                                                          "cancelled"]), inst


def lump_rare(cases: pd.DataFrame, min_cases: int, dq: DataQuality) -> pd.DataFrame:
    """Categories with fewer than `min_cases` cases become `<department>_other`."""
    counts = cases["category"].value_counts()
    rare = counts[counts < min_cases].index
    if len(rare) == 0:
        return cases
    mask = cases["category"].isin(rare)
    cases = cases.copy()
    owner = cases.groupby("category")["department"].agg(lambda s: s.mode().iat[0])
    cases.loc[mask, "category"] = cases.loc[mask, "category"].map(owner) + "_other"
    dq.lumped_categories = int(len(rare))
    dq.lumped_cases = int(mask.sum())
    return cases


def group_as_fit(cases: pd.DataFrame, groups: dict[str, str], dq: DataQuality
                 ) -> pd.DataFrame:
    """Group categories the way the fit did (`validate-against` on a calibrated scenario): a
    code the fit saw takes the fit's code (its own, or the `<department>_other` it was lumped
    into); a code the fit never saw (0 cases there, so rare) goes to `<department>_other` when
    the fit has that group, else keeps its own code (and has no simulated counterpart)."""
    fit_codes = set(groups.values())
    cases = cases.copy()
    cat = cases["category"]
    known = cat.isin(list(groups))
    mapped = cat.map(groups)
    other = cases["department"].astype(str) + "_other"
    new = mapped.where(known, other.where(other.isin(list(fit_codes)), cat))
    moved = new != cat
    cases["category"] = new
    dq.lumped_categories = int(cat[moved].nunique())
    dq.lumped_cases = int(moved.sum())
    return cases


def _clock_spike(cases: pd.DataFrame, dq: DataQuality) -> None:
    """Flag exact times of day holding a suspicious share of created times (date-only entries,
    e.g. midnight UTC shown in local time); they are left out of hour-of-day weights."""
    cases["date_only"] = False
    if len(cases) < 100:
        return
    tod = cases["created"].dt.strftime("%H:%M:%S")
    share = tod.value_counts(normalize=True)
    spikes = [t for t, s in share.items() if s > 0.02 and t.endswith(":00:00")]
    if spikes:
        cases["date_only"] = tod.isin(spikes)
        total = float(share[spikes].sum())
        dq.notes.append(f"{total:.1%} of created times are exactly {', '.join(sorted(spikes))}: "
                        f"probably date-only entries; left out of the hour-of-day weights "
                        f"(still counted in rates)")
