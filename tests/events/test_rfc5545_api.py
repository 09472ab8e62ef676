"""RFC 5545 recurrence through the API: the examples of RFC 5545 §3.8.5.3, DST in several zones, all-day
events across zones, and the rules the API refuses (400, nothing created).

Each event is created with POST /api/events (DTSTART as a local time in its zone) and read back with
GET /api/events/{id}/occurrences; instants are compared, not strings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from events.models import Event
from tests.helpers import create_series, database_state
from tests.rfc5545_examples import RFC_EXAMPLES

pytestmark = pytest.mark.django_db

NY = "America/New_York"
BERLIN = "Europe/Berlin"
SYDNEY = "Australia/Sydney"
TOKYO = "Asia/Tokyo"


def local(text: str, tz: str) -> datetime:
    """'1997-09-02 09:00' in `tz` as an aware datetime (the first of two, if ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def occurrences(client, event_id, **params) -> dict:
    response = client.get(f"/api/events/{event_id}/occurrences", params)
    assert response.status_code == 200, response.content
    return response.json()


def starts(body: dict) -> list[datetime]:
    return [datetime.fromisoformat(item["start_time"]) for item in body["results"]]


# --- RFC 5545 §3.8.5.3 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtstart", "rule", "expected", "finite"),
    [
        pytest.param(dtstart, rule, expected, finite, id=f"{name} [{i}]")
        for name, dtstart, rules, expected, finite in RFC_EXAMPLES
        for i, rule in enumerate(rules)
    ],
)
def test_rfc5545_examples_through_the_api(client, dtstart, rule, expected, finite):
    event = create_series(client, start=dtstart, tz=NY, rule=rule)

    body = occurrences(client, event["id"], limit=len(expected) if not finite else 2500)

    assert starts(body) == [local(text, NY) for text in expected]
    assert body["truncated"] is not finite  # an unbounded series always has more
    for item in body["results"]:
        assert datetime.fromisoformat(item["end_time"]) - datetime.fromisoformat(item["start_time"]) == timedelta(
            hours=1
        )
        assert item["original_start_time"] == item["start_time"]
        assert item["start_time"].endswith(("-04:00", "-05:00"))  # written in the event's own zone
    stored = Event.objects.get(pk=event["id"])
    assert stored.is_recurring and (stored.series_end is None) is not finite


def test_an_rfc_example_window_in_the_middle_of_an_old_series(client):
    # "Every other week forever" from 1997, read 28 years later: the rule is entered at the window.
    event = create_series(client, start="1997-09-02 09:00", tz=NY, rule="FREQ=WEEKLY;INTERVAL=2;WKST=SU")

    body = occurrences(client, event["id"], start="2025-03-01T00:00:00Z", end="2025-04-01T00:00:00Z")

    assert starts(body) == [local(f"2025-03-{day:02d} 09:00", NY) for day in (11, 25)]  # 1436 and 1438 weeks on
    assert body["truncated"] is False


# --- DST ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "summer", "winter"),
    [
        (NY, ("2026-03-09", 13), ("2026-11-02", 14)),  # EDT then EST
        (BERLIN, ("2026-03-30", 7), ("2026-10-26", 8)),  # CEST then CET
        (SYDNEY, ("2026-02-23", 22), ("2026-04-06", 23)),  # AEDT (southern summer) then AEST
    ],
)
def test_a_weekly_meeting_keeps_its_local_time_across_dst(client, tz, summer, winter):
    event = create_series(client, start="2026-02-23 09:00", tz=tz, rule="FREQ=WEEKLY;BYDAY=MO")

    body = occurrences(client, event["id"], start="2026-02-01T00:00:00Z", end="2027-01-01T00:00:00Z")

    found = starts(body)
    assert len(found) == 45  # every Monday from 23 February to 28 December 2026
    assert {moment.astimezone(ZoneInfo(tz)).strftime("%a %H:%M") for moment in found} == {"Mon 09:00"}
    by_day = {moment.astimezone(ZoneInfo(tz)).date().isoformat(): moment.astimezone(UTC) for moment in found}
    for day, utc_hour in (summer, winter):
        assert by_day[day].hour == utc_hour


@pytest.mark.parametrize(
    ("tz", "day_before", "gap_day", "moved_utc"),
    [
        (NY, "2026-03-07", "2026-03-08", "2026-03-08T07:30:00+00:00"),  # 02:30 does not exist → 03:30 EDT
        (BERLIN, "2026-03-28", "2026-03-29", "2026-03-29T01:30:00+00:00"),  # → 03:30 CEST
    ],
)
def test_a_wall_time_in_the_spring_gap_moves_forward_by_the_gap(client, tz, day_before, gap_day, moved_utc):
    event = create_series(client, start=f"{day_before} 02:30", tz=tz, rule="FREQ=DAILY;COUNT=3")

    found = starts(occurrences(client, event["id"]))

    assert [moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") for moment in found][1] == f"{gap_day} 03:30"
    assert found[1] == datetime.fromisoformat(moved_utc)
    assert found[2].astimezone(ZoneInfo(tz)).strftime("%H:%M") == "02:30"  # back the next day


@pytest.mark.parametrize(
    ("tz", "wall", "first_pass_utc"),
    [
        (NY, "2026-11-01 01:30", "2026-11-01T05:30:00+00:00"),  # 01:30 EDT, not 01:30 EST
        (BERLIN, "2026-10-25 02:30", "2026-10-25T00:30:00+00:00"),  # 02:30 CEST, not 02:30 CET
    ],
)
def test_a_wall_time_that_occurs_twice_is_the_first(client, tz, wall, first_pass_utc):
    event = create_series(client, start=wall, tz=tz, rule="FREQ=DAILY;COUNT=2")

    found = starts(occurrences(client, event["id"]))

    assert found[0] == datetime.fromisoformat(first_pass_utc)
    assert found[1].astimezone(ZoneInfo(tz)).strftime("%H:%M") == wall[-5:]
    assert found[1] - found[0] == timedelta(hours=25)  # the day after is a standard-time day


def test_an_offset_in_the_input_keeps_its_instant_and_the_rule_its_wall_time(client):
    # 14:00Z on 2 March is 09:00 EST: the series then stays at 09:00 New York time.
    response = client.post(
        "/api/events",
        {
            "title": "Sync",
            "start_time": "2026-03-02T14:00:00Z",
            "end_time": "2026-03-02T15:00:00Z",
            "timezone": NY,
            "recurrence_pattern": "FREQ=WEEKLY;COUNT=3",
        },
        format="json",
    )
    assert response.status_code == 201, response.content

    found = starts(occurrences(client, response.json()["id"]))

    assert [moment.astimezone(UTC).hour for moment in found] == [14, 13, 13]  # DST starts on 8 March


# --- all-day events ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tz", [TOKYO, NY, "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_all_day_occurrences_are_whole_local_days_in_any_zone(client, tz):
    event = create_series(client, start="2026-03-06 00:00", tz=tz, rule="FREQ=DAILY;COUNT=4", hours=24, is_all_day=True)

    body = occurrences(client, event["id"])

    zone = ZoneInfo(tz)
    days = [(datetime.fromisoformat(i["start_time"]), datetime.fromisoformat(i["end_time"])) for i in body["results"]]
    assert [start.astimezone(zone).strftime("%Y-%m-%d %H:%M") for start, _ in days] == [
        f"2026-03-{day:02d} 00:00" for day in (6, 7, 8, 9)
    ]
    assert all(end.astimezone(zone).strftime("%H:%M") == "00:00" for _, end in days)
    assert all(item["is_all_day"] for item in body["results"])


def test_an_all_day_series_has_a_23_hour_day_at_the_spring_change(client):
    event = create_series(client, start="2026-03-07 00:00", tz=NY, rule="FREQ=DAILY;COUNT=3", hours=24, is_all_day=True)

    body = occurrences(client, event["id"])

    lengths = [datetime.fromisoformat(i["end_time"]) - datetime.fromisoformat(i["start_time"]) for i in body["results"]]
    assert lengths == [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24)]


def test_an_all_day_event_sent_with_another_zones_times_covers_the_local_days(client):
    # 2026-03-06T20:00-05:00 is already the 7th in Tokyo: the event is Tokyo's 7th, midnight to midnight.
    response = client.post(
        "/api/events",
        {
            "title": "Holiday",
            "start_time": "2026-03-06T20:00:00-05:00",
            "end_time": "2026-03-06T21:00:00-05:00",
            "timezone": TOKYO,
            "is_all_day": True,
            "recurrence_pattern": "FREQ=YEARLY;COUNT=2",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["start_time"], body["end_time"]) == ("2026-03-07T00:00:00+09:00", "2026-03-08T00:00:00+09:00")

    found = starts(occurrences(client, body["id"]))

    assert found == [local("2026-03-07 00:00", TOKYO), local("2027-03-07 00:00", TOKYO)]


def test_an_all_day_series_is_in_a_window_that_touches_its_local_day_only(client):
    event = create_series(client, start="2026-03-07 00:00", tz=TOKYO, rule="FREQ=WEEKLY", hours=24, is_all_day=True)

    # Saturday 7 March in Tokyo is 6 March 15:00Z to 7 March 15:00Z.
    inside = client.get("/api/events", {"start": "2026-03-07T14:00:00Z", "end": "2026-03-07T14:30:00Z"})
    outside = client.get("/api/events", {"start": "2026-03-07T15:00:00Z", "end": "2026-03-08T12:00:00Z"})

    assert [item["id"] for item in inside.json()["results"]] == [event["id"]]
    assert outside.json()["results"] == []


# --- refused rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=FORTNIGHTLY", "invalid FREQ"),
        ("FREQ=WEEKLY;FOO=1", "unknown part FOO"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20300101T000000Z", "COUNT and UNTIL cannot be used together"),
        ("FREQ=MONTHLY;BYWEEKNO=3", "BYWEEKNO can only be used with FREQ=YEARLY"),
        ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY with a number"),
        ("FREQ=DAILY;BYMONTHDAY=32", "invalid BYMONTHDAY"),
        ("FREQ=WEEKLY;UNTIL=20200101T000000Z", "UNTIL is before the start"),
        ("COUNT=3", "FREQ is required"),
        ({"rrule": "FREQ=DAILY", "exdates": "2030-01-07T09:00:00Z"}, "must be a list"),
        (42, "Expected an RRULE string"),
    ],
    ids=[
        "freq",
        "unknown-part",
        "count-and-until",
        "byweekno",
        "byday-number",
        "monthday",
        "until",
        "no-freq",
        "exdates-type",
        "type",
    ],
)
def test_an_invalid_rule_is_a_400_saying_what_is_wrong(client, rule, message):
    response = client.post(
        "/api/events",
        {
            "title": "Bad",
            "start_time": "2030-01-07T09:00:00Z",
            "end_time": "2030-01-07T10:00:00Z",
            "recurrence_pattern": rule,
        },
        format="json",
    )

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]["recurrence_pattern"]
    assert message in " ".join(errors)
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MINUTELY",  # every minute
        "FREQ=MINUTELY;INTERVAL=4",
        "FREQ=SECONDLY;INTERVAL=600",  # refused as SECONDLY, whatever the interval
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=0,1",  # two a minute apart each day
        "FREQ=HOURLY;BYMINUTE=0,2,30",
    ],
)
def test_a_rule_denser_than_5_minutes_is_a_400(client, rule):
    response = client.post(
        "/api/events",
        {
            "title": "Dense",
            "start_time": "2030-01-07T09:00:00Z",
            "end_time": "2030-01-07T09:01:00Z",
            "recurrence_pattern": rule,
        },
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "too dense" in " ".join(response.json()["errors"]["recurrence_pattern"])
    assert "5 minutes" in " ".join(response.json()["errors"]["recurrence_pattern"])
    assert Event.objects.count() == 0


def test_every_5_minutes_is_the_densest_rule_accepted(client):
    event = create_series(
        client, start="2030-01-07 09:00", tz="UTC", rule="FREQ=MINUTELY;INTERVAL=5;COUNT=3", hours=1 / 60
    )

    assert [moment.minute for moment in starts(occurrences(client, event["id"]))] == [0, 5, 10]


@pytest.mark.parametrize(
    "pattern",
    [
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",  # 30 February
        "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4,6,9,11",  # the 31st of a 30-day month
        {"rrule": "FREQ=DAILY;COUNT=2", "exdates": ["2030-01-07T09:00:00Z", "2030-01-08T09:00:00Z"]},
    ],
    ids=["february-30", "april-31", "all-excluded"],
)
def test_a_rule_with_no_occurrence_is_a_400(client, pattern):
    response = client.post(
        "/api/events",
        {
            "title": "Never",
            "start_time": "2030-01-07T09:00:00Z",
            "end_time": "2030-01-07T10:00:00Z",
            "recurrence_pattern": pattern,
        },
        format="json",
    )

    assert response.status_code == 400, response.content
    assert "recurrence_pattern" in response.json()["errors"]
    assert Event.objects.count() == 0


def test_an_invalid_rule_on_update_is_a_400_and_changes_nothing(client):
    event = create_series(client, start="2030-01-07 09:00", tz="UTC", rule="FREQ=WEEKLY")
    before = database_state()

    response = client.patch(f"/api/events/{event['id']}", {"recurrence_pattern": "FREQ=MINUTELY"}, format="json")

    assert response.status_code == 400
    assert database_state() == before
    assert Event.history.filter(id=event["id"]).count() == 1


def test_an_unbounded_series_is_fine_and_says_more_exist(client):
    event = create_series(client, start="2030-01-07 09:00", tz=BERLIN, rule="FREQ=DAILY")

    body = occurrences(client, event["id"], limit=3)

    assert len(body["results"]) == 3
    assert body["truncated"] is True
    assert Event.objects.get(pk=event["id"]).series_end is None
