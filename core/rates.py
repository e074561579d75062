"""A signing rate as operators (SIGNATURE_RATE_*) and organisers (the
admin's signing settings) write it: "10/m" is ten in a minute, "100/5m" a
hundred in five minutes. One reading for the settings' check at start, the
admin's validation and the rate limits themselves."""

from __future__ import annotations

import re

RATE = re.compile(r"([0-9]+)/([1-9][0-9]*)?([smhd])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_window(rate: str) -> tuple[int, int]:
    """How many signatures, in how many seconds: "10/m" → (10, 60).
    ValueError for anything else."""
    match = RATE.fullmatch(rate)
    if match is None:
        raise ValueError(f'a rate reads like "10/m" or "60/h", not {rate!r}')
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * UNIT_SECONDS[unit]


def rate_valid(rate: str) -> bool:
    return RATE.fullmatch(rate) is not None
