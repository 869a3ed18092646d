"""The dashboard without a browser: levers derived from the schema, the model behind the page,
the map and charts, "save as scenario" (round trip through `cogov validate`), the page's
components (Solara's test tools) and the `dashboard` command."""

from __future__ import annotations

import typing
from pathlib import Path

import numpy as np
import pytest

from sim.dashboard import components as C
from sim.dashboard.controls import (
    AS_SCENARIO,
    build_levers,
    model_params,
    scenario_mapping,
    schema_field,
)
from sim.dashboard.model import bind, load_base
from sim.dashboard.save import save_scenario, scenario_document
from sim.model import GovernanceModel
from sim.policies import ASSESSMENT, ROUTING
from sim.scenario.loader import ScenarioError, load_scenario
from sim.scenario.schema import Dispatch

from .conftest import ROOT, cogov

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*found despite early return:UserWarning")  # a note on Mesa's own SolaraViz code

# a small district and a short run, so a model builds and steps in well under a second
SMALL = ["district.generate.streets=2", "district.generate.grids_per_street=6",
         "district.generate.population=12000", "run.horizon_days=60", "run.warmup_days=5"]


def _base_file() -> Path:
    after = ROOT / "scenarios" / "baohe_after.yaml"
    return after if after.is_file() else ROOT / "scenarios" / "common" / "district.yaml"


def write_scenario(folder: Path) -> Path:
    """The shipped default scenario (baohe_after) plus a campaign with a Chinese name."""
    base = _base_file()
    text = f"""extends: [{base.as_posix()}]
name: dash_test
"""
    if base.name == "district.yaml":  # before the shipped scenarios exist
        common = ROOT / "scenarios" / "common"
        text = (f"extends: [{(common / 'district.yaml').as_posix()}, "
                f"{(common / 'catalogue_core.yaml').as_posix()}, "
                f"{(common / 'nonpolice_list.yaml').as_posix()}]\n"
                "name: dash_test\nrouting: {policy: territorial}\nhandback: {enabled: true}\n")
    text += """campaigns:
  - {name: Street order, name_zh: 市容秩序专项整治, start_day: 10, end_day: 30, extra_staff: 2}
"""
    path = folder / "dash_test.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def base(scenario_file, tmp_path_factory):
    return load_base(scenario_file, SMALL, save_dir=tmp_path_factory.mktemp("saves"))


@pytest.fixture(scope="module")
def stepped(base):
    """A dashboard model run for 20 days with the scenario's own settings."""
    m = bind(base)()
    for _ in range(20):
        m.step()
    return m


# ---------------------------------------------------------------- levers
def test_every_lever_is_a_schema_field_with_its_widget_and_help(base):
    levers = build_levers(base)
    keys = [lv.key for lv in levers]
    assert keys[:5] == ["routing", "assessment", "handback", "dispatch_mode", "grid_workers"]
    assert "campaign.0" in keys
    assert {f"staff.{c}" for c in base.scenario.departments} <= set(keys)
    for lv in levers:
        info, ann = schema_field(lv.path)
        assert info.description and info.description.split(" (")[0] in lv.help, lv.key
        if lv.kind == "checkbox" and not lv.key.startswith("campaign."):
            assert ann is bool
        if lv.kind == "int":
            assert ann is int and lv.min is not None and lv.min <= lv.value <= lv.max
    by_key = {lv.key: lv for lv in levers}
    assert by_key["routing"].values == sorted(ROUTING)
    assert set(ASSESSMENT) <= set(by_key["assessment"].values)
    assert by_key["dispatch_mode"].values == list(
        typing.get_args(Dispatch.model_fields["default_mode"].annotation))
    # a department that owns categories cannot go to zero staff (the validator says so)
    owners = {c.owner for c in base.scenario.catalogue.values()}
    for code in owners:
        assert by_key[f"staff.{code}"].min >= 1
    # the values start at the scenario's
    assert by_key["routing"].value == base.scenario.routing.policy
    assert by_key["handback"].value == base.scenario.handback.enabled
    assert by_key["grid_workers"].value == base.scenario.grid_workers.per_grid


def test_model_params_are_what_solara_inputs_take(base):
    params = model_params(base)
    assert params["seed"]["type"] == "InputText"
    types = {p["type"] for p in params.values()}
    assert types <= {"Select", "Checkbox", "SliderInt", "InputText"}
    assert params["routing"]["values"] == sorted(ROUTING)


def test_schema_field_rejects_a_path_not_in_the_schema():
    with pytest.raises(KeyError):
        schema_field("routing.colour")
    with pytest.raises(KeyError):
        schema_field("departments.police.staff.extra")


def test_levers_reach_the_model(base):
    m = bind(base)(seed="7", routing="sectoral", assessment="three_rates", handback=False,
                   dispatch_mode="dual", grid_workers=2,
                   **{"staff.police": 9, "campaign.0": False})
    s = m.scenario
    assert m.seed == 7
    assert s.routing.policy == "sectoral" and s.routing.params == {}
    assert [p.policy for p in s.assessment.policies] == ["three_rates"]
    assert s.handback.enabled is False and s.dispatch.default_mode == "dual"
    assert s.grid_workers.per_grid == 2 and s.campaigns == []
    assert all(u.staff == 9 for (code, _), u in m.units.items() if code == "police")
    # untouched settings keep the base scenario's values (policy parameters included)
    assert s.main_co == base.scenario.main_co
    assert m.lever_values["routing"] == "sectoral"


def test_assessment_combination_is_kept_as_in_scenario(base):
    raw = scenario_mapping(base, {"assessment": "none"})
    assert raw["assessment"] == {"policies": [{"policy": "none"}]}
    levers = build_levers(base)
    lv = next(x for x in levers if x.key == "assessment")
    if lv.value.startswith(AS_SCENARIO):
        assert scenario_mapping(base, {"assessment": lv.value})["assessment"] == \
            base.raw["assessment"]


@pytest.mark.parametrize("kwargs", [{"seed": "abc"}, {"routing": "nowhere"},
                                    {"no_such_lever": 1}, {"staff.police": -1}])
def test_bad_settings_are_user_errors(base, kwargs):
    with pytest.raises(ScenarioError):
        bind(base)(**kwargs)


# ---------------------------------------------------------------- the model behind the page
def test_tracker_agrees_with_the_model(stepped):
    m, tr = stepped, stepped.tracker
    assert len(tr.day) == 20 == len(m.datacollector.get_model_vars_dataframe())
    assert tr.complaints_by_grid.sum() == len(m.c_t)
    assert tr.repeats_by_grid.sum() == sum(m.c_repeat)
    still_open = [c for c in m.cases if c.closed < 0]
    assert tr.open_cases == len(still_open)
    assert tr.open_by_grid.sum() == len(still_open)
    assert sum(tr.closed_n) == sum(1 for c in m.cases if c.closed >= 0)
    assert sum(tr.police_nonpolice) == pytest.approx(m.police_nonpolice_hours)
    rate = tr.repeat_rate_by_grid
    assert np.all((rate[np.isfinite(rate)] >= 0) & (rate[np.isfinite(rate)] <= 1))


def test_map_layout_gives_every_grid_its_own_cell_inside_its_street(base):
    layout = bind(base)().layout
    xy, blocks, height = C.map_layout(layout)
    assert len({tuple(p) for p in xy}) == len(xy) == len(layout.grids)
    for g in layout.grids:
        bx, by, bw, bh = blocks[g.street]
        x, y = xy[g.index]
        assert bx <= x and x + 1 <= bx + bw and by <= y and y + 1 <= by + bh
    assert 0 < height


# ---------------------------------------------------------------- figures
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("key", list(C.CHARTS))
def test_charts_render_before_and_after_steps(base, stepped, key):
    _, fn = C.CHARTS[key]
    fresh = bind(base)()
    before = C.png(fn(fresh))
    after = C.png(fn(stepped))
    assert before.startswith(PNG) and after.startswith(PNG) and before != after
    fig = fn(stepped)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel()
    if key in ("backlog", "staff_load"):
        legend = ax.get_legend() or fig.legends[0]      # below the chart, for the whole figure
        labels = [t.get_text() for t in legend.get_texts()]
        assert labels == [C.dept_label(stepped, c) for c in stepped.scenario.departments]


def test_map_colours_grids_by_either_metric(stepped):
    for metric in C.MAP_METRICS:
        fig = C.map_figure(stepped, metric)
        assert C.png(fig).startswith(PNG)
        coll = fig.axes[0].collections[0]
        values = np.asarray(coll.get_array())
        assert len(values) == len(stepped.layout.grids)
    opened = np.asarray(C.map_figure(stepped, "open").axes[0].collections[0].get_array())
    assert opened.sum() == stepped.tracker.open_cases
    with pytest.raises(ValueError):
        C.map_figure(stepped, "colour")


def test_chinese_labels_follow_the_font_rule(stepped, monkeypatch):
    assert C.display_name("Police station", "派出所", html=True) == "派出所"
    assert C.display_name("Police station", "", html=True) == "Police station"
    expect = "派出所" if C.cjk_family() else "Police station"
    assert C.display_name("Police station", "派出所") == expect
    monkeypatch.setattr(C, "cjk_family", lambda: None)
    assert C.display_name("Police station", "派出所") == "Police station"
    assert C.street_label(stepped.layout.streets[0]) == stepped.layout.streets[0].name


# ---------------------------------------------------------------- save as scenario
def test_saved_scenario_passes_cogov_validate_and_reruns_the_same(base, tmp_path):
    values = {"routing": "sectoral", "handback": False, "grid_workers": 2,
              "staff.police": 7, "campaign.0": False}
    path = save_scenario(base, values, seed=5, path=tmp_path)
    assert path.parent == tmp_path and path.suffix == ".yaml"
    proc = cogov("validate", path)
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout and "routing sectoral" in proc.stdout
    text = path.read_text(encoding="utf-8")
    assert "routing.policy: territorial -> sectoral" in text or "-> sectoral" in text
    saved = load_scenario(path)
    assert saved.run.seed == 5 and saved.routing.policy == "sectoral"
    assert saved.grid_workers.per_grid == 2 and saved.campaigns == []
    # the file runs exactly what the dashboard ran with these settings
    dash = bind(base)(seed=5, **values)
    plain = GovernanceModel(saved)
    for _ in range(10):
        dash.step()
        plain.step()
    a = dash.datacollector.get_model_vars_dataframe()
    b = plain.datacollector.get_model_vars_dataframe()
    assert a.equals(b)


def test_saving_unchanged_settings_names_the_base(base, tmp_path):
    text, raw = scenario_document(base, {}, seed=base.scenario.run.seed)
    assert "no setting changed" in text and raw["name"].startswith(base.scenario.name)
    path = save_scenario(base, {}, 3, path=tmp_path / "mine.yaml", name="my_try")
    assert path == tmp_path / "mine.yaml"
    assert load_scenario(path).name == "my_try"


# ---------------------------------------------------------------- the page (Solara test tools)
@pytest.fixture
def page_env(scenario_file, tmp_path, monkeypatch):
    pytest.importorskip("solara", reason="the dashboard needs the viz extra (solara)")
    import json

    from sim.dashboard import app

    monkeypatch.setenv(app.ENV_SCENARIO, str(scenario_file))
    monkeypatch.setenv(app.ENV_SET, json.dumps(SMALL))
    monkeypatch.setenv(app.ENV_SAVE_DIR, str(tmp_path / "saved"))
    app.base_from_env.cache_clear()
    yield app, tmp_path / "saved"
    app.base_from_env.cache_clear()


def _texts(rc, cls):
    """Texts of the `solara.Text` widgets carrying CSS class `cls`."""
    import ipyvuetify as v

    return ["".join(map(str, w.children)) for w in rc.find(v.Html, class_=cls).widgets]


def _wait_text(rc, cls, text, timeout=30.0):
    """Step and Reset compute in a thread (the busy state): wait for the page to say `text`."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(text in t for t in _texts(rc, cls)):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not shown within {timeout:.0f} s: {_texts(rc, cls)}")


def _wait_idle(rc, timeout=30.0):
    import time

    import ipyvuetify as v

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not rc.find(v.Html, class_="cogov-busy").widgets:
            return
        time.sleep(0.05)
    raise AssertionError("the page stayed busy")


def test_page_renders_steps_resets_and_saves(page_env):
    import ipyvuetify as v
    import ipywidgets as w
    import solara

    app, saved = page_env
    box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    images = rc.find(w.Image).widgets
    assert len(images) == 1 + len(C.CHARTS)  # the map and every chart
    assert all(bytes(i.value).startswith(PNG) for i in images)
    before = [bytes(i.value) for i in images]
    assert any("Step 0" in t for t in _texts(rc, "cogov-steps"))

    rc.find(v.Btn, children=["Step"]).widget.click()
    _wait_text(rc, "cogov-steps", "Step 1")
    _wait_idle(rc)
    assert not rc.find(v.Btn, children=["Step"]).widget.disabled
    after = [bytes(i.value) for i in rc.find(w.Image).widgets]
    assert sum(a != b for a, b in zip(before, after)) >= len(C.CHARTS)

    # move a lever: the page says it applies at Reset; Reset re-creates the model at step 0
    rc.find(v.Select, label="Routing policy").widget.v_model = "sectoral"
    assert rc.find(v.Alert, children=["Levers changed: press Reset to run them."]).widgets
    rc.find(v.Btn, children=["Reset"]).widget.click()
    _wait_text(rc, "cogov-steps", "Step 0")
    _wait_idle(rc)
    assert not rc.find(v.Alert, children=["Levers changed: press Reset to run them."]).widgets

    rc.find(v.Btn, children=["Save as scenario"]).widget.click()
    files = list(saved.glob("*.yaml"))
    assert len(files) == 1 and "sectoral" in files[0].name
    assert load_scenario(files[0]).routing.policy == "sectoral"
    assert any("cogov validate: ok" in str(a.children) for a in rc.find(v.Alert).widgets)


def test_lever_panel_has_one_input_per_lever_and_checks_the_seed(page_env):
    import ipyvuetify as v
    import solara

    app, _ = page_env
    base = app.base_from_env()
    params = solara.reactive(app.initial_params(base))
    applied = {"levers": app.lever_values(params.value), "seed": base.scenario.run.seed}
    box, rc = solara.render(app.LeverPanel(base, params, applied), handle_error=False)
    levers = build_levers(base)
    n_select = sum(lv.kind == "select" for lv in levers)
    n_check = sum(lv.kind == "checkbox" for lv in levers)
    n_int = sum(lv.kind == "int" for lv in levers)
    assert len(rc.find(v.Select).widgets) == n_select
    assert len(rc.find(v.Checkbox).widgets) == n_check
    assert len(rc.find(v.Slider).widgets) == n_int
    seed = rc.find(v.TextField, label="Seed (a whole number)").widget
    seed.v_model = "x1"
    seed.fire_event("focusout", {})
    assert params.value["seed"] == str(base.scenario.run.seed)  # rejected, and said so
    assert "whole number" in str(rc.find(v.TextField, label="Seed (a whole number)").widget
                                 .messages)
    seed.v_model = "42"
    seed.fire_event("focusout", {})
    assert params.value["seed"] == "42"
    assert rc.find(v.Alert, children=["Levers changed: press Reset to run them."]).widgets
    # a slider shows its value in its label, and marks a change from the scenario
    police = next(lv for lv in levers if lv.key == "staff.police")
    label = [w for w in rc.find(v.Html, class_="cogov-lever-label").widgets
             if "派出所" in str(w.children) or "Police" in str(w.children)][0]
    assert str(police.value) in str(label.children)


# ---------------------------------------------------------------- the command
def test_dashboard_command_is_registered():
    from sim.cli import build_parser

    args = build_parser().parse_args(["dashboard", "x.yaml", "--port", "0", "--host",
                                      "127.0.0.1", "--set", "run.seed=3"])
    assert args.scenario == "x.yaml" and args.port == 0 and args.overrides == ["run.seed=3"]
    assert callable(args.func)


def test_dashboard_command_lists_scenario_errors_and_starts_no_server(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndistrict: {generate: {streets: 0}}\n", encoding="utf-8")
    proc = cogov("dashboard", bad, "--port", "0")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert any("district.generate.streets" in e for e in errors)
    assert any("catalogue" in e for e in errors)


def test_a_taken_port_is_a_user_error():
    import socket

    from sim.dashboard.cli import check_port
    from sim.errors import UserError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(UserError, match="--port 0"):
            check_port("127.0.0.1", port)


def test_play_disables_step_and_reset_until_paused(page_env):
    """While playing, Step and Reset are disabled and the page says it is running; Pause stops
    the days and gives them back."""
    import time

    import ipyvuetify as v
    import solara

    app, _ = page_env
    box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    step, reset = (rc.find(v.Btn, children=[x]).widget for x in ("Step", "Reset"))
    assert not step.disabled and not reset.disabled
    rc.find(v.Btn, children=["▶"]).widget.click()
    _wait_text(rc, "cogov-steps", "Step 2")
    def buttons():   # looked up afresh: a re-render may replace the widgets
        return [rc.find(v.Btn, children=[x]).widget for x in ("Step", "Reset")]

    assert all(b.disabled for b in buttons())
    assert rc.find(v.Html, class_="cogov-busy").widgets
    rc.find(v.Btn, children=["❚❚"]).widget.click()
    _wait_idle(rc)
    time.sleep(0.5)
    steps = _texts(rc, "cogov-steps")
    time.sleep(0.5)
    assert _texts(rc, "cogov-steps") == steps, "days go on after Pause"
    assert not any(b.disabled for b in buttons())
