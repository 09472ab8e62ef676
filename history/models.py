"""What every historical event row records besides the event's own fields."""

from django.db import models
from simple_history.models import HistoricalRecords


class Action(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    ROLLED_BACK = "rolled_back", "Rolled back"
    OCCURRENCE_CHANGED = "occurrence_changed", "Occurrence changed"
    SPLIT = "split", "Split"
    DELETED = "deleted", "Deleted"
    RESTORED = "restored", "Restored"


class EventVersionFields(models.Model):
    """Base of the historical event model (django-simple-history `bases=`)."""

    history_action = models.CharField(max_length=32, choices=Action.choices, default=Action.UPDATED)

    class Meta:
        abstract = True


class EventHistoricalRecords(HistoricalRecords):
    """simple-history for events, with the database guarding "one row per version"."""

    def get_meta_options(self, model):
        meta = super().get_meta_options(model)
        meta["constraints"] = [
            # "-" rows are written by hard deletes (purges), which repeat the last version number.
            models.UniqueConstraint(
                fields=["id", "version"],
                condition=~models.Q(history_type="-"),
                name="event_history_one_row_per_version",
            )
        ]
        meta["indexes"] = [models.Index(fields=["id", "history_date"], name="event_history_id_date_idx")]
        return meta
