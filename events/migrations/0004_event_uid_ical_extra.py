"""iCalendar: every event gets a UID (existing events and their versions a fresh one each), unique per owner,
and `ical_extra` for what an iCalendar object carries that the other fields do not model."""

import uuid

from django.conf import settings
from django.db import migrations, models



def give_uids(apps, schema_editor):
    Event = apps.get_model("events", "Event")
    HistoricalEvent = apps.get_model("events", "HistoricalEvent")
    for pk in Event.objects.values_list("pk", flat=True).iterator():
        uid = str(uuid.uuid4())
        Event.objects.filter(pk=pk).update(uid=uid)
        HistoricalEvent.objects.filter(id=pk).update(uid=uid)  # every version of an event has its UID


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_history_change_reason_text"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(model_name="event", name="ical_extra", field=models.JSONField(blank=True, default=dict)),
        migrations.AddField(
            model_name="historicalevent", name="ical_extra", field=models.JSONField(blank=True, default=dict)
        ),
        # Nullable first: a callable default on AddField is evaluated once, which would give every row the same UID.
        migrations.AddField(model_name="event", name="uid", field=models.CharField(max_length=255, null=True)),
        migrations.AddField(
            model_name="historicalevent", name="uid", field=models.CharField(max_length=255, null=True)
        ),
        migrations.RunPython(give_uids, migrations.RunPython.noop, elidable=False),
    ]
