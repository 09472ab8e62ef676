"""An instant in an answer (created_at, updated_at) is what DRF's DateTimeField gives, with our settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from rest_framework.fields import DateTimeField

from common.representation import instant

INSTANTS = [
    datetime(2030, 1, 7, 9, 0, tzinfo=UTC),
    datetime(2030, 1, 7, 9, 0, 0, 123456, tzinfo=UTC),
    datetime(2030, 1, 7, 9, 0, 0, 1, tzinfo=UTC),
    datetime(2030, 7, 1, 23, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2030, 3, 31, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # in the spring-forward gap
    datetime(2030, 10, 27, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),  # the second of two
    datetime(2030, 1, 1, 0, 0, 0, 500, tzinfo=ZoneInfo("Asia/Kolkata")),
    datetime(1900, 1, 1, 0, 0, tzinfo=ZoneInfo("America/St_Johns")),
    datetime(2200, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
    datetime(2030, 1, 7, 9, 0, tzinfo=timezone(timedelta(seconds=1))),
]


@pytest.mark.parametrize("value", INSTANTS, ids=str)
def test_an_instant_is_what_drfs_datetime_field_answers(value):
    assert instant(value) == DateTimeField().to_representation(value)
    assert instant(value).endswith("Z")  # in UTC, our TIME_ZONE


@pytest.mark.parametrize("value", [None, "2030-01-07T09:00:00Z", datetime(2030, 1, 7, 9, 0, 0, 5)], ids=str)
def test_anything_but_an_aware_datetime_is_left_to_drfs_field(value):
    assert instant(value) == DateTimeField().to_representation(value)


def test_an_instant_follows_the_time_zone_setting(settings):
    settings.TIME_ZONE = "America/New_York"
    value = datetime(2030, 1, 7, 9, 0, 0, 250, tzinfo=UTC)
    assert instant(value) == DateTimeField().to_representation(value) == "2030-01-07T04:00:00.000250-05:00"
