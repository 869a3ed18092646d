"""`cogov brief`: the HTML parses, every figure is embedded, quoted numbers equal comparison.csv,
Chinese renders (figures without missing glyphs, the page with an embedded CJK subset), and,
where Chromium exists, the page renders headless with no broken image and no missing glyph."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shutil
import subprocess
import warnings
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.report import text as T
from sim.report.fonts import find_cjk_font, has_cjk
from sim.report.results import load_results, write_compare_dir
from sim.runner import run_scenario
from sim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
SEEDS = [11, 12, 13]

# A two-street variant of the M/M/c scenario with Chinese names, repeats, 110 and handback:
# 30 days, runs in a fraction of a second.
SMALL = f"""
extends: {MMC.as_posix()}
name: sectoral
description: 两个街道的小情景 (sectoral routing)
district:
  name: test
  name_zh: 测试区
  streets:
    - name: Wuhulu
      name_zh: 芜湖路街道
      grids:
        - {{name: W1, population: 300}}
        - {{name: W2, population: 250}}
        - {{name: W3, population: 200}}
        - {{name: W4, population: 250}}
    - name: Baogong
      name_zh: 包公街道
      grids:
        - {{name: B1, population: 400}}
        - {{name: B2, population: 350}}
        - {{name: B3, population: 250}}
catalogue:
  job:
    name: Street vending
    name_zh: 占道经营
    p_resolve: 0.7
    incidence_per_1000_per_year: {{default: 3000}}
  dispute:
    name: Neighbour disputes
    name_zh: 邻里纠纷
    family: non_police
    owner: community
    police_on_site: true
    p_unsettled_after_police: 0.5
    p_grid_settle: 0.5
    handling: {{kind: exponential, mean: 3.0}}
    p_resolve: 0.6
    p_report: 0.8
    incidence_per_1000_per_year: {{default: 2000}}
    channel_weights: {{hotline_12345: 0.4, police_110: 0.6}}
departments:
  desk: {{name: Urban management, name_zh: 城管执法中队, staff: 3,
          jurisdiction: [urban_management, non_police]}}
  community: {{name: Community office, name_zh: 综治中心, staff: 2, jurisdiction: [non_police]}}
  police: {{name: Police station, name_zh: 派出所, staff: 3, is_police: true}}
channels:
  hotline_12345: {{name: hotline, name_zh: 12345热线, kind: hotline, propensity: 0.7}}
  police_110: {{name: "110", name_zh: 110报警, kind: police, propensity: 0.3}}
  grid_patrol: {{name: grid patrol, name_zh: 网格巡查, kind: patrol, propensity: 0.0}}
citizens:
  report_delay: {{kind: exponential, mean: 12}}
  repeat: {{p_complain_again: 0.7, max_repeats: 3, patience: {{kind: exponential, mean: 48}}}}
grid_workers: {{per_grid: 1, detection_prob: 0.0}}
routing: {{policy: sectoral}}
run: {{horizon_days: 30, warmup_days: 5, seed: 1}}
"""
TERRITORIAL = """
extends: small.yaml
name: territorial
description: 属地管理 + 回流网格 (territorial routing with handback)
routing: {policy: territorial}
handback: {enabled: true}
main_co: {enabled: true}
"""


def write_scenarios(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    a, b = folder / "small.yaml", folder / "territorial.yaml"
    a.write_text(SMALL, encoding="utf-8")
    b.write_text(TERRITORIAL, encoding="utf-8")
    return a, b


def make_compare_dir(out: Path, paths: list[Path], seeds=SEEDS) -> Path:
    """A compare-format results directory from a few short runs (the fixture generator)."""
    entries = []
    for p in paths:
        sc = load_scenario(p)
        entries.append({"name": sc.name, "path": str(p), "overrides": [], "scenario": sc,
                        "results": [run_scenario(sc, seed=s) for s in seeds]})
    cmd = ["cogov", "compare", *map(str, paths), "--replications", str(len(seeds))]
    return write_compare_dir(out, entries, cmd, 7, list(seeds))


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("brief")
    a, b = write_scenarios(d / "scenarios")
    return make_compare_dir(d / "cmp", [a, b])


@pytest.fixture(scope="module")
def briefs(results_dir) -> dict[str, Path]:
    out = {}
    for lang in ("en", "zh"):
        path = results_dir.parent / f"brief_{lang}.html"
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=r".*missing from font")  # tofu = error
            assert main(["brief", str(results_dir), "--out", str(path), "--lang", lang]) == 0
        out[lang] = path
    return out


class Page(HTMLParser):
    """Collects images, tagged numbers, scripts, links and the visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.imgs, self.nums, self.tags, self.text = [], [], [], []
        self._num: dict | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "img":
            self.imgs.append(a)
        if tag in ("style", "script"):
            self._skip += 1
        if tag == "span" and "num" in (a.get("class") or "").split():
            self._num = {**a, "text": ""}

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        if tag == "span" and self._num is not None:
            self.nums.append(self._num)
            self._num = None

    def handle_data(self, data):
        if self._num is not None:
            self._num["text"] += data
        if not self._skip:
            self.text.append(data)


def parse(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_parses_and_is_self_contained(briefs, lang):
    html = briefs[lang].read_text(encoding="utf-8")
    page = parse(briefs[lang])
    assert html.startswith("<!DOCTYPE html>")
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "object")]
    for _, attrs in page.tags:
        for k in ("src", "href"):
            v = attrs.get(k)
            assert v is None or v.startswith(("data:", "#")), f"external reference {v[:60]}"
    assert "url(http" not in html and "@import" not in html
    assert ("lang=\"zh-CN\"" in html) == (lang == "zh")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_figure_embedded_and_saved(briefs, lang):
    page = parse(briefs[lang])
    fig_dir = briefs[lang].parent / f"{briefs[lang].stem}_figures"
    pngs = sorted(fig_dir.glob("*.png"))
    assert len(pngs) >= 6  # throughput, repeat rate, time to close, over time, map, staff load
    assert len(page.imgs) == len(pngs)
    embedded = set()
    for img in page.imgs:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1])
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        embedded.add(data)
        assert img.get("alt")
    assert embedded == {p.read_bytes() for p in pngs}
    for p in pngs:
        pdf = p.with_suffix(".pdf")
        assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_quoted_numbers_equal_comparison_csv(briefs, results_dir, lang):
    cmp = pd.read_csv(results_dir / "comparison.csv")
    page = parse(briefs[lang])
    nums = [n for n in page.nums if n.get("data-source") == "comparison"]
    assert len(nums) > 50
    for n in nums:
        row = cmp[(cmp["scenario"] == n["data-scenario"]) & (cmp["metric"] == n["data-metric"])]
        assert len(row) == 1, n
        expected = float(row.iloc[0][n["data-field"]])
        got = float(n["data-value"])
        assert got == expected or (math.isnan(got) and math.isnan(expected)), n
        # the printed text is that value, rounded, in the metric's display scale
        info = T.metric_info(n["data-metric"])
        m = re.search(r"[+\-\u2212]?[\d,]+(?:\.\d+)?", n["text"])
        assert m, n
        shown = float(m.group().replace(",", "").replace("\u2212", "-"))
        decimals = len(m.group().split(".")[1]) if "." in m.group() else 0
        assert abs(shown - expected * T.scale(info.kind)) <= 0.5 * 10 ** -decimals + 1e-9, n


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_number_has_a_unit(briefs, lang):
    page = parse(briefs[lang])
    units = [u for pair in T.UNITS.values() for u in pair] + list(T.PP)
    for n in page.nums:
        if n.get("data-field") in ("ci_low", "diff_ci_low"):
            continue  # the low end of a range: the high end right after it carries the unit
        text = n["text"].strip()
        assert any(text.endswith(u) for u in units), f"no unit: {text!r}"


def test_headline_sentence_shape(briefs, results_dir):
    text = " ".join(parse(briefs["en"]).text)
    cmp = pd.read_csv(results_dir / "comparison.csv")
    # (the full sentences, folded under the short findings; citizen_repeat_rate is a headline)
    r = cmp[(cmp.scenario == "territorial") & (cmp.metric == "citizen_repeat_rate")].iloc[0]
    verb = "lowers" if r.diff_mean < 0 else "raises"
    assert f"territorial {verb} the citizen repeat rate from " in text or \
        "do not differ clearly in the citizen repeat rate" in text
    assert "95% CI" in text
    zh = " ".join(parse(briefs["zh"]).text)
    assert "重复投诉率" in zh and "95%置信区间" in zh


def test_brief_sections_and_reproduction(briefs, results_dir):
    text = " ".join(parse(briefs["en"]).text)
    for heading in ("The question", "What differs between them", "Headline findings",
                    "Figures", "Assumptions and caveats", "How to reproduce"):
        assert heading in text
    # the scenario diff in plain words, the dotted settings only as tooltips
    html_text = briefs["en"].read_text(encoding="utf-8")
    assert 'title="routing.policy"' in html_text and "routing.policy" not in text
    assert "Verdict" in text and text.index("Verdict") < text.index("The question")
    for s in SEEDS:
        assert str(s) in text
    assert "cogov compare" in text and "cogov brief" in text


def test_chinese_text_is_covered_by_the_embedded_font(briefs):
    from fontTools.ttLib import TTFont

    html = briefs["zh"].read_text(encoding="utf-8")
    m = re.search(r"font/woff;base64,([A-Za-z0-9+/=]+)", html)
    assert m, "no embedded CJK font"
    font = TTFont(io.BytesIO(base64.b64decode(m.group(1))))
    cmap = font.getBestCmap()
    visible = "".join(parse(briefs["zh"]).text)
    missing = {c for c in visible if has_cjk(c) and ord(c) not in cmap}
    assert not missing, f"glyphs not in the embedded font: {''.join(sorted(missing))}"
    assert "派出所" in html and "重复投诉率" in html  # department and metric names


def test_cjk_font_found():
    font = find_cjk_font()
    assert font is not None, "no CJK font: pip install mplfonts (a cogov dependency)"
    assert Path(font.path).is_file()


def test_compare_dir_without_comparison_csv_is_recomputed(results_dir, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(results_dir, d)
    (d / "comparison.csv").unlink()
    res = load_results(d)
    orig = pd.read_csv(results_dir / "comparison.csv")
    assert set(res.comparison["metric"]) == set(orig["metric"])


def test_bad_results_dir_exits_2(tmp_path, capsys):
    assert main(["brief", str(tmp_path), "--out", str(tmp_path / "b.html")]) == 2
    assert "manifest.json" in capsys.readouterr().err
    assert main(["brief", str(tmp_path / "nope"), "--out", str(tmp_path / "b.html")]) == 2


def test_real_compare_output(tmp_path):
    """The brief reads what `cogov compare` (sim.experiments) writes."""
    exp = pytest.importorskip("sim.experiments.compare")
    a, b = write_scenarios(tmp_path / "sc")
    out = tmp_path / "cmp"
    exp.compare([str(a), str(b)], replications=2, out=out, seed=5)
    brief = tmp_path / "brief.html"
    assert main(["brief", str(out), "--out", str(brief), "--lang", "zh"]) == 0
    page = parse(brief)
    cmp = pd.read_csv(out / "comparison.csv")
    nums = [n for n in page.nums if n.get("data-source") == "comparison"]
    assert nums and page.imgs
    for n in nums:
        row = cmp[(cmp["scenario"] == n["data-scenario"]) & (cmp["metric"] == n["data-metric"])]
        exp_v, got = float(row.iloc[0][n["data-field"]]), float(n["data-value"])
        assert got == exp_v or (math.isnan(got) and math.isnan(exp_v))


def test_sweep_with_sensitivity_briefs(tmp_path):
    """A sweep directory (ledger + sensitivity CSVs) briefs with sensitivity figures."""
    a, _ = write_scenarios(tmp_path / "sc")
    d = tmp_path / "sweep"
    d.mkdir()
    runs = pd.DataFrame({"run_id": range(8), "point": range(8), "replication": 0,
                         "seed": range(100, 108), "status": "ok",
                         "staff": [2, 3, 4, 5] * 2,
                         "repeat_complaint_rate": [0.3, 0.28, 0.25, 0.2, 0.31, 0.27, 0.24, 0.21],
                         "throughput_per_day": [30, 31, 32, 33, 30, 31, 32, 33.5]})
    runs.to_csv(d / "runs.csv", index=False)
    pd.DataFrame({"metric": ["repeat_complaint_rate"] * 2 + ["throughput_per_day"] * 2,
                  "factor": ["staff", "patience"] * 2, "S1": [0.6, 0.2, 0.7, 0.1],
                  "S1_conf": [0.1, 0.05, 0.1, 0.05], "ST": [0.7, 0.3, 0.8, 0.15],
                  "ST_conf": [0.1, 0.05, 0.1, 0.05]}).to_csv(d / "sensitivity_sobol.csv",
                                                            index=False)
    pd.DataFrame({"metric": ["repeat_complaint_rate"] * 2, "factor": ["staff", "patience"],
                  "mu": [0.05, 0.01], "mu_star": [0.05, 0.02], "mu_star_conf": [0.01, 0.01],
                  "sigma": [0.01, 0.02]}).to_csv(d / "sensitivity_morris.csv", index=False)
    (d / "manifest.json").write_text(json.dumps({
        "kind": "sweep", "command": ["cogov", "sweep", "exp.yaml", "--out", str(d)],
        "experiment": {"name": "tiny", "path": "exp.yaml"},
        "scenario": {"path": str(a), "set": {"run.horizon_days": 20}},
        "factors": [{"name": "staff", "paths": ["departments.desk.staff"], "range": [2, 5]}],
        "replications": 1, "root_seed": 3, "seeds": "per run: runs.csv"}), encoding="utf-8")
    out = tmp_path / "b.html"
    assert main(["brief", str(d), "--out", str(out)]) == 0
    page = parse(out)
    names = {p.stem for p in (tmp_path / "b_figures").glob("*.png")}
    assert any(n.startswith("sobol") for n in names) and any(n.startswith("morris")
                                                              for n in names)
    assert len(page.imgs) == len(names)
    text = " ".join(page.text)
    assert "total-order Sobol index" in text and "departments.desk.staff" not in text
    assert 'title="departments.desk.staff"' in out.read_text(encoding="utf-8")
    # the ranking of factors first, the outputs the sweep recorded in the question
    assert text.index("Which factors matter most") < text.index("The question")
    assert "throughput" in text[text.index("The question"):text.index("Headline findings")]


# ----------------------------------------------------------------------------- Chromium
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and Path(p).exists()),
                None)
CHECK_JS = r"""<script>
(async () => {
  const out = {images: [], missing: [], checked: 0};
  try {
    await document.fonts.ready;
    for (const img of document.images) {
      if (!img.complete || img.naturalWidth === 0) out.images.push(img.alt || '?');
    }
    const chars = [...new Set([...document.body.innerText])]
      .filter(c => c.trim() && c.codePointAt(0) > 127);
    const fam = getComputedStyle(document.body).fontFamily;
    await document.fonts.load('40px ' + fam, chars.join(''));
    const c = document.createElement('canvas'); c.width = 64; c.height = 64;
    const ctx = c.getContext('2d', {willReadFrequently: true});
    const draw = (ch) => { ctx.clearRect(0, 0, 64, 64); ctx.font = '40px ' + fam;
      ctx.fillStyle = '#000'; ctx.textBaseline = 'top'; ctx.fillText(ch, 4, 4);
      return ctx.getImageData(0, 0, 64, 64).data.join(','); };
    // what a missing glyph looks like: code points no font has
    const tofu = new Set([draw('\u{10FFFD}'), draw('\uE000')]);
    for (const ch of chars) { out.checked++; if (tofu.has(draw(ch))) out.missing.push(ch); }
    out.tofu_control = tofu.has(draw('\u{10FFFC}'));
  } catch (e) { out.error = String(e); }
  const pre = document.createElement('pre'); pre.id = 'cogov-check';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (Debian package "
                                             "`chromium`): headless render check skipped")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chromium_renders_without_broken_images_or_missing_glyphs(briefs, lang, tmp_path):
    page = tmp_path / "check.html"
    html = briefs[lang].read_text(encoding="utf-8")
    page.write_text(html.replace("</body>", CHECK_JS + "</body>"), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--virtual-time-budget=15000",
             f"--user-data-dir={tmp_path / 'profile'}"]
    proc = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)
    m = re.search(r'<pre id="cogov-check">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"chromium gave no result: {proc.stderr[-2000:]}"
    res = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert "error" not in res, res
    assert res["tofu_control"], "the missing-glyph detector does not work on this machine"
    assert res["images"] == [], f"broken images: {res['images']}"
    assert res["missing"] == [], f"missing glyphs: {''.join(res['missing'])}"
    assert res["checked"] > (100 if lang == "zh" else 3)
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, "--hide-scrollbars", "--window-size=1000,1600",
                    f"--screenshot={shot}", briefs[lang].as_uri()], capture_output=True,
                   timeout=180, stdin=subprocess.DEVNULL)
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_no_cjk_font_gives_install_hint(results_dir, tmp_path, monkeypatch, capsys):
    import sim.report.fonts as fonts

    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    with pytest.raises(Exception) as exc:
        fonts.use_cjk_font(required=True)
    assert "pip install mplfonts" in str(exc.value) and "fonts-noto-cjk" in str(exc.value)
    assert main(["brief", str(results_dir), "--out", str(tmp_path / "b.html"),
                 "--lang", "zh"]) == 2
    assert "pip install mplfonts" in capsys.readouterr().err


def test_single_scenario_single_run(tmp_path):
    a, _ = write_scenarios(tmp_path / "sc")
    d = make_compare_dir(tmp_path / "one", [a], seeds=[5])
    out = tmp_path / "b.html"
    assert main(["brief", str(d), "--out", str(out)]) == 0
    text = " ".join(parse(out).text)
    html = out.read_text(encoding="utf-8")
    shown = _findings_items(html, "findings")
    order = T.headline_metrics(pd.read_csv(d / "comparison.csv"))   # no CI: headline order
    assert [m for _, m in shown] == order[:5]
    assert shown[0][0].startswith(T.metric_info(order[0]).label[:1].upper())
    assert "no CI: a single run" in shown[0][0] and "no CI: a single run" in text
    assert all(len(t.split()) <= 25 for t, _ in shown)
    assert '<ul class="findings-more">' in html and "findings-full" not in html


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    return sync_playwright


def cjk_nodes_in_fallback_fonts(page_path: Path) -> list[str]:
    """Every element whose text has Chinese characters, laid out by headless Chromium: the fonts
    the browser's font matching actually used for it (DevTools `CSS.getPlatformFontsForNode`).
    Every Chinese character must be drawn by the embedded font (or a system CJK
    font); one drawn by another font is an empty box."""
    from sim.report.fonts import has_cjk

    broken = []
    with _playwright()() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(page_path.as_uri())
            # folded parts (the commands) are laid out too, so their glyphs are checked
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            page.evaluate("document.fonts.ready")
            cdp = page.context.new_cdp_session(page)
            cdp.send("DOM.enable")
            cdp.send("CSS.enable")
            root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
            sel = "h1, h2, h3, h4, p, li, th, td, figcaption, span, b, small"
            for nid in cdp.send("DOM.querySelectorAll", {"nodeId": root,
                                                         "selector": sel})["nodeIds"]:
                node = cdp.send("DOM.describeNode", {"nodeId": nid, "depth": 1})["node"]
                own = "".join(c.get("nodeValue", "") for c in node.get("children", [])
                              if c.get("nodeType") == 3)      # its own text, as the fonts
                if not has_cjk(own):
                    continue
                fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": nid})["fonts"]
                n_cjk = sum(1 for ch in own if has_cjk(ch))
                by_cjk_font = sum(f["glyphCount"] for f in fonts if f.get("isCustomFont")
                                  or "CJK" in f["familyName"])
                if by_cjk_font < n_cjk:
                    broken.append(f"<{node['nodeName'].lower()}> {own.strip()[:40]!r}: "
                                  + ", ".join(f"{f['familyName']} x{f['glyphCount']}"
                                              for f in fonts))
        finally:
            browser.close()
    return broken


@pytest.mark.skipif(CHROMIUM is None or _playwright() is None,
                    reason="Chromium or playwright not installed: laid-out glyph check skipped")
def test_every_chinese_text_node_is_drawn_with_a_cjk_font(briefs):
    """The laid-out page, not the font file: the title and the first headings of the zh brief
    used to be drawn in DejaVu Sans (empty boxes) while later text found the embedded font."""
    broken = cjk_nodes_in_fallback_fonts(briefs["zh"])
    assert broken == [], "drawn without CJK glyphs:\n" + "\n".join(broken)


def test_brief_reads_right_in_both_languages(tmp_path):
    """Display names, throughput explained with problems solved beside it, police hours and
    share together, no "0–0" ranges, a wrapped reproduce command, Chinese throughout."""
    a, _ = write_scenarios(tmp_path / "scenarios")
    named = tmp_path / "scenarios" / "named.yaml"
    named.write_text(TERRITORIAL.replace(
        "name: territorial", "name: territorial\ndisplay_name: Street-led dispatch\n"
        "display_name_zh: 街道主导派单\ndescription_zh: 属地管理并回流网格"), encoding="utf-8")
    res = make_compare_dir(tmp_path / "cmp", [a, named])
    pages = {}
    for lang in ("en", "zh"):
        out = tmp_path / f"b_{lang}.html"
        assert main(["brief", str(res), "--out", str(out), "--lang", lang]) == 0
        pages[lang] = out.read_text(encoding="utf-8")
    en, zh = (" ".join(parse(tmp_path / f"b_{x}.html").text) for x in ("en", "zh"))
    assert "Street-led dispatch" in en and "街道主导派单" in zh and "属地管理并回流网格" in zh
    assert "Throughput is not a verdict" in en and "problems actually solved per day" in en
    assert "Throughput (cases closed per day" in en and "(worse)" not in en.split(
        "Throughput (cases closed per day")[1].split(".")[0]
    assert "as a share of all police hours" in en and "占派出所全部工时的比例" in zh
    for text in (en, zh):
        assert not re.search(r"(?<![\d.,])(−?[\d.,]+)(%|\s)?[–至]\s?\1(?![\d.,])", text), \
            "a range whose bounds print alike"
    assert " \\\n" in pages["en"] and "white-space: pre-wrap" in pages["en"]
    assert "routing policy name" not in zh and "co-handlers contribute" not in zh


DOTTED_PATH = re.compile(r"\b(?:routing|dispatch|handback|catalogue|departments|assessment|"
                         r"main_co|linkage|citizens|grid_workers|platform|run|district|"
                         r"channels|campaigns)\.[a-z_0-9]+")


@pytest.mark.skipif(CHROMIUM is None or _playwright() is None,
                    reason="Chromium or playwright not installed (scripts/ci_install_browser.sh):"
                           " the laid-out brief check is skipped")
def test_brief_reads_on_a_laptop_and_a_phone(briefs):
    """Issue 26: at 1366 and 390 px wide, in English and Chinese, the verdict is the first
    section, the page never scrolls sideways, no visible text is a raw dotted setting, and every
    glyph is drawn (no empty boxes)."""
    problems = []
    with _playwright()() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for lang in ("en", "zh"):
                for width in (1366, 390):
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.goto(briefs[lang].as_uri())
                    page.evaluate("document.fonts.ready")
                    where = f"{lang} at {width} px"
                    first = page.evaluate("document.querySelector('h2').id")
                    if first != "verdict":
                        problems.append(f"{where}: the first section is {first!r}")
                    sw = page.evaluate("document.documentElement.scrollWidth")
                    if sw > width + 1:
                        problems.append(f"{where}: the page is {sw} px wide (scrolls sideways)")
                    text = page.evaluate("document.body.innerText")
                    raw = sorted(set(DOTTED_PATH.findall(text)))
                    if raw:
                        problems.append(f"{where}: raw settings visible: {raw[:5]}")
                    page.close()
        finally:
            browser.close()
    problems += [f"zh: drawn without CJK glyphs: {b}" for b in
                 cjk_nodes_in_fallback_fonts(briefs["zh"])]
    assert problems == [], "\n".join(problems)


def test_verdict_says_when_a_headline_rests_on_assumed_values(results_dir, tmp_path):
    """A headline whose difference rests mostly on assumed effect sizes (structural.csv of
    `compare --uncertainty`) is named in the verdict's sentences; how often it holds across the
    draws (robustness.csv) is in its row; a reduced district is said in plain words."""
    import shutil as _sh

    from sim.report import verdict as V
    from sim.report.results import load_results

    d = tmp_path / "cmp"
    _sh.copytree(results_dir, d)
    res = load_results(d)
    alt = res.scenario_names[1]
    metrics = V.headline(res.comparison)
    assert 0 < len(metrics) <= V.MAX_HEADLINE
    # make the first headline's difference clearly beyond noise, then say it rests 90% on
    # assumed values
    c = res.comparison
    m = metrics[0]
    row = (c["metric"] == m) & (c["scenario"] == alt)
    c.loc[row, ["diff_mean", "diff_ci_low", "diff_ci_high"]] = [-0.05, -0.07, -0.03]
    c.to_csv(d / "comparison.csv", index=False)
    pd.DataFrame([{"metric": m, "scenario": alt, "effect_point": -0.05,
                   "effect_neutral": -0.005, "structural_share": 0.1}]).to_csv(
        d / "structural.csv", index=False)
    pd.DataFrame([{"metric": m, "scenario": alt, "share_better": 0.75, "p05": -0.06,
                   "median": -0.04, "p95": 0.01}]).to_csv(d / "robustness.csv", index=False)
    (d / "uncertainty").mkdir(exist_ok=True)
    (d / "uncertainty" / "manifest.json").write_text('{"draws": 8}', encoding="utf-8")
    res = load_results(d)
    for lang, words in (("en", "rest mostly on assumed effect sizes"), ("zh", "主要取决于假设")):
        head, body = V.section(res, lang, {})
        assert head and words in body and "90%" in body
        assert ("75% of 8" if lang == "en" else "8 次中 75%") in body
    assert V.reduced_district(res) == []


def _findings_items(html: str, cls: str) -> list[tuple[str, str]]:
    """(visible text, metric of its first tagged number) of each item of the `<ul class=cls>`."""
    m = re.search(rf'<ul class="{cls}">(.*?)</ul>', html, re.S)
    if not m:
        return []
    out = []
    for li in re.findall(r"<li>(.*?)</li>", m.group(1), re.S):
        metric = re.search(r'data-metric="([^"]+)"', li)
        out.append((unescape(re.sub(r"<[^>]+>", "", li)), metric.group(1) if metric else ""))
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_findings_are_few_short_ranked_and_the_rest_folded(briefs, results_dir, lang):
    """Issue 26: at most five findings after the verdict, each at most 25 words (Chinese: 50
    characters and numbers), the largest difference relative to its CI first; the other
    findings (and each in full) in a "more findings" <details> block."""
    html = briefs[lang].read_text(encoding="utf-8")
    shown = _findings_items(html, "findings")
    more = _findings_items(html, "findings-more")
    cmp = pd.read_csv(results_dir / "comparison.csv")
    alt = cmp[cmp.scenario == "territorial"]
    headline = T.headline_metrics(cmp)
    assert len(headline) > 5, "the fixture should have more findings than are shown"
    assert len(shown) == 5 and len(more) == len(headline) - 5
    assert {m for _, m in shown + more} == set(headline)
    for text, _ in shown + more:
        if lang == "zh":
            cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
            others = len(re.findall(r"[A-Za-z0-9][A-Za-z0-9.,%+\-]*", text))
            assert cjk + others <= 50, f"{cjk + others} units: {text}"
        else:
            assert len(text.split()) <= 25, f"{len(text.split())} words: {text}"

    def score(metric):   # |difference| over the half-width of its 95% CI, from the CSV
        r = alt[alt.metric == metric].iloc[0]
        half = (r.diff_ci_high - r.diff_ci_low) / 2
        return math.inf if half <= 0 and r.diff_mean else abs(r.diff_mean) / half

    scores = [score(m) for _, m in shown + more]
    assert scores == sorted(scores, reverse=True), list(zip([m for _, m in shown + more],
                                                            scores))
    folded = html.split('<details class="more-findings">', 1)
    assert len(folded) == 2 and '<ul class="findings-more">' in folded[1]
    assert '<ul class="findings-full">' in folded[1]   # each finding in full, both CIs


def test_a_long_scenario_name_keeps_a_finding_short():
    """With several alternatives each finding names its own; a long name drops the CI from the
    short finding (it stays in the full sentence) rather than exceed 25 words."""
    rows = []
    for name, d in (("base", 0.0), ("a", -0.05),
                    ("the street-led dispatch with grid follow-up and joint campaigns", -0.1)):
        rows.append({"scenario": name, "metric": "citizen_repeat_rate", "mean": 0.4 + d,
                     "ci_low": 0.38 + d, "ci_high": 0.42 + d, "diff_mean": d,
                     "diff_ci_low": d - 0.01, "diff_ci_high": d + 0.01})
    cmp = pd.DataFrame(rows)
    names = list(cmp.scenario)
    for lang, limit in (("en", T.FINDING_WORDS), ("zh", T.FINDING_UNITS_ZH)):
        ranked = T.ranked_findings(cmp, names, lang, labels={n: n for n in names})
        assert [f.scenario for f in ranked] == [names[2], names[1]]   # larger effect first
        texts = [T.plain(f.segments) for f in ranked]
        assert all(T.finding_length(t, lang) <= limit for t in texts), texts
        assert names[2] in texts[0] and "95%" in texts[1]
        if lang == "en":   # 8 words of name: the CI goes (in Chinese it still fits)
            assert "95%" not in texts[0]
    assert T.finding_length("重复投诉率：18.2%→9.1%", "zh") == 5 + 2
