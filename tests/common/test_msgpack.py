"""MessagePack in and out: the same data as JSON under application/msgpack and application/x-msgpack."""

from datetime import UTC, datetime

import msgpack
import pytest

from events.models import Event
from tests.factories import make_event
from tests.helpers import database_state

MEDIA_TYPES = ["application/msgpack", "application/x-msgpack"]

EVENT = {
    "title": "Standup",
    "description": "Daily — with ümlauts and emoji 🗓",
    "location": "Room 1",
    "start_time": "2031-03-03T09:00:00+01:00",
    "end_time": "2031-03-03T09:15:00+01:00",
    "timezone": "Europe/Paris",
}


def instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, value  # RFC 3339 with an offset
    return parsed


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
def test_create_from_a_messagepack_body(client, me, media_type):
    before = Event.objects.count()

    response = client.post("/api/events", msgpack.packb(EVENT), content_type=media_type)

    assert response.status_code == 201, response.content
    assert Event.objects.count() == before + 1
    event = Event.objects.get(pk=response.json()["id"])
    assert (event.title, event.description, event.location, event.timezone) == (
        EVENT["title"],
        EVENT["description"],
        EVENT["location"],
        "Europe/Paris",
    )
    assert event.start_time == datetime(2031, 3, 3, 8, 0, tzinfo=UTC)
    assert event.end_time == datetime(2031, 3, 3, 8, 15, tzinfo=UTC)
    assert event.owner == me


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
def test_a_messagepack_request_and_answer(client, media_type):
    response = client.post("/api/events", msgpack.packb(EVENT), content_type=media_type, HTTP_ACCEPT=media_type)

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == media_type
    body = msgpack.unpackb(response.content)
    assert body["title"] == EVENT["title"]
    assert instant(body["start_time"]) == instant(EVENT["start_time"])


def test_a_messagepack_timestamp_is_read_as_that_instant(client):
    start = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
    end = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)
    raw = msgpack.packb({"title": "Timestamps", "start_time": start, "end_time": end}, datetime=True)

    response = client.post("/api/events", raw, content_type="application/msgpack")

    assert response.status_code == 201, response.content
    event = Event.objects.get(pk=response.json()["id"])
    assert (event.start_time, event.end_time) == (start, end)


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
def test_an_event_reads_the_same_in_messagepack_and_json(client, me, media_type):
    event = make_event(me, title="Café ☕", description="x" * 300, location="Zürich")

    as_json = client.get(f"/api/events/{event.pk}")
    as_msgpack = client.get(f"/api/events/{event.pk}", HTTP_ACCEPT=media_type)

    assert as_json.status_code == as_msgpack.status_code == 200
    assert as_json["Content-Type"] == "application/json"
    assert as_msgpack["Content-Type"] == media_type
    decoded = msgpack.unpackb(as_msgpack.content, timestamp=0)
    assert decoded == as_json.json()
    for field in ("start_time", "end_time", "created_at", "updated_at"):
        assert isinstance(decoded[field], str)  # RFC 3339 strings, not msgpack timestamps
        instant(decoded[field])
    assert as_json["ETag"] == as_msgpack["ETag"]


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
def test_a_list_reads_the_same_in_messagepack_and_json(client, me, media_type):
    for n in range(3):
        make_event(me, title=f"Event {n}")

    as_json = client.get("/api/events?page_size=2")
    as_msgpack = client.get("/api/events?page_size=2", HTTP_ACCEPT=media_type)

    assert as_msgpack.status_code == 200
    decoded = msgpack.unpackb(as_msgpack.content)
    assert decoded == as_json.json()
    assert decoded["count"] == 3 and len(decoded["results"]) == 2


def test_me_in_messagepack(api, alice):
    response = api.as_user(alice).get("/api/auth/me", HTTP_ACCEPT="application/msgpack")

    assert response.status_code == 200
    assert msgpack.unpackb(response.content) == {"id": alice.pk, "username": "alice", "email": alice.email}


def test_json_stays_the_default(client, me):
    event = make_event(me)

    for accept in (None, "*/*", "application/*", "application/json, application/msgpack;q=0.5"):
        response = client.get(f"/api/events/{event.pk}", **({"HTTP_ACCEPT": accept} if accept else {}))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json", accept


@pytest.mark.parametrize(
    "raw",
    [
        msgpack.packb({1: "int key", "title": "x"}),
        b"\x81\x92\x01\x02\xa1x",  # a map whose key is an array
        b"\x81\xc0\xa1x",  # nil key
        msgpack.packb(EVENT)[:-5],
        msgpack.packb(EVENT)[:1],
    ],
    ids=["int-key", "array-key", "nil-key", "truncated", "header-only"],
)
def test_bad_messagepack_is_400_and_creates_nothing(client, raw):
    before = database_state()

    response = client.post("/api/events", raw, content_type="application/msgpack")

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 400
    assert database_state() == before


def test_a_messagepack_validation_error_names_the_field(client):
    before = database_state()

    response = client.post(
        "/api/events", msgpack.packb({**EVENT, "title": b"\x00binary"}), content_type="application/msgpack"
    )

    assert response.status_code == 400, response.content
    assert "title" in response.json()["errors"]
    assert database_state() == before


def test_an_error_asked_for_in_messagepack_is_still_a_problem(client):
    response = client.get("/api/events/999999", HTTP_ACCEPT="application/msgpack")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


@pytest.mark.parametrize("path", ["/api/auth/me", "/api/events", "/api/notifications"])
def test_format_picks_the_answer_and_an_unknown_one_is_a_406_not_a_404(client, path):
    # Found by the schema fuzzer: DRF answers 404 for an unknown ?format=, which here means "no such object".
    assert client.get(path, {"format": "msgpack"})["Content-Type"] == "application/msgpack"

    for unknown in ("xml", ""):  # an empty ?format= names no format either
        response = client.get(path, {"format": unknown})

        assert response.status_code == 406, (unknown, response.content)
        assert response["Content-Type"] == "application/problem+json"
        assert "json, msgpack, x-msgpack" in response.json()["detail"]
