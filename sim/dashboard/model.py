"""The dashboard's model: `GovernanceModel` rebuilt from a base scenario plus the levers.

Mesa's SolaraViz resets a model by calling `model.__class__(**params)` with the values of the
controls, so the base scenario travels with the class (`bind(base)` makes a subclass that
carries it) and the levers arrive as keyword arguments named by `controls.Lever.key`.

`Tracker` adds what the datacollector does not keep but the page shows: open cases and
complaints per grid (the map), time to close of the cases closed in each interval, and police
hours on non-police matters per interval. It reads the model's public records after each step
(new complaints, new and still-open cases), so it costs O(new + open) per step and never
touches the model's hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..lifetime import release_all
from ..model import GovernanceModel
from ..scenario.loader import ScenarioError, apply_set, load_raw, validate_mapping
from ..scenario.schema import Scenario


@dataclass(eq=False)
class Base:
    """The scenario the dashboard starts from: its file, the `--set` overrides given on the
    command line, the merged raw mapping (overrides applied) and the validated scenario."""

    path: Path | None
    overrides: list[str]
    raw: dict
    scenario: Scenario
    save_dir: Path = field(default_factory=lambda: Path("dashboard-scenarios"))

    @property
    def label(self) -> str:
        return str(self.path) if self.path else self.scenario.name


ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIOS = ("scenarios/baohe_after.yaml", "scenarios/validation/mmc.yaml")


def default_scenario() -> Path:
    """`scenarios/baohe_after.yaml` when present (in the working folder or the checkout),
    else the M/M/c validation scenario."""
    for rel in DEFAULT_SCENARIOS:
        for where in (Path.cwd(), ROOT):
            p = where / rel
            if p.is_file():
                return p
    raise ScenarioError(["no scenario given and scenarios/baohe_after.yaml not found: give a "
                         "scenario file, e.g. cogov dashboard scenarios/baohe_after.yaml"])


def load_base(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
              save_dir: str | Path | None = None) -> Base:
    """Load the base scenario (raises `ScenarioError` listing every problem)."""
    try:
        path = Path(path).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ScenarioError([f"{path}: cannot follow the path ({exc}): point the symlink at a "
                             f"real scenario file"]) from None
    raw = load_raw(path)
    for expr in overrides:
        apply_set(raw, expr)
    scenario = validate_mapping(raw, str(path))
    base = Base(path, list(overrides), raw, scenario)
    if save_dir is not None:
        base.save_dir = Path(save_dir)
    return base


def parse_seed(value, default: int) -> int:
    """A seed from a control: an int, a whole-number string, or blank for the default."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return int(default)
    if isinstance(value, bool):
        raise ScenarioError([f"seed: expected a whole number, got {value!r}"])
    if isinstance(value, (int, np.integer)):
        v = int(value)
    else:
        try:
            v = int(str(value).strip())
        except ValueError:
            raise ScenarioError([f"seed: expected a whole number, got {value!r}"]) from None
    if v < 0:
        raise ScenarioError([f"seed: must be a whole number >= 0 (random seeds cannot be "
                             f"negative), got {v}"])
    return v


class Tracker:
    """Per-grid and per-interval figures for the page, updated after each step."""

    def __init__(self, model: GovernanceModel):
        self.model = model
        n = len(model.layout.grids)
        self.open_by_grid = np.zeros(n, dtype=np.int64)
        self.complaints_by_grid = np.zeros(n, dtype=np.int64)
        self.repeats_by_grid = np.zeros(n, dtype=np.int64)
        self._grid_of_problem = None
        self._n_complaints = 0
        self._n_cases = 0
        self._open: list[int] = []      # ids of cases open after the last update
        self._police_np = 0.0
        self.day: list[float] = []
        self.ttc_mean: list[float] = []
        self.ttc_median: list[float] = []
        self.ttc_p90: list[float] = []
        self.closed_n: list[int] = []
        self.police_nonpolice: list[float] = []

    def update(self) -> None:
        m = self.model
        # complaints since the last update, by grid
        n_c = len(m.c_t)
        if n_c > self._n_complaints:
            pids = np.asarray(m.c_pid[self._n_complaints:n_c], dtype=np.int64)
            grids = np.asarray(m.p_grid, dtype=np.int64)[pids] if pids.size else pids
            rep = np.asarray(m.c_repeat[self._n_complaints:n_c], dtype=bool)
            n_g = self.complaints_by_grid.size
            self.complaints_by_grid += np.bincount(grids, minlength=n_g)
            self.repeats_by_grid += np.bincount(grids[rep], minlength=n_g)
            self._n_complaints = n_c
        # cases: which of the open and the new ones closed in this interval
        cases = m.cases
        candidates = self._open + list(range(self._n_cases, len(cases)))
        self._n_cases = len(cases)
        still_open, ttc = [], []
        for cid in candidates:
            c = cases[cid]
            if c.closed >= 0:
                ttc.append(c.closed - c.opened)
            else:
                still_open.append(cid)
        self._open = still_open
        self.open_by_grid = np.bincount(
            np.fromiter((cases[i].grid for i in still_open), dtype=np.int64,
                        count=len(still_open)), minlength=self.open_by_grid.size)
        self.day.append(m.now / 24.0)
        if ttc:
            a = np.asarray(ttc)
            self.ttc_mean.append(float(a.mean()))
            self.ttc_median.append(float(np.median(a)))
            self.ttc_p90.append(float(np.quantile(a, 0.9)))
        else:
            self.ttc_mean.append(np.nan)
            self.ttc_median.append(np.nan)
            self.ttc_p90.append(np.nan)
        self.closed_n.append(len(ttc))
        now_np = float(getattr(m, "police_nonpolice_hours", 0.0))
        self.police_nonpolice.append(now_np - self._police_np)
        self._police_np = now_np

    @property
    def open_cases(self) -> int:
        return len(self._open)

    @property
    def repeat_rate_by_grid(self) -> np.ndarray:
        """Share of each grid's complaints that were repeats (NaN where none yet)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.complaints_by_grid > 0,
                            self.repeats_by_grid / np.maximum(self.complaints_by_grid, 1), np.nan)


class DashboardModel(GovernanceModel):
    """A `GovernanceModel` built from `base` (a class attribute, see `bind`) and lever values.

    Keyword arguments are lever keys (`controls.Lever.key`) and `seed`; anything not given keeps
    the base scenario's value. `lever_values` holds the full set used (what "save" writes).
    """

    base: Base | None = None

    def __init__(self, seed=None, **kwargs):  # Mesa's SolaraViz wants the name `kwargs`
        from .controls import build_levers, scenario_mapping

        base = type(self).base
        if base is None:
            raise TypeError("DashboardModel needs a base scenario: use bind(base)")
        all_levers = build_levers(base)
        levers = kwargs
        unknown = sorted(set(levers) - {lv.key for lv in all_levers})
        if unknown:
            raise ScenarioError([f"dashboard: unknown control {k!r}" for k in unknown])
        values = {lv.key: levers.get(lv.key, lv.value) for lv in all_levers}
        seed = parse_seed(seed, base.scenario.run.seed)
        raw = scenario_mapping(base, values, all_levers)
        scenario = validate_mapping(raw, f"{base.label} (dashboard settings)")
        release_all(DashboardModel)     # a reset: the models it replaces are freed (lifetime)
        super().__init__(scenario, seed=seed)
        self.lever_values = values
        self.raw_scenario = raw
        self.tracker = Tracker(self)

    def step(self) -> None:
        super().step()
        self.tracker.update()


def bind(base: Base) -> type[DashboardModel]:
    """A `DashboardModel` subclass that carries `base` (so SolaraViz can re-create it)."""
    return type("DashboardModel", (DashboardModel,), {"base": base,
                                                      "__module__": __name__})
