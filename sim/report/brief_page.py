"""The brief's page (sim/report/brief.py builds it): the verdict first (sim/report/verdict.py),
then the question, the findings, what drives them, the key metrics grouped with better/worse,
the scenarios in plain names, the figures, caveats and how to reproduce."""

from __future__ import annotations

import base64
import datetime as _dt
from pathlib import Path

from .. import __version__
from . import figures as F
from . import text as T
from . import verdict as V
from .brief import (
    CSS,
    S,
    _caveats,
    _e,
    _factors,
    _field_description,
    _field_description_zh,
    _metrics_table,
    _question,
    _replications,
    _reproduce,
    _sweep_findings,
    render_segments,
    scenario_differences,
)
from .fonts import font_face_css, has_cjk, use_cjk_font


def page(res, out: Path, fig_dir: Path, fig_write: Path, lang, question, objective, title,
          argv, extra_sections, explain_dir=None) -> str:
    """The brief's HTML; figures are saved into `fig_write` (renamed to `fig_dir` after)."""
    s = S[lang]
    zh = lang == "zh"
    lab = F.Labels(res, lang)
    names = res.scenario_names
    shown = [lab.scen.get(n, n) for n in names]      # display names (display_name[_zh])
    need_cjk = zh or any(has_cjk(v) for v in [*lab.depts.values(), *lab.cats.values(),
                                                *lab.streets.values(), *shown])
    use_cjk_font(required=need_cjk)

    body: list[str] = []
    first = objective or res.manifest.get("objective")
    reduced = V.reduced_text(res, lang)
    ttl = title or (f"{s['title']}：" + "、".join(shown) if zh
                    else f"{s['title']}: " + " vs ".join(shown))
    if res.kind == "sweep":
        exp_title = (res.manifest.get("experiment") or {}).get("title") or res.manifest.get(
            "title")
        ttl = title or (f"{s['title']}：{exp_title or '参数扫描'}" if zh
                        else f"{s['title']}: {exp_title or 'parameter sweep'}")
    if reduced:
        ttl += "（缩小区域）" if zh else " (reduced district)"
    reps = _replications(res)
    when = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    reps_txt = s["reps"].format(n=reps) if res.kind == "compare" else s["runs_n"].format(
        n=0 if res.runs is None else len(res.runs))
    body.append(f"<h1>{_e(ttl)}</h1><p class=\"meta\">"
                f"{_e(s['generated'].format(when=when, ver=__version__, path=res.path, kind=res.kind, reps=reps_txt))}"  # noqa: E501
                f"</p>")

    # the verdict first: sentences and at most seven headline metrics
    if res.kind == "compare":
        vh, vbody = V.section(res, lang, lab.scen, first, explain_dir)
        if vh:
            body.append(f"<h2 id=\"verdict\">{_e(vh)}</h2>{vbody}")
    elif res.kind == "sweep":
        from .sweep_summary import ranking_section

        rh, rbody = ranking_section(res, lang)
        if rh:
            body.append(f"<h2 id=\"verdict\">{_e(rh)}</h2>{rbody}")
    body.append(f"<h2>{_e(s['question'])}</h2><p>"
                f"{_e(_question(res, lang, question, lab.scen))}</p>")

    # findings
    body.append(f"<h2>{_e(s['findings'])}</h2>")
    full: list = []
    if res.comparison is not None and res.kind == "compare":
        headline = T.headline_metrics(res.comparison, first)
        ranked = T.ranked_findings(res.comparison, names, lang, lab.depts, first, lab.scen)
        sentences = shorten_names([f.segments for f in ranked],
                                  [lab.scen.get(n, n) for n in names])
        if len(names) > 1:   # one scenario: the short findings are the levels in full
            full = T.findings(res.comparison, names, lang, lab.depts, first, lab.scen)
            full = shorten_names(full, [lab.scen.get(n, n) for n in names])
        fmt = T.Formatter(res.comparison, lang, lab.depts)
    else:
        headline = [m for m in ([first] if first else []) + list(T.HEADLINE)
                    if res.runs is not None and m in res.runs]
        sentences = _sweep_findings(res, lang, headline)
        fmt = None
    body.append(findings_html(sentences, full, lang))
    for heading, section in extra_sections or []:
        body.append(f"<h2>{_e(heading)}</h2>{section}")
    from .patterns_section import section as patterns_section  # cogov patterns results
    body.append(patterns_section(res.path, lang, lambda f: F.save(f, fig_write), lab.scen))
    from .drivers import section as drivers_section  # explain / --uncertainty results
    body.append(drivers_section(res, lang, fig_dir, explain_dir, first,
                                lambda f: F.save(f, fig_write)))
    if fmt is not None:
        body.append(f"<h2>{_e(s['metrics'])}</h2>")
        body.append(_metrics_table(res, lang, fmt, headline, lab.scen))

    # scenarios, in plain names (the dotted settings only as tooltips)
    body.append(f"<h2>{_e(s['scenarios'])}</h2>")
    if res.scenarios:
        def desc(r):
            sc = r.scenario
            if sc is None:
                return ""
            return (sc.description_zh or sc.description) if zh else sc.description
        rows = "".join(
            f"<tr><td>{_e(lab.scen.get(r.name, r.name))}</td><td>{_e(desc(r))}"
            f"{'' if r.scenario else _e(s['not_loaded'].format(err=r.load_error))}</td>"
            f"<td class=\"file\">{_e(Path(r.path).name)}</td></tr>" for r in res.scenarios)
        body.append(f"<div class=\"wide\"><table><thead><tr><th>{_e(s['name'])}</th>"
                    f"<th>{_e(s['description'])}</th><th>{_e(s['file'])}</th></tr></thead>"
                    f"<tbody>{rows}</tbody></table></div>")
    if res.kind == "sweep":
        fac = _factors(res)
        if fac:
            items = []
            for name, paths, span in fac:
                desc = "; ".join(d for d in dict.fromkeys(
                    (_field_description_zh(p) if zh else _field_description(p))
                    for p in paths) if d)
                plain = V.plain_factor(name, lang)
                items.append(f"<li title=\"{_e(', '.join(paths))}\"><b>{_e(plain)}</b>"
                             f"{': ' + _e(span) if span else ''} — {_e(desc)}</li>")
            body.append(f"<h3>{_e(s['factors'])}</h3><ul>{''.join(items)}</ul>")
    elif len(names) >= 2:
        dnames, drows, more = scenario_differences(res, lang=lang)
        dnames = [lab.scen.get(n, n) for n in dnames]
        body.append(f"<h3>{_e(s['differs'])}</h3>")
        if drows:
            head = "".join(f"<th>{_e(n)}</th>" for n in dnames)
            trs = "".join(f"<tr title=\"{_e(r[0])}\"><td>{_e(r[1] or r[0].rsplit('.', 1)[-1])}"
                          f"</td>" + "".join(f"<td>{_e(v)}</td>" for v in r[2:]) + "</tr>"
                          for r in drows)
            body.append(f"<div class=\"wide\"><table><thead><tr><th>{_e(s['setting'])}</th>"
                        f"{head}</tr></thead><tbody>{trs}</tbody></table></div>")
            if more:
                body.append(f"<p>{_e(s['more'].format(n=more))}</p>")
        elif len(dnames) >= 2:
            body.append(f"<p>{_e(s['none_differ'])}</p>")
    else:
        body.append(f"<p>{_e(s['one'])}</p>")

    # figures
    body.append(f"<h2>{_e(s['figures'])}</h2>")
    for i, f in enumerate(F.all_figures(res, lang, headline), start=1):
        png = F.save(f, fig_write)
        b64 = base64.b64encode(png).decode("ascii")
        body.append(f"<figure id=\"fig-{_e(f.name)}\"><img src=\"data:image/png;base64,{b64}\" "
                    f"alt=\"{_e(f.title)}\"><figcaption><b>{_e(s['figure'])} {i}. "
                    f"{_e(f.title)}.</b> {_e(f.caption)}</figcaption></figure>")

    caveats = ([reduced] if reduced else []) + _caveats(res, lang, lab)
    body.append(f"<h2>{_e(s['caveats'])}</h2><ul>"
                + "".join(f"<li>{_e(c)}</li>" for c in caveats) + "</ul>")
    brief_cmd = argv or ["cogov", "brief", str(res.path), "--out", str(out), "--lang", lang]
    try:
        rel = fig_dir.relative_to(Path.cwd())
    except ValueError:
        rel = fig_dir
    body.append(f"<h2>{_e(s['reproduce'])}</h2><details><summary>"
                f"{'命令与种子' if zh else 'commands and seeds'}</summary>"
                + _reproduce(res, lang, brief_cmd, str(rel)) + "</details>")

    body_html = "\n".join(body)
    css = CSS + font_face_css(ttl + body_html if has_cjk(body_html) else "", required=need_cjk)
    page = (f"<!DOCTYPE html>\n<html lang=\"{'zh-CN' if zh else 'en'}\"><head>"
            f"<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, "
            f"initial-scale=1\"><meta name=\"generator\" content=\"cogov {__version__}\">"
            f"<title>{_e(ttl)}</title><style>{css}</style></head>\n<body>\n{body_html}\n"
            f"</body></html>\n")
    return page


def short_name(label: str) -> str:
    """A scenario's display name without its parenthesis: "改革前的包河区（以条为主）" ->
    "改革前的包河区", "Baohe before the reform (sectoral)" -> "Baohe before the reform"."""
    for open_ in ("（", " ("):
        if open_ in label and not label.startswith(open_):
            return label.split(open_, 1)[0].strip()
    return label


def shorten_names(sentences: list[list], labels: list[str]) -> list[list]:
    """The full scenario names in the first sentence that names them, short names after."""
    short = {lab: short_name(lab) for lab in labels if short_name(lab) != lab}
    if not short or len(set(short.values())) < len(short):
        return sentences
    seen: set[str] = set()
    out = []
    for segs in sentences:
        new = []
        for s in segs:
            if isinstance(s, str):
                for full, sh in short.items():
                    if full in s:
                        if full in seen:
                            s = s.replace(full, sh)
                        else:
                            first, _, rest = s.partition(full)
                            s = first + full + rest.replace(full, sh)
                            seen.add(full)
            new.append(s)
        out.append(new)
    return out



def findings_html(sentences: list[list], full: list[list], lang: str) -> str:
    """The first `T.FINDINGS_SHOWN` findings as a list (class `findings`), the rest and the
    full sentences (both levels with their CIs) folded in a "more findings" block."""
    zh = lang == "zh"
    n = T.FINDINGS_SHOWN

    def ul(xs, cls):
        return f'<ul class="{cls}">' + "".join(f"<li>{render_segments(x)}</li>" for x in xs) \
            + "</ul>"

    out = ul(sentences[:n], "findings")
    rest = sentences[n:]
    if not rest and not full:
        return out
    label = (f"更多发现（另有 {len(rest)} 条）及完整表述" if zh else
             f"More findings ({len(rest)} more) and each in full") if rest else \
        ("各项发现的完整表述" if zh else "Each finding in full")
    inner = ul(rest, "findings-more") if rest else ""
    if full:
        inner += (f"<p>{'完整表述：两个情景的数值各自附 95% 置信区间。' if zh else 'In full: both levels, each with its 95% CI.'}</p>"  # noqa: E501
                  + ul(full, "findings-full"))
    return out + f'<details class="more-findings"><summary>{_e(label)}</summary>{inner}</details>'
