"""Delete change-feed entries and notifications older than the retention (run it daily, e.g. from cron)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.retention import feed_prune, retention_days


class Command(BaseCommand):
    help = "Delete change-feed entries and notifications older than the retention; older sync cursors then get 410."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=None, help=f"Keep this many days (default {retention_days()}).")

    def handle(self, *args, days: int | None = None, **options) -> None:
        days = retention_days() if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = feed_prune(before=timezone.now() - timedelta(days=days))
        self.stdout.write(
            f"Kept {days} days: deleted {deleted['entries']} feed entries, {deleted['notifications']} notifications, "
            f"{deleted['changes']} changes."
        )
