"""Splitting a series at one of its occurrences ("this and following" edits, scope=following).

The old series keeps exactly its occurrences before the split point (rules.split adjusts its COUNT
or UNTIL); a new series starts at that occurrence and goes on as the old one would have, with the
client's changes applied. EXDATE and RDATE values and the exceptions go to the side they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rest_framework.exceptions import NotFound, ValidationError

from recurrence import overrides as series_overrides
from recurrence import rules

from . import content
from .models import Event
from .occurrences import pattern_of, rule_occurrence_at


@dataclass(frozen=True)
class Split:
    head: rules.Pattern  # the old series' pattern after the split
    head_exceptions: dict  # stored form
    tail: Event  # unsaved: the new series before the client's changes


def occurrence_at(event: Event, at: datetime) -> rules.Occurrence:
    """The occurrence of the series at instant `at` (exceptions not applied); NotFound if there is none."""
    occurrence = rule_occurrence_at(event, at) if event.recurrence else None
    if occurrence is None:
        raise NotFound("The series has no occurrence starting at that time.")
    return occurrence


def plan(event: Event, at: datetime) -> Split:
    """How `event` splits at its occurrence `at` (not its first). Raises NotFound when there is no such
    occurrence, ValidationError when the series cannot be split there (see rules.split)."""
    occurrence = occurrence_at(event, at)
    try:
        head, tail_pattern = rules.split(
            start=event.start_time,
            end=event.end_time,
            tz=event.timezone,
            pattern=pattern_of(event),
            is_all_day=event.is_all_day,
            at=occurrence.start,
        )
    except rules.RecurrenceError as exc:
        raise ValidationError({"occurrence": [str(exc)]}) from exc
    head_exceptions, tail_exceptions = series_overrides.partition(event.exceptions, occurrence.start)
    # What the new series takes of each content field: events/content.py (on_split).
    tail = Event(
        **{name: getattr(event, name) for name in content.KEPT_ON_SPLIT},
        start_time=occurrence.start,
        end_time=occurrence.end,
        recurrence=tail_pattern.to_json(),
        is_recurring=True,
        exceptions=tail_exceptions,
        owner_id=event.owner_id,
    )
    return Split(head=head, head_exceptions=head_exceptions, tail=tail)
