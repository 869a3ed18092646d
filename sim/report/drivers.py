"""The brief's "What drives this result" section, from `cogov explain` and
`cogov compare --uncertainty` outputs.

It reads, when present:
- `attribution.csv` (+ `runs.csv`) of an explain directory: the results directory itself, its
  `explain/` subfolder, or the directory given with `cogov brief --explain DIR`;
- `robustness.csv`, `scenario_discovery.csv`, `sensitivity_uncertainty.csv`, `structural.csv`
  in the results directory (written by `cogov compare --uncertainty N`).

and writes: one sentence per headline metric on what part of the package moves it (Shapley
contributions with 95% CIs) and its waterfall figure; a table of the share of plausible
assumption sets under which each scenario is still better; the assumptions the verdict hinges
on; and one plain sentence on how much of the effect is structural. Every number quoted from a
CSV sits in a `<span class="num" data-source="attribution"|"robustness" data-scenario=..
data-metric=.. data-field=.. data-value=..>` like the rest of the brief (for attribution,
`data-scenario` holds the factor, or `total`).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from . import text as T
from .verdict import plain_factor

S = {
    "en": {
        "title": "What drives this result",
        "attr_intro": "Which part of the package moves each headline metric: the settings in "
                      "which {b} differs from {a} are grouped into factors, every combination "
                      "of {a}'s and {b}'s factor settings was run on the same random numbers, "
                      "and the change is split into Shapley contributions (each factor's "
                      "effect averaged over every order of switching the factors on; they "
                      "add up to the total).",
        "attr_sentence": "Of the change in the {label} ({total}), ",
        "contrib": "{factor} accounts for {value}",
        "ci": " (95% CI {lo} to {hi})",
        "waterfall": "What moves the {label} from {a} to {b}",
        "waterfall_cap": "Bars: Shapley contribution of each factor, in order of the "
                         "factors; whiskers: 95% CI over {n} replications. Green: towards "
                         "better, red: towards worse.",
        "rob_intro": "Whether the verdict survives what nobody has measured: every scenario "
                     "was run under {n} plausible sets of the assumed values (Latin hypercube "
                     "draws from the ranges in {src}), with the same random numbers.",
        "rob_metric": "metric", "rob_scen": "scenario", "rob_better": "better in",
        "rob_median": "median difference", "rob_range": "90% of draws between",
        "hinges": "What the verdict hinges on",
        "sobol": "The difference in the {label} depends most on {items} (first-order Sobol "
                 "indices: the share of its variance over the draws each assumption explains "
                 "alone).",
        "no_sobol": "Sobol indices of the difference were not estimated: first-order indices "
                    "(RBD-FAST) need at least {min} draws, this run has {n}.",
        "always": "In all {n} draws {s} does better than {ref} on: {metrics}. Within these "
                  "ranges no assumption turns the verdict on these metrics.",
        "structural": "Structural or assumed?",
        "no_struct": "Not measured: the ranges give no neutral values.",
        "of_draws": "{p} of {n} draws",
    },
    "zh": {
        "title": "结果由什么驱动",
        "attr_intro": "改革组合中的哪一部分带来了各项主要指标的变化："
                      "将{b}与{a}不同的设置按因素分组，"
                      "在相同随机数下运行{a}与{b}各因素设置的全部组合，"
                      "再把变化分解为 Shapley "
                      "贡献（各因素在所有开启顺序下的平均效应；各项贡献之和等于总变化）。",
        "attr_sentence": "{label}的变化（{total}）中，",
        "contrib": "「{factor}」贡献{value}",
        "ci": "（95%置信区间 {lo} 至 {hi}）",
        "waterfall": "{label}从{a}到{b}的变化由什么构成",
        "waterfall_cap": "柱：各因素的 Shapley 贡献；须线：{n} 次重复运行的95%置信区间。"
                         "绿色：变好，红色：变差。",
        "rob_intro": "结论能否经受未经测量的假设的检验："
                     "在 {n} 组合理的假设取值下（按 {src} 中的区间以拉丁超立方抽样）"
                     "运行每个情景，随机数相同。",
        "rob_metric": "指标", "rob_scen": "情景", "rob_better": "更优的比例",
        "rob_median": "差值中位数", "rob_range": "90%抽样的差值范围",
        "hinges": "结论取决于哪些假设",
        "sobol": "{label}之差最取决于{items}（一阶 Sobol 指数：各假设单独解释的方差比例）。",
        "no_sobol": "未估计差值的 Sobol 指数：一阶指数（RBD-FAST）至少需要 {min} 次抽样，"
                    "本次为 {n} 次。",
        "always": "在全部 {n} 次抽样中，{s}在以下指标上都优于{ref}：{metrics}。"
                  "在这些区间内，没有任何假设能改变这些指标上的结论。",
        "structural": "结构性效应还是假设效应？",
        "no_struct": "未测量：假设区间未给出中性值。",
        "of_draws": "{n} 次抽样中的 {p} 次",
    },
}


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def _num(value: float, text: str, source: str, scenario: str, metric: str, fld: str) -> str:
    return (f'<span class="num" data-source="{_e(source)}" data-scenario="{_e(scenario)}" '
            f'data-metric="{_e(metric)}" data-field="{_e(fld)}" '
            f'data-value="{_e(repr(float(value)))}">{_e(text)}</span>')


def find_explain(results_dir: Path, explain_dir: str | Path | None) -> Path | None:
    for d in ([Path(explain_dir)] if explain_dir else []) + [results_dir,
                                                              results_dir / "explain"]:
        if (d / "attribution.csv").exists():
            return d
    return None


def _read(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path) if path.exists() else None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None


def _headline(metrics, first: str | None) -> list[str]:
    order = ([first] if first else []) + list(T.HEADLINE)
    present = set(metrics)
    return [m for m in dict.fromkeys(order) if m in present]


def section(res, lang: str, fig_dir: Path, explain_dir=None, first: str | None = None,
            save_fig=None) -> str:
    """The section's HTML ('' when there is nothing to show). `save_fig(Fig) -> png bytes`
    writes a figure beside the brief (the brief's own `figures.save`)."""
    s = S["zh" if lang == "zh" else "en"]
    parts: list[str] = []
    exp = find_explain(Path(res.path), explain_dir)
    if exp is not None:
        parts += _attribution(exp, lang, s, first, save_fig)
    rob = _read(Path(res.path) / "robustness.csv")
    if rob is not None and len(rob):
        parts += _robustness(Path(res.path), rob, lang, s, first)
    if not parts:
        return ""
    return f"<h2>{_e(s['title'])}</h2>\n" + "\n".join(parts)


def _fmt(x: float, kind: str, lang: str, diff: bool = True) -> str:
    return T.number(float(x), kind, T.BASE_DECIMALS.get(kind, 2), lang, diff=diff)


def _attribution(exp: Path, lang: str, s: dict, first, save_fig) -> list[str]:
    att = _read(exp / "attribution.csv")
    if att is None or att.empty:
        return []
    import json

    try:
        manifest = json.loads((exp / "manifest.json").read_text(encoding="utf-8"))
        a, b = (x["name"] for x in manifest["scenarios"])
        reps = int(manifest.get("replications", 0))
    except (OSError, ValueError, KeyError, TypeError):
        a, b, reps = "A", "B", 0
    out = [f"<p>{_e(s['attr_intro'].format(a=a, b=b))}</p>"]
    runs = _read(exp / "runs.csv")
    src = "attribution"
    items = []
    from ..experiments.explain import headline_metrics, waterfall_figure

    shown = [m for m in _headline(headline_metrics(att), first)]
    for m in shown:
        info = T.metric_info(m, lang)
        g = att[att["metric"] == m].set_index("factor")
        if "total" not in g.index:
            continue
        tot = g.loc["total"]
        facs = g.drop(index="total").sort_values("contribution", key=lambda v: -v.abs())
        text = _e(s["attr_sentence"].format(label=info.label, total="\x00"))
        text = text.replace("\x00", _num(tot["contribution"], _fmt(tot["contribution"],
                                                                    info.kind, lang),
                                         src, "total", m, "contribution"))
        bits = []
        for f, r in facs.head(3).iterrows():
            v = _num(r["contribution"], _fmt(r["contribution"], info.kind, lang), src, f, m,
                     "contribution")
            bit = _e(s["contrib"].format(factor=plain_factor(str(f), lang), value="\x00")
                     ).replace("\x00", v)
            if not (pd.isna(r["ci_low"]) or pd.isna(r["ci_high"])):
                bit += _e(s["ci"].format(lo=T.number(float(r["ci_low"]), info.kind,
                                                     T.BASE_DECIMALS.get(info.kind, 2), lang,
                                                     diff=True, with_unit=False),
                                         hi=_fmt(r["ci_high"], info.kind, lang)))
            bits.append(bit)
        sep = "；" if lang == "zh" else "; "
        items.append(f"<li>{text}{sep.join(bits)}{'。' if lang == 'zh' else '.'}</li>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    if runs is not None and save_fig is not None:
        from ..metrics import better
        from .figures import Fig

        for m in [m for m in shown if better(m)][:2]:
            info = T.metric_info(m, lang)
            fig = waterfall_figure(att, runs, m, (a, b), lang)
            title = s["waterfall"].format(label=info.label, a=a, b=b)
            f = Fig(f"drivers_waterfall_{m}", title, s["waterfall_cap"].format(n=reps), fig)
            png = save_fig(f)
            out.append(f'<figure id="fig-{_e(f.name)}"><img src="data:image/png;base64,'
                       f'{base64.b64encode(png).decode("ascii")}" alt="{_e(title)}">'
                       f"<figcaption><b>{_e(title)}.</b> {_e(f.caption)}</figcaption></figure>")
    return out


def _robustness(path: Path, rob: pd.DataFrame, lang: str, s: dict, first) -> list[str]:
    import json

    from ..experiments.robustness import structural_sentence

    try:
        man = json.loads((path / "uncertainty" / "manifest.json").read_text(encoding="utf-8"))
        n, src = int(man["draws"]), man.get("ranges") or "the scenarios' uncertain fields"
    except (OSError, ValueError, KeyError, TypeError):
        n, src = 0, "?"
    out = [f"<p>{_e(s['rob_intro'].format(n=n, src=src))}</p>"]
    srcf = "robustness"
    rows = []
    shown = _headline(rob["metric"].unique(), first)
    for m in shown:
        info = T.metric_info(m, lang)
        for _, r in rob[rob["metric"] == m].iterrows():
            if all(float(r[c]) == 0 for c in ("p05", "median", "p95")):
                continue
            share = ("—" if pd.isna(r["share_better"]) else
                     _num(r["share_better"], f"{r['share_better']:.0%}", srcf, r["scenario"], m,
                          "share_better"))
            med = _num(r["median"], _fmt(r["median"], info.kind, lang), srcf, r["scenario"], m,
                       "median")
            rng = (f"{_fmt(r['p05'], info.kind, lang)} … {_fmt(r['p95'], info.kind, lang)}")
            rows.append(f"<tr><td>{_e(info.label)}</td><td>{_e(r['scenario'])}</td>"
                        f"<td class=\"n\">{share}</td><td class=\"n\">{med}</td>"
                        f"<td class=\"n\">{_e(rng)}</td></tr>")
    if rows:
        out.append(f"<table><thead><tr><th>{_e(s['rob_metric'])}</th><th>{_e(s['rob_scen'])}"
                   f"</th><th>{_e(s['rob_better'])}</th><th>{_e(s['rob_median'])}</th>"
                   f"<th>{_e(s['rob_range'])}</th></tr></thead><tbody>{''.join(rows)}"
                   f"</tbody></table>")
    hinge = []
    disc = _read(path / "scenario_discovery.csv")
    need = {"metric", "scenario", "reference", "draws", "better_draws", "losing_draws", "box"}
    if disc is not None and len(disc) and not need <= set(disc.columns):
        hinge += [f"<li>{_e(t)}</li>" for t in disc.get("sentence", [])]   # older file
        disc = None
    if disc is not None and len(disc):
        from ..experiments.robustness import discovery_sentence

        disc = disc[disc["metric"].isin(shown)]
        always = disc[disc["better_draws"] == disc["draws"]]
        for scen, g in always.groupby("scenario", sort=False):
            labels = "、".join(T.metric_info(m, lang).label for m in g["metric"]) if \
                lang == "zh" else ", ".join(T.metric_info(m, lang).label for m in g["metric"])
            hinge.append(f"<li>{_e(s['always'].format(s=scen, ref=g['reference'].iloc[0], n=int(g['draws'].iloc[0]), metrics=labels))}</li>")  # noqa: E501
        for _, r in disc[disc["better_draws"] != disc["draws"]].iterrows():
            hinge.append(f"<li>{_e(plain_paths(discovery_sentence(r, lang), lang))}</li>")
    sob = _read(path / "sensitivity_uncertainty.csv")
    if sob is not None and len(sob):
        from ..experiments.robustness import MIN_SOBOL_DRAWS

        est = sob.dropna(subset=["S1"])
        for m in shown[:2]:
            g = est[est["metric"] == m].sort_values("S1", ascending=False).head(3)
            if len(g):
                info = T.metric_info(m, lang)
                items = ", ".join(f"{plain_factor(r.assumption, lang)} ({r.S1:.2f})"
                                  for r in g.itertuples())
                hinge.append(f"<li>{_e(s['sobol'].format(label=info.label, items=items))}</li>")
        if est.empty:
            hinge.append(f"<li>{_e(s['no_sobol'].format(min=MIN_SOBOL_DRAWS, n=n))}</li>")
    if hinge:
        out.append(f"<h3>{_e(s['hinges'])}</h3><ul>{''.join(hinge)}</ul>")
    st = _read(path / "structural.csv")
    sentences = []
    if st is not None and len(st):
        for m in shown[:1]:
            for scen in st.loc[st["metric"] == m, "scenario"]:
                t = structural_sentence(st, m, scen, lang)
                if t:
                    sentences.append(t)
    out.append(f"<h3>{_e(s['structural'])}</h3><p>"
               f"{_e(' '.join(sentences) if sentences else s['no_struct'])}</p>")
    return out


_DOTTED = None


def plain_paths(text: str, lang: str) -> str:
    """Dotted settings inside a sentence replaced by their plain names."""
    import re

    global _DOTTED
    if _DOTTED is None:
        _DOTTED = re.compile(r"\b[a-z_]+(?:\.[A-Za-z_0-9*\[\]]+)+")
    return _DOTTED.sub(lambda m: plain_factor(m.group(0), lang)
                       if not m.group(0).endswith((".csv", ".yaml", ".json", ".md")) else
                       m.group(0), text)


def has_content(results_dir, explain_dir=None) -> bool:
    p = Path(results_dir)
    return find_explain(p, explain_dir) is not None or (p / "robustness.csv").exists()


__all__ = ["section", "has_content", "find_explain"]
