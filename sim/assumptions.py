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
    # --- declared after issue 23: they drove the reform's difference without being listed
    AssumedEffect("dispatch.police_hours_share", "1.0", 0.0, "both",
                  "assumption (seed report: police and market regulation both attended mall "
                  "complaints before the reform; how much of the handling the police gave is "
                  "not reported)",
                  "share of a dual-dispatched case's handling hours the police also give "
                  "(neutral: dual dispatch costs the police no time beyond turning up)"),
    AssumedEffect("handback.p_redispatch", "0.5", 0.0, "both", "assumption",
                  "chance a handed-back case the grid could not settle goes back to its owner "
                  "for another handling (neutral: it does not)"),
    AssumedEffect("catalogue.*.p_complex", "0.35 (every category)", 0.0, "both", "assumption",
                  "share of a multi-department category's cases that need the co-handlers' "
                  "powers (neutral: none does, so joint handling changes nothing)"),
    AssumedEffect("catalogue.*.co_need_share", "0.5 (every category)", 0.0, "both",
                  "assumption",
                  "work a complex case needs from each co-handler, as a share of the owner's "
                  "hours; left undone without joint handling (neutral: none)"),
    AssumedEffect("departments.*.seconded_share", "0-1 by department (1, 0.4, 0.85 ...)",
                  0.0, "both",
                  "assumption (seed report: 区属、街管、街用; the shares are not reported)",
                  "share of a district pool seconded to street teams when the street holds "
                  "assessment (neutral: none, the pool stays pooled)"),
    AssumedEffect("routing.params.triage_accuracy", "0.95", 0.95, "after", "assumption",
                  "chance the street platform picks the owner (already neutral: the reference "
                  "at which the 12345 operator's accuracy is neutral)"),
    AssumedEffect("routing.params.retriage_accuracy", "0.98", 0.98, "after", "assumption",
                  "chance the platform picks the owner on re-triage (already neutral: the "
                  "reference at which transfers' accuracy is neutral)"),
    AssumedEffect("agents.department.params.pressure_half", "0.5", 0.5, "both", "assumption",
                  "pressure (expected wait / time limit) at which half of the speed cut "
                  "applies: the shape of the cut (no effect of its own: neutral at any value "
                  "when max_speed_cut is neutral)"),
    AssumedEffect("agents.department.params.min_effort", "0.3", 1.0, "both", "assumption",
                  "lowest effort a department gives a task (neutral 1: no department gives "
                  "less than a case needs)"),
    # --- decisions that vary, citizens who learn (issue 23)
    AssumedEffect("agents.department.params.load_cut", "0.2", 0.0, "both",
                  "assumption (direction: KC & Terwiesch 2009, workers shorten service under "
                  "load)", "share of a case's needed hours any department drops at high "
                  "pressure, whatever it is assessed on"),
    AssumedEffect("agents.grid_worker.params.min_allowance_share", "0.25", 1.0, "both",
                  "assumption", "share of the grid workers' follow-up allowance kept whatever "
                  "yesterday's mediation took (neutral 1: mediation never takes from it)"),
    AssumedEffect("agents.citizen.params.trust_sensitivity", "0.5", 0.0, "both",
                  "assumption (direction: hotline volumes grow with trust in the service)",
                  "relative change in residents' chance of reporting a new problem per unit of "
                  "trust in their grid's service above the reference (neutral: no learning)"),
    AssumedEffect("agents.citizen.params.trust_reference", "0.75", 0.75, "both", "assumption",
                  "trust at which residents report with the catalogue's p_report (no effect of "
                  "its own: neutral at any value when trust_sensitivity is neutral)"),
    AssumedEffect("agents.citizen.params.trust_memory", "0.05", 0.05, "both", "assumption",
                  "weight of the newest closure in a grid's trust (no effect of its own)"),
)

# ---------------------------------------------------------------------------------- declared
# Every setting in which two scenarios may differ is declared as one of three kinds (`cogov
# diff`, and `cogov explain`'s default factors):
# - `lever`: a policy choice (routing, dispatch, assessment, staffing, who owns what);
# - `assumption`: an entry of ASSUMED_EFFECTS above (neutral value, range in
#   scenarios/assumptions/ranges.yaml);
# - `data`: an input with a source (the district, the catalogue's measured rates, channels).
# Labelling fields (names, descriptions) are never differences.


@dataclass(frozen=True)
class Declared:
    path: str            # dotted pattern; `*` = any key; a shorter pattern covers its subtree
    kind: str            # "lever", "data" or "assumption"
    group: str           # the factor `cogov explain` switches it with
    source: str
    what: str


KINDS = ("lever", "assumption", "data")

#: leaf names that only label (never a difference, never an explain factor)
LABEL_KEYS = frozenset({"name", "name_zh", "display_name", "display_name_zh", "description",
                        "description_zh", "street_names", "street_names_zh"})

_SEED = "seed report"
_INPUT = "docs/input-data.md"

LEVERS: tuple[Declared, ...] = (
    Declared("routing.policy", "lever", "routing", _SEED + ": 以条为主 -> 以块为主",
             "who routes a report: each channel to its own department (sectoral) or the "
             "street platform (territorial)"),
    Declared("routing.params", "lever", "routing", "the routing policy's own settings "
             "(sim/policies/routing.py)", "settings of the routing policy in use"),
    Declared("assessment", "lever", "assessment", _SEED + ": 考核由街道主导",
             "who assesses departments, on what"),
    Declared("main_co.enabled", "lever", "main_co", _SEED + ": 一主多协",
             "the street leads multi-department cases with one main handler and co-handlers"),
    Declared("main_co.co_share", "lever", "main_co", _SEED,
             "co-handlers' hours as a share of the main handler's, under main/co"),
    Declared("dispatch.default_mode", "lever", "dispatch", _SEED, "single or dual "
             "dispatch by default"),
    Declared("dispatch.dual_families", "lever", "dispatch",
             _SEED + ": mall consumer complaints were dual-dispatched (商场消费投诉双派) before "
             "the reform; dual dispatch of the whole market family is the model's reading",
             "families of categories dispatched to their owner and the police both"),
    Declared("dispatch.modes", "lever", "dispatch", _SEED,
             "single or dual dispatch by category"),
    Declared("handback", "lever", "handback", _SEED + ": 案结事未了 -> 案结事了 (回流网格)",
             "police hand unsettled non-police matters to the grid, which follows up"),
    Declared("linkage", "lever", "linkage", _SEED + ": 常态化联动",
             "routine joint action when a case needs another department's powers"),
    Declared("platform", "lever", "platform", _INPUT + " (desks and triage)",
             "dispatch desks: triage staff and the time a triage takes"),
    Declared("departments", "lever", "departments", _INPUT + " (departments)",
             "departments' staff, level, shifts and jurisdiction"),
    Declared("grid_workers", "lever", "grid_workers", _INPUT + " (grid workers)",
             "grid workers per grid and how they split the day"),
    Declared("campaigns", "lever", "campaigns", _SEED + ": 专项整治", "special campaigns"),
    Declared("catalogue.*.owner", "lever", "ownership", _INPUT + " (权责清单)",
             "the department that owns a category"),
    Declared("catalogue.*.co_handlers", "lever", "ownership", _INPUT + " (权责清单)",
             "departments whose powers a complex case of the category needs"),
    Declared("catalogue.*.via_platform", "lever", "routing", _INPUT,
             "whether the category goes through the street platform"),
    Declared("catalogue.*.handback", "lever", "handback", _INPUT,
             "handback switched per category"),
    Declared("catalogue.*.police_on_site", "lever", "police_on_site", _INPUT + " (非警务清单)",
             "police act on site on the category when 110 reaches them"),
    Declared("catalogue.*.deadline_hours", "lever", "deadlines", _INPUT,
             "time limit of the category (办理时限)"),
    Declared("agents.platform.params", "lever", "platform", "sim/agents/platform.py",
             "how the street platform dispatches (load balancing between a split "
             "department's street team and district pool)"),
    Declared("agents.*.behaviour", "lever", "agents", "sim/agents (docs/ODD.md, "
             "decision-making)", "which decision rule an agent follows (a registered class)"),
)

DATA_INPUTS: tuple[Declared, ...] = (
    Declared("district", "data", "district", _INPUT + " (district)",
             "streets, grids, population and land use"),
    Declared("channels", "data", "channels", _INPUT + " (channels)",
             "reporting channels and citizens' channel propensities"),
    Declared("catalogue", "data", "catalogue.{2}", _INPUT + " (catalogue: rates, handling "
             "times)",
             "the catalogue's measured or calibrated rates (incidence, reporting, handling, "
             "resolution, recurrence)"),
    Declared("citizens", "data", "citizens", _INPUT + " (citizens)",
             "citizens' reporting, patience and escalation"),
    Declared("grid_workers.detection_prob", "data", "grid_workers", _INPUT,
             "chance a patrol detects a problem"),
    Declared("grid_workers.detection_prob_by_family", "data", "grid_workers", _INPUT,
             "detection chance by family"),
    Declared("run", "data", "run", "run control (horizon, warm-up, seed): compare runs of "
             "equal length", "run control"),
)

# settings that belong to an assumed effect without being its path
ASSUMPTION_DETAILS: dict[str, str] = {
    "routing.params.hotline_accuracy_by_family": "routing.params.hotline_accuracy",
    "main_co.coordination_delay": "main_co.coordination_delay.mean",
}


def _parts(path: str) -> list[str]:
    return path.split(".")


def _match(pattern: list[str], leaf: list[str]) -> bool:
    return len(leaf) >= len(pattern) and all(p in ("*", x) for p, x in zip(pattern, leaf))


def is_label(path: str) -> bool:
    """A labelling field (a name or a description, anywhere): never a difference."""
    return _parts(path)[-1] in LABEL_KEYS


def _assumption_declarations() -> list[Declared]:
    out = []
    for e in ASSUMED_EFFECTS:
        out.append(Declared(e.path, "assumption", e.path, e.source, e.what))
    by_path = {e.path: e for e in ASSUMED_EFFECTS}
    for detail, owner in ASSUMPTION_DETAILS.items():
        e = by_path[owner]
        out.append(Declared(detail, "assumption", e.path, e.source, e.what))
    return out


def declaration(path: str) -> Declared | None:
    """The declaration that covers the dotted setting `path` (the longest matching pattern;
    an assumption wins over a lever or data entry of the same length), or None when the
    setting is undeclared. Labelling fields are None too: check `is_label` first."""
    leaf = _parts(path)
    best: Declared | None = None
    best_len = -1
    for d in (*_assumption_declarations(), *LEVERS, *DATA_INPUTS):
        pat = _parts(d.path)
        if _match(pat, leaf) and len(pat) > best_len:
            best, best_len = d, len(pat)
    return best


def group_of(path: str) -> str | None:
    """The `cogov explain` factor the setting `path` belongs to by default (None when
    undeclared). A group with `{i}` takes the path's i-th part, e.g. catalogue data by field
    across categories (`catalogue.p_resolve`); a whole category added or removed is
    `catalogue.categories`."""
    d = declaration(path)
    if d is None:
        return None
    if "{" not in d.group:
        return d.group
    parts = _parts(path)
    try:
        return d.group.format(*parts)
    except IndexError:
        return f"{parts[0]}.categories"


def assumed_effect(path: str) -> AssumedEffect | None:
    """The ASSUMED_EFFECTS entry a declared assumption path belongs to."""
    d = declaration(path)
    if d is None or d.kind != "assumption":
        return None
    return next((e for e in ASSUMED_EFFECTS if e.path == d.group), None)
