"""Services answer with a typed result, and a write's answer is built from the event the write left
(no second read of its row), so it shows the version the write made even when another write follows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.exceptions import NotFound

from events import selectors, services
from events import split as series_split
from sharing.roles import Role
from sharing.services import event_share


def test_an_update_answers_the_version_it_made_not_a_later_one(me, alice, event, django_assert_num_queries):
    event_share(event=event, actor=me, targets=[{"user_id": alice.pk, "role": Role.EDITOR}])
    first = services.event_update(event=event, actor=alice, changes={"title": "First"}, conflict_strategy="allow")
    services.event_update(event=first.event, actor=me, changes={"title": "Second"}, conflict_strategy="allow")

    assert isinstance(first, services.EventWritten) and first.conflicts == [] and first.merged is False
    with django_assert_num_queries(1):  # the permissions, with their users; the event's row is not read again
        answered = selectors.event_as_written(first.event, user=alice)
    assert (answered.title, answered.version, answered.my_role) == ("First", 2, Role.EDITOR)
    assert answered.owner == me
    assert [p.user for p in answered.permission_list] == [me, alice]


def test_a_stale_merged_write_says_so_in_its_result(me, event):
    services.event_update(event=event, actor=me, changes={"title": "Theirs"})
    written = services.event_update(
        event=event, actor=me, changes={"location": "Mine"}, expected_version=1, on_conflict="merge"
    )
    assert written.merged is True and written.event.version == 3
    assert not hasattr(written.event, "merged")  # the result says it, not an attribute set on the event


def test_someone_without_a_role_gets_no_answer(event, alice):
    with pytest.raises(NotFound):
        selectors.event_as_written(event, user=alice)


def test_a_split_uses_the_plan_it_is_given(me, series):
    at = datetime(2030, 1, 14, 9, tzinfo=UTC)  # the second Monday
    plan = series_split.plan(series, at)
    result = services.event_split(event=series, actor=me, split=plan, changes={"title": "Later"})
    assert isinstance(result, services.SeriesSplit)
    assert result.new.start_time == plan.tail.start_time == at
    assert result.old.recurrence == plan.head.to_json() and result.new.title == "Later"
