"""The calendar's pages read as their representations, each remembered per row (events/representation.py
`shown_event`): the same answers as EventSerializer gives of the ORM's events, a row read again is not made
again, and any change of what an answer shows — whichever way it is written — shows at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db.models import CharField, DateField, Value
from django.test import override_settings
from rest_framework.renderers import JSONRenderer

from common.prepared_queries import PreparedQuery
from events import selectors
from events.models import Event
from events.representation import SHOWN_ROW_TEXT_MAX, _shown
from events.serializers import EventSerializer
from sharing import services as sharing_services
from sharing.models import EventPermission
from sharing.roles import Role
from tests.factories import BASE_TIME, UserFactory, make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar(me):
    """Mine: 6 events (a series with an exception, one all-day in Tokyo); another user's, shared with me."""
    other = UserFactory(username="other")
    made = [make_event(me, title=f"E{n}", start=BASE_TIME + timedelta(hours=n)) for n in range(4)]
    made.append(
        make_event(
            me,
            title="Series",
            start=BASE_TIME + timedelta(hours=4, minutes=30),
            timezone="Europe/Berlin",
            recurrence={"rrule": "FREQ=DAILY;COUNT=3", "exdates": [], "rdates": []},
        )
    )
    made.append(make_event(me, title="Holiday", start=BASE_TIME, hours=24, is_all_day=True, timezone="Asia/Tokyo"))
    shared = make_event(other, title="Theirs", start=BASE_TIME + timedelta(minutes=10), location="Room 9")
    sharing_services.event_share(event=shared, actor=other, targets=[{"user_id": me.pk, "role": Role.VIEWER}])
    return {"mine": made, "shared": shared, "other": other}


def expected(user, window: slice) -> list[dict]:
    """What the list answered before its rows were remembered: EventSerializer of the ORM's page."""
    page = list(selectors.events_visible(user=user).order_by("start_time", "id")[window])
    return EventSerializer(page, many=True).data


def shown(user, window: slice, *, read_ahead: bool) -> list[dict]:
    """A page as the list reads it: with its count (`read_page`, as the paginator asks), or alone."""
    pages = selectors.CalendarPages(user, shown=True)
    if read_ahead:
        pages.read_page(offset=window.start, limit=window.stop - window.start)
        window = slice(window.start, max(window.start, min(window.stop, pages.count())))  # as the paginator slices
    return pages[window]


@pytest.mark.parametrize("read_ahead", [True, False], ids=["with its count", "alone"])
def test_a_shown_page_is_what_the_serializer_gives_of_the_orms_events(me, calendar, read_ahead):
    for user in (me, calendar["other"]):
        for window in (slice(0, 20), slice(2, 5), slice(6, 7)):
            page = shown(user, window, read_ahead=read_ahead)
            assert page == expected(user, window)
            assert JSONRenderer().render(page) == JSONRenderer().render(expected(user, window))  # byte for byte
    page = shown(me, slice(0, 20), read_ahead=read_ahead)
    assert len(page) == 7
    assert {item["my_role"] for item in page} == {"owner", "viewer"}
    assert next(item for item in page if item["title"] == "Holiday")["start_time"].endswith("+09:00")
    assert next(item for item in page if item["title"] == "Series")["recurrence_pattern"]["rrule"] == (
        "FREQ=DAILY;COUNT=3"
    )


def test_a_row_read_again_is_not_made_again(me, calendar, django_assert_num_queries):
    first = shown(me, slice(0, 20), read_ahead=True)
    with django_assert_num_queries(1):  # the page is still read, each time
        again = shown(me, slice(0, 20), read_ahead=True)
    assert again == first
    assert all(now is before for now, before in zip(again, first, strict=True))  # the remembered answers
    alone = shown(me, slice(0, 20), read_ahead=False)  # another query (no count): its own rows
    assert alone == first


def test_each_caller_has_their_own_rows(me, calendar):
    theirs = {item["id"]: item for item in shown(calendar["other"], slice(0, 20), read_ahead=True)}
    mine = {item["id"]: item for item in shown(me, slice(0, 20), read_ahead=True)}
    shared = calendar["shared"].pk
    assert (theirs[shared]["my_role"], mine[shared]["my_role"]) == ("owner", "viewer")
    assert theirs[shared] is not mine[shared]


def _change_through_the_api(api, me, calendar):
    assert api.as_user(me).patch(f"/api/events/{calendar['mine'][0].pk}", {"title": "Renamed"}).status_code == 200


def _change_with_an_update(api, me, calendar):  # not through a service: no version, no signal
    Event.objects.filter(pk=calendar["mine"][1].pk).update(location="Moved by hand")


def _change_a_role(api, me, calendar):
    EventPermission.objects.filter(event=calendar["shared"], user=me).update(role=Role.EDITOR)


def _rename_an_owner(api, me, calendar):
    other = calendar["other"]
    other.username = "renamed"
    other.save(update_fields=["username"])


def _move_an_event(api, me, calendar):
    event = calendar["mine"][2].pk
    moved = api.as_user(me).patch(
        f"/api/events/{event}", {"start_time": "2030-06-01T12:00:00", "end_time": "2030-06-01T13:00:00"}
    )
    assert moved.status_code == 200, moved.content


def _share_a_new_event(api, me, calendar):
    event = make_event(calendar["other"], title="New", start=BASE_TIME - timedelta(hours=1))
    sharing_services.event_share(event=event, actor=calendar["other"], targets=[{"user_id": me.pk, "role": "editor"}])


@pytest.mark.parametrize(
    "change",
    [
        _change_through_the_api,
        _change_with_an_update,
        _change_a_role,
        _rename_an_owner,
        _move_an_event,
        _share_a_new_event,
    ],
)
def test_any_change_shows_at_once(api, me, calendar, change):
    before = shown(me, slice(0, 20), read_ahead=True)
    assert before == expected(me, slice(0, 20))
    change(api, me, calendar)
    after = shown(me, slice(0, 20), read_ahead=True)
    assert after == expected(me, slice(0, 20))
    assert after != before


def test_the_instants_follow_the_time_zone_setting(me, calendar):
    in_utc = shown(me, slice(0, 20), read_ahead=True)
    assert in_utc[0]["created_at"].endswith("Z")
    with override_settings(TIME_ZONE="Asia/Kolkata"):
        in_kolkata = shown(me, slice(0, 20), read_ahead=True)
        assert in_kolkata == expected(me, slice(0, 20))
        assert in_kolkata[0]["created_at"].endswith("+05:30")
    assert shown(me, slice(0, 20), read_ahead=True) == in_utc


def test_a_rows_key_is_its_querys_and_its_values(me, calendar):
    by_title = PreparedQuery(lambda title: Event.objects.filter(title=title).only("id", "title"), title=str)
    by_location = PreparedQuery(lambda title: Event.objects.filter(title=title).only("id", "location"), title=str)
    Event.objects.filter(pk=calendar["mine"][0].pk).update(location="E0")  # the same values in both rows
    one, two = by_title.fetch_rows(title="E0"), by_location.fetch_rows(title="E0")
    assert one.rows == two.rows
    assert one.key(one.rows[0]) != two.key(two.rows[0])  # a title is not a location

    page = selectors._CALENDAR_PAGE.fetch_rows(user_id=me.pk, limit=2)
    alone = selectors._CALENDAR.fetch_rows(user_id=me.pk, limit=2)
    assert page.annotation(page.rows[0], "calendar_size") == 7
    *_query, values = page.key(page.rows[0], leaving_out="calendar_size")
    assert values == alone.rows[0]  # the count is left out: a new event elsewhere does not change the row's key


def test_a_rows_key_holds_the_constants_its_query_runs_with(me, calendar):
    """The same SQL run with other constants is another query: its rows are not the same rows."""
    as_date = PreparedQuery(
        lambda title: Event.objects.filter(title=title).annotate(on=Value("2030-01-01", output_field=DateField())),
        title=str,
    )
    as_text = PreparedQuery(
        lambda title: Event.objects.filter(title=title).annotate(on=Value("2030-01-01", output_field=CharField())),
        title=str,
    )
    one, two = as_date.fetch_rows(title="E0"), as_text.fetch_rows(title="E0")
    assert one.instance(one.rows[0]).on != two.instance(two.rows[0]).on
    assert one.key(one.rows[0]) != two.key(two.rows[0])


def test_nothing_an_answer_goes_through_changes_the_remembered_rows(api, me, calendar):
    """The remembered answers are shared between requests and callers: a page made from them, rendered every way
    (JSON, MessagePack, the browsable API), cached and read from the cache, must leave them as they were."""
    client = api.as_user(me)
    shown(me, slice(0, 20), read_ahead=True)  # every row of the page remembered
    for accept in ("application/json", "application/msgpack", "text/html"):
        cache.clear()  # a miss: the page is made again, from the remembered rows, and rendered in this format
        hits = _shown.cache_info().hits
        for _ in range(2):  # made, then from the cache
            answer = client.get("/api/events", HTTP_ACCEPT=accept)
            assert answer.status_code == 200, answer.content[:300]
        assert _shown.cache_info().hits - hits == 7, accept  # made once, of the 7 rows remembered
    page = shown(me, slice(0, 20), read_ahead=True)
    assert page == expected(me, slice(0, 20))


def test_the_list_makes_only_the_rows_that_changed(api, me, calendar):
    """The endpoint itself reads its page through the remembered rows: a miss after a change makes one row."""
    client = api.as_user(me)
    assert client.get("/api/events").status_code == 200
    made = _shown.cache_info().misses
    assert made == 7
    _change_through_the_api(api, me, calendar)  # the cached page is now stale: the next read misses
    answer = client.get("/api/events")
    assert answer.status_code == 200
    assert _shown.cache_info().misses == made + 1  # the renamed event; the six others were remembered
    assert answer.json()["results"] == expected(me, slice(0, 20))


def test_a_long_row_is_shown_but_not_kept(me, calendar):
    long = "word " * (SHOWN_ROW_TEXT_MAX // 5 + 1)
    Event.objects.filter(pk=calendar["mine"][0].pk).update(description=long)
    first, again = shown(me, slice(0, 20), read_ahead=True), shown(me, slice(0, 20), read_ahead=True)
    assert first == again == expected(me, slice(0, 20))
    kept = {item["id"]: now is item for now, item in zip(again, first, strict=True)}
    assert kept.pop(calendar["mine"][0].pk) is False  # made again each time: memory stays bounded
    assert all(kept.values())
