"""Delete access-token denylist rows past their token's expiry (such tokens are refused for their age)."""

from django.core.management.base import BaseCommand

from accounts.tokens import revoked_tokens_prune


class Command(BaseCommand):
    help = "Delete revoked access tokens that have expired anyway."

    def handle(self, *args, **options) -> None:
        deleted = revoked_tokens_prune()
        self.stdout.write(f"Deleted {deleted} expired revoked access token(s).")
