"""Input hardening: instants near the ends of the calendar, huge integers, non-object items, flags,
DELETE bodies, the 404 of unknown /api paths. Bad input is a clear 4xx problem, never a 500, and
changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from rest_framework.throttling import SimpleRateThrottle

from common.exceptions import OUT_OF_RANGE, problem_exception_handler
from events.models import Event
from sharing.models import EventPermission
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import assert_problem, database_state, iso

pytestmark = pytest.mark.django_db

NEAR_YEAR_1 = "0001-01-01T00:00:00+05:00"
NEAR_YEAR_9999 = "9999-12-31T10:00:00Z"
RANGE_MESSAGE = "Must be between 1900-01-01 and 2200-12-31."
HUGE = 2**63


def assert_out_of_range(response, field: str) -> None:
    body = assert_problem(response, 400)
    assert body["type"] == "/problems/validation-error"
    assert body["errors"][field] == [RANGE_MESSAGE], body


# --- instants near year 1 / 9999 ----------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"start_time": NEAR_YEAR_1, "end_time": "2031-03-03T10:00:00Z"}, "start_time"),
        ({"start_time": "2031-03-03T10:00:00Z", "end_time": "9999-12-31T23:59:59-05:00"}, "end_time"),
        ({"start_time": NEAR_YEAR_9999, "end_time": NEAR_YEAR_9999, "is_all_day": True}, "start_time"),
        ({"start_time": "1899-12-31T23:59:59Z", "end_time": "2031-03-03T10:00:00Z"}, "start_time"),
        ({"start_time": "2031-03-03T10:00:00Z", "end_time": "2201-01-01T00:00:00"}, "end_time"),
    ],
    ids=["year-1-with-offset", "year-9999-with-offset", "year-9999-all-day", "1899", "2201-naive"],
)
def test_creating_an_event_outside_the_years_1900_to_2200_is_a_400(client, me, fields, field):
    before = database_state()

    response = client.post("/api/events", {"title": "Far", **fields})

    assert_out_of_range(response, field)
    assert database_state() == before


def test_the_first_and_last_days_of_the_range_are_accepted(client):
    response = client.post(
        "/api/events",
        {"title": "Edges", "start_time": "1900-01-01T00:00:00Z", "end_time": "2200-12-31T23:59:59Z"},
    )

    assert response.status_code == 201, response.content
    created = Event.objects.get(pk=response.json()["id"])
    assert (created.start_time.year, created.end_time.year) == (1900, 2200)


def test_an_all_day_event_on_the_last_day_of_the_range_is_accepted(client):
    response = client.post(
        "/api/events",
        {"title": "Last", "start_time": "2200-12-31T00:00:00", "end_time": "2200-12-31T00:00:00", "is_all_day": True},
    )

    assert response.status_code == 201, response.content


def test_updating_an_event_to_year_1_is_a_400_and_changes_nothing(client, event):
    before = database_state()

    response = client.patch(f"/api/events/{event.pk}", {"start_time": NEAR_YEAR_1})

    assert_out_of_range(response, "start_time")
    assert database_state() == before


@pytest.mark.parametrize("param", ["start", "end", "updated_since"])
@pytest.mark.parametrize("value", [NEAR_YEAR_1, NEAR_YEAR_9999])
def test_list_filters_outside_the_range_are_a_400(client, event, param, value):
    window = {"start": "2030-01-01T00:00:00Z", "end": "2030-02-01T00:00:00Z"}
    window[param] = value

    response = client.get("/api/events", window)

    body = assert_problem(response, 400)
    assert body["errors"][param] == [RANGE_MESSAGE]


def test_an_expanded_list_outside_the_range_is_a_400(client, series):
    response = client.get("/api/events", {"expand": "true", "start": NEAR_YEAR_1, "end": "2030-02-01T00:00:00Z"})

    assert_problem(response, 400)


@pytest.mark.parametrize("param", ["start", "end"])
def test_occurrence_windows_outside_the_range_are_a_400(client, series, param):
    window = {"start": "2030-01-01T00:00:00Z", "end": "2030-02-01T00:00:00Z", param: NEAR_YEAR_1}

    response = client.get(f"/api/events/{series.pk}/occurrences", window)

    assert_out_of_range(response, param)


@pytest.mark.parametrize("path", ["/api/freebusy", "/api/events/conflicts"])
@pytest.mark.parametrize("param", ["start", "end"])
def test_calendar_windows_outside_the_range_are_a_400(client, event, path, param):
    window = {"start": "2030-01-01T00:00:00Z", "end": "2030-02-01T00:00:00Z", param: NEAR_YEAR_9999}

    response = client.get(path, window)

    assert_out_of_range(response, param)


@pytest.mark.parametrize("path", ["/api/events", "/api/events/{id}", "/api/events/{id}/occurrences"])
def test_as_of_outside_the_range_is_a_400(client, series, path):
    response = client.get(path.format(id=series.pk), {"as_of": NEAR_YEAR_1})

    assert_out_of_range(response, "as_of")


@pytest.mark.parametrize("field", ["start_time", "end_time"])
@pytest.mark.parametrize("value", [NEAR_YEAR_1, NEAR_YEAR_9999])
def test_moving_an_occurrence_outside_the_range_is_a_400_and_changes_nothing(client, series, field, value):
    before = database_state()

    response = client.patch(f"/api/events/{series.pk}/occurrences/{iso(BASE_TIME)}", {field: value})

    assert_out_of_range(response, field)
    assert database_state() == before


def test_moving_an_all_day_occurrence_to_the_year_9999_is_a_400(client, me):
    series = make_event(
        me,
        title="Daily",
        start=datetime(2030, 1, 7, tzinfo=UTC),
        hours=24,
        is_all_day=True,
        recurrence={"rrule": "FREQ=DAILY;COUNT=3", "exdates": [], "rdates": []},
    )
    before = database_state()

    response = client.patch(f"/api/events/{series.pk}/occurrences/2030-01-07T00:00:00Z", {"start_time": NEAR_YEAR_9999})

    assert_out_of_range(response, "start_time")
    assert database_state() == before


def test_the_split_occurrence_outside_the_range_is_a_400(client, series):
    before = database_state()

    response = client.patch(
        f"/api/events/{series.pk}?scope=following&occurrence=0001-01-01T00:00:00%2B05:00", {"title": "New"}
    )

    assert_out_of_range(response, "occurrence")
    assert database_state() == before


@pytest.mark.parametrize("param", ["since", "until"])
def test_audit_times_outside_the_range_are_a_400(api, param):
    staff = UserFactory(is_staff=True, is_superuser=True)

    response = api.as_user(staff).get("/api/audit", {param: NEAR_YEAR_1})

    assert_out_of_range(response, param)


def test_a_transaction_with_a_time_outside_the_range_fails_with_its_index(client, event):
    before = database_state()

    response = client.post(
        "/api/transactions",
        {
            "operations": [
                {"op": "update", "event_id": event.pk, "data": {"title": "Renamed"}},
                {"op": "create", "data": {"title": "x", "start_time": NEAR_YEAR_1, "end_time": NEAR_YEAR_1}},
            ]
        },
    )

    body = assert_problem(response, 400)
    assert body["failed_index"] == 1 and body["errors"]["start_time"] == [RANGE_MESSAGE]
    assert database_state() == before


def test_an_overflow_that_gets_through_is_a_400_validation_problem():
    response = problem_exception_handler(OverflowError("date value out of range"), {})

    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["type"] == "/problems/validation-error"
    assert body["errors"] == {"non_field_errors": [OUT_OF_RANGE]}


def test_other_unexpected_errors_are_still_left_to_the_500_handler():
    assert problem_exception_handler(ValueError("a bug"), {}) is None


# --- huge integers ------------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", [HUGE, 10**30])
def test_sharing_with_a_huge_user_id_is_a_400(client, event, user_id):
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/share", {"users": [{"user_id": user_id, "role": "viewer"}]})

    body = assert_problem(response, 400)
    assert "user_id" in json.dumps(body["errors"]), body
    assert database_state() == before


def test_the_largest_id_is_valid_and_simply_unknown(client, event):
    before = database_state()

    response = client.post(f"/api/events/{event.pk}/share", {"users": [{"user_id": HUGE - 1, "role": "viewer"}]})

    # Not a 500, and not the 400 of an id out of range: the id is read, looked up, and named as unknown.
    body = assert_problem(response, 400)
    assert body["errors"] == {"users": {"0": ["No such user."]}}, body
    assert EventPermission.objects.filter(event=event).count() == 1
    assert database_state() == before


def test_a_transaction_share_with_a_huge_user_id_fails_with_its_index(client, event):
    before = database_state()

    response = client.post(
        "/api/transactions",
        {
            "operations": [
                {"op": "update", "event_id": event.pk, "data": {"title": "Renamed"}},
                {"op": "share", "event_id": event.pk, "users": [{"user_id": HUGE, "role": "viewer"}]},
            ]
        },
    )

    body = assert_problem(response, 400)
    assert body["failed_index"] == 1 and body["failed_op"] == "share"
    assert database_state() == before


def test_an_audit_filter_by_a_huge_actor_is_a_400(api):
    staff = UserFactory(is_staff=True, is_superuser=True)

    response = api.as_user(staff).get("/api/audit", {"actor": str(HUGE)})

    body = assert_problem(response, 400)
    assert "actor" in body["errors"]


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/events/{id}", {"title": "x", "base_version": HUGE}),
        ("/api/events/{id}/occurrences/2030-01-07T09:00:00Z", {"title": "x", "base_version": HUGE}),
        ("/api/events/{id}/rollback/1", {"base_version": HUGE}),
    ],
    ids=["event", "occurrence", "rollback"],
)
def test_a_huge_base_version_is_a_400_not_a_500(client, series, path, body):
    before = database_state()

    response = client.generic(
        "PATCH" if "rollback" not in path else "POST",
        path.format(id=series.pk),
        json.dumps(body),
        content_type="application/json",
    )

    assert list(assert_problem(response, 400)["errors"]) == ["base_version"]
    assert database_state() == before


def test_the_history_page_with_a_huge_page_number_shows_the_last_page(api, me, event):
    api.force_authenticate(me)

    response = api.get(f"/events/{event.pk}/history", {"page": "99999999999999999999"})

    assert response.status_code == 200
    assert "Planning" in response.content.decode()


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", ""])
def test_the_history_page_with_a_malformed_page_number_is_a_400(api, me, event, page):
    api.force_authenticate(me)

    response = api.get(f"/events/{event.pk}/history", {"page": page})

    assert response.status_code == 400


# --- batch and transactions with items that are not objects -------------------------------------


@pytest.mark.parametrize("item", ["a string", 42, None, ["a", "list"], True])
def test_a_batch_item_that_is_not_an_object_is_reported_by_index(client, item):
    good = {"title": "Good", "start_time": "2031-03-03T09:00:00Z", "end_time": "2031-03-03T10:00:00Z"}
    before = database_state()

    response = client.post("/api/events/batch", {"events": [good, item]})

    body = assert_problem(response, 400)
    assert body["type"] == "/problems/validation-error"
    assert isinstance(body["errors"], list) and [e["index"] for e in body["errors"]] == [1]
    assert body["errors"][0]["errors"] == {"non_field_errors": ["Expected an object with the event's fields."]}
    assert database_state() == before


def test_a_bare_list_batch_with_a_string_item_is_reported_by_index(client):
    response = client.post("/api/events/batch", ["nope"])

    body = assert_problem(response, 400)
    assert body["errors"][0]["index"] == 0


@pytest.mark.parametrize("operation", ["delete", 7, None, ["op", "create"]])
def test_a_transaction_operation_that_is_not_an_object_fails_with_its_index(client, event, operation):
    before = database_state()

    response = client.post(
        "/api/transactions",
        {"operations": [{"op": "update", "event_id": event.pk, "data": {"title": "Renamed"}}, operation]},
    )

    body = assert_problem(response, 400)
    assert body["failed_index"] == 1
    assert database_state() == before


def test_batch_and_transaction_lists_keep_their_length_limits(client):
    assert_problem(client.post("/api/events/batch", {"events": []}), 400)
    assert_problem(client.post("/api/events/batch", {"events": [{}] * 101}), 400)
    assert_problem(client.post("/api/transactions", {"operations": []}), 400)
    assert_problem(client.post("/api/transactions", {"operations": [{}] * 101}), 400)


# --- boolean query parameters: one parser -------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "Yes"])
def test_expand_accepts_the_true_spellings(client, series, value):
    response = client.get(
        "/api/events", {"expand": value, "start": "2030-01-01T00:00:00Z", "end": "2030-03-01T00:00:00Z"}
    )

    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 6  # occurrences, not events


@pytest.mark.parametrize("value", ["false", "False", "0", "no", ""])
def test_expand_accepts_the_false_spellings_and_empty(client, series, value):
    response = client.get(
        "/api/events", {"expand": value, "start": "2030-01-01T00:00:00Z", "end": "2030-03-01T00:00:00Z"}
    )

    assert response.status_code == 200, response.content
    assert [e["id"] for e in response.json()["results"]] == [series.pk]


@pytest.mark.parametrize("param", ["expand", "is_recurring"])
@pytest.mark.parametrize("value", ["maybe", "2", "on", "tru"])
def test_unknown_flag_values_are_a_400(client, series, param, value):
    response = client.get("/api/events", {param: value, "start": "2030-01-01T00:00:00Z", "end": "2030-03-01T00:00:00Z"})

    body = assert_problem(response, 400)
    assert param in body["errors"]


@pytest.mark.parametrize(
    "value, expected", [("TRUE", ["Weekly"]), ("Yes", ["Weekly"]), ("0", ["Planning"]), ("", ["Planning", "Weekly"])]
)
def test_is_recurring_reads_flags_like_expand(client, event, series, value, expected):
    response = client.get("/api/events", {"is_recurring": value})

    assert response.status_code == 200, response.content
    assert sorted(e["title"] for e in response.json()["results"]) == expected


def test_a_window_with_expand_spelled_in_capitals_is_applied_while_expanding(client, me):
    make_event(me, title="Later", start=BASE_TIME + timedelta(days=400))

    response = client.get(
        "/api/events", {"expand": "YES", "start": "2030-01-01T00:00:00Z", "end": "2030-03-01T00:00:00Z"}
    )

    assert response.status_code == 200
    assert response.json()["results"] == []


# --- DELETE with base_version in the body -------------------------------------------------------


def test_a_stale_delete_with_base_version_in_the_body_is_a_412(client, event):
    client.patch(f"/api/events/{event.pk}", {"title": "Renamed"})  # now version 2
    before = database_state()

    response = client.delete(f"/api/events/{event.pk}", {"base_version": 1})

    assert_problem(response, 412)
    assert database_state() == before
    event.refresh_from_db()
    assert event.deleted_at is None and event.version == 2


def test_a_current_delete_body_deletes_with_its_reason(client, event):
    response = client.delete(f"/api/events/{event.pk}", {"base_version": 1, "change_reason": "Cancelled"})

    assert response.status_code == 204
    event.refresh_from_db()
    assert event.deleted_at is not None
    last = Event.history.filter(id=event.pk).latest("version")
    assert (last.version, last.history_change_reason) == (2, "Cancelled")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"base_version": 0}, "base_version"),
        ({"base_version": "x"}, "base_version"),
        ({"change_reason": 5}, "change_reason"),
    ],
)
def test_an_invalid_delete_body_is_a_400_and_deletes_nothing(client, event, body, field):
    before = database_state()

    response = client.delete(f"/api/events/{event.pk}", body)

    assert field in assert_problem(response, 400)["errors"]
    assert database_state() == before


def test_a_delete_body_that_is_not_an_object_is_a_400(client, event):
    before = database_state()

    response = client.delete(f"/api/events/{event.pk}", [1], format="json")

    assert_problem(response, 400)
    assert database_state() == before


def test_a_stale_occurrence_cancel_with_base_version_in_the_body_is_a_412(client, series):
    client.patch(f"/api/events/{series.pk}", {"title": "Renamed"})  # now version 2
    before = database_state()

    response = client.delete(f"/api/events/{series.pk}/occurrences/{iso(BASE_TIME)}", {"base_version": 1})

    assert_problem(response, 412)
    assert database_state() == before


def test_a_current_occurrence_cancel_body_is_used(client, series):
    response = client.delete(
        f"/api/events/{series.pk}/occurrences/{iso(BASE_TIME)}", {"base_version": 1, "change_reason": "Holiday"}
    )

    assert response.status_code == 204
    last = Event.history.filter(id=series.pk).latest("version")
    assert (last.version, last.history_change_reason) == (2, "Holiday")


def test_a_delete_without_a_body_still_works(client, event):
    assert client.delete(f"/api/events/{event.pk}").status_code == 204


# --- unknown /api paths and early refusals carry the RateLimit headers ---------------------------


def limits(response) -> tuple[int, int, int]:
    return tuple(int(response[name]) for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"))


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options", "head"])
@pytest.mark.parametrize("who", ["user", "anonymous", "bad-token"])
def test_an_unknown_api_path_is_a_404_with_ratelimit_headers(api, me, method, who):
    if who == "user":
        api.as_user(me)
    elif who == "bad-token":
        api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = getattr(api, method)("/api/no/such/thing")

    assert response.status_code == 404
    if method != "head":
        assert assert_problem(response, 404)["type"] == "/problems/not-found"
    limit, remaining, _ = limits(response)
    assert 0 <= remaining < limit


def test_unknown_api_paths_count_against_the_rate_limit(api, me, settings, monkeypatch):
    lowered = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", lowered)  # DRF binds the rates at import
    api.as_user(me)

    answers = [api.get("/api/nope") for _ in range(3)]

    assert [r.status_code for r in answers] == [404, 404, 429]
    assert [limits(r)[:2] for r in answers[:2]] == [(2, 1), (2, 0)]


OVERSIZED = {"title": "x", "description": "d" * (1024 * 1024 + 1)}


@pytest.mark.parametrize("method", ["post", "put", "patch"])
@pytest.mark.parametrize("who", ["user", "anonymous", "bad-token"])
def test_a_413_for_an_oversized_body_carries_ratelimit_headers_and_changes_nothing(api, me, event, method, who):
    if who == "user":
        api.as_user(me)
    elif who == "bad-token":
        api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    path = "/api/events" if method == "post" else f"/api/events/{event.pk}"
    before = database_state()

    response = getattr(api, method)(path, OVERSIZED, format="json")

    assert assert_problem(response, 413)["max_bytes"] == 1024 * 1024
    limit, remaining, _ = limits(response)
    assert 0 <= remaining < limit
    assert database_state() == before


@pytest.mark.parametrize("accept", ["application/xml", "application/msgpack"])
def test_a_413_is_problem_json_whatever_the_accept_header(client, accept):
    response = client.post("/api/events", OVERSIZED, format="json", HTTP_ACCEPT=accept)

    assert assert_problem(response, 413)["max_bytes"] == 1024 * 1024  # not a 406
    assert "Allow" not in response
    limit, remaining, _ = limits(response)
    assert 0 <= remaining < limit


def test_a_non_numeric_content_length_is_a_400_with_ratelimit_headers(client):
    response = client.generic("POST", "/api/events", b"{}", content_type="application/json", CONTENT_LENGTH="ten")

    assert assert_problem(response, 400)["detail"] == "Content-Length is not a number."
    limit, remaining, _ = limits(response)
    assert 0 <= remaining < limit


def test_oversized_bodies_count_against_the_rate_limit(api, me, settings, monkeypatch):
    lowered = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", lowered)  # DRF binds the rates at import
    api.as_user(me)
    before = database_state()

    answers = [api.post("/api/events", OVERSIZED, format="json") for _ in range(3)]
    after = api.get("/api/events")

    assert [r.status_code for r in answers] == [413, 413, 429]
    assert [limits(r)[:2] for r in answers[:2]] == [(2, 1), (2, 0)]
    assert assert_problem(answers[2], 429)["type"] == "/problems/rate-limited"
    assert int(answers[2]["Retry-After"]) > 0
    assert limits(answers[2])[:2] == (2, 0)
    assert after.status_code == 429  # the refusals used up the limit for the caller's other requests
    assert database_state() == before


def test_a_malformed_idempotency_key_answer_carries_ratelimit_headers(client):
    response = client.post("/api/events", {"title": "x"}, HTTP_IDEMPOTENCY_KEY="bad key with spaces")

    assert assert_problem(response, 400)["errors"] == {
        "Idempotency-Key": ["Must be 1 to 255 visible ASCII characters."]
    }
    limit, remaining, _ = limits(response)
    assert 0 <= remaining < limit


# --- the OpenAPI descriptions -------------------------------------------------------------------


def test_no_operation_publishes_a_mixin_docstring_and_the_catch_all_is_not_documented(tmp_path):
    target = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(target))
    schema = json.loads(target.read_text())

    descriptions = [
        operation.get("description", "")
        for operations in schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
    ]
    assert descriptions and not any("DRF checks throttles" in text for text in descriptions)
    assert not any(".*" in path for path in schema["paths"])


@pytest.mark.parametrize(
    "path, param",
    [
        ("/api/events", "start"),
        ("/api/events", "updated_since"),
        ("/api/events/{series}/occurrences", "start"),
        ("/api/events/{series}/occurrences", "limit"),
        ("/api/freebusy?end=2026-01-02T00:00:00Z", "start"),
        ("/api/events/conflicts?start=2026-01-01T00:00:00Z", "end"),
        ("/api/events/{series}/changelog", "order"),
        ("/api/audit", "until"),
        ("/api/audit", "target_type"),
        ("/api/sync", "limit"),
    ],
)
def test_a_query_parameter_sent_empty_is_a_400_not_an_ignored_filter(api, me, series, path, param):
    """`?until=` is a bad value, not "no filter": a client bug must not silently widen the answer."""
    me.is_staff = True  # /api/audit is for staff
    me.save(update_fields=["is_staff"])
    url = path.format(series=series.pk)

    response = api.as_user(me).get(f"{url}{'&' if '?' in url else '?'}{param}=")

    assert_problem(response, 400)
    assert param in response.json()["errors"], response.json()
