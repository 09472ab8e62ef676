"""IANA time zones: validation and reading local wall-clock times."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import lru_cache


@lru_cache(maxsize=1)
def available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_valid(name: str) -> bool:
    return name in available()


@lru_cache(maxsize=512)
def get(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def localize(value: datetime, tz_name: str) -> datetime:
    """A naive wall-clock time read in `tz_name`; aware values pass through.

    zoneinfo with fold=0 gives RFC 5545 §3.3.5's answers: a time in a spring-forward gap keeps the
    offset from before the gap (so it lands as far after the gap as it was into it), and a time that
    occurs twice is the first of the two.
    """
    if value.tzinfo is not None:
        return value
    return value.replace(tzinfo=get(tz_name), fold=0)
