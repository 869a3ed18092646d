"""The brief's figures, drawn with matplotlib from a loaded results directory.

Each function returns a `Fig` (name, title, caption, matplotlib figure) or None when the data it
needs is absent. `save` writes a figure as PNG and PDF and returns the PNG bytes for embedding.
Labels follow `lang` ("en" or "zh"); Chinese names render through `fonts.use_cjk_font`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from .results import Results  # noqa: E402
from .text import metric_info, scale, unit  # noqa: E402

COLORS = plt.get_cmap("tab10").colors

L = {
    "en": {
        "scenario": "scenario", "day": "day", "mean_band": "mean over replications, 95% band",
        "backlog": "open cases (backlog)", "repeats": "repeat complaints per day",
        "median_ttc": "median", "p90_ttc": "90th percentile",
        "ttc_runs": "time to close per run", "ttc_cat": "mean time to close by category",
        "heat_title": "repeat-complaint rate by street and grid",
        "heat_diff": "difference to {base}", "no_compl": "grey: no complaints",
        "utilization": "staff utilisation", "staff_hours": "staff hours",
        "s1": "first order (S1)", "st": "total order (ST)", "sobol": "Sobol indices",
        "mu_star": "Morris \u03bc* (mean |elementary effect|)", "sigma": "Morris \u03c3",
        "share_var": "share of output variance", "runs": "runs",
        "distribution": "distribution over the sweep's runs",
    },
    "zh": {
        "scenario": "情景", "day": "天", "mean_band": "各次重复运行的均值及95%区间",
        "backlog": "在办案件（积压）", "repeats": "每日重复投诉",
        "median_ttc": "中位数", "p90_ttc": "90分位数",
        "ttc_runs": "每次运行的办结时长", "ttc_cat": "各类别平均办结时长",
        "heat_title": "各街道、网格的重复投诉率", "heat_diff": "与「{base}」之差",
        "no_compl": "灰色：无投诉", "utilization": "人员负荷率", "staff_hours": "工时",
        "s1": "一阶指数（S1）", "st": "总效应指数（ST）", "sobol": "Sobol 敏感性指数",
        "mu_star": "Morris \u03bc*（基本效应绝对值均值）", "sigma": "Morris \u03c3",
        "share_var": "占输出方差比例", "runs": "次运行",
        "distribution": "参数扫描各次运行的分布",
    },
}


@dataclass
class Fig:
    name: str
    title: str
    caption: str
    fig: object  # matplotlib Figure


def save(f: Fig, folder: Path) -> bytes:
    """Write `folder/NAME.png` and `folder/NAME.pdf` (`sim.experiments.figures.save`, the one
    figure saver); return the PNG bytes."""
    from ..experiments.figures import save as save_figure

    png = save_figure(f.fig, folder / f.name)[0]
    return png.read_bytes()


# ----------------------------------------------------------------------------- labels
class Labels:
    """Display names of departments, categories and streets in the brief's language."""

    def __init__(self, res: Results, lang: str):
        self.lang = lang
        self.t = L[lang]
        self.depts: dict[str, str] = {}
        for ref in res.scenarios:
            sc = ref.scenario
            if sc is None:
                continue
            for code, d in sc.departments.items():
                self.depts.setdefault(code, (d.name_zh or d.name) if lang == "zh" else d.name)
        self.scen: dict[str, str] = {r.name: scenario_label(r, lang) for r in res.scenarios}
        self.cats: dict[str, str] = {}
        if res.by_category is not None and "category" in res.by_category:
            for _, r in res.by_category.drop_duplicates("category").iterrows():
                zh = r.get("name_zh") if isinstance(r.get("name_zh"), str) else ""
                en = r.get("name") if isinstance(r.get("name"), str) else r["category"]
                self.cats[r["category"]] = (zh or en) if lang == "zh" else en
        self.streets: dict[str, str] = {}
        if res.by_street is not None and "street" in res.by_street:
            for _, r in res.by_street.drop_duplicates("street").iterrows():
                zh = r.get("name_zh") if isinstance(r.get("name_zh"), str) else ""
                self.streets[r["street"]] = (zh or r["street"]) if lang == "zh" else r["street"]

    def metric(self, m: str) -> str:
        info = metric_info(m, self.lang, self.depts)
        u = unit(info.kind, self.lang)
        return f"{info.label} ({u})" if self.lang != "zh" else f"{info.label}（{u}）"


def scenario_label(ref, lang: str) -> str:
    """A scenario's name for readers: `display_name_zh` (zh), `display_name`, else its name."""
    sc = getattr(ref, "scenario", None)
    if sc is None:
        return ref.name
    if lang == "zh" and sc.display_name_zh:
        return sc.display_name_zh
    return sc.display_name or ref.name


def _wrap(label: str, width: int = 16) -> str:
    """A tick label over lines of about `width` columns (a Chinese character counts two)."""
    import textwrap

    if not any(ord(c) > 0x2e80 for c in label):
        return textwrap.fill(label, width)
    lines, cur, n = [], "", 0
    for ch in label:
        w = 2 if ord(ch) > 0x2e80 else 1
        # never start a line with closing punctuation (a lone "）" under a label)
        if n + w > width and cur and ch not in NO_LINE_START:
            carry = cur[-1] if cur[-1] in "（(「『" and len(cur) > 1 else ""
            lines.append(cur[:-1] if carry else cur)
            cur, n = carry, (2 if carry and ord(carry) > 0x2e80 else len(carry))
        cur += ch
        n += w
    return "\n".join([*lines, cur])


NO_LINE_START = "）)」』，、。：；！？"


def _color(i: int):
    return COLORS[i % len(COLORS)]


def _cmp_rows(res: Results, metric: str, names: list[str]) -> pd.DataFrame | None:
    c = res.comparison
    if c is None:
        return None
    rows = c[c["metric"] == metric].set_index("scenario")
    rows = rows.reindex([n for n in names if n in rows.index])
    return rows if len(rows) else None


def _yerr(rows: pd.DataFrame, k: float) -> np.ndarray:
    m = rows["mean"].to_numpy(float) * k
    lo = rows["ci_low"].to_numpy(float) * k
    hi = rows["ci_high"].to_numpy(float) * k
    err = np.vstack([m - lo, hi - m])
    return np.nan_to_num(err, nan=0.0)


# ----------------------------------------------------------------------------- figures
def metric_ci(res: Results, metric: str, name: str, lab: Labels, title: str) -> Fig | None:
    """Mean and 95% CI per scenario, one bar each."""
    names = res.scenario_names
    rows = _cmp_rows(res, metric, names)
    if rows is None:
        return None
    info = metric_info(metric, lab.lang, lab.depts)
    k = scale(info.kind)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * len(rows) + 2), 3.4))
    x = np.arange(len(rows))
    ax.bar(x, rows["mean"].to_numpy(float) * k, yerr=_yerr(rows, k), capsize=6,
           color=[_color(i) for i in range(len(rows))], alpha=0.85)
    ax.set_xticks(x, [_wrap(lab.scen.get(n, n)) for n in rows.index])
    ax.set_ylabel(lab.metric(metric))
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    cap = ("均值及95%置信区间（各次重复运行）" if lab.lang == "zh"
           else "mean over replications with 95% confidence interval")
    return Fig(name, title, cap, fig)


def time_to_close(res: Results, lab: Labels) -> Fig | None:
    """Left: per-run median and 90th percentile time to close; right: by category."""
    names = res.scenario_names
    runs = res.runs
    have_runs = runs is not None and "median_time_to_close_hours" in runs
    bc = res.by_category
    have_cat = bc is not None and {"category", "mean_time_to_close_hours"} <= set(bc.columns)
    if not (have_runs or have_cat):
        return None
    t = lab.t
    ncols = int(have_runs) + int(have_cat)
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 3.8 + (1.5 if have_cat else 0)),
                             squeeze=False)
    axes = list(axes[0])
    h = unit("hours", lab.lang)
    if have_runs:
        ax = axes.pop(0)
        data, pos, cols = [], [], []
        for i, n in enumerate(names):
            sub = runs[runs["scenario"] == n]
            for j, m in enumerate(("median_time_to_close_hours", "p90_time_to_close_hours")):
                if m in sub:
                    data.append(sub[m].dropna().to_numpy(float))
                    pos.append(i * 3 + j)
                    cols.append(_color(i))
        bp = ax.boxplot(data, positions=pos, widths=0.8, patch_artist=True)
        for patch, c, p in zip(bp["boxes"], cols, pos):
            patch.set_facecolor(c)
            patch.set_alpha(0.35 if p % 3 else 0.8)
        ax.set_xticks([i * 3 + 0.5 for i in range(len(names))],
                      [_wrap(lab.scen.get(n, n)) for n in names])
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(facecolor="#777777", alpha=0.8, label=t["median_ttc"]),
                           Patch(facecolor="#777777", alpha=0.35, label=t["p90_ttc"])],
                  fontsize=8, loc="upper right")
        ax.set_ylabel(f"{t['ttc_runs']} ({h})" if lab.lang != "zh" else f"{t['ttc_runs']}（{h}）")
        ax.set_title(f"{t['median_ttc']} / {t['p90_ttc']}")
        ax.grid(axis="y", alpha=0.3)
    if have_cat:
        ax = axes.pop(0)
        top = (bc.groupby("category")["complaints"].sum().sort_values(ascending=False)
               .index[:12].tolist() if "complaints" in bc else bc["category"].unique()[:12])
        y = np.arange(len(top))
        w = 0.8 / max(1, len(names))
        for i, n in enumerate(names):
            sub = bc[bc["scenario"] == n].set_index("category").reindex(top)
            ax.barh(y + i * w, sub["mean_time_to_close_hours"].to_numpy(float), height=w,
                    color=_color(i), label=lab.scen.get(n, n))
        ax.set_yticks(y + w * (len(names) - 1) / 2, [lab.cats.get(c, c) for c in top])
        ax.invert_yaxis()
        ax.set_xlabel(f"{t['ttc_cat']} ({h})" if lab.lang != "zh" else f"{t['ttc_cat']}（{h}）")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    title = "办结时长分布" if lab.lang == "zh" else "Time to close"
    cap = ("左：各次运行的办结时长中位数与90分位数（深色：中位数；浅色：90分位数）；"
           "右：投诉量最多的类别的平均办结时长（各次运行均值）" if lab.lang == "zh" else
           "left: median (dark) and 90th percentile (light) time to close in each run; right: "
           "mean time to close of the categories with most complaints (mean over runs)")
    return Fig("time_to_close", title, cap, fig)


def over_time(res: Results, lab: Labels) -> Fig | None:
    """Backlog and repeat complaints per day, mean over replications with a 95% band."""
    ts = res.timeseries
    if ts is None or "day" not in ts:
        return None
    cols = [c for c in ("backlog", "repeats") if c in ts]
    if not cols:
        return None
    t = lab.t
    fig, axes = plt.subplots(1, len(cols), figsize=(5.5 * len(cols), 3.6), squeeze=False)
    for ax, col in zip(axes[0], cols):
        for i, n in enumerate(res.scenario_names):
            sub = ts[ts["scenario"] == n]
            if sub.empty:
                continue
            g = sub.groupby("day")[col]
            m, sd, cnt = g.mean(), g.std(ddof=1), g.count()
            half = 1.96 * (sd / np.sqrt(cnt)).fillna(0.0)
            ax.plot(m.index, m.to_numpy(), color=_color(i), label=lab.scen.get(n, n))
            ax.fill_between(m.index, (m - half).to_numpy(), (m + half).to_numpy(),
                            color=_color(i), alpha=0.2, linewidth=0)
        u = unit("cases" if col == "backlog" else "complaints", lab.lang)
        name = t["backlog"] if col == "backlog" else t["repeats"]
        ax.set_ylabel(f"{name} ({u})" if lab.lang != "zh" else f"{name}（{u}）")
        ax.set_xlabel(f"{t['day']}" if lab.lang == "zh" else "day of the run (days)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    title = ("积压与重复投诉随时间变化" if lab.lang == "zh"
             else "Backlog and repeat complaints over time")
    return Fig("over_time", title, t["mean_band"], fig)


def _street_blocks(bg: pd.DataFrame, streets: list[str], values: dict[str, float]):
    """A map-like image: one square block of grids per street, blocks in rows."""
    per = {s: bg[bg["street"] == s]["grid"].tolist() for s in streets}
    k = max(1, math.ceil(math.sqrt(max(len(v) for v in per.values()))))
    ncol = max(1, math.ceil(math.sqrt(len(streets))))
    nrow = math.ceil(len(streets) / ncol)
    img = np.full((nrow * (k + 2), ncol * (k + 1)), np.nan)
    present = img.copy()
    origins = {}
    for si, s in enumerate(streets):
        r0, c0 = (si // ncol) * (k + 2) + 2, (si % ncol) * (k + 1)
        origins[s] = (r0, c0)
        for gi, g in enumerate(per[s]):
            img[r0 + gi // k, c0 + gi % k] = values.get(g, np.nan)
            present[r0 + gi // k, c0 + gi % k] = 1.0
    return img, present, origins


def heatmap(res: Results, lab: Labels) -> Fig | None:
    """Repeat-complaint rate of every grid, grids grouped in street blocks; one panel per
    scenario and one per difference to the first scenario."""
    bg = res.by_grid
    if bg is None or not {"grid", "street", "repeat_complaint_rate"} <= set(bg.columns):
        return None
    names = [n for n in res.scenario_names if n in set(bg["scenario"])][:6]
    if not names:
        return None
    t = lab.t
    streets = list(dict.fromkeys(bg[bg["scenario"] == names[0]]["street"]))
    layout = bg[bg["scenario"] == names[0]][["grid", "street"]]

    def vals(n):
        sub = bg[bg["scenario"] == n]
        rate = sub["repeat_complaint_rate"].to_numpy(float) * 100
        if "complaints" in sub:
            rate = np.where(sub["complaints"].to_numpy(float) > 0, rate, np.nan)
        return dict(zip(sub["grid"], rate))

    levels = {n: vals(n) for n in names}
    vmax = max([np.nanmax(list(v.values())) if len(v) and np.isfinite(
        list(v.values())).any() else 0.0 for v in levels.values()] + [1e-9])
    panels = [(lab.scen.get(n, n), levels[n], False) for n in names]
    for n in names[1:]:
        d = {g: levels[n].get(g, np.nan) - levels[names[0]].get(g, np.nan) for g in levels[n]}
        panels.append((t["heat_diff"].format(base=lab.scen.get(names[0], names[0]))
                       + f": {lab.scen.get(n, n)}", d, True))
    ncol = min(3, len(panels))
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 4.2 * nrow), squeeze=False)
    dmax = max([np.nanmax(np.abs(list(p[1].values()))) if p[2] and np.isfinite(
        list(p[1].values())).any() else 0.0 for p in panels] + [1e-9])
    cmap = plt.get_cmap("viridis").with_extremes(bad=(0, 0, 0, 0))
    dcmap = plt.get_cmap("RdBu_r").with_extremes(bad=(0, 0, 0, 0))
    grey = ListedColormap(["#dddddd"])
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, (title, v, is_diff) in zip(axes.flat, panels):
        img, present, origins = _street_blocks(layout, streets, v)
        shown = np.ma.masked_invalid(img)
        ax.imshow(np.ma.masked_invalid(present), cmap=grey, interpolation="nearest")
        if is_diff:
            im = ax.imshow(shown, cmap=dcmap, vmin=-dmax, vmax=dmax, interpolation="nearest")
        else:
            im = ax.imshow(shown, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
        for s, (r0, c0) in origins.items():
            ax.text(c0 - 0.5, r0 - 0.6, lab.streets.get(s, s), fontsize=7, va="bottom",
                    ha="left", clip_on=False)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        for sp in ax.spines.values():
            sp.set_visible(False)
        cb = fig.colorbar(im, ax=ax, shrink=0.7)
        pp = "个百分点" if lab.lang == "zh" else "percentage points"
        cb.set_label(pp if is_diff else "%", fontsize=8)
    fig.tight_layout()
    title = t["heat_title"]
    cap = (("每个方块为一个街道，方块内每格为一个网格（按网格编号排列，非真实地理位置）；"
            "颜色为各次运行均值下的重复投诉率（%）。") if lab.lang == "zh" else
           ("each block is a street, each cell in it one grid (in grid order, not true geography); "
            "colour: repeat-complaint rate (%) over the replications. ")) + t["no_compl"]
    return Fig("repeat_rate_map", title, cap, fig)


def staff_load(res: Results, lab: Labels) -> Fig | None:
    """Utilisation and staff hours per department, mean with 95% CI per scenario."""
    c = res.comparison
    if c is None:
        return None
    names = res.scenario_names
    panels = []
    for prefix in ("utilization", "staff_hours"):
        ms = [m for m in dict.fromkeys(c["metric"]) if m.startswith(prefix + ".")]
        if ms:
            panels.append((prefix, ms))
    if not panels:
        return None
    t = lab.t
    # small multiples that fit a page: one panel per measure, stacked, departments as rows
    # (horizontal bars), one bar per scenario; one legend
    n_d = max(len(ms) for _, ms in panels)
    per = 0.22 * max(1, len(names)) + 0.12
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, 0.9 + len(panels) *
                                                      (0.6 + n_d * per)), squeeze=False)
    for ax, (prefix, ms) in zip(axes[:, 0], panels):
        kind = "share" if prefix == "utilization" else "staff_hours"
        k = scale(kind)
        y = np.arange(len(ms))
        h = 0.8 / max(1, len(names))
        for i, n in enumerate(names):
            rows = c[(c["scenario"] == n) & (c["metric"].isin(ms))].set_index("metric")
            rows = rows.reindex(ms)
            ax.barh(y + i * h, rows["mean"].to_numpy(float) * k, height=h,
                    xerr=_yerr(rows, k), capsize=2, color=_color(i), label=lab.scen.get(n, n))
        ax.set_yticks(y + h * (len(names) - 1) / 2,
                      [lab.depts.get(m.split(".", 1)[1], m.split(".", 1)[1]) for m in ms],
                      fontsize=8)
        ax.invert_yaxis()
        u = "%" if kind == "share" else unit("staff_hours", lab.lang)
        nm = t["utilization"] if prefix == "utilization" else t["staff_hours"]
        ax.set_xlabel(f"{nm} ({u})" if lab.lang != "zh" else f"{nm}（{u}）")
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    title = "各部门人员负荷" if lab.lang == "zh" else "Staff load per department"
    cap = ("负荷率：忙碌工时占在岗工时比例；工时：预热期后各部门投入的工时；均值及95%置信区间"
           if lab.lang == "zh" else
           "utilisation: busy share of on-duty staff time; staff hours: hours worked after "
           "warm-up; mean with 95% confidence interval")
    return Fig("staff_load", title, cap, fig)


def _param_col(df: pd.DataFrame) -> str | None:
    for c in ("parameter", "factor", "assumption", "name", "names", "param", "Unnamed: 0",
              "index"):
        if c in df.columns:
            return c
    obj = [c for c in df.columns if df[c].dtype == object]
    return obj[0] if obj else None


def _output_groups(df: pd.DataFrame, key: str):
    for c in ("output", "metric", "outcome", "response"):
        if c in df.columns:
            for out, sub in df.groupby(c, sort=False):
                yield f"{key}: {out}", str(out), sub
            return
    yield key, key.split("/")[-1], df


def _wrap_label(text: str, lang: str, width: int = 18) -> str:
    """A tick label over lines of about `width` characters (Chinese by characters, never
    leaving a closing bracket or punctuation alone at the start of a line)."""
    if len(text) <= width:
        return text
    if lang == "zh":
        w = max(6, width // 2)
        lines, cur = [], ""
        for ch in text:
            if len(cur) >= w and ch not in NO_LINE_START:
                lines.append(cur)
                cur = ""
            cur += ch
        return "\n".join(lines + [cur])
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def sensitivity(res: Results, lab: Labels) -> list[Fig]:
    """Sobol (S1, ST with CIs) and Morris (mu*, sigma) figures from sensitivity/*.csv."""
    out = []
    t = lab.t
    for key, df in res.sensitivity.items():
        pc = _param_col(df)
        if pc is None:
            continue
        for title, output, sub in _output_groups(df, key):
            sub = sub.dropna(subset=[pc])
            if {"S1", "ST"} & set(sub.columns):
                from .verdict import plain_factor

                rank = "ST" if "ST" in sub else "S1"
                sub = sub.sort_values(rank, ascending=False, na_position="last")
                names = [_wrap_label(plain_factor(str(v), lab.lang), lab.lang)
                         for v in sub[pc]]
                fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(sub) + 2), 3.6))
                x = np.arange(len(sub))
                for j, (col, lbl) in enumerate((("S1", t["s1"]), ("ST", t["st"]))):
                    if col not in sub:
                        continue
                    err = sub[col + "_conf"].to_numpy(float) * 100 if col + "_conf" in sub \
                        else None
                    ax.bar(x + j * 0.4, sub[col].to_numpy(float) * 100, width=0.4, yerr=err,
                           capsize=3, color=_color(j), label=lbl)
                ax.set_xticks(x + 0.2, names, rotation=30, ha="right")
                ax.set_ylabel(f"{t['share_var']} (%)" if lab.lang != "zh"
                              else f"{t['share_var']}（%）")
                ax.legend(fontsize=8)
                ax.grid(axis="y", alpha=0.3)
                ax.set_title(f"{t['sobol']}: {metric_info(output, lab.lang).label}")
                fig.tight_layout()
                cap = ("误差线：95%置信区间（SALib 自助法）" if lab.lang == "zh"
                       else "error bars: 95% confidence interval (SALib bootstrap)")
                out.append(Fig(_slug("sobol_" + title),
                               f"{t['sobol']}: {metric_info(output, lab.lang).label}", cap, fig))
            elif "mu_star" in sub.columns:
                info = metric_info(output, lab.lang)
                u = unit(info.kind, lab.lang)
                k = scale(info.kind)
                fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
                x = np.arange(len(sub))
                err = sub["mu_star_conf"].to_numpy(float) * k if "mu_star_conf" in sub else None
                axes[0].bar(x, sub["mu_star"].to_numpy(float) * k, yerr=err, capsize=3,
                            color=_color(0))
                from .verdict import plain_factor

                axes[0].set_xticks(x, [_wrap_label(plain_factor(str(v), lab.lang), lab.lang)
                                       for v in sub[pc]], rotation=30, ha="right")
                axes[0].set_ylabel(f"{t['mu_star']} ({u})")
                if "sigma" in sub:
                    axes[1].scatter(sub["mu_star"] * k, sub["sigma"] * k, color=_color(1))
                    for _, r in sub.iterrows():
                        axes[1].annotate(str(r[pc]), (r["mu_star"] * k, r["sigma"] * k),
                                         fontsize=7)
                    axes[1].set_xlabel(f"\u03bc* ({u})")
                    axes[1].set_ylabel(f"\u03c3 ({u})")
                else:
                    axes[1].axis("off")
                for ax in axes:
                    ax.grid(alpha=0.3)
                fig.suptitle(f"Morris: {info.label}")
                fig.tight_layout()
                cap = ("μ*：参数对输出的平均影响大小；σ：非线性或交互作用" if lab.lang == "zh"
                       else "\u03bc*: how much a factor moves the output on average; \u03c3: "
                            "non-linearity or interactions")
                out.append(Fig(_slug("morris_" + title), f"Morris: {info.label}", cap, fig))
    return out


def sweep_outputs(res: Results, lab: Labels, metrics: list[str]) -> Fig | None:
    """Histograms of headline outputs over a sweep's runs."""
    runs = res.runs
    if runs is None:
        return None
    ms = [m for m in metrics if m in runs and runs[m].notna().any()][:4]
    if not ms:
        return None
    fig, axes = plt.subplots(1, len(ms), figsize=(4.2 * len(ms), 3.4), squeeze=False)
    for ax, m in zip(axes[0], ms):
        info = metric_info(m, lab.lang, lab.depts)
        ax.hist(runs[m].dropna().to_numpy(float) * scale(info.kind), bins=30, color=_color(0))
        ax.set_xlabel(lab.metric(m))
        ax.set_ylabel(f"{lab.t['runs']}" if lab.lang == "zh" else "runs (count)")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    title = "输出分布" if lab.lang == "zh" else "Outputs across the sweep"
    return Fig("sweep_outputs", title, lab.t["distribution"], fig)


def _slug(s: str) -> str:
    out = "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in s)
    while "__" in out:
        out = out.replace("__", "_")
    return out.strip("_").lower()[:60]


def all_figures(res: Results, lang: str, headline: list[str]) -> list[Fig]:
    """Every figure the results support, in the brief's order."""
    lab = Labels(res, lang)
    zh = lang == "zh"
    figs: list[Fig | None] = []
    if res.kind == "compare" or res.comparison is not None:
        figs += [
            metric_ci(res, "citizen_repeat_rate", "citizen_repeat_rate", lab,
                      "群众重复投诉率" if zh else "Citizen repeat rate"),
            metric_ci(res, "throughput_per_day", "throughput", lab,
                      "日均结案量" if zh else "Throughput"),
            metric_ci(res, "repeat_complaint_rate", "repeat_complaint_rate", lab,
                      "重复投诉率" if zh else "Repeat-complaint rate"),
            time_to_close(res, lab), over_time(res, lab), heatmap(res, lab), staff_load(res, lab),
        ]
    else:
        figs.append(sweep_outputs(res, lab, headline))
    figs += sensitivity(res, lab)
    return [f for f in figs if f is not None]
