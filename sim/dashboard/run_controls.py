"""Run controls of the dashboard: Reset, Play/Pause and Step, with a busy state.

Mesa's `ModelController` runs a Step (and a Reset) inside the button's click handler, so the
page shows nothing while the day is computed and the buttons stay clickable: a planner who
clicks Step again queues more days than they meant. Here a Step and a Reset run as solara
tasks (`solara.lab.use_task`, in a thread): while one is computing (the days *and* the redraw
of the map and charts, which Mesa's `update_counter` triggers inside the task) the page shows
"Computing…" with a progress bar, and Step, Play and Reset are disabled; they come back when
it is done. While playing, Step and Reset are disabled and the Pause button stays usable.

The behaviour otherwise follows Mesa's controller: "days per Step" (`render_interval`) days per
Step, Play steps every `play_interval` ms, Reset re-creates the model from the lever values.
"""

from __future__ import annotations

import time
import traceback

import solara
from mesa.visualization.utils import force_update

BUSY_TEXT = "Computing…"


@solara.component
def RunControls(model: solara.Reactive, model_parameters: solara.Reactive[dict],
                play_interval: solara.Reactive[int], render_interval: solara.Reactive[int]):
    """Reset / Play-Pause / Step buttons (classes `cogov-reset`, `cogov-play`, `cogov-step`)
    and the busy line (`cogov-busy`, shown while a step, a run of steps or a reset computes)."""
    playing = solara.use_reactive(False)
    running = solara.use_reactive(True)
    error = solara.use_reactive("")

    def advance(days: int) -> None:
        for _ in range(days):
            model.value.step()
            running.value = bool(model.value.running)
            if not running.value:
                break
        force_update()          # the map and charts redraw now, inside the busy period

    def step_once() -> None:
        try:
            advance(render_interval.value)
        except Exception as exc:  # noqa: BLE001 - shown on the page, logged on the server
            error.value = f"error in step: {exc}"
            traceback.print_exc()

    def reset() -> None:
        error.value = ""
        playing.value = False
        running.value = True
        try:
            model.value = model.value.__class__(**model_parameters.value)
            force_update()
        except Exception as exc:  # noqa: BLE001
            error.value = f"error in reset: {exc}"
            traceback.print_exc()

    def play_loop() -> None:
        try:
            while playing.value and running.value:
                time.sleep(play_interval.value / 1000)
                if not playing.value:
                    break
                advance(render_interval.value)
        except Exception as exc:  # noqa: BLE001
            error.value = f"error in step: {exc}"
            playing.value = False
            traceback.print_exc()

    step_task = solara.lab.use_task(step_once, dependencies=None, prefer_threaded=True)
    reset_task = solara.lab.use_task(reset, dependencies=None, prefer_threaded=True)
    solara.lab.use_task(play_loop, dependencies=[playing.value, running.value],
                        prefer_threaded=True)

    computing = bool(step_task.pending or reset_task.pending)
    busy = computing or playing.value

    def toggle_play():
        playing.value = not playing.value

    with solara.Row(justify="space-between"):
        solara.Button(label="Reset", color="primary", on_click=lambda: reset_task(),
                      disabled=busy, classes=["cogov-reset"])
        solara.Button(label="❚❚" if playing.value else "▶", color="primary",
                      on_click=toggle_play, disabled=computing or not running.value,
                      classes=["cogov-play"])
        solara.Button(label="Step", color="primary", on_click=lambda: step_task(),
                      disabled=busy or not running.value, classes=["cogov-step"])
    if busy:
        solara.ProgressLinear(True)
        solara.Text("Running…" if playing.value and not computing else BUSY_TEXT,
                    classes=["cogov-busy"])
    if error.value:
        solara.Error(label=error.value)
