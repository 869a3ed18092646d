"""The mapping file: how the columns and values of one case-log export mean cogov's fields.

A mapping is YAML (see `mappings/*.yaml` and docs/calibration.md). Unknown keys are errors, so
a typo in a mapping is reported, not silently ignored. Every column name is checked against the
log's header when the log is read (`read.read_log`).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import UserError
from ..yamlsafe import read_file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Location(_Strict):
    """Columns that locate a case. The repeat key is the first of grid, address, lat/long given."""

    address: str | None = Field(None, description="street address column")
    grid: str | None = Field(None, description="grid (网格) or smallest area column")
    street: str | None = Field(None, description="street (街道) / neighbourhood column (tables)")
    lat: str | None = Field(None, description="latitude column (degrees)")
    long: str | None = Field(None, description="longitude column (degrees)")
    latlong_decimals: int = Field(4, ge=0, le=8,
                                  description="lat/long are rounded to this many decimals to "
                                              "form a location key (4 = about 11 m)")
    placeholder_latlong: list[tuple[float, float]] = Field(
        default_factory=list, description="lat/long pairs meaning 'not geocoded' (ignored)")


class Columns(_Strict):
    """Which column holds each field. Only `created` and `category` are required."""

    id: str | None = Field(None, description="unique record id (duplicates are counted, the "
                                             "first row kept)")
    case_id: str | None = Field(None, description="case id: rows sharing it are complaints "
                                                  "about one case (first row = the case)")
    created: str = Field(description="time the complaint was received")
    closed: str | None = Field(None, description="time the case was closed (empty = open)")
    started: str | None = Field(None, description="time handling started (then handling time = "
                                                  "closed - started)")
    updated: str | None = Field(None, description="last update time (only used to find the "
                                                  "export time)")
    due: str | None = Field(None, description="due date / deadline")
    category: str = Field(description="request type / category")
    agency: str | None = Field(None, description="department / agency responsible")
    channel: str | None = Field(None, description="how the complaint arrived")
    status: str | None = Field(None, description="status text")
    location: Location = Field(default_factory=Location, description="location columns")

    def named(self) -> dict[str, str]:
        """Every column the mapping names, as {field path: column}."""
        out = {}
        for key in ("id", "case_id", "created", "closed", "started", "updated", "due",
                    "category", "agency", "channel", "status"):
            col = getattr(self, key)
            if col:
                out[f"columns.{key}"] = col
        for key in ("address", "grid", "street", "lat", "long"):
            col = getattr(self.location, key)
            if col:
                out[f"columns.location.{key}"] = col
        return out


class Timestamps(_Strict):
    """How to parse times. Formats are tried in order, value by value."""

    formats: list[str] = Field(
        default_factory=lambda: ["ISO8601"],
        description="strptime formats tried in order; `ISO8601` means any ISO 8601 form")

    @field_validator("formats")
    @classmethod
    def _formats(cls, v):
        import datetime as _dt

        bad = []
        for fmt in v:
            if fmt.upper() == "ISO8601":
                continue
            try:
                _dt.datetime.strptime("", fmt)
            except ValueError as exc:
                if "directive" in str(exc) or "stray %" in str(exc):
                    bad.append(f"{fmt!r} ({exc})")
        if bad:
            raise ValueError(f"not a strptime format: {', '.join(bad)}: use directives such "
                             f"as %Y-%m-%d %H:%M:%S, or ISO8601")
        return v

    resolution_hours: float = Field(
        1.0 / 60.0, gt=0, description="durations at or below this are 'instant': treated as "
                                      "interval-censored in [0, resolution] when fitting")
    extracted_at: str | None = Field(
        None, description="when the log was exported (open cases are censored here); "
                          "default: the latest timestamp in the log")


class Statuses(_Strict):
    """Status values (exact text, case-insensitive). Anything else with no close time is open."""

    closed: list[str] = Field(default_factory=lambda: ["closed"], description="closed values")
    duplicate: list[str] = Field(default_factory=list,
                                 description="marked duplicate of another request")
    transferred: list[str] = Field(default_factory=list,
                                   description="transferred / referred to another body")
    cancelled: list[str] = Field(default_factory=list, description="cancelled / withdrawn")


class Channels(_Strict):
    """Raw channel values -> cogov channel codes (keys of the scenario's `channels`)."""

    map: dict[str, str] = Field(default_factory=dict, description="raw value -> channel code")
    default: str | None = Field(None, description="code for values not in `map` (None: the raw "
                                                  "value, made a code)")
    identity: bool = Field(False, description="values already are cogov channel codes")
    kinds: dict[str, str] = Field(
        default_factory=dict, description="kind (hotline, police, patrol, app) of channel codes "
                                          "the base scenario lacks (else guessed from the code)")


class Categories(_Strict):
    """Raw category values -> catalogue codes."""

    codes: dict[str, str] = Field(default_factory=dict,
                                  description="raw value -> catalogue code (else a code is "
                                              "made from the value)")
    identity: bool = Field(False, description="values already are catalogue codes")
    min_cases: int = Field(20, ge=1, description="categories with fewer cases are lumped into "
                                                 "`<department>_other`")
    family: str = Field("urban_management", description="family of new catalogue entries")
    families: dict[str, str] = Field(default_factory=dict,
                                     description="family by catalogue code or raw-value prefix")


class Departments(_Strict):
    """Raw agency values -> department codes, and how calibrated departments are sized."""

    codes: dict[str, str] = Field(default_factory=dict, description="raw agency -> code")
    identity: bool = Field(False, description="values already are department codes")
    sizing: str = Field(
        "auto", description="`no_queue`: 24/7 district pools with staff from the implied load "
                            "(time to close is mostly waiting); `keep`: keep the base "
                            "scenario's departments; `auto`: keep when `started` is mapped")

    @field_validator("sizing")
    @classmethod
    def _sizing(cls, v):
        if v not in ("auto", "no_queue", "keep"):
            raise ValueError("sizing must be one of auto, no_queue, keep")
        return v


class Mapping(_Strict):
    """A mapping file."""

    name: str = Field(description="short name of the log (used in scenario and report names)")
    description: str = Field("", description="what the log is and where it comes from")
    delimiter: str = Field(",", min_length=1, max_length=1, description="field separator")
    encoding: str = Field("utf-8", description="text encoding (bad bytes are replaced, counted)")
    columns: Columns
    timestamps: Timestamps = Field(default_factory=Timestamps)
    status: Statuses = Field(default_factory=Statuses)
    channels: Channels = Field(default_factory=Channels)
    categories: Categories = Field(default_factory=Categories)
    departments: Departments = Field(default_factory=Departments)
    repeat_window_days: float = Field(
        7.0, gt=0, le=3650, description="a case repeats when the same location and category had "
                                        "a case within this many days before (at most 10 years)")
    sampling_fraction: float = Field(1.0, gt=0, le=1, description="share of all requests the "
                                                                  "log holds (rates are divided "
                                                                  "by it)")
    is_cogov_log: bool = Field(False, description="the log is cogov's own cases.csv")

    @property
    def sizing(self) -> str:
        """Resolved department sizing: `keep` or `no_queue`."""
        if self.departments.sizing != "auto":
            return self.departments.sizing
        return "keep" if self.columns.started else "no_queue"


def slug(text: str) -> str:
    """A lower-case code made from free text: `SW-Dirty Alley` -> `sw_dirty_alley`."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(text).strip().lower()).strip("_")
    if not s:
        return "unknown"
    if s[0].isdigit():
        s = "c_" + s
    return s


def _format_errors(path: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            msg = "unknown key (a typo? see docs/calibration.md for the mapping keys)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{path}: {loc}: {msg}")
    return out


def mapping_from_dict(data: dict, path: str = "<mapping>") -> Mapping:
    """Validate a mapping dict, or raise `UserError` with one message per problem."""
    if not isinstance(data, dict):
        raise UserError([f"{path}: a mapping file must be a YAML mapping of sections, "
                         f"got {type(data).__name__}"])
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        raise UserError(_format_errors(path, exc)) from None


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping YAML file."""
    path = Path(path)
    if str(path) in ("", "."):
        raise UserError(["--mapping: empty path: give a mapping YAML file (see mappings/)"])
    try:
        missing = not path.exists()
    except OSError:
        missing = False  # a symlink loop: read_file says so
    if missing:
        raise UserError([f"{path}: mapping file not found: check the --mapping path "
                         f"(shipped mappings are in mappings/)"])
    data = read_file(path, "mapping file", "--mapping")
    return mapping_from_dict(data, str(path))


#: the identity mapping of cogov's own `cases.csv` (mappings/cogov_caselog.yaml is this, as YAML;
#: a test keeps them equal)
COGOV_CASELOG = {
    "name": "cogov_caselog",
    "description": "cogov case log (one row per complaint; rows sharing case_id are one case)",
    "is_cogov_log": True,
    "columns": {
        "id": "service_request_id", "case_id": "case_id", "created": "requested_datetime",
        "closed": "closed_at", "started": "started_at", "updated": "updated_datetime",
        "due": "expected_datetime", "category": "service_code", "agency": "agency_responsible",
        "channel": "channel", "status": "status",
        "location": {"grid": "grid", "street": "street"},
    },
    "timestamps": {"formats": ["%Y-%m-%dT%H:%M:%S", "ISO8601"],
                   "resolution_hours": 0.000277778},
    "status": {"closed": ["closed"]},
    "channels": {"identity": True},
    "categories": {"identity": True},
    "departments": {"identity": True, "sizing": "keep"},
    "repeat_window_days": 7,
}


def cogov_mapping() -> Mapping:
    """The identity mapping for cogov's own case log."""
    return mapping_from_dict(COGOV_CASELOG, "<cogov_caselog>")
