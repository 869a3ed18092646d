"""The dashboard page: Mesa's SolaraViz around a `DashboardModel`.

Served by `cogov dashboard [SCENARIO]` (`solara run sim.dashboard.app` under the hood). The
scenario, its `--set` overrides and the save folder reach this module through environment
variables, because solara imports the page in its own way:

- `COGOV_DASHBOARD_SCENARIO`: the scenario file (default `scenarios/baohe_after.yaml` when it
  exists, else the M/M/c validation scenario);
- `COGOV_DASHBOARD_SET`: a JSON list of `PATH=VALUE` overrides;
- `COGOV_DASHBOARD_SAVE_DIR`: where "save as scenario" writes (default `dashboard-scenarios/`).

Each browser session gets its own model (made in `Page` with `use_memo`).
"""

from __future__ import annotations

import functools
import json
import os

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from ..scenario.loader import ScenarioError
from .components import components, display_name
from .controls import model_params
from .model import Base, bind, default_scenario, load_base
from .save import default_name, save_scenario

ENV_SCENARIO = "COGOV_DASHBOARD_SCENARIO"
ENV_SET = "COGOV_DASHBOARD_SET"
ENV_SAVE_DIR = "COGOV_DASHBOARD_SAVE_DIR"


@functools.lru_cache(maxsize=1)
def base_from_env() -> Base:
    path = os.environ.get(ENV_SCENARIO) or default_scenario()
    overrides = json.loads(os.environ.get(ENV_SET) or "[]")
    return load_base(path, overrides, os.environ.get(ENV_SAVE_DIR) or None)


@functools.lru_cache(maxsize=4)
def model_class(base: Base):
    return bind(base)


def page_css(base: Base) -> str:
    """Page styles, with the CJK glyphs of the scenario's names embedded (so the browser shows
    them without a CJK font installed), when the briefing's font helper is available."""
    s = base.scenario
    text = " ".join([s.district.name_zh, *(d.name_zh for d in s.departments.values()),
                     *(c.name_zh for c in s.campaigns), *_street_names_zh(base)])
    face = ""
    try:
        from ..report.fonts import font_face_css

        face = font_face_css(text)
    except Exception:  # noqa: BLE001 - no font, no embedding: the browser's fonts decide
        face = ""
    fam = "Roboto, CogovCJK, sans-serif" if face else "Roboto, sans-serif"
    return face + f"""
.v-application, .v-application .v-card__title, .v-application .v-label,
.v-application .v-select__selection, .v-application .v-list-item__title,
.v-application .v-toolbar__title, .v-application .v-btn {{ font-family: {fam} !important; }}
.cogov-map-image img, .cogov-chart-image img, .cogov-map-image, .cogov-chart-image {{
  max-width: 100%; height: auto; }}
.cogov-status {{ font-size: 0.85rem; color: #444; }}
"""


def _street_names_zh(base: Base) -> list[str]:
    d = base.scenario.district
    if d.generate is not None:
        return list(d.generate.street_names_zh)
    return [st.name_zh for st in d.streets or []]


@solara.component
def SaveScenario(model):
    """'Save as scenario': the settings of the run on screen as a YAML scenario file."""
    update_counter.get()
    base = type(model).base
    suggested = default_name(base, model.lever_values, model.seed)
    name, set_name = solara.use_state("")
    message, set_message = solara.use_state("")
    error, set_error = solara.use_state("")

    def save():
        try:
            path = save_scenario(base, model.lever_values, model.seed, name=name or suggested)
        except (ScenarioError, OSError) as exc:
            set_error(str(exc))
            set_message("")
            return
        set_error("")
        set_message(f"saved {path} (cogov validate: ok)")

    with solara.Card("Save as scenario", classes=["cogov-save"]) as card:
        solara.Markdown(
            "Writes the settings of the run on screen (the levers as of the last **Reset**, "
            f"and seed {model.seed}) as a scenario file for `cogov run`, `compare` and the "
            f"brief. Folder: `{base.save_dir}`.")
        solara.InputText("File name (without .yaml)", value=name, on_value=set_name,
                         placeholder=suggested, continuous_update=True)
        solara.Button("Save as scenario", color="primary", on_click=save,
                      classes=["cogov-save-button"])
        if message:
            solara.Success(message, classes=["cogov-save-message"])
        if error:
            solara.Error(error)
    return card


def page_components():
    """The SolaraViz components: the map, the charts, the save card (all on page 0)."""
    district_map, charts = components()
    return [district_map, *charts.values(), SaveScenario]


@solara.component
def Page():
    base = base_from_env()
    cls = model_class(base)
    model = solara.use_memo(lambda: cls(), [])
    solara.Style(page_css(base))
    s = base.scenario
    title = f"cogov · {s.name} · {display_name(s.district.name, s.district.name_zh, html=True)}"
    solara.Title(title)
    return SolaraViz(model, components=page_components(), model_params=model_params(base),
                     name=title, play_interval=150)


page = Page
