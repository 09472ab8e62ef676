"""An event as clients read it: the API's answers (EventSerializer), WebSocket messages and the sync feed
all render it with `event_data`, so the three never drift apart."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import lru_cache

from django.core.signals import setting_changed
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


# Rows read only to be shown (the calendar's pages), remembered with what they showed: a page read again after
# any change of the caller's calendar (a cache miss, events/cache.py) has mostly the same rows, and making a
# row into its event and its representation was most of such a read (docs/PERFORMANCE.md, "Eleventh round").
SHOWN_ROWS_REMEMBERED = 2048  # per process: about 3 KiB each for a usual event (6 MiB); at most 17 KiB (34 MiB)
SHOWN_ROW_TEXT_MAX = 2048  # characters of text in a row; a longer row (a long description, many exceptions) is not kept


class _ShownRow:
    """A row and what makes its event, compared and hashed by the row's key alone."""

    __slots__ = ("key", "make")

    def __init__(self, key: Hashable, make: Callable[[], object] | None) -> None:
        self.key = key
        self.make = make

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, _ShownRow) and self.key == other.key


@lru_cache(maxsize=SHOWN_ROWS_REMEMBERED)
def _shown(row: _ShownRow) -> dict:
    data = event_data(row.make())
    row.make = None  # the entry keeps the row's key, not the connection it was read on
    return data


def shown_event(key: tuple, make: Callable[[], object]) -> dict:
    """`event_data(make())` for the event made from a row whose key is `key` (common/prepared_queries.py
    `Read.key`: the query as compiled for its database, then the row's values as the database gave them),
    remembered for that key. Never stale: the key holds everything the representation is made from (the event's
    shown fields, its owner's, the caller's role), and any change of them is another key. Shared between answers
    (and callers): not to be changed (tests/events/test_shown_rows.py renders pages every way and compares)."""
    if sum(len(value) for value in key[-1] if value.__class__ is str) > SHOWN_ROW_TEXT_MAX:
        return event_data(make())
    return _shown(_ShownRow(key, make))


def forget_shown_rows() -> None:
    """Empties what `shown_event` remembers (tests start from nothing; a change of TIME_ZONE)."""
    _shown.cache_clear()


def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting in {"TIME_ZONE", "USE_TZ"}:  # the instants are written in TIME_ZONE (common/representation.py)
        forget_shown_rows()


setting_changed.connect(_on_setting_changed, dispatch_uid="events.representation.shown_rows")
