"""The assumed effect sizes that remain in cogov, in one table.

An *assumed effect* is a number nobody has measured that decides how strongly something acts:
a behavioural sensitivity (how much a pressed department cuts effort), a fixed delay or an
accuracy that differs between setups by assumption. Each entry names the scenario path, the
value the shipped scenarios use, the *neutral* value at which the effect vanishes, and where the
value comes from. `docs/input-data.md` lists the same table, `scenarios/assumptions/
neutral_{before,after}.yaml` set every entry to its neutral value (written by
`scripts/make_neutral_scenarios.py`; a test keeps them in step with this table), and the
robustness ranges (`scenarios/assumptions/ranges.yaml`) give each a plausible range.

Structural inputs (staff, triage desks, routing rules, the catalogue's handling times, the
case mix) are not in this table: they are levers or data, and the model's verdicts are meant to
rest on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AssumedEffect:
    path: str            # dotted scenario path ("catalogue.*.x": every category that sets it)
    value: str           # the value in the shipped scenarios (text: may differ by scenario)
    neutral: object      # the value at which the effect vanishes
    applies: str         # "both", "before" (sectoral routing) or "after"
    source: str          # a citation, or "assumption"
    what: str


ASSUMED_EFFECTS: tuple[AssumedEffect, ...] = (
    AssumedEffect("agents.department.params.max_speed_cut", "0.5", 0.0, "both",
                  "assumption (direction: Bevan & Hood 2006, 'hitting the target and missing "
                  "the point')",
                  "share of needed hours a fully speed-assessed department drops at high "
                  "pressure"),
    AssumedEffect("agents.department.params.satisfaction_gain", "2.0", 0.0, "both",
                  "assumption", "extra effort per unit of called-back dissatisfaction above "
                  "target (three rates)"),
    AssumedEffect("agents.department.params.repeat_gain", "1.0", 0.0, "both", "assumption",
                  "extra effort per unit of the running share of repeat cases (repeat "
                  "penalty)"),
    AssumedEffect("agents.department.params.co_effort_unassessed", "0.6", 1.0, "both",
                  "assumption (seed report: co-handlers answer to their home department)",
                  "effort on a co-handling share the street does not score"),
    AssumedEffect("agents.citizen.params.transfer_anger", "0.05", 0.0, "both", "assumption",
                  "added to a citizen's chance of complaining again per transfer of the case"),
    AssumedEffect("citizens.escalation.p_escalate", "0.25", 0.0, "both", "assumption",
                  "chance a repeat goes one rung up (12345 -> 110 -> 信访) after repeated "
                  "failures"),
    AssumedEffect("routing.params.grid_forward_delay_hours", "24", 0.0, "before",
                  "assumption (seed report: 看得见的管不着, grid reports forwarded on paper)",
                  "hours before a grid report reaches the 12345 desk under sectoral routing"),
    AssumedEffect("routing.params.hotline_accuracy", "0.8", 0.95, "before", "assumption",
                  "chance the 12345 operator picks the owner (neutral: the platform's "
                  "triage accuracy)"),
    AssumedEffect("routing.params.transfer_delay_hours", "48 (before), 8 (after)", 8.0,
                  "before", "assumption",
                  "hours a wrong department keeps a case before passing it on (neutral: "
                  "the after value)"),
    AssumedEffect("routing.params.transfer_accuracy", "0.7", 0.98, "before", "assumption",
                  "chance a transfer reaches the owner (neutral: the platform's re-triage "
                  "accuracy)"),
    AssumedEffect("main_co.coordination_delay.mean", "48 h (exponential)", 0.01, "both",
                  "assumption", "time for co-handlers to join a main/co case (neutral: ~0)"),
    AssumedEffect("linkage.delay_hours", "24", 0.0, "both", "assumption",
                  "time to organise a routine joint action"),
    AssumedEffect("catalogue.*.p_grid_settle", "0.1-0.6 by category", 0.0, "both",
                  "assumption (seed report: 案结事了 by grid mediation)",
                  "chance a grid worker settles a matter by mediation"),
    AssumedEffect("main_co.p_resolve_solo_factor", "1.0", 1.0, "both", "assumption",
                  "extra factor on resolving a complex case without joint handling (already "
                  "neutral; the mechanism is the co-handlers' work left undone)"),
    AssumedEffect("dispatch.dual_p_resolve_factor", "1.0", 1.0, "both", "assumption",
                  "extra factor on resolving a dual-dispatched case (already neutral; the "
                  "mechanism is the police time it takes)"),
)
