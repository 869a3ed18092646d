"""Reading YAML written by people: one strict loader for every cogov input file.

`StrictLoader` is PyYAML's safe loader (libyaml's `CSafeLoader` where PyYAML has it; no code is
ever executed) that also refuses what the safe loader lets through silently or turns into a
crash:

- a key given twice in one mapping (PyYAML keeps the last one without a word);
- an impossible date such as `2024-02-30` (PyYAML raises a bare `ValueError`);
- nesting so deep that the parser would recurse past Python's limit (`RecursionError`);
- an alias bomb ("billion laughs": anchors that refer to anchors, a few lines standing for
  billions of values that every later walk over the data would expand): refused when the
  document, aliases expanded, would hold more than `MAX_NODES` values.

`regular_file` refuses a named pipe (FIFO), a device or a socket given as an input before
anything opens it (reading a FIFO waits for a writer for ever).

`load_text` and `read_file` turn every such problem, and every unreadable path (missing, a
folder, a symlink loop, no permission, not UTF-8), into a `UserError` that names the file, the
line and the fix, so the CLI exits 2 without a traceback.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import UserError

#: deepest flow nesting ([ and {) accepted: a real file nests about 6 deep; brackets inside
#: quoted text count too, so the bound is generous (deeper input would hit the recursion limit)
MAX_DEPTH = 500
#: most values a document may stand for once its aliases are expanded (the largest shipped
#: scenario holds about 20,000; a billion-laughs document, billions)
MAX_NODES = 5_000_000


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping names the same key twice."""


#: libyaml's safe loader where PyYAML was built with it (the same documents, about 10x faster:
#: a district's lists of grids are most of `cogov validate`'s time otherwise; libyaml also
#: stops at 1,000 levels of nesting by itself)
_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_BASE):
    """A safe loader that refuses duplicate keys and impossible dates with the line they are
    on (libyaml's `CSafeLoader` where available, else PyYAML's `SafeLoader`)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                try:
                    key = self.construct_object(key_node, deep=True)
                    hash(key)
                except TypeError:
                    continue  # unhashable keys are reported by SafeLoader itself
                if key in seen:
                    first = seen[key]
                    raise DuplicateKeyError(
                        None, None,
                        f"key {key!r} appears twice in one mapping (first at line "
                        f"{first.line + 1}): keep one of them", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a real date or time ({exc}): write it as "
                            f"YYYY-MM-DD with a day that exists in that month",
                node.start_mark) from None


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)
StrictLoader.add_constructor("tag:yaml.org,2002:map", StrictLoader.construct_yaml_map)


def _depth_ok(text: str) -> bool:
    """Cheap upper bound on flow nesting (`[`/`{`); block nesting is bounded by indentation."""
    depth = best = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > best:
                best = depth
        elif ch in "]}":
            depth -= 1
    return best <= MAX_DEPTH


def _expanded_size(data) -> int:
    """How many values `data` holds with every shared (aliased) part counted each time it is
    used: linear in the distinct objects (sizes are memoised by identity)."""
    sizes: dict = {}

    def size(x) -> int:
        if isinstance(x, dict):
            k = id(x)
            if k not in sizes:
                sizes[k] = 0      # a recursive alias counts once (PyYAML builds cycles)
                sizes[k] = 1 + sum(size(v) for v in x.values()) + len(x)
            return sizes[k]
        if isinstance(x, list):
            k = id(x)
            if k not in sizes:
                sizes[k] = 0
                sizes[k] = 1 + sum(size(v) for v in x)
            return sizes[k]
        return 1

    try:
        return size(data)
    except RecursionError:
        return MAX_NODES + 1


def regular_file(path: str | Path, what: str = "file", flag: str | None = None) -> Path:
    """`path` if it is a regular file (or does not exist: the caller says "not found");
    a FIFO, device or socket is a `UserError` (opening one could wait for ever)."""
    import stat

    p = Path(path)
    via = f" (given as {flag})" if flag else ""
    try:
        mode = p.stat().st_mode
    except OSError:
        return p
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket"
                if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode)
                or stat.S_ISBLK(mode) else "not a regular file")
        raise UserError([f"{p}: is {kind}, not a {what}{via}: cogov reads inputs from regular "
                         f"files only; save the data to a file and give that path"])
    return p


def load_text(text: str, source: str):
    """Parse YAML text strictly; any problem becomes a `UserError` naming `source`."""
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise UserError([f"{source}: line {line}: contains a NUL byte (a binary file, or text "
                         f"saved in UTF-16?): save it as UTF-8 text"])
    if not _depth_ok(text):
        raise UserError([f"{source}: nested more than {MAX_DEPTH} levels deep with [ or {{: "
                         f"not a cogov file (check for unbalanced brackets)"])
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 (StrictLoader is a SafeLoader)
        if "*" in text and _expanded_size(data) > MAX_NODES:
            raise UserError([f"{source}: its aliases (*name) expand to more than {MAX_NODES:,} "
                             f"values (an alias bomb?): write the values out, or use fewer "
                             f"nested anchors (&name)"])
        return data
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, DuplicateKeyError):
            raise UserError([f"{source}: line {mark.line + 1}: {problem}"]) from None
        raise UserError([f"{source}: not valid YAML{where}: {problem}"]) from None
    except RecursionError:
        raise UserError([f"{source}: nested too deeply to read: not a cogov file (check for "
                         f"unbalanced brackets)"]) from None
    except ValueError as exc:  # anything else PyYAML's constructors let escape
        raise UserError([f"{source}: a value cannot be read ({exc}): fix it"]) from None


def read_text(path: str | Path, what: str = "file", flag: str | None = None) -> str:
    """The UTF-8 text of `path`, or a `UserError` saying what is wrong with the path."""
    p = Path(path)
    via = f" (given as {flag})" if flag else ""
    if str(path) == "":
        raise UserError([f"{flag or what}: empty path: give a {what}"])
    try:
        regular_file(p, what, flag)
        if p.is_dir():
            raise UserError([f"{p}: is a folder, not a {what}{via}: give the path of the file"])
        if not p.exists():
            raise UserError([f"{p}: {what} not found{via}: check the path"])
        return p.read_text(encoding="utf-8-sig")
    except UserError:
        raise
    except UnicodeDecodeError as exc:
        raise UserError([f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start}){via}: save "
                         f"the {what} as UTF-8"]) from None
    except RuntimeError as exc:  # Path.resolve on a symlink loop (Python < 3.13)
        raise UserError([f"{p}: cannot follow the path ({exc}){via}: fix the symlink"]) from None
    except OSError as exc:
        why = exc.strerror or str(exc)
        hint = ("a symlink loop: point the link at a real file"
                if getattr(exc, "errno", None) == 40 else "check the path and its permissions")
        raise UserError([f"{p}: cannot read the {what} ({why}){via}: {hint}"]) from None


def read_file(path: str | Path, what: str = "file", flag: str | None = None):
    """Read and parse a YAML file strictly (see `load_text`)."""
    return load_text(read_text(path, what, flag), str(path))
