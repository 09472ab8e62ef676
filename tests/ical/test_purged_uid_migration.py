"""events 0007: the versions of events purged before UIDs existed, which 0005 gave one shared UID, get one
UID per event; every other UID stays as it was."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE_UIDS = [("events", "0003_history_change_reason_text")]
SHARED = [("events", "0006_history_action_imported")]
FIXED = [("events", "0007_purged_events_own_uids")]
START = datetime(2030, 1, 7, 9, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # the graph as it is on disk, whatever the last run applied
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _versions(HistoricalEvent, event_id: int, owner_id: int, count: int, **fields) -> None:
    for version in range(1, count + 1):
        HistoricalEvent.objects.create(
            id=event_id,
            title=f"E{event_id}",
            start_time=START,
            end_time=START + timedelta(hours=1),
            timezone="UTC",
            owner_id=owner_id,
            version=version,
            created_at=START,
            history_date=START + timedelta(minutes=version),
            history_type="-" if version == count else "~",
            **fields,
        )


def _uids(HistoricalEvent, event_id: int) -> set[str]:
    return set(HistoricalEvent.objects.filter(id=event_id).values_list("uid", flat=True))


@pytest.mark.django_db(transaction=True)
def test_each_purged_event_gets_a_uid_of_its_own():
    purged_ids = (900_001, 900_002, 900_003)
    try:
        old = _migrate(BEFORE_UIDS)
        owner = old.get_model("accounts", "User").objects.create(username="purger", email="purger@example.com")
        Event = old.get_model("events", "Event")
        live = Event.objects.create(title="Live", start_time=START, end_time=START, owner=owner, version=1)
        HistoricalEvent = old.get_model("events", "HistoricalEvent")
        _versions(HistoricalEvent, live.pk, owner.pk, 1)
        for event_id in purged_ids:
            _versions(HistoricalEvent, event_id, owner.pk, 3)

        HistoricalEvent = _migrate(SHARED).get_model("events", "HistoricalEvent")
        shared = {uid for event_id in purged_ids for uid in _uids(HistoricalEvent, event_id)}
        assert len(shared) == 1  # what 0005 did: one UID for every purged event's rows
        live_uid = _uids(HistoricalEvent, live.pk)
        _versions(HistoricalEvent, 900_004, owner.pk, 2, uid="purged-later@example.com")  # purged with its own UID

        HistoricalEvent = _migrate(FIXED).get_model("events", "HistoricalEvent")
        fixed = [_uids(HistoricalEvent, event_id) for event_id in purged_ids]
        assert all(len(uids) == 1 for uids in fixed)  # the same on all the rows of one event
        assert len(set.union(*fixed)) == len(purged_ids) and not set.union(*fixed) & shared  # distinct, new
        assert _uids(HistoricalEvent, live.pk) == live_uid
        assert _uids(HistoricalEvent, 900_004) == {"purged-later@example.com"}

        HistoricalEvent = _migrate(SHARED).get_model("events", "HistoricalEvent")  # reversible: it undoes nothing
        assert [_uids(HistoricalEvent, event_id) for event_id in purged_ids] == fixed
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())  # leave the schema as every other test expects it
