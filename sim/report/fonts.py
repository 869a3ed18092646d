"""CJK fonts: make Chinese category, department and street names render (no empty boxes).

Where the font comes from, in order:
1. a CJK font installed on the system and known to matplotlib (Noto Sans CJK, Source Han Sans,
   WenQuanYi, Droid Sans Fallback, AR PL, Microsoft YaHei, PingFang, Hiragino Sans GB, ...);
2. Noto Sans CJK SC shipped by the PyPI package `mplfonts` (a cogov dependency, SIL OFL font);
   the file is registered with matplotlib directly: `mplfonts` itself is never imported and
   nothing is copied into matplotlib's folders.

When neither exists, `require_cjk_font` raises a `UserError` that says how to install one
(`pip install mplfonts` or `apt install fonts-noto-cjk`). `use_cjk_font()` configures matplotlib
(the dashboard reuses it); `font_face_css(text)` gives an `@font-face` rule with the font
subset to the characters of `text`, so a self-contained HTML page renders Chinese on a machine
without any CJK font.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

# Family names of CJK-capable fonts, most preferred first (matched case-insensitively as a
# prefix of the family name matplotlib reports).
SYSTEM_CANDIDATES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "Noto Sans CJK", "Source Han Sans", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "Droid Sans Fallback", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
    "SimHei", "Sarasa", "AR PL UKai", "AR PL UMing", "Noto Serif CJK SC", "Source Han Serif",
)
PACKAGE_FONT = ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf")
PROBE = "重复投诉率街道网格派出所"  # characters every usable font must have

INSTALL_HINT = (
    "no CJK-capable font found, so Chinese names would render as empty boxes. Install one: "
    "`pip install mplfonts` (ships Noto Sans CJK SC; a cogov dependency, so reinstalling cogov "
    "also works) or `apt install fonts-noto-cjk` (Debian/Ubuntu; then delete matplotlib's font "
    "cache, ~/.cache/matplotlib/fontlist-*.json)")

# the code points of _CJK_RE, for an @font-face unicode-range
CJK_UNICODE_RANGE = "U+2E80-9FFF, U+AC00-D7AF, U+F900-FAFF, U+FF00-FFEF, U+20000-2FA1F"
_CJK_RE = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]")


@dataclass(frozen=True)
class CJKFont:
    """A usable CJK font: its family name for matplotlib, its file, and where it came from."""

    name: str
    path: str
    source: str  # "system" or "package:mplfonts"
    index: int = 0  # font number inside a .ttc collection


def has_cjk(text: str) -> bool:
    """True when `text` contains a CJK character (or full-width punctuation)."""
    return bool(_CJK_RE.search(text or ""))


def _covers(path: str, index: int, chars: str) -> bool:
    try:
        from fontTools.ttLib import TTFont

        with TTFont(path, lazy=True, fontNumber=index) as font:
            cmap = font.getBestCmap() or {}
        return all(ord(c) in cmap for c in chars)
    except Exception:  # noqa: BLE001 - an unreadable font is simply not usable
        return False


def _ttc_index(path: str, family: str) -> int:
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    try:
        from fontTools.ttLib import TTCollection

        with TTCollection(path, lazy=True) as coll:
            for i, f in enumerate(coll.fonts):
                if f["name"].getDebugName(1) == family:
                    return i
    except Exception:  # noqa: BLE001
        pass
    return 0


def _package_font_path() -> str | None:
    pkg, rel = PACKAGE_FONT
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        p = Path(base) / rel
        if p.is_file():
            return str(p)
    return None


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> CJKFont | None:
    """The best CJK font available (system first, then the `mplfonts` package), or None."""
    from matplotlib import font_manager as fm

    entries = {}
    for f in fm.fontManager.ttflist:
        entries.setdefault(f.name, f.fname)
    for want in SYSTEM_CANDIDATES:
        for name in sorted(entries):
            if name.lower().startswith(want.lower()):
                path = entries[name]
                idx = _ttc_index(path, name)
                if _covers(path, idx, PROBE):
                    return CJKFont(name, path, "system", idx)
    path = _package_font_path()
    if path and _covers(path, 0, PROBE):
        fm.fontManager.addfont(path)
        name = fm.FontProperties(fname=path).get_name()
        return CJKFont(name, path, "package:" + PACKAGE_FONT[0], 0)
    return None


_configured: str | None = None


def use_cjk_font(required: bool = False, quiet: bool = False) -> str | None:
    """Configure matplotlib so CJK text renders; return the CJK font's family name.

    Latin text keeps DejaVu Sans; glyphs it lacks fall back to the CJK font (matplotlib's
    per-glyph fallback). Without a CJK font: raise `UserError` if `required`, else print the
    install hint once on stderr (unless `quiet`) and return None.
    """
    global _configured
    font = find_cjk_font()
    if font is None:
        if required:
            raise UserError(INSTALL_HINT)
        if not quiet and _configured != "":
            print(f"warning: {INSTALL_HINT}", file=sys.stderr)
        _configured = ""
        return None
    import matplotlib as mpl

    # a list of families (not the generic "sans-serif") turns on per-glyph fallback
    mpl.rcParams["font.family"] = ["DejaVu Sans", font.name]
    rest = [f for f in mpl.rcParams["font.sans-serif"] if f not in ("DejaVu Sans", font.name)]
    mpl.rcParams["font.sans-serif"] = ["DejaVu Sans", font.name, *rest]
    mpl.rcParams["axes.unicode_minus"] = True
    mpl.rcParams["pdf.fonttype"] = 42 if font.path.lower().endswith(".ttf") else 3
    _configured = font.name
    return font.name


def require_cjk_font() -> CJKFont:
    """The CJK font, configured for matplotlib; `UserError` with the install hint if none."""
    use_cjk_font(required=True)
    return find_cjk_font()


def font_face_css(text: str, family: str = "CogovCJK", required: bool = True) -> str:
    """An `@font-face` rule embedding the CJK font subset to the CJK characters of `text`
    (WOFF, base64): a page that uses it shows Chinese without any font installed. Empty when
    `text` has no CJK character. Without a CJK font: `UserError` (install hint) if `required`,
    else a warning on stderr and an empty rule (the reader's own fonts must do)."""
    chars = "".join(sorted({c for c in text if has_cjk(c)}))
    if not chars:
        return ""
    if not required and find_cjk_font() is None:
        use_cjk_font(required=False)  # prints the install hint once
        return ""
    font = require_cjk_font()
    data = _subset_woff(font.path, font.index, chars)
    b64 = base64.b64encode(data).decode("ascii")
    # Listed first in the page's font-family and limited to CJK code points by unicode-range:
    # Chromium otherwise lays the first headings out in the Latin font before this one is
    # decoded and keeps the empty boxes (tests/test_report_brief.py checks the laid-out page).
    return (f"@font-face {{ font-family: '{family}'; font-style: normal; font-weight: 400; "
            f"unicode-range: {CJK_UNICODE_RANGE}; "
            f"src: url(data:font/woff;base64,{b64}) format('woff'); }}")


@functools.lru_cache(maxsize=8)
def _subset_woff(path: str, index: int, chars: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    opts = subset.Options()
    opts.flavor = "woff"
    opts.layout_features = ["*"]
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    buf = io.BytesIO()
    with TTFont(path, fontNumber=index) as font:
        sub = subset.Subsetter(opts)
        sub.populate(text=chars)
        sub.subset(font)
        font.flavor = "woff"
        font.save(buf)
    return buf.getvalue()
