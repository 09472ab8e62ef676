"""GET /api/events/{id}/changelog: every change in words, versions and sharing on one timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sharing import services as sharing_services
from tests.factories import BASE_TIME, make_event
from tests.helpers import edit

pytestmark = pytest.mark.django_db


def summaries(response) -> list[str]:
    return [entry["summary"] for entry in response.json()["results"]]


def test_changelog_reads_like_a_page_history(api, user):
    event = make_event(user, title="A", timezone="Europe/Paris")
    event = edit(
        event,
        user,
        reason="later",
        title="B",
        start_time=BASE_TIME + timedelta(hours=1),
        end_time=BASE_TIME + timedelta(hours=2),
    )
    event = edit(event, user, description="Bring the slides", location="Room 1")
    edit(event, user, description="", location="")

    response = api.as_user(user).get(f"/api/events/{event.pk}/changelog")

    assert response.status_code == 200, response.content
    entries = response.json()["results"]
    assert [(e["kind"], e["version"], e["action"]) for e in entries] == [
        ("version", 1, "created"),
        ("version", 2, "updated"),
        ("version", 3, "updated"),
        ("version", 4, "updated"),
    ]
    assert summaries(response) == [
        "created the event 'A' (Mon 7 Jan 2030 10:00 CET)",
        "changed the title from 'A' to 'B'; moved 10:00 → 11:00 on Mon 7 Jan 2030 (CET)",
        "added a description (+16 characters); set the location to 'Room 1'",
        "removed the description (−16 characters); removed the location 'Room 1'",
    ]
    assert entries[1]["changed_fields"] == ["title", "start_time", "end_time"]
    assert entries[1]["change_reason"] == "later"
    assert entries[1]["changed_by"] == {"id": user.pk, "username": user.username}
    assert entries[2]["size_change"] == {"description": 16, "location": 6, "total": 22}
    assert entries[3]["size_change"] == {"description": -16, "location": -6, "total": -22}


def test_sharing_changes_are_on_the_same_timeline(api, event_with_roles):
    event, users = event_with_roles  # the owner shared with the editor and the viewer after creating it
    owner = users["owner"]
    edit(event, owner, title="Planning v2")
    sharing_services.permission_set_role(event=event, actor=owner, user_id=users["viewer"].pk, role="editor")
    sharing_services.permission_revoke(event=event, actor=owner, user_id=users["editor"].pk)
    sharing_services.permission_revoke(event=event, actor=users["viewer"], user_id=users["viewer"].pk)

    response = api.as_user(owner).get(f"/api/events/{event.pk}/changelog")

    entries = response.json()["results"]
    assert [(e["kind"], e["action"]) for e in entries] == [
        ("version", "created"),
        ("sharing", "permission_granted"),
        ("sharing", "permission_granted"),
        ("version", "updated"),
        ("sharing", "permission_changed"),
        ("sharing", "permission_revoked"),
        ("sharing", "permission_revoked"),
    ]
    assert summaries(response)[1:3] == [
        "shared the event with editor as editor",
        "shared the event with viewer as viewer",
    ]
    assert summaries(response)[4:] == [
        "changed viewer's role from viewer to editor",
        "removed editor (editor) from the event",
        "left the event (was editor)",
    ]
    changed = entries[4]
    assert changed["version"] is None and changed["size_change"] is None
    assert changed["permission"] == {
        "user": {"id": users["viewer"].pk, "username": "viewer"},
        "user_id": users["viewer"].pk,
        "role": "editor",
        "old_role": "viewer",
    }
    assert entries[6]["changed_by"]["username"] == "viewer"


def test_newest_first_on_request(api, user):
    event = make_event(user, title="one")
    edit(event, user, title="two")

    response = api.as_user(user).get(f"/api/events/{event.pk}/changelog", {"order": "desc"})

    assert [e["version"] for e in response.json()["results"]] == [2, 1]


def test_recurrence_and_occurrence_changes_in_words(api, user):
    event = make_event(user, title="Standup")
    event = edit(
        event,
        user,
        recurrence={"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10", "exdates": [], "rdates": []},
    )
    event = edit(
        event,
        user,
        recurrence={
            "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10",
            "exdates": ["2030-01-14T09:00:00Z"],
            "rdates": [],
        },
    )
    edit(event, user, recurrence=None)

    response = api.as_user(user).get(f"/api/events/{event.pk}/changelog")

    assert summaries(response)[1:] == [
        "made it repeat every 2 weeks on Mon, Wed, 10 times",
        "cancelled 1 occurrence (Mon 14 Jan 2030 09:00 UTC)",
        "made it a single event (it repeated every 2 weeks on Mon, Wed, 10 times)",
    ]
    assert response.json()["results"][1]["changed_fields"] == ["recurrence_pattern"]


def test_long_values_are_shortened_in_summaries(api, user):
    event = make_event(user, title="short")
    edit(event, user, title="x" * 200)

    response = api.as_user(user).get(f"/api/events/{event.pk}/changelog")

    summary = summaries(response)[1]
    assert summary.startswith("changed the title from 'short' to 'xxx") and summary.endswith("…'")
    assert len(summary) < 120


def test_changelog_query_count_is_fixed(api, event_with_roles, django_assert_num_queries):
    event, users = event_with_roles
    owner = users["owner"]
    for n in range(25):
        event = edit(event, owner, title=f"t{n}")
        if n % 5 == 0:
            role = "editor" if n % 10 == 0 else "viewer"
            sharing_services.permission_set_role(event=event, actor=owner, user_id=users["viewer"].pk, role=role)
    client = api.as_user(owner)

    # auth user, event, count, page of the timeline, its versions, its permission changes, and from page 2 on
    # the version before the page
    for page, queries in ((1, 6), (2, 7)):
        with django_assert_num_queries(queries):
            response = client.get(f"/api/events/{event.pk}/changelog", {"page": page})
        assert response.status_code == 200
    assert response.json()["count"] == 26 + 2 + 5
