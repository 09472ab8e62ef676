from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth import get_user_model

from events import services as event_services

User = get_user_model()

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


BASE_TIME = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday, far from any test's "now"


def make_event(owner, *, title: str = "Meeting", start: datetime | None = None, hours: float = 1, **fields):
    """An event created through the real service (version 1, owner permission, first history row).

    Conflicts are allowed: fixtures place events wherever a test needs them.
    """
    start = start or BASE_TIME
    changes = {
        "title": title,
        "description": fields.pop("description", ""),
        "location": fields.pop("location", ""),
        "start_time": start,
        "end_time": start + timedelta(hours=hours),
        "timezone": fields.pop("timezone", "UTC"),
        "is_all_day": fields.pop("is_all_day", False),
        "recurrence": fields.pop("recurrence", None),
        **fields,
    }
    event = event_services.event_create(actor=owner, changes=changes, conflict_strategy="allow").event
    return event
