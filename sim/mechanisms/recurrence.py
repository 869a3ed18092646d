"""Recurrence: a resolved problem comes back (`catalogue.<k>.recurrence_prob`, after an
exponential time with mean `recurrence_mean_days`) as a new problem in the same grid and
category, reported and detected by the same rules as the bulk draw (scalar draws)."""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any, ClassVar

from ..kernel.contacts import EV_CONTACT, EV_PATROL
from ..kernel.entities import Case
from ..kernel.hooks import Mechanism
from ..streams import Sampler, Uniforms

if TYPE_CHECKING:
    from ..engine import Engine
    from ..world.compiled import World


class Recurrence(Mechanism):
    """New problems after resolved ones."""

    NAME: ClassVar[str] = "recurrence"
    KEY: ClassVar[str] = "catalogue.<k>.recurrence_prob"
    SUMMARY: ClassVar[str] = "a resolved problem comes back as a new one"
    ORDER: ClassVar[float] = 50.0
    HOOKS: ClassVar[tuple[str, ...]] = ("resolved",)

    recur_prob: list[float]
    recur_mean_h: list[float]
    p_rep: list[float]
    cdf_rows: list[list[float]]
    hazard: list[float]
    n_channels: int
    u_recur: Uniforms
    report_delay: Sampler

    def __init__(self, eng: Engine, world: World) -> None:
        super().__init__(eng)
        self.recur_prob = list(world.recur_prob)
        self.recur_mean_h = list(world.recur_mean_h)
        self.p_rep = list(world.p_candidate)   # the bound citizens who learn decide below
        self.cdf_rows = [list(r) for r in world.channel_cdf]
        self.hazard = list(world.hazard)
        self.n_channels = len(world.channel_codes)
        self.u_recur = eng.u_recur
        self.report_delay = eng.report_delay

    @classmethod
    def wanted(cls, world: Any) -> bool:
        return any(p > 0 for p in world.recur_prob)

    def resolved(self, case: Case) -> None:
        rp = self.recur_prob[case.k]
        if rp > 0 and self.u_recur.next() < rp:
            self.recur(case.pid)

    def recur(self, pid: int) -> None:
        eng = self.eng
        k = eng.p_cat[pid]
        u = self.u_recur
        t0 = eng.now + u.exp(self.recur_mean_h[k])
        if t0 >= eng.horizon:
            return
        new = len(eng.problems)
        grid = eng.p_grid[pid]
        eng.add_problems([grid], [k], [t0])
        if u.next() < self.p_rep[k]:
            t_cit = t0 + self.report_delay.next()
            if t_cit < eng.horizon:
                ch = min(bisect_right(self.cdf_rows[k], u.next()), self.n_channels - 1)
                eng.sched_far(t_cit, EV_CONTACT, new, ch)
        hz = self.hazard[k] * eng.detection_boost(k, grid, t0)
        if hz > 0 and eng.patrol_channel >= 0:
            t_pat = t0 + u.exp(1.0 / hz)
            if t_pat < eng.horizon:
                eng.sched_far(t_pat, EV_PATROL, new, eng.patrol_channel)
