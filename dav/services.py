"""CalDAV writes that are not event changes: a user's calendar display name and colour."""

from __future__ import annotations

from django.db import transaction

from history.audit import audit_record

from .calendars import Calendar
from .models import CalendarSettings


@transaction.atomic
def calendar_settings_update(*, user, calendar: Calendar, changes: dict[str, str]) -> CalendarSettings:
    """Set (or, with "", clear) `displayname` and `color` of `user`'s `calendar`; audited."""
    row, _ = CalendarSettings.objects.select_for_update().get_or_create(user=user, calendar=calendar.slug)
    for key, value in changes.items():
        setattr(row, key, value)
    row.save()
    audit_record(
        actor=user, action="dav.calendar_settings_changed", target=row, data={"calendar": calendar.slug, **changes}
    )
    return row
