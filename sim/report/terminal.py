"""Text for a terminal: display widths that count a Chinese character as two columns (wcwidth),
the terminal's width (`$COLUMNS`, at least 80), word wrapping and a table that fits.

`compare` prints its table through `fit_table`: when the natural table is wider than the
terminal it first folds the unit and the better-direction columns into the metric's label, then
names the scenarios by short letters (A, B, ...) with a legend line, then wraps the metric
labels, and last splits the scenario columns into several blocks, so no line is ever wider
than the terminal and no number is split.
"""

from __future__ import annotations

import os
import shutil

from wcwidth import wcswidth, wcwidth

MIN_WIDTH = 80


def terminal_width(default: int = 100) -> int:
    """`$COLUMNS` when set (at least 80), else the terminal's width (at least 80)."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return max(MIN_WIDTH, int(env))
    try:
        cols = shutil.get_terminal_size((default, 24)).columns
    except (OSError, ValueError):
        cols = default
    return max(MIN_WIDTH, cols)


def width(text: str) -> int:
    """Columns `text` takes on a terminal (CJK wide characters count 2)."""
    w = wcswidth(str(text))
    if w >= 0:
        return w
    return sum(max(0, wcwidth(ch)) for ch in str(text))


def ljust(text: str, w: int) -> str:
    return str(text) + " " * max(0, w - width(text))


def rjust(text: str, w: int) -> str:
    return " " * max(0, w - width(text)) + str(text)


def _hard_split(word: str, w: int) -> list[str]:
    out, cur = [], ""
    for ch in word:
        if width(cur + ch) > w:
            out.append(cur)
            cur = ""
        cur += ch
    return out + ([cur] if cur else [])


def wrap(text: str, w: int, indent: str = "", first: str = "") -> list[str]:
    """Greedy word wrap by display width; a word longer than the line (a path) is split."""
    lines: list[str] = []
    for para in str(text).split("\n"):
        cur = first if not lines else indent
        start = cur
        for word in para.split(" "):
            if not word:
                continue
            sep = "" if cur == start else " "
            if width(cur + sep + word) <= w:
                cur += sep + word
                continue
            if cur != start:
                lines.append(cur)
                cur = indent
            avail = w - width(cur)
            if width(word) > avail:
                parts = _hard_split(word, max(1, avail))
                lines += [cur + p for p in parts[:-1]]
                cur = indent + parts[-1] if lines else parts[-1]
                if width(cur) > w:   # pragma: no cover - indent wider than the line
                    cur = parts[-1]
            else:
                cur += word
        lines.append(cur.rstrip())
    return lines


def fill(text: str, w: int | None = None, indent: str = "") -> str:
    return "\n".join(wrap(text, w or terminal_width(), indent))


def fit_table(header: list[str], rows: list[list[str]], groups: list[tuple[str, int]] | None,
              right: set[int], total: int, keep: int = 1, indent: int = 2) -> list[str]:
    """Lines of a table no wider than `total` columns: `header`, `rows` (lists of cells),
    `groups` ((title, number of rows) in order, titles printed unindented), cells of columns in
    `right` right-aligned. The first `keep` columns repeat in every block when the table is
    split into blocks of columns."""
    ncol = len(header)
    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(ncol)]

    def natural(cols):
        return indent + sum(widths[i] for i in cols) + 2 * (len(cols) - 1)

    if natural(list(range(ncol))) > total and keep:
        # the label column gives first: wrapped to what is left, at least a third of the line
        other = natural(list(range(keep, ncol))) - indent + 2
        widths[0] = max(min(widths[0], total - other), min(widths[0], max(20, total // 3)))
    blocks: list[list[int]] = []
    rest = list(range(keep, ncol))
    while rest:
        cols = list(range(keep))
        while rest and (natural(cols + [rest[0]]) <= total or len(cols) == keep):
            cols.append(rest.pop(0))
        blocks.append(cols)
    out: list[str] = []
    for b, cols in enumerate(blocks):
        if b:
            out.append("")
        w = {i: widths[i] for i in cols}
        over = natural(cols) - total
        if over > 0:        # only the label column can give: wrap it
            w[0] = max(12, w[0] - over)

        def line(cells, w=w, cols=cols):
            parts = []
            wrapped = {i: wrap(cells[i], w[i]) if i == 0 else [cells[i]] for i in cols}
            height = max(len(v) for v in wrapped.values())
            lines = []
            for k in range(height):
                parts = []
                for i in cols:
                    x = wrapped[i][k] if k < len(wrapped[i]) else ""
                    parts.append(rjust(x, w[i]) if i in right else ljust(x, w[i]))
                lines.append((" " * indent + "  ".join(parts)).rstrip())
            return lines

        out += line(header)
        out.append(" " * indent + "  ".join("-" * w[i] for i in cols))
        k = 0
        for title, n in groups or [("", len(rows))]:
            if title and n:
                out += wrap(title, total)
            for r in rows[k:k + n]:
                out += line(r)
            k += n
    return out
