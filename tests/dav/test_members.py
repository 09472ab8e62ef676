"""Which events are in which calendar, how they are named and tagged, and PROPFIND/multiget over them."""

from datetime import timedelta

from dav.models import ResourceName
from events import services as event_services
from sharing import services as sharing_services
from tests.factories import BASE_TIME, make_event

from .conftest import NS, member_name, multiget_body, prop, responses, share


def _members(client, path) -> dict[str, str]:
    """{href: etag} of a calendar's members (Depth 1)."""
    listing = responses(client.propfind(path, ["D:getetag", "D:resourcetype"], depth="1"))
    return {href: prop(node, "D:getetag").text for href, node in listing.items() if href != path}


def test_owned_and_edited_events_are_in_the_writable_calendar_viewed_ones_in_the_read_only_one(team):
    owner, editor, viewer, stranger = (team[n] for n in ("owner", "editor", "viewer", "stranger"))
    event = make_event(owner.user, title="Planning")
    share(event, owner.user, editor=editor.user, viewer=viewer.user)
    name = f"{event.uid}.ics"
    shared_name = f"~{event.pk}~{name}"  # another owner's event: its id before the owner's name

    assert list(_members(owner, owner.writable)) == [owner.writable + name]
    assert list(_members(editor, editor.writable)) == [editor.writable + shared_name]
    assert _members(viewer, viewer.writable) == {}
    assert list(_members(viewer, viewer.shared)) == [viewer.shared + shared_name]
    assert _members(stranger, stranger.writable) == _members(stranger, stranger.shared) == {}
    assert _members(owner, owner.writable)[owner.writable + name] == f'"{event.version}-{event.pk:x}"'


def test_the_etag_changes_with_each_version_and_a_deleted_event_leaves(team):
    owner = team["owner"]
    event = make_event(owner.user)
    before = _members(owner, owner.writable)
    event_services.event_update(event=event, actor=owner.user, changes={"title": "Changed"})
    after = _members(owner, owner.writable)
    assert before.keys() == after.keys() and before != after
    event_services.event_delete(event=event, actor=owner.user)
    assert _members(owner, owner.writable) == {}


def test_a_name_given_by_an_app_is_kept(team):
    owner = team["owner"]
    event = make_event(owner.user)
    ResourceName.objects.create(event=event, owner=owner.user, name="3F2504E0 4F89.ics")
    assert list(_members(owner, owner.writable)) == [owner.writable + "3F2504E0%204F89.ics"]
    node = responses(owner.propfind(owner.writable + "3F2504E0%204F89.ics", ["D:getetag"]))
    assert list(node) == [owner.writable + "3F2504E0%204F89.ics"]


def test_propfind_on_one_member_and_on_a_missing_one(team):
    owner = team["owner"]
    event = make_event(owner.user)
    href = f"{owner.writable}{event.uid}.ics"
    node = responses(owner.propfind(href, ["D:getetag", "D:getcontenttype", "D:resourcetype"]))[href]
    assert prop(node, "D:getcontenttype").text.startswith("text/calendar")
    assert len(prop(node, "D:resourcetype")) == 0
    assert owner.propfind(f"{owner.writable}999999.ics", ["D:getetag"]).status_code == 404
    assert owner.propfind(f"{owner.shared}{event.uid}.ics", ["D:getetag"]).status_code == 404  # not in that one


def test_multiget_answers_each_href_found_or_404(team):
    owner, viewer = team["owner"], team["viewer"]
    mine = make_event(owner.user)
    other = make_event(viewer.user, start=BASE_TIME + timedelta(days=1))  # the viewer's own, not shared
    hrefs = [
        f"{owner.writable}{mine.uid}.ics",
        f"{owner.writable}{other.uid}.ics",
        f"{owner.writable}nothing.ics",
        "/elsewhere/x.ics",
    ]
    answer = responses(owner.report(owner.writable, multiget_body(hrefs)))
    assert set(answer) == set(hrefs)
    assert prop(answer[hrefs[0]], "D:getetag").text == f'"{mine.version}-{mine.pk:x}"'
    for href in hrefs[1:]:
        assert answer[href].findtext("D:status", namespaces=NS).split()[1] == "404"


def test_a_role_change_moves_the_event_between_calendars(team):
    owner, viewer = team["owner"], team["viewer"]
    event = make_event(owner.user)
    share(event, owner.user, viewer=viewer.user)
    assert list(_members(viewer, viewer.shared)) == [viewer.shared + member_name(viewer, event)]
    sharing_services.permission_set_role(event=event, actor=owner.user, user_id=viewer.user.pk, role="editor")
    assert _members(viewer, viewer.shared) == {}
    assert list(_members(viewer, viewer.writable)) == [viewer.writable + member_name(viewer, event)]


def test_listing_a_calendar_costs_a_fixed_number_of_queries(team, django_assert_max_num_queries):
    owner = team["owner"]
    for day in range(30):
        make_event(owner.user, start=BASE_TIME + timedelta(days=day))
    with django_assert_max_num_queries(6):  # auth (+ last-used stamp), settings, token, members
        assert len(_members(owner, owner.writable)) == 30
