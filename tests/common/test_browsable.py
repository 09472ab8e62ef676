"""The browsable API: HTML for a browser that asks for it, JSON (and problem+json) for every other client,
and a Django session as the browser's way in: audited, rate limited, CSRF on its writes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from events.models import Event
from history.models import AuditEntry
from tests.factories import BASE_TIME, PASSWORD, make_event
from tests.helpers import database_state

pytestmark = pytest.mark.django_db

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
NEW = {"title": "From a browser", "start_time": "2030-02-01T10:00:00Z", "end_time": "2030-02-01T11:00:00Z"}


def logged_in(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    page = client.get("/session/login")
    assert page.status_code == 200
    response = client.post(
        "/session/login",
        {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
        format="multipart",
    )
    assert response.status_code == 302, response.content
    return client


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_clients_that_do_not_ask_for_html_get_json_as_before(api, user, accept):
    make_event(user)
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api.as_user(user).get("/api/events", **headers)
    assert response["Content-Type"] == "application/json"
    assert response.json()["count"] == 1
    refused = APIClient().get("/api/events", **headers)
    assert (refused.status_code, refused["Content-Type"]) == (401, "application/problem+json")


def test_messagepack_is_unchanged(api, user):
    response = api.as_user(user).get("/api/events", HTTP_ACCEPT="application/msgpack")
    assert response["Content-Type"] == "application/msgpack"


def test_a_browser_gets_the_browsable_page_and_a_way_in(user):
    anonymous = APIClient().get("/api/events", HTTP_ACCEPT=BROWSER)
    assert (anonymous.status_code, anonymous["Content-Type"]) == (401, "text/html; charset=utf-8")
    assert b'href="/session/login?next=/api/events"' in anonymous.content.replace(b"'", b'"')
    assert b"Authentication credentials were not provided." in anonymous.content

    make_event(user, title="Seen in the browser")
    page = logged_in(user).get("/api/events", HTTP_ACCEPT=BROWSER)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert b"Seen in the browser" in page.content and b"Log out" in page.content
    assert page["RateLimit-Limit"]  # the session path is rate limited like any other


def test_a_session_login_is_audited_and_a_failed_one_too(user):
    client = APIClient(enforce_csrf_checks=True)
    client.get("/session/login")
    token = client.cookies["csrftoken"].value
    wrong = client.post(
        "/session/login", {"username": user.username, "password": "wrong", "csrfmiddlewaretoken": token}, "multipart"
    )
    assert wrong.status_code == 200 and b"No active account" in wrong.content
    logged_in(user)
    assert list(AuditEntry.objects.order_by("pk").values_list("action", "data")) == [
        ("auth.login_failed", {"username": user.username}),
        ("auth.login", {"via": "session"}),
    ]


def test_session_writes_need_the_csrf_token(user):
    client = logged_in(user)
    before = database_state()
    refused = client.post("/api/events", NEW, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not Event.objects.exists()
    assert database_state() == before
    created = client.post("/api/events", NEW, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert created.status_code == 201, created.content
    assert Event.objects.get().owner == user


def test_logging_out_ends_the_session(user):
    client = logged_in(user)
    response = client.post("/session/logout", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value}, "multipart")
    assert response.status_code == 200  # the logged-out page
    assert client.get("/api/events").status_code == 401
    assert AuditEntry.objects.filter(action="auth.logout", data={"via": "session"}).exists()


def test_the_login_form_is_rate_limited_like_the_token_login(user, rates):
    rates(auth_username="2/min")
    client = APIClient(enforce_csrf_checks=True)
    client.get("/session/login")
    body = {"username": user.username, "password": "wrong", "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    statuses = [client.post("/session/login", body, "multipart").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    last = client.post("/session/login", {**body, "password": PASSWORD}, "multipart")
    assert last.status_code == 429 and int(last["Retry-After"]) >= 1 and last["RateLimit-Remaining"] == "0"


def test_showing_the_login_form_counts_per_client_address(user, rates):
    rates(anon="2/min")
    answers = [APIClient().get("/session/login") for _ in range(3)]  # no cookies: one address, three people
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1]["RateLimit-Remaining"] == "0"
    refused = answers[2]
    assert refused["Content-Type"].startswith("text/html") and int(refused["Retry-After"]) >= 1
    assert "Too many" in refused.content.decode()
    assert APIClient(REMOTE_ADDR="203.0.113.9").get("/session/login").status_code == 200  # another address


def test_an_idempotency_key_of_a_session_is_not_replayed_to_anyone_else(user):
    client = logged_in(user)
    csrf = client.cookies["csrftoken"].value
    first = client.post("/api/events", NEW, format="json", HTTP_X_CSRFTOKEN=csrf, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    stranger = APIClient().post("/api/events", NEW, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert stranger.status_code == 401
    assert Event.objects.filter(start_time=BASE_TIME.replace(year=2030, month=2, day=1, hour=10)).count() == 1


def test_a_session_user_is_rate_limited_like_a_token_user(user, rates):
    client = logged_in(user)
    rates(user="2/min")
    answers = [client.get("/api/events", HTTP_ACCEPT=BROWSER) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1]["RateLimit-Remaining"] == "0" and int(answers[2]["Retry-After"]) >= 1


def test_format_api_is_not_a_format_of_the_api(api, user):
    response = api.as_user(user).get("/api/events?format=api")
    assert (response.status_code, response["Content-Type"]) == (406, "application/problem+json")
    assert "api" not in response.json()["detail"].split("use one of:")[1]
