"""The registry of an event's content fields (events/content.py) is complete, and its users follow it."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import pytest

from events import content
from events.models import Event
from events.representation import event_data
from events.serializers import EventSerializer
from history import diff
from ical import mapping

# Event fields that are not content: identity, bookkeeping, derived from content, or the owner (sharing).
NOT_CONTENT = {
    "id",
    "uid",
    "version",
    "owner",
    "created_at",
    "updated_at",
    "deleted_at",
    "is_recurring",
    "series_end",
    "series_start",
}


def test_every_model_field_is_content_or_named_as_bookkeeping():
    fields = {field.name for field in Event._meta.concrete_fields}
    assert set(content.NAMES) | NOT_CONTENT == fields
    assert not set(content.NAMES) & NOT_CONTENT


def test_the_ical_mapping_says_how_it_carries_every_content_field():
    assert content.missing_from(mapping.FIELD_PROPERTIES) == []
    assert content.missing_from({}) == sorted(content.NAMES)  # the check at import of ical/mapping.py can fail


@pytest.mark.django_db
def test_the_representation_shows_the_registry_members_in_order(me):
    event = Event.objects.create(
        title="T", start_time="2030-01-07T09:00Z", end_time="2030-01-07T10:00Z", owner=me, ical_extra={"x": 1}
    )
    event.refresh_from_db()
    data = event_data(event)
    shown = [name for name, _ in content.MEMBERS]
    assert [key for key in data if key in shown] == shown
    assert "ical_extra" not in data  # kept and versioned, shown only in iCalendar
    assert [name for name in EventSerializer.Meta.fields if name in shown] == shown


@pytest.mark.django_db
def test_a_history_snapshot_holds_every_content_field_under_its_api_name(me):
    event = Event.objects.create(title="T", start_time="2030-01-07T09:00Z", end_time="2030-01-07T10:00Z", owner=me)
    event.refresh_from_db()
    snapshot = diff.snapshot(event)
    assert list(snapshot) == [field.api_name for field in content.FIELDS]
    assert snapshot["recurrence_pattern"] is None and snapshot["exceptions"] == {}


def _project_modules():
    """(path from the project root, syntax tree) of each module of the project, tests and the registry left out."""
    root = Path(content.__file__).resolve().parent.parent
    for path in sorted(root.glob("*/**/*.py")):
        top = path.parts[len(root.parts)]
        if not (top.startswith(".") or top in {"tests", "node_modules"} or path.name == "content.py"):
            yield path.relative_to(root), ast.parse(path.read_text())


def test_no_module_renames_a_list_of_the_registry():
    """The registry's lists are read from events.content, never kept under a second name elsewhere."""
    lists = {name for name, value in vars(content).items() if name.isupper() and isinstance(value, tuple | Mapping)}
    aliases = [
        f"{path}:{node.lineno}"
        for path, tree in _project_modules()
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr in lists
    ]
    assert aliases == []


def test_no_module_spells_out_a_list_of_the_registry():
    """A literal tuple, list or set of the same field names as one of the registry's lists is a second copy.

    TEXT is left out: the recurrence engine, below events, names an occurrence's own text overrides."""
    lists = {frozenset(getattr(content, name)) for name in ("NAMES", "SCHEDULE", "KEPT_ON_SPLIT", "EXPANDED")}
    copies = []
    for path, tree in _project_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) > 1:
                names = [elt.value for elt in node.elts if isinstance(elt, ast.Constant) and isinstance(elt.value, str)]
                if len(names) == len(node.elts) and frozenset(names) in lists:
                    copies.append(f"{path}:{node.lineno}")
    assert copies == []
