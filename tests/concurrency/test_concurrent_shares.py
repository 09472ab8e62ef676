"""Parallel permission changes on PostgreSQL: no duplicate permission, no 500, the last owner kept."""

from __future__ import annotations

import threading

import pytest

from sharing.models import EventPermission
from tests.factories import UserFactory, make_event
from tests.helpers import Client, run_threads

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_parallel_shares_of_the_same_user_make_one_permission():
    owner, friend = UserFactory(username="owner"), UserFactory(username="friend")
    event = make_event(owner)
    clients = [Client().as_user(owner) for _ in range(6)]
    statuses: list[int] = []
    lock = threading.Lock()

    def share(index: int) -> None:
        role = "viewer" if index % 2 else "editor"
        response = clients[index].post(
            f"/api/events/{event.pk}/share", {"users": [{"user_id": friend.pk, "role": role}]}, format="json"
        )
        with lock:
            statuses.append(response.status_code)

    run_threads(len(clients), share)

    assert statuses == [200] * len(clients)
    assert EventPermission.objects.filter(event=event, user=friend).count() == 1


def test_two_owners_removing_each_other_at_once_leave_one_owner():
    first, second = UserFactory(username="first"), UserFactory(username="second")
    event = make_event(first)
    Client().as_user(first).post(
        f"/api/events/{event.pk}/share", {"users": [{"user_id": second.pk, "role": "owner"}]}, format="json"
    )
    pairs = [(Client().as_user(first), second), (Client().as_user(second), first)]
    statuses: list[int] = []
    lock = threading.Lock()

    def remove(index: int) -> None:
        client, other = pairs[index]
        response = client.delete(f"/api/events/{event.pk}/permissions/{other.pk}")
        with lock:
            statuses.append(response.status_code)

    run_threads(2, remove)

    assert sorted(statuses) == [204, 409]
    assert EventPermission.objects.filter(event=event, role="owner").count() == 1
