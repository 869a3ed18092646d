"""The brief's section "Does the model reproduce what is known?" (模型能否重现已知事实？), shown
when the results folder holds `patterns.csv` (written by `cogov patterns`): how many published
patterns the scenarios reproduce, a table of every pattern (range, simulated mean and 95% CI,
source) and the figure of ranges against simulated intervals."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

HEADING = {"en": "Does the model reproduce what is known?", "zh": "模型能否重现已知事实？"}


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def _num(v) -> str:
    from ..experiments.patterns import _fmt

    return _fmt(float(v))


def read_patterns(folder: str | Path) -> pd.DataFrame | None:
    """patterns.csv of a results folder, or None when absent or unreadable."""
    path = Path(folder) / "patterns.csv"
    if not path.is_file():
        return None
    try:
        t = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    need = {"scenario", "pattern", "metric", "low", "high", "simulated", "ci_low", "ci_high",
            "ok", "source"}
    if not need <= set(t.columns):
        return None
    t["ok"] = t["ok"].astype(str).str.lower().isin(("true", "1"))
    return t


def section(folder: str | Path, lang: str = "en", save_fig=None, labels: dict | None = None
            ) -> str:
    """The section's HTML, '' when the folder has no patterns.csv. `save_fig(Fig) -> png
    bytes` writes the figure beside the brief (sim.report.figures.save)."""
    t = read_patterns(folder)
    if t is None or t.empty:
        return ""
    zh = lang == "zh"
    labels = labels or {}
    n, ok = len(t), int(t["ok"].sum())
    miss = t[~t["ok"]]
    lead = (f"把模型与公开数据（城市热线年报、包河改革报道、其他城市的同类改革、311 日志）对照："
            f"{n} 项中重现 {ok} 项。每项的范围、来源及其换算见 scenarios/targets/ 与 "
            f"docs/input-data.md。" if zh else
            f"The model against published figures (city hotline reports, the Baohe reform "
            f"report, comparable reforms elsewhere, 311 logs): {ok} of {n} patterns reproduced. "
            f"Each range, its source and how it was converted are in scenarios/targets/ and "
            f"docs/input-data.md.")
    parts = [f"<h2>{_e(HEADING['zh' if zh else 'en'])}</h2>", f"<p>{_e(lead)}</p>"]
    if len(miss):
        names = "、".join if zh else ", ".join
        parts.append(f"<p><b>{_e('未重现：' if zh else 'Missed: ')}</b>"
                     f"{_e(names(f'{r.pattern} ({labels.get(r.scenario, r.scenario)})' for r in miss.itertuples()))}"  # noqa: E501
                     f"{_e('。读结果时请记住这些偏差。' if zh else '. Read the results with these gaps in mind.')}"  # noqa: E501
                     f"</p>")
    head = (["模式", "情景", "指标", "范围", "模拟值（95% 置信区间）", "重现", "来源"] if zh else
            ["pattern", "scenario", "metric", "range", "simulated (95% CI)", "reproduced",
             "source"])
    rows = []
    for r in t.itertuples():
        ci = (f" ({_num(r.ci_low)} to {_num(r.ci_high)})" if np.isfinite(r.ci_low) else "")
        mark = ("是" if r.ok else "否") if zh else ("yes" if r.ok else "no")
        rows.append("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in (
            r.pattern, labels.get(r.scenario, r.scenario), r.metric,
            f"[{_num(r.low)}, {_num(r.high)}]", f"{_num(r.simulated)}{ci}", mark, r.source))
            + "</tr>")
    parts.append("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head)
                 + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    if save_fig is not None:
        from ..experiments.patterns import figure
        from .figures import Fig

        title = HEADING["zh" if zh else "en"]
        caption = ("每行一个模式：蓝带为公开数据的范围，线段为模拟值的 95% 置信区间，圆点为均值。"
                   if zh else "One row per pattern: the blue band is the published range, the "
                   "bar the simulated 95% CI, the dot its mean (green reproduced, red missed).")
        png = save_fig(Fig("patterns", title, caption, figure(t, labels, lang)))
        b64 = base64.b64encode(png).decode("ascii")
        parts.append(f"<figure id=\"fig-patterns\"><img src=\"data:image/png;base64,{b64}\" "
                     f"alt=\"{_e(title)}\"><figcaption>{_e(caption)}</figcaption></figure>")
    return "\n".join(parts)
