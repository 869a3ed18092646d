"""Plain names (English and Chinese) of the values a scenario's switches take: routing and
assessment policies, dispatch modes, levels. Shared by the brief (the table of what differs),
the recommendation's diff and the dashboard's dropdowns, so a planner reads "territorial
(street platform triages)" / "以块为主（街道平台分拨）" rather than a code.
"""

from __future__ import annotations

import re

VALUES: dict[str, tuple[str, str]] = {
    # routing policies (sim/policies/routing.py)
    "sectoral": ("sectoral: each channel to its department (以条为主)",
                 "以条为主（各渠道分别派给部门）"),
    "territorial": ("territorial: the street platform triages and dispatches (以块为主)",
                    "以块为主（街道平台分拨）"),
    "direct": ("direct: straight to the owning department", "直派主管部门"),
    # assessment policies (sim/policies/assessment.py)
    "closure_speed": ("closure speed and time limits", "按结案速度和办理时限考核"),
    "none": ("no assessment", "不考核"),
    "repeat_penalty": ("penalty on repeat complaints", "按重复投诉扣分"),
    "street_holds_assessment": ("the street assesses the departments", "街道考核部门"),
    "three_rates": ("three rates: contact, resolution, satisfaction",
                    "三率考核（联系率、解决率、满意率）"),
    # dispatch modes and levels
    "single": ("single dispatch", "单派"),
    "dual": ("dual dispatch (the police attend too)", "双派（派出所同时出警）"),
    "street": ("street level", "街道级"),
    "district": ("district level", "区级"),
    "grid": ("the case's grid worker", "网格员"),
}


def value(v, lang: str = "en") -> str:
    """The plain name of a switch's value (unchanged when unknown)."""
    if isinstance(v, bool):
        return ("是" if v else "否") if lang == "zh" else ("yes" if v else "no")
    pair = VALUES.get(str(v))
    if pair is None:
        return str(v)
    return pair[1] if lang == "zh" else pair[0]


def code_of(label: str) -> str:
    """The value a plain name stands for (the inverse of `value`; unchanged when unknown)."""
    for code, pair in VALUES.items():
        if label in pair:
            return code
    return label


_OVERLOAD = re.compile(r"^departments\.([^:]+): the staff can never clear the load: first-pass "
                       r"utilisation ([\d.]+) >= 1 .*?about (\d+) staff \(now ([\d.]+)\)")


def plain_warning(w: str, scenario, lang: str) -> str:
    """A load warning in plain words (the department's name, not its dotted setting)."""
    m = _OVERLOAD.match(w)
    if m:
        code, util, need, now = m.groups()
        d = scenario.departments.get(code)
        dn = ((d.name_zh or d.name) if lang == "zh" else d.name) if d is not None else code
        if lang == "zh":
            return (f"{dn}的人员永远无法消化其工作量（首轮利用率 {util} ≥ 1），积压在整个运行期"
                    f"持续增长，平均值取决于运行长度；约 {need} 人（现为 {now}）"
                    f"可使利用率接近 85%。")
        return (f"{dn}: its staff can never clear the load (first-pass utilisation {util} >= 1), "
                f"so its backlog grows all run and averages depend on the run length; about "
                f"{need} staff (now {now}) keep it near 85%.")
    from .drivers import plain_paths

    return plain_paths(w, lang)


__all__ = ["VALUES", "value", "code_of", "plain_warning"]
