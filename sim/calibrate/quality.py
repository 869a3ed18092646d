"""The data-quality report of reading one case log (`DataQuality`): every oddity found while
reading is counted here and printed, never a crash. What is counted: see `sim/calibrate/read.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DataQuality:
    """Counts of everything odd found while reading one log."""

    source: str = ""
    rows_read: int = 0
    rows_used: int = 0
    bad_bytes: int = 0
    nul_bytes: int = 0
    ragged_rows: int = 0
    duplicate_ids: int = 0
    attached_complaints: int = 0
    bad_created: int = 0
    created_after_export: int = 0
    bad_timestamps: dict[str, int] = field(default_factory=dict)
    formats_used: dict[str, dict[str, int]] = field(default_factory=dict)
    open_censored: int = 0
    closed_without_time: int = 0
    close_time_on_open_status: int = 0
    negative_durations: int = 0
    instant_closures: int = 0
    unknown_categories: int = 0
    unlisted_categories: int = 0
    lumped_categories: int = 0
    lumped_cases: int = 0
    unknown_channels: int = 0
    missing_agency: int = 0
    placeholder_latlong: int = 0
    held_out: int = 0
    spreadsheet: str = ""
    dropped_examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def dropped_share(self) -> float:
        """Share of the rows read that were dropped for a bad or missing created time."""
        return self.bad_created / max(1, self.rows_read)

    def dropped_line(self) -> str:
        """Count, share and up to three examples of the rows dropped for their created time."""
        ex = "; ".join(self.dropped_examples)
        return (f"{self.bad_created:,} of {self.rows_read:,} rows ({self.dropped_share:.1%}) "
                f"dropped: created time missing or not in any of the mapping's formats"
                + (f" (e.g. {ex})" if ex else ""))

    @property
    def mixed_formats(self) -> bool:
        return any(len(v) > 1 for v in self.formats_used.values())

    def rows(self) -> list[tuple[str, int, str]]:
        """(item, count, what was done) for the report."""
        bad_ts = sum(self.bad_timestamps.values())
        fmts = "; ".join(f"{k}: " + ", ".join(f"{f} x{n}" for f, n in v.items())
                         for k, v in self.formats_used.items())
        return [
            ("rows read", self.rows_read, "data rows in the file"),
            ("rows used", self.rows_used, "cases after dropping/merging the rows below"),
            ("bad bytes", self.bad_bytes, "replaced by U+FFFD"),
            ("NUL bytes", self.nul_bytes, "removed"),
            ("ragged rows", self.ragged_rows, "wrong number of fields: skipped"),
            ("duplicated ids", self.duplicate_ids, "first row kept"),
            ("attached complaints", self.attached_complaints,
             "rows sharing a case id (repeat complaints): first row is the case"),
            ("bad created time", self.bad_created, "missing/unparseable: row dropped"),
            ("held out", self.held_out, "created outside the --until/--from window: not used"),
            ("created after export time", self.created_after_export, "row dropped"),
            ("bad other timestamps", bad_ts, "unparseable: treated as missing "
             + str(self.bad_timestamps)),
            ("mixed timestamp formats", int(self.mixed_formats), fmts or "-"),
            ("open (right-censored)", self.open_censored,
             "no close time: censored at the export time in every fit"),
            ("closed without close time", self.closed_without_time,
             "counted in arrivals, left out of time-to-close"),
            ("close time on an open status", self.close_time_on_open_status,
             "close time trusted"),
            ("negative durations", self.negative_durations,
             "closed before created/started: left out of time-to-close"),
            ("instant closures", self.instant_closures,
             "closed within the timestamp resolution: interval-censored [0, resolution]"),
            ("unknown (empty) categories", self.unknown_categories, "category `unknown`"),
            ("categories not in the mapping list", self.unlisted_categories,
             "code made from the value"),
            ("rare categories lumped", self.lumped_categories,
             f"{self.lumped_cases} cases moved to `<department>_other`"),
            ("unknown channels", self.unknown_channels, "mapped to the default channel"),
            ("missing agency", self.missing_agency, "department `unknown_agency`"),
            ("placeholder lat/long", self.placeholder_latlong, "not used as a location"),
        ]
