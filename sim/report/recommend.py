"""`cogov recommend`: search per-category routing choices for the best objective.

The decision per category: its main department (among the departments whose `jurisdiction`
lists the category's family, by default), single or dual dispatch (when a police station
exists and does not own the category), and handback (one switch for every category the police
act on, while the schema has no per-category handback; see routing_table.py).

The search is a documented local search (first-improvement coordinate descent), chosen over a
black-box optimiser because every accepted change must be explainable in one line to a
planner and supported by evidence:
1. evaluate the current routing on R seeds (the same R seeds for every candidate: common
   random numbers, so differences between candidates are not seed noise);
2. try single changes one at a time, categories in order of their share of the objective in
   the current routing (e.g. most repeat complaints first), the global handback switch first;
3. accept a change when it keeps the constraints (means over the R runs) and its paired 95% CI
   of the improvement over the incumbent excludes zero (so noise does not pick the winner);
   while the incumbent breaks a constraint, accept a change that lowers the violation;
4. stop when `budget` candidates have been evaluated or a full pass finds no improvement.
Then the current and the recommended routing are both run on fresh validation seeds (not used
in the search, so the winner's curse does not inflate the gain), written as a compare-format
directory `evidence/` and briefed (`brief.html`, before/after with CIs).

Outputs in DIR: routing_table.csv and .yaml (recommended), current_routing_table.csv,
recommended_scenario.yaml (extends the input scenario), search_log.csv (every candidate),
search.json (settings, seeds, changes), evidence/ and brief.html.
"""

from __future__ import annotations

import copy
import html
import json
import math
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..outdir import OutputDir
from ..scenario.loader import apply_set, load_raw, validate_mapping
from ..scenario.schema import Scenario
from . import routing_table as RT
from .results import flatten, t_interval, write_compare_dir
from .text import METRICS, metric_info, number

OPS = {"<=": np.less_equal, ">=": np.greater_equal, "<": np.less, ">": np.greater}


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    value: float
    text: str

    def violation(self, x: float) -> float:
        """0 when satisfied, else how far off (in the metric's units)."""
        if OPS[self.op](x, self.value):
            return 0.0
        return abs(x - self.value) + (1e-12 if self.op in ("<", ">") else 0.0)


def parse_constraint(text: str) -> Constraint:
    m = re.fullmatch(r"\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*([-+]?[0-9.]+(?:[eE][-+]?\d+)?)"
                     r"\s*(%?)\s*", text)
    if not m:
        raise UserError(f"--constraint {text!r}: expected METRIC<=VALUE (or >=, <, >), e.g. "
                        f"\"staff_hours.police<=5000\" or \"on_time_rate>=90%\"")
    try:
        value = float(m.group(3)) / (100.0 if m.group(4) else 1.0)
    except ValueError:
        raise UserError(f"--constraint {text!r}: {m.group(3)!r} is not a number: write the "
                        f"limit as a plain number, e.g. \"staff_hours.police<=5000\"") from None
    return Constraint(m.group(1), m.group(2), value, text.strip())


@dataclass
class Evaluation:
    rows: list[dict]
    summaries: list[dict]
    label: str = "current routing"
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def metric(self, name: str) -> np.ndarray:
        if name not in self.values:
            self.values[name] = np.array([float(s.get(name, np.nan)) for s in self.summaries])
        return self.values[name]


def _run_summary(args) -> dict:
    scenario, seed = args
    from ..runner import run_scenario

    return flatten(run_scenario(scenario, seed=seed).summary)


def _key(rows: list[dict]) -> tuple:
    return tuple((r["code"], r["main_department"], r["dispatch_mode"], r["handback"])
                 for r in rows)


def _to_apply(rows: list[dict]) -> list[dict]:
    """Table rows (export form) to the parsed form `apply_rows` takes."""
    out = []
    for r in rows:
        out.append({**r, "handback": r["handback"] == "yes",
                    "police_on_site": r["police_on_site"] == "yes",
                    "deadline_hours": float(r["deadline_hours"])})
    return out


def _candidates(base: Scenario, code: str, mode_owners: str) -> list[str]:
    cat = base.catalogue[code]
    staffed = [c for c, d in base.departments.items() if d.staff > 0]
    if mode_owners == "current":
        return [cat.owner]
    if mode_owners == "any":
        return [cat.owner] + [c for c in staffed if c != cat.owner]
    fit = [c for c in staffed if c != cat.owner and cat.family in base.departments[c].jurisdiction]
    return [cat.owner] + fit


def recommend(scenario_path: str | Path, out: str | Path, objective: str = "repeat_complaint_rate",
              direction: str | None = None, constraints: list[str] | None = None,
              budget: int = 20, replications: int = 5, validation_replications: int | None = None,
              seed: int = 2024, overrides=(), owners: str = "jurisdiction", lang: str = "en",
              workers: int = 1, quiet: bool = False, argv: list[str] | None = None,
              force: bool = False) -> Path:
    """Run the search and write the recommendation (see the module docstring)."""
    from .brief import build_brief

    if budget < 1:
        raise UserError(f"--budget {budget}: evaluate at least 1 candidate")
    if replications < 1:
        raise UserError(f"--replications {replications}: at least 1")
    cons = [parse_constraint(c) for c in constraints or []]
    direction = direction or ("max" if METRICS.get(objective, ("", "", "", ""))[3] == "higher"
                              else "min")
    sign = 1.0 if direction == "min" else -1.0
    v_reps = validation_replications or max(2, 2 * replications)
    target = OutputDir(out, force=force, inputs=[scenario_path], command="recommend")
    final = target.final
    with target as out:      # checked and locked now; written in one piece at the end
        log = (lambda *a: None) if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))

        file_raw = load_raw(scenario_path)
        data = copy.deepcopy(file_raw)
        for expr in overrides:
            apply_set(data, expr)
        base = validate_mapping(copy.deepcopy(data), str(scenario_path))
        ss = np.random.SeedSequence(seed)
        states = ss.generate_state(replications + v_reps, dtype=np.uint32)
        search_seeds = [int(x) for x in states[:replications]]
        valid_seeds = [int(x) for x in states[replications:]]

        pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
        cache: dict[tuple, Evaluation] = {}

        def scenario_of(rows: list[dict]) -> Scenario:
            return validate_mapping(RT.apply_rows(data, base, _to_apply(rows)), str(scenario_path))

        def evaluate(rows: list[dict], label: str) -> Evaluation:
            k = _key(rows)
            if k in cache:
                return cache[k]
            sc = scenario_of(rows)
            jobs = [(sc, s) for s in search_seeds]
            sums = list(pool.map(_run_summary, jobs)) if pool else [_run_summary(j) for j in jobs]
            ev = Evaluation(rows, sums, label)
            cache[k] = ev
            return ev

        def violation(ev: Evaluation) -> float:
            return sum(c.violation(float(np.nanmean(ev.metric(c.metric)))) for c in cons)

        t0 = time.perf_counter()
        try:
            current_rows = RT.table_rows(base)
            inc = evaluate(current_rows, "current routing")
            known = set(inc.summaries[0])
            bad = [m for m in [objective, *(c.metric for c in cons)] if m not in known]
            if bad:
                raise UserError([f"unknown metric {m!r}: use a summary metric, e.g. "
                                 f"{', '.join(sorted(k for k in known if '.' not in k)[:12])}, or "
                                 f"per department utilization.<dept>, staff_hours.<dept>"
                                 for m in bad])
            fmt_obj = _fmt(objective, lang)
            log(f"[0/{budget}] current routing: {objective} = {fmt_obj(inc.metric(objective))}")
            rows_log = [_log_row(0, "current routing", inc, inc, objective, cons, True, sign)]
            moves = _moves(base, current_rows, owners, objective)
            used = 0
            improved = True
            while improved and used < budget:
                improved = False
                for move in moves:
                    if used >= budget:
                        break
                    cand_rows = move.apply(inc.rows)
                    if cand_rows is None or _key(cand_rows) == _key(inc.rows):
                        continue
                    if _key(cand_rows) in cache:
                        continue
                    used += 1
                    try:
                        cand = evaluate(cand_rows, move.label)
                    except UserError as exc:
                        log(f"[{used}/{budget}] {move.label}: invalid ({exc.errors[0]})")
                        continue
                    ok = _better(cand, inc, objective, sign, violation)
                    rows_log.append(_log_row(used, move.label, cand, inc, objective, cons, ok,
                                             sign))
                    log(f"[{used}/{budget}] {move.label}: {objective} = "
                        f"{fmt_obj(cand.metric(objective))}; change "
                        f"{fmt_obj(cand.metric(objective) - inc.metric(objective), True)}: "
                        f"{'ACCEPTED' if ok else 'rejected'}")
                    if ok:
                        inc = cand
                        improved = True
            best_rows = inc.rows
            pd.DataFrame(rows_log).to_csv(out / "search_log.csv", index=False)
        finally:
            if pool:
                pool.shutdown()

        # outputs: tables, scenario, evidence on fresh seeds, brief
        RT.write_table(current_rows, out / "current_routing_table.csv")
        table = RT.write_table(best_rows, out / "routing_table.csv")
        RT.write_table(best_rows, out / "routing_table.yaml",
                       header=f"# recommended by cogov recommend ({objective}, {direction})\n")
        rec_path, _ = RT.import_table(table, scenario_path, out / "recommended_scenario.yaml",
                                      overrides=list(overrides), argv=argv)
        log(f"validating on {v_reps} fresh seeds ...")
        from ..runner import run_scenario

        cur_sc = scenario_of(current_rows)
        rec_sc = scenario_of(best_rows)
        entries = [
            {"name": "current", "path": str(scenario_path), "overrides": list(overrides),
             "scenario": cur_sc, "results": [run_scenario(cur_sc, seed=s) for s in valid_seeds]},
            # relative to evidence/, so it resolves before and after the folder is renamed
            {"name": "recommended", "path": f"../{rec_path.name}", "overrides": [],
             "scenario": rec_sc, "results": [run_scenario(rec_sc, seed=s) for s in valid_seeds]},
        ]
        ev_dir = write_compare_dir(out / "evidence", entries, argv or ["cogov", "recommend"],
                                   seed, valid_seeds)
        _patch_manifest(ev_dir, objective)
        changes = _changes(current_rows, best_rows)
        (out / "search.json").write_text(json.dumps({
            "scenario": str(scenario_path), "overrides": list(overrides), "objective": objective,
            "direction": direction, "constraints": [c.text for c in cons], "budget": budget,
            "evaluated": used, "replications": replications, "search_seeds": search_seeds,
            "validation_seeds": valid_seeds, "root_seed": seed, "owners": owners,
            "changes": [dict(zip(("category", "column", "current", "recommended"), c))
                        for c in changes], "command": argv}, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8")
        sections = _sections(lang, changes, cons, objective, direction, used, budget,
                             replications, v_reps, search_seeds, final / "evidence", rows_log)
        q = _question(lang, objective, direction, cons)
        build_brief(ev_dir, out / "brief.html", lang=lang, question=q, objective=objective,
                    argv=["cogov", "brief", str(final / "evidence"), "--out",
                          str(final / "brief.html"), "--lang", lang], extra_sections=sections)
    log(f"recommendation: {len(changes)} change(s) in {used} candidate(s), "
        f"{time.perf_counter() - t0:.0f} s; {final}/routing_table.csv, {final}/brief.html")
    return final


def _fmt(metric: str, lang: str):
    info = metric_info(metric, lang)

    def f(x: np.ndarray, diff: bool = False) -> str:
        m, lo, hi, _ = t_interval(x)
        if math.isnan(lo):
            return number(m, info.kind, 2, lang, diff)
        return (f"{number(m, info.kind, 2, lang, diff)} (95% CI "
                f"{number(lo, info.kind, 2, lang, diff)} to "
                f"{number(hi, info.kind, 2, lang, diff)})")
    return f


def _better(cand: Evaluation, inc: Evaluation, objective: str, sign: float, violation) -> bool:
    vc, vi = violation(cand), violation(inc)
    if vi > 0:
        return vc < vi
    if vc > 0:
        return False
    d = sign * (cand.metric(objective) - inc.metric(objective))  # < 0 is an improvement
    m, lo, hi, _ = t_interval(d)
    if not np.isfinite(m):
        return False
    if math.isnan(hi):  # a single replication: no interval, only the sign
        return m < 0
    return hi < 0


def _log_row(i, label, ev, inc, objective, cons, accepted, sign) -> dict:
    x = ev.metric(objective)
    m, lo, hi, _ = t_interval(x)
    d = x - inc.metric(objective)
    dm, dlo, dhi, _ = t_interval(d)
    row = {"evaluation": i, "change": label, f"{objective}.mean": m, f"{objective}.ci_low": lo,
           f"{objective}.ci_high": hi, "diff_vs_incumbent": dm, "diff_ci_low": dlo,
           "diff_ci_high": dhi, "accepted": bool(accepted)}
    for c in cons:
        row[f"{c.metric}.mean"] = float(np.nanmean(ev.metric(c.metric)))
        row[f"ok:{c.text}"] = c.violation(row[f"{c.metric}.mean"]) == 0
    return row


@dataclass
class Move:
    label: str
    code: str | None
    fld: str
    value: str

    def apply(self, rows: list[dict]) -> list[dict] | None:
        new = [dict(r) for r in rows]
        if self.code is None:  # the global handback switch
            hits = [r for r in new if r["police_on_site"] == "yes"]
            if not hits or all(r["handback"] == self.value for r in hits):
                return None
            for r in hits:
                r["handback"] = self.value
                r["followup_owner"] = "grid" if self.value == "yes" else ""
            return new
        for r in new:
            if r["code"] == self.code:
                if r[self.fld] == self.value:
                    return None
                r[self.fld] = self.value
                if self.fld == "handback":
                    r["followup_owner"] = "grid" if self.value == "yes" else ""
                if self.fld == "main_department":
                    r["co_handlers"] = [c for c in r["co_handlers"] if c != self.value]
        return new


def _moves(base: Scenario, rows: list[dict], owners: str, objective: str) -> list[Move]:
    """Every single change, most promising categories first."""
    moves: list[Move] = []
    if any(r["police_on_site"] == "yes" for r in rows) and not RT.PER_CATEGORY_HANDBACK:
        for v in ("yes", "no"):
            moves.append(Move(f"handback (all police-on-site categories) -> {v}", None,
                              "handback", v))
    weight = _category_weights(base, objective)
    police = next((c for c, d in base.departments.items() if d.is_police), None)
    for r in sorted(rows, key=lambda r: -weight.get(r["code"], 0.0)):
        code = r["code"]
        for o in _candidates(base, code, owners):
            if o != r["main_department"]:
                moves.append(Move(f"{code}: main department -> {o}", code, "main_department", o))
        if police and r["main_department"] != police:
            for v in ("dual", "single"):
                moves.append(Move(f"{code}: dispatch -> {v}", code, "dispatch_mode", v))
        if RT.PER_CATEGORY_HANDBACK and r["police_on_site"] == "yes":
            for v in ("yes", "no"):
                moves.append(Move(f"{code}: handback -> {v}", code, "handback", v))
    return moves


def _category_weights(base: Scenario, objective: str) -> dict[str, float]:
    """Expected first-pass problems a year per category: the order in which to try them."""
    from ..scenario.schema import LAND_USES
    from ..world.district import build_district

    pop, _, mix = build_district(base.district).arrays()
    out = {}
    for code, cat in base.catalogue.items():
        inc = np.array([cat.incidence_per_1000_per_year.get(
            u, cat.incidence_per_1000_per_year.get("default", 0.0)) for u in LAND_USES])
        n = float((pop / 1000.0 * (mix @ inc)).sum()) * cat.p_report
        if "repeat" in objective or "dissatisf" in objective:
            n *= (1.0 - cat.p_resolve) + cat.recurrence_prob + 0.1 * cat.police_on_site
        out[code] = n
    return out


def _changes(before: list[dict], after: list[dict]) -> list[tuple[str, str, str, str]]:
    b = {r["code"]: r for r in before}
    out = []

    def fmt(v) -> str:
        return ";".join(v) if isinstance(v, list) else str(v)

    for r in after:
        for f in ("main_department", "co_handlers", "dispatch_mode", "handback"):
            if r[f] != b[r["code"]][f]:
                out.append((r["code"], f, fmt(b[r["code"]][f]), fmt(r[f])))
    return out


def _question(lang, objective, direction, cons) -> str:
    label = metric_info(objective, lang).label
    c = "; ".join(x.text for x in cons)
    if lang == "zh":
        goal = "最低" if direction == "min" else "最高"
        extra = f"，并满足约束 {c}" if c else ""
        return f"哪种按类别的派单方式（主办部门、单派/双派、回流网格）能使{label}{goal}{extra}？"
    goal = "minimises" if direction == "min" else "maximises"
    extra = f" while keeping {c}" if c else ""
    return (f"Which per-category routing (main department, single or dual dispatch, handback) "
            f"{goal} the {label}{extra}?")


def _sections(lang, changes, cons, objective, direction, used, budget, reps, v_reps,
              search_seeds, ev_dir, rows_log) -> list[tuple[str, str]]:
    e = html.escape
    zh = lang == "zh"
    if changes:
        trs = "".join(f"<tr><td><code>{e(c)}</code></td><td>{e(f)}</td><td>{e(a)}</td>"
                      f"<td>{e(b)}</td></tr>" for c, f, a, b in changes)
        head = ("<tr><th>类别</th><th>字段</th><th>现行</th><th>建议</th></tr>" if zh else
                "<tr><th>category</th><th>column</th><th>current</th><th>recommended</th></tr>")
        ch = f"<table><thead>{head}</thead><tbody>{trs}</tbody></table>"
    else:
        ch = ("<p>在预算内未找到有显著改善且满足约束的修改：建议保持现行派单表。</p>" if zh else
              "<p>No change improved the objective clearly within the budget while keeping the "
              "constraints: keep the current routing table.</p>")
    n_acc = sum(1 for r in rows_log if r["accepted"] and r["evaluation"] > 0)
    cons_txt = ", ".join(c.text for c in cons) or ("无" if zh else "none")
    if zh:
        how = (f"<p>局部搜索（逐项改进的坐标下降）：共评估 {used} 个候选方案"
               f"（预算 {budget} 个），每个方案在相同的 {reps} 个种子上运行（共同随机数），"
               f"仅当改进的配对95%置信区间不含零且满足约束（{e(cons_txt)}）时才接受；"
               f"接受了 {n_acc} 项修改。上面的前后对比在另外 {v_reps} 个未用于搜索的种子上"
               f"重新运行，避免“赢家诅咒”。搜索记录："
               f"<code>search_log.csv</code>。</p>")
        return [("建议的修改", ch), ("搜索方法", how)]
    how = (f"<p>Local search (first-improvement coordinate descent): {used} candidate routings "
           f"evaluated (budget {budget}), each on the same {reps} seeds (common random numbers); "
           f"a change was accepted only when the paired 95% CI of its improvement excluded zero "
           f"and the constraints held ({e(cons_txt)}): {n_acc} accepted. The before/after "
           f"numbers in this brief come from {v_reps} fresh seeds not used in the search, so "
           f"the winner's curse does not inflate the gain. Every evaluation: "
           f"<code>search_log.csv</code>.</p>")
    return [("Recommended changes", ch), ("How the search worked", how)]


def _patch_manifest(ev_dir: Path, objective: str) -> None:
    p = ev_dir / "manifest.json"
    m = json.loads(p.read_text(encoding="utf-8"))
    m["objective"] = objective
    p.write_text(json.dumps(m, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
