"""Paginated collections: {count, next, previous, results}, ?page= and ?page_size= (default 20, at most 100)."""

from datetime import timedelta

import pytest

from tests.factories import BASE_TIME, make_event
from tests.helpers import assert_problem

TOTAL = 105


@pytest.fixture
def events(me):
    return [make_event(me, title=f"Event {n:03}", start=BASE_TIME + timedelta(hours=n)) for n in range(TOTAL)]


def test_an_empty_collection(client):
    response = client.get("/api/events")

    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_default_page_is_20(client, events):
    body = client.get("/api/events").json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == TOTAL
    assert len(body["results"]) == 20
    assert [e["id"] for e in body["results"]] == [e.pk for e in events[:20]]
    assert body["previous"] is None
    assert "page=2" in body["next"]


@pytest.mark.parametrize(
    "page_size, expected", [("1", 1), ("50", 50), ("100", 100), ("101", 100), ("100000", 100), (str(2**63 - 1), 100)]
)
def test_page_size_is_capped_at_100(client, events, page_size, expected):
    response = client.get(f"/api/events?page_size={page_size}")

    assert response.status_code == 200
    assert len(response.json()["results"]) == expected


@pytest.mark.parametrize("page_size", ["0", "-5", "abc", "", "1.5", "010", " 5", str(2**63)])
@pytest.mark.parametrize("path", ["/api/events", "/api/notifications", "/api/events/deleted"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400(client, events, path, page_size):
    response = client.get(path, {"page_size": page_size})

    assert_problem(response, 400)
    assert "page_size" in response.json()["errors"]


def test_following_next_visits_every_event_once_in_order(client, events):
    seen, url, pages = [], "/api/events?page_size=30", 0
    while url:
        body = client.get(url).json()
        seen += [e["id"] for e in body["results"]]
        url = body["next"]
        pages += 1

    assert pages == 4
    assert seen == [e.pk for e in events]


def test_the_last_page_links_back(client, events):
    body = client.get("/api/events?page=6").json()

    assert len(body["results"]) == TOTAL - 5 * 20
    assert body["next"] is None
    assert "page=5" in body["previous"]


def test_next_keeps_the_filters(client, events):
    body = client.get("/api/events?q=Event+0&page_size=10").json()

    assert body["count"] == 100  # Event 000 .. Event 099
    assert "q=Event" in body["next"]
    second = client.get(body["next"]).json()
    assert all(e["title"].startswith("Event 0") for e in second["results"])


@pytest.mark.parametrize("page", ["0", "7", "999999999999999999999", "abc", "-1"])
def test_a_page_that_does_not_exist_is_a_404_problem(client, events, page):
    assert_problem(client.get(f"/api/events?page={page}"), 404)
