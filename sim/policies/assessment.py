"""Assessment policies (考核): how the way departments are judged changes how they work.

Each policy is a small behavioural rule with documented parameters. Several combine by weight
into one `Effects`: multiplicative factors combine as a weighted geometric product (f ** w),
additive changes as a weighted sum (w * delta), switches are on when any policy with w > 0
sets them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from .registry import Params, Registry

ASSESSMENT = Registry("assessment")


@dataclass
class Effects:
    """The combined effect of the assessment regime on departments' behaviour."""

    handling_factor: float = 1.0          # x staff hours of a handling
    p_resolve_delta: float = 0.0          # + chance one handling truly resolves
    repeat_priority: bool = False         # cases of already-complained problems jump the queue
    repeat_p_resolve_delta: float = 0.0   # + chance for those cases
    repeat_handling_factor: float = 1.0   # x hours for those cases
    coordination_factor: float = 1.0      # x co-handlers' delay to join (main/co and linkage)
    co_p_resolve_delta: float = 0.0       # + chance for joint (main/co) cases
    transfer_delay_factor: float = 1.0    # x delay of transfers through the street platform
    feedback_gain: float = 0.0            # + chance per unit of dissatisfaction above target
    satisfaction_target: float = 1.0      # share of satisfied closures departments aim for
    feedback_memory: float = 0.02         # weight of the newest closure in the running share


class AssessmentPolicy:
    """Base class: `name`, a `Params` model, and `effects()` returning changes to `Effects`."""

    name = ""

    class Params(Params):
        pass

    def __init__(self, params: dict | None = None):
        self.params = self.Params(**(params or {}))

    def effects(self) -> dict[str, float]:
        return {}


@ASSESSMENT.register
class NoAssessment(AssessmentPolicy):
    """`none`: no assessment pressure; departments work at their catalogue defaults."""

    name = "none"


@ASSESSMENT.register
class ClosureSpeed(AssessmentPolicy):
    """`closure_speed` (考核按结案率/时限): hurry to close, fix less ("hitting the target,
    missing the point", Bevan & Hood 2006)."""

    name = "closure_speed"

    class Params(Params):
        handling_factor: float = Field(0.7, gt=0, description="x staff hours per handling")
        p_resolve_delta: float = Field(-0.15, ge=-1, le=1,
                                       description="change of the chance of true resolution")

    def effects(self):
        return {"handling_factor": self.params.handling_factor,
                "p_resolve_delta": self.params.p_resolve_delta}


@ASSESSMENT.register
class ThreeRates(AssessmentPolicy):
    """`three_rates` (响应率、解决率、满意率): slower, more thorough handling; citizens'
    dissatisfaction above the target feeds back as extra effort."""

    name = "three_rates"

    class Params(Params):
        handling_factor: float = Field(1.2, gt=0, description="x staff hours per handling")
        p_resolve_delta: float = Field(0.08, ge=-1, le=1, description="change of the chance of "
                                                                      "true resolution")
        satisfaction_target: float = Field(0.9, ge=0, le=1,
                                           description="share of satisfied closures aimed for")
        feedback_gain: float = Field(0.5, ge=0, description="extra chance of resolution per "
                                                            "unit of dissatisfaction above target")
        feedback_memory: float = Field(
            0.02, gt=0, le=1, description="weight of each new closure in a department's running "
                                          "(exponentially weighted) share of dissatisfied closures")

    def effects(self):
        p = self.params
        return {"handling_factor": p.handling_factor, "p_resolve_delta": p.p_resolve_delta,
                "satisfaction_target": p.satisfaction_target, "feedback_gain": p.feedback_gain,
                "feedback_memory": p.feedback_memory}


@ASSESSMENT.register
class RepeatPenalty(AssessmentPolicy):
    """`repeat_penalty`: repeat complaints count against the department, so already-complained
    problems get priority and more effort."""

    name = "repeat_penalty"

    class Params(Params):
        p_resolve_delta: float = Field(0.15, ge=-1, le=1, description="extra chance of true "
                                                                      "resolution on repeats")
        handling_factor: float = Field(1.3, gt=0, description="x staff hours on repeats")
        priority: bool = Field(True, description="repeat cases jump the queue")

    def effects(self):
        p = self.params
        return {"repeat_p_resolve_delta": p.p_resolve_delta,
                "repeat_handling_factor": p.handling_factor, "repeat_priority": p.priority}


@ASSESSMENT.register
class StreetHoldsAssessment(AssessmentPolicy):
    """`street_holds_assessment` (区属、街管、街用): the street assesses dispatched staff, so
    co-handlers and district departments answer the street's platform faster and better."""

    name = "street_holds_assessment"

    class Params(Params):
        coordination_factor: float = Field(0.4, gt=0, description="x co-handlers' delay to join")
        co_p_resolve_delta: float = Field(0.1, ge=-1, le=1, description="extra chance of true "
                                                                        "resolution, joint cases")
        transfer_delay_factor: float = Field(0.5, gt=0, description="x platform transfer delay")

    def effects(self):
        p = self.params
        return {"coordination_factor": p.coordination_factor,
                "co_p_resolve_delta": p.co_p_resolve_delta,
                "transfer_delay_factor": p.transfer_delay_factor}


_FACTORS = {"handling_factor", "repeat_handling_factor", "coordination_factor",
            "transfer_delay_factor"}
_SWITCHES = {"repeat_priority"}


def combine(choices) -> Effects:
    """Combine weighted assessment policies (scenario `assessment.policies`) into `Effects`."""
    eff = Effects()
    targets = []
    for choice in choices:
        if choice.weight == 0:
            continue
        policy = ASSESSMENT.lookup(choice.policy)(choice.params)
        for key, value in policy.effects().items():
            if key in _FACTORS:
                setattr(eff, key, getattr(eff, key) * value ** choice.weight)
            elif key in _SWITCHES:
                setattr(eff, key, getattr(eff, key) or bool(value))
            elif key == "satisfaction_target":
                targets.append(value)
            elif key == "feedback_memory":
                eff.feedback_memory = value
            else:
                setattr(eff, key, getattr(eff, key) + choice.weight * value)
    if targets:
        eff.satisfaction_target = max(targets)
    return eff
