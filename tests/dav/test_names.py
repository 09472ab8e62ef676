"""Resource names in a calendar that holds several owners' events: names (and UIDs) are unique per owner, so
two owners' apps may both have used `meeting.ics`; an editor of both must still reach each under its own href,
and that href must not change when other events come and go (sync tokens and ETags stay right)."""

from events.models import Event
from tests.factories import make_event
from tests.helpers import database_state

from .conftest import DavClient, error_condition, make_dav_user, responses, share, sync

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Client//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20300101T000000Z\r\nDTSTART:20300107T100000Z\r\nDTEND:20300107T110000Z\r\nSUMMARY:{summary}\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _put(client, href, summary, uid="same", **headers):
    body = ICS.format(uid=uid, summary=summary)
    return client.request("PUT", href, body, content_type="text/calendar", **headers)


def _listing(client) -> set[str]:
    return set(responses(client.propfind(client.writable, ["D:getetag"], depth="1"))) - {client.writable}


def test_two_owners_events_of_one_name_and_uid_are_two_members_each_reached_by_its_own_href(db):
    ann, bob, eve = (DavClient(*make_dav_user(name)) for name in ("ann", "bob", "eve"))
    for owner in (ann, bob):  # both apps chose the same name, for the same UID
        created = _put(owner, owner.writable + "meeting.ics", f"{owner.user.username}'s", if_none_match="*")
        assert created.status_code == 201, created.content
    anns, bobs = (Event.objects.get(owner=owner.user, uid="same") for owner in (ann, bob))
    share(anns, ann.user, editor=eve.user)
    anns_href = eve.writable + f"~{anns.pk}~meeting.ics"
    assert _listing(eve) == {anns_href}
    _, token = sync(eve, eve.writable)
    share(bobs, bob.user, editor=eve.user)
    bobs_href = eve.writable + f"~{bobs.pk}~meeting.ics"

    # Both listed, under hrefs that depend on nothing but the event and the caller: Ann's did not move.
    assert _listing(eve) == {anns_href, bobs_href}
    assert sync(eve, eve.writable, token)[0] == {bobs_href: 200}
    share(anns, ann.user, editor=bob.user)
    assert _listing(ann) == {ann.writable + "meeting.ics"}
    assert _listing(bob) == {bob.writable + "meeting.ics", bob.writable + f"~{anns.pk}~meeting.ics"}

    tags = {}
    for href, owner in ((anns_href, ann), (bobs_href, bob)):
        got = eve.request("GET", href)
        assert f"SUMMARY:{owner.user.username}'s" in got.content.decode()
        tags[href] = got["ETag"]
    assert tags[anns_href] != tags[bobs_href]

    assert _put(eve, bobs_href, "changed by eve", if_match=tags[bobs_href]).status_code == 204
    anns.refresh_from_db()
    bobs.refresh_from_db()
    assert (anns.title, anns.version, bobs.title, bobs.version) == ("ann's", 1, "changed by eve", 2)
    assert "SUMMARY:changed by eve" in bob.request("GET", bob.writable + "meeting.ics").content.decode()
    assert _put(eve, anns_href, "stale", if_match=tags[bobs_href]).status_code == 412  # Ann's has its own tag

    # DELETE reaches the event its href names: Eve's If-Match is judged against each (only owners delete) ...
    assert eve.request("DELETE", anns_href, if_match=tags[bobs_href]).status_code == 412
    refused = eve.request("DELETE", anns_href, if_match=tags[anns_href])
    assert refused.status_code == 403 and error_condition(refused) == "{DAV:}need-privileges"
    # ... and Bob, who has his own `meeting.ics` and Ann's beside it, deletes his own.
    _, token = sync(eve, eve.writable)
    assert bob.request("DELETE", bob.writable + "meeting.ics").status_code == 204
    assert Event.objects.get(pk=bobs.pk).deleted_at is not None
    assert Event.objects.get(pk=anns.pk).deleted_at is None
    assert sync(eve, eve.writable, token)[0] == {bobs_href: 404}
    assert _listing(eve) == {anns_href}
    assert _listing(bob) == {bob.writable + f"~{anns.pk}~meeting.ics"}


def test_events_made_elsewhere_with_one_uid_are_named_apart(db):
    ann, bob, eve = (DavClient(*make_dav_user(name)) for name in ("ann", "bob", "eve"))

    events = {owner: make_event(owner.user, title=owner.user.username, uid="from-rest") for owner in (ann, bob)}
    for owner, event in events.items():
        share(event, owner.user, viewer=eve.user)
    hrefs = {owner: eve.shared + f"~{event.pk}~from-rest.ics" for owner, event in events.items()}
    assert set(responses(eve.propfind(eve.shared, ["D:getetag"], depth="1"))) - {eve.shared} == set(hrefs.values())
    for owner, href in hrefs.items():
        assert f"SUMMARY:{owner.user.username}" in eve.request("GET", href).content.decode()
    assert eve.request("GET", eve.shared + "from-rest.ics").status_code == 404  # not Eve's own


def test_a_new_resource_may_not_take_another_owners_form_of_name(db):
    eve = DavClient(*make_dav_user("eve"))
    eve.propfind(eve.writable)  # the app password's first use is stamped
    before = database_state()
    for name in (f"~{eve.user.pk}~x.ics", "~12345~x.ics"):
        response = _put(eve, eve.writable + name, "mine", uid="new", if_none_match="*")
        assert response.status_code == 403
        assert error_condition(response) == "{DAV:}need-privileges"
    assert database_state() == before
