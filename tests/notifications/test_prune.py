"""Retention: `manage.py prune_notifications` deletes what is older than the retention, and cursors
pointing into it answer 410 from then on."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from events import services as event_services
from notifications.models import Change, FeedEntry, Notification, SyncStream
from notifications.retention import DEFAULT_RETENTION_DAYS

pytestmark = pytest.mark.django_db


def age_everything(days: int) -> None:
    when = timezone.now() - timedelta(days=days)
    for model in (Change, FeedEntry, Notification):
        model.objects.update(created_at=when)


def test_pruning_deletes_old_changes_and_makes_older_cursors_410(api, event_with_roles):
    event, users = event_with_roles
    viewer = api.as_user(users["viewer"])
    old_cursor = viewer.get("/api/sync").json()["cursor"]
    event_services.event_update(event=event, actor=users["owner"], changes={"title": "Old"}, conflict_strategy="allow")
    age_everything(DEFAULT_RETENTION_DAYS + 1)
    recent_cursor = viewer.get("/api/sync").json()["cursor"]
    event_services.event_update(event=event, actor=users["owner"], changes={"title": "New"}, conflict_strategy="allow")
    out = StringIO()

    call_command("prune_notifications", stdout=out)

    assert "deleted" in out.getvalue()
    assert list(Notification.objects.filter(recipient=users["viewer"]).values_list("version", flat=True)) == [3]
    assert FeedEntry.objects.filter(created_at__lt=timezone.now() - timedelta(days=1)).count() == 0
    assert Change.objects.count() == 1
    viewer_stream = SyncStream.objects.get(user=users["viewer"])
    assert viewer_stream.pruned_through == viewer_stream.seq - 1

    gone = viewer.get("/api/sync", {"cursor": old_cursor})
    assert gone.status_code == 410
    assert gone["Content-Type"].startswith("application/problem+json")
    fine = viewer.get("/api/sync", {"cursor": recent_cursor})
    assert fine.status_code == 200
    assert [c["event"]["title"] for c in fine.json()["changes"]] == ["New"]


def test_pruning_keeps_what_is_within_the_retention(event_with_roles):
    before = (Change.objects.count(), FeedEntry.objects.count(), Notification.objects.count())
    age_everything(DEFAULT_RETENTION_DAYS - 1)

    call_command("prune_notifications", stdout=StringIO())

    assert (Change.objects.count(), FeedEntry.objects.count(), Notification.objects.count()) == before
    assert not SyncStream.objects.filter(pruned_through__gt=0).exists()


def test_the_retention_can_be_given(event_with_roles):
    age_everything(3)

    call_command("prune_notifications", "--days", "2", stdout=StringIO())

    assert FeedEntry.objects.count() == Notification.objects.count() == Change.objects.count() == 0
    with pytest.raises(CommandError):
        call_command("prune_notifications", "--days", "0", stdout=StringIO())


def test_pruning_goes_user_by_user_in_batches(event_with_roles):
    from notifications.retention import feed_prune

    age_everything(10)
    users_with_entries = set(FeedEntry.objects.values_list("user_id", flat=True))

    deleted = feed_prune(before=timezone.now() - timedelta(days=5), batch_size=1)

    assert deleted["entries"] > 0 and FeedEntry.objects.count() == 0
    assert set(SyncStream.objects.filter(pruned_through__gt=0).values_list("user_id", flat=True)) == users_with_entries
