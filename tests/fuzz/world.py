"""The data the schema fuzzer works on: a calendar user with real events, shares, history and notifications.

`build()` makes it through the services (as the API would), and lists the path parameters that name
existing objects, so generated requests hit real events, versions, occurrences, permissions and
notifications much more often than random strings would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.test import Client
from django.utils.crypto import get_random_string

from accounts.tokens import tokens_for
from events import services as event_services
from events.models import Event
from events.rollback import event_rollback
from notifications.cursors import Cursor, encode
from notifications.models import Notification
from sharing import services as sharing_services
from sharing.roles import Role
from tests.factories import BASE_TIME, PASSWORD, UserFactory, make_event
from tests.helpers import iso

WEEK = timedelta(weeks=1)
HOUR = timedelta(hours=1)


@dataclass
class World:
    user: object  # the user every fuzzed request is authenticated as (staff, so the audit trail answers too)
    password: str
    # path template -> list of path-parameter dicts naming existing objects
    path_parameters: dict[str, list[dict]] = field(default_factory=dict)
    refresh_tokens: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)

    def access_token(self) -> str:
        return tokens_for(self.user)["access"]

    def browser_session(self) -> dict[str, str]:
        """The WSGI environ of a browser logged in with a new session, sending its CSRF token as the forms do."""
        client = Client()
        client.force_login(self.user)
        csrf = get_random_string(32)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        return {
            "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
            "HTTP_X_CSRFTOKEN": csrf,
        }


def _edit(event: Event, actor, **changes) -> Event:
    event.refresh_from_db()
    updated = event_services.event_update(
        event=event, actor=actor, changes=changes, reason="fuzz fixture", conflict_strategy="allow"
    ).event
    return updated


def _share(event: Event, actor, **roles) -> None:
    sharing_services.event_share(
        event=event, actor=actor, targets=[{"user_id": user.pk, "role": role} for user, role in roles.values()]
    )


def build() -> World:
    me = UserFactory(username="fuzzer", is_staff=True)
    alice = UserFactory(username="alice")  # shares her events with me
    bob = UserFactory(username="bob")  # an editor on mine
    carol = UserFactory(username="carol")  # a viewer on mine
    stranger = UserFactory(username="stranger")  # nothing shared with me

    # Mine: a one-off meeting with several versions, shared with an editor and a viewer.
    meeting = make_event(me, title="Planning", location="Room 1", start=BASE_TIME)
    _share(meeting, me, bob=(bob, Role.EDITOR), carol=(carol, Role.VIEWER))
    meeting = _edit(meeting, me, title="Planning (moved)", start_time=BASE_TIME + HOUR, end_time=BASE_TIME + 2 * HOUR)
    meeting = _edit(meeting, bob, description="Agenda: budget, hiring")  # a notification for me

    # Mine: a weekly series with a moved and a cancelled occurrence, edited since.
    series_start = BASE_TIME + timedelta(days=1)
    series = make_event(
        me,
        title="Weekly sync",
        start=series_start,
        timezone="Europe/Berlin",
        recurrence={"rrule": "FREQ=WEEKLY;COUNT=10", "exdates": [], "rdates": []},
    )
    _share(series, me, bob=(bob, Role.EDITOR))
    moved_from = series_start + 2 * WEEK
    series = event_services.event_occurrence_change(
        event=series,
        actor=me,
        original_start=moved_from,
        changes={"title": "Sync (moved)", "start": moved_from + 3 * HOUR, "end": moved_from + 4 * HOUR},
        conflict_strategy="allow",
    ).event
    series = event_services.event_occurrence_change(
        event=series, actor=me, original_start=series_start + 3 * WEEK, changes={"cancelled": True}
    ).event
    series = _edit(series, bob, location="Room 2")

    # Mine, deleted (restorable for 30 days).
    gone = make_event(me, title="Cancelled offsite", start=BASE_TIME + 5 * WEEK)
    gone = _edit(gone, me, description="Was it ever going to happen?")
    event_services.event_delete(event=gone, actor=me)
    gone.refresh_from_db()

    # Alice's, shared with me as editor (one-off) and viewer (recurring), changed after sharing.
    hers = make_event(alice, title="Alice 1:1", start=BASE_TIME + 2 * HOUR)
    _share(hers, alice, me=(me, Role.EDITOR))
    hers = _edit(hers, alice, title="Alice 1:1 (agenda)")
    hers = _edit(hers, me, location="Cafe")
    event_rollback(event=hers, actor=alice, version=1, conflict_strategy="allow")
    hers.refresh_from_db()
    her_series = make_event(
        alice,
        title="Alice's daily",
        start=BASE_TIME + 30 * timedelta(minutes=1),
        hours=0.25,
        recurrence={"rrule": "FREQ=DAILY;COUNT=20", "exdates": [], "rdates": []},
    )
    _share(her_series, alice, me=(me, Role.VIEWER), bob=(bob, Role.VIEWER))
    her_series = _edit(her_series, alice, description="Standing")
    her_series = event_services.event_occurrence_change(
        event=her_series,
        actor=alice,
        original_start=BASE_TIME + 30 * timedelta(minutes=1) + timedelta(days=2),
        changes={"title": "Daily (longer)", "location": "Room 3"},
    ).event

    # Not mine and not shared with me: every request naming it must answer 404.
    private = make_event(stranger, title="Private", start=BASE_TIME)

    world = World(user=me, password=PASSWORD)
    owned = [meeting, series, gone]
    shared = [hers, her_series]
    events = [*owned, *shared, private]
    for event in events:
        event.refresh_from_db()
    world.event_ids = [event.pk for event in events]
    world.user_ids = [user.pk for user in (me, alice, bob, carol, stranger)]
    world.versions = sorted({v for event in events for v in range(1, event.version + 1)})

    ids = [{"id": str(event.pk)} for event in events]
    versions = [{"id": str(e.pk), "version": str(v)} for e in events for v in range(1, e.version + 1)]
    diffs = [
        {"id": str(e.pk), "v1": str(v1), "v2": str(v2)}
        for e in events
        for v1 in range(1, e.version + 1)
        for v2 in range(1, e.version + 1)
        if v1 != v2
    ]
    permissions = [{"id": str(e.pk), "user_id": str(u.pk)} for e in events for u in (me, alice, bob, carol, stranger)]
    occurrences = [
        {"id": str(e.pk), "original_start": iso(e.start_time + step * (WEEK if e is series else timedelta(days=1)))}
        for e in (series, her_series)
        for step in range(5)
    ]
    occurrences += [{"id": str(e.pk), "original_start": iso(e.start_time)} for e in (meeting, hers, private)]
    notifications = [{"id": str(pk)} for pk in Notification.objects.filter(recipient=me).values_list("pk", flat=True)]
    assert len(notifications) >= 3, "the fixture must give the fuzzed user notifications to read"

    world.path_parameters = {
        "/api/events/{id}/": ids,
        "/api/events/{id}/occurrences/": ids,
        "/api/events/{id}/history/": ids,
        "/api/events/{id}/changelog/": ids,
        "/api/events/{id}/restore/": ids,
        "/api/events/{id}/share/": ids,
        "/api/events/{id}/permissions/": ids,
        "/events/{id}/history/": ids,
        "/api/events/{id}/history/{version}/": versions,
        "/api/events/{id}/rollback/{version}/": versions,
        "/api/events/{id}/diff/{v1}/{v2}/": diffs,
        "/events/{id}/diff/{v1}/{v2}/": diffs,
        "/api/events/{id}/permissions/{user_id}/": permissions,
        "/api/events/{id}/occurrences/{original_start}/": occurrences,
        "/api/notifications/{id}/read/": notifications,
    }
    world.refresh_tokens = [tokens_for(me)["refresh"] for _ in range(3)]
    world.cursors = [encode(Cursor.at(me.pk, position)) for position in (0, 1, 3)]
    return world
