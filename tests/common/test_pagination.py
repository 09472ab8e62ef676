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


@pytest.mark.parametrize("page_size, expected", [("1", 1), ("50", 50), ("100", 100)])
def test_page_size_is_at_most_100(client, events, page_size, expected):
    response = client.get(f"/api/events?page_size={page_size}")

    assert response.status_code == 200
    assert len(response.json()["results"]) == expected


@pytest.mark.parametrize("page_size", ["0", "-5", "abc", "", "1.5", "010", " 5", "101", "100000", str(2**63)])
@pytest.mark.parametrize("path", ["/api/events", "/api/notifications", "/api/events/deleted"])
def test_a_page_size_that_is_not_a_whole_number_from_1_to_100_is_a_400(client, events, path, page_size):
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


@pytest.mark.parametrize("page_size, pages", [(20, 6), (7, 15), (100, 2)])
def test_each_calendar_page_is_read_with_its_count_in_one_query(
    client, events, django_assert_num_queries, page_size, pages
):
    """The calendar's page and its size are one query (and the token's user one more), on every page."""
    seen = []
    for page in range(1, pages + 1):
        with django_assert_num_queries(2):
            body = client.get("/api/events", {"page": page, "page_size": page_size}).json()
        assert body["count"] == TOTAL
        assert len(body["results"]) == min(page_size, TOTAL - (page - 1) * page_size)
        seen += [e["id"] for e in body["results"]]
    assert seen == [e.pk for e in events]


def test_the_last_page_by_name_counts_first_then_reads_it(client, events, django_assert_num_queries):
    with django_assert_num_queries(3):  # the user, the count (to know which page is last), the page
        body = client.get("/api/events?page=last").json()

    assert body["count"] == TOTAL
    assert [e["id"] for e in body["results"]] == [e.pk for e in events[100:]]


@pytest.mark.parametrize("page", ["7", "999999999999999999999"])
def test_a_page_past_the_end_is_counted_apart_and_is_a_404(client, events, django_assert_num_queries, page):
    with django_assert_num_queries(3 if page == "7" else 2):  # the user, [the page: no rows,] the count
        assert_problem(client.get(f"/api/events?page={page}"), 404)


def test_an_empty_calendar_is_counted_apart(client, django_assert_num_queries):
    with django_assert_num_queries(3):  # the user, the page (no rows, so no count with them), the count
        body = client.get("/api/events").json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}
