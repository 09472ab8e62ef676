"""IANA time zones: validation, reading local wall-clock times, and the stored (UTC RFC 3339) form of an instant."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
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


def stored_form(instant: datetime) -> str:
    """The stored form of an instant (recurrence dates, occurrence overrides): UTC RFC 3339 with a Z."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def stored_instant(text: str) -> datetime:
    """An instant read back from its stored form, in UTC (a value without an offset is taken as UTC)."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
