"""ChangeKind is made from the history actions: one enum says what can happen to an event."""

from history.models import Action
from notifications.models import ChangeKind


def test_every_history_action_is_announced_under_its_own_name():
    for action in Action:
        if action == Action.IMPORTED:  # an import's update is announced as an update
            assert action.name not in ChangeKind.__members__
            continue
        assert ChangeKind[action.name].value in (f"event_{action.value}", action.value)


def test_message_types_are_those_of_the_contract():
    assert ChangeKind.values == [
        "event_created",
        "event_updated",
        "event_rolled_back",
        "occurrence_changed",
        "event_split",
        "event_deleted",
        "event_restored",
        "event_shared",
        "permission_changed",
        "permission_removed",
        "access_revoked",
    ]
