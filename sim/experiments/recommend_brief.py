"""The Pareto figure and the brief sections of a `cogov recommend` output directory."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pandas as pd

from ..report.text import metric_info, number


# ----------------------------------------------------------------------------- figure
def _axis_label(info, lang: str) -> str:
    """"label (unit)" in English, "label（单位）" in Chinese, the unit in the brief's language."""
    from ..report.text import unit

    u = "%" if info.kind == "share" else unit(info.kind, lang)
    return f"{info.label}（{u}）" if lang == "zh" else f"{info.label} ({u})"


def pareto_figure(s, table: pd.DataFrame, lang: str = "en"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if lang == "zh":
        from ..report.fonts import use_cjk_font

        use_cjk_font(quiet=True)
    p = s.objectives[0]
    q = "staff_hours_total" if "staff_hours_total" in s.objectives else s.objectives[-1]
    col = next((m for m in s.objectives if m not in (p, q)), None)
    ip, iq = metric_info(p, lang), metric_info(q, lang)
    sp = 100.0 if ip.kind == "share" else 1.0
    sq = 100.0 if iq.kind == "share" else 1.0
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    t = table[table["replications"] > 0]

    def _xy(d):      # arrays, not Series: matplotlib's scalar checks warn on Series
        return d[f"{q}.mean"].to_numpy(float) * sq, d[f"{p}.mean"].to_numpy(float) * sp

    others = t[~t["on_front"] & ~t["today"]]
    ax.scatter(*_xy(others), s=14, c="#bbbbbb",
               label="其他候选" if lang == "zh" else "other candidates", zorder=1)
    fr = t[t["on_front"]].sort_values(f"{q}.mean")
    if len(fr):
        colour = {"c": fr[f"{col}.mean"], "cmap": "viridis"} if col else {"c": "#1f77b4"}
        sc = ax.scatter(*_xy(fr), s=46, **colour,
                        edgecolors="black", linewidths=0.5, zorder=3,
                        label="帕累托前沿" if lang == "zh" else "Pareto front")
        ax.errorbar(*_xy(fr),
                    yerr=[(fr[f"{p}.mean"] - fr[f"{p}.ci_low"]).fillna(0) * sp,
                          (fr[f"{p}.ci_high"] - fr[f"{p}.mean"]).fillna(0) * sp],
                    fmt="none", ecolor="#555555", lw=0.8, zorder=2)
        if col:
            ic = metric_info(col, lang)
            cb = fig.colorbar(sc, ax=ax)
            cb.set_label(_axis_label(ic, lang))
        for r in fr.to_dict("records"):
            ax.annotate(str(r["candidate"]), (r[f"{q}.mean"] * sq, r[f"{p}.mean"] * sp),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
    today = t[t["today"]]
    ax.scatter(*_xy(today), marker="s", s=70,
               c="#d62728", label="现行配置" if lang == "zh" else "today", zorder=4)
    rec = t[t["recommended"]]
    if len(rec):
        ax.scatter(*_xy(rec), marker="*", s=220,
                   c="#ffbf00", edgecolors="black", label="建议方案" if lang == "zh"
                   else "recommended", zorder=5)
    ax.set_xlabel(_axis_label(iq, lang))
    ax.set_ylabel(_axis_label(ip, lang))
    ax.set_title("搜索得到的帕累托前沿（越靠左下越好）" if lang == "zh" else
                 "Pareto front of the search (lower left is better)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- brief
def brief_sections(out: str | Path, lang: str = "en") -> list[tuple[str, str]]:
    """The recommend section(s) of a brief from a recommend output directory: (heading, HTML)
    pairs, in English or Chinese. [outputs]' brief.py can call this for any DIR holding
    pareto.csv, routing_diff.csv and search.json."""
    out = Path(out)
    e = html.escape
    zh = lang == "zh"
    info = json.loads((out / "search.json").read_text(encoding="utf-8"))
    pareto = pd.read_csv(out / "pareto.csv")
    diff = pd.read_csv(out / "routing_diff.csv", dtype=str, keep_default_na=False)
    objs = info["objectives"]
    p = objs[0]

    def fmtm(m, x, diff_=False):
        i = metric_info(m, lang)
        return number(x, i.kind, 2, lang, diff_)

    head = "".join(f"<th>{e(metric_info(m, lang).label)}</th>" for m in objs)
    trs = []
    for r in pareto.sort_values(f"{p}.mean").to_dict("records"):
        who = ("现行" if zh else "today") if r["today"] else str(r["candidate"])
        if r.get("recommended"):
            who += " ★"
        cells = "".join(
            f"<td>{e(fmtm(m, r[f'{m}.mean']))} ({e(fmtm(m, r[f'{m}.ci_low']))}–"
            f"{e(fmtm(m, r[f'{m}.ci_high']))})</td>" for m in objs)
        share = r.get("robustness_share")
        share_s = "" if share is None or (isinstance(share, float) and math.isnan(share)) \
            else f"{share:.0%}"
        trs.append(f"<tr><td>{e(who)}</td>{cells}<td>{e(share_s)}</td>"
                   f"<td>{e(plain_changes(str(r['changes']), lang))}</td></tr>")
    rob_h = "稳健性（优于现行的抽样比例）" if zh else "robustness (share of draws beating today)"
    ch_h = "修改" if zh else "changes"
    table = (f"<table><thead><tr><th>{'方案' if zh else 'candidate'}</th>{head}"
             f"<th>{rob_h}</th><th>{ch_h}</th></tr></thead><tbody>{''.join(trs)}</tbody>"
             f"</table>")
    if len(diff):
        drows = "".join(
            f"<tr><td>{e(_what(r, lang))}</td>"
            f"<td title=\"{e(str(r['column']))}\">{e(plain_column(str(r['column']), lang))}</td>"
            f"<td>{e(plain_value(str(r['current']), lang))}</td>"
            f"<td>{e(plain_value(str(r['recommended']), lang))}</td>"
            f"<td>{e(str(r['why']))}</td></tr>" for r in diff.to_dict("records"))
        dhead = ("<tr><th>类别/设置</th><th>字段</th><th>现行</th><th>建议</th><th>依据</th></tr>"
                 if zh else "<tr><th>category / setting</th><th>column</th><th>current</th>"
                            "<th>recommended</th><th>why</th></tr>")
        dtable = f"<table><thead>{dhead}</thead><tbody>{drows}</tbody></table>"
    else:
        dtable = ("<p>没有候选方案在多数抽样中优于现行配置并满足约束：建议保持现行派单表。</p>"
                  if zh else "<p>No candidate beat today's configuration in most draws while "
                             "meeting the constraints: keep the current routing table.</p>")
    dtable = _caveats(info, zh) + dtable
    cons = ", ".join(info["constraints"]) or ("无" if zh else "none")
    unc = info.get("uncertain") or []
    n_d = len(info["seeds"]["robust"])
    v = info.get("validation", {}).get(p)
    if zh:
        zl = "、".join(metric_info(m, "zh").label for m in objs)
        how = (f"<p>多目标搜索（optuna NSGA-II）：目标为{e(zl)}"
               f"（均越低越好），约束 {e(cons)}。预算 {info['budget_runs']} 次模拟运行，"
               f"用了 {info['search_runs']} 次，评估 {info['candidates']} 个候选方案；"
               f"各方案在相同种子上运行（共同随机数），仍有竞争力的方案逐级加倍重复次数"
               f"（逐次减半），最多 {info['replications']} 次。前沿上的方案和现行配置在 {n_d} 次"
               f"新的抽样上重新运行"
               + (f"（每次同时抽取 {len(unc)} 个不确定参数，拉丁超立方）" if unc else
                  "（新种子；未给出不确定参数）")
               + "；“稳健性”为建议方案优于现行配置的抽样比例。</p>")
        if v:
            nv = len(info["seeds"]["validate"])
            how += (f"<p>验证（{nv} 个新种子）：{e(metric_info(p, 'zh').label)}"
                    f"由 {e(fmtm(p, v['current']))} 变为 {e(fmtm(p, v['recommended']))}，"
                    f"差值95%置信区间 {e(fmtm(p, v['ci_low'], True))} 至 "
                    f"{e(fmtm(p, v['ci_high'], True))}。</p>")
        return [("建议的派单配置", dtable), ("帕累托前沿", table), ("搜索方法", how)]
    how = (f"<p>Multi-objective search (optuna NSGA-II) minimising "
           f"{e(', '.join(metric_info(m).label for m in objs))} under {e(cons)}. Budget "
           f"{info['budget_runs']} simulation runs, {info['search_runs']} used, "
           f"{info['candidates']} candidates; every candidate runs on the same seeds (common "
           f"random numbers) and those still in contention get their replications doubled "
           f"(successive halving) up to {info['replications']}. The front's candidates and "
           f"today's configuration were re-run on {n_d} fresh draws"
           + (f", each also drawing {len(unc)} uncertain parameter(s) by Latin hypercube"
              if unc else " (fresh seeds; no uncertain parameters given)")
           + "; robustness is the share of draws in which a candidate beats today's "
             "configuration on " + e(metric_info(p).label) + ".</p>")
    if v:
        how += (f"<p>Validation on {len(info['seeds']['validate'])} fresh seeds: "
                f"{e(metric_info(p).label)} {e(fmtm(p, v['current']))} today, "
                f"{e(fmtm(p, v['recommended']))} recommended; difference 95% CI "
                f"{e(fmtm(p, v['ci_low'], True))} to {e(fmtm(p, v['ci_high'], True))}.</p>")
    return [("Recommended routing configuration", dtable), ("Pareto front", table),
            ("How the search worked", how)]


def _caveats(info: dict, zh: bool) -> str:
    """What a planner must know before acting: the winner is a preset, the search was too short
    to claim convergence, a change's own evidence points the other way."""
    out = []
    gens, budget = info.get("generations", 0), info.get("budget_runs")
    if info.get("winner_is_preset"):
        out.append("建议方案是搜索预设的候选方案之一（单项改革措施或全部措施组合，最先试算），"
                   "并非优化器搜索得到的。" if zh else
                   "The recommended configuration is one of the search's preset candidates "
                   "(a reform lever, or all of them together, tried first), not one the "
                   "optimiser found.")
    if info.get("small_budget"):
        out.append(f"搜索在 {budget} 次运行的预算内只进行了 {gens} 代：不足以认为搜索已收敛；"
                   f"加大 --budget 可能找到更好的方案。" if zh else
                   f"The search ran {gens} generation(s) within its budget of {budget} runs: "
                   f"too few to claim it converged; a larger --budget may find better "
                   f"configurations.")
    if not out:
        return ""
    return "".join(f'<p class="caveat">{html.escape(x)}</p>' for x in out)


COLUMN_NAMES = {
    "main_department": ("main department", "主办部门"), "co_handlers": ("co-handlers", "协办部门"),
    "dispatch_mode": ("dispatch", "派单方式"), "handback": ("handback to the grid", "回流网格"),
    "followup_owner": ("follow-up by", "回访责任人"), "police_on_site": ("police on site",
                                                                    "民警现场处置"),
    "departments.*.staff": ("staff (headcount)", "人员编制"),
}


def _what(r: dict, lang: str) -> str:
    """The category (its name) or the setting (in plain words) a diff row is about."""
    if r.get("category"):
        return str((r.get("name_zh") or r["name"]) if lang == "zh" else r["name"])
    name = str(r.get("name") or "")
    if name == "headcount":
        return "人员编制总数" if lang == "zh" else "headcount"
    return plain_changes(f"{name}=", lang).rstrip(" →").rstrip()


def plain_column(col: str, lang: str) -> str:
    """A diff row's column or setting in plain words (the dotted path stays a tooltip)."""
    from ..report.verdict import plain_factor

    pair = COLUMN_NAMES.get(col)
    if pair:
        return pair[1] if lang == "zh" else pair[0]
    if col.startswith("departments.") and col.endswith(".staff"):
        dept = col.split(".")[1]
        return f"{dept} 在岗人数" if lang == "zh" else f"staff of {dept}"
    return plain_factor(col, lang) if "." in col else col


def plain_value(v: str, lang: str) -> str:
    from ..report.plain import value

    return value({"True": True, "False": False}.get(v, v), lang)


def plain_changes(text: str, lang: str) -> str:
    """`owner.c1=b; staff.a=6` as "main department of c1 → b; staff of a → 6"."""
    if text.startswith("("):
        return "（现行配置）" if lang == "zh" and "today" in text else text
    zh = lang == "zh"
    out = []
    for part in text.split("; "):
        name, _, v = part.partition("=")
        group, _, what = name.partition(".")
        label = {"owner": ("main department of {w}", "{w} 的主办部门"),
                 "dispatch": ("dispatch of {w}", "{w} 的派单方式"),
                 "handback": ("handback of {w}", "{w} 回流网格"),
                 "via_platform": ("platform triage of {w}", "{w} 经街道平台分拨"),
                 "staff": ("staff of {w}", "{w} 在岗人数"),
                 "routing": ("routing policy", "派单路由方式")}.get(group)
        text_ = (label[1] if zh else label[0]).format(w=what) if label else name
        out.append(f"{text_} → {plain_value(v, lang)}")
    return "；".join(out) if zh else "; ".join(out)

