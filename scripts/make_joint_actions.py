"""Write scenarios/common/joint_actions.yaml: the routine joint enforcement actions (联合执法行动,
专项整治联动) of Baohe after the reform, as one-day `campaigns`.

The seed report counts "100余起联合执法行动" from 2019 to December 2021 (30-200 a year, pattern
joint_operations_report in scenarios/targets/baohe.yaml) and names the themes: traffic safety
round schools (观湖苑幼儿园), the farmers' market upgrade (万国农贸市场), residences turned into
shops (居改非), vice and gambling (黄赌警情), mall consumer complaints (宝利丰商场) and shared bikes
(包公街道). Every six days one theme gets a one-day joint action over the whole district
(streets: [] = every street; the report's actions are organised "在某一领域或某一区域", in a
domain or an area), cycling through the themes: about 60 actions a year. An action is one day
with two extra officers per targeted street team, priority for the targeted categories and
doubled patrol detection of them. District-wide actions also keep the file valid for a
district generated with fewer streets (tests run two-street districts).
Usage: python scripts/make_joint_actions.py [HORIZON_DAYS]
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

THEMES = [
    ("School-surroundings traffic safety", "学校周边交通安全整治",
     ["school_gate_traffic", "illegal_parking"]),
    ("Farmers' market order", "农贸市场秩序整治",
     ["food_safety", "price_fraud", "street_vending", "garbage_sanitation"]),
    ("Residences turned into shops", "“居改非”整治", ["residential_to_commercial",
                                                  "illegal_construction"]),
    ("Vice and gambling", "黄赌警情整治与压降", ["vice_gambling", "public_order_other"]),
    ("Mall consumer complaints", "商场消费投诉联动", ["mall_consumer_complaint",
                                              "mall_shopping_dispute"]),
    ("Shared bikes", "共享单车治理", ["shared_bikes"]),
]
PERIOD_DAYS = 6.0


class NoAliases(yaml.SafeDumper):
    """Write every list in full (no &id001 anchors: the file is read by people)."""

    def ignore_aliases(self, data):
        return True
def actions(horizon: float) -> list[dict]:
    out = []
    day, k = 3.0, 0
    while day + 1.0 <= horizon:
        en, zh, cats = THEMES[k % len(THEMES)]
        out.append({"name": f"{en} (joint action {k + 1})", "name_zh": zh, "start_day": day,
                    "end_day": day + 1.0, "categories": list(cats), "streets": [],
                    "extra_staff": 2, "priority": True, "detection_boost": 2.0})
        day += PERIOD_DAYS
        k += 1
    return out


def main(horizon: float = 485.0) -> None:
    path = Path(__file__).resolve().parents[1] / "scenarios" / "common" / "joint_actions.yaml"
    head = ("# Routine joint enforcement actions of Baohe after the reform (联合执法行动),\n"
            "# one-day campaigns: written by scripts/make_joint_actions.py (read its\n"
            "# docstring; edit the script, not this file). About 60 a year over the\n"
            "# district (pattern joint_operations_report, scenarios/targets/baohe.yaml:\n"
            "# 100余起 since 2019 = 30-200 a year). Used by baohe_after.yaml.\n")
    body = yaml.dump({"campaigns": actions(horizon)}, allow_unicode=True, sort_keys=False,
                     width=100, Dumper=NoAliases)
    path.write_text(head + body, encoding="utf-8")
    print(f"{path}: {len(actions(horizon))} actions over {horizon:g} days")


if __name__ == "__main__":
    main(*(float(a) for a in sys.argv[1:2]))
