"""The street sub-center platform (大共治分中心) and the district 12345 desk: triage, dispatch.

Each platform has a triage desk (`desk`, the engine's `Unit`, with `platform.triage_staff`, or
`platform.hotline_staff` for the 12345 desk): cases queue there and take staff time, so an
understaffed desk is a bottleneck. When a case's triage is done the engine asks
`dispatch(case)` where it goes: the routing policy's pick of the owner (with its accuracy).
"""

from __future__ import annotations

from .._mesa import mesa
from .registry import PLATFORMS, Params


@PLATFORMS.register
class DispatchPlatform(mesa.Agent):
    """One street's platform (`street` = -1: the district 12345 operators).

    Behaviour `default`: dispatch to the department the routing policy picks.
    """

    name = "default"

    class Params(Params):
        pass

    def __init__(self, model, street: int, params: dict | None = None):
        super().__init__(model)
        self.street = street
        self.params = self.Params(**(params or {}))
        self._triaged = 0    # cases the routing policy triaged for a platform with no desk
        self.handbacks = 0
        self.desk = None     # the engine's Unit, or None when the platform has no staff

    def dispatch(self, case):
        """Where a triaged case goes: (unit, delay in hours): the routing policy's pick."""
        after_triage = self.model.routing.after_triage
        if type(self).dispatch is DispatchPlatform.dispatch and self.desk is not None:
            # declared once to the engine (the desk's `router`), so that it need not ask
            # per case (a subclass that overrides `dispatch` is always asked)
            self.desk.router = after_triage
        return after_triage(case)

    @property
    def triaged(self) -> int:
        """Cases triaged: the desk's finished triage tasks (each is dispatched), or those the
        routing policy dispatched directly for a platform with no desk."""
        return self._triaged + (self.desk.tasks_done if self.desk is not None else 0)

    @triaged.setter
    def triaged(self, n: int) -> None:
        self._triaged = n - (self.desk.tasks_done if self.desk is not None else 0)

    @property
    def queue_length(self) -> int:
        return self.desk.queue_length if self.desk is not None else 0
