"""Dotted paths (`departments.police.staff`, `catalogue.x.handback`, `campaigns.0.name`) into
a raw scenario mapping: read one value, or set one creating the sections on the way. Shared by
`cogov recommend`'s search space and the dashboard's levers."""

from __future__ import annotations


def get_path(data, path: str, default=None):
    """The value at `path`, or `default` where the path does not exist."""
    node = data
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return default
    return node


def set_path(data: dict, path: str, value) -> None:
    """Set `path` in a raw scenario mapping, creating sections as needed."""
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            nxt = node.get(part)
            if not isinstance(nxt, (dict, list)):
                nxt = node[part] = {}
            node = nxt
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value
