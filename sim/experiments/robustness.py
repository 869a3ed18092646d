"""`cogov compare ... --uncertainty N`: does the verdict survive what nobody has measured?

**Assumptions.** The uncertain fields of the scenarios (`{uncertain: ...}`, see
`sim/scenario/uncertain.py`) and the entries of an optional ranges file
(`scenarios/assumptions/ranges.yaml`) are the assumptions. A ranges file maps a dotted path to a
distribution and the reasoning behind it:

    ranges:
      main_co.p_resolve_solo_factor:
        uncertain: triangular
        low: 0.4
        mode: 0.6
        high: 1.0
        neutral: 1.0        # optional: the value at which the mechanism has no effect
        why: >
          ...

A path may use `*` for any key and `[NAME]` to select a policy by name
(`assessment.policies[closure_speed].params.p_resolve_delta`,
`routing[sectoral].params.bounce_complain_boost`): the assumption then applies only to the
scenarios that use that policy. Where a scenario declares a field uncertain itself, its own
distribution wins over the ranges file. An assumption that applies to no scenario is dropped
with a note.

**Draws.** N points of the unit hypercube by Latin hypercube sampling (SALib `latin.sample`,
seeded by the root seed), one coordinate per assumption, turned into values by each
distribution's quantile function. Every scenario runs under every draw with the same R
replication seeds (common random numbers), so a draw's difference between two scenarios is the
policies' under that draw's assumptions. Per draw, a scenario's value of a metric is the mean
over its replications and its difference is the mean paired difference to the first scenario.

**Outputs** (beside the compare outputs in `--out`):

    robustness.csv              metric, scenario, share_better, p05, median, p95: the share of
                                draws in which the scenario is better than the first (by the
                                metric's direction in sim/metrics.py; empty where neither
                                direction is better) and percentiles of the difference over
                                draws
    uncertainty_draws.csv       draw, the value of every assumption, and per scenario and
                                metric the draw's difference to the first scenario
    sensitivity_uncertainty.csv metric, scenario, assumption, S1, S1_conf, note: first-order
                                Sobol indices of the difference (SALib RBD-FAST, which works on
                                Latin hypercube draws; needs `MIN_SOBOL_DRAWS` draws, else
                                "not estimated")
    scenario_discovery.csv      metric, scenario, reference, sentence, draws, better_draws,
                                losing_draws, box, box_draws, box_losing, density, coverage:
                                a PRIM box of the assumptions under which the scenario loses
                                (box: JSON list of [assumption, low or null, high or null])
    structural.csv              metric, scenario, effect_point, effect_neutral, structural_share:
                                the effect with every assumption that has a `neutral` value set
                                to it, against the effect at the point values
    uncertainty/                ledger.sqlite (resumable), assumptions.csv, manifest.json

**Modules.** This module runs the draws (`robustness`) and checks the arguments early
(`check_args`); the assumptions and their draws are in `robustness_draws.py`, the analysis of
the runs in `robustness_analysis.py`, the sentences and the printed summary in
`robustness_outputs.py` (their public names are importable from here too).
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

from .. import __version__
from ..errors import UserError
from ..progress import Progress
from ..scenario.loader import (
    ScenarioError,
    load_scenario,
    scenario_to_dict,
    uncertain_fields,
    validate_mapping,
)
from ..scenario.paths import set_path
from .backends import RunTask, SerialBackend, make_backend
from .robustness_analysis import (  # noqa: F401  (re-exported: the public names stay here)
    HEADLINE,
    MIN_PRIM_DRAWS,
    MIN_SOBOL_DRAWS,
    NOT_COMPARED,
    PRIM_ALPHA,
    SOBOL_M,
    RobustnessResult,
    analyse,
    discovery_sentence,
    prim_box,
)
from .robustness_draws import (  # noqa: F401  (re-exported)
    Assumption,
    _get_or_none,
    assumptions_for,
    check_support,
    lhs,
    load_ranges,
    resolve,
)
from .robustness_outputs import (  # noqa: F401  (re-exported)
    add_point_effects,
    print_robustness,
    structural_sentence,
)
from .seeds import replication_seeds
from .store import LEDGER, Ledger, write_csv


def _load(items, overrides):
    loaded, errors = [], []
    for item in items:
        try:
            loaded.append(load_scenario(item, list(overrides)))
        except UserError as exc:
            errors += exc.errors
    if errors:
        raise UserError(errors)
    seen: dict[str, int] = {}
    names = []
    for path, sc in zip(items, loaded):
        n = sc.name if sc.name not in seen else f"{sc.name}_{Path(path).stem}"
        seen[n] = 1
        names.append(n)
    return names, loaded


DEFAULT_RANGES = Path("assumptions") / "ranges.yaml"


def default_ranges(scenarios) -> Path | None:
    """`assumptions/ranges.yaml` beside the first scenario file, if there is one (so
    `scenarios/baohe_before.yaml` finds `scenarios/assumptions/ranges.yaml`)."""
    if not scenarios:
        return None
    p = Path(scenarios[0]).parent / DEFAULT_RANGES
    return p if p.exists() else None


def check_args(scenarios, draws, ranges, overrides) -> None:
    """Fail early (before the compare runs) on a bad --ranges or no assumptions at all."""
    names, loaded = _load(scenarios, overrides)
    rng = load_ranges(ranges) if ranges else None
    dims, _ = assumptions_for([(n, scenario_to_dict(s), uncertain_fields(s))
                               for n, s in zip(names, loaded)], rng, str(ranges or ""))
    if not dims:
        raise UserError([f"--uncertainty {draws}: the scenarios declare no uncertain field and "
                         f"no --ranges file applies: give --ranges "
                         f"scenarios/assumptions/ranges.yaml or mark fields "
                         f"{{uncertain: ...}} (docs/experiments.md)"])
    if len(scenarios) < 2:
        raise UserError(["--uncertainty: needs at least two scenarios (the first is the "
                         "reference)"])
    errors = check_support(names, [scenario_to_dict(s) for s in loaded], dims)
    if errors:
        raise UserError(errors)


def robustness(scenarios: list, draws: int, replications: int = 1, out: str | Path = ".",
               ranges: str | Path | None = None, seed: int | None = None,
               workers: int | None = None, backend=None, overrides=(), resume: bool = False,
               quiet: bool = True, max_memory=None, force: bool = False) -> RobustnessResult:
    """Run every scenario under `draws` Latin-hypercube draws of the assumptions (see the
    module doc) and write the robustness tables into `out`. Each draw's scenario passes the
    memory check (`sim.resources.check` with `max_memory`, `force`) before it runs: a draw
    that grows the district past it stops the command with exit 2."""
    if draws < 1:
        raise UserError([f"--uncertainty {draws}: need at least 1 draw"])
    names, loaded = _load(scenarios, overrides)
    if len(loaded) < 2:
        raise UserError(["--uncertainty: needs at least two scenarios (the first is the "
                         "reference)"])
    rng_file = load_ranges(ranges) if ranges else None
    datas = [scenario_to_dict(s) for s in loaded]
    dims, notes = assumptions_for([(n, d, uncertain_fields(s)) for n, d, s in
                                   zip(names, datas, loaded)], rng_file, str(ranges or ""))
    if not dims:
        raise UserError([f"--uncertainty {draws}: no uncertain field and no --ranges entry "
                         f"applies to these scenarios"])
    root = int(seed if seed is not None else loaded[0].run.seed)
    R = replications
    seeds = replication_seeds(root, R)
    U = lhs(len(dims), draws, root)
    neutral_dims = [d for d in dims if d.neutral is not None]
    points = draws + (1 if neutral_dims else 0)     # the last point: every neutral value
    S = len(loaded)

    def mapping(point: int, s: int) -> dict:
        data = copy.deepcopy(datas[s])
        for j, d in enumerate(dims):
            for path, spec in d.paths.get(names[s], []):
                if point < draws:
                    x = float(spec.ppf(U[point, j]))
                elif d.neutral is not None:
                    x = d.neutral
                else:
                    continue
                set_path(data, path, d.value_at(spec, _get_or_none(datas[s], path), x))
        return data

    out = Path(out)
    udir = out / "uncertainty"
    key = {"scenarios": [json.dumps(d, sort_keys=True, default=str) for d in datas],
           "dims": [[d.name, d.spec.describe(), d.neutral, d.scale,
                     {k: [p for p, _ in v] for k, v in d.paths.items()}] for d in dims],
           "draws": draws, "R": R, "seeds": seeds, "cogov": __version__}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    if (udir / LEDGER).exists() and not resume:
        raise UserError([f"{udir}: already holds uncertainty draws: add --resume to continue "
                         f"them, or choose another --out"])
    udir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(udir / LEDGER, ["scenario"])
    total = points * R * S
    try:
        meta = ledger.get_meta()
        if meta and meta.get("digest") != digest:
            raise UserError([f"{udir}: those draws were made for other scenarios, ranges, "
                             f"replications or seed: use a new --out"])
        if not meta:
            ledger.set_meta(kind="uncertainty", digest=digest)
        done = ledger.ids(("ok", "error"))
        n_bad = 0
        first_error: list[str] = []

        def tasks():
            nonlocal n_bad
            for p in range(points):
                for r in range(R):
                    for s in range(S):
                        rid = (p * R + r) * S + s
                        if rid in done:
                            continue
                        try:
                            sc = validate_mapping(mapping(p, s), f"{names[s]} draw {p}")
                        except ScenarioError as exc:   # recorded as a failed run
                            n_bad += 1
                            first_error.append(exc.errors[0])
                            ledger.record({"run_id": rid, "point": p, "replication": r,
                                           "seed": seeds[r], "status": "error",
                                           "error": "; ".join(exc.errors), "scenario": names[s]})
                            continue
                        if r == 0:     # a draw may grow the district: check its memory
                            from ..resources import check, estimate

                            check(estimate(sc), source=f"--uncertainty: {names[s]} draw {p}",
                                  max_memory=max_memory, force=force,
                                  parallel=getattr(backend, "workers", 1))
                        yield RunTask(rid, seeds[r], scenario=sc, label=names[s])

        if backend is None:
            n = min(workers or __import__("os").cpu_count() or 1, total)
            backend = SerialBackend() if n <= 1 else make_backend("process", n)
        if not quiet:
            print(f"uncertainty: {len(dims)} assumptions, {draws} Latin-hypercube draws"
                  f"{' + the neutral point' if neutral_dims else ''} x {R} replications x "
                  f"{S} scenarios = {total} runs ({total - len(done)} to go)", file=sys.stderr)
        bar = Progress(total, "uncertainty", enabled=False if quiet else None, lines=True)
        n_done = len(done)
        for task, res in backend.run(tasks()):
            p, rem = divmod(task.run_id, R * S)
            r, s = divmod(rem, S)
            ledger.record({"run_id": task.run_id, "point": p, "replication": r,
                           "seed": task.seed, "status": res["status"], "error": res["error"],
                           "scenario": names[s], **res["summary"],
                           "wall_seconds": res["wall_seconds"], "traceback": res["traceback"]})
            n_done += 1
            bar.update(n_done + n_bad)
        bar.close()
        runs = ledger.read()
    finally:
        ledger.close()
    write_csv(runs.drop(columns=["traceback"], errors="ignore"), udir / "runs.csv")
    write_csv(pd.DataFrame([{"assumption": d.name, "distribution": d.spec.describe()
                             + (" (multiplier)" if d.scale else ""),
                             "neutral": d.neutral, "applies_to": ", ".join(d.paths),
                             "paths": "; ".join(sorted({p for v in d.paths.values()
                                                        for p, _ in v})),
                             "source": d.source, "why": d.why} for d in dims]),
              udir / "assumptions.csv")
    if not quiet:
        print("uncertainty: analysing the draws (how often each difference holds, Sobol "
              "indices, discovery boxes)", file=sys.stderr, flush=True)
    res = analyse(runs, names, dims, U, draws, R, root, out, notes)
    res.total = total
    (udir / "manifest.json").write_text(json.dumps({
        "kind": "uncertainty", "scenarios": names, "draws": draws, "replications": R,
        "root_seed": root, "seeds": seeds, "ranges": str(ranges) if ranges else None,
        "assumptions": [d.name for d in dims], "sampler": "SALib latin.sample",
        "cogov_version": __version__,
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds")},
        indent=2) + "\n", encoding="utf-8")
    return res
