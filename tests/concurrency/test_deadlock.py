"""A real PostgreSQL deadlock is answered as a retryable 409 problem, never a 500."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import DatabaseError, transaction

from common.exceptions import problem_exception_handler
from events.models import Event
from tests.factories import UserFactory, make_event
from tests.helpers import run_threads

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_a_deadlock_between_two_writers_becomes_a_409_with_retry_after():
    owner = UserFactory()
    first, second = make_event(owner, title="one"), make_event(owner, title="two")
    both_hold_one = threading.Barrier(2)
    errors: list[DatabaseError] = []

    def writer(index: int) -> None:
        order = [first.pk, second.pk] if index == 0 else [second.pk, first.pk]
        try:
            with transaction.atomic():
                Event.objects.select_for_update().get(pk=order[0])
                both_hold_one.wait(timeout=10)
                Event.objects.select_for_update().get(pk=order[1])  # one of the two is chosen as the victim
        except DatabaseError as exc:
            errors.append(exc)

    run_threads(2, writer)

    assert len(errors) == 1
    response = problem_exception_handler(errors[0], {})
    body = json.loads(response.content)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    assert body["type"] == "/problems/retry" and body["status"] == 409
