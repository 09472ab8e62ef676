"""The UID is required and unique among one owner's events (a separate migration: on PostgreSQL the column
changes in another transaction than the data migration that filled it)."""

from django.db import migrations, models

import events.models


class Migration(migrations.Migration):
    dependencies = [("events", "0004_event_uid_ical_extra")]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="uid",
            field=models.CharField(default=events.models.new_uid, max_length=255),
        ),
        migrations.AlterField(
            model_name="historicalevent",
            name="uid",
            field=models.CharField(default=events.models.new_uid, max_length=255),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(fields=("owner", "uid"), name="event_uid_unique_per_owner"),
        ),
    ]
