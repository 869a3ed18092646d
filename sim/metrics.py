"""One definition per output metric: label (en, zh), unit kind, group and which way is better.

This is the single source of truth for "better" (lower / higher / neither). `cogov compare`,
`explain`, the robustness table, `recommend` and the brief all read it through
`better(metric)` and `metric_def(metric)`; nothing else may hard-code a direction.

Directions follow what a planner wants, not what moves with load:
- throughput (cases closed per day) is *neither*: it falls when fewer repeat complaints
  arise, so a lower figure can mean a better system; read it with the repeat rate;
- counts that are activity (complaints, cases opened, handbacks, visits) are *neither* unless
  stated; the departments' total staff hours are a cost (*lower*: the same outcomes for fewer
  hours are better), per-department hours and utilisation are *neither*;
- rates of failure (repeat, dissatisfaction, escalation) and delays are *lower*.
"""

from __future__ import annotations

from dataclasses import dataclass

# groups, in the order tables show them
GROUPS = ("demand", "quality", "speed", "workload", "internal")
# the rows `cogov compare` shows first, under "Headline", before the groups: the re-complaint
# rate after closure (重复投诉率), chases per case (催办率) beside it, and the median time to close
LEAD_METRICS = ("recomplaint_rate", "chase_rate", "median_time_to_close_hours")
GROUP_LABELS = {
    "headline": ("Headline", "核心指标"),
    "demand": ("Demand", "需求"),
    "quality": ("Quality", "质量"),
    "speed": ("Speed", "时效"),
    "workload": ("Workload", "工作量"),
    "internal": ("Internal counters", "内部计数"),
}


@dataclass(frozen=True)
class MetricDef:
    name: str
    en: str
    zh: str
    kind: str          # unit kind: share, hours, days, per_day, cases, complaints, ...
    better: str        # "lower" | "higher" | "" (neither)
    group: str         # one of GROUPS
    internal: bool = False   # hidden from terminal tables unless --all


def _m(name, en, zh, kind, better, group, internal=False):
    return name, MetricDef(name, en, zh, kind, better, group, internal)


METRIC_DEFS: dict[str, MetricDef] = dict([
    _m("complaints", "complaints", "投诉量", "complaints", "", "demand"),
    _m("citizen_complaints", "complaints by citizens", "群众投诉量", "complaints", "", "demand"),
    _m("problems_arisen", "problems arisen", "新发问题数", "problems", "", "demand"),
    _m("cases_opened", "cases opened", "立案数", "cases", "", "demand"),
    _m("case_arrival_rate_per_day", "case arrival rate", "日均立案量", "per_day", "", "demand"),
    _m("repeat_complaints", "repeat complaints", "重复投诉量", "complaints", "lower", "quality"),
    _m("repeat_complaint_rate", "repeat-complaint rate (all reports)", "重复投诉率（全部来源）",
       "share", "lower", "quality"),
    _m("citizen_repeat_complaints", "citizen repeat complaints", "群众重复投诉量", "complaints",
       "lower", "quality"),
    _m("citizen_repeat_rate", "citizen repeat rate", "群众重复投诉率", "share", "lower",
       "quality"),
    _m("recomplaint_rate", "re-complaint rate after closure (重复投诉率)",
       "结案后重复投诉率", "share", "lower", "quality"),
    _m("recomplaints_after_closure", "re-complaints after closure (重复投诉)", "结案后重复投诉量",
       "complaints", "lower", "quality"),
    _m("chase_rate", "chases per case opened (催办率)", "催办率（每立案催办次数）", "count",
       "lower", "speed"),
    _m("chase_complaints", "chases while the case is open (催办)", "在办催办量", "complaints",
       "lower", "speed"),
    _m("first_reports", "first reports by citizens", "群众首次报告量", "complaints", "",
       "demand"),
    _m("grid_redetections", "grid re-detections", "网格员重复发现", "complaints", "", "quality"),
    _m("escalations", "escalations to a higher channel", "越级投诉（升级）次数", "complaints",
       "lower", "quality"),
    _m("escalations_to_petition", "escalations to petition (信访)", "升级为信访次数",
       "complaints", "lower", "quality"),
    _m("problems_resolved", "problems resolved", "解决问题数", "problems", "higher", "quality"),
    _m("problems_solved_per_day", "problems solved per day", "日均解决问题数", "per_day",
       "higher", "quality"),
    _m("resolved_share_of_closed", "share of closed cases truly resolved", "结案实际解决率",
       "share", "higher", "quality"),
    _m("dissatisfaction_rate", "dissatisfaction rate", "不满意率", "share", "lower", "quality"),
    _m("settled_by_grid", "cases settled by the grid", "网格化解案件", "cases", "higher",
       "quality"),
    _m("settled_on_spot", "matters settled on the spot", "就地化解事项", "cases", "higher",
       "quality"),
    _m("cases_closed", "cases closed", "结案数", "cases", "", "speed"),
    _m("throughput_per_day", "throughput (cases closed per day)", "日均结案量", "per_day", "",
       "speed"),
    _m("mean_wait_hours", "mean wait before handling", "平均等待时间", "hours", "lower", "speed"),
    _m("platform_wait_hours", "mean wait at the street platform", "街道平台平均分拨等待",
       "hours", "lower", "speed"),
    _m("mean_time_to_close_hours", "mean time to close", "平均办结时长", "hours", "lower",
       "speed"),
    _m("median_time_to_close_hours", "median time to close", "办结时长中位数", "hours", "lower",
       "speed"),
    _m("p90_time_to_close_hours", "90th-percentile time to close", "办结时长90分位数", "hours",
       "lower", "speed"),
    _m("on_time_rate", "on-time closure rate", "按期办结率", "share", "higher", "speed"),
    _m("backlog_end", "backlog at the end", "期末积压案件", "cases", "lower", "speed"),
    _m("mean_open_cases", "mean open cases", "平均在办案件", "cases", "lower", "speed"),
    _m("transfers", "transfers between departments", "部门间转办次数", "transfers", "lower",
       "workload"),
    _m("joint_cases", "cases handled jointly (main/co or linkage)", "联合办理案件", "cases", "",
       "workload"),
    _m("police_nonpolice_hours", "police hours on non-police matters",
       "派出所处理非警务事项工时", "staff_hours", "lower", "workload"),
    _m("police_nonpolice_share", "share of police hours on non-police matters",
       "非警务事项占派出所工时比例", "share", "lower", "workload"),
    _m("joint_operations", "joint operations (linkage and campaign actions)",
       "联合执法行动（联动、专项整治）", "count", "", "workload"),
    _m("effort_mean", "mean effort per handled task (1 = what the case needs)",
       "平均办理投入（1=案件所需）", "count", "", "workload"),
    _m("effort_sd", "spread of effort over handled tasks (standard deviation)",
       "办理投入标准差", "count", "", "workload"),
    _m("followup_hours_sd", "spread of grid workers' daily follow-up hours (standard "
       "deviation over grid-days)", "网格员每日回访时长标准差", "hours", "", "workload"),
    _m("handbacks", "handbacks to the grid", "回流网格次数", "cases", "", "workload"),
    _m("grid_followups", "grid follow-up visits", "网格回访次数", "visits", "", "workload"),
    _m("grid_hours", "grid worker hours", "网格员工时", "staff_hours", "", "workload"),
    _m("staff_hours_total", "department staff hours worked", "部门总工时", "staff_hours",
       "lower", "workload"),
    _m("citizen_repeat_complaint_rate", "share of citizen complaints that are repeats (any "
       "time)", "群众投诉中重复投诉占比（不限时间窗）", "share", "lower", "quality"),
    _m("headcount", "department headcount (staff x street teams + district pools)",
       "部门人员编制（街道队伍人数×街道数+区级人数）", "count", "lower", "workload"),
    _m("cases_opened_total", "cases opened (incl. warm-up)", "立案数（含预热期）", "cases", "",
       "internal", True),
    _m("cases_closed_total", "cases closed (incl. warm-up)", "结案数（含预热期）", "cases", "",
       "internal", True),
])


def metric_def(metric: str) -> MetricDef:
    """The definition of `metric`; per-department metrics (`utilization.police`, `queue.x`,
    `staff_hours.x`) and unknown names get a neutral definition (better: neither)."""
    if metric in METRIC_DEFS:
        return METRIC_DEFS[metric]
    head, _, dept = metric.partition(".")
    if head == "utilization" and dept:
        return MetricDef(metric, f"staff utilisation, {dept}", f"{dept}人员负荷率", "share", "",
                         "workload")
    if head == "staff_hours" and dept:
        return MetricDef(metric, f"staff hours, {dept}", f"{dept}工时", "staff_hours", "",
                         "workload")
    if head == "complaints_by_channel" and dept:
        return MetricDef(metric, f"complaints by channel, {dept}", f"{dept}渠道投诉量",
                         "complaints", "", "demand")
    if head == "queue" and dept:
        return MetricDef(metric, f"queue, {dept}", f"{dept}排队案件", "cases", "", "workload")
    if metric.endswith("_hours"):
        kind = "hours"
    elif metric.endswith("_days"):
        kind = "days"
    elif metric.endswith(("_rate", "_share")):
        kind = "share"
    elif metric.endswith("_per_day"):
        kind = "per_day"
    else:
        kind = "count"
    label = metric.replace("_", " ")
    return MetricDef(metric, label, label, kind, "", "internal", True)


def better(metric: str) -> str:
    """"lower", "higher" or "" (neither) for `metric`."""
    return metric_def(metric).better


def sign(metric: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 when neither: a difference d
    (B - A) improves on A when sign * d > 0."""
    b = better(metric)
    return 1 if b == "higher" else (-1 if b == "lower" else 0)


def improves(metric: str, diff: float) -> bool | None:
    """True when a difference (B - A) is an improvement, False when worse, None when the
    metric has no direction."""
    s = sign(metric)
    if s == 0:
        return None
    return s * diff > 0
