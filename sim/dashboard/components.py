"""The page's pieces: the district map and the live charts, as figure functions and components.

Each figure function takes a (dashboard) model and returns a matplotlib `Figure`, so it can be
tested without a browser; `png(fig)` renders it with the CJK font rule; the solara components
wrap them for Mesa's SolaraViz (they re-render on every step through Mesa's `update_counter`).

Label rule (the briefing's): a street or department is labelled with its Chinese name when the
scenario gives one (`name_zh`) and a CJK font is available (`sim.report.fonts`), else with its
English name. On the page itself the browser draws the text; the page embeds the CJK glyphs it
needs (`font_face_css`), so Chinese shows even where the browser has no CJK font.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

MAP_METRICS = {"open": "open cases", "repeat_rate": "repeat-complaint rate"}
DPI = 72      # 1 pt = 1 px at the image's natural size: legends at 10 px


# ---------------------------------------------------------------- fonts and labels
@functools.lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """The CJK font family for figures (the briefing's finder), or None."""
    try:
        from ..report.fonts import find_cjk_font
    except ImportError:  # the briefing module is not in this checkout
        return None
    font = find_cjk_font()
    return font.name if font else None


def display_name(name: str, name_zh: str = "", html: bool = False) -> str:
    """Chinese when given (and, in a figure, when a CJK font can draw it); else English."""
    if name_zh and (html or cjk_family()):
        return name_zh
    return name or name_zh


@contextlib.contextmanager
def figure_fonts():
    """rcParams for building and saving one figure: DejaVu Sans, then the CJK font for the
    glyphs DejaVu lacks (per-glyph fallback). Leaves the global settings untouched."""
    fam = cjk_family()
    rc = {"axes.unicode_minus": False, "font.size": 10}
    if fam:
        rc["font.family"] = ["DejaVu Sans", fam]
    with matplotlib.rc_context(rc):
        yield fam


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (fonts as `figure_fonts`).

    A figure the page keeps and updates in place (`_cached`) redraws only what changed: its
    static part (axes, ticks, labels, legend) is drawn once into a background and drawn again
    only when its key (axis limits, colour scale, ...) changes; every other call restores the
    background and draws just the animated artists (lines, cells, dots, titles with numbers).
    Other figures are drawn whole and cropped tight."""
    art = getattr(fig, "_cogov_art", None)
    buf = io.BytesIO()
    if art is None:
        with figure_fonts():
            fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
        return buf.getvalue()
    from PIL import Image

    canvas = art["canvas"]
    key = art["bgkey"]()
    with figure_fonts():
        if art.get("bg") is None or art.get("bg_for") != key:
            canvas.draw()                      # animated artists are left out of this
            art["bg"] = canvas.copy_from_bbox(fig.bbox)
            art["bg_for"] = key
            art["full_draws"] = art.get("full_draws", 0) + 1
        else:
            canvas.restore_region(art["bg"])
        renderer = canvas.get_renderer()
        for a in art["animated"]:
            if a.get_visible():
                a.draw(renderer)
    rgba = canvas.buffer_rgba()
    Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0, 1).save(
        buf, format="png", compress_level=1)
    return buf.getvalue()


def _cached(model, key, build):
    """The figure `key` of this model, built once by `build()` (a dict with `fig`, the
    `animated` artists and `bgkey()`, what the static part depends on) and then updated in
    place by the caller: a step redraws only what changed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    store = model.__dict__.setdefault("_cogov_figures", {})
    art = store.get(key)
    if art is None:
        with figure_fonts():
            art = build()
        fig = art["fig"]
        fig.set_dpi(DPI)
        art["canvas"] = FigureCanvasAgg(fig)
        art.setdefault("bgkey", lambda: None)
        for a in art["animated"]:
            a.set_animated(True)
        fig._cogov_art = art
        store[key] = art
    return art


def nice_ceiling(x: float, floor: float = 1.0) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above `x` (at least `floor`): an axis or colour
    scale that changes rarely, so the static part of a figure is seldom redrawn."""
    x = max(float(x) if np.isfinite(x) else 0.0, floor)
    k = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0):
        if m * k >= x - 1e-12:
            return m * k
    return 10.0 * k   # pragma: no cover


def days_limit(model) -> float:
    """The x axis's end: the first of a week, a fortnight, 30, 60, 90, 180, 365 days (or the
    horizon) past today."""
    now = model.now / 24.0
    for d in (7, 14, 30, 60, 90, 180, 365):
        if now <= d:
            return float(min(d, max(7.0, model.scenario.run.horizon_days)) if d > 7 else 7)
    # past a year: the next whole half-year (not "today", which would redraw the axes daily)
    return float(max(180.0 * math.ceil(now / 180.0), model.scenario.run.horizon_days))




def _frame(model):
    """The datacollector's table, built once per step (three charts read it)."""
    key = (model.steps, len(model.datacollector.model_vars.get("complaints", ())))
    cached = model.__dict__.get("_cogov_frame")
    if cached is None or cached[0] != key:
        cached = (key, model.datacollector.get_model_vars_dataframe())
        model.__dict__["_cogov_frame"] = cached
    return cached[1]


def _days(model, df) -> np.ndarray:
    return df["time_hours"].to_numpy(dtype=float) / 24.0 if len(df) else np.zeros(0)








def team_abbrev(code: str, dept) -> str:
    """Two Chinese characters or three letters, to mark a street team on the map."""
    if dept.name_zh and cjk_family():
        return dept.name_zh[:2]
    return code[:3]


def dept_label(model, code: str) -> str:
    d = model.scenario.departments[code]
    return display_name(d.name, d.name_zh)


def street_label(street) -> str:
    return display_name(street.name, street.name_zh)


# ---------------------------------------------------------------- charts
LEGEND_FONT = 10


def _fixed_axes(fig: Figure, bottom: float = 0.16) -> object:
    ax = fig.subplots()
    fig.subplots_adjust(left=0.13, right=0.97, top=0.88, bottom=bottom)
    ax.grid(True, alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def _line_chart(model, key: str, series: list[tuple[str, str, dict]], title: str, xlabel: str,
                ylabel: str, legend_below: bool = False):
    """A cached chart of lines (label, colour, style) over days; returns its parts."""
    def build():
        rows = math.ceil(len(series) / 3) if legend_below else 0
        h = 3.4 + 0.24 * rows
        fig = Figure(figsize=(6.0, h), dpi=DPI)
        ax = _fixed_axes(fig, bottom=(0.6 + 0.24 * rows) / h)
        lines = [ax.plot([], [], label=lab, color=col, **kw)[0] for lab, col, kw in series]
        ax.set_xlim(0, 7)
        ax.set_ylim(0, 1)
        if legend_below:
            fig.legend(handles=lines, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=3,
                       fontsize=LEGEND_FONT - 1, frameon=False)
        else:
            ax.legend(loc="upper left", fontsize=LEGEND_FONT)
        empty = ax.text(0.5, 0.5, "press Step or ▶ to run", transform=ax.transAxes,
                        ha="center", va="center", color="0.4")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        return {"fig": fig, "ax": ax, "lines": lines, "empty": empty, "animated": list(lines),
                "bgkey": lambda: (ax.get_xlim(), ax.get_ylim(), empty.get_visible(),
                                  ax.get_title())}
    return _cached(model, key, build)


def _set_lines(model, art, x, ys) -> Figure:
    ax = art["ax"]
    has = len(x) > 0
    art["empty"].set_visible(not has)
    top = 0.0
    for line, y in zip(art["lines"], ys):
        y = np.asarray(y, float)
        line.set_data(x, y)
        line.set_marker("." if len(x) < 40 else "")
        if y.size and np.isfinite(y).any():
            top = max(top, float(np.nanmax(y)))
    ax.set_ylim(0, nice_ceiling(top * 1.05))
    ax.set_xlim(0, days_limit(model))
    return art["fig"]


def complaints_figure(model) -> Figure:
    """Complaints and repeat complaints per interval (a day by default)."""
    art = _line_chart(model, "complaints", [("complaints", "tab:blue", {}),
                                            ("repeat complaints", "tab:red", {})],
                      "Complaints and repeats", "day",
                      f"per {model.scenario.run.collect_interval_hours:g} h")
    df = _frame(model)
    x = _days(model, df)
    ys = [df["complaints"].to_numpy(float), df["repeats"].to_numpy(float)] if len(df) else \
        [[], []]
    return _set_lines(model, art, x, ys)


def _dept_lines(model, prefix: str, title: str, ylabel: str) -> Figure:
    codes = list(model.scenario.departments)
    cmap = matplotlib.colormaps["tab20"]
    art = _line_chart(model, prefix, [(dept_label(model, c), cmap(i % 20), {"lw": 1.2})
                                      for i, c in enumerate(codes)], title, "day", ylabel,
                      legend_below=True)
    df = _frame(model)
    x = _days(model, df)
    ys = [df[f"{prefix}.{c}"].to_numpy(float) if len(df) and f"{prefix}.{c}" in df else []
          for c in codes]
    ys = [y if len(y) == len(x) else np.full(len(x), np.nan) for y in ys]
    return _set_lines(model, art, x, ys)


def backlog_figure(model) -> Figure:
    """Tasks waiting in each department's queues (all its street teams together)."""
    return _dept_lines(model, "queue", "Backlog per department", "tasks waiting")


def staff_load_figure(model) -> Figure:
    """Staff load: busy staff-hours over staff-hours on duty, per department and interval."""
    fig = _dept_lines(model, "utilization", "Staff load", "busy / on duty")
    ax = fig.axes[0]
    if not getattr(ax, "_cogov_ref", False):
        ax.axhline(1.0, color="0.3", lw=0.8, ls="--")
        ax._cogov_ref = True
    ax.set_ylim(0, max(1.2, ax.get_ylim()[1]))
    return fig


def time_to_close_figure(model) -> Figure:
    """Hours from opening to closing of the cases closed in each interval."""
    art = _line_chart(model, "ttc", [("median", "tab:green", {}),
                                     ("mean", "tab:olive", {"lw": 1.0}),
                                     ("90th percentile", "tab:gray", {"lw": 0.8, "ls": "--"})],
                      "Time to close", "day (cases closed that day)", "hours to close")
    tr = model.tracker
    return _set_lines(model, art, np.asarray(tr.day, float),
                      [tr.ttc_median, tr.ttc_mean, tr.ttc_p90])


def police_figure(model) -> Figure:
    """Police staff hours spent on non-police matters per interval (counted after warm-up)."""
    w = model.scenario.run.warmup_days
    art = _line_chart(model, "police", [("police hours, non-police matters", "tab:purple",
                                         {"drawstyle": "steps-mid"})],
                      "Police hours on non-police matters", "day", "staff hours")
    if "warm" not in art and w > 0:
        art["warm"] = art["ax"].axvspan(0, w, color="0.9", zorder=0, label=f"warm-up ({w:g} days)")
    if "total" not in art:
        art["total"] = art["ax"].text(0.99, 0.97, "", transform=art["ax"].transAxes,
                                      ha="right", va="top", fontsize=LEGEND_FONT)
        art["total"].set_animated(True)
        art["animated"].append(art["total"])
    tr = model.tracker
    fig = _set_lines(model, art, np.asarray(tr.day, float), [tr.police_nonpolice])
    art["total"].set_text(f"total {sum(tr.police_nonpolice):,.0f} h")
    return fig


CHARTS = {
    "complaints": ("Complaints and repeats per day", complaints_figure),
    "backlog": ("Backlog per department", backlog_figure),
    "time_to_close": ("Time to close", time_to_close_figure),
    "staff_load": ("Staff load", staff_load_figure),
    "police": ("Police hours on non-police matters", police_figure),
}


# ---------------------------------------------------------------- the district map
def map_layout(layout) -> tuple[np.ndarray, list[tuple[float, float, float, float]], float]:
    """Cell positions for a district drawn as blocks (streets) of cells (grids).

    Returns (xy[g] = lower-left corner of grid g's unit cell, street block rectangles
    (x, y, w, h), height of the whole drawing). Streets are laid out left to right, top to
    bottom in a near-square arrangement; a street's grids fill its block row by row.
    """
    streets = layout.streets
    n_s = len(streets)
    per = max(len(s.grids) for s in streets)
    cols = max(1, math.ceil(math.sqrt(per)))
    rows = math.ceil(per / cols)
    s_cols = max(1, math.ceil(math.sqrt(n_s * rows / cols * 1.6)))
    s_cols = min(s_cols, n_s)
    s_rows = math.ceil(n_s / s_cols)
    gap, head = 1.2, 2.6  # between blocks; room under each block for its street teams
    bw, bh = cols + gap, rows + gap + head
    n_g = sum(len(s.grids) for s in streets)
    xy = np.zeros((n_g, 2))
    blocks = []
    total_h = s_rows * bh
    for si, st in enumerate(streets):
        bx = (si % s_cols) * bw
        by = total_h - (si // s_cols + 1) * bh + head
        blocks.append((bx - 0.3, by - 0.3, cols + 0.6, rows + 0.6))
        for k, g in enumerate(st.grids):
            xy[g.index] = (bx + k % cols, by + rows - 1 - k // cols)
    return xy, blocks, total_h


def _squares(xy: np.ndarray, size: float = 0.9, pad: float = 0.05) -> np.ndarray:
    """Vertices (n, 4, 2) of unit squares with lower-left corners `xy` (one array, no patch
    objects: a thousand grids build in milliseconds)."""
    x0 = xy[:, 0:1] + pad
    y0 = xy[:, 1:2] + pad
    xs = np.hstack([x0, x0 + size, x0 + size, x0])
    ys = np.hstack([y0, y0, y0 + size, y0 + size])
    return np.stack([xs, ys], axis=-1)


def _map_build(model, metric: str) -> dict:
    from matplotlib.collections import PolyCollection

    layout = model.layout
    xy, blocks, total_h = map_layout(layout)
    width = max(b[0] + b[2] for b in blocks) + 0.5
    fig = Figure(figsize=(min(11.0, 3.0 + width * 0.16), min(8.5, 1.5 + total_h * 0.17) + 0.6),
                 dpi=DPI)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.01, right=0.93, top=0.93, bottom=0.1)
    for (bx, by, bw, bh), st in zip(blocks, layout.streets):
        ax.add_patch(Rectangle((bx, by), bw, bh, fill=False, lw=1.2, ec="0.25"))
        ax.text(bx, by + bh + 0.15, street_label(st), fontsize=9, va="bottom", ha="left")
    cmap = matplotlib.colormaps["YlOrRd" if metric == "open" else "PuRd"]
    cells = PolyCollection(_squares(xy), cmap=cmap, edgecolor="white", linewidth=0.3)
    cells.set_array(np.zeros(len(xy)))
    ax.add_collection(cells)
    cb = fig.colorbar(cells, ax=ax, fraction=0.04, pad=0.01)
    cb.set_label(MAP_METRICS[metric], fontsize=LEGEND_FONT)
    size = 6 + 4 * min(3, model.scenario.grid_workers.per_grid)
    centres = xy + 0.5
    idle = ax.scatter(centres[:, 0], centres[:, 1], s=size, c="white", edgecolors="0.2",
                      linewidths=0.5, label="grid workers", zorder=3)
    busy = ax.scatter(centres[:0, 0], centres[:0, 1], s=size, c="tab:orange", edgecolors="0.2",
                      linewidths=0.5, label="grid workers on follow-up", zorder=3)
    codes = [c for c, d in model.scenario.departments.items() if d.level == "street"]
    short = {c: team_abbrev(c, model.scenario.departments[c]) for c in codes}
    corners, units = [], []
    for (bx, by, bw, _bh), st in zip(blocks, layout.streets):
        for j, code in enumerate(codes):
            u = model.units.get((code, st.index))
            if u is None:
                continue
            per_row = max(1, int(bw // 1.1))
            tx = bx + (j % per_row) * 1.1
            ty = by - 1.1 - (j // per_row) * 1.1
            corners.append((tx, ty))
            units.append(u)
    teams = PolyCollection(_squares(np.array(corners, float).reshape(-1, 2), 0.9, 0.0),
                           edgecolor="0.3", linewidth=0.4)
    ax.add_collection(teams)
    load_cmap = matplotlib.colormaps["RdYlGn_r"]
    ax.scatter([], [], marker="s", c=[load_cmap(0.2)], label="street teams (green idle → "
               "red overloaded)")
    if codes:   # one line naming the teams in their order under every street (not a label
        # per square: a thousand-grid district has a hundred of them, each a text to lay out)
        order = "  ".join(f"{i + 1} {short[c]}" for i, c in enumerate(codes))
        ax.text(0.0, -0.02, f"teams under each street, left to right: {order}",
                transform=ax.transAxes, fontsize=LEGEND_FONT - 1, va="top", ha="left",
                color="0.25")
    ax.set_xlim(-1, width)
    ax.set_ylim(-0.5, total_h + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.05), ncol=2, fontsize=LEGEND_FONT,
              frameon=False)
    title = ax.set_title("", fontsize=10)
    return {"fig": fig, "ax": ax, "cells": cells, "idle": idle, "busy": busy, "teams": teams,
            "units": units, "centres": centres, "title": title, "load_cmap": load_cmap,
            "n": len(xy), "animated": [cells, teams, idle, busy, title],
            "bgkey": lambda: tuple(cells.get_clim())}


def map_figure(model, metric: str = "open") -> Figure:
    """The district: street blocks of grid cells coloured by `metric` ('open': open cases now;
    'repeat_rate': share of the grid's complaints so far that were repeats); a dot per grid for
    its grid workers (filled orange while on follow-up visits); under each street its
    street-level teams, one square each, coloured by how busy they are.

    The figure is built once per model and colouring and then updated in place: a step sets
    the cells' values, the dots and the team colours and the title (nothing is rebuilt)."""
    if metric not in MAP_METRICS:
        raise ValueError(f"metric must be one of {', '.join(MAP_METRICS)}")
    art = _cached(model, ("map", metric), lambda: _map_build(model, metric))
    tr = model.tracker
    if metric == "open":
        values = tr.open_by_grid.astype(float)
        vmax = nice_ceiling(float(values.max(initial=0)), 1.0)
    else:
        values = tr.repeat_rate_by_grid
        vmax = min(1.0, nice_ceiling(float(np.nanmax(values)) if np.isfinite(values).any()
                                     else 0.05, 0.05))
    # the colour scale only grows during a run: colours stay comparable from day to day, and
    # the static part (colour bar, streets, legend) is redrawn only when it grows
    vmax = max(vmax, art.get("vmax", 0.0))
    art["vmax"] = vmax
    cells = art["cells"]
    cells.set_array(np.where(np.isfinite(values), values, 0.0))
    cells.set_clim(0, vmax)
    staffed = np.array([gw.staff > 0 for gw in model.grid_workers])
    busy = np.array([(gw.busy > 0 or gw.queue_length > 0) for gw in model.grid_workers])
    c = art["centres"]
    art["idle"].set_offsets(c[staffed & ~busy])
    art["busy"].set_offsets(c[busy])
    if art["units"]:
        loads = np.array([(u.busy + u.queue_length) / u.staff if u.staff > 0 else 0.0
                          for u in art["units"]])
        art["teams"].set_facecolor(art["load_cmap"](np.minimum(1.0, loads / 1.5)))
    layout = model.layout
    district = display_name(layout.name, layout.name_zh)
    art["title"].set_text(f"{district}: {len(layout.streets)} streets, {art['n']} grids — "
                          f"day {model.now / 24:.0f}, {tr.open_cases:,} open cases")
    return art["fig"]


def status_text(model) -> str:
    """One line: day, open cases, complaints and repeat-complaint rate so far."""
    tr = model.tracker
    n_c = int(tr.complaints_by_grid.sum())
    n_r = int(tr.repeats_by_grid.sum())
    rate = f"{n_r / n_c:.1%}" if n_c else "–"
    return (f"Day {model.now / 24:.0f} of {model.scenario.run.horizon_days:g} · "
            f"{tr.open_cases:,} open cases · {n_c:,} complaints, repeat-complaint rate {rate} · "
            f"police hours on non-police matters {sum(tr.police_nonpolice):,.0f} h")


# ---------------------------------------------------------------- solara components
def _solara():
    import solara
    from mesa.visualization.utils import update_counter

    return solara, update_counter


def _make_components():
    solara, update_counter = _solara()

    @solara.component
    def DistrictMap(model):
        """The map card, with a choice of colouring."""
        update_counter.get()
        metric, set_metric = solara.use_state("open")
        image = solara.use_memo(lambda: png(map_figure(model, metric)),
                                [model, model.steps, metric])
        with solara.Card("District map", classes=["cogov-map"]) as card:
            solara.Select("Colour grids by", values=list(MAP_METRICS.values()),
                          value=MAP_METRICS[metric], dense=True,
                          on_value=lambda v: set_metric(
                              next(k for k, t in MAP_METRICS.items() if t == v)))
            solara.Text(status_text(model), classes=["cogov-status"])
            solara.Image(image, classes=["cogov-map-image"])
        return card

    def chart(key: str):
        title, fn = CHARTS[key]

        @solara.component
        def Chart(model):
            update_counter.get()
            image = solara.use_memo(lambda: png(fn(model)), [model, model.steps])
            with solara.Card(title, classes=["cogov-chart", f"cogov-chart-{key}"]) as card:
                solara.Image(image, classes=["cogov-chart-image"])
            return card

        Chart.__name__ = f"Chart_{key}"
        return Chart

    return DistrictMap, {key: chart(key) for key in CHARTS}


@functools.lru_cache(maxsize=1)
def components():
    """(DistrictMap, {chart key: component}); built on first use so importing this module
    needs neither solara nor mesa.visualization."""
    return _make_components()
