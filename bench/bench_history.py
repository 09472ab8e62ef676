"""History benchmarks: the changelog, diff and history page of an event with 1,000 versions, and time
travel (`as_of`) over 100,000 events with 5 versions each.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/calendar_bench .venv/bin/python bench/bench_history.py

It migrates the database DATABASE_URL names (SQLite without it) and ADDS data to it: use a scratch
database. Requests go through the whole stack in process (URL routing, JWT auth, views, serializers,
the database), not over a socket. For each call it reports the median and p95 time of --repeat runs
and the number of SQL queries, and prints a Markdown table (the figures in docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import string
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# The settings refuse PostgreSQL without SECRET_KEY; a benchmark's throwaway data needs no secret one.
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")
os.environ.setdefault("THROTTLE_USER", "1000000/min")  # the rate limits are not what is measured here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=1000, help="versions of the long-lived event")
    parser.add_argument("--events", type=int, default=100_000, help="events for the as_of benchmark")
    parser.add_argument("--events-versions", type=int, default=5, help="versions per event for as_of")
    parser.add_argument("--repeat", type=int, default=30, help="runs of each call")
    parser.add_argument("--reuse-event", type=int, help="measure this event (made by an earlier run) instead")
    parser.add_argument("--reuse-prefix", help="measure the as_of data of an earlier run (its user prefix)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rows = [
        bench_long_history(args.versions, args.repeat, reuse=args.reuse_event),
        bench_as_of(args.events, args.events_versions, args.repeat, reuse=args.reuse_prefix),
    ]
    from django.db import connection

    rows.append(word_diff_worst_cases(args.repeat))
    print(f"\nDatabase: {connection.vendor}; {args.repeat} runs each.\n")
    print("| call | data | median ms | p95 ms | queries |")
    print("|---|---|---:|---:|---:|")
    for group in rows:
        for name, data, median, p95, queries in group:
            print(f"| {name} | {data} | {median:.1f} | {p95:.1f} | {queries} |")


def measure(client, path: str, repeat: int, **params) -> tuple[float, float, int]:
    """Median and p95 milliseconds over `repeat` runs, and the queries of one run."""
    from django.db import connection

    client.get(path, params)  # warm up: caches, prepared plans
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(path, params)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path, params)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], len(queries)


def word_diff_worst_cases(repeat: int) -> list[tuple]:
    """The word diff alone, on the texts that cost it most: two unrelated descriptions of the maximum length
    (10,000 characters), and two texts of a few tokens over and over, just short enough (2,000 tokens) for every
    token to be compared (SequenceMatcher's cubic case, bounded by history/diff.py's STEPS_BUDGET)."""
    import random

    from history.diff import word_diff

    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "room", "meeting", "notes", "the", "a", "of", ",", "."]

    def text() -> str:
        out = ""
        while len(out) < 9990:
            out += rng.choice(words) + " "
        return out[:10_000]

    distinct = " ".join(f"a{i}" for i in range(500))
    letters = string.ascii_lowercase
    names = ["".join(t) for length in (1, 2, 3) for t in itertools.product(letters, repeat=length)][:1300]
    few, few_b = ",".join(names), "-".join(names)
    cases = [
        ("two unrelated 10,000-character texts", text(), text()),
        ('"x x x ..." against "y x y x ...", 2,000 tokens', "x " * 500, "y x " * 250),
        (
            "500 distinct words against half of them changed",
            distinct,
            " ".join(f"a{i}" if i % 2 else f"b{i}" for i in range(500)),
        ),
        # Each match splits off only the front of `a`: about 2,600 searches, each walking almost all of it.
        ("1,300 distinct words then 7,500 separators only one has", few.ljust(10_000, ","), "-" + few_b + "-"),
    ]
    rows = []
    for data, old, new in cases:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            word_diff(old, new)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        rows.append(("word diff only (no request)", data, statistics.median(times), p95, 0))
    return rows


def client_for(user):
    from rest_framework.test import APIClient

    from accounts.tokens import tokens_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user)['access']}")
    return client


def bench_long_history(versions: int, repeat: int, reuse: int | None = None) -> list[tuple]:
    """One event edited `versions - 1` times through the real services, shared and re-shared along the way."""
    from django.contrib.auth import get_user_model

    from events import services as event_services
    from events.models import Event
    from sharing import services as sharing_services

    if reuse:
        event = Event.objects.select_related("owner").get(pk=reuse)
        return measure_long_history(event, event.owner, repeat)

    User = get_user_model()
    stamp = int(time.time())
    owner = User.objects.create_user(username=f"hist-owner-{stamp}", email=f"hist-owner-{stamp}@example.com")
    friend = User.objects.create_user(username=f"hist-friend-{stamp}", email=f"hist-friend-{stamp}@example.com")
    from datetime import UTC, datetime

    start = datetime(2031, 3, 3, 9, tzinfo=UTC)
    event = event_services.event_create(
        actor=owner,
        changes={
            "title": "Weekly planning",
            "description": "Agenda: " + " ".join(f"item {n}" for n in range(40)),
            "location": "Room 1",
            "start_time": start,
            "end_time": start + timedelta(hours=1),
            "timezone": "Europe/Berlin",
            "is_all_day": False,
            "recurrence": None,
        },
        conflict_strategy="allow",
    ).event
    began = time.perf_counter()
    for n in range(1, versions):
        changes = {"description": event.description.replace(f"item {n % 40}", f"item {n % 40} (v{n})", 1)}
        if n % 3 == 0:
            changes["title"] = f"Weekly planning #{n}"
        if n % 7 == 0:
            changes["start_time"] = event.start_time + timedelta(minutes=30)
            changes["end_time"] = event.end_time + timedelta(minutes=30)
        if n % 50 == 0:
            role = "editor" if n % 100 == 0 else "viewer"
            sharing_services.event_share(event=event, actor=owner, targets=[{"user_id": friend.pk, "role": role}])
        event = event_services.event_update(
            event=event, actor=owner, changes=changes, reason=f"edit {n}", conflict_strategy="allow"
        ).event
    print(
        f"built event {event.pk} with {event.version} versions in {time.perf_counter() - began:.1f} s", file=sys.stderr
    )
    return measure_long_history(event, owner, repeat)


def measure_long_history(event, owner, repeat: int) -> list[tuple]:
    client = client_for(owner)
    data = f"1 event, {event.version} versions, 20 sharing changes"
    middle = event.version // 2
    deep = max(1, event.version // 200)
    calls = [
        ("changelog, first page (20)", f"/api/events/{event.pk}/changelog", {}),
        ("changelog, newest first", f"/api/events/{event.pk}/changelog", {"order": "desc"}),
        (
            f"changelog, page {deep} (100 per page)",
            f"/api/events/{event.pk}/changelog",
            {"page": deep, "page_size": 100},
        ),
        ("history (API), newest first", f"/api/events/{event.pk}/history", {"order": "desc"}),
        ("version detail", f"/api/events/{event.pk}/history/{middle}", {}),
        ("diff, consecutive versions", f"/api/events/{event.pk}/diff/{middle}/{middle + 1}", {}),
        ("diff, first vs current", f"/api/events/{event.pk}/diff/1/{event.version}", {}),
        ("history page (HTML, 50 per page)", f"/events/{event.pk}/history", {}),
        ("history page (HTML), last page", f"/events/{event.pk}/history", {"page": (event.version + 49) // 50}),
        ("diff page (HTML)", f"/events/{event.pk}/diff/1/{event.version}", {}),
    ]
    return [(name, data, *measure(client, path, repeat, **params)) for name, path, params in calls]


def bench_as_of(events: int, versions: int, repeat: int, reuse: str | None = None) -> list[tuple]:
    """`events` events with `versions` versions each, all owned by one user (the worst case: they see them all)."""
    from django.utils import timezone

    from bench.generator import generate
    from events.models import Event

    prefix = reuse or f"asof{int(time.time())}-"
    if not reuse:
        began = time.perf_counter()
        generate(users=1, events=events, recurring_share=0.1, shares_per_event=0, versions=versions, prefix=prefix)
        seconds = time.perf_counter() - began
        print(f"generated {events} events x {versions} versions ({prefix}) in {seconds:.1f} s", file=sys.stderr)
    from django.contrib.auth import get_user_model
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    owner = get_user_model().objects.get(username=f"{prefix}0")
    history = Event.history.filter(owner_id=owner.pk)
    # The generator dates version n of an event (versions - n) minutes before its creation, and creates the
    # events batch by batch over the run: two minutes before the end, events are at different versions.
    newest = history.order_by("-history_date").values_list("history_date", flat=True).first()
    middle = (newest - timedelta(minutes=versions // 2)).isoformat()
    one = Event.objects.filter(owner=owner).order_by("id").values_list("id", flat=True).first()
    client = client_for(owner)
    total = f"{events:,} events x {versions} versions, all the caller's"
    then = client.get("/api/events", {"as_of": middle}).json()["count"]
    data = f"{total}; {then:,} existed at as_of"
    later = (timezone.now() + timedelta(days=1)).isoformat()
    calls = [
        ("event list (no as_of), page 1", "/api/events", {}),
        ("event list as_of, page 1", "/api/events", {"as_of": middle}),
        ("event list as_of, page 100", "/api/events", {"as_of": middle, "page": 100}),
        ("event list as_of + q filter", "/api/events", {"as_of": middle, "q": "Review"}),
        ("event list as_of (now)", "/api/events", {"as_of": later}),
        ("event detail as_of", f"/api/events/{one}", {"as_of": middle}),
        ("occurrences as_of", f"/api/events/{one}/occurrences", {"as_of": middle}),
    ]
    # A typical caller: 500 of those events shared with them (viewer), among the 100,000.
    from sharing.models import EventPermission

    reader, made = get_user_model().objects.get_or_create(
        username=f"{prefix}reader", defaults={"email": f"{prefix}reader@example.com"}
    )
    if made:
        shared = Event.objects.filter(owner=owner).order_by("?").values_list("id", flat=True)[:500]
        EventPermission.objects.bulk_create(
            [EventPermission(event_id=pk, user=reader, role="viewer", granted_by=owner) for pk in shared]
        )
    reader_client = client_for(reader)
    typical = [
        ("event list as_of, page 1", "/api/events", {"as_of": middle}),
        ("event list (no as_of), page 1", "/api/events", {}),
    ]
    reader_rows = [
        (
            f"{name} — a caller with 500 of them",
            f"{events:,} events x {versions} versions; 500 shared with the caller",
            *measure(reader_client, path, repeat, **params),
        )
        for name, path, params in typical
    ]
    return reader_rows + [
        (
            name,
            total if "as_of" not in params or params["as_of"] == later else data,
            *measure(client, path, repeat, **params),
        )
        for name, path, params in calls
    ]


if __name__ == "__main__":
    main()
