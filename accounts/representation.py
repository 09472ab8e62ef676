"""A user as other users see them in answers: `{id, username}`."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist

# What `user_ref` reads of a user: a read made only to be shown loads these and no more (events/representation.py).
USER_REF_FIELDS = ("id", "username")


def user_ref(instance, name: str) -> dict | None:
    """`instance.<name>` as UserRefSerializer answers it nested: None when there is none (or it is gone, as
    for a history row whose user was deleted since), exactly as DRF's nested field does."""
    try:
        user = getattr(instance, name)
    except ObjectDoesNotExist:
        return None
    return None if user is None else {"id": user.pk, "username": user.username}
