"""REPORTs: calendar-query by time range (occurrences, recurring series included) and sync-collection (RFC 6578)."""

from datetime import UTC, datetime, timedelta

import pytest

from events import services as event_services
from notifications.retention import feed_prune
from sharing import services as sharing_services
from tests.factories import BASE_TIME, make_event

from .conftest import error_condition, member_name, responses, share, sync

WEEKLY = {"rrule": "FREQ=WEEKLY;COUNT=10", "exdates": [], "rdates": []}


def _query(client, path, time_range: str = "", inner: str = "") -> set[str]:
    body = (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>'
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f"{time_range}{inner}</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )
    return set(responses(client.report(path, body)))


def _range(start: datetime, end: datetime) -> str:
    return f'<C:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/>'


def test_time_range_finds_events_by_their_occurrences(team):
    owner = team["owner"]
    single = make_event(owner.user, title="Once")  # BASE_TIME, an hour
    series = make_event(owner.user, title="Weekly", start=BASE_TIME - timedelta(days=14), recurrence=WEEKLY)
    later = make_event(owner.user, title="Later", start=BASE_TIME + timedelta(days=200))
    href = {e.pk: f"{owner.writable}{e.uid}.ics" for e in (single, series, later)}

    week = _range(BASE_TIME - timedelta(hours=1), BASE_TIME + timedelta(days=1))
    assert _query(owner, owner.writable, week) == {href[single.pk], href[series.pk]}
    # Between two occurrences of the series (Tuesday to Sunday): only what happens then.
    gap = _range(BASE_TIME + timedelta(days=1), BASE_TIME + timedelta(days=6))
    assert _query(owner, owner.writable, gap) == set()
    # After the series' last occurrence (ten weeks from its start).
    assert _query(owner, owner.writable, _range(BASE_TIME + timedelta(days=150), BASE_TIME + timedelta(days=300))) == {
        href[later.pk]
    }
    assert _query(owner, owner.writable) == set(href.values())  # no time-range: everything


def test_a_cancelled_occurrence_is_not_found_and_a_moved_one_is_found_where_it_is(team):
    owner = team["owner"]
    series = make_event(owner.user, start=BASE_TIME, recurrence=WEEKLY)
    second = BASE_TIME + timedelta(days=7)
    event_services.event_occurrence_change(
        event=series, actor=owner.user, original_start=second, changes={"cancelled": True}
    )
    href = f"{owner.writable}{series.uid}.ics"
    assert _query(owner, owner.writable, _range(second, second + timedelta(hours=1))) == set()
    series.refresh_from_db()
    third = BASE_TIME + timedelta(days=14)
    moved = BASE_TIME + timedelta(days=16)
    event_services.event_occurrence_change(
        event=series,
        actor=owner.user,
        original_start=third,
        changes={"start": moved, "end": moved + timedelta(hours=1)},
        conflict_strategy="allow",
    )
    assert _query(owner, owner.writable, _range(moved, moved + timedelta(hours=1))) == {href}


def test_other_components_match_nothing_and_only_the_read_only_calendar_holds_viewed_events(team):
    owner, viewer = team["owner"], team["viewer"]
    event = make_event(owner.user)
    share(event, owner.user, viewer=viewer.user)
    todo = (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>'
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/></C:comp-filter></C:filter>'
        "</C:calendar-query>"
    )
    assert responses(owner.report(owner.writable, todo)) == {}
    assert _query(viewer, viewer.shared) == {viewer.shared + member_name(viewer, event)}
    assert _query(viewer, viewer.writable) == set()


@pytest.mark.parametrize(
    "time_range, condition",
    [
        ('<C:time-range start="yesterday"/>', "valid-filter"),
        ("<C:time-range/>", "valid-filter"),
        ('<C:time-range start="20300102T000000Z" end="20300101T000000Z"/>', "valid-filter"),
        ('<C:param-filter name="X"/>', "valid-filter"),  # only inside a prop-filter
        (
            '<C:prop-filter name="SUMMARY"><C:is-not-defined/><C:text-match>x</C:text-match></C:prop-filter>',
            "valid-filter",
        ),
        (
            '<C:prop-filter name="SUMMARY"><C:text-match negate-condition="maybe">x</C:text-match></C:prop-filter>',
            "valid-filter",
        ),
        ("<C:prop-filter/>", "valid-filter"),
        ('<C:prop-filter name="DTSTART"><C:time-range start="20300101T000000Z"/></C:prop-filter>', "supported-filter"),
        ('<C:comp-filter name="VALARM"><C:time-range start="20300101T000000Z"/></C:comp-filter>', "supported-filter"),
        ('<C:comp-filter name="VTIMEZONE"/>', "supported-filter"),
        (
            '<C:prop-filter name="SUMMARY"><C:text-match collation="i;basic">x</C:text-match></C:prop-filter>',
            "supported-collation",
        ),
    ],
)
def test_filters_we_cannot_answer_are_refused_with_their_precondition(team, time_range, condition):
    owner = team["owner"]
    body = (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>'
        f'<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">{time_range}</C:comp-filter>'
        "</C:comp-filter></C:filter></C:calendar-query>"
    )
    response = owner.report(owner.writable, body)
    assert response.status_code == 403
    assert error_condition(response) == "{urn:ietf:params:xml:ns:caldav}" + condition


def test_an_unknown_report_is_refused(team):
    response = team["owner"].report(team["owner"].writable, '<D:expand-property xmlns:D="DAV:"/>')
    assert response.status_code == 403
    assert error_condition(response) == "{DAV:}supported-report"


# --- sync-collection ---------------------------------------------------------------------------------------


def test_first_sync_lists_everything_then_nothing_changed(team):
    owner = team["owner"]
    events = [make_event(owner.user, start=BASE_TIME + timedelta(days=d)) for d in range(3)]
    listed, token = sync(owner, owner.writable)
    assert listed == {f"{owner.writable}{e.uid}.ics": 200 for e in events}
    again, same = sync(owner, owner.writable, token)
    assert (again, same) == ({}, token)


def test_changes_deletions_and_new_events_come_once_each(team):
    owner = team["owner"]
    _unchanged, changed, deleted = (make_event(owner.user, start=BASE_TIME + timedelta(days=d)) for d in range(3))
    _, token = sync(owner, owner.writable)
    event_services.event_update(event=changed, actor=owner.user, changes={"title": "One"})
    changed.refresh_from_db()
    event_services.event_update(event=changed, actor=owner.user, changes={"title": "Two"})
    event_services.event_delete(event=deleted, actor=owner.user)
    new = make_event(owner.user, start=BASE_TIME + timedelta(days=5))
    delta, token = sync(owner, owner.writable, token)
    assert delta == {
        f"{owner.writable}{changed.uid}.ics": 200,
        f"{owner.writable}{deleted.uid}.ics": 404,
        f"{owner.writable}{new.uid}.ics": 200,
    }
    assert sync(owner, owner.writable, token)[0] == {}


def test_a_removed_share_is_a_404_member_and_a_role_change_moves_the_event(team):
    owner, viewer, editor = team["owner"], team["viewer"], team["editor"]
    event = make_event(owner.user)
    share(event, owner.user, viewer=viewer.user, editor=editor.user)
    _, shared_token = sync(viewer, viewer.shared)
    _, writable_token = sync(viewer, viewer.writable)
    _, editor_token = sync(editor, editor.writable)
    href = member_name(viewer, event)

    sharing_services.permission_set_role(event=event, actor=owner.user, user_id=viewer.user.pk, role="editor")
    assert sync(viewer, viewer.shared, shared_token)[0] == {viewer.shared + href: 404}
    assert sync(viewer, viewer.writable, writable_token)[0] == {viewer.writable + href: 200}

    sharing_services.permission_revoke(event=event, actor=owner.user, user_id=editor.user.pk)
    assert sync(editor, editor.writable, editor_token)[0] == {editor.writable + href: 404}


def test_limit_truncates_with_507_and_the_token_continues_without_a_gap(team):
    owner = team["owner"]
    events = [make_event(owner.user, start=BASE_TIME + timedelta(days=d)) for d in range(5)]
    collection = owner.writable
    first, token = sync(owner, collection, limit=2)
    assert first.pop(collection) == 507 and len(first) == 2
    seen = dict(first)
    while True:
        page, token = sync(owner, collection, token, limit=2)
        truncated = page.pop(collection, None) == 507
        seen.update(page)
        if not truncated:
            break
    assert seen == {f"{collection}{e.uid}.ics": 200 for e in events}

    for event in events:
        event_services.event_update(event=event, actor=owner.user, changes={"title": "Renamed"})
    changed, token = sync(owner, collection, token, limit=3)
    assert changed.pop(collection) == 507 and len(changed) == 3
    rest, token = sync(owner, collection, token, limit=3)
    assert collection not in rest and len(rest) == 2
    assert set(changed) | set(rest) == set(seen)


def test_an_unknown_foreign_or_pruned_token_is_refused_with_valid_sync_token(team):
    owner, viewer = team["owner"], team["viewer"]
    make_event(owner.user)
    _, token = sync(owner, owner.writable)
    _, viewers = sync(viewer, viewer.writable)
    for bad in ("data:,nonsense", "http://example.com/sync/1", viewers, token + "9999", "data:,1-99999999"):
        response = owner.report(owner.writable, _sync_xml(bad))
        assert response.status_code == 403, bad
        assert error_condition(response) == "{DAV:}valid-sync-token"

    event_services.event_update(event=owner.user.owned_events.get(), actor=owner.user, changes={"title": "Later"})
    feed_prune(before=datetime.now(UTC) + timedelta(days=1))
    response = owner.report(owner.writable, _sync_xml(token))
    assert response.status_code == 403
    assert error_condition(response) == "{DAV:}valid-sync-token"


def _sync_xml(token: str) -> str:
    return (
        f'<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>'
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    )


def test_the_collection_token_and_ctag_move_with_every_change(team):
    owner = team["owner"]
    _, before = sync(owner, owner.writable)
    make_event(owner.user)
    _, after = sync(owner, owner.writable, before)
    assert after != before
