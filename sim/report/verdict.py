"""The brief's first section: the verdict, in two or three sentences and a table of at most seven
headline metrics.

For each headline metric: the baseline and the alternative (mean), the difference with its 95%
CI, whether that is better, worse or within noise (by the metric's direction, sim/metrics.py),
how often the alternative is better across the assumption draws (`robustness.csv` of
`compare --uncertainty`, when it ran) and how much of the difference rests on assumed effect
sizes rather than on structure (`structural.csv` of `compare --uncertainty`, else the share of
the assumed-effect factors in `cogov explain`'s Shapley attribution). A headline that rests
mostly (more than half) on assumed values is named in the verdict's sentences.

Headline order: the brief's objective, then `recomplaint_rate` (重复投诉率) with `chase_rate`
(催办率) beside it, then the older repeat rates and speed, throughput, backlog (the first seven
present and not zero everywhere); results without the new names fall back to the older ones.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from . import text as T

MAX_HEADLINE = 7
LEAD = ("recomplaint_rate", "chase_rate")
MOSTLY_ASSUMED = 0.5

S = {
    "en": {"title": "Verdict", "metric": "metric", "diff": "difference (95% CI)",
           "judge": "better or worse", "holds": "holds in assumption draws",
           "assumed": "rests on assumed values", "better": "better", "worse": "worse",
           "noise": "within noise", "none": "—", "higher": "higher", "lower": "lower",
           "n_draws": "{p:.0%} of {n}", "not_run": "not run",
           "count": "{alt} does better than {base} on {nb} of {n} headline metrics{lb}, worse "
                    "on {nw}{lw}, and the rest are within noise.",
           "count_none": "None of the {n} headline metrics differs between {alt} and {base} "
                         "beyond noise.",
           "primary": "The {label} goes from {a} to {b} ({d}, {ci}).",
           "assumed_s": "{labels} rest mostly on assumed effect sizes, not on measured data "
                        "({detail}): read them as what-ifs.",
           "holds_s": "Across {n} draws of the assumed values, {alt} is better on the {label} "
                      "in {p:.0%} of them.",
           "unknown_s": "How much of these differences rests on assumed effect sizes was not "
                        "measured (run `cogov compare --uncertainty N` or `cogov explain`).",
           "reduced": "Run on a reduced district ({what}): the numbers are for that smaller "
                      "district, not for the whole of {name}."},
    "zh": {"title": "结论", "metric": "指标", "diff": "差值（95%置信区间）",
           "judge": "变好或变差", "holds": "在假设抽样中成立的比例",
           "assumed": "依赖假设取值的比例", "better": "变好", "worse": "变差",
           "noise": "在随机波动范围内", "none": "—", "higher": "更高", "lower": "更低",
           "n_draws": "{n} 次中 {p:.0%}", "not_run": "未运行",
           "count": "与{base}相比，{alt}在 {n} 项主要指标中有 {nb} 项变好{lb}，{nw} 项变差{lw}，"
                    "其余在随机波动范围内。",
           "count_none": "{n} 项主要指标在{alt}与{base}之间的差异均未超出随机波动。",
           "primary": "{label}由 {a} 变为 {b}（{d}，{ci}）。",
           "assumed_s": "{labels}主要取决于假设的效应大小，而非实测数据（{detail}）："
                        "应视为情景推演。",
           "holds_s": "在 {n} 次假设取值抽样中，{alt}的{label}有 {p:.0%} 的抽样更好。",
           "unknown_s": "这些差异有多少取决于假设的效应大小尚未评估（可运行 "
                        "`cogov compare --uncertainty N` 或 `cogov explain`）。",
           "reduced": "本次运行缩小了区域规模（{what}）：数字仅代表缩小后的区域，"
                      "而非整个{name}。"},
}


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def headline(comparison: pd.DataFrame, first: str | None = None) -> list[str]:
    """At most seven headline metrics present and not zero everywhere: the objective, then
    recomplaint_rate and chase_rate, then the brief's usual order."""
    present = set(comparison["metric"])
    out: list[str] = []
    for m in ([first] if first else []) + list(LEAD) + list(T.HEADLINE):
        if not m or m in out or m not in present:
            continue
        rows = comparison[comparison["metric"] == m]
        if np.nanmax(np.abs(rows[["mean"]].to_numpy(float)), initial=0.0) > 0:
            out.append(m)
    return out[:MAX_HEADLINE]


def judge(row, metric: str) -> str:
    """better / worse / noise / higher / lower / '' for one comparison row."""
    from ..metrics import better as direction

    m, lo, hi = row.get("diff_mean"), row.get("diff_ci_low"), row.get("diff_ci_high")
    if m is None or pd.isna(m):
        return ""
    if pd.isna(lo) or pd.isna(hi) or lo <= 0 <= hi:
        return "noise"
    d = direction(metric)
    if not d:
        return "higher" if m > 0 else "lower"
    return "better" if (m < 0) == (d == "lower") else "worse"


def _read(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path) if path.is_file() else None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None


def assumed_shares(res, alt: str, metrics: list[str], explain_dir=None) -> dict[str, float]:
    """metric -> share of the difference that rests on assumed effect sizes (0..1), from
    structural.csv (compare --uncertainty) or explain's attribution (assumed-effect factors)."""
    out: dict[str, float] = {}
    st = _read(Path(res.path) / "structural.csv")
    if st is not None and {"metric", "scenario", "structural_share"} <= set(st.columns):
        for m in metrics:
            r = st[(st["metric"] == m) & (st["scenario"] == alt)]
            if len(r) and pd.notna(r.iloc[0]["structural_share"]):
                s = float(r.iloc[0]["structural_share"])
                out[m] = 1.0 if s < 0 else float(min(1.0, max(0.0, 1.0 - s)))
    from .drivers import find_explain

    exp = find_explain(Path(res.path), explain_dir)
    att = _read(exp / "attribution.csv") if exp is not None else None
    if att is not None and {"metric", "factor", "contribution"} <= set(att.columns):
        assumed = _assumed_factor_names()
        for m in metrics:
            if m in out:
                continue
            g = att[att["metric"] == m].set_index("factor")["contribution"]
            if "total" not in g.index or not g.loc["total"] or pd.isna(g.loc["total"]):
                continue
            total = float(g.loc["total"])
            part = float(sum(v for f, v in g.items() if f != "total" and _is_assumed(f, assumed)))
            out[m] = float(min(1.0, max(0.0, part / total)))
    return out


def _assumed_factor_names() -> set[str]:
    try:
        from ..assumptions import ASSUMED_EFFECTS
    except ImportError:     # pragma: no cover - the module is part of the package
        return set()
    return {e.path for e in ASSUMED_EFFECTS}


def _is_assumed(factor: str, assumed: set[str]) -> bool:
    import fnmatch

    return any(factor == p or fnmatch.fnmatch(factor, p) or fnmatch.fnmatch(p, factor)
               for p in assumed)


def holds(res, alt: str) -> tuple[dict[str, float], int]:
    """(metric -> share of assumption draws in which `alt` is better, number of draws)."""
    rob = _read(Path(res.path) / "robustness.csv")
    n = 0
    try:
        import json

        man = json.loads((Path(res.path) / "uncertainty" / "manifest.json")
                         .read_text(encoding="utf-8"))
        n = int(man.get("draws", 0))
    except (OSError, ValueError, TypeError):
        pass
    if rob is None or not {"metric", "scenario", "share_better"} <= set(rob.columns):
        return {}, n
    r = rob[rob["scenario"] == alt]
    return {m: float(v) for m, v in zip(r["metric"], r["share_better"]) if pd.notna(v)}, n


def reduced_district(res) -> list[str]:
    """The `--set` values of the run that shrink the district or the horizon."""
    out = []
    for r in res.scenarios:
        for o in r.overrides or []:
            if str(o).startswith("district.") and o not in out:
                out.append(str(o))
    if not out:
        return []
    for r in res.scenarios:       # a shorter horizon is said beside a reduced district
        for o in r.overrides or []:
            if str(o).startswith(("run.horizon_days", "run.warmup_days")) and o not in out:
                out.append(str(o))
    return out


def section(res, lang: str, labels: dict[str, str], first: str | None = None,
            explain_dir=None) -> tuple[str, str]:
    """(heading, HTML) of the verdict, or ("", "") when there is nothing to compare."""
    c = res.comparison
    names = res.scenario_names
    s = S["zh" if lang == "zh" else "en"]
    if c is None or len(names) < 2 or "diff_mean" not in c:
        return "", ""
    base, alt = names[0], names[1]
    bl, al = labels.get(base, base), labels.get(alt, alt)
    metrics = headline(c, first)
    if not metrics:
        return "", ""
    fmt = T.Formatter(c, lang)
    share_ok, n_draws = holds(res, alt)
    assumed = assumed_shares(res, alt, metrics, explain_dir)
    zh = lang == "zh"
    rows, verdicts = [], {}
    for m in metrics:
        r = fmt.row(alt, m)
        if r is None:
            continue
        v = judge(r, m)
        verdicts[m] = v
        cls = {"better": "good", "worse": "bad"}.get(v, "")
        h = share_ok.get(m)
        held = s["not_run"] if not share_ok else (
            s["none"] if h is None else s["n_draws"].format(p=h, n=n_draws or "?"))
        a = assumed.get(m)
        rests = s["none"] if a is None else f"{a:.0%}"
        if a is not None and a > MOSTLY_ASSUMED:
            rests = f"<b>{_e(rests)}</b>"
        else:
            rests = _e(rests)
        rows.append(
            f'<tr><td class="m">{_e(fmt.info(m).label)}</td>'
            f'<td class="n">{T_render([fmt.num(base, m, "mean")])}</td>'
            f'<td class="n">{T_render([fmt.num(alt, m, "mean")])}</td>'
            f'<td class="n">{T_render([fmt.num(alt, m, "diff_mean")])}<br><small>'
            f'{T_render(fmt.ci(alt, m, diff=True))}</small></td>'
            f'<td class="{cls}">{_e(s.get(v, v))}</td><td class="n">{_e(held)}</td>'
            f'<td class="n">{rests}</td></tr>')
    good = [m for m in metrics if verdicts.get(m) == "better"]
    bad = [m for m in metrics if verdicts.get(m) == "worse"]
    sep = "、" if zh else ", "

    def names_of(ms):
        if not ms:
            return ""
        x = sep.join(fmt.info(m).label for m in ms)
        return f"（{x}）" if zh else f" ({x})"

    sentences = []
    if good or bad:
        sentences.append(s["count"].format(alt=al, base=bl, nb=len(good), n=len(metrics),
                                           lb=names_of(good), nw=len(bad), lw=names_of(bad)))
    else:
        sentences.append(s["count_none"].format(alt=al, base=bl, n=len(metrics)))
    p = metrics[0]
    ci = T.plain(fmt.ci(alt, p, diff=True))
    sentences.append(s["primary"].format(
        label=fmt.info(p).label, a=T.plain([fmt.num(base, p, "mean")]),
        b=T.plain([fmt.num(alt, p, "mean")]), d=T.plain([fmt.num(alt, p, "diff_mean")]), ci=ci))
    mostly = [m for m in metrics if assumed.get(m, 0.0) > MOSTLY_ASSUMED
              and verdicts.get(m) in ("better", "worse")]
    if mostly:
        detail = sep.join(f"{fmt.info(m).label} {assumed[m]:.0%}" for m in mostly)
        lab = sep.join(fmt.info(m).label for m in mostly)
        sentences.append(s["assumed_s"].format(labels=lab[:1].upper() + lab[1:] if not zh
                                               else lab, detail=detail))
    elif share_ok.get(p) is not None:
        sentences.append(s["holds_s"].format(n=n_draws or "?", alt=al,
                                             label=fmt.info(p).label, p=share_ok[p]))
    else:
        sentences.append(s["unknown_s"])
    red = reduced_text(res, lang)
    caveat = f'<p class="caveat">{_e(red)}</p>' if red else ""
    from .brief_page import short_name

    head = (f"<tr><th>{_e(s['metric'])}</th><th>{_e(short_name(bl))}</th>"
            f"<th>{_e(short_name(al))}</th>"
            f"<th>{_e(s['diff'])}</th><th>{_e(s['judge'])}</th><th>{_e(s['holds'])}</th>"
            f"<th>{_e(s['assumed'])}</th></tr>")
    body = (f'<p class="verdict">{_e(" ".join(sentences) if not zh else "".join(sentences))}'
            f"</p>{caveat}<div class=\"wide\"><table class=\"verdict\"><thead>{head}</thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")
    return s["title"], body


def reduced_text(res, lang: str) -> str:
    """A caveat in plain words when the run shrank the district or the horizon (`--set`),
    else ''."""
    red = reduced_district(res)
    if not red:
        return ""
    zh = lang == "zh"
    bits = []
    g = res.by_grid
    if g is not None and "grid" in g:
        if "scenario" in g:
            g = g[g["scenario"] == g["scenario"].iloc[0]]
        streets = g["street"].nunique() if "street" in g else 0
        pop = float(g["population"].sum()) if "population" in g else 0.0
        if zh:
            bits.append(f"{streets} 个街道、{g['grid'].nunique()} 个网格、约 {pop:,.0f} 人")
        else:
            bits.append(f"{streets} streets, {g['grid'].nunique()} grids, about {pop:,.0f} "
                        f"residents")
    sc = next((r.scenario for r in res.scenarios if r.scenario is not None), None)
    if sc is not None and any(x.startswith("run.") for x in red):
        bits.append(f"模拟 {sc.run.horizon_days:g} 天" if zh else
                    f"{sc.run.horizon_days:g} simulated days")
    ref = res.scenarios[0] if res.scenarios else None
    name = ""
    if ref is not None:
        from .figures import scenario_label

        name = scenario_label(ref, lang)
    what = ("，" if zh else ", ").join(bits) or ("见复现命令" if zh else "see the commands")
    return S["zh" if zh else "en"]["reduced"].format(what=what, name=name)


FACTOR_ZH = {
    "routing": "派单路由方式", "assessment": "考核方式", "main_co": "主协办",
    "dispatch": "派单方式（单派/双派）", "handback": "非警务事项回流网格",
    "linkage": "常态化联动", "platform": "街道平台", "departments": "部门人员配置",
    "campaigns": "专项整治", "grid_workers": "网格员", "citizens": "群众行为",
    "catalogue": "事项目录", "district": "区域", "channels": "投诉渠道",
}
FACTOR_EN = {
    "routing": "routing policy", "assessment": "assessment", "main_co": "main/co-handling",
    "dispatch": "single or dual dispatch", "handback": "handback to the grid",
    "linkage": "standing linkage", "platform": "street platform", "departments": "staffing",
    "campaigns": "campaigns", "grid_workers": "grid workers", "citizens": "citizen behaviour",
    "catalogue": "case catalogue", "district": "district", "channels": "channels",
}


def plain_factor(name: str, lang: str = "en") -> str:
    """A factor, assumption or setting name in plain words (en or zh): a known section, else
    the schema's description of the dotted path, else the last part with spaces."""
    table = FACTOR_ZH if lang == "zh" else FACTOR_EN
    if name in table:
        return table[name]
    if "." not in name:
        return name.replace("_", " ") if lang != "zh" else name
    if lang == "zh":
        from .brief import _field_description_zh

        d = _field_description_zh(name)
        if d and not d.startswith("见"):
            return d
    else:
        from .brief import _field_description

        d = _field_description(name)
        if d:
            return d.split(" (")[0].split("; ")[0]
    return name.rsplit(".", 1)[-1].replace("_", " ")


def T_render(segments) -> str:
    from .brief import render_segments

    return render_segments(segments)



__all__ = ["section", "headline", "assumed_shares", "holds", "reduced_district", "judge"]
