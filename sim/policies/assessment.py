"""Assessment policies (考核): what departments are judged on, and by whom.

A policy does not change outcomes. It sets the *incentives* a department sees (`Incentives`):
how much its score depends on closing fast, on citizens' satisfaction at call-backs (回访), on
repeat complaints counted against it, and whether the street (not the home department) scores
staff working on the street's cases. What a department does about them is its decision rule
(`sim.agents.department.Department.effort` and `.priority`), and outcomes follow from those
decisions meeting the queues. Several policies combine by weight: weights add per incentive.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from .registry import Params, Registry

ASSESSMENT = Registry("assessment")


@dataclass
class Incentives:
    """What the assessment regime rewards (all weights 0 = no assessment pressure)."""

    speed: float = 0.0              # weight on closure rate and time limits (结案率/时限)
    satisfaction: float = 0.0       # weight on satisfaction at call-backs (三率)
    satisfaction_target: float = 0.9
    callback_share: float = 0.0     # share of closures whose citizen is called back (回访)
    repeats: float = 0.0            # weight on repeat complaints counted against the department
    repeat_priority: bool = False   # counted repeats jump the queue
    street_assesses: bool = False   # the street scores seconded and co-handling staff


class AssessmentPolicy:
    """Base class: `name`, a `Params` model, and `incentives(weight)` returning changes."""

    name = ""

    class Params(Params):
        pass

    def __init__(self, params: dict | None = None):
        self.params = self.Params(**(params or {}))

    def incentives(self, weight: float) -> dict:
        return {}


@ASSESSMENT.register
class NoAssessment(AssessmentPolicy):
    """`none`: no assessment pressure; departments give every case what it needs."""

    name = "none"


@ASSESSMENT.register
class ClosureSpeed(AssessmentPolicy):
    """`closure_speed` (考核按结案率/时限): departments are scored on closing within time
    limits. A pressed department then cuts the effort it gives a case ("hitting the target,
    missing the point", Bevan & Hood 2006): how much depends on its queue (the department's
    decision rule), so the cost in true resolution appears only where capacity binds."""

    name = "closure_speed"

    def incentives(self, weight):
        return {"speed": weight}


@ASSESSMENT.register
class ThreeRates(AssessmentPolicy):
    """`three_rates` (响应率、解决率、满意率): scored on citizens' satisfaction at call-backs.
    A department sees the dissatisfaction of the closures called back and raises its effort
    when it runs above the target."""

    name = "three_rates"

    class Params(Params):
        satisfaction_target: float = Field(0.9, ge=0, le=1,
                                           description="share of satisfied closures aimed for")
        callback_share: float = Field(0.3, gt=0, le=1, description="share of closures whose "
                                      "citizen is called back (回访)")

    def incentives(self, weight):
        p = self.params
        return {"satisfaction": weight, "satisfaction_target": p.satisfaction_target,
                "callback_share": p.callback_share}


@ASSESSMENT.register
class RepeatPenalty(AssessmentPolicy):
    """`repeat_penalty`: repeat complaints are counted against the department that closed the
    case, so it gives more effort where its counted repeats run high, and (optionally) puts
    cases of already-complained problems first."""

    name = "repeat_penalty"

    class Params(Params):
        priority: bool = Field(True, description="repeat cases jump the queue")

    def incentives(self, weight):
        return {"repeats": weight, "repeat_priority": self.params.priority}


@ASSESSMENT.register
class StreetHoldsAssessment(AssessmentPolicy):
    """`street_holds_assessment` (区属、街管、街用): the street scores the staff who work its
    cases. Co-handlers then treat the street's joint cases as their own work (same priority and
    effort), and district departments with `seconded_share` move that share of their pool into
    street teams (pooling is lost where streets' loads differ).

    What the street's scoring rewards and punishes (大共治考核办法, seed report: the handling of
    the street's cases, joint cases included, is scored; re-complaints and dissatisfied cases
    are what the reform set out to cut): it rewards closing the street's cases within their
    time limits (`speed`, a weaker pull than a department scored on closure speed alone), and
    punishes the street's re-complaints (`repeats`: counted against the team that closed the
    case, and re-complained cases are supervised first, 督办) and dissatisfied call-backs
    (`satisfaction`, with the street calling back `callback_share` of its closures). So a
    street team still cuts effort when pressed, but less, and gives more where its cases
    come back or leave citizens dissatisfied."""

    name = "street_holds_assessment"

    class Params(Params):
        speed: float = Field(0.5, ge=0, le=1, description="weight of on-time closure of the "
                             "street's cases in its score (relative to closure-speed "
                             "assessment)")
        repeats: float = Field(0.5, ge=0, le=1, description="weight of re-complaints counted "
                               "against the team that closed the case")
        satisfaction: float = Field(0.0, ge=0, le=1, description="weight of dissatisfied "
                                    "call-backs")
        satisfaction_target: float = Field(0.9, ge=0, le=1,
                                           description="share of satisfied closures aimed for")
        callback_share: float = Field(0.3, gt=0, le=1, description="share of closures the "
                                      "street calls back (回访)")
        repeat_priority: bool = Field(True, description="re-complained cases are supervised "
                                      "first (督办): they jump the queue")

    def incentives(self, weight):
        p = self.params
        out = {"street_assesses": weight > 0, "speed": weight * p.speed,
               "repeats": weight * p.repeats, "repeat_priority": p.repeat_priority and
               p.repeats > 0 and weight > 0}
        if p.satisfaction > 0:
            out.update({"satisfaction": weight * p.satisfaction,
                        "satisfaction_target": p.satisfaction_target,
                        "callback_share": p.callback_share})
        return out


def combine(choices) -> Incentives:
    """Combine weighted assessment policies (scenario `assessment.policies`) into the
    `Incentives` departments see: weights add; targets take the strictest; switches are on when
    any policy with weight > 0 sets them."""
    inc = Incentives()
    seen: set[str] = set()
    for choice in choices:
        if choice.weight == 0:
            continue
        policy = ASSESSMENT.lookup(choice.policy)(choice.params)
        for key, value in policy.incentives(choice.weight).items():
            if key in ("repeat_priority", "street_assesses"):
                setattr(inc, key, getattr(inc, key) or bool(value))
            elif key in ("satisfaction_target", "callback_share"):
                if key in seen:   # several policies: the strictest target, the most call-backs
                    value = max(getattr(inc, key), value)
                seen.add(key)
                setattr(inc, key, value)
            else:
                setattr(inc, key, getattr(inc, key) + value)
    return inc


# kept for code that imported the old name
Effects = Incentives
