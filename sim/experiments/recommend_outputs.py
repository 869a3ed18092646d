"""What `cogov recommend` writes: candidates.csv, the routing tables, the recommended scenario,
routing_diff.csv/.md, search.json, the evidence directory and its brief."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import UserError
from ..report.results import t_interval
from ..report.text import metric_info, number
from ..scenario import routing_table as RT
from ..scenario.loader import dump_yaml, load_scenario
from ..scenario.schema import Scenario
from . import recommend_space as SP
from .recommend_search import Candidate, Search, _plain, _RunAdapter, derive


# ----------------------------------------------------------------------------- outputs
def candidates_table(s: Search, fr: list[Candidate], rob: pd.DataFrame,
                     rec: Candidate | None) -> pd.DataFrame:
    rb = {int(r["candidate"]): r for r in rob.to_dict("records")} if len(rob) else {}
    on_front = {c.cid for c in fr}
    ref = s.reference()
    rows = []
    for c in s.order:
        row = {"candidate": c.cid, "today": c is ref, "on_front": c.cid in on_front,
               "recommended": rec is not None and c is rec, "replications": c.n,
               "headcount": c.headcount, "feasible": s.ok(c) and s.violation(c) == 0,
               "changes": "; ".join(s.changes(c)) or "(today's configuration)",
               "invalid": c.invalid}
        for m in s.objectives + [k.metric for k in s.cons if k.metric not in s.objectives]:
            mm, lo, hi, _ = t_interval(c.values(m))
            row[f"{m}.mean"], row[f"{m}.ci_low"], row[f"{m}.ci_high"] = mm, lo, hi
            if c.n and ref.n:
                n = min(c.n, ref.n)
                d = c.values(m)[:n] - ref.values(m)[:n]
                dm, dlo, dhi, _ = t_interval(d)
                row[f"{m}.diff"], row[f"{m}.diff_ci_low"], row[f"{m}.diff_ci_high"] = \
                    dm, dlo, dhi
        r = rb.get(c.cid)
        row["robust_draws"] = int(r["draws"]) if r is not None else 0
        row["robustness_share"] = float(r["robustness_share"]) if r is not None else math.nan
        for m in s.objectives:
            row[f"{m}.robust_mean"] = r[f"{m}.robust_mean"] if r is not None else math.nan
        for k, v in c.config.items():
            row[k] = v
        rows.append(row)
    return pd.DataFrame(rows)


def write_outputs(s: Search, fr, rob, rec, file_raw, overrides, v_reps, budget, argv, lang,
                  uncertain, ranges, cons_text, seed, t0) -> dict:
    from ..report.brief import build_brief
    from ..report.results import write_compare_dir
    from .figures import save
    from .recommend_brief import brief_sections, pareto_figure

    out = s.out
    ref = s.reference()
    table = candidates_table(s, fr, rob, rec)
    table.to_csv(out / "candidates.csv", index=False)
    pareto = table[table["on_front"] | table["today"]].copy()
    pareto.to_csv(out / "pareto.csv", index=False)
    rob.to_csv(out / "robustness.csv", index=False)
    figs = save(pareto_figure(s, table, lang), out / "pareto")
    chosen = rec or ref
    # the recommendation as one package: the table's rows, the decisions no row carries
    # (`settings`), and the derived scenario's own names
    settings = package_settings(s, chosen)
    names = recommended_names(s.base)
    cur_rows = RT.table_rows(ref.scenario)
    rec_rows = RT.table_rows(chosen.scenario)
    RT.write_table(cur_rows, out / "current_routing_table.csv")
    head = (f"# cogov {__version__} routing table recommended by cogov recommend for "
            f"{s.scenario_path}; columns: docs/routing-table.md. `settings:` are the "
            f"recommendation's other decisions; `cogov routing import` applies all of it.\n")
    RT.write_table(rec_rows, out / "routing_table.csv", settings=settings)
    RT.write_table(rec_rows, out / "routing_table.yaml", header=head, settings=settings,
                   names=names)
    # the recommended scenario: the input file (without the run's --set values) + decisions
    new = SP.apply_config(file_raw, s.space, chosen.config)
    new.update(names)
    rec_path = write_scenario(new, file_raw, s.scenario_path, out / "recommended_scenario.yaml",
                              chosen.scenario, argv, overrides)
    diff = routing_diff(s, ref, chosen, cur_rows, rec_rows)
    diff.to_csv(out / "routing_diff.csv", index=False)
    (out / "routing_diff.md").write_text(diff_markdown(diff, s, ref, chosen, "en") + "\n"
                                         + diff_markdown(diff, s, ref, chosen, "zh"),
                                         encoding="utf-8")
    # evidence on fresh seeds
    evid = None
    verdict = {}
    if rec is not None:
        res = s.run([(c, "validate", i) for c in (ref, rec) for i in range(v_reps)], keep=True)
        entries = [
            {"name": s.base.name, "path": s.scenario_path, "overrides": list(overrides),
             "scenario": load_scenario(s.scenario_path, list(overrides)),
             "results": [_RunAdapter(r) for r in res[:v_reps]]},
            {"name": names["name"], "path": str(rec_path), "overrides": list(overrides),
             "scenario": load_scenario(rec_path, list(overrides)),
             "results": [_RunAdapter(r) for r in res[v_reps:]]}]
        evid = write_compare_dir(out / "evidence", entries, argv or ["cogov", "recommend"],
                                 seed, s.seeds["validate"])
        p = s.objectives[0]
        for m in dict.fromkeys([p, "staff_hours_total", *s.objectives]):
            a = np.array([derive(r["summary"]).get(m, np.nan) for r in res[:v_reps]], float)
            b = np.array([derive(r["summary"]).get(m, np.nan) for r in res[v_reps:]], float)
            dm, lo, hi, _ = t_interval(b - a)
            verdict[m] = {"current": float(np.nanmean(a)), "recommended": float(np.nanmean(b)),
                          "diff": dm, "ci_low": lo, "ci_high": hi}
    info = {
        "scenario": s.scenario_path, "overrides": list(overrides), "command": argv,
        "objectives": s.objectives, "directions": s.directions, "constraints": cons_text,
        "budget_runs": budget, "search_runs": s.used,
        "robustness_runs": int(sum(len(c.robust) for c in s.order)),
        "validation_runs": 2 * v_reps if rec is not None else 0,
        "runs_this_process": s.rec_runs, "candidates": len(s.order),
        "replications": s.R, "seeds": s.seeds, "root_seed": seed,
        "space": [{"name": d.name, "paths": d.paths, "current": d.current,
                   **({"low": d.low, "high": d.high} if d.kind == "int"
                      else {"choices": d.choices})} for d in s.space.dims],
        "headcount_budget": s.space.headcount_budget, "headcount_today": ref.headcount,
        "uncertain": [{"path": u.path, "kind": u.kind, **u.params} for u in uncertain],
        "ranges_file": str(ranges) if ranges else None, "draws": s.draws,
        "front": [c.cid for c in fr], "recommended": rec.cid if rec is not None else None,
        "recommended_changes": s.changes(rec) if rec is not None else [],
        "validation": verdict, "wall_seconds": round(time.perf_counter() - t0, 1),
        "generations": s.generations, "converged": s.converged,
        "winner_is_preset": bool(rec is not None and rec.key in s.presets),
        "small_budget": bool(s.generations < 3 and not s.converged),
        "package_settings": settings, "names": names,
    }
    (out / "search.json").write_text(json.dumps(info, indent=2, ensure_ascii=False,
                                                default=_json) + "\n", encoding="utf-8")
    if evid is not None:
        _patch_manifest(evid, s.objectives[0])
        build_brief(evid, out / "brief.html", lang=lang, question=question(s, lang),
                    objective=s.objectives[0],
                    argv=["cogov", "brief", str(evid), "--out", str(out / "brief.html"),
                          "--lang", lang], extra_sections=brief_sections(out, lang))
    p = s.objectives[0]
    if rec is None:
        msg = (f"recommendation: keep today's configuration (no front candidate beats it on {p} "
               f"in more than half of the {len(s.seeds['robust'])} draws while meeting the "
               f"constraints); {s.used} search runs, front {len(fr)}; {out}/pareto.csv")
    else:
        share = float(rob.set_index("candidate").loc[rec.cid, "robustness_share"])

        def line(m):
            v = verdict.get(m, {})
            return (f"{m} {_plain(v.get('current', math.nan), m)} -> "
                    f"{_plain(v.get('recommended', math.nan), m)} (difference 95% CI "
                    f"{_plain(v.get('ci_low', math.nan), m, True)} to "
                    f"{_plain(v.get('ci_high', math.nan), m, True)})")

        shown = list(dict.fromkeys([p, "staff_hours_total"]))
        msg = (f"recommendation: candidate {rec.cid} ({len(s.changes(rec))} change(s)), "
               f"robustness share {share:.0%}; on {v_reps} fresh seeds: "
               f"{'; '.join(line(m) for m in shown if m in verdict)}; {s.used} search runs, "
               f"front {len(fr)}; {out}/routing_table.yaml (the package: cogov routing import "
               f"it), {out}/routing_diff.md, "
               f"{out}/pareto.csv, {out}/brief.html")
    return {"recommended": rec.cid if rec is not None else None, "front": [c.cid for c in fr],
            "search_runs": s.used, "candidates": len(s.order), "validation": verdict,
            "message": msg, "figures": [str(f) for f in figs], "out": str(out)}


def _json(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return str(o)


def package_settings(s: Search, chosen: Candidate) -> dict:
    """The decisions of `chosen` that differ from today's and that no routing-table row
    carries (routing policy, staffing, platform triage ...): dotted path -> value."""
    out = {}
    for d in s.space.dims:
        v = chosen.config[d.name]
        if v == d.current:
            continue
        for p in d.paths:
            if not RT.ROW_PATHS.match(p):
                out[p] = int(v) if d.kind == "int" else v
    return out


def recommended_names(base: Scenario) -> dict:
    en = base.display_name or base.name
    zh = base.display_name_zh or en
    return {"name": f"{base.name}_recommended", "display_name": f"{en}: recommended",
            "display_name_zh": f"{zh}（建议配置）"}


def write_scenario(new: dict, file_raw: dict, scenario_path: str, path: Path,
                   expected: Scenario, argv, overrides=()) -> Path:
    """`recommended_scenario.yaml`: `extends:` the input and sets only what the recommendation
    changes (and its own name); the run's `--set` values (district size, horizon ...) are not
    part of it."""
    overlay = RT._diff(file_raw, new) or {}
    rel = os.path.relpath(Path(scenario_path).resolve(), path.resolve().parent)
    doc = {"extends": Path(rel).as_posix(), **overlay}
    cmd = " ".join(argv) if argv else f"cogov recommend {scenario_path}"
    head = (f"# Generated by cogov {__version__}: {cmd}\n"
            f"# The configuration recommended for {scenario_path} (routing table: "
            f"routing_table.yaml; what changes and why: routing_diff.md).\n")
    if overrides:
        head += (f"# The search ran with --set {' --set '.join(overrides)}; those run settings "
                 f"are not part of the recommendation.\n")
    path.write_text(head + dump_yaml(doc), encoding="utf-8")
    check = load_scenario(path, list(overrides))
    if RT.decision_sha256(check) != RT.decision_sha256(expected):  # pragma: no cover - guard
        raise UserError(f"{path}: the written scenario does not reproduce the recommendation")
    return path


MECHANISM = {
    "owner": ("cases go to {v} instead of {c} as main department (主办)",
              "主办部门由{c}改为{v}"),
    "dispatch": ("{v} dispatch instead of {c} (dual: the police attend too, adding police "
                 "hours and sharing the outcome)", "派单方式由{c}改为{v}"),
    "handback": ("handback {v}: cases the police close on site unsettled go to the grid for "
                 "follow-up", "回流网格：{v}（民警现场处置未化解的事项交网格员回访）"),
    "via_platform": ("through the street platform's triage desk: {v} (False: straight to the "
                     "owner; None: as the routing policy says)", "经街道平台分拨：{v}"),
    "routing": ("routing {c} -> {v} (territorial: the street platform triages reports and "
                "dispatches them to the owner's street team)", "派单模式由{c}改为{v}（以块为主，"
                "街道平台分拨）"),
    "staff": ("staff {c} -> {v} per team", "人员 {c} → {v}（每队）"),
    "other": ("{c} -> {v}", "{c} → {v}"),
}


def _evidence(s: Search, dim, value, lang: str = "en") -> str:
    """Main effect in the archive: mean primary objective of evaluated candidates with the
    recommended value vs with today's."""
    p = s.objectives[0]
    a = [c.mean(p) for c in s.order if s.ok(c) and c.config.get(dim.name) == value]
    b = [c.mean(p) for c in s.order if s.ok(c) and c.config.get(dim.name) == dim.current]
    if not a or not b:
        return ""
    kind = metric_info(p).kind
    ma, mb = (number(float(np.mean(x)), kind, 2, lang) for x in (a, b))
    if lang == "zh":
        return (f"搜索中取该值的方案{metric_info(p, 'zh').label}平均 {ma}（{len(a)} 个），"
                f"取现行值的平均 {mb}（{len(b)} 个）")
    return (f"searched candidates with this value: {p} {ma} on average (n={len(a)}) vs {mb} "
            f"with today's (n={len(b)})")


def contribution(s: Search, dim, value) -> float:
    """Main effect of a decision in the search's archive on the primary objective: mean over
    evaluated candidates with the recommended value minus mean with today's, signed so that
    a positive number is an improvement (NaN without candidates on both sides)."""
    p = s.objectives[0]
    a = [c.mean(p) for c in s.order if s.ok(c) and c.config.get(dim.name) == value]
    b = [c.mean(p) for c in s.order if s.ok(c) and c.config.get(dim.name) == dim.current]
    a = [x for x in a if math.isfinite(x)]
    b = [x for x in b if math.isfinite(x)]
    if not a or not b:
        return math.nan
    sign = 1.0 if s.directions[0] == "lower" else -1.0
    return float(sign * (np.mean(b) - np.mean(a)))


WORSE_EN = "CAUTION: the search's own evidence points the other way for this change; "
WORSE_ZH = "注意：搜索中的证据显示此项修改本身使结果变差；"


def _order_and_flag(rows: list[dict]) -> list[dict]:
    """Largest improvement first; changes whose own evidence is worse flagged (they stay: the
    package was evaluated as a whole, but a planner may want to leave them out)."""
    for r in rows:
        c = r.get("contribution", math.nan)
        r["evidence"] = ("" if not isinstance(c, float) or not math.isfinite(c)
                         else "better" if c > 0 else "worse" if c < 0 else "neutral")
        if r["evidence"] == "worse":
            r["why"] = WORSE_EN + r["why"]
    def key(r):
        c = r.get("contribution", math.nan)
        return (r["what"] == "headcount", -(c if math.isfinite(c) else -math.inf))

    return sorted(rows, key=key)


def routing_diff(s: Search, ref: Candidate, rec: Candidate, cur_rows, rec_rows) -> pd.DataFrame:
    """One row per changed table cell or setting, with the reason."""
    by_path: dict[str, SP.Dimension] = {p: d for d in s.space.dims for p in d.paths}
    cur = {r["code"]: r for r in cur_rows}
    rows = []

    def fmt(v):
        return ";".join(v) if isinstance(v, list) else str(v)

    col_field = {"main_department": "owner", "dispatch_mode": None, "handback": "handback",
                 "co_handlers": "co_handlers", "followup_owner": "handback",
                 "police_on_site": "police_on_site"}
    for r in rec_rows:
        c = cur[r["code"]]
        for col in ("main_department", "co_handlers", "dispatch_mode", "handback",
                    "followup_owner", "police_on_site"):
            if r[col] == c[col]:
                continue
            if col == "followup_owner" and r["handback"] != c["handback"]:
                continue   # follows the handback row (grid when handed back)
            path = (f"dispatch.modes.{r['code']}" if col == "dispatch_mode"
                    else f"catalogue.{r['code']}.{col_field[col]}")
            d = by_path.get(path) if col != "followup_owner" else None
            why = ""
            if d is not None:
                tmpl = MECHANISM.get(d.group, MECHANISM["other"])[0]
                why = tmpl.format(c=fmt(c[col]), v=fmt(r[col]))
                ev = _evidence(s, d, rec.config[d.name])
                why += f"; {ev}" if ev else ""
            elif col == "co_handlers":
                why = "the new main department is no longer its own co-handler"
            elif col == "followup_owner":
                why = "follows the handback setting"
            rows.append({"what": "routing table", "dimension": d.name if d else "",
                         "contribution": contribution(s, d, rec.config[d.name]) if d
                         else math.nan,
                         "category": r["code"], "name": r["name"],
                         "name_zh": r["name_zh"], "column": col, "current": fmt(c[col]),
                         "recommended": fmt(r[col]), "why": why})
    table_paths = {"owner", "handback", "co_handlers"}
    for d in s.space.dims:
        if rec.config[d.name] == d.current:
            continue
        if d.group in ("owner", "dispatch", "handback"):
            continue
        for p in d.paths:
            if p.split(".")[-1] in table_paths and p.startswith("catalogue."):
                continue
            tmpl = MECHANISM.get(d.group, MECHANISM["other"])[0]
            why = tmpl.format(c=d.current, v=rec.config[d.name])
            ev = _evidence(s, d, rec.config[d.name])
            rows.append({"what": "setting", "dimension": d.name, "category": "",
                         "contribution": contribution(s, d, rec.config[d.name]),
                         "name": d.name, "name_zh": "",
                         "column": p, "current": str(d.current),
                         "recommended": str(rec.config[d.name]),
                         "why": why + (f"; {ev}" if ev else "")})
    if ref.headcount != rec.headcount:
        rows.append({"what": "headcount", "dimension": "", "category": "",
                     "contribution": math.nan,
                     "name": "headcount", "name_zh": "",
                     "column": "departments.*.staff", "current": str(ref.headcount),
                     "recommended": str(rec.headcount),
                     "why": f"budget {s.space.headcount_budget}"})
    rows = _order_and_flag(rows)
    return pd.DataFrame(rows, columns=["what", "dimension", "category", "name", "name_zh",
                                       "column", "contribution", "evidence",
                                       "current", "recommended", "why"])


def diff_markdown(diff: pd.DataFrame, s: Search, ref, rec, lang: str) -> str:
    zh = lang == "zh"
    lines = ["# 建议的派单表与现行派单表的差异" if zh else
             "# Recommended vs current routing table", ""]
    if rec is ref or not len(diff):
        lines.append("无修改：建议保持现行配置。" if zh else
                     "No change: keep today's configuration.")
        return "\n".join(lines) + "\n"
    lines.append("| 类别/设置 | 字段 | 现行 | 建议 | 原因 |" if zh else
                  "| category / setting | column | current | recommended | why |")
    lines.append("|---|---|---|---|---|")
    for r in diff.itertuples():
        name = (r.name_zh or r.name) if zh else r.name
        what = f"{r.category} {name}".strip() if r.category else name
        why = r.why
        if zh:
            d = next((x for x in s.space.dims if x.name == r.dimension), None)
            if d is not None:
                why = MECHANISM.get(d.group, MECHANISM["other"])[1].format(
                    c=r.current, v=r.recommended)
                ev = _evidence(s, d, rec.config[d.name], "zh")
                why += f"；{ev}" if ev else ""
                if getattr(r, "evidence", "") == "worse":
                    why = WORSE_ZH + why
            elif r.column == "co_handlers":
                why = "新的主办部门不再列为协办"
            elif r.column == "followup_owner":
                why = "随回流设置而定"
        lines.append(f"| {what} | {r.column} | {r.current} | {r.recommended} | {why} |")
    return "\n".join(lines) + "\n"


def question(s: Search, lang: str) -> str:
    labels = [metric_info(m, lang).label for m in s.objectives]
    if lang == "zh":
        return (f"哪种派单配置（主办部门、单派/双派、回流网格、人员配置）能在"
                f"{'、'.join(labels)}之间取得最好的平衡，并在不确定性下稳健？")
    return (f"Which routing configuration (main departments, single or dual dispatch, handback, "
            f"staffing) trades off {', '.join(labels)} best, robustly?")


def _patch_manifest(ev_dir: Path, objective: str) -> None:
    p = ev_dir / "manifest.json"
    m = json.loads(p.read_text(encoding="utf-8"))
    m["objective"] = objective
    p.write_text(json.dumps(m, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
