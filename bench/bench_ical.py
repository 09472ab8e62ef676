"""iCalendar benchmarks: the .ics of one event, a subscription feed of 1,000 events (built, cached, 304) and
an import of 1,000 events of which 100 are recurring series.

    .venv/bin/python bench/bench_ical.py                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/calendar_bench .venv/bin/python bench/bench_ical.py

It migrates the database DATABASE_URL names (SQLite without it) and ADDS data to it: use a scratch database.
Requests go through the whole stack in process (routing, auth, views, the database), not over a socket. For
each call: the median and p95 of --repeat runs and the SQL queries of one run, as a Markdown table (the
figures in docs/PERFORMANCE.md). Targets (issue 14): feed < 300 ms, its 304 < 10 ms, the import < 5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
os.environ.setdefault("THROTTLE_USER", "1000000/min")  # the rate limits are not what is measured here
os.environ.setdefault("THROTTLE_FEED", "1000000/min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000, help="events in the feed and in the import")
    parser.add_argument("--series", type=int, default=100, help="of which recurring series")
    parser.add_argument("--repeat", type=int, default=20, help="runs of each read")
    parser.add_argument("--import-repeat", type=int, default=3, help="runs of the import (a new user each)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    rows = bench_reads(args.events, args.series, args.repeat)
    rows.append(bench_import(args.events, args.series, args.import_repeat))
    print(f"\nDatabase: {connection.vendor}; reads {args.repeat} runs each, the import {args.import_repeat}.\n")
    print("| call | data | median ms | p95 ms | queries |")
    print("|---|---|---:|---:|---:|")
    for name, data, median, p95, queries in rows:
        print(f"| {name} | {data} | {median:.1f} | {p95:.1f} | {queries} |")


def _timed(run, repeat: int) -> tuple[float, float, int]:
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], len(queries)


def _user(prefix: str):
    from django.contrib.auth import get_user_model

    stamp = f"{prefix}-{time.time_ns()}"
    return get_user_model().objects.create_user(username=stamp, email=f"{stamp}@example.com")


def _calendar_text(events: int, series: int, uid_prefix: str) -> bytes:
    """An iCalendar file like a real export: timed and all-day events, series with EXDATEs and an override."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
    start = datetime(2030, 1, 7, 8, tzinfo=UTC)
    for n in range(events):
        begins = start + timedelta(hours=3 * n)
        uid = f"{uid_prefix}-{n}@bench.example.com"
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20291201T000000Z", f"SUMMARY:Event {n}"]
        lines += [
            f"DTSTART;TZID=Europe/Berlin:{begins.astimezone(_berlin()):%Y%m%dT%H%M%S}",
            f"DTEND;TZID=Europe/Berlin:{(begins + timedelta(hours=1)).astimezone(_berlin()):%Y%m%dT%H%M%S}",
            "DESCRIPTION:Agenda\\, notes and a link: https://example.com/meeting",
            "ATTENDEE;CN=Ann;PARTSTAT=ACCEPTED:mailto:ann@example.com",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER:-PT10M",
            "DESCRIPTION:Reminder",
            "END:VALARM",
        ]
        if n < series:
            lines += ["RRULE:FREQ=WEEKLY;COUNT=52"]
        lines.append("END:VEVENT")
        if n < series:
            moved = begins + timedelta(weeks=2)
            lines += [
                "BEGIN:VEVENT",
                f"UID:{uid}",
                "DTSTAMP:20291201T000000Z",
                f"RECURRENCE-ID:{moved:%Y%m%dT%H%M%SZ}",
                f"DTSTART:{moved + timedelta(minutes=30):%Y%m%dT%H%M%SZ}",
                f"DTEND:{moved + timedelta(minutes=90):%Y%m%dT%H%M%SZ}",
                f"SUMMARY:Event {n} (moved)",
                "END:VEVENT",
            ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def _berlin():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")


def _client(user=None):
    from rest_framework.test import APIClient

    from accounts.tokens import tokens_for

    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
    return client


def bench_reads(events: int, series: int, repeat: int) -> list[tuple]:
    from django.core.cache import cache

    from ical import services as ical_services

    owner = _user("ical-reads")
    client = _client(owner)
    response = client.post(
        "/api/events/import?conflict_strategy=allow",
        data=_calendar_text(events, series, f"r{time.time_ns()}"),
        content_type="text/calendar",
    )
    assert response.status_code == 200, response.content[:500]
    series_id = response.json()["created"][0]
    _feed, secret = ical_services.feed_create(owner=owner, name="Bench")
    path = f"/api/feed/{secret}.ics"
    anonymous = _client()
    rows = []

    def one_event():
        assert client.get(f"/api/events/{series_id}/ics").status_code == 200

    rows.append(
        ("GET /api/events/{id}/ics", "a weekly series, an override, an alarm, an attendee", *_timed(one_event, repeat))
    )

    def feed_cold():
        # Every cached body and VEVENT gone (a restart, a cache flush); the process keeps its VTIMEZONEs.
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern("*ical:feed:*")
            cache.delete_pattern("*ical:vevent:*")
        else:
            cache.clear()
        assert anonymous.get(path).status_code == 200

    rows.append(
        (
            "GET feed URL, built",
            f"{events} events ({series} series), bodies and VEVENTs not cached",
            *_timed(feed_cold, repeat),
        )
    )

    from events import services as event_services
    from events.models import Event

    changing = Event.objects.get(pk=series_id)
    counter = iter(range(1_000_000))

    def feed_one_changed():
        nonlocal changing
        changing = event_services.event_update(
            event=changing, actor=owner, changes={"title": f"Changed {next(counter)}"}, conflict_strategy="allow"
        ).event
        assert anonymous.get(path).status_code == 200

    rows.append(
        (
            "GET feed URL after one event changed",
            f"{events} events: one re-rendered (its update is inside the time)",
            *_timed(feed_one_changed, repeat),
        )
    )

    def feed_warm():
        assert anonymous.get(path).status_code == 200

    rows.append(
        ("GET feed URL, cached body", f"{events} events, unchanged since the last poll", *_timed(feed_warm, repeat))
    )
    tag = anonymous.get(path)["ETag"]

    def feed_304():
        assert anonymous.get(path, HTTP_IF_NONE_MATCH=tag).status_code == 304

    rows.append(("GET feed URL, If-None-Match", "the same feed: 304", *_timed(feed_304, repeat)))
    return rows


def bench_import(events: int, series: int, repeat: int) -> tuple:
    data = _calendar_text(events, series, "import")
    times, queries = [], 0
    from django.db import connection

    counted: list[str] = []

    def count(execute, sql, params, many, context):
        counted.append(sql)
        return execute(sql, params, many, context)

    for run in range(repeat + 1):
        client = _client(_user("ical-import"))
        counted.clear()
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = client.post("/api/events/import", data=data, content_type="text/calendar")
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content[:500]
        assert len(response.json()["created"]) == events
        if run:  # the first run warms up
            times.append(elapsed)
        queries = len(counted)
    times.sort()
    return (
        "POST /api/events/import",
        f"{events} VEVENTs ({series} weekly series with an override), default conflict_strategy=warn",
        statistics.median(times),
        times[-1],
        queries,
    )


if __name__ == "__main__":
    main()
