"""The migration that gave every event its iCalendar UID (events 0004 and 0005), run on rows made before it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("events", "0003_history_change_reason_text")]
AFTER = [("events", "0005_event_uid_required_unique")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # the graph as it is on disk, whatever the last run applied
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_events_and_their_versions_get_a_uid_each():
    try:
        old = _migrate(BEFORE)
        User = old.get_model("accounts", "User")
        Event = old.get_model("events", "Event")
        HistoricalEvent = old.get_model("events", "HistoricalEvent")
        owner = User.objects.create(username="before-uids", email="before@example.com")
        start = datetime(2030, 1, 7, 9, tzinfo=UTC)
        events = [
            Event.objects.create(
                title=f"E{n}", start_time=start, end_time=start + timedelta(hours=1), owner=owner, version=2
            )
            for n in range(3)
        ]
        for event in events:
            for version in (1, 2):
                HistoricalEvent.objects.create(
                    id=event.pk,
                    title=event.title,
                    start_time=event.start_time,
                    end_time=event.end_time,
                    timezone="UTC",
                    owner_id=owner.pk,
                    version=version,
                    created_at=start,
                    history_date=start + timedelta(minutes=version),
                    history_type="+" if version == 1 else "~",
                )
        # A purged event leaves its versions behind (history_type "-" is the purge).
        HistoricalEvent.objects.create(
            id=999_999,
            title="Purged",
            start_time=start,
            end_time=start + timedelta(hours=1),
            timezone="UTC",
            owner_id=owner.pk,
            version=1,
            created_at=start,
            history_date=start,
            history_type="-",
        )

        new = _migrate(AFTER)
        Event = new.get_model("events", "Event")
        HistoricalEvent = new.get_model("events", "HistoricalEvent")
        uids = dict(Event.objects.values_list("pk", "uid"))
        assert set(uids) == {event.pk for event in events}
        assert all(uids.values()) and len(set(uids.values())) == len(events)  # one each, all different
        for pk, uid in uids.items():
            versions = HistoricalEvent.objects.filter(id=pk)
            assert versions.count() == 2 and set(versions.values_list("uid", flat=True)) == {uid}
        assert HistoricalEvent.objects.get(id=999_999).uid  # not null: the column is required now
        assert HistoricalEvent.objects.get(id=999_999).uid not in uids.values()
        # And the constraint holds: a second event of that owner with a taken UID is refused.
        with pytest.raises(IntegrityError):
            Event.objects.create(
                title="Dup", start_time=start, end_time=start, owner_id=owner.pk, uid=next(iter(uids.values()))
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())  # leave the schema as every other test expects it
