"""Values as answers write them, where DRF's own field would do more work per value than the value needs."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from rest_framework.fields import DateTimeField

_DATETIME = DateTimeField()


def instant(value) -> str | None:
    """An instant as DRF's DateTimeField answers it with our settings (ISO 8601 in TIME_ZONE, UTC written Z;
    tests/common/test_representation.py compares), without the field's lookups of the format setting and of
    the current zone on every call: answers carry two or three per event. Nothing activates a zone other than
    TIME_ZONE. Anything but an aware datetime, or an instant out of range, is left to DRF's field itself."""
    if value.__class__ is not datetime or value.tzinfo is None:
        return _DATETIME.to_representation(value)
    try:
        text = value.astimezone(timezone.get_default_timezone()).isoformat()
    except OverflowError:
        return _DATETIME.to_representation(value)
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text
