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
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

MAP_METRICS = {"open": "open cases", "repeat_rate": "repeat-complaint rate"}
DPI = 90


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
    rc = {"axes.unicode_minus": False, "font.size": 9}
    if fam:
        rc["font.family"] = ["DejaVu Sans", fam]
    with matplotlib.rc_context(rc):
        yield fam


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (fonts as `figure_fonts`)."""
    buf = io.BytesIO()
    with figure_fonts():
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _new_fig(w: float = 6.0, h: float = 3.4) -> tuple[Figure, object]:
    fig = Figure(figsize=(w, h), dpi=DPI)
    ax = fig.subplots()
    ax.grid(True, alpha=0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, ax


def _frame(model):
    return model.datacollector.get_model_vars_dataframe()


def _days(model, df) -> np.ndarray:
    return df["time_hours"].to_numpy(dtype=float) / 24.0 if len(df) else np.zeros(0)


def _days_axis(ax, model) -> None:
    """Day 0 to now (at least a week), so the first days do not fill a zoomed-in axis."""
    ax.set_xlim(0, max(7.0, model.now / 24.0))


def _warmup(ax, model) -> None:
    w = model.scenario.run.warmup_days
    if w > 0:
        ax.axvspan(0, w, color="0.9", zorder=0, label=f"warm-up ({w:g} days)")


def _empty(ax, text: str = "press Step or ▶ to run") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")


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
def complaints_figure(model) -> Figure:
    """Complaints and repeat complaints per interval (a day by default)."""
    with figure_fonts():
        fig, ax = _new_fig()
        df = _frame(model)
        if len(df):
            x = _days(model, df)
            dots = "." if len(x) < 40 else None
            ax.plot(x, df["complaints"], label="complaints", color="tab:blue", marker=dots)
            ax.plot(x, df["repeats"], label="repeat complaints", color="tab:red", marker=dots)
            ax.legend(loc="upper left")
        else:
            _empty(ax)
        _days_axis(ax, model)
        ax.set_xlabel("day")
        ax.set_ylabel(f"per {model.scenario.run.collect_interval_hours:g} h")
        ax.set_title("Complaints and repeats")
    return fig


def _dept_lines(model, prefix: str, title: str, ylabel: str) -> Figure:
    with figure_fonts():
        codes = list(model.scenario.departments)
        fig, ax = _new_fig(6.0, 3.4 + 0.18 * math.ceil(len(codes) / 3))
        df = _frame(model)
        cmap = matplotlib.colormaps["tab20"]
        if len(df):
            x = _days(model, df)
            for i, code in enumerate(codes):
                col = f"{prefix}.{code}"
                if col in df:
                    ax.plot(x, df[col], label=dept_label(model, code), color=cmap(i % 20), lw=1.2)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=7,
                      frameon=False)
        else:
            _empty(ax)
        _days_axis(ax, model)
        ax.set_xlabel("day")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    return fig


def backlog_figure(model) -> Figure:
    """Tasks waiting in each department's queues (all its street teams together)."""
    return _dept_lines(model, "queue", "Backlog per department", "tasks waiting")


def staff_load_figure(model) -> Figure:
    """Staff load: busy staff-hours over staff-hours on duty, per department and interval."""
    fig = _dept_lines(model, "utilization", "Staff load", "busy / on duty")
    ax = fig.axes[0]
    with figure_fonts():
        ax.axhline(1.0, color="0.3", lw=0.8, ls="--")
    return fig


def time_to_close_figure(model) -> Figure:
    """Hours from opening to closing of the cases closed in each interval."""
    with figure_fonts():
        fig, ax = _new_fig()
        tr = model.tracker
        if tr.day:
            ax.plot(tr.day, tr.ttc_median, label="median", color="tab:green")
            ax.plot(tr.day, tr.ttc_mean, label="mean", color="tab:olive", lw=1.0)
            ax.plot(tr.day, tr.ttc_p90, label="90th percentile", color="tab:gray", lw=0.8,
                    ls="--")
            ax.legend(loc="upper left")
        else:
            _empty(ax)
        _days_axis(ax, model)
        ax.set_xlabel("day (cases closed that day)")
        ax.set_ylabel("hours to close")
        ax.set_title("Time to close")
    return fig


def police_figure(model) -> Figure:
    """Police staff hours spent on non-police matters per interval (counted after warm-up)."""
    with figure_fonts():
        fig, ax = _new_fig()
        tr = model.tracker
        if tr.day:
            _warmup(ax, model)
            ax.bar(tr.day, tr.police_nonpolice, width=model.scenario.run.collect_interval_hours
                   / 24.0 * 0.9, color="tab:purple", label="police hours, non-police matters")
            ax.legend(loc="upper left")
        else:
            _empty(ax)
        _days_axis(ax, model)
        ax.set_xlabel("day")
        ax.set_ylabel("staff hours")
        total = sum(tr.police_nonpolice)
        ax.set_title(f"Police hours on non-police matters (total {total:,.0f} h)")
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


def map_figure(model, metric: str = "open") -> Figure:
    """The district: street blocks of grid cells coloured by `metric` ('open': open cases now;
    'repeat_rate': share of the grid's complaints so far that were repeats); a dot per grid for
    its grid workers (filled orange while on follow-up visits); under each street its
    street-level teams, one square each, coloured by how busy they are."""
    if metric not in MAP_METRICS:
        raise ValueError(f"metric must be one of {', '.join(MAP_METRICS)}")
    layout = model.layout
    xy, blocks, total_h = map_layout(layout)
    tr = model.tracker
    if metric == "open":
        values = tr.open_by_grid.astype(float)
        cmap, vmax = matplotlib.colormaps["YlOrRd"], max(1.0, float(values.max(initial=0)))
    else:
        values = tr.repeat_rate_by_grid
        cmap, vmax = matplotlib.colormaps["PuRd"], max(0.05, float(np.nanmax(values))
                                                       if np.isfinite(values).any() else 0.05)
    width = max(b[0] + b[2] for b in blocks) + 0.5
    with figure_fonts():
        fig = Figure(figsize=(min(11.0, 3.0 + width * 0.16), min(8.5, 1.5 + total_h * 0.17)),
                     dpi=DPI)
        ax = fig.subplots()
        for (bx, by, bw, bh), st in zip(blocks, layout.streets):
            ax.add_patch(Rectangle((bx, by), bw, bh, fill=False, lw=1.2, ec="0.25"))
            ax.text(bx, by + bh + 0.15, street_label(st), fontsize=8, va="bottom", ha="left")
        cells = [Rectangle((x + 0.05, y + 0.05), 0.9, 0.9) for x, y in xy]
        pc = PatchCollection(cells, cmap=cmap, edgecolor="white", linewidth=0.3)
        vals = np.where(np.isfinite(values), values, 0.0)
        pc.set_array(vals)
        pc.set_clim(0, vmax)
        ax.add_collection(pc)
        cb = fig.colorbar(pc, ax=ax, fraction=0.04, pad=0.01)
        cb.set_label(MAP_METRICS[metric])
        # grid workers: a dot per grid that has any
        staffed = np.array([gw.staff > 0 for gw in model.grid_workers])
        busy = np.array([(gw.busy > 0 or gw.queue_length > 0) for gw in model.grid_workers])
        size = 6 + 4 * min(3, model.scenario.grid_workers.per_grid)
        centres = xy + 0.5
        idle = staffed & ~busy
        ax.scatter(centres[idle, 0], centres[idle, 1], s=size, c="white", edgecolors="0.2",
                   linewidths=0.5, label="grid workers", zorder=3)
        ax.scatter(centres[busy, 0], centres[busy, 1], s=size, c="tab:orange", edgecolors="0.2",
                   linewidths=0.5, label="grid workers on follow-up", zorder=3)
        # street teams: one square per street-level department under each street block
        codes = [c for c, d in model.scenario.departments.items() if d.level == "street"]
        short = {c: team_abbrev(c, model.scenario.departments[c]) for c in codes}
        team_font = 5 if len(xy) > 200 else 6
        load_cmap = matplotlib.colormaps["RdYlGn_r"]
        for (bx, by, bw, _bh), st in zip(blocks, layout.streets):
            for j, code in enumerate(codes):
                u = model.units.get((code, st.index))
                if u is None:
                    continue
                load = (u.busy + u.queue_length) / u.staff if u.staff > 0 else 0.0
                per_row = max(1, int(bw // 1.1))
                tx = bx + (j % per_row) * 1.1
                ty = by - 1.1 - (j // per_row) * 1.1
                ax.add_patch(Rectangle((tx, ty), 0.9, 0.9, fc=load_cmap(min(1.0, load / 1.5)),
                                       ec="0.3", lw=0.4))
                ax.text(tx + 0.45, ty + 0.45, short[code], ha="center", va="center",
                        fontsize=team_font, color="black")
        ax.scatter([], [], marker="s", c=[load_cmap(0.2)], label="street teams (green idle → "
                   "red overloaded)")
        ax.set_xlim(-1, width)
        ax.set_ylim(-0.5, total_h + 1.0)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=7,
                  frameon=False)
        district = display_name(layout.name, layout.name_zh)
        ax.set_title(f"{district}: {len(layout.streets)} streets, {len(xy)} grids — "
                     f"day {model.now / 24:.0f}, {tr.open_cases:,} open cases")
    return fig


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
