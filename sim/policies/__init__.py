"""Routing and assessment policies, chosen by name in the scenario (a registry each)."""

from __future__ import annotations

from pydantic import ValidationError

from .assessment import ASSESSMENT, AssessmentPolicy, combine
from .routing import ROUTING, RoutingPolicy

__all__ = ["ASSESSMENT", "ROUTING", "AssessmentPolicy", "RoutingPolicy", "combine",
           "validate_policies"]


def _check(registry, name, params, where) -> list[str]:
    if name not in registry:
        return [f"{where}.policy: unknown {registry.kind} policy {name!r} "
                f"(one of {', '.join(sorted(registry))})"]
    try:
        registry[name].Params(**(params or {}))
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown parameter (see docs/scenario-reference.md)"
            out.append(f"{where}.params.{loc}: {msg}")
        return out
    return []


def validate_policies(scenario) -> list[str]:
    """Every routing/assessment choice names a registered policy with valid parameters."""
    errors = _check(ROUTING, scenario.routing.policy, scenario.routing.params, "routing")
    for i, choice in enumerate(scenario.assessment.policies):
        errors += _check(ASSESSMENT, choice.policy, choice.params, f"assessment.policies.{i}")
    kinds = ("citizen", "department", "grid_worker", "platform")
    if all(getattr(scenario.agents, k).behaviour == "default" and not getattr(
            scenario.agents, k).params for k in kinds):
        return errors  # the built-in behaviours as they are: no need to import mesa (slow)
    from ..agents.registry import REGISTRIES
    for kind, registry in REGISTRIES.items():
        choice = getattr(scenario.agents, kind)
        errors += [e.replace(f"agents.{kind}.policy:", f"agents.{kind}.behaviour:")
                   for e in _check(registry, choice.behaviour, choice.params, f"agents.{kind}")]
    return errors
