"""Words from numbers: metric names and units, number formatting, headline sentences (en, zh).

Every number shown carries a unit. A sentence is a list of segments: plain strings and `Num`s;
a `Num` keeps the exact value it was formatted from and where the value came from (file,
scenario, metric, field), so the HTML brief can tag it and a test can check every quoted
number against comparison.csv.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..metrics import METRIC_DEFS as _METRIC_DEFS
from ..metrics import metric_def as _metric_def

# kind -> (en unit, zh unit); "share" values are fractions shown as %
UNITS = {
    "share": ("%", "%"),
    "hours": ("h", "小时"),
    "days": ("days", "天"),
    "per_day": ("cases/day", "件/天"),
    "cases": ("cases", "件"),
    "complaints": ("complaints", "件投诉"),
    "problems": ("problems", "个问题"),
    "transfers": ("transfers", "次转办"),
    "visits": ("visits", "次走访"),
    "staff_hours": ("staff-hours", "工时"),
    "runs": ("runs", "次运行"),
    "count": ("units", "个"),
}
PP = ("percentage points", "个百分点")

# metric -> (en label, zh label, kind, better): a view of the one definition in sim/metrics.py
METRICS: dict[str, tuple[str, str, str, str]] = {
    k: (d.en, d.zh, d.kind, d.better) for k, d in _METRIC_DEFS.items() if not d.internal
}
METRICS.update({k: (d.en, d.zh, d.kind, d.better) for k, d in _METRIC_DEFS.items()
                if d.internal})
# the metrics the brief leads with, in order (those present in the results)
HEADLINE = ("recomplaint_rate", "chase_rate", "median_time_to_close_hours",
            "problems_solved_per_day", "throughput_per_day", "citizen_repeat_rate",
            "repeat_complaint_rate", "backlog_end", "on_time_rate", "dissatisfaction_rate",
            "escalations", "police_nonpolice_hours")
BASE_DECIMALS = {"share": 1, "hours": 1, "days": 1, "per_day": 1, "staff_hours": 0,
                 "cases": 0, "complaints": 0, "problems": 0, "transfers": 0, "visits": 0,
                 "runs": 0, "count": 2}


@dataclass(frozen=True)
class MetricInfo:
    name: str
    label: str
    kind: str
    better: str


def metric_info(metric: str, lang: str = "en", dept_names: dict[str, str] | None = None
                ) -> MetricInfo:
    """Label, unit kind and direction of a metric (per-department metrics included)."""
    zh = lang == "zh"
    if metric in METRICS:
        en_l, zh_l, kind, better = METRICS[metric]
        return MetricInfo(metric, zh_l if zh else en_l, kind, better)
    head, _, dept = metric.partition(".")
    dname = (dept_names or {}).get(dept, dept)
    if head == "utilization" and dept:
        return MetricInfo(metric, f"{dname}人员负荷率" if zh else f"staff utilisation, {dname}",
                          "share", "")
    if head == "staff_hours" and dept:
        return MetricInfo(metric, f"{dname}工时" if zh else f"staff hours, {dname}",
                          "staff_hours", "")
    if head == "queue" and dept:
        return MetricInfo(metric, f"{dname}排队案件" if zh else f"queue, {dname}", "cases", "")
    d = _metric_def(metric)   # unknown names: kind from the suffix, no direction
    return MetricInfo(metric, d.zh if zh else d.en, d.kind, d.better)


def unit(kind: str, lang: str = "en") -> str:
    return UNITS.get(kind, UNITS["count"])[1 if lang == "zh" else 0]


def scale(kind: str) -> float:
    return 100.0 if kind == "share" else 1.0


def _num(x: float, decimals: int, lang: str) -> str:
    s = f"{x:,.{decimals}f}"
    if s.startswith("-"):
        s = "\u2212" + s[1:]
    if s in ("\u22120", "\u22120." + "0" * decimals):
        s = s[1:]
    return s


def number(x: float, kind: str, decimals: int, lang: str = "en", diff: bool = False,
           with_unit: bool = True) -> str:
    """`x` (in the metric's own scale) as text with its unit: 0.182 share -> "18.2%"; a share
    difference is in percentage points. `with_unit=False` (the low end of a range whose high
    end carries the unit) drops the unit, except "%"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a" if lang != "zh" else "无"
    v = x * scale(kind)
    s = _num(v, decimals, lang)
    if diff and v > 0:
        s = "+" + s
    if not with_unit and not (kind == "share" and not diff):
        return s
    if kind == "share":
        if diff:
            return f"{s} {PP[0]}" if lang != "zh" else f"{s}{PP[1]}"
        return f"{s}%"
    u = unit(kind, lang)
    return f"{s}{u}" if lang == "zh" else f"{s} {u}"


def choose_decimals(kind: str, groups) -> int:
    """Base decimals of the kind; one more only where a group's mean would print as 0 although
    it is not (sensible rounding: "50.0%", not "50.01%"; bounds that print alike are said in
    words by `Formatter.ci`)."""
    base = BASE_DECIMALS.get(kind, 2)
    means = [abs(float(g[0]) * scale(kind)) for g in groups
             if len(g) and g[0] is not None and np.isfinite(g[0])]
    if kind in ("per_day", "hours", "days") and means and min(means) >= 100:
        base = 0          # "3,190 cases/day", not "3,189.9 cases/day"
    need = base
    for values in groups:
        vals = [float(v) * scale(kind) for v in values if v is not None and np.isfinite(v)]
        if vals and vals[0] != 0 and round(vals[0], base) == 0:
            need = max(need, base + 1)
    return need


@dataclass(frozen=True)
class Num:
    """A number in the text, with its unit, and its source for tagging and checking."""

    value: float
    text: str
    source: str = "comparison"   # comparison | runs | sensitivity
    scenario: str = ""
    metric: str = ""
    field: str = ""              # mean, ci_low, ci_high, diff_mean, ...


Segment = str | Num


def plain(segments: list[Segment]) -> str:
    return "".join(s.text if isinstance(s, Num) else s for s in segments)


class Formatter:
    """Formats the numbers of one comparison table consistently (same decimals per metric)."""

    def __init__(self, comparison: pd.DataFrame, lang: str = "en",
                 dept_names: dict[str, str] | None = None):
        self.cmp = comparison
        self.lang = lang
        self.dept_names = dept_names or {}
        self._dec: dict[str, int] = {}
        self._ddec: dict[str, int] = {}

    def info(self, metric: str) -> MetricInfo:
        return metric_info(metric, self.lang, self.dept_names)

    def row(self, scenario: str, metric: str) -> pd.Series | None:
        c = self.cmp
        r = c[(c["scenario"] == scenario) & (c["metric"] == metric)]
        return None if r.empty else r.iloc[0]

    def decimals(self, metric: str, diff: bool = False) -> int:
        cache = self._ddec if diff else self._dec
        if metric not in cache:
            rows = self.cmp[self.cmp["metric"] == metric]
            fields = ("diff_mean", "diff_ci_low", "diff_ci_high") if diff else \
                ("mean", "ci_low", "ci_high")
            groups = [[r[f] for f in fields if f in r] for _, r in rows.iterrows()]
            cache[metric] = choose_decimals(self.info(metric).kind, groups)
        return cache[metric]

    def num(self, scenario: str, metric: str, fld: str, with_unit: bool = True) -> Num:
        r = self.row(scenario, metric)
        v = float(r[fld]) if r is not None and fld in r and pd.notna(r[fld]) else math.nan
        diff = fld.startswith("diff")
        text = number(v, self.info(metric).kind, self.decimals(metric, diff), self.lang, diff,
                      with_unit)
        return Num(v, text, "comparison", scenario, metric, fld)

    def ci(self, scenario: str, metric: str, diff: bool = False) -> list[Segment]:
        """ "95% CI 17.6%–18.8%", "95% CI 28.9–34.6 cases/day" (the unit closes the range),
        or a note when there is a single run."""
        lo, hi = ("diff_ci_low", "diff_ci_high") if diff else ("ci_low", "ci_high")
        a = self.num(scenario, metric, lo, with_unit=False)
        b = self.num(scenario, metric, hi)
        zh = self.lang == "zh"
        if math.isnan(a.value) or math.isnan(b.value):
            return ["无置信区间：仅1次运行" if zh else "no CI: a single run"]
        info = self.info(metric)
        d = self.decimals(metric, diff)
        k = scale(info.kind)
        if round(a.value * k, d) == round(b.value * k, d):
            # the bounds print alike: say how narrow instead of "0–0"
            half = 0.5 * 10 ** (-d) / k
            h = number(half, info.kind, d + 1, self.lang, diff).lstrip("+")
            if a.value == b.value:
                return ["各次运行结果相同" if zh else "identical in every run"]
            return [f"95%置信区间在 ±{h} 以内" if zh else f"95% CI within ±{h}"]
        signed = diff or a.value < 0 or b.value < 0
        sep = ("至" if zh else " to ") if signed else "\u2013"
        return ["95%置信区间 " if zh else "95% CI ", a, sep, b]

    def value_with_ci(self, scenario: str, metric: str) -> list[Segment]:
        zh = self.lang == "zh"
        lp, rp = ("（", "）") if zh else (" (", ")")
        return [self.num(scenario, metric, "mean"), lp, *self.ci(scenario, metric), rp]


def headline(fmt: Formatter, base: str, alt: str, metric: str,
             labels: dict[str, str] | None = None) -> list[Segment] | None:
    """One sentence: how `alt` changes `metric` against `base`, with both CIs and the
    difference's CI. None when the metric is missing. `labels`: scenario display names."""
    rb, ra = fmt.row(base, metric), fmt.row(alt, metric)
    if rb is None or ra is None:
        return None
    base_code, alt_code = base, alt
    base, alt = (labels or {}).get(base, base), (labels or {}).get(alt, alt)
    info = fmt.info(metric)
    zh = fmt.lang == "zh"
    d, dlo, dhi = (float(ra.get(k, math.nan)) for k in ("diff_mean", "diff_ci_low",
                                                        "diff_ci_high"))
    vb, va = fmt.value_with_ci(base_code, metric), fmt.value_with_ci(alt_code, metric)
    if d == 0 and dlo == 0 and dhi == 0:  # same seeds and the same behaviour: identical runs
        if zh:
            return [f"「{alt}」与「{base}」的{info.label}完全相同：", *va, "。"]
        return [f"{alt} gives the same {info.label} as {base}: ", *va, "."]
    clear = np.isfinite(dlo) and np.isfinite(dhi) and (dlo > 0 or dhi < 0)
    diff = [fmt.num(alt_code, metric, "diff_mean"), "（" if zh else " (",
            *fmt.ci(alt_code, metric, diff=True), "）" if zh else ")"]
    if clear:
        up = d > 0
        judge = ""
        if info.better:
            good = up == (info.better == "higher")
            judge = ("（改善）" if good else "（变差）") if zh else (" (better)" if good
                                                                  else " (worse)")
        if zh:
            verb = "升至" if up else "降至"
            return [f"与「{base}」相比，「{alt}」使{info.label}从", *vb, verb, *va,
                    f"{judge}，差值为", *diff, "。"]
        verb = "raises" if up else "lowers"
        return [f"{alt} {verb} the {info.label} from ", *vb, f" under {base} to ", *va, judge,
                ": a difference of ", *diff, "."]
    if zh:
        return [f"「{alt}」与「{base}」的{info.label}没有明显差别：", *va, "对", *vb,
                "；差值", *diff, "的置信区间包含零。"]
    return [f"{alt} and {base} do not differ clearly in the {info.label}: ", *va, " against ",
            *vb, "; the difference, ", *diff, ", includes zero."]


def level_sentence(fmt: Formatter, scenario: str, metric: str,
                   labels: dict[str, str] | None = None) -> list[Segment] | None:
    """For a single scenario: "Under A, the repeat-complaint rate is 18.2% (95% CI ...)"."""
    if fmt.row(scenario, metric) is None:
        return None
    info = fmt.info(metric)
    name = (labels or {}).get(scenario, scenario)
    if fmt.lang == "zh":
        return [f"「{name}」的{info.label}为", *fmt.value_with_ci(scenario, metric), "。"]
    return [f"Under {name}, the {info.label} is ", *fmt.value_with_ci(scenario, metric), "."]


def _change(fmt: Formatter, base: str, alt: str, metric: str) -> list[Segment]:
    """ "from X under base to Y (difference D, 95% CI ...)" without judging it."""
    zh = fmt.lang == "zh"
    return [*fmt.value_with_ci(base, metric), "→" if zh else " → ",
            *fmt.value_with_ci(alt, metric), "，差值" if zh else "; difference ",
            fmt.num(alt, metric, "diff_mean"), "（" if zh else " (",
            *fmt.ci(alt, metric, diff=True), "）" if zh else ")"]


def throughput_sentence(fmt: Formatter, base: str, alt: str,
                        labels: dict[str, str] | None = None) -> list[Segment] | None:
    """Throughput explained, not judged, with problems solved per day beside it."""
    if fmt.row(base, "throughput_per_day") is None or fmt.row(alt, "throughput_per_day") is None:
        return None
    zh = fmt.lang == "zh"
    b, a = (labels or {}).get(base, base), (labels or {}).get(alt, alt)
    out: list[Segment] = [f"日均结案量（「{b}」→「{a}」）：" if zh else
                          f"Throughput (cases closed per day, {b} → {a}): ",
                          *_change(fmt, base, alt, "throughput_per_day")]
    if fmt.row(alt, "problems_solved_per_day") is not None:
        out += ["；日均实际解决问题数：" if zh else "; problems actually solved per day: ",
                *_change(fmt, base, alt, "problems_solved_per_day")]
    out.append("。结案量本身不分好坏：重复投诉减少时，需要结案的案件也随之减少，"
               "应结合重复投诉率和实际解决的问题数来看。" if zh else
               ". Throughput is not a verdict: it falls when fewer repeat complaints arise "
               "(fewer cases to close), so read it with the repeat rate and the problems "
               "solved.")
    return out


def police_sentence(fmt: Formatter, base: str, alt: str,
                    labels: dict[str, str] | None = None) -> list[Segment] | None:
    """Police time on non-police matters: hours and their share of police hours together."""
    if fmt.row(alt, "police_nonpolice_hours") is None:
        return None
    zh = fmt.lang == "zh"
    b, a = (labels or {}).get(base, base), (labels or {}).get(alt, alt)
    out: list[Segment] = [f"派出所处理非警务事项（「{b}」→「{a}」）：工时" if zh else
                          f"Police time on non-police matters ({b} → {a}): hours ",
                          *_change(fmt, base, alt, "police_nonpolice_hours")]
    if fmt.row(alt, "police_nonpolice_share") is not None:
        out += ["；占派出所全部工时的比例" if zh else "; as a share of all police hours ",
                *_change(fmt, base, alt, "police_nonpolice_share")]
    out.append("。" if zh else ".")
    return out


def headline_metrics(comparison: pd.DataFrame, first: str | None = None) -> list[str]:
    """The headline metrics present in `comparison` that are not zero everywhere."""
    present = set(comparison["metric"])
    out = []
    for m in ([first] if first else []) + list(HEADLINE):
        if m and m in present and m not in out:
            rows = comparison[comparison["metric"] == m]
            if np.nanmax(np.abs(rows[["mean"]].to_numpy(float)), initial=0.0) > 0:
                out.append(m)
    return out


def findings(comparison: pd.DataFrame, scenarios: list[str], lang: str = "en",
             dept_names: dict[str, str] | None = None, first: str | None = None,
             labels: dict[str, str] | None = None) -> list[list[Segment]]:
    """The headline sentences of a comparison: every alternative against the first scenario
    on every headline metric (one scenario: its levels). Throughput is explained, not judged,
    with problems solved per day beside it; the police sentence gives hours and share."""
    fmt = Formatter(comparison, lang, dept_names)
    out = []
    metrics = headline_metrics(comparison, first)
    if len(scenarios) == 1:
        for m in metrics:
            s = level_sentence(fmt, scenarios[0], m, labels)
            if s:
                out.append(s)
        return out
    base = scenarios[0]
    for alt in scenarios[1:]:
        for m in metrics:
            if m == "throughput_per_day" and m != first:
                s = throughput_sentence(fmt, base, alt, labels)
            elif m == "police_nonpolice_hours" and m != first:
                s = police_sentence(fmt, base, alt, labels)
            else:
                s = headline(fmt, base, alt, m, labels)
            if s:
                out.append(s)
    return out


# ------------------------------------------------------------------ short, ranked findings
# the brief shows at most FINDINGS_SHOWN findings after the verdict, each at most
# FINDING_WORDS words (en) or FINDING_UNITS_ZH units in Chinese (a CJK character or a number /
# Latin word each: about two characters per English word), most important first; the rest
# are folded into a "more findings" block.
FINDINGS_SHOWN = 5
FINDING_WORDS = 25
FINDING_UNITS_ZH = 50


def finding_length(text: str, lang: str = "en") -> int:
    """Words of an English finding; in Chinese, CJK characters plus the other words (numbers,
    Latin names) each counted once."""
    if lang != "zh":
        return len(text.split())
    import re

    cjk = re.findall(r"[\u3400-\u9fff\uf900-\ufaff]", text)
    rest = re.sub(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]", " ", text)
    return len(cjk) + len(re.findall(r"[A-Za-z0-9]+(?:[.,%'\-][A-Za-z0-9%]+)*%?", rest))


@dataclass(frozen=True)
class Finding:
    """One short finding: its sentence, and its importance (|difference| over the half-width
    of the difference's 95% CI: about the t statistic; +inf when every run agrees on a
    non-zero difference, 0 for identical runs)."""

    segments: list
    score: float
    scenario: str
    metric: str


def effect_score(row: pd.Series | None) -> float:
    """|difference| / half-width of its 95% CI (NaN CI: |difference| / |level| instead, so a
    single-run comparison still ranks large relative changes first)."""
    if row is None:
        return 0.0
    d = float(row.get("diff_mean", math.nan))
    lo, hi = float(row.get("diff_ci_low", math.nan)), float(row.get("diff_ci_high", math.nan))
    if not np.isfinite(d) or d == 0:
        return 0.0
    if np.isfinite(lo) and np.isfinite(hi):
        half = (hi - lo) / 2
        return math.inf if half <= 0 else abs(d) / half
    level = abs(float(row.get("mean", math.nan)) - d)
    return abs(d) / level if np.isfinite(level) and level > 0 else 0.0


def _cap(label: str) -> str:
    return label[:1].upper() + label[1:]


def short_finding(fmt: Formatter, base: str, alt: str, metric: str,
                  alt_label: str | None = None) -> list[Segment] | None:
    """ "Re-complaint rate: 18.2% → 9.1% (−9.1 percentage points, 95% CI −9.8 to −8.4):
    better." — the two levels, the difference and its CI, and the judgement, without the
    levels' own CIs (those are in the metrics table and in the full sentences). `alt_label`:
    the alternative's name, said when there are several alternatives."""
    rb, ra = fmt.row(base, metric), fmt.row(alt, metric)
    if rb is None or ra is None:
        return None
    info = fmt.info(metric)
    zh = fmt.lang == "zh"
    d, dlo, dhi = (float(ra.get(k, math.nan)) for k in ("diff_mean", "diff_ci_low",
                                                        "diff_ci_high"))
    if zh:
        head = f"{info.label}（「{alt_label}」）：" if alt_label else f"{info.label}："
    else:
        head = f"{_cap(info.label)}{f' under {alt_label}' if alt_label else ''}: "
    vb, va = fmt.num(base, metric, "mean"), fmt.num(alt, metric, "mean")
    if d == 0 and dlo == 0 and dhi == 0:
        return [head, va, "，两者完全相同。" if zh else " in both (identical runs)."]
    clear = np.isfinite(dlo) and np.isfinite(dhi) and (dlo > 0 or dhi < 0)
    if metric == "throughput_per_day":
        judge = "，本身不分好坏" if zh else ": not a verdict by itself"
    elif not clear:
        judge = "，无明显差别" if zh else ": no clear difference"
    elif info.better:
        good = (d > 0) == (info.better == "higher")
        judge = ("，改善" if good else "，变差") if zh else (": better" if good else ": worse")
    else:
        judge = ""
    ci = fmt.ci(alt, metric, diff=True)
    out = _short(zh, head, vb, va, fmt.num(alt, metric, "diff_mean"), ci, judge)
    if finding_length(plain(out), fmt.lang) > (FINDING_UNITS_ZH if zh else FINDING_WORDS):
        # a long metric or scenario name: the CI stays in the full sentence and the table
        out = _short(zh, head, vb, va, fmt.num(alt, metric, "diff_mean"), [], judge)
    return out


def _short(zh: bool, head: str, vb: Num, va: Num, diff: Num, ci: list, judge: str) -> list:
    if zh:
        return [head, vb, "→", va, "（差值", diff, *(["，", *ci] if ci else []), "）", judge,
                "。"]
    return [head, vb, " → ", va, " (", diff, *([", ", *ci] if ci else []), ")", judge, "."]


def short_level(fmt: Formatter, scenario: str, metric: str) -> list[Segment] | None:
    """A single scenario: "Re-complaint rate: 18.2% (95% CI 17.6%–18.8%)." """
    if fmt.row(scenario, metric) is None:
        return None
    info = fmt.info(metric)
    if fmt.lang == "zh":
        return [f"{info.label}：", *fmt.value_with_ci(scenario, metric), "。"]
    return [f"{_cap(info.label)}: ", *fmt.value_with_ci(scenario, metric), "."]


def ranked_findings(comparison: pd.DataFrame, scenarios: list[str], lang: str = "en",
                    dept_names: dict[str, str] | None = None, first: str | None = None,
                    labels: dict[str, str] | None = None) -> list[Finding]:
    """Every headline metric of every alternative against the first scenario as a short
    finding, most important first (`effect_score`; ties keep the headline order). One
    scenario: its levels in the headline order."""
    fmt = Formatter(comparison, lang, dept_names)
    metrics = headline_metrics(comparison, first)
    out: list[Finding] = []
    if len(scenarios) == 1:
        for m in metrics:
            s = short_level(fmt, scenarios[0], m)
            if s:
                out.append(Finding(s, 0.0, scenarios[0], m))
        return out
    base = scenarios[0]
    several = len(scenarios) > 2
    for alt in scenarios[1:]:
        name = (labels or {}).get(alt, alt) if several else None
        for m in metrics:
            s = short_finding(fmt, base, alt, m, name)
            if s:
                out.append(Finding(s, effect_score(fmt.row(alt, m)), alt, m))
    order = {id(f): i for i, f in enumerate(out)}
    return sorted(out, key=lambda f: (-f.score, order[id(f)]))
