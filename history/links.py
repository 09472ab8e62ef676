"""History links: a URL that lets a browser read one event's history pages, read-only and revocable.

- `history_link_create(*, event, creator, expires_at=None) -> (HistoryLink, secret)`: the secret is shown
  once (only its digest is kept, common/secret_tokens.py); ValidationError past PER_EVENT_MAX.
- `history_link_revoke(*, link, actor)`: the link stops working at once.
- `history_link_find(*, secret, event_id) -> HistoryLink | None`: the live link of that event with that
  secret, whose creator is active; it records the use (`last_used_at`, at most once a minute).

What the holder may read is decided on every request as the creator (history/pages.py): a creator who
has lost access to the event, or been deactivated, leaves a link that no longer works.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from common.fields import parse_positive_int
from common.secret_tokens import new_secret, secret_digest

from .audit import audit_record
from .models import HistoryLink

SECRET_BYTES = 24  # 192 bits
SECRET_MAX_LENGTH = 64  # longer text in `?link=` is no secret of ours: refused without a lookup
LAST_USED_PRECISION = timedelta(minutes=1)


@transaction.atomic
def history_link_create(*, event, creator, expires_at: datetime | None = None) -> tuple[HistoryLink, str]:
    """A new link to `event`'s history pages made by `creator` (who can see it): (link, secret). Audited.
    ValidationError when the creator already has PER_EVENT_MAX links to the event."""
    links = HistoryLink.objects.select_for_update().filter(event=event, creator=creator)
    if links.count() >= HistoryLink.PER_EVENT_MAX:
        raise ValidationError(
            {"non_field_errors": [f"You have {HistoryLink.PER_EVENT_MAX} links to this event's history; revoke one."]}
        )
    secret = new_secret(SECRET_BYTES)
    link = HistoryLink.objects.create(event=event, creator=creator, digest=secret_digest(secret), expires_at=expires_at)
    audit_record(
        actor=creator,
        action="history_link.created",
        target=link,
        data={"event": event.pk, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return link, secret


@transaction.atomic
def history_link_revoke(*, link: HistoryLink, actor) -> None:
    """Delete `link`: its URL stops working at once. Audited."""
    audit_record(actor=actor, action="history_link.revoked", target=link, data={"event": link.event_id})
    link.delete()


def history_link_find(*, secret: str, event_id) -> HistoryLink | None:
    """The live link to event `event_id` whose secret is `secret`, its creator active; else None. Records the use."""
    pk = parse_positive_int(event_id)
    if not secret or len(secret) > SECRET_MAX_LENGTH or pk is None:
        return None
    now = timezone.now()
    link = (
        HistoryLink.objects.select_related("creator")
        .filter(digest=secret_digest(secret), event_id=pk, creator__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if link is not None and (link.last_used_at is None or link.last_used_at < now - LAST_USED_PRECISION):
        # Conditional: a burst of page views writes once, and a revoked row is not revived.
        HistoryLink.objects.filter(pk=link.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
    return link
