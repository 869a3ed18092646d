"""argparse types for flags: each bad value exits 2 naming the flag, what is allowed and why."""

from __future__ import annotations

import argparse
import math


def _int(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def number_or_nan(text: str) -> float:
    """The number `text` says, or NaN when it is not one (each flag's own range check then
    refuses it with its own message)."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def seed_arg(text: str) -> int:
    """A seed: a whole number >= 0 (numpy's SeedSequence takes no negative numbers)."""
    v = _int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0 (random seeds cannot be "
                                         f"negative), got {v}")
    return v


def positive_int(text: str) -> int:
    v = _int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def port_arg(text: str) -> int:
    v = _int(text)
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1-65535 (or 0 for any free port), "
                                         f"got {v}")
    return v


def positive_fraction(text: str) -> float:
    """A finite number > 0 (a relative tolerance)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0 (e.g. 0.25 for 25%), "
                                         f"got {text}")
    return v
