"""DELETE of a calendar object: the same change as DELETE /api/events/{id} (owners only, version, audit,
notifications, sync feed), with ETag preconditions."""

from events.models import Event
from history.models import AuditEntry
from notifications.models import FeedEntry, Notification
from tests.factories import make_event

from .conftest import error_condition, member_name, share, xml_of


def _href(client, event, calendar="writable") -> str:
    return getattr(client, calendar) + member_name(client, event)


def test_the_owner_deletes_with_if_match_and_everyone_learns_it(team):
    owner, editor, viewer = team["owner"], team["editor"], team["viewer"]
    event = make_event(owner.user)
    share(event, owner.user, editor=editor.user, viewer=viewer.user)
    event.refresh_from_db()
    tag = f'"{event.version}-{event.pk:x}"'

    response = owner.request("DELETE", _href(owner, event), if_match=tag, user_agent="DAVx5/4.4")
    assert response.status_code == 204, response.content
    deleted = Event.objects.get(pk=event.pk)
    assert deleted.deleted_at is not None and deleted.version == event.version + 1
    last = Event.history.filter(id=event.pk).latest("version")
    assert (last.history_user_id, last.history_change_reason) == (owner.user.pk, "CalDAV (DAVx5/4.4)")
    assert AuditEntry.objects.filter(action="event.deleted", target_id=str(event.pk), actor=owner.user).exists()
    assert {n.recipient_id for n in Notification.objects.filter(event_id=event.pk, kind="event_deleted")} == {
        editor.user.pk,
        viewer.user.pk,
    }
    assert FeedEntry.objects.filter(user=viewer.user, event_id=event.pk, kind="deleted").exists()
    assert owner.request("DELETE", _href(owner, event)).status_code == 404


def test_a_stale_if_match_is_412_and_changes_nothing(team):
    owner = team["owner"]
    event = make_event(owner.user)
    response = owner.request("DELETE", _href(owner, event), if_match=f'"{event.version + 1}-{event.pk:x}"')
    assert response.status_code == 412
    assert xml_of(response).tag == "{DAV:}error"
    assert Event.objects.get(pk=event.pk).deleted_at is None


def test_editors_and_viewers_cannot_delete(team):
    owner, editor, viewer = team["owner"], team["editor"], team["viewer"]
    event = make_event(owner.user)
    share(event, owner.user, editor=editor.user, viewer=viewer.user)
    for client, calendar in ((editor, "writable"), (viewer, "shared")):
        response = client.request("DELETE", _href(client, event, calendar))
        assert response.status_code == 403
        assert error_condition(response) == "{DAV:}need-privileges"
    assert team["stranger"].request("DELETE", _href(team["stranger"], event)).status_code == 404
    assert Event.objects.get(pk=event.pk).deleted_at is None
