"""Durations as people type them on a command line (`90m`, `8h`, `2d`, `1d12h`), and back to text."""

import argparse
import re
from datetime import timedelta

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"(?:\d+[smhdw])+")


def duration_parse(text: str) -> timedelta:
    """`90m`, `8h`, `2d`, `1w`, `30s`, or several together (`1d12h`). Raises ValueError naming the text.

    Zero is refused: "release holds older than 0m" is everything, which `--all` says explicitly.
    """
    cleaned = (text or "").strip().lower()
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit, e.g. 90m, 8h, 2d or 1d12h"
            " (units: s, m, h, d, w)"
        )
    total = timedelta()
    for amount, unit in _PART.findall(cleaned):
        total += timedelta(**{UNITS[unit]: int(amount)})
    if total <= timedelta(0):
        raise ValueError(f"{text!r} is not a duration longer than zero")
    return total


def duration_argument(text: str) -> timedelta:
    """duration_parse for argparse's `type=`: a bad value becomes a usage error naming the option."""
    try:
        return duration_parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def duration_display(value: timedelta) -> str:
    """A duration the way duration_parse reads it, largest units first: 1d12h, 90m -> 1h30m, 45s."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
