"""Streets (街道/大社区) and grids (网格): explicit or generated from a compact spec."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario.schema import LAND_USES, District


@dataclass(frozen=True)
class GridInfo:
    index: int          # position in the district's grid arrays
    street: int         # index of its street
    name: str
    population: int
    land_use: dict[str, float]


@dataclass(frozen=True)
class StreetInfo:
    index: int
    name: str
    name_zh: str
    grids: tuple[GridInfo, ...]


@dataclass(frozen=True)
class DistrictLayout:
    """The resolved district: every street and grid, plus arrays for bulk computation."""

    name: str
    name_zh: str
    streets: tuple[StreetInfo, ...]

    @property
    def grids(self) -> list[GridInfo]:
        return [g for s in self.streets for g in s.grids]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(population[g], street_of[g], land_use_share[g, u]) with u in LAND_USES order."""
        grids = self.grids
        pop = np.array([g.population for g in grids], dtype=float)
        street = np.array([g.street for g in grids], dtype=np.int64)
        mix = np.array([[g.land_use.get(u, 0.0) for u in LAND_USES] for g in grids], dtype=float)
        return pop, street, mix

    @property
    def population(self) -> int:
        return sum(g.population for g in self.grids)


def street_names(spec: District) -> list[str]:
    """The street names `build_district` gives, without building the district."""
    if spec.streets is not None:
        return [s.name for s in spec.streets]
    gen = spec.generate
    return [gen.street_names[si] if si < len(gen.street_names) else f"S{si + 1:02d}"
            for si in range(gen.streets)]


def district_size(spec: District) -> tuple[int, int, int]:
    """(streets, grids, residents) of a district spec, without building it (cheap: validation
    and the resource estimate use it for districts of any size)."""
    if spec.streets is not None:
        return (len(spec.streets), sum(len(s.grids) for s in spec.streets),
                sum(g.population for s in spec.streets for g in s.grids))
    gen = spec.generate
    return gen.streets, gen.streets * gen.grids_per_street, gen.population


def land_use_shares(spec: District) -> np.ndarray:
    """Population-weighted expected land-use shares (LAND_USES order), without building:
    exact for explicit streets; for a generated district the expectation of the Dirichlet
    draws, which is the district mix itself."""
    if spec.streets is not None:
        tot = np.zeros(len(LAND_USES))
        pop = 0
        for s in spec.streets:
            for g in s.grids:
                tot += g.population * np.array([g.land_use.get(u, 0.0) for u in LAND_USES])
                pop += g.population
        return tot / pop if pop else tot
    mix = spec.generate.land_use_mix
    return np.array([mix.get(u, 0.0) for u in LAND_USES], dtype=float)


def build_district(spec: District) -> DistrictLayout:
    """Resolve a `District` section into a layout (deterministic for a given spec)."""
    if spec.streets is not None:
        streets = []
        k = 0
        for si, s in enumerate(spec.streets):
            grids = []
            for g in s.grids:
                grids.append(GridInfo(k, si, g.name, g.population, dict(g.land_use)))
                k += 1
            streets.append(StreetInfo(si, s.name, s.name_zh, tuple(grids)))
        return DistrictLayout(spec.name, spec.name_zh, tuple(streets))
    gen = spec.generate
    rng = np.random.default_rng(gen.seed)
    n = gen.streets * gen.grids_per_street
    if gen.population_cv > 0:
        sigma2 = np.log1p(gen.population_cv ** 2)
        w = rng.lognormal(-sigma2 / 2, np.sqrt(sigma2), size=n)
    else:
        w = np.ones(n)
    if gen.street_weights:   # uneven streets: each street's grids scaled by its weight
        sw = np.repeat(np.asarray(gen.street_weights, float), gen.grids_per_street)
        w = w * sw / sw.mean()
    raw = w / w.sum() * gen.population
    pops = np.floor(raw).astype(np.int64)
    # largest remainders so the total is exact
    short = gen.population - int(pops.sum())
    if short > 0:
        pops[np.argsort(raw - pops)[::-1][:short]] += 1
    uses = [u for u in LAND_USES if gen.land_use_mix.get(u, 0.0) > 0]
    base = np.array([gen.land_use_mix[u] for u in uses])
    if len(uses) > 1:
        mixes = rng.dirichlet(base * gen.mix_concentration, size=n)
    else:
        mixes = np.ones((n, 1))
    mixes = np.round(mixes, 6).tolist()    # as round(x, 6) per value, in one pass
    streets = []
    k = 0
    for si in range(gen.streets):
        name = gen.street_names[si] if si < len(gen.street_names) else f"S{si + 1:02d}"
        name_zh = gen.street_names_zh[si] if si < len(gen.street_names_zh) else ""
        grids = []
        for gi in range(gen.grids_per_street):
            mix = dict(zip(uses, mixes[k]))
            grids.append(GridInfo(k, si, f"{name}-G{gi + 1:03d}", int(pops[k]), mix))
            k += 1
        streets.append(StreetInfo(si, name, name_zh, tuple(grids)))
    return DistrictLayout(spec.name, spec.name_zh, tuple(streets))
