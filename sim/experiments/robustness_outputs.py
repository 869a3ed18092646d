"""What `cogov compare --uncertainty` says about its draws: the structural share of each
effect (`add_point_effects`, `structural_sentence`) and the printed summary
(`print_robustness`)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd

from ..metrics import metric_def
from .robustness_analysis import HEADLINE, RobustnessResult
from .store import write_csv


def add_point_effects(res: RobustnessResult, comparison: pd.DataFrame) -> None:
    """Fill structural.csv's point effects from compare's comparison table (same seeds)."""
    st = res.structural
    if st.empty:
        return
    c = comparison.set_index(["metric", "scenario"])["diff_mean"]
    for i, r in st.iterrows():
        pt = c.get((r["metric"], r["scenario"]), np.nan)
        st.at[i, "effect_point"] = pt
        st.at[i, "structural_share"] = (r["effect_neutral"] / pt
                                        if pt and not math.isnan(pt) else np.nan)
    write_csv(st, res.out / "structural.csv")


def structural_sentence(structural: pd.DataFrame, metric: str, scenario: str,
                        lang: str = "en") -> str | None:
    """One plain sentence on how much of the effect is structural."""
    r = structural[(structural["metric"] == metric) & (structural["scenario"] == scenario)]
    if r.empty or pd.isna(r.iloc[0]["structural_share"]):
        return None
    r = r.iloc[0]
    d = metric_def(metric)
    zh = lang == "zh"
    k = 100.0 if d.kind == "share" else 1.0
    unit = (" 个百分点" if zh else " pp") if d.kind == "share" else ""
    share = float(r["structural_share"])
    neutral, point = f"{r['effect_neutral'] * k:+.2f}{unit}", f"{r['effect_point'] * k:+.2f}{unit}"
    if zh:
        part = ("效应方向反转，即全部效应都来自假设的效应大小" if share < 0 else
                f"约 {min(share, 9.99):.0%} 是结构性的（按模型中的分派、能力与时延），"
                f"{max(0.0, 1 - share):.0%} 来自假设的效应大小")
        return (f"若所有假设的效应大小取中性值，{scenario}对{d.zh}的效应为 {neutral}，"
                f"而非 {point}：{part}。")
    if share < 0:
        part = ("the effect turns the other way, so the whole of it rests on the assumed "
                "effect sizes")
    else:
        part = (f"about {min(share, 9.99):.0%} of it is structural (routing, capacity, delays "
                f"as modelled) and {max(0.0, 1 - share):.0%} comes from the assumed effect "
                f"sizes")
    return (f"With every assumed effect size at its neutral value, the effect of {scenario} on "
            f"the {d.en} is {neutral} instead of {point}: {part}.")


def print_robustness(res: RobustnessResult, stream=None) -> None:
    stream = stream or sys.stdout
    for n in res.notes:
        print(f"note: {n}", file=stream)
    print(f"Robustness over {res.draws} draws of {len(res.assumptions)} assumptions "
          f"(Latin hypercube; {res.replications} replication(s) per draw, common seeds): share "
          f"of draws in which each scenario is better than {res.names[0]}, and the 5th, 50th "
          f"and 95th percentiles of the difference", file=stream)
    rob = res.robustness
    for m in HEADLINE:
        g = rob[rob["metric"] == m]
        if g.empty or not np.nanmax(np.abs(g[["p05", "median", "p95"]].to_numpy(float)),
                                    initial=0.0) > 0:
            continue
        d = metric_def(m)
        k, unit = (100.0, "pp") if d.kind == "share" else (1.0, {"hours": "h"}.get(
            d.kind, d.kind.replace("_", " ")))
        for _, r in g.iterrows():
            share = "-" if pd.isna(r["share_better"]) else f"{r['share_better']:.0%}"
            print(f"  {d.en:<45} {r['scenario']:<16} better in {share:>4}  difference "
                  f"{r['median'] * k:+.2f} {unit} [{r['p05'] * k:+.2f}, {r['p95'] * k:+.2f}]",
                  file=stream)
    for s in res.discovery["sentence"] if len(res.discovery) else []:
        print(f"  {s}", file=stream)
    sob = res.sobol
    if len(sob) and sob["S1"].notna().any():
        top = sob.dropna(subset=["S1"]).sort_values("S1", ascending=False)
        top = top[top["metric"] == HEADLINE[0]].head(3)
        if len(top):
            print("  the repeat-rate difference hinges most on: " + ", ".join(
                f"{r.assumption} (S1 {r.S1:.2f})" for r in top.itertuples()), file=stream)
    elif len(sob):
        print(f"  Sobol indices: {sob['note'].iloc[0]}", file=stream)
    for m in HEADLINE[:1]:
        for s in res.names[1:]:
            t = structural_sentence(res.structural, m, s)
            if t:
                print(f"  {t}", file=stream)
    o = res.out
    print(f"results: {o}/robustness.csv, uncertainty_draws.csv, sensitivity_uncertainty.csv, "
          f"scenario_discovery.csv, structural.csv, uncertainty/", file=stream)
