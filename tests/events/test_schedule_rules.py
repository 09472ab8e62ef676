"""The schedule rules (events/schedule.py) read a write's times without any serializer: wall-clock times in
the zone, all-day events as whole days, the rule parsed once against the start the event will have."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.exceptions import ValidationError

from events import schedule


def test_a_new_all_day_event_covers_whole_local_days():
    changes, pattern = schedule.read(
        None,
        {
            "title": "Offsite",
            "start_time": datetime(2030, 3, 4, 15, 0),  # wall-clock, read in the zone
            "end_time": datetime(2030, 3, 5, 9, 0),
            "timezone": "Europe/Paris",
            "is_all_day": True,
            "recurrence": "FREQ=WEEKLY;COUNT=2",
        },
    )
    assert changes["start_time"] == datetime(2030, 3, 3, 23, 0, tzinfo=UTC)  # midnight in Paris
    assert changes["end_time"] == datetime(2030, 3, 5, 23, 0, tzinfo=UTC)  # the midnight after the last day
    assert pattern is not None and changes["recurrence"] == pattern.to_json()


def test_only_what_differs_from_the_event_is_a_change(event):
    changes, _ = schedule.read(event, {"title": event.title, "location": "Room 2"})
    assert changes == {"location": "Room 2"}


def test_an_end_before_the_start_and_a_disagreeing_is_recurring_are_refused(event):
    with pytest.raises(ValidationError) as refused:
        schedule.read(event, {"end_time": event.start_time})
    assert refused.value.detail == {"end_time": [schedule.END_BEFORE_START]}
    with pytest.raises(ValidationError) as refused:
        schedule.read(event, {}, is_recurring=True)
    assert list(refused.value.detail) == ["is_recurring"]
