"""Retention: how long feed entries and notifications are kept, and pruning what is older."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from .models import Change, FeedEntry, Notification, SyncStream

# How long changes and notifications are kept (the `NOTIFICATIONS_RETENTION_DAYS` setting overrides it).
DEFAULT_RETENTION_DAYS = 30


def retention_days() -> int:
    return int(getattr(settings, "NOTIFICATIONS_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def feed_prune(*, before: datetime, batch_size: int = 500) -> dict[str, int]:
    """Delete feed entries, notifications and changes recorded before `before`.

    A cursor that pointed into what was pruned then answers 410 (the stream's `pruned_through`).
    Users are handled in id order, a batch per transaction, locking their counters like writers do.
    """
    deleted = {"entries": 0, "notifications": 0, "changes": 0}
    last_user = 0
    while True:
        with transaction.atomic():
            users = list(
                FeedEntry.objects.filter(created_at__lt=before, user_id__gt=last_user)
                .order_by("user_id")
                .values_list("user_id", flat=True)
                .distinct()[:batch_size]
            )
            if not users:
                break
            last_user = users[-1]
            streams = {
                s.user_id: s
                for s in SyncStream.objects.select_for_update().filter(user_id__in=users).order_by("user_id")
            }
            old = FeedEntry.objects.filter(user_id__in=users, created_at__lt=before)
            tops = dict(old.values("user_id").annotate(top=Max("seq")).values_list("user_id", "top"))
            for uid, top in tops.items():
                stream = streams.get(uid)
                if stream is not None and top > stream.pruned_through:
                    stream.pruned_through = top
            SyncStream.objects.bulk_update(list(streams.values()), ["pruned_through"])
            deleted["entries"] += old.delete()[0]
    while True:
        ids = list(Notification.objects.filter(created_at__lt=before).values_list("pk", flat=True)[:5000])
        if not ids:
            break
        deleted["notifications"] += Notification.objects.filter(pk__in=ids).delete()[0]
    while True:
        ids = list(
            Change.objects.filter(created_at__lt=before, entries__isnull=True).values_list("pk", flat=True)[:5000]
        )
        if not ids:
            break
        deleted["changes"] += Change.objects.filter(pk__in=ids).delete()[0]
    return deleted
