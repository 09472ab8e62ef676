"""The Django admin covers users, events (with their history) and permissions, read by a staff user."""

import pytest
from django.test import Client

from sharing.models import EventPermission

from .factories import UserFactory, make_event


@pytest.fixture
def marked_up(db):
    """An event whose title is HTML: the admin must show it as text."""
    return make_event(UserFactory(), title="Quarterly <b>review</b>")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/user/",
        "/admin/events/event/",
        "/admin/sharing/eventpermission/",
        "/admin/events/event/?q=Quarterly",
    ],
)
def test_admin_lists_render(admin_client, marked_up, url):
    response = admin_client.get(url)

    assert response.status_code == 200
    if "event/" in url:
        assert "Quarterly &lt;b&gt;review&lt;/b&gt;" in response.content.decode()


def test_admin_event_pages_show_history_and_permissions(admin_client, marked_up):
    change = admin_client.get(f"/admin/events/event/{marked_up.pk}/change/")
    history = admin_client.get(f"/admin/events/event/{marked_up.pk}/history/")
    permission = EventPermission.objects.get(event=marked_up)
    permission_page = admin_client.get(f"/admin/sharing/eventpermission/{permission.pk}/change/")

    assert change.status_code == 200
    assert history.status_code == 200
    assert "created" in history.content.decode().lower()
    assert permission_page.status_code == 200


def test_admin_needs_staff(db, marked_up):
    client = Client()
    client.force_login(UserFactory())

    response = client.get("/admin/events/event/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_events_and_permissions_are_read_only_in_the_admin(admin_client, marked_up):
    """Writes go through the services (versions, owner rule, audit, notifications); the admin only shows."""
    permission = EventPermission.objects.get(event=marked_up)

    post = admin_client.post(f"/admin/events/event/{marked_up.pk}/change/", {"title": "Changed in the admin"})
    delete = admin_client.post(f"/admin/events/event/{marked_up.pk}/delete/", {"post": "yes"})
    add = admin_client.get("/admin/events/event/add/")
    revoke = admin_client.post(f"/admin/sharing/eventpermission/{permission.pk}/delete/", {"post": "yes"})

    assert post.status_code == 403
    assert delete.status_code == 403
    assert add.status_code == 403
    assert revoke.status_code == 403
    marked_up.refresh_from_db()
    assert (marked_up.title, marked_up.version, marked_up.deleted_at) == ("Quarterly <b>review</b>", 1, None)
    assert EventPermission.objects.filter(pk=permission.pk).exists()


def test_the_admins_messages_still_reach_the_next_page(admin_client):
    """Messages are built only when used (common/middleware.py); the admin uses them."""
    doomed = UserFactory(username="doomed")

    page = admin_client.post(f"/admin/accounts/user/{doomed.pk}/delete/", {"post": "yes"}, follow=True)

    assert page.status_code == 200
    assert "was deleted successfully" in page.content.decode()


def test_an_api_request_builds_no_message_storage(client):
    from django.utils.functional import empty

    response = client.get("/api/auth/me")

    assert response.status_code == 200
    assert response.wsgi_request._messages._wrapped is empty
    assert "messages" not in response.cookies
