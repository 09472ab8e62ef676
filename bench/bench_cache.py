"""Cached reads: the latency of a cache miss vs a hit for list pages, detail, occurrences and the schema.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/calendar_bench_cache REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/bench_cache.py --events 20000 --users 200

It migrates the database DATABASE_URL names and ADDS generated data to it (use a scratch database),
then measures, through the whole stack in process (routing, JWT auth, views, serializers, the
database, the cache backend), one user's calls: each --repeat times as a miss (the generation the
answer depends on is replaced before each call, outside the timing: exactly what a write does) and
as a hit. Prints a Markdown table with medians, p95 and queries per call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# The settings refuse PostgreSQL without SECRET_KEY; a benchmark's throwaway data needs no secret one.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
os.environ.setdefault("THROTTLE_USER", "1000000/min")  # the rate limits are not what is measured here


def timed(client, path: str, repeat: int, before=None) -> tuple[float, float, int]:
    """Median and p95 ms of `repeat` calls (calling `before()` untimed before each), and the queries of one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples = []
    queries = 0
    for n in range(repeat):
        if before:
            before()
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.content[:300]
        if n == 0:
            queries = len(captured)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)], queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count

    from accounts.tokens import tokens_for
    from bench.generator import generate
    from common import schema_view
    from events import cache as event_cache
    from events.models import Event
    from tests.conftest import Client

    call_command("migrate", verbosity=0)
    prefix = f"cache{int(time.time())}"
    began = time.perf_counter()
    generate(users=args.users, events=args.events, prefix=prefix)
    print(f"data: {args.users} users, {args.events} events in {time.perf_counter() - began:.0f} s", flush=True)

    User = get_user_model()
    me = (
        User.objects.filter(username__startswith=prefix)
        .annotate(held=Count("event_permissions"))
        .order_by("-held")
        .first()
    )
    visible = Event.objects.visible_to(me).count()
    event = Event.objects.visible_to(me).filter(is_recurring=True).first()
    client = Client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(me)['access']}")
    first = Event.objects.visible_to(me).order_by("start_time").first().start_time
    window = f"start={first.date()}T00:00:00Z&end={first.date().replace(day=min(first.day + 7, 28))}T00:00:00Z"

    def bump_user() -> None:
        event_cache._bump(users=[me.pk])

    def bump_event() -> None:
        event_cache._bump(events=[event.pk])

    calls = [
        ("list page (20 of the calendar)", "/api/events?page_size=20", bump_user),
        ("list page, filtered by q", "/api/events?q=Review&page_size=20", bump_user),
        ("calendar week, expand=true", f"/api/events?expand=true&{window}", bump_user),
        ("event detail", f"/api/events/{event.pk}", bump_event),
        ("occurrences of a recurring event (250)", f"/api/events/{event.pk}/occurrences", bump_event),
    ]
    rows = []
    for name, path, miss in calls:
        timed(client, path, 3)  # warm up
        rows.append((name, timed(client, path, args.repeat, before=miss), timed(client, path, args.repeat)))
    rows.append(
        (
            "OpenAPI schema (JSON)",
            timed(client, "/api/schema?format=json", max(5, args.repeat // 5), before=schema_view._schemas.clear),
            timed(client, "/api/schema?format=json", args.repeat),
        )
    )

    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(
        f"\nDatabase: {connection.vendor}; cache: {backend}; the caller sees {visible} events; "
        f"{args.repeat} runs each.\n"
    )
    print("| call | miss median ms | miss p95 | hit median ms | hit p95 | speed-up | queries miss → hit |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, (miss_median, miss_p95, miss_q), (hit_median, hit_p95, hit_q) in rows:
        print(
            f"| {name} | {miss_median:.1f} | {miss_p95:.1f} | {hit_median:.1f} | {hit_p95:.1f} "
            f"| {miss_median / hit_median:.1f}× | {miss_q} → {hit_q} |"
        )


if __name__ == "__main__":
    main()
