"""`cogov brief`: one self-contained HTML page from a `compare` or `sweep` results directory.

The page has the question, the scenarios and a table of what differs between them, headline
findings in sentences with 95% CIs, a table of key metrics, the figures (embedded as base64 PNG,
also saved as PNG and PDF in `<brief>_figures/`), assumptions and caveats, and the exact
commands and seeds to reproduce. No scripts, no links to fetch: it opens from an email
attachment. Chinese text uses an embedded subset of a CJK font (`fonts.font_face_css`).

Every number quoted from comparison.csv sits in
`<span class="num" data-source="comparison" data-scenario=.. data-metric=.. data-field=..
data-value=..>` so a reader's tool (and the tests) can check it against the file.
"""

from __future__ import annotations

import html
import json
import math
import shlex
import typing
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import UserError
from ..outdir import OutputFile
from . import figures as F
from . import text as T
from .plain import plain_warning
from .results import Results, load_results

S = {
    "en": {
        "title": "Policy brief", "question": "The question", "scenarios": "The scenarios",
        "differs": "What differs between them", "setting": "setting",
        "meaning": "meaning (unit)", "findings": "Headline findings",
        "metrics": "Key metrics", "metric": "metric", "figures": "Figures",
        "caveats": "Assumptions and caveats", "reproduce": "How to reproduce",
        "name": "scenario", "description": "description", "file": "file",
        "none_differ": "The scenarios have identical settings (they differ only in name).",
        "one": "A single scenario: nothing to compare against.",
        "vs": "difference to {base}", "figure": "Figure",
        "generated": "Generated {when} by cogov {ver} from {path} ({kind}, {reps}).",
        "reps": "{n} replications per scenario", "runs_n": "{n} runs",
        "not_loaded": "could not be loaded: {err}", "more": "… and {n} more settings",
        "seeds": "Seeds", "root_seed": "root seed", "per_rep": "seed of each replication",
        "commands": "Commands", "fig_files": "Figures as PNG and PDF (for slides): {folder}",
        "factors": "Factors varied", "sweep_q": "How do {outputs} respond to {factors}?",
        "changed": "the scenario file has changed since this run (sha256 differs)",
        "failed": "{n} runs failed and are left out: {ids}",
    },
    "zh": {
        "title": "政策简报", "question": "研究问题", "scenarios": "比较的情景",
        "differs": "情景之间的差异", "setting": "参数", "meaning": "含义（单位）",
        "findings": "主要发现", "metrics": "关键指标", "metric": "指标", "figures": "图表",
        "caveats": "假设与局限", "reproduce": "如何复现", "name": "情景",
        "description": "说明", "file": "文件",
        "none_differ": "各情景参数完全相同（仅名称不同）。", "one": "仅一个情景，无对照。",
        "vs": "与「{base}」之差", "figure": "图",
        "generated": "由 cogov {ver} 于 {when} 根据 {path}（{kind}，{reps}）生成。",
        "reps": "每个情景 {n} 次重复运行", "runs_n": "{n} 次运行",
        "not_loaded": "无法加载：{err}", "more": "……另有 {n} 项参数",
        "seeds": "随机种子", "root_seed": "根种子", "per_rep": "各次重复运行的种子",
        "commands": "命令", "fig_files": "图表的 PNG 和 PDF 文件（用于幻灯片）：{folder}",
        "factors": "变化的因素", "sweep_q": "{outputs}如何随{factors}变化？",
        "changed": "情景文件在本次运行后已被修改（sha256 不同）",
        "failed": "{n} 次运行失败，已剔除：{ids}",
    },
}

CSS = """
body { font-family: "CogovCJK", "DejaVu Sans", "Segoe UI", Roboto, Arial, "Noto Sans",
       "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; line-height: 1.5; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #ccc; }
.meta { color: #555; font-size: .9rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .88rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.n { text-align: right; white-space: nowrap; }
td.m { min-width: 11em; } .wide { overflow-x: auto; } small { color: #555; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .88rem; color: #444; }
pre { background: #f6f6f6; padding: .6rem; font-size: .85rem; white-space: pre-wrap;
      overflow-wrap: anywhere; }
li { margin: .35rem 0; } .num { font-variant-numeric: tabular-nums; }
code { font-size: .88rem; }
.good { color: #1a7f37; font-weight: 600; } .bad { color: #b42318; font-weight: 600; }
tr.group th { background: #e8eef6; text-align: left; }
p.verdict { font-size: 1.05rem; } .caveat { color: #8a4b00; }
h1, h2, h3, p, li, td, th, figcaption { overflow-wrap: anywhere; }
.wide { max-width: 100%; } details summary { cursor: pointer; color: #333; }
@media (max-width: 600px) {
  body { margin: 1rem auto; padding: 0 .6rem; }
  h1 { font-size: 1.3rem; }
  table { font-size: .8rem; } td.n { white-space: normal; } td.m { min-width: 7em; }
  th, td { padding: .2rem .3rem; }
  table.verdict td.n { white-space: nowrap; } table.verdict small { white-space: normal; }
}
"""


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def render_segments(segments: list[T.Segment]) -> str:
    out = []
    for s in segments:
        if isinstance(s, T.Num):
            attrs = (f' data-source="{_e(s.source)}" data-scenario="{_e(s.scenario)}" '
                     f'data-metric="{_e(s.metric)}" data-field="{_e(s.field)}" '
                     f'data-value="{_e(repr(float(s.value)))}"')
            out.append(f'<span class="num"{attrs}>{_e(s.text)}</span>')
        else:
            out.append(_e(s))
    return "".join(out)


# ----------------------------------------------------------------------------- scenario diff
def _flat(d, prefix="") -> dict:
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
    elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        for i, v in enumerate(d):
            out.update(_flat(v, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = d
    return out


def _field_description(path: str) -> str:
    """The schema's description (with its unit) of a dotted scenario path."""
    from pydantic import BaseModel

    from ..scenario.schema import Scenario

    model: type | None = Scenario
    desc = ""
    parts = path.split(".")
    i = 0
    while i < len(parts) and model is not None:
        fields = getattr(model, "model_fields", {})
        if parts[i] not in fields:
            return desc
        fi = fields[parts[i]]
        desc = fi.description or desc
        ann = fi.annotation
        model = None
        i += 1
        for _ in range(3):  # unwrap Optional / dict / list
            origin = typing.get_origin(ann)
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                model = ann
                break
            if origin is dict and len(args) == 2:
                ann = args[1]
                i += 1  # the key
            elif origin is list and args:
                ann = args[0]
                i += 1  # the index
            elif args:
                ann = args[0]
            else:
                break
    return desc


# Chinese meanings of the settings scenarios usually differ in (by field name; a section name
# stands for the section's switch). Anything else: a pointer to the reference, in Chinese.
FIELD_ZH = {
    "routing": "派单路由方式", "policy": "策略名称（见 docs/scenario-reference.md）",
    "main_co": "主协办", "handback": "派出所非警务事项回流网格",
    "linkage": "常态化联动", "dispatch": "派单方式（单派/双派）", "campaigns": "专项整治",
    "assessment": "考核方式", "policies": "考核策略", "weight": "考核权重",
    "enabled": "是否启用", "staff": "在岗人数（人）", "extra_staff": "增派人数（人）",
    "per_grid": "每个网格的网格员（人）", "extra_forces_per_grid": "每个网格的辅助力量（人）",
    "patrol_hours_per_day": "每日巡查时长（小时）", "detection_prob": "巡查发现概率",
    "co_handlers": "协办部门", "co_share": "协办分担的工时比例",
    "coordination_delay": "协调耗时（小时）", "default_mode": "默认派单方式",
    "modes": "各类别的派单方式", "p_grid_settle": "网格化解概率",
    "followup_interval_hours": "回访间隔（小时）", "followup_limit": "最多回访次数",
    "visit_hours": "每次走访工时（小时）", "police_hours_share": "派出所工时比例",
    "p_resolve": "处置后问题实际解决的概率", "deadline_hours": "办理时限（小时）",
    "response_hours": "响应时间（小时）", "horizon_days": "模拟天数（天）",
    "warmup_days": "预热期（天）", "seed": "随机种子", "report_propensity": "群众投诉倾向",
    "patience": "群众耐心（小时）", "p_complain_again": "再次投诉的概率",
    "priority": "优先级", "owner": "主管部门", "jurisdiction": "职责范围",
    "start_day": "开始日（天）", "end_day": "结束日（天）", "detection_boost": "发现率提升",
    "mean": "平均值", "cv": "变异系数", "shift": "班次", "level": "层级（区/街道）",
}


SWITCH_ZH = {"enabled": "是否启用", "policy": "", "policies": "", "params": "参数",
             "weight": "权重", "default_mode": "默认派单方式", "modes": "派单方式"}


def _field_description_zh(path: str) -> str:
    """The Chinese meaning of a setting: a switch (`enabled`, `policy` ...) is named with the
    section it belongs to, so three switches never read alike
    (派出所非警务事项回流网格：是否启用)."""
    parts = [p for p in path.split(".") if not p.isdigit()]
    last = parts[-1] if parts else ""
    if last in SWITCH_ZH and len(parts) > 1:
        for p in reversed(parts[:-1]):
            if p in FIELD_ZH:
                return f"{FIELD_ZH[p]}：{SWITCH_ZH[last]}".rstrip("：")
        return f"{parts[-2]}：{SWITCH_ZH[last]}".rstrip("：")
    for p in reversed(parts):
        if p in FIELD_ZH:
            return FIELD_ZH[p]
    return "见 docs/scenario-reference.md"


def _show(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, dict)):
        s = json.dumps(v, ensure_ascii=False)
        return s if len(s) <= 80 else s[:77] + "…"
    return str(v)


def scenario_differences(res: Results, limit: int = 80, lang: str = "en"
                         ) -> tuple[list[str], list[list[str]], int]:
    """(scenario names, rows [path, meaning, value per scenario], rows left out)."""
    from ..scenario.loader import scenario_to_dict

    refs = [r for r in res.scenarios if r.scenario is not None]
    if len(refs) < 2:
        return [r.name for r in refs], [], 0
    flats = [_flat(scenario_to_dict(r.scenario)) for r in refs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    rows = []
    for k in keys:
        if k in ("name", "description", "description_zh", "display_name", "display_name_zh"):
            continue
        vals = [f.get(k) for f in flats]
        if any(v != vals[0] for v in vals[1:]):
            meaning = _field_description_zh(k) if lang == "zh" else _field_description(k)
            from .plain import value as plain_value

            shown = [plain_value(v, lang) if isinstance(v, (str, bool)) else _show(v)
                     for v in vals]
            rows.append([k, meaning, *shown])
    return [r.name for r in refs], rows[:limit], max(0, len(rows) - limit)


# ----------------------------------------------------------------------------- sections
def _question(res: Results, lang: str, question: str | None,
              labels: dict[str, str] | None = None) -> str:
    if question:
        return question
    if res.manifest.get("question"):
        return str(res.manifest["question"])
    names = [(labels or {}).get(n, n) for n in res.scenario_names]
    zh = lang == "zh"
    if res.kind == "sweep":
        from .verdict import plain_factor

        factors = [plain_factor(f, lang) for f in _factor_names(res)]
        outs = [T.metric_info(m, lang).label for m in _sweep_outputs(res)]

        def join(xs):
            if zh or len(xs) < 2:
                return "、".join(xs)
            return ", ".join(xs[:-1]) + " and " + xs[-1]
        return S[lang]["sweep_q"].format(outputs=join(outs), factors=join(factors) or
                                         ("所变化的参数" if zh else "the factors varied"))
    if len(names) >= 2:
        alts = "、".join(f"「{n}」" for n in names[1:]) if zh else ", ".join(names[1:])
        if zh:
            return (f"以「{names[0]}」为基准，{alts}会如何改变重复投诉率、结案效率、"
                    f"办结时长、积压和各部门人员负荷？")
        return (f"Against {names[0]} as the baseline, what do {alts} change in the "
                f"repeat-complaint rate, throughput, time to close, backlog and the staff load "
                f"of each department?")
    n = names[0] if names else "?"
    return (f"「{n}」的重复投诉率、结案效率、办结时长、积压和人员负荷是多少？" if zh else
            f"What repeat-complaint rate, throughput, time to close, backlog and staff load "
            f"does {n} produce?")


def _factors(res: Results) -> list[tuple[str, list[str], str]]:
    """(name, scenario paths, levels or range as text) of a sweep's factors."""
    m = res.manifest
    f = m.get("factors") or (m.get("experiment") or {}).get("factors") or []
    if isinstance(f, dict):
        f = [{"name": k, **(v if isinstance(v, dict) else {"levels": v})} for k, v in f.items()]
    out = []
    for x in f:
        if not isinstance(x, dict):
            out.append((str(x), [str(x)], ""))
            continue
        paths = x.get("paths") or [x.get("path") or x.get("name", "")]
        if isinstance(paths, str):
            paths = [paths]
        span = ""
        if x.get("levels") is not None:
            span = ", ".join(map(str, x["levels"]))
        elif x.get("range") is not None:
            span = " \u2013 ".join(map(str, x["range"]))
        out.append((str(x.get("name") or paths[0]), [str(p) for p in paths], span))
    return out


def _sweep_outputs(res: Results) -> list[str]:
    """The outputs a sweep recorded: the experiment's `outputs`, else the metrics of its
    sensitivity tables, else the headline metrics among its runs' columns."""
    exp = res.manifest.get("experiment") or {}
    outs = exp.get("outputs") or res.manifest.get("outputs")
    if isinstance(outs, str):
        outs = [outs]
    if not outs:
        outs = []
        for df in (res.sensitivity or {}).values():
            for c in ("metric", "output"):
                if c in df.columns:
                    outs += [str(x) for x in df[c].dropna().unique()]
    if not outs and res.runs is not None:
        outs = [m for m in T.HEADLINE if m in res.runs]
    return list(dict.fromkeys(str(x) for x in outs))[:4]


def _factor_names(res: Results) -> list[str]:
    return [f[0] for f in _factors(res)]


def _replications(res: Results) -> int:
    if res.manifest.get("replications"):
        return int(res.manifest["replications"])
    if res.comparison is not None and "n" in res.comparison:
        return int(res.comparison["n"].max())
    return 0


def _metrics_table(res: Results, lang: str, fmt: T.Formatter, headline: list[str],
                   labels: dict[str, str] | None = None) -> str:
    c = res.comparison
    names = res.scenario_names
    shown = {n: (labels or {}).get(n, n) for n in names}
    present = list(dict.fromkeys(c["metric"]))
    extra = [m for m in present if m.startswith(("utilization.", "staff_hours."))]
    lead = []
    for m in headline:               # problems solved beside throughput, share beside hours
        lead.append(m)
        if m == "throughput_per_day":
            lead.append("problems_solved_per_day")
        if m == "police_nonpolice_hours":
            lead.append("police_nonpolice_share")
    others = [m for m in T.METRICS if m in present and m not in lead
              and m not in ("cases_opened_total", "cases_closed_total")]
    metrics = [m for m in dict.fromkeys([*lead, *others, *extra]) if m in present]
    s = S[lang]
    head = "".join(f"<th>{_e(shown[n])}</th>" for n in names)
    diffs = "".join(f"<th>{_e(s['vs'].format(base=shown[names[0]]))}: {_e(shown[n])}</th>"
                    for n in names[1:])
    from ..metrics import GROUP_LABELS, GROUPS, metric_def
    from .verdict import S as VS
    from .verdict import judge

    vs = VS["zh" if lang == "zh" else "en"]

    def group(m):
        try:
            return metric_def(m).group
        except (KeyError, ValueError):
            return "workload"

    order = {g: i for i, g in enumerate(GROUPS)}
    metrics = sorted(metrics, key=lambda m: order.get(group(m), len(order)))
    ncols = 1 + len(names) + len(names[1:])
    rows = []
    current = None
    for m in metrics:
        g = group(m)
        if g != current:
            current = g
            label = GROUP_LABELS.get(g, (g, g))[1 if lang == "zh" else 0]
            rows.append(f'<tr class="group"><th colspan="{ncols}">{_e(label)}</th></tr>')
        cells = []
        for n in names:
            cells.append(f'<td class="n">{render_segments([fmt.num(n, m, "mean")])}<br>'
                         f'<small>{render_segments(fmt.ci(n, m))}</small></td>')
        for n in names[1:]:
            r = fmt.row(n, m)
            v = judge(r, m) if r is not None else ""
            word = vs.get(v, v)
            cls = {"better": "good", "worse": "bad"}.get(v, "")
            cells.append(f'<td class="n">{render_segments([fmt.num(n, m, "diff_mean")])}<br>'
                         f'<small>{render_segments(fmt.ci(n, m, diff=True))}</small>'
                         f'<br><span class="{cls}">{_e(word)}</span></td>')
        rows.append(f"<tr><td class=\"m\">{_e(fmt.info(m).label)}</td>{''.join(cells)}</tr>")
    return (f"<div class=\"wide\"><table><thead><tr><th>{_e(s['metric'])}</th>{head}{diffs}"
            f"</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _intervals_wide(res: Results) -> bool:
    """Are the headline differences' intervals wide: one includes 0, or its half-width is
    more than a quarter of the difference?"""
    c = res.comparison
    if c is None or "diff_ci_low" not in c:
        return True
    d = c[c["metric"].isin(T.HEADLINE) & c["diff_mean"].notna()]
    if not len(d):
        return True
    half = (d["diff_ci_high"] - d["diff_ci_low"]) / 2
    return bool(((d["diff_ci_low"] <= 0) & (d["diff_ci_high"] >= 0)).any()
                or (half > 0.25 * d["diff_mean"].abs()).any())


def _caveats(res: Results, lang: str, lab=None) -> list[str]:
    from ..scenario.checks import load_warnings
    from ..steady import steady_state, warning

    zh = lang == "zh"
    labels = lab.scen if lab is not None else {}
    s = S[lang]
    out = []
    reps = _replications(res)
    if res.kind == "compare":
        out.append(
            f"95%置信区间为各情景 {reps} 次独立重复运行的 t 区间；若各情景使用相同的种子"
            f"（共同随机数），差值按种子配对计算。区间只反映模拟的随机波动，"
            f"不反映输入参数本身的不确定性。" if zh else
            f"95% confidence intervals are t intervals over {reps} independent replications per "
            f"scenario; when scenarios share seeds (common random numbers) differences are "
            f"paired by seed. They measure simulation noise only, not uncertainty in the inputs.")
        if 0 < reps < 10 and _intervals_wide(res):
            out.append(f"仅 {reps} 次重复运行：部分区间较宽，细小差别可能无法分辨；"
                       f"增加重复次数可收窄区间。" if zh else
                       f"Only {reps} replications: some intervals are wide and small "
                       f"differences may not be resolved; more replications narrow them.")
    out.append("许多参数为示意性估计（见 docs/input-data.md），并非包河区实测数据："
               "应看情景之间的差别，而非绝对水平。" if zh else
               "Many inputs are illustrative estimates (see docs/input-data.md), not measured "
               "Baohe figures: read the differences between scenarios, not the absolute levels.")
    seen = set()
    for ref in res.scenarios:
        sc = ref.scenario
        if sc is None:
            if ref.load_error:
                out.append(f"{ref.name}: " + s["not_loaded"].format(err=ref.load_error))
            continue
        key = (sc.run.horizon_days, sc.run.warmup_days)
        if key not in seen:
            seen.add(key)
            out.append(
                f"「{labels.get(ref.name, ref.name)}」每次运行模拟 {sc.run.horizon_days:g} 天，"
                f"前 {sc.run.warmup_days:g} "
                f"天为预热期，不计入汇总指标。" if zh else
                f"{labels.get(ref.name, ref.name)}: each run simulates "
                f"{sc.run.horizon_days:g} days; the first "
                f"{sc.run.warmup_days:g} days are warm-up and excluded from the summary metrics.")
        name = labels.get(ref.name, ref.name)
        if ref.changed:
            out.append(f"{name}: {s['changed']}")
        for w in load_warnings(sc):
            out.append(f"{name}: {plain_warning(w, sc, lang)}")
        ts = res.timeseries
        if ts is not None and "scenario" in ts:
            note = warning(steady_state(ts[ts["scenario"] == ref.name], sc.run.warmup_days),
                           name, lang, lab.depts if lab is not None else None)
            if note:
                out.append(note)
    runs = res.runs
    if runs is not None and "status" in runs:
        bad = runs[runs["status"].fillna("ok") != "ok"]
        if len(bad):
            ids = ", ".join(f"{r.get('scenario', '')}#{r.get('replication', r.get('run_id', ''))}"
                            for _, r in bad.head(10).iterrows())
            out.append(s["failed"].format(n=len(bad), ids=ids))
    if res.by_grid is not None:
        out.append("热力图按街道、网格编号排列，并非真实地理位置。" if zh else
                   "The heat map arranges grids by street and grid number, not by true "
                   "geography.")
    return out


def _wrap_cmd(argv: list[str], width: int = 78) -> str:
    """A shell command over several lines (`\\` continuations, each option with its value on
    one line), so it fits the page and still pastes into a shell."""
    words = [shlex.quote(str(a)) for a in argv]
    groups, i = [], 0
    while i < len(words):
        g = words[i]
        if words[i].startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            g, i = f"{g} {words[i + 1]}", i + 1
        groups.append(g)
        i += 1
    lines, cur = [], ""
    for g in groups:
        if cur and len(cur) + 1 + len(g) > width:
            lines.append(cur)
            cur = "    " + g
        else:
            cur = f"{cur} {g}" if cur else g
    lines.append(cur)
    return " \\\n".join(lines)


def _reproduce(res: Results, lang: str, brief_cmd: list[str], fig_folder: str) -> str:
    s = S[lang]
    m = res.manifest
    cmds = []
    if m.get("command"):
        c = m["command"]
        cmds.append(_wrap_cmd(c) if isinstance(c, list) else str(c))
    cmds.append(_wrap_cmd(brief_cmd))
    parts = [f"<h3>{_e(s['commands'])}</h3><pre>{_e(chr(10).join(cmds))}</pre>"]
    seeds = m.get("seeds")
    items = []
    if m.get("root_seed") is not None:
        items.append(f"<li>{_e(s['root_seed'])}: <code>{_e(m['root_seed'])}</code></li>")
    if isinstance(seeds, str):
        items.append(f"<li>{_e(s['per_rep'])}: {_e(seeds)}</li>")
    elif seeds:
        shown = ", ".join(str(x) for x in seeds[:200]) + (" …" if len(seeds) > 200 else "")
        items.append(f"<li>{_e(s['per_rep'])}: <code>{_e(shown)}</code></li>")
    if items:
        parts.append(f"<h3>{_e(s['seeds'])}</h3><ul>{''.join(items)}</ul>")
    rows = []
    for ref in res.scenarios:
        over = " ".join(f"--set {o}" for o in ref.overrides)
        rows.append(f"<tr><td>{_e(ref.name)}</td><td><code>{_e(ref.path)}</code> "
                    f"<code>{_e(over)}</code></td><td><code>{_e(ref.sha256[:16])}</code></td></tr>")
    if rows:
        parts.append(f"<table><thead><tr><th>{_e(s['name'])}</th><th>{_e(s['file'])}</th>"
                     f"<th>sha256</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    ver = m.get("cogov_version", "?")
    parts.append(f"<p>cogov {_e(ver)} (run), cogov {_e(__version__)} (brief). "
                 f"{_e(s['fig_files'].format(folder=fig_folder))}</p>")
    return "".join(parts)


def _sweep_findings(res: Results, lang: str, headline: list[str]) -> list[list[T.Segment]]:
    zh = lang == "zh"
    out: list[list[T.Segment]] = []
    runs = res.runs
    if runs is not None:
        ok = runs[runs["status"].fillna("ok") == "ok"] if "status" in runs else runs
        for m in headline:
            if m not in ok or not ok[m].notna().any():
                continue
            info = T.metric_info(m)
            info_l = T.metric_info(m, lang)
            x = ok[m].dropna().to_numpy(float)
            d = T.choose_decimals(info.kind, [[x.min(), np.median(x), x.max()]])

            def n(v, fld, m=m, kind=info.kind, d=d):
                return T.Num(float(v), T.number(float(v), kind, d, lang), "runs", "", m, fld)
            nr = T.number(len(x), "runs", 0, lang)
            if zh:
                out.append([f"在 {nr} 中，{info_l.label}介于", n(x.min(), "min"), "至",
                            n(x.max(), "max"), "之间，中位数为", n(np.median(x), "median"), "。"])
            else:
                out.append([f"Across {nr}, the {info_l.label} ranges from ", n(x.min(), "min"),
                            " to ", n(x.max(), "max"), " (median ", n(np.median(x), "median"),
                            ")."])
    for key, df in res.sensitivity.items():
        if "ST" not in df.columns:
            continue
        pc = F._param_col(df)
        if pc is None:
            continue
        for _, output, sub in F._output_groups(df, key):
            sub = sub.dropna(subset=["ST"])
            if sub.empty:
                continue
            top = sub.sort_values("ST", ascending=False).iloc[0]
            label = T.metric_info(output, lang).label
            st = T.Num(float(top["ST"]), T.number(float(top["ST"]), "share", 0, lang),
                       "sensitivity", "", output, "ST")
            conf = top.get("ST_conf")
            ci: list[T.Segment] = []
            if conf is not None and np.isfinite(conf):
                ci = ["（±" if zh else " (\u00b1",
                      T.Num(float(conf), T.number(float(conf), "share", 0, lang),
                            "sensitivity", "", output, "ST_conf"),
                      "，95%置信区间）" if zh else ", 95% CI)"]
            if zh:
                out.append([f"对{label}影响最大的因素是「{top[pc]}」：总效应 Sobol 指数为", st, *ci,
                            "的输出方差。"])
            else:
                out.append([f"The factor that matters most for the {label} is {top[pc]}: its "
                            f"total-order Sobol index is ", st, *ci, " of the output variance."])
    return out


def _check_objective(res, objective: str) -> None:
    """`--objective` must name a metric the results hold."""
    import difflib

    if res.comparison is not None and "metric" in res.comparison:
        known = [str(m) for m in dict.fromkeys(res.comparison["metric"])]
    elif res.runs is not None:
        known = [str(c) for c in res.runs.columns]
    else:
        return
    if objective in known:
        return
    close = difflib.get_close_matches(objective, known, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else \
        "see docs/metrics.md for the metric names"
    raise UserError(f"--objective {objective}: no such metric in these results ({hint})")


# ----------------------------------------------------------------------------- the page
def build_brief(results_dir: str | Path, out: str | Path, lang: str = "en",
                question: str | None = None, objective: str | None = None,
                title: str | None = None, argv: list[str] | None = None,
                extra_sections: list[tuple[str, str]] | None = None,
                force: bool = False, explain_dir: str | Path | None = None) -> Path:
    """Write the HTML brief to `out` and its figures (PNG, PDF) to `<out stem>_figures/`.

    `extra_sections`: (heading, HTML) pairs placed after the findings (`cogov recommend`
    adds what it changed and how it searched). `explain_dir`: a `cogov explain` output for the
    "What drives this result" section (default: RESULTS_DIR or RESULTS_DIR/explain). Both are
    written safely (`sim.outdir`): an existing brief is replaced only with `force`."""
    if lang not in S:
        raise UserError(f"--lang {lang}: use one of {', '.join(S)}")
    out = Path(out) if str(out).strip() else out
    fig_dir = Path(out).parent / f"{Path(out).stem}_figures"
    target = OutputFile(out, force=force, inputs=[results_dir], companions=[fig_dir],
                        suffixes=(".html", ".htm"), what="brief")
    target.check()
    res = load_results(results_dir)
    if objective is not None:
        _check_objective(res, objective)
    from .brief_page import page as _page

    with target as tmp:
        page = _page(res, Path(out), fig_dir, target.companion(0), lang, question, objective,
                     title, argv, extra_sections, explain_dir)
        tmp.write_text(page, encoding="utf-8")
    return Path(out)


def comparison_value(comparison: pd.DataFrame, scenario: str, metric: str, fld: str) -> float:
    """The value of one cell of comparison.csv (NaN when absent): for checking a brief."""
    r = comparison[(comparison["scenario"] == scenario) & (comparison["metric"] == metric)]
    return float(r.iloc[0][fld]) if len(r) and fld in r else math.nan
