"""Realistic calendars in bulk: users, events (some recurring), shares and several versions each.

Everything is inserted with bulk inserts, history rows included, so 100,000 events take minutes,
not hours. The rows are what the services would have written: an owner permission per event,
versions 1..N with `created` then `updated` actions, the event at its last version.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from events.models import Event
from events.occurrences import series_end_of
from history.models import Action
from recurrence import rules
from sharing.models import EventPermission
from sharing.roles import Role

User = get_user_model()
HistoricalEvent = Event.history.model
HistoricalPermission = EventPermission.history.model

PASSWORD = "bench-password-123"
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
RULES = [
    "FREQ=WEEKLY;BYDAY=MO",
    "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=40",
    "FREQ=DAILY;INTERVAL=2;COUNT=100",
    "FREQ=MONTHLY;BYDAY=1FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE",
    "FREQ=YEARLY",
]
TITLES = ["Standup", "Planning", "Review", "1:1", "Lunch", "Workshop", "Retro", "Interview", "Demo", "Sync"]


@dataclass
class Counts:
    users: int = 0
    events: int = 0
    permissions: int = 0
    versions: int = 0


def generate(
    *,
    users: int,
    events: int,
    recurring_share: float = 0.1,
    shares_per_event: int = 3,
    versions: int = 5,
    seed: int = 1,
    start: datetime | None = None,
    batch: int = 2000,
    prefix: str = "bench",
) -> Counts:
    """Insert the data set and return what was written. Usernames are `<prefix><n>`."""
    rng = random.Random(seed)
    start = start or datetime(2026, 1, 5, tzinfo=UTC)
    counts = Counts()
    password = make_password(PASSWORD)
    people = User.objects.bulk_create(
        [User(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com", password=password) for n in range(users)],
        batch_size=batch,
    )
    counts.users = len(people)
    for offset in range(0, events, batch):
        size = min(batch, events - offset)
        with transaction.atomic():
            _insert_events(rng, people, size, recurring_share, shares_per_event, versions, start, counts)
    if connection.vendor == "postgresql":
        # After a bulk load the planner's statistics describe the empty tables: without this, a list
        # page at 100,000 events scans the whole table (416 ms instead of 20 ms, measured).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return counts


def _insert_events(rng, people, size, recurring_share, shares_per_event, versions, start, counts) -> None:
    created = []
    for _ in range(size):
        owner = rng.choice(people)
        zone = rng.choice(ZONES)
        begins = start + timedelta(days=rng.randrange(0, 730), hours=rng.randrange(6, 20), minutes=rng.choice([0, 30]))
        ends = begins + timedelta(minutes=rng.choice([30, 60, 90, 120]))
        pattern = None
        if rng.random() < recurring_share:
            pattern = rules.parse_pattern(rng.choice(RULES), start=begins, end=ends, tz=zone)
        event = Event(
            title=rng.choice(TITLES),
            description="Generated for benchmarks. " * rng.randrange(0, 4),
            location=rng.choice(["", "Room 1", "Room 2", "Online"]),
            start_time=begins,
            end_time=ends,
            timezone=zone,
            recurrence=pattern.to_json() if pattern else None,
            is_recurring=pattern is not None,
            owner=owner,
            version=versions,
        )
        event.series_end = series_end_of(event)
        created.append(event)
    Event.objects.bulk_create(created)
    counts.events += len(created)

    permissions = []
    for event in created:
        permissions.append(
            EventPermission(event=event, user_id=event.owner_id, role=Role.OWNER, granted_by_id=event.owner_id)
        )
        others = rng.sample(people, min(len(people), shares_per_event + 1))
        for user in [u for u in others if u.pk != event.owner_id][:shares_per_event]:
            role = rng.choice([Role.EDITOR, Role.VIEWER, Role.VIEWER])
            permissions.append(EventPermission(event=event, user=user, role=role, granted_by_id=event.owner_id))
    EventPermission.objects.bulk_create(permissions)
    counts.permissions += len(permissions)

    rows = []
    for event in created:
        for number in range(1, versions + 1):
            rows.append(
                HistoricalEvent(
                    id=event.pk,
                    title=event.title if number == versions else f"{event.title} (draft {number})",
                    description=event.description,
                    location=event.location,
                    start_time=event.start_time,
                    end_time=event.end_time,
                    timezone=event.timezone,
                    is_all_day=False,
                    recurrence=event.recurrence,
                    is_recurring=event.is_recurring,
                    series_end=event.series_end,
                    version=number,
                    owner_id=event.owner_id,
                    created_at=event.created_at,
                    deleted_at=None,
                    history_date=event.created_at - timedelta(minutes=versions - number),
                    history_type="+" if number == 1 else "~",
                    history_action=Action.CREATED if number == 1 else Action.UPDATED,
                    history_user_id=event.owner_id,
                )
            )
    HistoricalEvent.objects.bulk_create(rows)
    HistoricalPermission.objects.bulk_create(
        [
            HistoricalPermission(
                id=p.pk,
                event_id=p.event_id,
                user_id=p.user_id,
                role=p.role,
                granted_by_id=p.granted_by_id,
                granted_at=p.granted_at,
                history_date=p.granted_at,
                history_type="+",
                history_user_id=p.granted_by_id,
            )
            for p in permissions
        ]
    )
    counts.versions += len(rows)
