"""Delete Idempotency-Key records past their 24 hours (they are ignored already; this frees the rows)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from common.idempotency import RETENTION
from common.models import IdempotencyRecord


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key answers older than 24 hours."

    def handle(self, *args, **options) -> None:
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=timezone.now() - RETENTION).delete()
        self.stdout.write(f"Deleted {deleted} expired idempotency record(s).")
