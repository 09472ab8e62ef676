"""Serializing writes that must see each other: conflict checks on one calendar."""

from django.db import connection

_CALENDAR_LOCK_SPACE = 0x0CA1  # first key of PostgreSQL's two-key advisory locks, for calendar locks


def calendar_lock(user_id: int) -> None:
    """Hold `user_id`'s calendar until the transaction ends, so two conflict checks cannot both pass.

    PostgreSQL: a transaction-scoped advisory lock. SQLite runs one writer at a time (transactions
    begin IMMEDIATE), which gives the same guarantee.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_CALENDAR_LOCK_SPACE, user_id])
