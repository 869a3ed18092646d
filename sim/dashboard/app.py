"""The dashboard page, built from Mesa's SolaraViz parts around a `DashboardModel`.

`RunControls` (run_controls.py, Mesa's `ModelController` with a busy state) gives play, pause,
step and reset (a reset re-creates the model from the lever values, as in SolaraViz) and Mesa's
update counter redraws the map and charts after every step. The rest is laid out here rather
than by `SolaraViz(...)` itself, for two reasons a planner
sees: SolaraViz's parameter sliders do not show their values, and its draggable grid crops a
tall map; and "save as scenario" needs the lever values, which SolaraViz keeps to itself.

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
from mesa.visualization.utils import update_counter

from ..report.plain import code_of
from ..report.plain import value as plain_value
from ..scenario.loader import ScenarioError
from .components import components, display_name
from .controls import build_levers
from .model import Base, bind, default_scenario, load_base, parse_seed
from .run_controls import RunControls
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


def initial_params(base: Base) -> dict:
    """Lever values of the base scenario, and its seed (as text, as the seed box holds it)."""
    params = {lv.key: lv.value for lv in build_levers(base)}
    params["seed"] = str(base.scenario.run.seed)
    return params


def lever_values(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "seed"}


def _street_names_zh(base: Base) -> list[str]:
    d = base.scenario.district
    if d.generate is not None:
        return list(d.generate.street_names_zh)
    return [st.name_zh for st in d.streets or []]


@functools.lru_cache(maxsize=4)
def page_css(base: Base) -> str:
    """Page styles, with the CJK glyphs of the scenario's names embedded (so the browser shows
    them without a CJK font installed), when the briefing's font helper has a font."""
    s = base.scenario
    from ..report.plain import VALUES

    text = " ".join([s.district.name_zh, *(d.name_zh for d in s.departments.values()),
                     *(c.name_zh for c in s.campaigns), *_street_names_zh(base),
                     "双向流转", *(lv.help + lv.label for lv in build_levers(base)),
                     *(en for en, _ in VALUES.values())])
    try:
        from ..report.fonts import font_face_css

        face = font_face_css(text)
    except Exception:  # noqa: BLE001 - no font, no embedding: the browser's fonts decide
        face = ""
    fam = "CogovCJK, Roboto, sans-serif" if face else "Roboto, sans-serif"
    return face + f"""
.v-application, .v-application .v-card__title, .v-application .v-label,
.v-application .v-select__selection, .v-application .v-list-item__title,
.v-application .v-toolbar__title, .v-application .v-btn,
.v-application .v-messages {{ font-family: {fam} !important; }}
.cogov-map-image, .cogov-chart-image {{ max-width: 100%; height: auto; }}
.cogov-status {{ font-size: 0.85rem; color: #444; }}
.cogov-lever-changed .v-label, .cogov-lever-changed .cogov-lever-label {{ font-weight: 600; }}
.cogov-lever-label {{ font-size: 0.85rem; margin-top: 6px; }}
.cogov-lever {{ margin-bottom: 2px; }}
.cogov-lever .v-input--checkbox {{ margin-top: 2px; padding-top: 0px; }}
.v-tooltip__content, .v-menu__content, .v-list-item__title {{ font-family: {fam} !important; }}
.v-tooltip__content {{ max-width: min(28rem, 90vw) !important; white-space: normal !important;
                      overflow-wrap: anywhere; line-height: 1.35; }}
"""


# ---------------------------------------------------------------- levers
@solara.component
def LeverPanel(base: Base, params: solara.Reactive[dict], applied: dict):
    """One input per lever (derived from the schema), the seed, and a note when the levers
    differ from the run on screen."""
    seed_error, set_seed_error = solara.use_state("")

    def setter(key):
        def set_value(v):
            params.value = {**params.value, key: v}
        return set_value

    def set_seed(text):
        try:
            parse_seed(text, base.scenario.run.seed)
        except ScenarioError as exc:
            set_seed_error(str(exc))
            return
        set_seed_error("")
        params.value = {**params.value, "seed": (text or "").strip()}

    values = params.value
    with solara.Card("Levers", classes=["cogov-levers"]):
        for lv in build_levers(base):
            v = values.get(lv.key, lv.value)
            mark = "" if v == lv.value else " •"
            classes = ["cogov-lever", f"cogov-lever-{lv.key.replace('.', '-')}"]
            if mark:
                classes.append("cogov-lever-changed")
            with solara.Tooltip(lv.help + f" (scenario: {lv.value})"):
                with solara.Column(classes=classes, gap="0px"):
                    if lv.kind == "select":
                        # plain names in the list ("territorial: the street platform triages
                        # and dispatches (以块为主)"), the code back into the lever
                        shown = [plain_value(x) for x in lv.values]
                        set_code = setter(lv.key)
                        solara.Select(lv.label + mark, values=shown, value=plain_value(v),
                                      on_value=lambda x, f=set_code: f(code_of(x)),
                                      dense=True)
                    elif lv.kind == "checkbox":
                        solara.Checkbox(label=lv.label + mark, value=bool(v),
                                        on_value=setter(lv.key))
                    else:
                        solara.Text(f"{lv.label}: {v}{mark}", classes=["cogov-lever-label"])
                        solara.SliderInt("", value=int(v), min=lv.min, max=lv.max, step=lv.step,
                                         on_value=setter(lv.key))
        solara.InputText("Seed (a whole number)", value=values.get("seed", ""),
                         on_value=set_seed, error=seed_error or False,
                         message=seed_error or None, classes=["cogov-seed"])
        if lever_values(values) != applied["levers"] or \
                parse_seed(values.get("seed"), base.scenario.run.seed) != applied["seed"]:
            solara.Info("Levers changed: press Reset to run them.", dense=True,
                        classes=["cogov-pending"])


@solara.component
def SaveScenario(base: Base, params: solara.Reactive[dict]):
    """'Save as scenario': the levers and seed as set, as a YAML scenario file."""
    values = lever_values(params.value)
    seed = parse_seed(params.value.get("seed"), base.scenario.run.seed)
    suggested = default_name(base, values, seed)
    name, set_name = solara.use_state("")
    message, set_message = solara.use_state("")
    error, set_error = solara.use_state("")

    def save():
        try:
            path = save_scenario(base, values, seed, name=(name or "").strip() or suggested)
        except (ScenarioError, OSError) as exc:
            set_error(str(exc))
            set_message("")
            return
        set_error("")
        set_message(f"saved {path.resolve()} (cogov validate: ok)")

    with solara.Card("Save as scenario", classes=["cogov-save"]):
        solara.Text(f"Writes the levers and seed as set above as a scenario file for cogov run, "
                    f"compare and the brief, in {base.save_dir}/.")
        solara.InputText("File name (without .yaml)", value=name, on_value=set_name,
                         placeholder=suggested, continuous_update=True)
        solara.Button("Save as scenario", color="primary", on_click=save,
                      classes=["cogov-save-button"])
        if message:
            solara.Success(message, classes=["cogov-save-message"], dense=True)
        if error:
            solara.Error(error, dense=True)


@solara.component
def RunInfo(model):
    update_counter.get()
    solara.Text(f"Step {model.steps} · seed {model.seed}", classes=["cogov-steps"])


# ---------------------------------------------------------------- the page
@solara.component
def Page():
    base = base_from_env()
    cls = model_class(base)
    first = solara.use_memo(lambda: cls(), [])
    model = solara.use_reactive(first)
    params = solara.use_reactive(initial_params(base))
    play_interval = solara.use_reactive(150)
    render_interval = solara.use_reactive(1)
    district_map, charts = components()

    s = base.scenario
    title = f"cogov · {s.name} · {display_name(s.district.name, s.district.name_zh, html=True)}"
    solara.Style(page_css(base))
    solara.Title(title)
    m = model.value
    applied = {"levers": m.lever_values, "seed": m.seed}
    with solara.AppBar():
        solara.AppBarTitle(title)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Run", classes=["cogov-run"]):
            # Reset re-creates the model from `params` (levers and seed); a step, a run of
            # steps or a reset shows a busy state and disables the buttons (run_controls.py)
            RunControls(model, params, play_interval, render_interval)
            hours = s.run.collect_interval_hours
            per = "Days per Step" if hours == 24 else f"Steps of {hours:g} h per Step"
            solara.SliderInt(f"{per}: {render_interval.value}", value=render_interval, min=1,
                             max=30)
            RunInfo(m)
        LeverPanel(base, params, applied)
        SaveScenario(base, params)
    with solara.Column(classes=["cogov-main"]):
        district_map(m)
        keys = list(charts)
        for i in range(0, len(keys), 2):
            with solara.Columns([1, 1]):
                for key in keys[i:i + 2]:
                    charts[key](m)


page = Page
