"""The fast path, declared: which decisions of an agent class the engine may take without
calling the agent.

The default agent classes declare, per decision method, whether the engine may skip calling it
(a class attribute, `ClassVar[bool]`): `Department.priority_varies`,
`Department.observes_closures`, `Department.decides_resolution`,
`DispatchPlatform.routes_by_desk_only`. A subclass that overrides one of those methods must
declare that it does so (set the attribute to the value that makes the engine ask), else the
engine would silently keep skipping its override: `require_declared` raises `TypeError` when
the class is created, naming the attribute to set.
"""

from __future__ import annotations


def require_declared(cls: type, rules: dict[str, tuple[str, bool]]) -> None:
    """For each `method: (attribute, value)` of `rules`: a class that defines `method` itself
    must have `attribute == value` (declared in its own body or inherited from a class that
    declared it), else `TypeError` naming the fix."""
    for method, (attr, needed) in rules.items():
        if method in cls.__dict__ and getattr(cls, attr) is not needed:
            raise TypeError(
                f"{cls.__module__}.{cls.__qualname__} overrides `{method}` but declares "
                f"`{attr} = {getattr(cls, attr)!r}`: the engine would skip the override. Add "
                f"`{attr} = {needed!r}` to the class (see sim/agents/fastpath.py)")


def keeps_rule(cls: type, methods: tuple[str, ...]) -> bool:
    """Whether the engine may take `cls`'s decisions from its compiled default rule
    (sim/agents/rules.py): the class it extends did, and it defines none of `methods` (the
    decisions, and what they use) itself. Set as the class attribute `compiled_rule` when
    the class is defined; the agent's `decider` is then its rule, else the agent itself."""
    return bool(getattr(cls, "compiled_rule", False)) and \
        not any(m in cls.__dict__ for m in methods)
