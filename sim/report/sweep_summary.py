"""The first section of a sweep's brief: which factors matter, ranked, for the outputs the
experiment actually recorded (`sensitivity_sobol.csv`: total-order index ST;
`sensitivity_morris.csv`: mu*), in plain factor names (sim/report/verdict.py `plain_factor`)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from . import text as T
from .verdict import plain_factor

MAX_FACTORS = 8


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def _outputs(res) -> list[str]:
    m = res.manifest
    exp = m.get("experiment") or {}
    outs = exp.get("outputs") or m.get("outputs") or []
    if isinstance(outs, str):
        outs = [outs]
    return [str(x) for x in outs]


def ranking_section(res, lang: str) -> tuple[str, str]:
    """(heading, HTML): per output, the factors ranked by their share of the output's variance
    (Sobol ST) or by mu* (Morris); ('', '') without sensitivity results."""
    zh = lang == "zh"
    blocks = []
    wanted = _outputs(res)
    for key, df in (res.sensitivity or {}).items():
        from .figures import _output_groups, _param_col

        pc = _param_col(df)
        if pc is None:
            continue
        col = "ST" if "ST" in df.columns else ("mu_star" if "mu_star" in df.columns else None)
        if col is None:
            continue
        for _, output, sub in _output_groups(df, key):
            if wanted and output not in wanted:
                continue
            sub = sub.dropna(subset=[col]).sort_values(col, ascending=False)
            if sub.empty:
                continue
            info = T.metric_info(output, lang)
            rows = []
            for r in sub.head(MAX_FACTORS).itertuples():
                v = float(getattr(r, col))
                shown = (f"{v:.0%}" if col == "ST" else
                         T.number(v, info.kind, T.BASE_DECIMALS.get(info.kind, 2), lang))
                conf = getattr(r, f"{col}_conf", np.nan)
                if conf is not None and pd.notna(conf):
                    shown += (f" ± {float(conf):.0%}" if col == "ST" else
                              f" ± {T.number(float(conf), info.kind, 2, lang, with_unit=False)}")
                name = getattr(r, pc)
                rows.append(f"<tr title=\"{_e(name)}\"><td>{_e(plain_factor(str(name), lang))}"
                            f"</td><td class=\"n\">{_e(shown)}</td></tr>")
            what = ("总效应 Sobol 指数（占输出方差的比例）" if col == "ST" and zh else
                    "total-order Sobol index (share of the output's variance)" if col == "ST"
                    else "Morris μ*（平均影响）" if zh else "Morris μ* (mean absolute effect)")
            blocks.append(f"<h3>{_e(info.label)}</h3><div class=\"wide\"><table><thead><tr>"
                          f"<th>{'因素' if zh else 'factor'}</th><th>{_e(what)}</th></tr></thead>"
                          f"<tbody>{''.join(rows)}</tbody></table></div>")
    if not blocks:
        return "", ""
    intro = ("<p>各因素按其对输出的影响排序（最重要的在前）。</p>" if zh else
             "<p>The factors ranked by how much each moves the output (most first).</p>")
    return ("哪些因素最重要" if zh else "Which factors matter most"), intro + "".join(blocks)


__all__ = ["ranking_section"]
