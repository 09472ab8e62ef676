"""calendar-query filters (RFC 4791 §9.7): prop-filter with is-not-defined and text-match under the RFC 4790
collations (negate-condition too), param-filter, comp-filter on VALARM; judged against the properties the
resource is served with, its changed occurrences' included."""

import pytest

from tests.factories import BASE_TIME, make_event
from tests.helpers import database_state

from .conftest import error_condition, responses

CALENDAR = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Client//EN\r\n{body}END:VCALENDAR\r\n"
TAGGED = (
    "BEGIN:VEVENT\r\nUID:tagged\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300108T100000Z\r\n"
    "DTEND:20300108T110000Z\r\nSUMMARY:Flight\r\nCATEGORIES:Work,Travel\r\n"
    "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\nX-CLIENT-TAG:blue\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Go\r\nTRIGGER:-PT1H\r\nEND:VALARM\r\nEND:VEVENT\r\n"
)
SERIES = (
    "BEGIN:VEVENT\r\nUID:series\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300107T080000Z\r\n"
    "DTEND:20300107T083000Z\r\nRRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Standup\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:series\r\nDTSTAMP:20300101T000000Z\r\nRECURRENCE-ID:20300109T080000Z\r\n"
    "DTSTART:20300109T090000Z\r\nDTEND:20300109T093000Z\r\nSUMMARY:Moved standup\r\nEND:VEVENT\r\n"
)


@pytest.fixture
def calendar(team):
    """The owner's calendar with four events: {key: href}."""
    owner = team["owner"]
    hrefs = {}
    for key, body in (("tagged", TAGGED), ("series", SERIES)):
        hrefs[key] = owner.writable + f"{key}.ics"
        response = owner.request(
            "PUT", hrefs[key], CALENDAR.format(body=body), content_type="text/calendar", if_none_match="*"
        )
        assert response.status_code == 201, response.content
    plan = make_event(owner.user, title="Planning", location="Room 1", description="Agenda", start=BASE_TIME)
    cafe = make_event(owner.user, title="Café Über", start=BASE_TIME)
    hrefs["plan"] = owner.writable + f"{plan.uid}.ics"
    hrefs["cafe"] = owner.writable + f"{cafe.uid}.ics"
    return owner, hrefs


def _body(inner: str) -> str:
    return (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>'
        f'<C:filter><C:comp-filter name="VCALENDAR">{inner}</C:comp-filter></C:filter></C:calendar-query>'
    )


def _event(inner: str) -> str:
    return f'<C:comp-filter name="VEVENT">{inner}</C:comp-filter>'


def _text(prop: str, text: str, **attributes: str) -> str:
    attrs = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attributes.items())
    return _event(f'<C:prop-filter name="{prop}"><C:text-match{attrs}>{text}</C:text-match></C:prop-filter>')


def _range(start: str, end: str) -> str:
    return f'<C:time-range start="{start}" end="{end}"/>'


def _summary(text: str, negate: str = "no") -> str:
    return (
        f'<C:prop-filter name="SUMMARY"><C:text-match negate-condition="{negate}">{text}</C:text-match></C:prop-filter>'
    )


EVERYTHING = {"tagged", "series", "plan", "cafe"}


@pytest.mark.parametrize(
    "inner, expected",
    [
        (_text("SUMMARY", "plan"), {"plan"}),  # i;ascii-casemap by default
        (_text("summary", "PLANNING", collation="i;ascii-casemap"), {"plan"}),
        (_text("SUMMARY", "PLAN", collation="i;octet"), set()),
        (_text("SUMMARY", "Plan", collation="i;octet"), {"plan"}),
        (_text("SUMMARY", "plan", negate_condition="yes"), EVERYTHING - {"plan"}),
        (_text("DESCRIPTION", "agenda"), {"plan"}),
        (_text("LOCATION", "room"), {"plan"}),
        (_event('<C:prop-filter name="LOCATION"><C:is-not-defined/></C:prop-filter>'), EVERYTHING - {"plan"}),
        (_event('<C:prop-filter name="LOCATION"/>'), {"plan"}),  # defined at all
        (_text("CATEGORIES", "travel"), {"tagged"}),
        (_text("X-CLIENT-TAG", "BLUE"), {"tagged"}),
        (_text("ATTENDEE", "bob@"), {"tagged"}),
        (_text("SUMMARY", "moved"), {"series"}),  # a changed occurrence's own SUMMARY
        (_text("SUMMARY", "über"), set()),  # i;ascii-casemap folds ASCII letters only
        (_text("SUMMARY", "über", collation="i;unicode-casemap"), {"cafe"}),
        (_text("SUMMARY", "CAFE\u0301", collation="i;unicode-casemap"), {"cafe"}),  # NFKD: é is e + ◌́
        (_text("UID", "TAGG"), {"tagged"}),
        (_text("UID", "TAGG", collation="i;octet"), set()),
        (_text("UID", "tagged", negate_condition="yes"), EVERYTHING - {"tagged"}),
        (
            _event(
                '<C:prop-filter name="ATTENDEE"><C:param-filter name="PARTSTAT"><C:text-match>accepted'
                "</C:text-match></C:param-filter></C:prop-filter>"
            ),
            {"tagged"},
        ),
        (
            _event(
                '<C:prop-filter name="ATTENDEE"><C:param-filter name="ROLE"><C:is-not-defined/></C:param-filter>'
                "</C:prop-filter>"
            ),
            {"tagged"},
        ),
        (_event('<C:prop-filter name="ATTENDEE"><C:param-filter name="ROLE"/></C:prop-filter>'), set()),
        (_event('<C:comp-filter name="VALARM"/>'), {"tagged"}),
        (_event('<C:comp-filter name="VALARM"><C:is-not-defined/></C:comp-filter>'), EVERYTHING - {"tagged"}),
        (
            _event(
                '<C:comp-filter name="VALARM"><C:prop-filter name="ACTION"><C:text-match>email</C:text-match>'
                "</C:prop-filter></C:comp-filter>"
            ),
            set(),
        ),
        (
            _event(
                '<C:comp-filter name="VALARM"><C:prop-filter name="TRIGGER"><C:text-match>-PT1H</C:text-match>'
                "</C:prop-filter></C:comp-filter>"
            ),
            {"tagged"},
        ),
        (
            _event(
                '<C:time-range start="20300108T000000Z" end="20300109T000000Z"/>'
                '<C:prop-filter name="SUMMARY"><C:text-match>standup</C:text-match></C:prop-filter>'
            ),
            {"series"},
        ),
        (
            _event(
                '<C:time-range start="20300107T000000Z" end="20300108T000000Z"/>'
                '<C:prop-filter name="SUMMARY"><C:text-match negate-condition="yes">standup</C:text-match>'
                "</C:prop-filter>"
            ),
            {"plan", "cafe"},
        ),
        # With a time-range, one VEVENT must match both: the override of 9 January is in its own range only.
        (_event(_range("20300109T000000Z", "20300110T000000Z") + _summary("moved")), {"series"}),
        (_event(_range("20300108T000000Z", "20300109T000000Z") + _summary("moved")), set()),
        (_event(_range("20300109T000000Z", "20300110T000000Z") + _summary("standup", negate="yes")), set()),
        (_event(_range("20300110T000000Z", "20300111T000000Z") + _summary("moved", negate="yes")), {"series"}),
        (_text("SUMMARY", "flight") + _text("CATEGORIES", "work"), {"tagged"}),  # every comp-filter must match
        (_text("SUMMARY", "flight") + _text("CATEGORIES", "home"), set()),
        ('<C:comp-filter name="VTODO"/>', set()),
        ('<C:comp-filter name="VJOURNAL"><C:prop-filter name="SUMMARY"/></C:comp-filter>', set()),
        ('<C:comp-filter name="VTODO"><C:is-not-defined/></C:comp-filter>', EVERYTHING),
        ("<C:is-not-defined/>", set()),
    ],
)
def test_a_filter_matches_what_the_resource_is_served_with(calendar, inner, expected):
    owner, hrefs = calendar
    response = owner.report(owner.writable, _body(inner))
    assert response.status_code == 207, response.content
    assert set(responses(response)) == {hrefs[key] for key in expected}


def test_an_unsupported_collation_is_refused_and_changes_nothing(calendar):
    owner, _ = calendar
    before = database_state()
    response = owner.report(owner.writable, _body(_text("SUMMARY", "x", collation="i;klingon")))
    assert response.status_code == 403
    assert error_condition(response) == "{urn:ietf:params:xml:ns:caldav}supported-collation"
    assert database_state() == before
