"""/ws/notifications/: who may connect, who gets what, only after commit, in order, resumable.

"Nothing arrived" is shown with a sentinel rather than a wait: a user's messages arrive in the order
of their feed, so when the next message a socket receives is a later change, nothing came before it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from channels.layers import get_channel_layer
from django.core import signing
from django.db import transaction
from rest_framework_simplejwt.tokens import AccessToken

from events import services as event_services
from notifications import cursors
from notifications.consumers import CLOSE_CURSOR_GONE, CLOSE_UNAUTHENTICATED, NotificationConsumer
from notifications.groups import user_group
from notifications.models import Notification
from sharing import services as sharing_services
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import Client, database_state, edit

# The communicator class comes through .sockets, which lets channels.testing import without Daphne.
from .sockets import ORIGIN, WebsocketCommunicator, access_token, application, closed_with, receive, run, socket

pytestmark = [pytest.mark.django_db(transaction=True)]


def share(event, actor, user, role="viewer"):
    sharing_services.event_share(event=event, actor=actor, targets=[{"user_id": user.pk, "role": role}])


def api_patch(api, user, event, **body):
    response = api.as_user(user).patch(f"/api/events/{event.pk}", body)
    assert response.status_code == 200, response.content
    return response.json()


def position(message: dict) -> int:
    """The feed position a message's (opaque) cursor stands for."""
    return signing.loads(message["cursor"], salt="notifications.sync-cursor")["p"]


# --- who may connect


def _expired(user) -> str:
    token = AccessToken.for_user(user)
    token["exp"] = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    return str(token)


def _logged_out(api, user) -> str:
    from accounts.tokens import tokens_for

    access = tokens_for(user)["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api.post("/api/auth/logout").status_code == 204
    api.credentials()
    return access


def _refresh(user) -> str:
    from accounts.tokens import tokens_for

    return tokens_for(user)["refresh"]


@pytest.mark.parametrize(
    "make_token, reason",
    [
        (lambda api, user: None, "missing token"),
        (lambda api, user: "not-a-token", "not valid"),
        (lambda api, user: _expired(user), "not valid"),
        (lambda api, user: _refresh(user), "not valid"),
        (lambda api, user: _logged_out(api, user), "revoked"),
        (lambda api, user: "x" * 5000, "too long"),
    ],
    ids=["missing", "garbage", "expired", "refresh-token", "logged-out", "oversized"],
)
async def test_a_bad_token_is_refused_with_4401(api, user, make_token, reason):
    token = await run(make_token, api, user)
    query = "" if token is None else f"token={token}"

    async with socket(query=query) as (communicator, (accepted, _)):
        assert accepted  # accepted, then closed: the client gets our code rather than a failed handshake
        closed = await closed_with(communicator)

    assert closed["code"] == CLOSE_UNAUTHENTICATED
    assert reason in closed["reason"].lower()


async def test_an_origin_outside_the_allowed_hosts_is_refused_at_the_handshake(user):
    async with socket(user, headers=[(b"origin", b"http://evil.example")]) as (_, (accepted, _code)):
        assert not accepted


@pytest.mark.parametrize("origin", [b"http://testserver", None], ids=["allowed-host", "native-client"])
async def test_an_allowed_origin_or_none_at_all_is_let_in(user, origin):
    """Browsers always send Origin; native clients send none and authenticate by token alone."""
    headers = [(b"origin", origin)] if origin else []

    async with socket(user, headers=headers) as (_, (accepted, _code)):
        assert accepted


async def test_browsers_authenticate_with_the_bearer_subprotocol(user, other_user):
    event = await run(make_event, other_user)
    await run(share, event, other_user, user)
    token = await access_token(user)

    async with socket(subprotocols=["bearer", token]) as (communicator, (accepted, subprotocol)):
        assert (accepted, subprotocol) == (True, "bearer")
        await run(edit, event, other_user, title="Seen")
        assert (await receive(communicator))["type"] == "event_updated"


async def test_a_bad_bearer_subprotocol_is_answered_with_bearer_then_4401():
    async with socket(subprotocols=["bearer", "nope"]) as (communicator, (accepted, subprotocol)):
        assert (accepted, subprotocol) == (True, "bearer")
        assert (await closed_with(communicator))["code"] == CLOSE_UNAUTHENTICATED


# --- who gets what


async def test_a_change_reaches_everyone_with_access_except_the_actor(api, event_with_roles):
    event, users = event_with_roles
    other = await run(make_event, users["owner"], title="Elsewhere", start=BASE_TIME + timedelta(days=3))
    async with (
        socket(users["owner"]) as (owner, _),
        socket(users["editor"]) as (editor, _),
        socket(users["viewer"]) as (viewer, _),
        socket(users["stranger"]) as (stranger, _),
    ):
        await run(api_patch, api, users["editor"], event, title="Moved")

        for communicator, role in ((owner, "owner"), (viewer, "viewer")):
            message = await receive(communicator)
            notification = await run(Notification.objects.get, recipient=users[role], kind="event_updated", version=2)
            assert message == {
                "type": "event_updated",
                "change": "updated",
                "event_id": event.pk,
                "actor": {"id": users["editor"].pk, "username": "editor"},
                "version": 2,
                "at": message["at"],
                "data": {"title": "Moved", "fields": ["title"]},
                "event": message["event"],
                "notification_id": notification.pk,
                "cursor": message["cursor"],
            }
            assert (message["event"]["title"], message["event"]["version"]) == ("Moved", 2)
            assert message["event"]["my_role"] == role

        # Sentinels: the next message of the actor and of the stranger is a later change.
        await run(edit, event, users["owner"], title="Moved again")
        assert ((await receive(editor))["version"]) == 3
        await run(share, other, users["owner"], users["stranger"])
        message = await receive(stranger)
        assert (message["type"], message["event_id"], message["change"]) == ("event_shared", other.pk, "created")


async def test_each_kind_of_change_is_sent(event_with_roles):
    event, users = event_with_roles
    owner = users["owner"]
    async with socket(users["viewer"]) as (viewer, _):
        await run(share, event, owner, users["new"], "editor")
        await run(
            sharing_services.permission_set_role, event=event, actor=owner, user_id=users["new"].pk, role="viewer"
        )
        await run(sharing_services.permission_revoke, event=event, actor=owner, user_id=users["new"].pk)
        await run(event_services.event_delete, event=event, actor=owner)
        await run(event_services.event_restore, event=event, actor=owner, conflict_strategy="allow")

        received = [await receive(viewer) for _ in range(5)]

    assert [(m["type"], m["change"], m["version"], "event" in m) for m in received] == [
        ("event_shared", "updated", 1, True),
        ("permission_changed", "updated", 1, True),
        ("permission_removed", "updated", 1, True),
        ("event_deleted", "deleted", 2, False),
        ("event_restored", "created", 3, True),
    ]
    assert received[1]["data"] == {
        "title": "Planning",
        "user": {"id": users["new"].pk, "username": "new"},
        "role": "viewer",
        "old_role": "editor",
    }
    positions = [position(m) for m in received]
    assert positions == list(range(positions[0], positions[0] + 5))


async def test_a_revoked_user_gets_access_revoked_once_and_then_nothing(event_with_roles):
    event, users = event_with_roles
    elsewhere = await run(make_event, users["stranger"], title="Elsewhere", start=BASE_TIME + timedelta(days=3))
    async with socket(users["viewer"]) as (viewer, _), socket(users["editor"]) as (editor, _):
        await run(sharing_services.permission_revoke, event=event, actor=users["owner"], user_id=users["viewer"].pk)

        revoked = await receive(viewer)
        assert {key: revoked[key] for key in ("type", "change", "event_id", "actor", "version")} == {
            "type": "access_revoked",
            "change": "access_lost",
            "event_id": event.pk,
            "actor": {"id": users["owner"].pk, "username": "owner"},
            "version": 1,
        }
        assert "event" not in revoked  # nothing of the event's content any more
        removed = await receive(editor)
        assert (removed["type"], removed["data"]["user"]["username"]) == ("permission_removed", "viewer")

        await run(edit, event, users["owner"], title="Secret plans")
        await run(share, elsewhere, users["stranger"], users["viewer"])

        assert (await receive(editor))["event"]["title"] == "Secret plans"
        sentinel = await receive(viewer)
        assert (sentinel["type"], sentinel["event_id"]) == ("event_shared", elsewhere.pk)
        assert position(sentinel) == position(revoked) + 1


async def test_a_rolled_back_write_sends_and_keeps_nothing(event_with_roles):
    event, users = event_with_roles

    def rolled_back():
        with transaction.atomic():
            edit(event, users["owner"], title="Never happened")
            raise RuntimeError("abort")

    async with socket(users["viewer"]) as (viewer, _):
        before = await run(database_state)
        with pytest.raises(RuntimeError):
            await run(rolled_back)
        after = await run(database_state)
        await run(edit, event, users["owner"], title="Happened")

        message = await receive(viewer)

    assert after == before
    assert (message["version"], message["event"]["title"]) == (2, "Happened")


@pytest.mark.django_db(transaction=False)  # the test's transaction never commits: we run the callbacks
def test_messages_leave_only_when_the_transaction_commits(event_with_roles, django_capture_on_commit_callbacks):
    from asgiref.sync import async_to_sync

    event, users = event_with_roles
    layer = get_channel_layer()
    group, channel = user_group(users["viewer"].pk), f"tests.{uuid.uuid4().hex}"

    async def send_sentinel_then_receive(count: int) -> list[dict]:
        await layer.send(channel, {"type": "sentinel"})
        return [await layer.receive(channel) for _ in range(count)]

    async_to_sync(layer.group_add)(group, channel)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
            edit(event, users["owner"], title="Pending")
        before_commit = async_to_sync(send_sentinel_then_receive)(1)

        for callback in callbacks:
            callback()
        after_commit = async_to_sync(send_sentinel_then_receive)(2)
    finally:
        async_to_sync(layer.group_discard)(group, channel)

    assert [m["type"] for m in before_commit] == ["sentinel"]  # nothing was sent before the commit
    # (Redis orders a channel's messages by a timestamp, not strictly as sent: compare as a set.)
    assert sorted(m["type"] for m in after_commit) == ["notify", "sentinel"]
    payload = next(m for m in after_commit if m["type"] == "notify")["payload"]
    assert (payload["event_id"], payload["version"]) == (event.pk, 2)


# --- order and resumption


async def test_changes_published_out_of_order_are_delivered_in_feed_order(event_with_roles):
    """Two processes may publish two commits in either order; a user still sees them in order, once."""
    event, users = event_with_roles
    owner = users["owner"]

    def commit_first_publish_last():
        # This transaction commits first, but before its own messages go out another write
        # commits and publishes (as another server process would).
        with transaction.atomic():
            transaction.on_commit(lambda: edit(event, owner, title="Second"))
            edit(event, owner, title="First")

    async with socket(users["viewer"]) as (viewer, _):
        await run(commit_first_publish_last)
        first, second = await receive(viewer), await receive(viewer)
        await run(edit, event, owner, title="Third")
        third = await receive(viewer)

    assert [(m["event"]["title"], m["version"]) for m in (first, second, third)] == [
        ("First", 2),
        ("Second", 3),
        ("Third", 4),
    ]
    assert [position(m) for m in (second, third)] == [position(first) + 1, position(first) + 2]
    # The one replayed from the feed is the message that was published live.
    notification = await run(Notification.objects.get, recipient=users["viewer"], version=2)
    assert (first["notification_id"], first["actor"]["username"], first["event"]["my_role"]) == (
        notification.pk,
        "owner",
        "viewer",
    )


async def test_reconnecting_with_the_last_cursor_resumes_without_gap_or_duplicate(api, event_with_roles):
    event, users = event_with_roles
    owner, viewer_user = users["owner"], users["viewer"]
    other = await run(make_event, owner, title="Other", start=BASE_TIME + timedelta(days=2))

    async with socket(viewer_user) as (viewer, _):
        await run(edit, event, owner, title="Seen live")
        last = await receive(viewer)

    # offline: three changes
    await run(edit, event, owner, title="Missed 1")
    await run(share, other, owner, viewer_user)
    await run(edit, event, owner, title="Missed 2")

    async with socket(viewer_user, query=f"cursor={last['cursor']}") as (viewer, (accepted, _)):
        assert accepted
        replayed = [await receive(viewer) for _ in range(3)]
        await run(edit, event, owner, title="Live again")
        live = await receive(viewer)

    assert [(m["type"], m["event_id"]) for m in replayed] == [
        ("event_updated", event.pk),
        ("event_shared", other.pk),
        ("event_updated", event.pk),
    ]
    assert [m["event"]["title"] for m in (replayed[0], replayed[2], live)] == ["Missed 1", "Missed 2", "Live again"]
    assert [position(m) for m in [last, *replayed, live]] == list(range(position(last), position(last) + 5))

    # The HTTP feed from the same cursor says the same, folded per event.
    response = await run(lambda: api.as_user(viewer_user).get("/api/sync", {"cursor": last["cursor"]}))
    changes = response.json()["changes"]
    assert [(c["type"], c["event_id"]) for c in changes] == [("created", other.pk), ("updated", event.pk)]
    assert changes[1]["event"]["title"] == "Live again"


async def test_a_sync_from_a_socket_cursor_includes_your_own_changes_made_while_connected(api, event_with_roles):
    """Your own changes are never sent to your sockets, but your other devices must still get them."""
    event, users = event_with_roles
    editor, owner = users["editor"], users["owner"]
    second = await run(make_event, owner, title="Second", start=BASE_TIME + timedelta(days=2))
    await run(share, second, owner, editor, "editor")

    async with socket(editor) as (communicator, _):
        await run(edit, event, editor, title="Mine")  # own: not sent
        await run(edit, second, owner, title="Theirs")
        message = await receive(communicator)

    assert message["event_id"] == second.pk
    response = await run(lambda: api.as_user(editor).get("/api/sync", {"cursor": message["cursor"]}))
    changes = response.json()["changes"]
    assert [(c["type"], c["event_id"], c["event"]["title"]) for c in changes] == [("updated", event.pk, "Mine")]


@pytest.mark.parametrize("which", ["garbage", "someone-else", "pruned", "listing"])
async def test_an_unusable_cursor_on_connect_is_closed_with_4410(api, event_with_roles, which):
    event, users = event_with_roles
    viewer = users["viewer"]
    if which == "garbage":
        cursor = "nonsense"
    elif which == "someone-else":
        cursor = cursors.encode(cursors.Cursor.at(users["owner"].pk, 1))
    elif which == "pruned":
        cursor = cursors.encode(cursors.Cursor.at(viewer.pk, 0))
        from notifications.models import SyncStream

        await run(lambda: SyncStream.objects.filter(user=viewer).update(pruned_through=1))
    else:
        cursor = cursors.encode(cursors.Cursor(viewer.pk, 1, 1, snapshot_after=event.pk))

    async with socket(viewer, query=f"cursor={cursor}") as (communicator, (accepted, _)):
        assert accepted
        closed = await closed_with(communicator)

    assert closed["code"] == CLOSE_CURSOR_GONE
    assert "resync" in closed["reason"]


# --- a socket outliving its token


async def test_the_socket_closes_when_its_token_expires(event_with_roles, monkeypatch):
    event, users = event_with_roles
    async with socket(users["viewer"]) as (viewer, _):
        monkeypatch.setattr(NotificationConsumer, "clock", staticmethod(lambda: 2**40))
        await run(edit, event, users["owner"], title="After expiry")

        closed = await closed_with(viewer)  # instead of the message

    assert (closed["code"], closed["reason"]) == (CLOSE_UNAUTHENTICATED, "token expired")


async def test_the_socket_closes_after_logout(api, event_with_roles, monkeypatch):
    event, users = event_with_roles
    monkeypatch.setattr(NotificationConsumer, "revocation_check_seconds", 0)
    token = await access_token(users["viewer"])
    async with socket(token=token) as (viewer, _):

        def logout():
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            assert api.post("/api/auth/logout").status_code == 204

        await run(logout)
        await run(edit, event, users["owner"], title="After logout")

        closed = await closed_with(viewer)

    assert (closed["code"], closed["reason"]) == (CLOSE_UNAUTHENTICATED, "token revoked")


async def test_ping_is_answered_and_anything_else_explained(user):
    async with socket(user) as (communicator, _):
        await communicator.send_json_to({"type": "ping"})
        assert await receive(communicator) == {"type": "pong"}
        await communicator.send_to(text_data="{not json")
        assert (await receive(communicator))["type"] == "error"


async def test_every_socket_of_a_user_gets_the_message(event_with_roles):
    event, users = event_with_roles
    async with socket(users["viewer"]) as (phone, _), socket(users["viewer"]) as (laptop, _):
        await run(edit, event, users["owner"], title="Both")

        assert (await receive(phone))["cursor"] == (await receive(laptop))["cursor"]


async def test_a_user_with_no_feed_yet_connects_and_gets_their_first_change(db):
    owner, newcomer = await run(UserFactory.create_batch, 2)
    event = await run(make_event, owner)
    async with socket(newcomer) as (communicator, (accepted, _)):
        assert accepted
        await run(share, event, owner, newcomer)

        message = await receive(communicator)

    assert (message["type"], message["change"], position(message)) == ("event_shared", "created", 1)


async def test_logging_out_closes_the_sessions_open_sockets_at_once(user):
    """Not at the next periodic revocation check: logout tells the session's sockets after commit."""
    token = await access_token(user)
    communicator = WebsocketCommunicator(application, f"/ws/notifications/?token={token}", headers=[ORIGIN])
    other_session = WebsocketCommunicator(
        application, f"/ws/notifications/?token={await access_token(user)}", headers=[ORIGIN]
    )
    assert (await communicator.connect(timeout=5))[0] and (await other_session.connect(timeout=5))[0]
    client = Client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = await run(client.post, "/api/auth/logout", {}, format="json")

    assert response.status_code == 204
    closed = await closed_with(communicator)
    assert closed["code"] == CLOSE_UNAUTHENTICATED and "revoked" in closed["reason"]
    assert await other_session.receive_nothing(timeout=0.3)  # another login session stays open
    await other_session.disconnect()
