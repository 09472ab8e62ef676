"""An event as clients read it: the API's answers (EventSerializer), WebSocket messages and the sync feed
all render it with `event_data`, so the three never drift apart."""

from __future__ import annotations

from rest_framework.fields import ChoiceField

from accounts.representation import USER_REF_FIELDS, user_ref
from common.representation import instant
from recurrence import timezones
from sharing.roles import Role

from .content import FIELDS, MEMBERS

_ROLE = ChoiceField(choices=Role.choices)

# What `event_data` reads of an event (besides the `my_role` annotation): a read made only to be shown (the
# calendar's pages, events/selectors.py) loads these and leaves the rest deferred. The content fields the
# representation shows (`is_recurring` is derived from the pattern and shown with it), the bookkeeping it
# shows, and of the owner what `user_ref` reads.
SHOWN_FIELDS: tuple[str, ...] = (
    "id",
    "uid",
    *(field.name for field in FIELDS if field.members),
    "is_recurring",
    "version",
    "created_at",
    "updated_at",
    *(f"owner__{name}" for name in USER_REF_FIELDS),
)


def event_data(event) -> dict:
    """The event's fields as the API answers them (times in the event's own zone, RFC 3339)."""
    zone = timezones.get(event.timezone)
    data = {
        "id": event.id,  # not pk: a version from the past (history row) serializes too, its pk is the row's
        "uid": event.uid,
    }
    for name, show in MEMBERS:  # the content fields (events/content.py)
        data[name] = show(event, zone)
    data["version"] = event.version
    data["owner"] = user_ref(event, "owner")
    if hasattr(event, "my_role"):  # a read-only field without a value is left out, as DRF does
        data["my_role"] = _ROLE.to_representation(event.my_role)
    data["created_at"] = instant(event.created_at)
    data["updated_at"] = instant(event.updated_at)
    return data
