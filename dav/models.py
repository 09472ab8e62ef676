"""What CalDAV adds to our data: the name an app gave an event's resource, and each user's
display name and colour for their calendars (PROPPATCH)."""

from django.conf import settings
from django.db import models

NAME_MAX = 255


class ResourceName(models.Model):
    """The last path segment an app PUT an event to (e.g. `3F2504E0.ics`), kept so the app finds it there.

    Events made elsewhere have none and are named `<uid>.ics`. Unique per owner, as UIDs are.
    """

    event = models.OneToOneField("events.Event", on_delete=models.CASCADE, primary_key=True, related_name="dav_name")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=NAME_MAX)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="dav_resource_name_unique")]
        indexes = [models.Index(fields=["name"], name="dav_resource_name_idx")]

    def __str__(self) -> str:
        return self.name


class CalendarSettings(models.Model):
    """A user's display name and colour for one of their two calendars."""

    DISPLAYNAME_MAX = 100
    COLOR_MAX = 9  # #RRGGBBAA

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    calendar = models.CharField(max_length=16)
    displayname = models.CharField(max_length=DISPLAYNAME_MAX, blank=True, default="")
    color = models.CharField(max_length=COLOR_MAX, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "calendar"], name="dav_calendar_settings_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.calendar}"
