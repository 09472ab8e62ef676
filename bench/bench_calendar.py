"""Calendar benchmarks: one calendar of 10,000 events of which 1,000 recur.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/calendar_bench .venv/bin/python bench/bench_calendar.py

It migrates the database DATABASE_URL names (SQLite without it) and ADDS data to it: use a scratch
database. Requests go through the whole stack in process (URL routing, JWT auth, views, serializers,
the database), not over a socket; answers are never served from the response cache (before each timed
read, untimed, the caller's cached answers are made stale, as a change of their events makes them). For
each call it reports the median and p95 time of --repeat runs and the SQL queries of one run, and prints
a Markdown table (the figures in
docs/PERFORMANCE.md).

The calendar: one user holds a role on every event (80% owned, 20% shared with them by a colleague).
9,000 one-off events over 2030 and 2031 (5% all-day); 1,000 series begun in 2029 (weekly on one day,
weekly on MO/WE/FR for 150 times, every weekday until the end of 2030, monthly on the first Tuesday,
every other Thursday, yearly), a tenth of them with cancelled and moved occurrences. Times are local
working hours in UTC, London, Berlin and New York.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# The settings refuse PostgreSQL without SECRET_KEY; a benchmark's throwaway data needs no secret one.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
os.environ.setdefault("THROTTLE_USER", "1000000/min")  # the rate limits are not what is measured here

ZONES = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York"]
RULES = [  # (share of the series, rule)
    (0.50, "FREQ=WEEKLY;BYDAY={day}"),
    (0.15, "FREQ=WEEKLY;COUNT=150;BYDAY=MO,WE,FR"),
    (0.10, "FREQ=DAILY;UNTIL=20301231T235959Z;BYDAY=MO,TU,WE,TH,FR"),
    (0.10, "FREQ=MONTHLY;BYDAY=1TU"),
    (0.10, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"),
    (0.05, "FREQ=YEARLY"),
]
DAYS = ["MO", "TU", "WE", "TH", "FR"]
YEAR = (datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))
WEEK = (datetime(2030, 3, 4, tzinfo=UTC), datetime(2030, 3, 11, tzinfo=UTC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="events on the calendar")
    parser.add_argument("--recurring", type=int, default=1_000, help="how many of them recur")
    parser.add_argument("--repeat", type=int, default=10, help="runs of each call")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.core.signals import request_started
    from django.db import connection, reset_queries

    request_started.disconnect(reset_queries)  # keep the query log across a request, to count its queries
    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    user = build_calendar(args.events, args.recurring, args.seed)
    print(f"built the calendar in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    rows = run(user, args.repeat)
    print(f"\nDatabase: {connection.vendor}; {args.events:,} events of which {args.recurring:,} recur; ", end="")
    print(f"{args.repeat} runs each.\n")
    print("| call | median ms | p95 ms | queries | answer |")
    print("|---|---:|---:|---:|---|")
    for name, median, p95, queries, answer in rows:
        print(f"| {name} | {median:.1f} | {p95:.1f} | {queries} | {answer} |")


def build_calendar(events: int, recurring: int, seed: int):
    """The calendar, inserted in bulk: events with their derived series bounds, permissions, first versions."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from simple_history.utils import bulk_create_with_history

    from events.models import Event
    from events.occurrences import series_end_of, series_start_of
    from history.models import Action
    from recurrence import overrides as series_overrides
    from recurrence import rules as recurrence_rules
    from sharing.models import EventPermission
    from sharing.roles import Role

    rng = random.Random(seed)
    stamp = int(time.time())
    User = get_user_model()
    user = User.objects.create_user(username=f"cal-{stamp}", email=f"cal-{stamp}@example.com")
    colleague = User.objects.create_user(username=f"colleague-{stamp}", email=f"colleague-{stamp}@example.com")
    rules = [rule for share, rule in RULES for _ in range(round(share * 100))]
    made = []
    for n in range(events):
        owner = user if rng.random() < 0.8 else colleague
        zone = rng.choice(ZONES)
        length = timedelta(minutes=rng.choice([30, 45, 60, 90]))
        series = n < recurring
        first_day = datetime(2029, 1, 1) if series else datetime(2030, 1, 1)
        span = 365 if series else 730
        local = first_day + timedelta(days=rng.randrange(span), hours=rng.randrange(8, 18), minutes=rng.choice([0, 30]))
        start = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        all_day = not series and rng.random() < 0.05
        if all_day:
            start = datetime(local.year, local.month, local.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)
            length = timedelta(days=1)
        event = Event(
            title=f"{'Series' if series else 'Event'} {n}",
            location=rng.choice(["", "Room 1", "Room 2", "Online"]),
            start_time=start,
            end_time=start + length,
            timezone=zone,
            is_all_day=all_day,
            owner=owner,
        )
        if series:
            rule = rng.choice(rules).format(day=rng.choice(DAYS))
            pattern = recurrence_rules.parse_pattern(rule, start=event.start_time, end=event.end_time, tz=zone)
            event.recurrence, event.is_recurring = pattern.to_json(), True
            if n % 10 == 0:
                event.exceptions = _some_exceptions(event, rng, series_overrides, recurrence_rules)
        event.series_end, event.series_start = series_end_of(event), series_start_of(event)
        made.append(event)

    now = datetime.now(UTC)
    with transaction.atomic():
        created = bulk_create_with_history(
            made,
            Event,
            batch_size=1000,
            default_user=user,
            default_date=now,
            custom_historical_attrs={"history_action": Action.CREATED},
        )
        permissions = []
        for event in created:
            permissions.append(EventPermission(event=event, user_id=event.owner_id, role=Role.OWNER, granted_at=now))
            if event.owner_id != user.pk:
                role = rng.choice([Role.VIEWER, Role.EDITOR])
                permissions.append(
                    EventPermission(event=event, user=user, role=role, granted_by=colleague, granted_at=now)
                )
        bulk_create_with_history(permissions, EventPermission, batch_size=2000, default_user=user, default_date=now)
    return user


def _some_exceptions(event, rng, series_overrides, recurrence_rules) -> dict:
    """Two cancelled occurrences and one moved by a day, among the series' first 2030 occurrences."""
    found, _ = recurrence_rules.occurrences(
        start=event.start_time,
        end=event.end_time,
        tz=event.timezone,
        pattern=recurrence_rules.Pattern.from_json(event.recurrence),
        window_start=YEAR[0],
        window_end=YEAR[1],
        limit=40,
    )
    if len(found) < 3:
        return {}
    picked = rng.sample(found, 3)
    exceptions = {o.start: series_overrides.SeriesException(o.start, cancelled=True) for o in picked[:2]}
    moved = picked[2]
    exceptions[moved.start] = series_overrides.SeriesException(
        moved.start, start=moved.start + timedelta(days=1), end=moved.end + timedelta(days=1)
    )
    return series_overrides.dump(exceptions)


def run(user, repeat: int) -> list[tuple]:
    from events.cache import invalidate_users
    from events.models import Event
    from recurrence import rules as recurrence_rules
    from scheduling import conflicts, intervals

    client = client_for(user)
    rows = []
    year = {"start": YEAR[0].isoformat(), "end": YEAR[1].isoformat()}
    week = {"start": WEEK[0].isoformat(), "end": WEEK[1].isoformat()}
    month = {"start": WEEK[0].isoformat(), "end": (WEEK[0] + timedelta(days=31)).isoformat()}

    def read(name, path, params, describe):
        def stale() -> None:  # as after a change of the caller's events: the read below is a cache miss
            invalidate_users([user.pk])

        rows.append((name, *measure(lambda n: client.get(path, params), repeat, 200, describe, before=stale)))

    read(
        "a year of occurrences, expand=true, first page (100)",
        "/api/events",
        {**year, "expand": "true", "page_size": 100},
        lambda body: f"{body['count']:,} occurrences (cap), truncated={body['truncated']}",
    )
    read(
        "a year of occurrences, expand=true, page 25 (the last)",
        "/api/events",
        {**year, "expand": "true", "page_size": 100, "page": 25},
        lambda body: f"{len(body['results'])} occurrences",
    )
    read(
        "a week of occurrences, expand=true (page of 100)",
        "/api/events",
        {**week, "expand": "true", "page_size": 100},
        lambda body: f"{body['count']:,} occurrences, truncated={body['truncated']}",
    )
    read(
        "free/busy over a month",
        "/api/freebusy",
        month,
        lambda body: f"{len(body['results']):,} busy intervals, truncated={body['truncated']}",
    )
    read(
        "free/busy over a year (every occurrence read)",
        "/api/freebusy",
        year,
        lambda body: f"{len(body['results']):,} busy intervals, truncated={body['truncated']}",
    )
    read(
        "overlapping pairs over a year, first page",
        "/api/events/conflicts",
        year,
        lambda body: f"{body['count']:,} pairs, truncated={body['truncated']}",
    )
    read(
        "events with an occurrence in a week (window filter)",
        "/api/events",
        week,
        lambda body: f"{body['count']:,} events",
    )
    read(
        "events with an occurrence in a year (window filter)",
        "/api/events",
        year,
        lambda body: f"{body['count']:,} events",
    )

    series = _series_body(hour=10)  # Mondays 10:00 Berlin: where the calendar is busy
    free_series = _series_body(hour=4)  # Mondays 04:00 Berlin: nobody works then

    def check(body):
        zone = ZoneInfo(body["timezone"])
        start = datetime.fromisoformat(body["start_time"]).replace(tzinfo=zone)
        end = datetime.fromisoformat(body["end_time"]).replace(tzinfo=zone)
        pattern = recurrence_rules.parse_pattern(body["recurrence_pattern"], start=start, end=end, tz=body["timezone"])
        event = Event(
            title="New", start_time=start, end_time=end, timezone=body["timezone"], recurrence=pattern.to_json()
        )
        return lambda n: conflicts.event_conflicts(user=user, event=event)

    def check_expanding_everything(body):
        """The check without its filters: every candidate of the span expanded (how it worked before)."""
        zone = ZoneInfo(body["timezone"])
        start = datetime.fromisoformat(body["start_time"]).replace(tzinfo=zone)
        end = datetime.fromisoformat(body["end_time"]).replace(tzinfo=zone)
        pattern = recurrence_rules.parse_pattern(body["recurrence_pattern"], start=start, end=end, tz=body["timezone"])
        found = conflicts.candidate_occurrences(
            start=start, end=end, tz=body["timezone"], pattern=pattern, is_all_day=False
        )
        span = intervals.span(found)
        return lambda n: conflicts.find_conflicts(found, conflicts.calendar_busy(user=user, start=span[0], end=span[1]))

    rows.append(
        (
            "conflict check of a new weekly series (the check alone), busy hour",
            *measure(check(series), repeat, None, lambda found: f"{len(found)} conflicts (50 reported at most)"),
        )
    )
    rows.append(
        (
            "the same check expanding every candidate, as before the filters (reference)",
            *measure(check_expanding_everything(series), repeat, None, lambda found: f"{len(found)} conflicts"),
        )
    )
    rows.append(
        (
            "conflict check of a new weekly series (the check alone), free hour",
            *measure(check(free_series), repeat, None, lambda found: f"{len(found)} conflicts"),
        )
    )
    rows.append(
        (
            "POST a weekly series that conflicts: 409 with conflicts and next free slots",
            *measure(
                lambda n: client.post("/api/events", series, format="json"),
                repeat,
                409,
                lambda body: f"{len(body['conflicts'])} conflicts, {len(body['next_free_slots'])} free slots",
            ),
        )
    )

    def create_free(n):
        response = client.post("/api/events", free_series, format="json")
        Event.objects.filter(pk=response.json()["id"]).update(deleted_at=datetime.now(UTC))  # next run: free again
        return response

    rows.append(
        (
            "POST a weekly series in a free hour: checked and created (201)",
            *measure(create_free, repeat, 201, lambda body: f"version {body['version']}"),
        )
    )

    def batch(n):
        items = _batch_items(500, year=2042 + n)  # a year of its own for each run: nothing in the way
        return client.post("/api/events/batch", {"events": items}, format="json")

    rows.append(
        (
            "POST a batch of 500 events (validated, checked, inserted with their versions)",
            *measure(batch, repeat, 201, lambda body: f"{len(body['results'])} created"),
        )
    )
    return rows


def _series_body(*, hour: int) -> dict:
    return {
        "title": "New weekly",
        "start_time": f"2030-03-04T{hour:02d}:00:00",
        "end_time": f"2030-03-04T{hour + 1:02d}:00:00",
        "timezone": "Europe/Berlin",
        "recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO",
    }


def _batch_items(count: int, *, year: int) -> list[dict]:
    """`count` events that overlap nothing, at night (UTC) in a year of their own: one-off events seven a
    night from 00:00 every 45 minutes, and every tenth item a series of two 50 nights apart at 05:15."""
    first = datetime(year, 1, 3, tzinfo=UTC)
    items = []
    for n in range(count):
        item = {"title": f"Imported {n}", "timezone": "UTC"}
        if n % 10 == 0:
            start = first + timedelta(days=n // 10, minutes=315)
            item["recurrence_pattern"] = "FREQ=DAILY;INTERVAL=50;COUNT=2"
        else:
            start = first + timedelta(days=n // 7, minutes=45 * (n % 7))
        item["start_time"] = start.isoformat()
        item["end_time"] = (start + timedelta(minutes=45)).isoformat()
        items.append(item)
    return items


def measure(call, repeat: int, status: int | None, describe, before=None) -> tuple[float, float, int, str]:
    """Median and p95 milliseconds of `repeat` runs of call(n), the queries of one run, and what it answered;
    `before()`, when given, runs untimed before each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    before = before or (lambda: None)
    call(-1)  # warm up: imports, caches of parsed rules, prepared plans
    before()
    with CaptureQueriesContext(connection) as queries:
        result = call(-2)
    count = len(queries)  # now: opening a connection for the next request clears the log
    if status is not None:
        assert result.status_code == status, (result.status_code, result.content[:500])
        answer = describe(result.json())
    else:
        answer = describe(result)
    times = []
    for n in range(repeat):
        before()
        started = time.perf_counter()
        call(n)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], count, answer


def client_for(user):
    from rest_framework.test import APIClient

    from accounts.tokens import tokens_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
    return client


if __name__ == "__main__":
    main()
