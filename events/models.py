from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from simple_history.manager import HistoricalQuerySet

from history.models import EventHistoricalRecords, EventVersionFields
from sharing.roles import Role

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
LOCATION_MAX = 255
TIMEZONE_MAX = 64
UID_MAX = 255  # RFC 5545 sets no limit; 255 is what CalDAV servers commonly accept


def new_uid() -> str:
    """A fresh iCalendar UID (RFC 7986 recommends a UUID)."""
    return str(uuid.uuid4())


class SeriesWindow:
    """The window narrowing shared by live events and their historical rows (time travel lists filter them)."""

    def overlapping(self, start, end) -> models.QuerySet:
        """Events whose series may have an occurrence in [start, end): narrowed by the indexed series bounds.

        `series_end` is null for unbounded recurring series. Recurring candidates still need expanding.
        """
        query = Q()
        if end is not None:
            # series_start is set only when an exception moved an occurrence before start_time.
            query &= Q(start_time__lt=end) | Q(series_start__lt=end)
        if start is not None:
            query &= Q(series_end__isnull=True) | Q(series_end__gt=start) | Q(series_end=start, start_time=start)
        return self.filter(query)


class EventQuerySet(SeriesWindow, models.QuerySet):
    def alive(self) -> EventQuerySet:
        return self.filter(deleted_at__isnull=True)

    def held_by(self, user, *, role: str | None = None, live: bool = False) -> EventQuerySet:
        """Events (deleted ones too, unless `live`) `user` holds a role on (`role` only, when given), annotated
        with `my_role`.

        The one place the caller's role is read: from the permission row the filter joins (one per event
        and user), not from a subquery per row. Narrow the role through this method or by filtering on
        `my_role`: a later `.filter(permissions__...)` would join the permission table a second time.
        `live` narrows to live events as the permission's copy of its event says (sharing/models.py), so that
        a read can stay in the permission's index (`calendar_of`).
        """
        held = {"permissions__user": user}
        if role is not None:
            held["permissions__role"] = role
        if live:
            held["permissions__event_live"] = True
        return self.filter(**held).annotate(my_role=F("permissions__role"))

    def visible_to(self, user) -> EventQuerySet:
        """Live events `user` holds any role on, annotated with `my_role`: what every read of events starts from."""
        return self.alive().held_by(user)

    def calendar_of(self, user) -> EventQuerySet:
        """`visible_to(user)` in calendar order (start, id), found through the caller's permissions: each keeps
        its event's start and liveness (sharing/models.py), so the order and the liveness are read from the
        caller's stretch of `permission_calendar_idx`, without sorting the events."""
        return self.held_by(user, live=True).order_by("permissions__event_start", "permissions__event_id")

    def history_readable_by(self, user) -> EventQuerySet:
        """The events whose history `user` may read: a role on the event now, and for a deleted one the owner role."""
        return self.held_by(user).filter(Q(deleted_at__isnull=True) | Q(my_role=Role.OWNER))


class EventHistoricalQuerySet(SeriesWindow, HistoricalQuerySet):
    def visible_to(self, user) -> EventHistoricalQuerySet:
        """Historical rows of the events `user` may read the history of (Event.objects.history_readable_by),
        annotated with `my_role`, the caller's role now. The time-travel twin of EventQuerySet.visible_to."""
        readable = Event.objects.history_readable_by(user).order_by()
        role = Subquery(readable.filter(pk=OuterRef("id")).values("my_role")[:1])
        return self.filter(id__in=readable.values("pk")).annotate(my_role=role)


class Event(models.Model):
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True, default="")
    location = models.CharField(max_length=LOCATION_MAX, blank=True, default="")
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    timezone = models.CharField(max_length=TIMEZONE_MAX, default="UTC")
    is_all_day = models.BooleanField(default=False)
    # Normalized {"rrule", "exdates", "rdates"} or null; `is_recurring` mirrors it for filtering.
    recurrence = models.JSONField(null=True, blank=True)
    is_recurring = models.BooleanField(default=False)
    # End of the last occurrence (end_time for single events); null for an unbounded series.
    # With start_time it lets the database narrow window queries before anything is expanded.
    series_end = models.DateTimeField(null=True, blank=True)
    # Start of the earliest occurrence when an exception moved one before start_time, else null.
    series_start = models.DateTimeField(null=True, blank=True)
    # Changed and cancelled occurrences of a series (recurrence/overrides.py): {original start (UTC,
    # RFC 3339): {"cancelled": true} or the overridden fields}. On the row, so every version carries them.
    exceptions = models.JSONField(default=dict, blank=True)
    # The iCalendar UID: given on create or generated, never changed; a split's new series gets a new one.
    uid = models.CharField(max_length=UID_MAX, default=new_uid)
    # What an imported VEVENT carried that the fields above do not model (ical/extra.py): its other
    # properties and components (VALARM, ATTENDEE, X-...) and the parameters of modelled ones. Content:
    # every version carries it, so diff shows it and rollback restores it. Overrides keep theirs in
    # `exceptions`.
    ical_extra = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_events")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Reasons may be as long as the API allows (500); simple-history's default column holds 100.
    history = EventHistoricalRecords(
        historical_queryset=EventHistoricalQuerySet,
        bases=[EventVersionFields],
        excluded_fields=["updated_at"],
        history_change_reason_field=models.TextField(null=True),
    )

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["start_time", "id"]
        indexes = [
            models.Index(fields=["start_time", "id"], name="event_start_idx"),
            models.Index(fields=["series_end"], name="event_series_end_idx"),
            models.Index(fields=["series_start"], name="event_series_start_idx"),
            models.Index(fields=["updated_at"], name="event_updated_idx"),
        ]
        constraints = [
            # Soft-deleted events keep theirs: a restore never finds its UID taken.
            models.UniqueConstraint(fields=["owner", "uid"], name="event_uid_unique_per_owner"),
            # `>=`, not `>`: the API refuses an event that ends when it starts (events/serializers.py, and the
            # service for concurrent writes), but events stored before that rule may be zero-length, and a
            # stricter constraint would make the migration fail on them or rewrite people's data.
            models.CheckConstraint(condition=Q(end_time__gte=models.F("start_time")), name="event_end_after_start"),
            models.CheckConstraint(condition=Q(version__gte=1), name="event_version_positive"),
            models.CheckConstraint(
                condition=Q(is_recurring=True, recurrence__isnull=False)
                | Q(is_recurring=False, recurrence__isnull=True),
                name="event_is_recurring_matches_pattern",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.pk})"
