"""Ids in URLs are read strictly: only the canonical decimal form of an id names it (else 404, changing nothing).

`int()` would read `1_0`, `+10`, ` 10` and `010` as 10, so one event would answer under many URLs.
"""

from __future__ import annotations

import pytest

from common.fields import MAX_ID, parse_id, parse_positive_int
from notifications.models import Notification
from sharing.roles import Role
from tests.factories import UserFactory, make_event
from tests.helpers import assert_problem, database_state

pytestmark = pytest.mark.django_db

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def spellings(pk: int) -> list[str]:
    """Ways to write `pk` that int() accepts (%20 is a space, %2B a plus); none of them is canonical."""
    text = str(pk)
    return [
        f"{text[0]}_{text[1:]}",
        f"+{text}",
        f"%2B{text}",
        f"%20{text}",
        f"{text}%20",
        f"0{text}",
        f"00{text}",
        text.translate(FULLWIDTH),
        f"{text}.0",
        f"{text}e0",
    ]


@pytest.fixture
def event(event, me):
    """The shared `event`, or another like it once its id has two digits (so that `1_0`-like spellings exist)."""
    while event.pk < 10:
        event = make_event(me, title="Planning")
    return event


def test_the_canonical_id_finds_the_event(client, event):
    assert client.get(f"/api/events/{event.pk}").status_code == 200


@pytest.mark.parametrize("index", range(10))
@pytest.mark.parametrize(
    "path",
    [
        "/api/events/{id}",
        "/api/events/{id}/occurrences",
        "/api/events/{id}/permissions",
        "/api/events/{id}/history",
        "/api/events/{id}/changelog",
    ],
)
def test_a_malformed_id_in_a_read_is_a_404(client, event, index, path):
    response = client.get(path.format(id=spellings(event.pk)[index]))

    assert assert_problem(response, 404)["type"] == "/problems/not-found"


@pytest.mark.parametrize("index", range(10))
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_malformed_id_in_a_write_is_a_404_and_changes_nothing(client, event, index, method):
    before = database_state()

    body = {"change_reason": "Gone"} if method == "delete" else {"title": "Renamed"}  # a member each one takes
    response = getattr(client, method)(f"/api/events/{spellings(event.pk)[index]}", body)

    assert_problem(response, 404)
    assert database_state() == before


@pytest.mark.parametrize("index", range(10))
def test_a_malformed_event_id_when_sharing_is_a_404_and_changes_nothing(client, event, index):
    other = UserFactory()
    before = database_state()

    response = client.post(
        f"/api/events/{spellings(event.pk)[index]}/share", {"users": [{"user_id": other.pk, "role": "viewer"}]}
    )

    assert_problem(response, 404)
    assert database_state() == before


@pytest.mark.parametrize("spelling", ["+{pk}", "0{pk}", "%20{pk}", "{pk}%20", "{pk}.0"])
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_malformed_user_id_of_a_permission_is_a_404_and_changes_nothing(client, event, spelling, method):
    viewer = UserFactory(username="viewer")
    client.post(f"/api/events/{event.pk}/share", {"users": [{"user_id": viewer.pk, "role": "viewer"}]})
    before = database_state()

    body = {} if method == "delete" else {"role": Role.EDITOR}  # a revocation takes no body
    response = getattr(client, method)(f"/api/events/{event.pk}/permissions/{spelling.format(pk=viewer.pk)}", body)

    assert_problem(response, 404)
    assert database_state() == before


@pytest.mark.parametrize("spelling", ["01", "+1", "1_0", "%201", "1.0"])
def test_a_malformed_version_number_is_a_404(client, event, spelling):
    assert_problem(client.get(f"/api/events/{event.pk}/history/{spelling}"), 404)
    assert_problem(client.get(f"/api/events/{event.pk}/diff/{spelling}/1"), 404)
    assert_problem(client.get(f"/api/events/{event.pk}/diff/1/{spelling}"), 404)


@pytest.mark.parametrize("spelling", ["01", "+1", "1_0"])
def test_a_malformed_version_to_roll_back_to_is_a_404_and_changes_nothing(client, event, spelling):
    client.patch(f"/api/events/{event.pk}", {"title": "Renamed"})
    before = database_state()

    assert_problem(client.post(f"/api/events/{event.pk}/rollback/{spelling}"), 404)
    assert database_state() == before


def test_a_malformed_notification_id_is_a_404_and_marks_nothing_read(api, event, me):
    viewer = UserFactory(username="viewer")
    api.as_user(me).post(f"/api/events/{event.pk}/share", {"users": [{"user_id": viewer.pk, "role": "viewer"}]})
    # Sharing always notifies the user shared with: without that notification this test has nothing to
    # mark read, and that is a failure of sharing, not a reason to skip.
    notifications = list(Notification.objects.filter(recipient=viewer))
    assert len(notifications) == 1, "sharing did not notify the user it shared with"
    notification = notifications[0]
    client = api.as_user(viewer)
    before = database_state()

    for spelling in (f"0{notification.pk}", f"+{notification.pk}", f"%20{notification.pk}"):
        response = client.post(f"/api/notifications/{spelling}/read")
        assert response.status_code == 404, (spelling, response.content)

    notification.refresh_from_db()
    assert notification.read_at is None
    assert database_state() == before
    assert client.post(f"/api/notifications/{notification.pk}/read").json()["read"] is True  # the canonical id does


@pytest.mark.parametrize("make_id", ["0{}", "+{}", " {}", "{}.0"])
def test_a_transaction_with_a_malformed_event_id_fails_with_a_404(client, event, make_id):
    event_id = make_id.format(event.pk)
    before = database_state()

    response = client.post(
        "/api/transactions", {"operations": [{"op": "update", "event_id": event_id, "data": {"title": "x"}}]}
    )

    body = assert_problem(response, 404)
    assert body["failed_index"] == 0
    assert database_state() == before


@pytest.mark.parametrize("event_id", [True, 10.0])
def test_a_transaction_with_a_non_integer_event_id_fails_with_a_404(client, event, event_id):
    response = client.post(
        "/api/transactions", {"operations": [{"op": "update", "event_id": event_id, "data": {"title": "x"}}]}
    )

    assert assert_problem(response, 404)["failed_index"] == 0


def test_a_transaction_with_an_integer_event_id_still_works(client, event):
    response = client.post(
        "/api/transactions", {"operations": [{"op": "update", "event_id": event.pk, "data": {"title": "Renamed"}}]}
    )

    assert response.status_code == 200, response.content
    event.refresh_from_db()
    assert event.title == "Renamed"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", 1),
        ("10", 10),
        (10, 10),
        (str(MAX_ID), MAX_ID),
        (MAX_ID, MAX_ID),
        (str(MAX_ID + 1), None),
        ("99999999999999999999", None),
        ("0", None),
        (0, None),
        (-1, None),
        ("-1", None),
        ("", None),
        (None, None),
        (True, None),
        (1.0, None),
        ("1\n", None),
        ("٣", None),  # an Arabic-Indic digit: int() reads it, we do not
    ],
)
def test_the_id_parser(value, expected):
    assert parse_positive_int(value) == expected


def test_parse_id_can_bound_lower_and_say_what_was_not_found():
    from rest_framework.exceptions import NotFound

    assert parse_id("2147483647", maximum=2**31 - 1) == 2**31 - 1
    with pytest.raises(NotFound, match="No such version"):
        parse_id("2147483648", maximum=2**31 - 1, detail="No such version.")
