"""Each purged event's versions get a UID of their own.

0004 gave a UID to every event that existed then, and to its versions; the versions of events already purged
(history rows whose event no longer exists) kept none, so 0005's default, computed once, gave all of them ONE
shared UID. Here each such event id gets a fresh UID, the same on all of its rows. Only the rows of purged
events whose UID another event's rows also carry are touched: a purged event's own UID stays as it was.
"""

import uuid

from django.db import migrations
from django.db.models import Count


def give_purged_events_own_uids(apps, schema_editor):
    Event = apps.get_model("events", "Event")
    HistoricalEvent = apps.get_model("events", "HistoricalEvent")
    shared = (
        HistoricalEvent.objects.order_by()
        .values("uid")
        .annotate(events=Count("id", distinct=True))
        .filter(events__gt=1)
        .values("uid")
    )
    purged = (
        HistoricalEvent.objects.exclude(id__in=Event.objects.values("pk"))
        .filter(uid__in=shared)
        .order_by()
        .values_list("id", flat=True)
        .distinct()
    )
    for event_id in list(purged):
        HistoricalEvent.objects.filter(id=event_id).update(uid=str(uuid.uuid4()))


class Migration(migrations.Migration):
    dependencies = [("events", "0006_history_action_imported")]

    operations = [migrations.RunPython(give_purged_events_own_uids, migrations.RunPython.noop, elidable=False)]
